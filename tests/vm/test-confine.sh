#!/bin/bash
# Confinement scenario, run INSIDE the testbed VM (tests/vm/run-vm.sh), as
# root, against the real kernel: writes through the real /sys's relative
# links still work; a --sysfs-root tree whose device folder is a link to the
# real device (absolute, or climbing out with ..) never writes the real
# sriov_numvfs or driver_override; a command on a fake tree leaves the host's
# /run/sriovd records alone; check reads the real /dev/kmsg to its end and
# refuses /dev/zero. sysfs and the host's files are the oracle.
#   test-confine.sh BUILD_DIR [ARTIFACT_DIR]
set -uo pipefail
build=$1
artifacts=${2:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib/tap.sh"
ctl=$build/src/sriovctl
mk=$build/tests/fixtures/mkfakesysfs
D=/sys/bus/pci/devices
unset SRIOV_STATE_DIR SRIOV_SYSFS_ROOT SRIOV_KMSG

save() { [ -n "$artifacts" ] && mkdir -p "$artifacts" && cat >"$artifacts/$1" || cat >/dev/null; }
drv() { local l; l=$(readlink "$D/$1/driver" 2>/dev/null) && echo "${l##*/}" || echo -; }
pfs_by_driver() {
	local d l
	for d in "$D"/*; do
		l=$(readlink "$d/driver" 2>/dev/null) && [ "${l##*/}" == "$1" ] && echo "${d##*/}"
	done
}
pf=$(pfs_by_driver igb | head -1)
pf_net=$(ls "$D/$pf/net")
nvme=$(pfs_by_driver nvme | head -1)
check "testbed: an igb PF" test -n "$pf"
check_eq "testbed: no VFs yet" "$(<"$D/$pf/sriov_numvfs") $(<"$D/$nvme/sriov_numvfs")" "0 0"

# --- the real /sys: its relative links are inside the root ------------------------
check_status "numvfs $pf_net 2 on the real /sys" 0 "$ctl" numvfs "$pf_net" 2
check_eq "the kernel has 2 VFs" "$(<"$D/$pf/sriov_numvfs")" 2
vf0=$(readlink "$D/$pf/virtfn0") && vf0=${vf0##*/}
check_status "bind VF 0 to vfio-pci (driver_override, drivers/igbvf/unbind, drivers_probe)" 0 \
	"$ctl" bind "$vf0" vfio-pci
check_eq "the kernel has it on vfio-pci" "$(drv "$vf0")" vfio-pci
check_eq "its record in the host's state folder" "$(grep ^driver= "/run/sriovd/bind/$vf0")" driver=igbvf
check_status "bind VF 0 back to its kernel driver" 0 "$ctl" bind "$vf0" kernel
check_eq "the kernel has it on igbvf" "$(drv "$vf0")" igbvf
check_status "numvfs $pf_net 0 on the real /sys" 0 "$ctl" numvfs "$pf_net" 0
check_eq "the kernel has 0 VFs" "$(<"$D/$pf/sriov_numvfs")" 0

# --- a tree whose device folders are links to the real devices ---------------------
T=/run/confine-tree
mkdir -p "$T/bus/pci/devices" "$T/bus/pci/drivers"
ln -s "$D/$pf" "$T/bus/pci/devices/$pf"                       # absolute
ln -s "../../../../../sys/bus/pci/devices/$nvme" "$T/bus/pci/devices/$nvme" # climbs out of T
check_status "numvfs through an absolute device link out of the tree fails" 1 "$ctl" --sysfs-root "$T" numvfs "$pf" 2
check_contains "says the file is outside the tree" "$out" "$pf/sriov_totalvfs: cannot read: outside the tree"
check_eq "the real PF still has 0 VFs" "$(<"$D/$pf/sriov_numvfs")" 0
check_status "numvfs through a climbing device link fails" 1 "$ctl" --sysfs-root "$T" numvfs "$nvme" 2
check_eq "the real nvme PF still has 0 VFs" "$(<"$D/$nvme/sriov_numvfs")" 0
check_status "numvfs --no-autoprobe through it fails" 1 "$ctl" --sysfs-root "$T" numvfs "$pf" 2 --no-autoprobe
check_eq "the real autoprobe is still 1" "$(<"$D/$pf/sriov_drivers_autoprobe")" 1
override_before=$(<"$D/$pf/driver_override")
mkdir -p "$T/bus/pci/drivers/vfio-pci"
check_status "bind through the device link fails" 1 "$ctl" --sysfs-root "$T" bind "$pf" vfio-pci --force
check_eq "the real driver_override is unchanged" "$(<"$D/$pf/driver_override")" "$override_before"
check_eq "the real PF is still on igb" "$(drv "$pf")" igb

# --- a fake tree's commands leave the host's records alone --------------------------
mkdir -p /run/sriovd/bind
printf 'driver=igbvf\nid=8086:10ca\n' >/run/sriovd/bind/0000:01:10.0
host_before=$(find /run/sriovd -printf '%p %s %T@\n' | sort)
"$mk" /run/fake testbed >/dev/null
check_status "numvfs 0 on a fake tree" 0 "$ctl" --sysfs-root /run/fake numvfs eth0 0 --force
check "the host's record of 0000:01:10.0 is still there" test -e /run/sriovd/bind/0000:01:10.0
mkdir -p /run/fake/bus/pci/drivers/pci-stub
check_status "bind on a fake tree (no kernel there moves the link)" 1 "$ctl" --sysfs-root /run/fake bind 0000:01:10.2 pci-stub --force
check "the fake tree's own state folder was used" test -d /run/fake/.sriovd/bind
check_eq "the host's /run/sriovd is unchanged" "$(find /run/sriovd -printf '%p %s %T@\n' | sort)" "$host_before"
rm -rf /run/sriovd/bind/0000:01:10.0 /run/fake "$T"

# --- the kernel log --------------------------------------------------------------------
check_status "check reads /dev/kmsg to its end" 0 timeout 120 "$ctl" -j check
printf '%s\n' "$out" | save check.json
evidence=$(jq -r '.findings[] | select(.check == "kernel-log") | .evidence' <<<"$out")
check_contains "kernel-log: lines of /dev/kmsg read" "$evidence" "lines of /dev/kmsg read"
check "kernel-log: more than 10 lines (the boot log)" test "${evidence%% *}" -gt 10
check_status "check --kmsg /dev/kmsg (the device, named)" 0 timeout 120 "$ctl" check --kmsg /dev/kmsg
check_status "check --kmsg /dev/zero is refused at once" 1 timeout 20 "$ctl" check --kmsg /dev/zero
check_contains "says what it is" "$out" "/dev/zero is a character device other than /dev/kmsg, not a kernel log"
tap_done
