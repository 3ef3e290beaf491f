#!/bin/bash
# Foundation scenario, run INSIDE the testbed VM (tests/vm/run-vm.sh), as
# root, against the real kernel: inventory, show and check on two igb PFs,
# an e1000e (no SR-IOV) and an NVMe PF (SR-IOV, no netdev), before and after
# creating VFs; every VF field compared with what /sbin/ip reports.
#   test-foundation.sh BUILD_DIR iommu|noiommu [ARTIFACT_DIR]
set -uo pipefail
build=$1
mode=$2
artifacts=${3:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib/tap.sh"
ctl=$build/src/sriovctl
. "$here/lib/schema.sh"
schema_init "$ctl" "${artifacts:-/run/sriovctl-test}/json" # every -j document, validated at the end
IP=/sbin/ip # iproute2's: busybox's ip has no VF support

save() { [ -n "$artifacts" ] && mkdir -p "$artifacts" && cat >"$artifacts/$1" || cat >/dev/null; }

# PFs by driver, from sysfs itself (the oracle the tool is checked against).
pfs_by_driver() {
	local d
	for d in /sys/bus/pci/devices/*; do
		[ "$(basename "$(readlink "$d/driver" 2>/dev/null)")" == "$1" ] && basename "$d"
	done
}
igb_pfs=($(pfs_by_driver igb))
nvme_pf=$(pfs_by_driver nvme | head -1)
e1000e=$(pfs_by_driver e1000e | head -1)
e1000e_net=$(ls /sys/bus/pci/devices/$e1000e/net)
check_eq "testbed has two igb PFs" "${#igb_pfs[@]}" 2
check "testbed has an NVMe PF with sriov_totalvfs" test -e /sys/bus/pci/devices/$nvme_pf/sriov_totalvfs

# --- before VFs ---
check_status "list -j runs" 0 "$ctl" -j list
list=$out
printf '%s\n' "$list" | save list-before.json
check_eq "3 PFs listed (2 igb, nvme; not the e1000e)" "$(jq '.pfs | length' <<<"$list")" 3
check_eq "PF addresses are the kernel's" "$(jq -r '[.pfs[].address] | sort | join(" ")' <<<"$list")" \
	"$(printf '%s\n' "${igb_pfs[@]}" "$nvme_pf" | sort | paste -sd' ')"
check_eq "igb totalvfs 7" "$(jq -c '[.pfs[] | select(.driver=="igb") | .sriov.totalvfs]' <<<"$list")" "[7,7]"
check_eq "nvme totalvfs 4, no netdev" "$(jq -c '.pfs[] | select(.driver=="nvme") | [.sriov.totalvfs, .netdevs]' <<<"$list")" '[4,[]]'
check_eq "no warnings" "$(jq -c .warnings <<<"$list")" "[]"
check_eq "igb named from pci.ids" "$(jq -r '[.pfs[] | select(.driver=="igb") | .device][0]' <<<"$list")" \
	"82576 Gigabit Network Connection"
"$ctl" list 2>&1 | save list-before.txt

# --- check ---
if [ "$mode" == iommu ]; then
	check_status "check exits 0 with the IOMMU on" 0 "$ctl" check
	check_contains "check reports IOMMU active" "$out" "IOMMU is active"
	printf '%s\n' "$out" | save check-iommu.txt
	check_status "check -j says ready" 0 "$ctl" -j check
	check_eq "check -j ready=true" "$(jq .ready <<<"$out")" true
	check_eq "check -j: every PF has an sriov finding" \
		"$(jq '[.findings[] | select(.check=="sriov" and .status=="ok")] | length' <<<"$out")" 3
else
	check_status "check exits 1 without an IOMMU" 1 "$ctl" check
	printf '%s\n' "$out" | save check-noiommu.txt
	check_contains "check names the IOMMU" "$out" "IOMMU is not active"
	check_contains "check prints the command-line fix" "$out" "intel_iommu=on iommu=pt"
	check_status "check -j says not ready" 1 "$ctl" -j check
	check_eq "check -j: iommu finding fails" \
		"$(jq -r '.findings[] | select(.check=="iommu") | .status' <<<"$out")" fail
	check_eq "no IOMMU groups reported" "$("$ctl" -j list | jq -c '[.pfs[].iommu_group] | unique')" "[null]"
fi

# --- check: interrupt remapping, the vfio-pci driver, one command-line fix ---
# The oracles: the kernel log, /proc/interrupts and /sys/module.
"$ctl" -j check >/run/check.json 2>/dev/null
finding() { jq -r --arg c "$1" --arg k "$2" '.findings[] | select(.check==$c) | .[$k] // ""' /run/check.json; }
ir_log=$(dmesg | grep -c 'DMAR-IR: Enabled IRQ remapping')
ir_irqs=$(grep -c ' IR-' /proc/interrupts)
if [ "$mode" == iommu ]; then
	check "kernel: DMAR-IR enabled IRQ remapping (intremap=on)" test "$ir_log" -ge 1
	check "kernel: interrupts go through IR- chips" test "$ir_irqs" -ge 1
	check_eq "check: intremap ok" "$(finding intremap status)" ok
	check_contains "check: intremap evidence quotes the kernel log" "$(finding intremap evidence)" \
		"kernel log: $(dmesg | grep -m1 -o 'DMAR-IR: Enabled IRQ remapping.*')"
	check_contains "check: intremap evidence counts /proc/interrupts" "$(finding intremap evidence)" \
		"/proc/interrupts: $ir_irqs interrupts on remapping (IR-/ITS-) chips"
	check_contains "check: the override's state is read" "$(finding intremap evidence)" \
		"vfio_iommu_type1.allow_unsafe_interrupts: $(</sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts)"
else
	check_eq "kernel: no IRQ remapping without the IOMMU" "$ir_log $ir_irqs" "0 0"
	check_eq "check: intremap warns" "$(finding intremap status)" warn
	check_eq "check: intremap summary" "$(finding intremap summary)" \
		"interrupt remapping is off, as the IOMMU is: VFIO needs both"
	# one change of the kernel command line, given once
	"$ctl" check >/run/check.txt 2>&1
	check_eq "check: intel_iommu=on in one fix line only" "$(grep -c 'fix:.*intel_iommu=on' /run/check.txt)" 1
	check_eq "check: the iommu line points to the cmdline line" "$(finding iommu fix)" \
		"change the kernel command line: see the cmdline finding"
	check_eq "check: no boot loader here: no tool named" "$(finding cmdline fix)" \
		"change the kernel command line in the boot loader's configuration (add intel_iommu=on iommu=pt), reboot (no GRUB, grubby or systemd-boot files found under /)"
	boot=/tmp/sriovd-vm-boot-root.$$
	rm -rf "$boot"
	mkdir -p "$boot/etc/default" "$boot/boot/grub" "$boot/usr/sbin"
	: >"$boot/etc/default/grub"; : >"$boot/boot/grub/grub.cfg"; : >"$boot/usr/sbin/update-grub"
	check_eq "check: GRUB with update-grub" "$(SRIOV_BOOT_ROOT=$boot "$ctl" -j check | jq -r '.findings[] | select(.check=="cmdline") | .fix')" \
		"edit GRUB_CMDLINE_LINUX in /etc/default/grub (add intel_iommu=on iommu=pt), run update-grub, reboot"
	rm -rf "$boot"
	mkdir -p "$boot/etc/kernel" "$boot/boot/efi/loader/entries"
	: >"$boot/etc/kernel/cmdline"
	check_eq "check: systemd-boot with kernel-install for the running kernel" \
		"$(SRIOV_BOOT_ROOT=$boot "$ctl" -j check | jq -r '.findings[] | select(.check=="cmdline") | .fix')" \
		"edit /etc/kernel/cmdline (add intel_iommu=on iommu=pt), run kernel-install add $(uname -r) /boot/vmlinuz-$(uname -r), reboot"
	rm -rf "$boot"
fi
check "kernel: module vfio_pci registers the driver vfio-pci" test -e /sys/module/vfio_pci/drivers/pci:vfio-pci
check_eq "check: vfio names the driver" "$(finding vfio summary)" "the vfio-pci driver is loaded"
check_contains "check: vfio names the module" "$(finding vfio evidence)" "exists (from the module vfio_pci)"

# --- create VFs and give them settings through ip, the reference tool ---
for pf in "${igb_pfs[@]}"; do
	echo 3 >/sys/bus/pci/devices/$pf/sriov_numvfs
done
pf0=${igb_pfs[0]}
pf0_net=$(ls /sys/bus/pci/devices/$pf0/net | head -1)
pf1_net=$(ls /sys/bus/pci/devices/${igb_pfs[1]}/net | head -1)
# igb checks a VF rate against the PF's link speed: the PF must be up.
$IP link set "$pf0_net" up
$IP link set "$pf1_net" up
for _ in $(seq 100); do # carrier comes up ~1-2 s later
	[ "$(cat /sys/class/net/$pf0_net/carrier 2>/dev/null)$(cat /sys/class/net/$pf1_net/carrier 2>/dev/null)" == 11 ] && break
	sleep 0.1
done
$IP link set "$pf0_net" vf 0 mac 02:11:22:33:44:55 vlan 100 qos 3
$IP link set "$pf0_net" vf 1 spoofchk off
$IP link set "$pf0_net" vf 2 mac 02:aa:bb:cc:dd:02 vlan 4094
$IP link set "$pf1_net" vf 1 mac 02:00:00:00:01:01 max_tx_rate 100
# VF netdevs appear when igbvf has probed; give udev-less probing a moment.
for _ in $(seq 50); do
	n=$(ls -d /sys/bus/pci/devices/$pf0/virtfn*/net/* /sys/bus/pci/devices/${igb_pfs[1]}/virtfn*/net/* 2>/dev/null | wc -l)
	[ "$n" -ge 6 ] && break
	sleep 0.1
done

check_status "list -j after creating VFs" 0 "$ctl" -j list
list=$out
printf '%s\n' "$list" | save list-after.json
"$ctl" list 2>&1 | save list-after.txt
check_eq "still 3 PFs" "$(jq '.pfs | length' <<<"$list")" 3
check_eq "no warnings after VFs" "$(jq -c .warnings <<<"$list")" "[]"

for pf in "${igb_pfs[@]}"; do
	net=$(ls /sys/bus/pci/devices/$pf/net | head -1)
	pfj=$(jq --arg a "$pf" '.pfs[] | select(.address==$a)' <<<"$list")
	check_eq "$pf: numvfs 3" "$(jq .sriov.numvfs <<<"$pfj")" 3
	check_eq "$pf: 3 VFs listed" "$(jq '.vfs | length' <<<"$pfj")" 3
	iplink=$($IP -j -d link show "$net")
	for i in 0 1 2; do
		vfdir=/sys/bus/pci/devices/$pf/virtfn$i
		vf=$(jq --argjson i $i '.vfs[] | select(.vf_index==$i)' <<<"$pfj")
		ipvf=$(jq --argjson i $i '.[0].vfinfo_list[] | select(.vf==$i)' <<<"$iplink")
		check_eq "$pf VF $i: address = virtfn$i" "$(jq -r .address <<<"$vf")" "$(basename "$(readlink "$vfdir")")"
		check_eq "$pf VF $i: driver igbvf" "$(jq -r .driver <<<"$vf")" igbvf
		check_eq "$pf VF $i: netdevs = sysfs" "$(jq -r '.netdevs | join(" ")' <<<"$vf")" "$(ls "$vfdir/net" | paste -sd' ')"
		check_eq "$pf VF $i: iommu group = sysfs" "$(jq -r '.iommu_group // "none"' <<<"$vf")" \
			"$(basename "$(readlink "$vfdir/iommu_group" 2>/dev/null || echo none)")"
		check_eq "$pf VF $i: mac = ip" "$(jq -r .link.mac <<<"$vf")" "$(jq -r .address <<<"$ipvf")"
		check_eq "$pf VF $i: vlan = ip" "$(jq -r .link.vlan <<<"$vf")" "$(jq -r '.vlan_list[0].vlan // 0' <<<"$ipvf")"
		check_eq "$pf VF $i: qos = ip" "$(jq -r .link.qos <<<"$vf")" "$(jq -r '.vlan_list[0].qos // 0' <<<"$ipvf")"
		check_eq "$pf VF $i: spoof_check = ip" "$(jq -r .link.spoof_check <<<"$vf")" "$(jq -r .spoofchk <<<"$ipvf")"
		check_eq "$pf VF $i: max_tx_rate = ip" "$(jq -r .link.max_tx_rate <<<"$vf")" "$(jq -r '.rate.max_tx // 0' <<<"$ipvf")"
		check_eq "$pf VF $i: link_state = ip" "$(jq -r .link.link_state <<<"$vf")" "$(jq -r .link_state <<<"$ipvf")"
	done
done
# Explicit values, so a wrong oracle cannot hide a wrong tool.
vf0=$(jq --arg a "$pf0" '.pfs[] | select(.address==$a) | .vfs[0].link' <<<"$list")
check_eq "VF 0: the MAC/VLAN/QoS we set" "$(jq -c '[.mac,.vlan,.qos,.vlan_protocol]' <<<"$vf0")" '["02:11:22:33:44:55",100,3,"802.1Q"]'
check_eq "VF 1: spoof check off" "$(jq --arg a "$pf0" '.pfs[] | select(.address==$a) | .vfs[1].link.spoof_check' <<<"$list")" false
check_eq "other PF VF 1: max rate 100" "$(jq --arg a "${igb_pfs[1]}" '.pfs[] | select(.address==$a) | .vfs[1].link.max_tx_rate' <<<"$list")" 100

# --- show: netdev, PCI address, PF#N, and errors ---
check_status "show PF#0 (by netdev)" 0 "$ctl" -j show "$pf0_net#0"
check_eq "show PF#0 is VF 0" "$(jq -c '[.role,.vf_index,.pf,.link.mac]' <<<"$out")" "[\"vf\",0,\"$pf0\",\"02:11:22:33:44:55\"]"
vf2=$(basename "$(readlink /sys/bus/pci/devices/$pf0/virtfn2)")
check_status "show PCI#N (by address)" 0 "$ctl" -j show "$pf0#2"
check_eq "show $pf0#2 is $vf2" "$(jq -r .address <<<"$out")" "$vf2"
vf2_net=$(ls /sys/bus/pci/devices/$vf2/net | head -1)
check_status "show VF by its own netdev" 0 "$ctl" -j show "$vf2_net"
check_eq "show $vf2_net is $vf2" "$(jq -r .address <<<"$out")" "$vf2"
check_status "show PF text" 0 "$ctl" show "$pf0_net"
check_contains "show PF text lists sriov" "$out" "3 of 7 VFs"
check_status "show e1000e: not SR-IOV" 0 "$ctl" -j show "$e1000e_net"
check_eq "e1000e role none" "$(jq -r .role <<<"$out")" none
check_status "show unknown device fails" 1 "$ctl" show nosuch0
check_contains "unknown device error names it" "$out" "nosuch0: no such device"
check_status "show VF beyond numvfs fails" 1 "$ctl" show "$pf0_net#5"
check_contains "error says VF 5 does not exist" "$out" "VF 5 does not exist"
check_status "show e1000e#0 fails" 1 "$ctl" show "$e1000e_net#0"
check_contains "error says not a PF" "$out" "not an SR-IOV physical function"
check_status "unknown command is a usage error" 2 "$ctl" frobnicate
check_status "unreadable sysfs root fails" 1 "$ctl" list --sysfs-root /nonexistent
check_contains "unreadable root error is one clear line" "$out" "cannot read PCI devices under /nonexistent"

# --- NVMe PF: SR-IOV without a netdev ---
echo 2 >/sys/bus/pci/devices/$nvme_pf/sriov_numvfs
check_status "list after nvme VFs" 0 "$ctl" -j list
nv=$(jq --arg a "$nvme_pf" '.pfs[] | select(.address==$a)' <<<"$out")
check_eq "nvme: 2 VFs" "$(jq '.vfs | length' <<<"$nv")" 2
check_eq "nvme VFs: no link view (no PF netdev)" "$(jq -c '[.vfs[].link]' <<<"$nv")" "[null,null]"
check_eq "nvme VF addresses = virtfn links" "$(jq -r '[.vfs[].address] | join(" ")' <<<"$nv")" \
	"$(for i in 0 1; do basename "$(readlink /sys/bus/pci/devices/$nvme_pf/virtfn$i)"; done | paste -sd' ')"
echo 0 >/sys/bus/pci/devices/$nvme_pf/sriov_numvfs

schema_done
tap_done
