#!/usr/bin/env bash
# Smoke test of the testbed VM: proves the guest sees the emulated SR-IOV
# devices through the real drivers. Runs inside the guest:
#   tests/vm/run-vm.sh --out OUT_DIR tests/vm/guest-smoke.sh
#   tests/vm/run-vm.sh --no-iommu --out OUT_DIR tests/vm/guest-smoke.sh noiommu
# Argument: "iommu" (default: IOMMU groups must exist) or "noiommu" (there
# must be none). Exits 1 when any expectation fails.
# "test && ok ... || fail ...": ok never fails.
# shellcheck disable=SC2015
set -euo pipefail

mode=${1:-iommu}
case $mode in
iommu | noiommu) ;;
*) echo "usage: $0 [iommu|noiommu]" >&2; exit 2 ;;
esac
[ -e /sys/bus/pci/devices ] || { echo "FAIL: no /sys/bus/pci (not in the testbed VM?)"; exit 1; }

# Under TCG every program started costs 30-100 ms: builtins where possible.
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
# last component of what a sysfs link points to, empty when there is no link
link_name() { if [ -L "$1" ]; then (cd -P "$1" 2>/dev/null && echo "${PWD##*/}"); fi; }
driver_of() { link_name "$1/driver"; }
group_of() { local g; g=$(link_name "$1/iommu_group"); echo "${g:--}"; }
# netdev names of a device directory, comma separated
nets_of() {
	local n=("$1"/net/*)
	[ -e "${n[0]}" ] || return 0
	n=("${n[@]##*/}")
	(IFS=,; echo "${n[*]}")
}

echo "kernel: $(uname -r)"
echo "iommu mode: $mode (SRIOV_VM_IOMMU=${SRIOV_VM_IOMMU:-unset})"
echo "ip: $(/sbin/ip -V 2>&1)"
echo
echo "PCI devices:"
for d in /sys/bus/pci/devices/*; do
	line="${d##*/} $(<"$d/vendor"):$(<"$d/device") driver=$(driver_of "$d")"
	line+=" iommu_group=$(group_of "$d")"
	[ -f "$d/sriov_totalvfs" ] && line+=" sriov_totalvfs=$(<"$d/sriov_totalvfs")"
	[ -d "$d/net" ] && line+=" net=$(nets_of "$d")"
	echo "  $line"
done
echo

# --- the two igb PFs: 3 VFs each, bound to igbvf -----------------------------
pfs=()
for d in /sys/bus/pci/devices/*; do
	[ "$(driver_of "$d")" = igb ] && pfs+=("$d")
done
[ "${#pfs[@]}" -eq 2 ] && ok "2 igb PFs" || fail "expected 2 igb PFs, found ${#pfs[@]}"

for d in "${pfs[@]}"; do
	bdf=${d##*/}
	nd=$(nets_of "$d")
	if [ -z "$nd" ]; then
		fail "igb PF $bdf has no netdev"
		continue
	fi
	echo "igb PF $bdf = $nd, sriov_totalvfs=$(<"$d/sriov_totalvfs")"
	if ! echo 3 >"/sys/class/net/$nd/device/sriov_numvfs"; then
		fail "$nd: cannot write 3 to sriov_numvfs"
		continue
	fi
	[ "$(<"$d/sriov_numvfs")" = 3 ] && ok "$nd: sriov_numvfs=3" || fail "$nd: sriov_numvfs reads $(<"$d/sriov_numvfs")"
	for i in 0 1 2; do
		vf=$d/virtfn$i
		if [ ! -L "$vf" ]; then
			fail "$nd: no virtfn$i"
			continue
		fi
		# igbvf probes during the write; allow for a late probe anyway.
		for ((t = 0; t < 50; t++)); do
			[ -L "$vf/driver" ] && break
			sleep 0.1
		done
		vbdf=$(link_name "$vf")
		drv=$(driver_of "$vf")
		desc="$nd virtfn$i = $vbdf $(<"$vf/vendor"):$(<"$vf/device") iommu_group=$(group_of "$vf") net=$(nets_of "$vf")"
		[ "$drv" = igbvf ] && ok "$desc driver=igbvf" || fail "$desc driver='$drv', expected igbvf"
		[ "$(link_name "$vf/physfn")" = "$bdf" ] || fail "$vbdf: physfn does not point to $bdf"
	done
	[ ! -e "$d/virtfn3" ] || fail "$nd: virtfn3 exists after asking for 3 VFs"
	link=$(/sbin/ip link show dev "$nd") || fail "$nd: ip link show failed"
	echo "$link"
	nvf=0
	while IFS= read -r l; do
		[[ $l =~ ^\ *vf\ [0-9] ]] && nvf=$((nvf + 1))
	done <<<"$link"
	[ "$nvf" = 3 ] && ok "$nd: ip link lists 3 VFs" || fail "$nd: ip link lists $nvf VFs, expected 3"
done
echo

# --- the other devices of the topology ---------------------------------------
n_e1000e=0
n_nvme=0
for d in /sys/bus/pci/devices/*; do
	case $(driver_of "$d") in
	e1000e)
		n_e1000e=$((n_e1000e + 1))
		[ ! -e "$d/sriov_totalvfs" ] && ok "e1000e ${d##*/} has no sriov_totalvfs" ||
			fail "e1000e ${d##*/} has sriov_totalvfs"
		;;
	nvme)
		n_nvme=$((n_nvme + 1))
		tv=none
		[ -f "$d/sriov_totalvfs" ] && tv=$(<"$d/sriov_totalvfs")
		[ "$tv" = 4 ] && ok "nvme PF ${d##*/} sriov_totalvfs=4" ||
			fail "nvme PF ${d##*/} sriov_totalvfs=$tv, expected 4"
		;;
	esac
done
[ "$n_e1000e" = 1 ] || fail "expected 1 e1000e, found $n_e1000e"
[ "$n_nvme" = 1 ] || fail "expected 1 nvme PF, found $n_nvme"

# --- IOMMU groups --------------------------------------------------------------
groups=(/sys/kernel/iommu_groups/*)
ngroups=0
[ -e "${groups[0]}" ] && ngroups=${#groups[@]}
if [ "$mode" = iommu ]; then
	[ "$ngroups" -gt 0 ] && ok "$ngroups IOMMU groups" || fail "no IOMMU groups in /sys/kernel/iommu_groups"
	[ -c /dev/vfio/vfio ] && ok "/dev/vfio/vfio exists" || fail "no /dev/vfio/vfio"
else
	[ "$ngroups" -eq 0 ] && ok "no IOMMU groups (as expected without IOMMU)" ||
		fail "$ngroups IOMMU groups although the IOMMU is off"
fi

echo
if [ "$failures" -gt 0 ]; then
	echo "smoke: $failures check(s) failed"
	exit 1
fi
echo "smoke: all checks passed"
