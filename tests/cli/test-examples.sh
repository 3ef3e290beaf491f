#!/bin/bash
# Every config in examples/ is valid: `sriovctl plan --config FILE` on a fake
# tree whose two PFs are given the IDs and driver of the NIC the example is
# written for exits 0, with no error, and plans the VF counts it names.
#   test-examples.sh SRIOVCTL MKFAKESYSFS EXAMPLES_DIR
set -uo pipefail
ctl=$1
mk=$2
examples=$3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../vm/lib/tap.sh"
tmp=$(mktemp -d "${TMPDIR:-/dev/shm}/sriovd-examples.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export SRIOV_STATE_DIR=$tmp/state

# FILE: VENDOR:DEVICE DRIVER TOTALVFS of PF 0 | of PF 1 | the plan's count lines
declare -A nic=(
	[sriovd.conf]="8086:10c9 igb 7|8086:10c9 igb 7|numvfs 3 -> 4;numvfs 3 -> 7"
	[igb.conf]="8086:10c9 igb 7|8086:10c9 igb 7|numvfs 3 -> 4;numvfs 3 -> 4"
	[ixgbe.conf]="8086:10fb ixgbe 63|8086:10fb ixgbe 63|numvfs 3 -> 8;numvfs 3 -> 8"
	[i40e-ice.conf]="8086:1572 i40e 64|8086:159b ice 256|numvfs 3 -> 16;numvfs 3 -> 8"
	[mlx5.conf]="15b3:1017 mlx5_core 8|15b3:1017 mlx5_core 8|numvfs 3 -> 8;numvfs 3 -> 8"
)
retarget() { # TREE PCI VENDOR:DEVICE DRIVER TOTALVFS
	local d=$1/bus/pci/devices/$2
	echo "0x${3%%:*}" >"$d/vendor"
	echo "0x${3##*:}" >"$d/device"
	echo "$5" >"$d/sriov_totalvfs"
	mkdir -p "$1/bus/pci/drivers/$4"
	ln -sfn "../../../../bus/pci/drivers/$4" "$d/driver"
	rm -f "$d/uevent" # the IDs and driver above, not the generated ones
}

n=0
for f in "$examples"/*.conf; do
	name=${f##*/}
	n=$((n + 1))
	if [ -z "${nic[$name]:-}" ]; then
		tap_not_ok "$name: the test knows which NIC it is for"
		continue
	fi
	IFS='|' read -r pf0 pf1 counts <<<"${nic[$name]}"
	tb=$tmp/tb-$n
	"$mk" "$tb" testbed >/dev/null
	mkdir -p "$tb/bus/pci/drivers/vfio-pci"
	# shellcheck disable=SC2086
	retarget "$tb" 0000:01:00.0 $pf0
	# shellcheck disable=SC2086
	retarget "$tb" 0000:02:00.0 $pf1
	check_status "$name: sriovctl plan --config exits 0" 0 "$ctl" plan --sysfs-root "$tb" --config "$f"
	plan=$(tr -s ' ' <<<"$out")
	check "$name: no error" bash -c '! grep -qi "error\|sriovctl: plan" <<<"$1"' _ "$plan"
	IFS=';' read -r -a want <<<"$counts"
	check_contains "$name: PF 0 ${want[0]}" "$plan" "eth0 (0000:01:00.0) ${want[0]}"
	check_contains "$name: PF 1 ${want[1]}" "$plan" "eth1 (0000:02:00.0) ${want[1]}"
	check "$name: plan -j is a valid plan document" bash -c \
		'"$1" -j plan --sysfs-root "$2" --config "$3" 2>/dev/null | "$4" plan' _ "$ctl" "$tb" "$f" "$here/../lib/validate-json"
done
check "5 examples or more" test "$n" -ge 5
tap_done
