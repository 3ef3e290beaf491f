#!/bin/bash
# Runs inside the testbed VM (scripts/bench.sh): brings both igb PFs to 7 VFs
# and times `sriovctl -j list` against `ip -j -d link show` (the by-hand way
# to see VF settings), each N times, in the same boot: in-process, and
# through a sriovd that serves on its API socket.
#   vm-list-vs-ip.sh BUILD_DIR [N]
set -uo pipefail
ctl=$1/src/sriovctl
n=${2:-20}
for pf in /sys/bus/pci/devices/*; do
	[ "$(basename "$(readlink "$pf/driver" 2>/dev/null)")" = igb ] || continue
	echo 7 >"$pf/sriov_numvfs"
	igb_pf=$pf
done
sleep 1
# The testbed's root (and /var/lib/sriovd with it) is this machine's disk
# through 9p, where SQLite's shared memory and locks cost what no host's disk
# does: the state folder is the guest's own (tmpfs), with a ledger that holds
# one claim, as a host that hands out VFs has.
state=/run/sriovd-bench
mkdir -p "$state"
cat >"$state/bench.conf" <<EOF
version: 1
EOF
claimed=$(basename "$(readlink "$igb_pf/virtfn6")")
"$ctl" --state-dir "$state" claim --config "$state/bench.conf" --consumer 6b9a3c1e-0000-4000-8000-000000000001 \
	--device "$claimed" >/dev/null || echo "vm-list-vs-ip: the claim of $claimed failed" >&2
# What the real kernel prints in a PCI device's uevent (the fake trees copy it).
for pf in /sys/bus/pci/devices/*; do
	[ -e "$pf/sriov_totalvfs" ] || continue
	echo "uevent of $(basename "$pf"):"
	sed 's/^/    /' "$pf/uevent"
	break
done
vfs=$("$ctl" -j list | jq '[.pfs[].vfs[]] | length')
echo "ledger: $("$ctl" --state-dir "$state" -j list | jq -r '[.pfs[].vfs[] | select(.claimed_by != null)] | length') VF claimed (state folder $state)"
echo "testbed: $vfs VFs (2 igb PFs x 7, under TCG emulation; absolute times are slow, compare the ratio)"
# On a host where sriovd runs, sriovctl asks it (its model, kept by events):
# the same commands, through the API socket.
sock=$state/api.sock
"$(dirname "$ctl")/sriovd" --config "$state/bench.conf" --config-dir "" --state-dir "$state" --socket "$sock" \
	--status-file "$state/status.json" --resync-s 0 >"$state/sriovd.log" 2>&1 &
dpid=$!
for ((i = 0; i < 300; i++)); do
	"$ctl" --socket "$sock" -j list >/dev/null 2>&1 && break
	sleep 0.1
done
labels=("sriovctl -j list (sysfs + rtnetlink)" "ip -j -d link show (rtnetlink only)" "sriovctl list (text)")
cmds=("$ctl --state-dir $state -j list" "/sbin/ip -j -d link show" "$ctl --state-dir $state list")
if "$ctl" --socket "$sock" -j list | jq -e '.pfs | length > 0' >/dev/null; then
	labels+=("sriovctl -j list (through sriovd)" "sriovctl list (through sriovd)")
	cmds+=("$ctl --socket $sock -j list" "$ctl --socket $sock list")
else
	echo "vm-list-vs-ip: sriovd did not serve on $sock" >&2
fi
# Wall time of the whole command, process start included (as a user sees it),
# read from bash's clock (no process of its own around each run); each round
# runs every command once, so that all of them see the same moments of the
# VM.
declare -a times
for ((i = 0; i < n; i++)); do
	for k in "${!cmds[@]}"; do
		s=${EPOCHREALTIME/./}
		${cmds[$k]} >/dev/null 2>&1
		e=${EPOCHREALTIME/./}
		times[k]+="$((e - s)) "
	done
done
printf '%-40s %10s %10s\n' "command ($n rounds, each once a round)" "median ms" "min ms"
for k in "${!cmds[@]}"; do
	# (no process substitution: the guest has no /dev/fd)
	# shellcheck disable=SC2086,SC2207
	sorted=($(printf '%s\n' ${times[$k]} | sort -n))
	awk -v l="${labels[$k]}" -v med="${sorted[$((n / 2))]}" -v min="${sorted[0]}" \
		'BEGIN { printf "%-40s %10.1f %10.1f\n", l, med / 1000, min / 1000 }'
done
kill "$dpid" 2>/dev/null
wait "$dpid" 2>/dev/null
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
