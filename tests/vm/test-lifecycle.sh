#!/bin/bash
# Lifecycle scenario, run INSIDE the testbed VM (tests/vm/run-vm.sh), as root,
# against the real kernel: `sriovctl numvfs` and `sriovctl bind` on an igb PF
# (igbvf VFs) and the NVMe PF (VFs without a netdev), their refusals and bad
# input. sysfs is the oracle: after every step the tool's answer is compared
# with what the kernel's files and links say.
#   test-lifecycle.sh BUILD_DIR [ARTIFACT_DIR]
set -uo pipefail
build=$1
artifacts=${2:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib/tap.sh"
ctl=$build/src/sriovctl
. "$here/lib/schema.sh"
schema_init "$ctl" "${artifacts:-/run/sriovctl-test}/json" # every -j document, validated at the end
IP=/sbin/ip # iproute2's: busybox's ip has no VF support
D=/sys/bus/pci/devices
state_dir=/run/sriovd/bind # the default; /run is the guest's own tmpfs

save() { [ -n "$artifacts" ] && mkdir -p "$artifacts" && cat >"$artifacts/$1" || cat >/dev/null; }
# check_json DESC STATUS COMMAND...: check_status for -j commands, with
# stdout alone in $out (the JSON document) and stderr in $err.
errfile=/run/test-lifecycle.stderr
check_json() {
	local desc=$1 want=$2
	shift 2
	local rc=0
	out=$("$@" 2>"$errfile") || rc=$?
	err=$(<"$errfile")
	if [ "$rc" == "$want" ] && jq -e . >/dev/null 2>&1 <<<"$out"; then
		tap_ok "$desc"
	else
		tap_not_ok "$desc (exit $rc, wanted $want, or not JSON)"
		printf '%s\n%s\n' "$out" "$err" | sed 's/^/#   /' | head -20
	fi
}
# keep the output of the last check_status as a sample
keep() { printf '$ sriovctl %s\n%s\n\n' "$1" "$out" | save "$2"; }

# --- the oracle: sysfs, read with bash builtins (every program costs under TCG)
drv() { local l; l=$(readlink "$D/$1/driver" 2>/dev/null) && echo "${l##*/}" || echo -; }
numvfs() { echo "$(<"$D/$1/sriov_numvfs")"; }
override() { echo "$(<"$D/$1/driver_override")"; }
group() { local l; l=$(readlink "$D/$1/iommu_group") && echo "${l##*/}"; }
# VF addresses in virtfn order
links() {
	local i=0 l out=()
	while l=$(readlink "$D/$1/virtfn$i" 2>/dev/null); do
		out+=("${l##*/}")
		i=$((i + 1))
	done
	echo "${out[*]}"
}
# "address:driver" of every VF
vf_drivers() {
	local a out=()
	for a in $(links "$1"); do out+=("$a:$(drv "$a")"); done
	echo "${out[*]}"
}
# ifindexes of the VFs' netdevs: a VF destroyed and recreated gets new ones
vf_ifindexes() {
	local a n out=()
	for a in $(links "$1"); do
		for n in "$D/$a"/net/*; do [ -e "$n" ] && out+=("$(<"$n/ifindex")"); done
	done
	echo "${out[*]}"
}
vf_n() { local l; l=$(readlink "$D/$1/virtfn$2") && echo "${l##*/}"; }
# every VF bound (or unbound: want "-"), after probing settles
wait_drivers() {
	local pf=$1 want=$2 a ok
	for _ in $(seq 50); do
		ok=1
		for a in $(links "$pf"); do
			if [ "$want" == - ]; then [ "$(drv "$a")" == - ] || ok=0; else [ "$(drv "$a")" != - ] || ok=0; fi
		done
		[ $ok == 1 ] && return 0
		sleep 0.1
	done
	return 1
}

pfs_by_driver() {
	local d l
	for d in "$D"/*; do
		l=$(readlink "$d/driver" 2>/dev/null) && [ "${l##*/}" == "$1" ] && echo "${d##*/}"
	done
}
igb_pfs=($(pfs_by_driver igb))
pf=${igb_pfs[0]}
pf1=${igb_pfs[1]}
pf_net=$(ls "$D/$pf/net")
pf1_net=$(ls "$D/$pf1/net")
nvme=$(pfs_by_driver nvme | head -1)
e1000e=$(pfs_by_driver e1000e | head -1)
check_eq "testbed: two igb PFs" "${#igb_pfs[@]}" 2
check "testbed: vfio-pci is loaded" test -d /sys/bus/pci/drivers/vfio-pci
check_eq "testbed: no VFs yet" "$(numvfs "$pf") $(numvfs "$nvme")" "0 0"
check_eq "testbed: autoprobe on" "$(<"$D/$pf/sriov_drivers_autoprobe")" 1

# --- numvfs 0 -> 4 --------------------------------------------------------
check_json "numvfs $pf_net 4 (0 -> 4)" 0 "$ctl" -j numvfs "$pf_net" 4
j=$out
printf '%s\n' "$j" | save numvfs-0-4.json
check_eq "0 -> 4: sysfs has 4 VFs" "$(numvfs "$pf")" 4
check_eq "0 -> 4: -j prints the outcome" "$(jq -c '[.address, .requested, .before, .after, .changed, .disabled_first, .settled]' <<<"$j")" \
	"[\"$pf\",4,0,4,true,false,true]"
check_eq "0 -> 4: -j prints the PF" "$(jq -r '.pf.address + " " + .pf.role' <<<"$j")" "$pf pf"
check_eq "0 -> 4: VF list = virtfn links" "$(jq -r '[.pf.vfs[].address] | join(" ")' <<<"$j")" "$(links "$pf")"
check_eq "0 -> 4: 4 links" "$(links "$pf" | wc -w)" 4
check_eq "0 -> 4: VF drivers = sysfs" "$(jq -r '[.pf.vfs[] | .address + ":" + (.driver // "-")] | join(" ")' <<<"$j")" \
	"$(vf_drivers "$pf")"
check_eq "0 -> 4: every VF on igbvf (autoprobe)" "$(vf_drivers "$pf" | tr ' ' '\n' | cut -d: -f4 | sort -u)" igbvf
check_eq "0 -> 4: numvfs in JSON" "$(jq .pf.sriov.numvfs <<<"$j")" 4
# The PF shown is read again after the change: the new VFs' netdevs, their
# MACs as the PF gave them, their names and holders, as a scan of its own
# would give them (the oracles: sysfs, ip, lspci).
vf_netdevs() { local a n out=(); for a in $(links "$1"); do
	n=("$D/$a"/net/*); [ -e "${n[0]}" ] && out+=("$a:${n[0]##*/}") || out+=("$a:-"); done; echo "${out[*]}"; }
check_eq "0 -> 4: VF netdevs = sysfs" "$(jq -r '[.pf.vfs[] | .address + ":" + (.netdevs[0] // "-")] | join(" ")' <<<"$j")" \
	"$(vf_netdevs "$pf")"
check_eq "0 -> 4: VF MACs = ip's vfinfo" "$(jq -r '[.pf.vfs[].link.mac] | join(" ")' <<<"$j")" \
	"$($IP -j -d link show "$pf_net" | jq -r '[.[0].vfinfo_list[].address] | join(" ")')"
vf0=$(vf_n "$pf" 0)
check_eq "0 -> 4: PF and VF names = lspci's" "$(jq -r '[.pf, .pf.vfs[0]] | map(.vendor + "|" + .device) | join(" ")' <<<"$j")" \
	"$(for a in "$pf" "$vf0"; do lspci -vmm -s "$a" | awk -F'\t' '$1 == "Vendor:" {v = $2} $1 == "Device:" {d = $2} END {printf "%s|%s ", v, d}'; done | sed 's/ $//')"
check_eq "0 -> 4: no holder" "$(jq -c '[.pf.claimed_by, .pf.vfs[].claimed_by] | unique' <<<"$j")" "[null]"
check_json "numvfs -j 4 again: nothing written" 0 "$ctl" -j numvfs "$pf_net" 4
check_eq "4 -> 4 in JSON: not changed" "$(jq -c '[.before, .after, .changed]' <<<"$out")" "[4,4,false]"
check_eq "4 -> 4 in JSON: nothing on stderr" "$err" ""

# --- N = current: nothing written ---------------------------------------------
before=$(vf_ifindexes "$pf")
check_status "numvfs $pf_net 4 again" 0 "$ctl" numvfs "$pf_net" 4
keep "numvfs $pf_net 4" numvfs-same.txt
check_contains "4 -> 4 says nothing was written" "$out" "already has 4 VFs; nothing written"
check_eq "4 -> 4: VFs not recreated (same netdev ifindexes)" "$(vf_ifindexes "$pf")" "$before"

# --- numvfs 4 -> 2, through 0 -----------------------------------------------------
check_status "numvfs $pf_net 2 (4 -> 2)" 0 "$ctl" numvfs "$pf_net" 2
keep "numvfs $pf_net 2" numvfs-4-2.txt
check_contains "4 -> 2 went through 0" "$out" "4 -> 2 VFs (through 0"
check_contains "4 -> 2: the text output lists the VFs" "$out" "vf 1:"
check_eq "4 -> 2: sysfs has 2 VFs" "$(numvfs "$pf")" 2
check_json "list after 4 -> 2" 0 "$ctl" -j show "$pf"
check_eq "4 -> 2: VF list = virtfn links" "$(jq -r '[.vfs[].address] | join(" ")' <<<"$out")" "$(links "$pf")"
check_eq "4 -> 2: drivers = sysfs" "$(jq -r '[.vfs[] | .address + ":" + (.driver // "-")] | join(" ")' <<<"$out")" \
	"$(vf_drivers "$pf")"

# --- 2 -> 8 refused (igb offers 7), nothing changed ----------------------------------
links_before=$(links "$pf")
drivers_before=$(vf_drivers "$pf")
idx_before=$(vf_ifindexes "$pf")
check_status "numvfs $pf_net 8 is refused" 1 "$ctl" numvfs "$pf_net" 8
keep "numvfs $pf_net 8" numvfs-8.txt
check_contains "2 -> 8: names the limit" "$out" "8 VFs requested, the device offers at most 7 (sriov_totalvfs)"
unchanged() {
	check_eq "$1: numvfs unchanged" "$(numvfs "$pf")" 2
	check_eq "$1: VFs unchanged" "$(links "$pf")" "$links_before"
	check_eq "$1: drivers unchanged" "$(vf_drivers "$pf")" "$drivers_before"
	check_eq "$1: VFs not recreated" "$(vf_ifindexes "$pf")" "$idx_before"
}
unchanged "2 -> 8"

# --- bad input: a clear error, non-zero status, nothing changed --------------------
bad() { # bad DESC STATUS NEEDLE ARGS...
	local desc=$1 want=$2 needle=$3
	shift 3
	check_status "$desc: exit $want" "$want" "$ctl" "$@"
	check_contains "$desc: says why" "$out" "$needle"
	printf '$ sriovctl %s\n%s\n' "$*" "$out" | save_append bad-input.txt
}
save_append() { [ -n "$artifacts" ] && cat >>"$artifacts/$1" || cat >/dev/null; }
bad "N = -1" 2 "'-1' is not a VF count" numvfs "$pf_net" -1
bad "N = abc" 2 "'abc' is not a VF count" numvfs "$pf_net" abc
bad "N = 1e3" 2 "'1e3' is not a VF count" numvfs "$pf_net" 1e3
bad "N empty" 2 "'' is not a VF count" numvfs "$pf_net" ""
bad "N = ' 2'" 2 "' 2' is not a VF count" numvfs "$pf_net" " 2"
bad "N = 0x2" 2 "'0x2' is not a VF count" numvfs "$pf_net" 0x2
bad "N huge" 2 "far too many" numvfs "$pf_net" 99999999999
bad "unknown DEV" 1 "nosuch0: no such device" numvfs nosuch0 2
bad "unknown PCI address" 1 "0000:0f:00.0: no such device" numvfs 0000:0f:00.0 2
bad "unknown option" 2 "option '--frobnicate' is not known" numvfs "$pf_net" 2 --frobnicate
bad "bad --timeout" 2 "--timeout wants seconds" numvfs "$pf_net" 2 --timeout soon
bad "negative --timeout" 2 "--timeout wants seconds" numvfs "$pf_net" 2 --timeout=-1
bad "negative --timeout, separate" 2 "--timeout wants seconds" numvfs "$pf_net" 2 --timeout -1
bad "numvfs without N" 2 "usage: sriovctl numvfs DEV N" numvfs "$pf_net"
bad "numvfs without arguments" 2 "usage: sriovctl numvfs DEV N" numvfs
bad "numvfs extra argument" 2 "unexpected argument '3'" numvfs "$pf_net" 2 3
bad "numvfs on a NIC without SR-IOV" 1 "is not an SR-IOV physical function" numvfs "$e1000e" 2
bad "numvfs on a VF" 1 "is VF 0 of $pf, not an SR-IOV physical function" numvfs "$pf_net#0" 2
bad "bind without DRIVER" 2 "usage: sriovctl bind DEV DRIVER" bind "$pf_net#0"
bad "bind without arguments" 2 "usage: sriovctl bind DEV DRIVER" bind
bad "bind to a path" 2 "'../igb' is not a driver name" bind "$pf_net#0" ../igb
bad "bind to a driver that is not loaded" 1 "pci-stub is not loaded: modprobe pci-stub" bind "$pf_net#0" pci-stub
bad "bind to a driver that does not exist" 1 "nosuchdrv is not loaded: modprobe nosuchdrv" bind "$pf_net#0" nosuchdrv
bad "bind to the module's name" 1 \
	"there is no PCI driver called vfio_pci: the driver is vfio-pci (registered by the module vfio_pci), use that name" \
	bind "$pf_net#0" vfio_pci
bad "bind unknown DEV" 1 "nosuch0: no such device" bind nosuch0 vfio-pci
bad "bind VF beyond numvfs" 1 "VF 5 does not exist" bind "$pf_net#5" vfio-pci
bad "bind unknown option" 2 "option '--now' is not known" bind "$pf_net#0" vfio-pci --now
unchanged "after bad input"
check_eq "after bad input: no driver_override set" "$(override "$(vf_n "$pf" 0)")" "(null)"

# --- bind a VF to vfio-pci and back ---------------------------------------------
vf0=$(vf_n "$pf" 0)
vf0_net=$(ls "$D/$vf0/net")
g=$(group "$vf0")
check "VF 0 has an IOMMU group" test -n "$g"
check "no /dev/vfio/$g before" test ! -e "/dev/vfio/$g"
check_json "bind $pf_net#0 vfio-pci" 0 "$ctl" -j bind "$pf_net#0" vfio-pci
j=$out
printf '%s\n' "$j" | save bind-vfio.json
check_eq "bind -j keys" "$(jq -c 'keys' <<<"$j")" \
	'["address","changed","destroyed_vfs","driver","driver_before","forced","iommu_group","restored","schema_version","vfio_device"]'
check_eq "bind -j: what was done" "$(jq -c '[.address,.driver_before,.driver,.changed,.iommu_group,.vfio_device]' <<<"$j")" \
	"[\"$vf0\",\"igbvf\",\"vfio-pci\",true,$g,\"/dev/vfio/$g\"]"
check_eq "sysfs: VF 0 on vfio-pci" "$(drv "$vf0")" vfio-pci
check_eq "sysfs: driver_override vfio-pci" "$(override "$vf0")" vfio-pci
check "/dev/vfio/$g is a character device" test -c "/dev/vfio/$g"
check "its netdev $vf0_net is gone" test ! -e "/sys/class/net/$vf0_net"
check_contains "state record remembers igbvf" "$(cat "$state_dir/$vf0" 2>&1)" "driver=igbvf"
check_status "bind to vfio-pci again" 0 "$ctl" bind "$vf0" vfio-pci
keep "bind $vf0 vfio-pci" bind-vfio-again.txt
check_contains "again: nothing to do" "$out" "already bound to vfio-pci; nothing to do"
check_contains "again: the node is reported" "$out" "/dev/vfio/$g"

# --- numvfs refused while a VF is on vfio-pci ------------------------------------
check_status "numvfs 3 refused while VF 0 is on vfio-pci" 1 "$ctl" numvfs "$pf_net" 3
keep "numvfs $pf_net 3" numvfs-refused.txt
check_contains "refusal names the VF, its address and the reason" "$out" "VF 0 ($vf0) is bound to vfio-pci"
check_contains "refusal mentions --force" "$out" "--force"
check_status "numvfs 0 refused too" 1 "$ctl" numvfs "$pf" 0
check_eq "refused: still 2 VFs" "$(numvfs "$pf")" 2
check_eq "refused: VF 0 still on vfio-pci" "$(drv "$vf0")" vfio-pci
check "refused: /dev/vfio/$g still there" test -c "/dev/vfio/$g"

# --- back with `kernel` ---------------------------------------------------------
check_status "bind $vf0 kernel" 0 "$ctl" bind "$vf0" kernel
keep "bind $vf0 kernel" bind-kernel.txt
check_contains "kernel: says it restored igbvf" "$out" "vfio-pci -> igbvf (the driver it had before)"
check_eq "sysfs: VF 0 on igbvf again" "$(drv "$vf0")" igbvf
check_eq "sysfs: driver_override cleared" "$(override "$vf0")" "(null)"
check "/dev/vfio/$g is gone" test ! -e "/dev/vfio/$g"
check "state record forgotten" test ! -e "$state_dir/$vf0"
check "VF 0 has a netdev again" test -d "$D/$vf0/net"
check_status "kernel again: nothing to do" 0 "$ctl" bind "$vf0" kernel
check_contains "kernel again: says so" "$out" "already bound to its kernel driver igbvf; nothing to do"

# --- --force: numvfs with a VF on vfio-pci ---------------------------------------------
check_status "bind VF 1 to vfio-pci" 0 "$ctl" bind "$pf_net#1" vfio-pci
vf1=$(vf_n "$pf" 1)
g1=$(group "$vf1")
keep "bind $pf_net#1 vfio-pci" bind-vfio.txt
check_status "numvfs 3 --force" 0 "$ctl" numvfs "$pf_net" 3 --force
keep "numvfs $pf_net 3 --force" numvfs-force.txt
check_contains "--force says what it overrode" "$out" "warning: --force: VF 1 ($vf1) is bound to vfio-pci"
check_eq "--force: sysfs has 3 VFs" "$(numvfs "$pf")" 3
check_json "show after --force" 0 "$ctl" -j show "$pf"
check_eq "--force: VF list = virtfn links" "$(jq -r '[.vfs[].address] | join(" ")' <<<"$out")" "$(links "$pf")"
check "--force: the old VF's /dev/vfio/$g1 is gone" test ! -e "/dev/vfio/$g1"
check "--force: the destroyed VF's state record is forgotten" test ! -e "$state_dir/$vf1"
check "--force: every new VF bound" wait_drivers "$pf" bound

# --- --no-autoprobe ------------------------------------------------------------------
check_status "numvfs 0" 0 "$ctl" numvfs "$pf_net" 0
check_eq "0: no VFs, no links" "$(numvfs "$pf"):$(links "$pf")" "0:"
check_json "numvfs 2 --no-autoprobe" 0 "$ctl" -j numvfs "$pf_net" 2 --no-autoprobe
j=$out
printf '%s\n' "$j" | save numvfs-no-autoprobe.json
check_eq "--no-autoprobe: sriov_drivers_autoprobe is 0" "$(<"$D/$pf/sriov_drivers_autoprobe")" 0
check_eq "--no-autoprobe: JSON says so" "$(jq -c '[.pf.sriov.drivers_autoprobe, .autoprobe_written, .autoprobe]' <<<"$j")" "[false,true,false]"
check_eq "--no-autoprobe: VF list = links" "$(jq -r '[.pf.vfs[].address] | join(" ")' <<<"$j")" "$(links "$pf")"
sleep 0.5 # a driver that would probe late gets its chance to show up
check_eq "--no-autoprobe: the VFs stay unbound (sysfs)" "$(vf_drivers "$pf")" "$(for a in $(links "$pf"); do echo "$a:-"; done | paste -sd' ')"
check_eq "--no-autoprobe: JSON drivers null" "$(jq -c '[.pf.vfs[].driver]' <<<"$j")" "[null,null]"
vf0=$(vf_n "$pf" 0)
g=$(group "$vf0")
check_json "bind an unbound VF to vfio-pci" 0 "$ctl" -j bind "$vf0" vfio-pci
check_eq "unbound -> vfio-pci" "$(jq -c '[.driver_before,.driver,.vfio_device]' <<<"$out")" "[null,\"vfio-pci\",\"/dev/vfio/$g\"]"
check "no state record for a VF that had no driver" test ! -e "$state_dir/$vf0"
check_status "kernel, nothing remembered, autoprobe off: refused" 1 "$ctl" bind "$vf0" kernel
keep "bind $vf0 kernel" bind-kernel-autoprobe-off.txt
check_contains "says why and what to do" "$out" "sriov_drivers_autoprobe 0"
check_eq "still on vfio-pci" "$(drv "$vf0")" vfio-pci
check_status "bind to igbvf by name" 0 "$ctl" bind "$vf0" igbvf
check_eq "sysfs: on igbvf" "$(drv "$vf0")" igbvf
check "/dev/vfio/$g gone" test ! -e "/dev/vfio/$g"
echo 1 >"$D/$pf/sriov_drivers_autoprobe"
check_status "numvfs 0 (cleanup)" 0 "$ctl" numvfs "$pf_net" 0

# --- NVMe PF: SR-IOV without a netdev ------------------------------------------------
# QEMU's secondary NVMe controllers stay offline until a virt-mgmt command
# onlines them: nvme probes each VF successfully, then its reset work gives
# the VF up ~0.5 s later ("Removing after probe failure"). sriovctl must not
# take that moment of "bound" for settled.
check_json "numvfs $nvme 2 --timeout 3 (NVMe 0 -> 2)" 0 "$ctl" -j numvfs "$nvme" 2 --timeout 3
j=$out
printf '%s\n' "$j" | save numvfs-nvme.json
printf '%s\n' "$err" | save numvfs-nvme.stderr
check_eq "NVMe: sysfs has 2 VFs" "$(numvfs "$nvme")" 2
check_eq "NVMe: VF list = virtfn links" "$(jq -r '[.pf.vfs[].address] | join(" ")' <<<"$j")" "$(links "$nvme")"
check_eq "NVMe: no netdevs" "$(jq -c '[.pf.netdevs, .pf.vfs[].netdevs]' <<<"$j")" "[[],[],[]]"
check_eq "NVMe: VF drivers = sysfs" "$(jq -r '[.pf.vfs[] | .address + ":" + (.driver // "-")] | join(" ")' <<<"$j")" \
	"$(vf_drivers "$nvme")"
nvf=$(vf_n "$nvme" 0)
ng=$(group "$nvf")
if [ "$(drv "$nvf")" == - ]; then
	check_contains "NVMe: warns that VF 0 kept no driver (in the document)" "$(jq -r '.warnings[]' <<<"$j")" \
		"VF $nvf has no driver after 3.000 s although autoprobe is on"
	check_contains "NVMe: no_driver names it" "$(jq -c .no_driver <<<"$j")" "\"$nvf\""
	check_eq "NVMe: stderr quiet in JSON mode" "$err" ""
	check_contains "NVMe: the kernel log says why" "$(dmesg | grep nvme)" "Removing after probe failure"
else
	tap_ok "NVMe: VF 0 is bound to $(drv "$nvf") (controller online)"
fi
check_json "bind NVMe VF 0 to vfio-pci" 0 "$ctl" -j bind "$nvme#0" vfio-pci
check_eq "NVMe VF: on vfio-pci (sysfs)" "$(drv "$nvf")" vfio-pci
check_eq "NVMe VF: vfio_device" "$(jq -r .vfio_device <<<"$out")" "/dev/vfio/$ng"
check "NVMe VF: /dev/vfio/$ng appears" test -c "/dev/vfio/$ng"
check_status "bind NVMe VF 0 kernel" 1 "$ctl" bind "$nvf" kernel
keep "bind $nvf kernel" bind-nvme-kernel.txt
check_contains "NVMe VF: nvme took it and let go, put back on vfio-pci" "$out" \
	"nvme took the device but let go of it within 1000 ms (see the kernel log); put back on vfio-pci"
check_eq "NVMe VF: back on vfio-pci (sysfs)" "$(drv "$nvf")" vfio-pci
check_eq "NVMe VF: driver_override as it was" "$(override "$nvf")" vfio-pci
check "NVMe VF: /dev/vfio/$ng is back" test -c "/dev/vfio/$ng"
check_status "numvfs $nvme 0 refused (VF 0 on vfio-pci)" 1 "$ctl" numvfs "$nvme" 0
check_contains "NVMe: refusal names the VF" "$out" "VF 0 ($nvf) is bound to vfio-pci"
check_json "the refusal in JSON: the error document" 1 "$ctl" -j numvfs "$nvme" 0
check_eq "error document names the command and the VF" \
	"$(jq -c '[.command, .exit_status, (.error | contains("VF 0 ('"$nvf"') is bound to vfio-pci"))]' <<<"$out")" '["numvfs",1,true]'
check_json "numvfs $nvme 0 --force in JSON" 0 "$ctl" -j numvfs "$nvme" 0 --force
check_eq "--force in JSON: forced names the VF" "$(jq -r '.forced[0]' <<<"$out")" "VF 0 ($nvf) is bound to vfio-pci"
check_eq "--force in JSON: 2 -> 0" "$(jq -c '[.before, .after, .changed, (.pf.vfs | length)]' <<<"$out")" "[2,0,true,0]"
check_eq "NVMe: no VFs, no links" "$(numvfs "$nvme"):$(links "$nvme")" "0:"
check "NVMe: /dev/vfio/$ng is gone with the VF" test ! -e "/dev/vfio/$ng"

# --- VF netdevs in other network namespaces (containers) -------------------------------
# Moved out, a VF's netdev leaves its net/ folder and this namespace; the
# oracle is /sbin/ip run in the namespace itself.
check_status "numvfs $pf_net 4 (for the namespace checks)" 0 "$ctl" numvfs "$pf_net" 4
check "all 4 VFs bound" wait_drivers "$pf" bound
vf2=$(vf_n "$pf" 2)
vf3=$(vf_n "$pf" 3)
vf2_net=$(ls "$D/$vf2/net")
vf3_net=$(ls "$D/$vf3/net")
$IP netns add c1
$IP link set "$vf2_net" netns c1
$IP -n c1 addr add 198.51.100.2/24 dev "$vf2_net"
$IP -n c1 link set "$vf2_net" up
check "VF 2's netdev is in c1 (ip -n c1)" quiet $IP -n c1 link show "$vf2_net"
check_eq "sysfs: VF 2's net/ folder is empty here" "$(ls "$D/$vf2/net" 2>/dev/null)" ""
idx_before=$(vf_ifindexes "$pf")
check_status "numvfs $pf_net 2 refused: VF 2's netdev is in c1" 1 "$ctl" numvfs "$pf_net" 2
keep "numvfs $pf_net 2" numvfs-refused-netns.txt
check_contains "refusal names the VF, its netdev and the namespace" "$out" \
	"VF 2 ($vf2) has its netdev $vf2_net in network namespace c1 (a container has it)"
check_eq "refused: still 4 VFs" "$(numvfs "$pf")" 4
check_eq "refused: the VFs here were not recreated" "$(vf_ifindexes "$pf")" "$idx_before"
check "refused: the interface still exists in c1" quiet $IP -n c1 link show "$vf2_net"
check_contains "refused: its address is still on it" "$($IP -n c1 -4 -o addr show dev "$vf2_net")" "198.51.100.2/24"
check_status "show $pf_net#2" 0 "$ctl" show "$pf_net#2"
keep "show $pf_net#2" show-vf-in-netns.txt
check_contains "show: the netdev and its namespace instead of -" "$out" "$vf2_net (netns c1)"
check_json "show -j $pf_net#2" 0 "$ctl" -j show "$pf_net#2"
check_eq "show -j: netns_netdevs" "$(jq -c '[.netdevs, .netns_netdevs]' <<<"$out")" \
	"[[],[{\"name\":\"$vf2_net\",\"netns\":\"c1\"}]]"
check_json "list -j" 0 "$ctl" -j list
check_eq "list -j: VF 2 in c1" "$(jq -r --arg a "$vf2" '.pfs[].vfs[] | select(.address==$a) | .netns_netdevs[0].netns' <<<"$out")" c1
# A namespace no name points to, held by a process; the netdev down, no address.
unshare -n sleep 600 &
holder=$!
for _ in $(seq 50); do [ "$(readlink /proc/$holder/ns/net)" != "$(readlink /proc/self/ns/net)" ] && break; sleep 0.1; done
$IP link set "$vf3_net" netns "$holder"
check_eq "VF 3's netdev is in pid $holder's namespace, down, no address" \
	"$(nsenter -t "$holder" -n $IP -o link show "$vf3_net" | grep -c 'state DOWN'):$(nsenter -t "$holder" -n $IP -o addr show dev "$vf3_net" | wc -l)" "1:0"
check_status "numvfs $pf_net 0 refused: VF 3 in a process's namespace, no address" 1 "$ctl" numvfs "$pf_net" 0
keep "numvfs $pf_net 0" numvfs-refused-netns-pid.txt
check_contains "refusal names the pid that holds the namespace" "$out" \
	"VF 3 ($vf3) has its netdev $vf3_net in network namespace pid $holder (sleep)"
check_contains "... and VF 2 in c1 too" "$out" "VF 2 ($vf2) has its netdev $vf2_net in network namespace c1"
check_status "bind $pf_net vfio-pci refused: moving the PF off igb destroys its VFs" 1 "$ctl" bind "$pf_net" vfio-pci
keep "bind $pf_net vfio-pci" bind-pf-refused-netns.txt
check_contains "refusal: the count and the VF in c1" "$out" \
	"unbinding $pf from igb destroys its 4 VFs, and VF 2 ($vf2) has its netdev $vf2_net in network namespace c1"
check_eq "refused: PF still on igb, 4 VFs" "$(drv "$pf"):$(numvfs "$pf")" "igb:4"
check_status "bind VF 2 vfio-pci refused: its netdev is in c1" 1 "$ctl" bind "$vf2" vfio-pci
check_contains "refusal: its netdev and namespace" "$out" "its netdev $vf2_net is in network namespace c1 (a container has it)"
check_eq "refused: VF 2 still on igbvf" "$(drv "$vf2")" igbvf
check "after all refusals: still in c1" quiet $IP -n c1 link show "$vf2_net"
# Give them back: nothing in use any more.
$IP -n c1 link set "$vf2_net" netns 1
nsenter -t "$holder" -n $IP link set "$vf3_net" netns 1
kill "$holder"
$IP netns del c1
check "VF 2's netdev is back here" test -d "$D/$vf2/net/$vf2_net"

# --- a PF with VFs moved off its driver: a count change to 0 ------------------------------
vfs_before=$(links "$pf")
check_json "bind $pf_net vfio-pci with 4 VFs none of which is in use" 0 "$ctl" -j bind "$pf_net" vfio-pci
j=$out
printf '%s\n' "$j" | save bind-pf-destroys.json
check_eq "bind -j: the destroyed VFs are the ones sysfs had" "$(jq -r '.destroyed_vfs | join(" ")' <<<"$j")" "$vfs_before"
check_eq "sysfs: PF on vfio-pci, 0 VFs, no links" "$(drv "$pf"):$(numvfs "$pf"):$(links "$pf")" "vfio-pci:0:"
check_status "bind $pf kernel" 0 "$ctl" bind "$pf" kernel
check_eq "PF back on igb" "$(drv "$pf")" igb
check_status "numvfs $pf 3" 0 "$ctl" numvfs "$pf" 3
check "the 3 VFs are bound" wait_drivers "$pf" bound
check_status "bind $pf vfio-pci: text says what it destroys" 0 "$ctl" bind "$pf" vfio-pci
keep "bind $pf vfio-pci" bind-pf-destroys.txt
check_contains "text: igb -> vfio-pci" "$out" "igb -> vfio-pci"
check_contains "text: destroys 3 VFs" "$out" "destroys 3 VFs: VF 0 "
check_eq "sysfs: 0 VFs afterwards" "$(numvfs "$pf")" 0
check_status "bind $pf kernel" 0 "$ctl" bind "$pf" kernel
check_status "numvfs $pf 2" 0 "$ctl" numvfs "$pf" 2
check "the 2 VFs are bound" wait_drivers "$pf" bound
check_status "bind $pf#0 vfio-pci" 0 "$ctl" bind "$pf#0" vfio-pci
check_status "bind $pf vfio-pci refused while VF 0 is on vfio-pci" 1 "$ctl" bind "$pf" vfio-pci
check_contains "refusal: the count and the vfio-pci VF" "$out" \
	"unbinding $pf from igb destroys its 2 VFs, and VF 0 ($(vf_n "$pf" 0)) is bound to vfio-pci"
check_eq "refused: PF on igb, 2 VFs" "$(drv "$pf"):$(numvfs "$pf")" "igb:2"
check_status "numvfs $pf 0 --force (cleanup)" 0 "$ctl" numvfs "$pf" 0 --force

# --- a PF whose netdev carries the host's traffic --------------------------------------
$IP link set "$pf1_net" up
$IP addr add 192.0.2.1/24 dev "$pf1_net"
check_status "bind a PF that is up with an address: refused" 1 "$ctl" bind "$pf1_net" vfio-pci
keep "bind $pf1_net vfio-pci" bind-pf-refused.txt
check_contains "refusal names the netdev and what is on it" "$out" "its netdev $pf1_net is up with 1 IPv4 address"
check_contains "refusal counts its routes" "$out" "1 route"
check_status "the same for any target driver" 1 "$ctl" bind "$pf1" e1000e
check_contains "... names the netdev" "$out" "its netdev $pf1_net is up"
check_eq "refused: PF still on igb" "$(drv "$pf1")" igb
check_eq "refused: no driver_override" "$(override "$pf1")" "(null)"
check "refused: the address is still there" test -n "$($IP -4 -o addr show dev "$pf1_net")"
# Up with only the link-local address the kernel gives every link: not in use.
$IP addr flush dev "$pf1_net" scope global
for _ in $(seq 50); do # link-local comes with the carrier
	[ -n "$($IP -6 -o addr show dev "$pf1_net" scope link)" ] && break
	sleep 0.1
done
check "PF is up with a link-local address" test -n "$($IP -6 -o addr show dev "$pf1_net" scope link)"
check_json "bind the PF with only link-local: allowed" 0 "$ctl" -j bind "$pf1_net" vfio-pci
check_eq "PF on vfio-pci" "$(drv "$pf1")" vfio-pci
check "PF: /dev/vfio/$(group "$pf1")" test -c "/dev/vfio/$(group "$pf1")"
check_json "PF back to kernel" 0 "$ctl" -j bind "$pf1" kernel
check_eq "PF back on igb" "$(jq -r '.driver + " " + (.restored | tostring)' <<<"$out"):$(drv "$pf1")" "igb true:igb"
check_eq "PF: totalvfs again 7 once igb is back" "$(<"$D/$pf1/sriov_totalvfs")" 7

# --- nothing to do on a non-SR-IOV NIC ---------------------------------------------------
check_status "bind e1000e kernel" 0 "$ctl" bind "$e1000e" kernel
check_contains "e1000e: already on its kernel driver" "$out" "already bound to its kernel driver e1000e"

dmesg | save dmesg.txt
schema_done
tap_done
