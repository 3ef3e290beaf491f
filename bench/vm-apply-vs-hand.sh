#!/bin/bash
# Runs inside the testbed VM (scripts/bench.sh): the same three states of
# both igb PFs reached by hand and with `sriovctl apply`, ROUNDS times each,
# medians side by side:
#   1. 0 -> 7 VFs on each PF (by hand: echo to sriov_numvfs, then a loop
#      until every VF is bound to its driver);
#   2. all 14 VFs to vfio-pci (by hand: driver_override, unbind,
#      drivers_probe per VF, then a loop until every VF is bound to it);
#   3. all 14 VFs back to igbvf (the same).
# apply waits for the same (and holds its settle window where the driver
# may still let go: not igbvf, not vfio-pci); so does `sriovd --once`, which
# applies both PFs in one apply, and with SRIOVD_BEFORE another sriovd
# (an older build) beside it. Every state is read back from sysfs after each
# step, every way.
#   vm-apply-vs-hand.sh BUILD_DIR [ROUNDS [SRIOVD_BEFORE]]
set -uo pipefail
ctl=$1/src/sriovctl
daemon=$1/src/sriovd
before=${3:-}
rounds=${2:-3}
work=$(mktemp -d /tmp/sriovd-bench-apply.XXXXXX)
export SRIOV_STATE_DIR=$work/state
pfs=()
for d in /sys/bus/pci/devices/*; do
	[ "$(basename "$(readlink "$d/driver" 2>/dev/null)")" = igb ] && pfs+=("$(basename "$d")")
done
[ ${#pfs[@]} = 2 ] || { echo "want 2 igb PFs, found ${#pfs[@]}" >&2; exit 1; }
now_us() { echo $(($(date +%s%N) / 1000)); }
vfs() { # every VF address of both PFs
	local pf l
	for pf in "${pfs[@]}"; do
		for l in "/sys/bus/pci/devices/$pf"/virtfn*; do [ -e "$l" ] && basename "$(readlink "$l")"; done
	done
}
bound_to() { # DRIVER: how many VFs of both PFs are bound to it (test builtins: no fork per VF)
	local n=0 pf i
	for pf in "${pfs[@]}"; do
		for i in 0 1 2 3 4 5 6; do
			[ "/sys/bus/pci/devices/$pf/virtfn$i/driver" -ef "/sys/bus/pci/drivers/$1" ] && n=$((n + 1))
		done
	done
	echo $n
}
all_bound() { # DRIVER: whether all 7 VFs of both PFs are bound to it (no fork)
	local pf i
	for pf in "${pfs[@]}"; do
		for i in 0 1 2 3 4 5 6; do
			[ "/sys/bus/pci/devices/$pf/virtfn$i/driver" -ef "/sys/bus/pci/drivers/$1" ] || return 1
		done
	done
}
wait_bound() { # DRIVER: until all 14 VFs are bound to it (at most 60 s)
	local _
	for _ in $(seq 6000); do
		all_bound "$1" && return 0
		sleep 0.01
	done
	echo "timeout: $(bound_to "$1") of 14 VFs on $1" >&2
	return 1
}
reset() {
	local pf
	for pf in "${pfs[@]}"; do echo 0 >/sys/bus/pci/devices/$pf/sriov_numvfs; done
	rm -rf "$SRIOV_STATE_DIR"
}
check() { # STEP DRIVER: the state after a step, read back
	local n0 n1
	n0=$(cat /sys/bus/pci/devices/${pfs[0]}/sriov_numvfs) n1=$(cat /sys/bus/pci/devices/${pfs[1]}/sriov_numvfs)
	[ "$n0 $n1 $(bound_to "$2")" = "7 7 14" ] || echo "$1: state $n0 $n1 VFs, $(bound_to "$2") on $2" >&2
}
conf() { # FILE DRIVER-OR-EMPTY: both PFs at 7 VFs, every VF on DRIVER
	local vfs=""
	[ -n "$2" ] && vfs="
    vfs:
      - index: all
        driver: $2"
	printf 'version: 1\npfs:\n  - match:\n      pci: %s\n    numvfs: 7%s\n  - match:\n      pci: %s\n    numvfs: 7%s\n' \
		"${pfs[0]}" "$vfs" "${pfs[1]}" "$vfs" >"$1"
}
conf "$work/count.conf" ""
conf "$work/vfio.conf" vfio-pci
conf "$work/igbvf.conf" igbvf
rebind_all() { # DRIVER: driver_override, unbind, drivers_probe, each VF
	local vf
	for vf in $(vfs); do
		echo "$1" >/sys/bus/pci/devices/$vf/driver_override
		[ -e /sys/bus/pci/devices/$vf/driver ] && echo "$vf" >/sys/bus/pci/devices/$vf/driver/unbind
		echo "$vf" >/sys/bus/pci/drivers_probe
	done
}
apply() { # FILE STEP
	"$ctl" apply "$1" >"$work/apply.out" 2>&1 || { echo "$2: sriovctl apply failed:" >&2; cat "$work/apply.out" >&2; }
}
once() { # SRIOVD FILE STEP
	"$1" --once --config "$2" --config-dir "" --status-file "$work/status.json" >"$work/sriovd.out" 2>&1 ||
		{ echo "$3: $1 --once failed:" >&2; cat "$work/sriovd.out" >&2; }
}
# The three steps with sriovd --once (SRIOVD), their times appended to the
# arrays named by PREFIX1..3.
daemon_rounds() { # SRIOVD PREFIX ROUND
	local t0 t1 t2 t3
	reset
	t0=$(now_us)
	once "$1" "$work/count.conf" counts
	t1=$(now_us)
	check "$1, round $3, counts" igbvf
	once "$1" "$work/vfio.conf" vfio-pci
	t2=$(now_us)
	check "$1, round $3, vfio-pci" vfio-pci
	once "$1" "$work/igbvf.conf" igbvf
	t3=$(now_us)
	check "$1, round $3, igbvf" igbvf
	eval "$2""1+=($((t1 - t0))) $2""2+=($((t2 - t1))) $2""3+=($((t3 - t2)))"
}

declare -a h1 h2 h3 c1 c2 c3 d1 d2 d3 b1 b2 b3
for r in $(seq 1 "$rounds"); do
	reset
	t0=$(now_us)
	for pf in "${pfs[@]}"; do echo 7 >/sys/bus/pci/devices/$pf/sriov_numvfs; done
	wait_bound igbvf
	t1=$(now_us)
	check "by hand, round $r, counts" igbvf
	rebind_all vfio-pci
	wait_bound vfio-pci
	t2=$(now_us)
	check "by hand, round $r, vfio-pci" vfio-pci
	rebind_all igbvf
	wait_bound igbvf
	t3=$(now_us)
	check "by hand, round $r, igbvf" igbvf
	h1+=($((t1 - t0))) h2+=($((t2 - t1))) h3+=($((t3 - t2)))

	reset
	t0=$(now_us)
	apply "$work/count.conf" counts
	t1=$(now_us)
	check "sriovctl, round $r, counts" igbvf
	apply "$work/vfio.conf" vfio-pci
	t2=$(now_us)
	check "sriovctl, round $r, vfio-pci" vfio-pci
	apply "$work/igbvf.conf" igbvf
	t3=$(now_us)
	check "sriovctl, round $r, igbvf" igbvf
	c1+=($((t1 - t0))) c2+=($((t2 - t1))) c3+=($((t3 - t2)))

	daemon_rounds "$daemon" d "$r"
	[ -n "$before" ] && daemon_rounds "$before" b "$r"
done
reset
rm -rf "$work"
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "2 igb PFs: 0 -> 7 VFs each, all 14 VFs to vfio-pci, back to igbvf; by hand vs sriovctl apply vs sriovd --once${before:+ (and $before)}; median of $rounds rounds"
echo "(TCG emulation: absolute times are slow, the ratio is what carries over)"
awk -v h1="$(median "${h1[@]}")" -v h2="$(median "${h2[@]}")" -v h3="$(median "${h3[@]}")" \
	-v c1="$(median "${c1[@]}")" -v c2="$(median "${c2[@]}")" -v c3="$(median "${c3[@]}")" \
	-v d1="$(median "${d1[@]}")" -v d2="$(median "${d2[@]}")" -v d3="$(median "${d3[@]}")" \
	-v b1="$(median "${b1[@]:-0}")" -v b2="$(median "${b2[@]:-0}")" -v b3="$(median "${b3[@]:-0}")" -v before="$before" 'BEGIN {
	printf "%-30s %14s %14s %10s %16s", "step", "by hand (ms)", "apply (ms)", "hand/apply", "sriovd --once"
	if (before != "") printf " %16s", "sriovd before"
	printf "\n"
	row("0 -> 7 VFs, all bound", h1, c1, d1, b1)
	row("14 VFs to vfio-pci", h2, c2, d2, b2)
	row("14 VFs back to igbvf", h3, c3, d3, b3)
	row("total", h1 + h2 + h3, c1 + c2 + c3, d1 + d2 + d3, b1 + b2 + b3)
}
function row(label, h, c, d, b) {
	printf "%-30s %14.1f %14.1f %9.2fx %16.1f", label, h / 1000, c / 1000, h / c, d / 1000
	if (before != "") printf " %16.1f", b / 1000
	printf "\n"
}'
