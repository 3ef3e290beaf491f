#!/bin/bash
# Baseline for bench-inventory: the inventory an operator scripts by hand,
# reading the same sysfs files as sriovctl with cat, readlink and ls.
#   by-hand-inventory.sh SYSFS_ROOT
root=$1
for pf in "$root"/bus/pci/devices/*; do
	[ -e "$pf/sriov_totalvfs" ] || continue
	echo "PF $(basename "$pf") $(cat "$pf/vendor") $(cat "$pf/device") total $(cat "$pf/sriov_totalvfs")" \
		"num $(cat "$pf/sriov_numvfs") driver $(basename "$(readlink "$pf/driver")")" \
		"net $(ls "$pf/net" 2>/dev/null) numa $(cat "$pf/numa_node")"
	for vf in "$pf"/virtfn*; do
		[ -e "$vf" ] || continue
		echo "  VF ${vf##*virtfn} $(basename "$(readlink "$vf")") driver $(basename "$(readlink "$vf/driver")")" \
			"net $(ls "$vf/net" 2>/dev/null) group $(basename "$(readlink "$vf/iommu_group")")"
	done
done
