#!/bin/bash
# Runs inside the testbed VM (scripts/bench.sh): brings both igb PFs to 7 VFs
# and gives every VF a MAC, a VLAN, a max rate and spoof checking, once by
# hand (echo to sysfs, one `ip link set` per VF and setting) and once with
# sriovctl (numvfs, then one `sriovctl --batch` of `vf set` lines), ROUNDS
# times each, and prints the medians side by side.
#   vm-vf-config-vs-ip.sh BUILD_DIR [ROUNDS]
set -uo pipefail
ctl=$1/src/sriovctl
rounds=${2:-3}
IP=/sbin/ip
pfs=()
for d in /sys/bus/pci/devices/*; do
	[ "$(basename "$(readlink "$d/driver" 2>/dev/null)")" = igb ] && pfs+=("$(ls "$d/net" | head -1)")
done
for net in "${pfs[@]}"; do $IP link set "$net" up; done
for _ in $(seq 100); do # rates need the PF link up
	up=1
	for net in "${pfs[@]}"; do [ "$(cat /sys/class/net/$net/carrier)" = 1 ] || up=0; done
	[ $up = 1 ] && break
	sleep 0.1
done
now_us() { echo $(($(date +%s%N) / 1000)); }
mac() { printf '02:00:00:%02x:%02x:%02x' "$1" "$2" "$3"; } # PF, VF, round
reset() { for net in "${pfs[@]}"; do echo 0 >/sys/class/net/$net/device/sriov_numvfs; done; }
verify() { # ROUND: every VF configured as asked?
	local p=0 net i bad=0
	for net in "${pfs[@]}"; do
		for i in $(seq 0 6); do
			local got
			got=$($IP -j -d link show "$net" | jq -r --argjson i $i \
				'.[0].vfinfo_list[] | select(.vf==$i) | "\(.address) \(.vlan_list[0].vlan) \(.rate.max_tx) \(.spoofchk)"')
			[ "$got" = "$(mac $p $i "$1") $((100 + i)) 100 true" ] || bad=$((bad + 1))
		done
		p=$((p + 1))
	done
	echo $bad
}

declare -a hand_count hand_conf ctl_count ctl_conf
batch=$(mktemp)
for r in $(seq 1 "$rounds"); do
	reset
	t0=$(now_us)
	for net in "${pfs[@]}"; do
		echo 0 >/sys/class/net/$net/device/sriov_numvfs
		echo 7 >/sys/class/net/$net/device/sriov_numvfs
	done
	t1=$(now_us)
	p=0
	for net in "${pfs[@]}"; do
		for i in $(seq 0 6); do
			$IP link set "$net" vf $i mac "$(mac $p $i $r)"
			$IP link set "$net" vf $i vlan $((100 + i))
			$IP link set "$net" vf $i max_tx_rate 100
			$IP link set "$net" vf $i spoofchk on
		done
		p=$((p + 1))
	done
	t2=$(now_us)
	hand_count+=($((t1 - t0))) hand_conf+=($((t2 - t1)))
	[ "$(verify $r)" = 0 ] || echo "by hand, round $r: not every VF configured" >&2

	reset
	: >"$batch"
	p=0
	for net in "${pfs[@]}"; do
		for i in $(seq 0 6); do
			echo "vf set $net#$i mac $(mac $p $i $((r + 100))) vlan $((100 + i)) max-rate 100 spoofchk on" >>"$batch"
		done
		p=$((p + 1))
	done
	t0=$(now_us)
	for net in "${pfs[@]}"; do "$ctl" numvfs "$net" 7 >/dev/null || echo "sriovctl numvfs failed" >&2; done
	t1=$(now_us)
	"$ctl" --batch "$batch" >/dev/null || echo "sriovctl --batch failed" >&2
	t2=$(now_us)
	ctl_count+=($((t1 - t0))) ctl_conf+=($((t2 - t1)))
	[ "$(verify $((r + 100)))" = 0 ] || echo "sriovctl, round $r: not every VF configured" >&2
done
reset
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
hc=$(median "${hand_count[@]}") hf=$(median "${hand_conf[@]}")
cc=$(median "${ctl_count[@]}") cf=$(median "${ctl_conf[@]}")
echo "2 igb PFs -> 7 VFs each; every VF: MAC + VLAN + max rate + spoofchk (56 settings); median of $rounds rounds"
echo "(TCG emulation: absolute times are slow, the ratio is what carries over)"
awk -v hc="$hc" -v hf="$hf" -v cc="$cc" -v cf="$cf" 'BEGIN {
	printf "%-34s %14s %14s %8s\n", "part", "by hand (ms)", "sriovctl (ms)", "ratio"
	printf "%-34s %14.1f %14.1f %7.1fx\n", "VF count (echo vs numvfs)", hc/1000, cc/1000, hc/cc
	printf "%-34s %14.1f %14.1f %7.1fx\n", "configuration (56 ip vs 1 batch)", hf/1000, cf/1000, hf/cf
	printf "%-34s %14.1f %14.1f %7.1fx\n", "total", (hc+hf)/1000, (cc+cf)/1000, (hc+hf)/(cc+cf)
}'
