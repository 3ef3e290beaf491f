#!/bin/bash
# Runs inside the testbed VM (scripts/bench.sh): brings both igb PFs to 7 VFs
# and times `sriovctl -j list` against `ip -j -d link show` (the by-hand way
# to see VF settings), each N times, in the same boot.
#   vm-list-vs-ip.sh BUILD_DIR [N]
set -uo pipefail
ctl=$1/src/sriovctl
n=${2:-20}
for pf in /sys/bus/pci/devices/*; do
	[ "$(basename "$(readlink "$pf/driver" 2>/dev/null)")" = igb ] || continue
	echo 7 >"$pf/sriov_numvfs"
done
sleep 1
# Wall time of the whole command, process start included (as a user sees it).
time_runs() { # LABEL COMMAND...: prints median and min of n runs, in ms
	local label=$1 i s e
	shift
	local -a t=()
	for ((i = 0; i < n; i++)); do
		s=$(date +%s%N)
		"$@" >/dev/null 2>&1
		e=$(date +%s%N)
		t+=($(((e - s) / 1000)))
	done
	local sorted=($(printf '%s\n' "${t[@]}" | sort -n))
	awk -v l="$label" -v med="${sorted[$((n / 2))]}" -v min="${sorted[0]}" \
		'BEGIN { printf "%-40s %10.1f %10.1f\n", l, med / 1000, min / 1000 }'
}
# What the real kernel prints in a PCI device's uevent (the fake trees copy it).
for pf in /sys/bus/pci/devices/*; do
	[ -e "$pf/sriov_totalvfs" ] || continue
	echo "uevent of $(basename "$pf"):"
	sed 's/^/    /' "$pf/uevent"
	break
done
vfs=$("$ctl" -j list | jq '[.pfs[].vfs[]] | length')
echo "testbed: $vfs VFs (2 igb PFs x 7, under TCG emulation; absolute times are slow, compare the ratio)"
printf '%-40s %10s %10s\n' "command ($n runs each)" "median ms" "min ms"
time_runs "sriovctl -j list (sysfs + rtnetlink)" "$ctl" -j list
time_runs "ip -j -d link show (rtnetlink only)" /sbin/ip -j -d link show
time_runs "sriovctl list (text)" "$ctl" list
# The names sriovctl prints (systemd's hwdb) against lspci's (libpci, pci.ids),
# for every PF and VF.
same=0 differ=0 # (no process substitution: the guest has no /dev/fd)
while IFS=$'\t' read -r addr vendor device; do
	want=$(lspci -vmm -s "$addr" | awk -F'\t' '$1 == "Vendor:" {v = $2} $1 == "Device:" {d = $2} END {print v "|" d}')
	if [ "$vendor|$device" = "$want" ]; then
		same=$((same + 1))
	else
		differ=$((differ + 1))
		echo "names differ: $addr sriovctl '$vendor|$device' lspci '$want'"
	fi
done <<<"$("$ctl" -j list | jq -r '.pfs[] | (., .vfs[]) | [.address, .vendor, .device] | @tsv')"
echo "device names: $same the same as lspci's, $differ different"
