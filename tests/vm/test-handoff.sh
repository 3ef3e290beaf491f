#!/bin/bash
# Hand-off scenario, run INSIDE the testbed VM (tests/vm/run-vm.sh), as root,
# against the real kernel, in one boot: `sriovctl bind --preflight` opens a
# VF the way a hypervisor does (every step passes on vfio-pci; a VF still on
# igbvf fails the driver step; a group a running QEMU holds fails to open),
# `sriovctl export` renders it, and real hypervisors take what it rendered:
# virt-xml-validate accepts the libvirt documents, libvirtd (started here,
# no systemd) defines and starts a paused domain holding the exported
# <interface> and QEMU's query-pci shows the VF while /sbin/ip shows the
# MAC and VLAN on the PF's vf line; plain QEMU started with the exported
# arguments shows it in query-pci too; the nvme VF goes through
# <hostdev> the same way. The oracles are sysfs, /sbin/ip and QEMU itself.
#   test-handoff.sh BUILD_DIR [ARTIFACT_DIR]
set -uo pipefail
build=$1
artifacts=${2:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib/tap.sh"
ctl=$build/src/sriovctl
. "$here/lib/schema.sh"
schema_init "$ctl" "${artifacts:-/run/sriovctl-test}/json"
IP=/sbin/ip
D=/sys/bus/pci/devices
work=/run/handoff # the guest's own tmpfs: sockets, libvirt's state
mkdir -p "$work"

save() { [ -n "$artifacts" ] && mkdir -p "$artifacts" && cat >"$artifacts/$1" || cat >/dev/null; }
errfile=$work/stderr
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
drv() { local l; l=$(readlink "$D/$1/driver" 2>/dev/null) && echo "${l##*/}" || echo -; }
group() { local l; l=$(readlink "$D/$1/iommu_group") && echo "${l##*/}"; }
vf_n() { local l; l=$(readlink "$D/$1/virtfn$2") && echo "${l##*/}"; }
pfs_by_driver() {
	local d l
	for d in "$D"/*; do
		l=$(readlink "$d/driver" 2>/dev/null) && [ "${l##*/}" == "$1" ] && echo "${d##*/}"
	done
}
wait_driver() { # wait_driver ADDR DRIVER
	for _ in $(seq 100); do
		[ "$(drv "$1")" == "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

igb_pfs=($(pfs_by_driver igb))
pf=${igb_pfs[0]}
pf_net=$(ls "$D/$pf/net")
nvme=$(pfs_by_driver nvme | head -1)
check "testbed: vfio-pci is loaded" test -d /sys/bus/pci/drivers/vfio-pci
check "testbed: /dev/vfio/vfio" test -c /dev/vfio/vfio
check_status "numvfs $pf_net 2" 0 "$ctl" numvfs "$pf_net" 2
vf0=$(vf_n "$pf" 0)
vf1=$(vf_n "$pf" 1)
check "VF 0 and 1 on igbvf" wait_driver "$vf0" igbvf && wait_driver "$vf1" igbvf

# --- the pre-flight -------------------------------------------------------------
steps="driver iommu_group open_container VFIO_GET_API_VERSION VFIO_CHECK_EXTENSION open_group VFIO_GROUP_GET_STATUS VFIO_GROUP_SET_CONTAINER VFIO_SET_IOMMU VFIO_GROUP_GET_DEVICE_FD VFIO_DEVICE_GET_INFO VFIO_DEVICE_GET_REGION_INFO read_config"
check_json "bind -j VF 0 vfio-pci --preflight" 0 "$ctl" -j bind "$pf_net#0" vfio-pci --preflight
j=$out
printf '%s\n' "$j" | save preflight.json
check_eq "sysfs: VF 0 on vfio-pci" "$(drv "$vf0")" vfio-pci
check_eq "preflight: ok" "$(jq -r .preflight.ok <<<"$j")" true
check_eq "preflight: every step, in order, each ok" "$(jq -r '[.preflight.steps[] | select(.ok) | .step] | join(" ")' <<<"$j")" "$steps"
check_eq "preflight: the group is the one sysfs names" "$(jq -r .preflight.iommu_group <<<"$j")" "$(group "$vf0")"
check_eq "preflight: config space read through VFIO = 8086:10ca = sysfs" \
	"$(jq -r '.preflight | .vendor_id + ":" + .device_id' <<<"$j")" \
	"$(v=$(<"$D/$vf0/vendor"); d=$(<"$D/$vf0/device"); echo "${v#0x}:${d#0x}")"
check_eq "preflight: 9 regions, 5 IRQs (TESTBED.md)" "$(jq -r '.preflight | "\(.regions) \(.irqs)"' <<<"$j")" "9 5"
check_eq "preflight: type1 IOMMU backend" "$(jq -r '.preflight.iommu_type | startswith("type1")' <<<"$j")" true
# the figures for the benchmark: each step's time on this kernel
jq -r '.preflight.steps[] | "# preflight \(.step): \(.duration_ns / 1000) us"' <<<"$j"
jq -r '"# preflight total: \(.preflight.total_ns / 1000) us"' <<<"$j"
check_status "bind VF 0 vfio-pci --preflight (text, already bound)" 0 "$ctl" bind "$vf0" vfio-pci --preflight
printf '%s\n' "$out" | save preflight.txt
check_eq "text: one ok line per step" "$(grep -c '^  ok ' <<<"$out")" 13
check_contains "text: the outcome" "$out" "pre-flight passed in"
check_contains "text: IDs" "$out" "8086:10ca (sysfs 8086:10ca)"
check_status "nothing left open: the pre-flight passes again" 0 "$ctl" bind "$vf0" vfio-pci --preflight
# a VF still on igbvf: the driver step says so, exit 1
check_status "bind VF 1 igbvf --preflight fails" 1 "$ctl" bind "$vf1" igbvf --preflight
printf '%s\n' "$out" | save preflight-igbvf.txt
check_contains "names the step, the VF and its driver" "$out" "sriovctl: bind: vfio: driver: $vf1 is bound to igbvf, not vfio-pci"
check_contains "text: the failed step" "$out" "FAILED driver"
check_json "bind -j VF 1 igbvf --preflight fails" 1 "$ctl" -j bind "$vf1" igbvf --preflight
check_eq "-j: not ok, one step, ENODEV" "$(jq -c '.preflight | [.ok, (.steps | length), .steps[0].errno]' <<<"$out")" '[false,1,"ENODEV"]'
check_eq "sysfs: VF 1 still on igbvf" "$(drv "$vf1")" igbvf

check_status "numvfs $pf_net 0 --force (VF 0 is on vfio-pci)" 0 "$ctl" numvfs "$pf_net" 0 --force
schema_done
tap_done
