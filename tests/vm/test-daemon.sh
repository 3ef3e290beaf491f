#!/bin/bash
# sriovd on the real kernel, run INSIDE the testbed VM: a PF whose count
# change is refused never keeps another PF from being healed, and the log
# says what gets past the refusal; edits of different VFs are normal work,
# only one field reverted again and again is "host keeps drifting"; one
# sriovd per host; two applies and sriovd racing leave the state of one of
# them exactly (read back with /sbin/ip and sysfs).
#   test-daemon.sh BUILD_DIR [ARTIFACT_DIR]
set -uo pipefail
build=$1
artifacts=${2:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib/tap.sh"
ctl=$build/src/sriovctl
daemon=$build/src/sriovd
IP=/sbin/ip
work=$(mktemp -d /tmp/sriovd-daemon.XXXXXX)
# The guest's own tmpfs, as /run/sriovd is on a host: the locks are the
# guest kernel's (on the 9p share flock would be a POSIX lock of the client).
export SRIOV_STATE_DIR=/run/sriovd-test/state
save() { [ -n "$artifacts" ] && mkdir -p "$artifacts" && cat >"$artifacts/$1" || cat >/dev/null; }
dpid=
stop_daemon() {
	[ -n "$dpid" ] || return 0
	kill -TERM "$dpid" 2>/dev/null
	wait "$dpid" 2>/dev/null
	dpid=
}
trap stop_daemon EXIT

igb=()
for d in /sys/bus/pci/devices/*; do
	[ "$(basename "$(readlink "$d/driver" 2>/dev/null)")" == igb ] && igb+=("$(basename "$d")")
done
pf0=${igb[0]} pf1=${igb[1]}
net0=$(ls /sys/bus/pci/devices/$pf0/net | head -1)
net1=$(ls /sys/bus/pci/devices/$pf1/net | head -1)
mac() { printf '02:00:00:00:%02x:%02x' "$1" "$2"; } # config number, VF
vf_addr() { basename "$(readlink /sys/bus/pci/devices/$1/virtfn$2)"; }

# CONF FILE N0 TAG [VLAN]: eth0 with N0 VFs, MAC (TAG, i) and VLAN each;
# eth1 with $N1 VFs (default 2), VF 0 on vfio-pci.
conf() {
	local f=$1 n=$2 tag=$3 vlan=${4:-} i
	{
		printf 'version: 1\npfs:\n  - match:\n      pci: %s\n    numvfs: %s\n    vfs:\n' "$pf0" "$n"
		for ((i = 0; i < n; i++)); do
			printf '      - index: %d\n        mac: %s\n' "$i" "$(mac "$tag" $i)"
			[ -n "$vlan" ] && printf '        vlan: %s\n' "$vlan"
		done
		printf '  - match:\n      pci: %s\n    numvfs: %s\n    vfs:\n      - index: 0\n        driver: vfio-pci\n' \
			"$pf1" "${N1:-2}"
	} >"$f"
}
# What eth0 looks like: "COUNT mac/vlan mac/vlan ...", from sysfs and /sbin/ip.
eth0_state() {
	printf '%s' "$(cat /sys/bus/pci/devices/$pf0/sriov_numvfs)"
	$IP -j -d link show "$net0" | jq -j '.[0].vfinfo_list[]? | " \(.address)/\(.vlan_list[0].vlan // 0)"'
	echo
}
want_state() { # N TAG [VLAN]
	local i
	printf '%s' "$1"
	for ((i = 0; i < $1; i++)); do printf ' %s/%s' "$(mac "$2" $i)" "${3:-0}"; done
	echo
}
wait_for() { # SECONDS COMMAND...: prints the seconds it took
	local limit=$1 start
	shift
	start=$(date +%s%N)
	while (($(date +%s%N) - start < limit * 1000000000)); do
		if "$@"; then
			awk -v ns=$(($(date +%s%N) - start)) 'BEGIN { printf "%.1f", ns / 1e9 }'
			return 0
		fi
		sleep 0.2
	done
	return 1
}
state_is() { [ "$(eth0_state)" == "$1" ]; }
logged() { grep -q -- "$1" "$work/sriovd.log"; }
start_daemon() { # CONFIG
	"$daemon" -v --config "$1" --config-dir "" --status-file "$work/status.json" --settle-ms 200 --resync-s 3 \
		>>"$work/sriovd.log" 2>&1 &
	dpid=$!
	wait_for 30 logged "event=start" >/dev/null
}

# --- the start: eth0 with 6 VFs, eth1 with 2, its VF 0 on vfio-pci ---
$IP link set "$net0" up
conf "$work/base.conf" 6 1
check_status "apply the base config" 0 "$ctl" apply "$work/base.conf"
check_eq "eth0 as the file says" "$(eth0_state)" "$(want_state 6 1)"
vf10=$(vf_addr "$pf1" 0)
check_eq "eth1 VF 0 on vfio-pci" "$(basename "$(readlink /sys/bus/pci/devices/$vf10/driver)")" vfio-pci

# --- eth1 refused (VF on vfio-pci, the file wants 3 VFs): eth0 healed all the same ---
N1=3 conf "$work/d1.conf" 6 1
save d1.conf <"$work/d1.conf"
start_daemon "$work/d1.conf"
if took=$(wait_for 30 logged "event=apply-refused pf=$net1 pci=$pf1"); then
	tap_ok "sriovd refuses eth1's count change (${took} s)"
else
	tap_not_ok "sriovd refuses eth1's count change"
fi
line=$(grep -m1 "event=apply-refused pf=$net1" "$work/sriovd.log")
check_contains "the refusal names the VF on vfio-pci" "$line" "$vf10) is bound to vfio-pci"
check_contains "the refusal says what an operator runs" "$line" \
	"hint=\"sriovctl apply --force --config-dir '' $work/d1.conf\""
check "sriovd keeps running" kill -0 "$dpid"
$IP link set "$net0" vf 1 mac 02:de:ad:be:ef:01
if took=$(wait_for 10 state_is "$(want_state 6 1)"); then
	tap_ok "an eth0 VF MAC changed with ip is healed while eth1 is refused (${took} s)"
	echo "eth0 VF 1 MAC healed in ${took} s while eth1 was refused" | save heal-while-refused.txt
else
	tap_not_ok "an eth0 VF MAC changed with ip is healed within 10 s while eth1 is refused"
	tail -20 "$work/sriovd.log" | sed 's/^/#   /'
fi
check "the heal was an apply of eth0 alone" logged "event=applied pf=$net0 pci=$pf0 reason=[a-z-]* changes=1 writes=1"
check "eth1 retried on its own" logged "event=retry-later pf=$net1 pci=$pf1"
check "eth0 never waited for eth1" bash -c "! grep -q 'event=retry-later pf=$net0' '$work/sriovd.log'"
check_eq "eth1 still has 2 VFs, VF 0 on vfio-pci" \
	"$(cat /sys/bus/pci/devices/$pf1/sriov_numvfs) $(basename "$(readlink /sys/bus/pci/devices/$vf10/driver)")" "2 vfio-pci"
check_eq "status file: eth1 stuck, why, the hint" \
	"$(jq -c '[.stuck[] | [.pf, .netdev, (.error | test("vfio-pci")), .hint]]' "$work/status.json")" \
	"[[\"$pf1\",\"$net1\",true,\"sriovctl apply --force --config-dir '' $work/d1.conf\"]]"

# --- one sriovd per host ---
check_status "a second sriovd exits 1" 1 "$daemon" --config "$work/d1.conf" --config-dir "" --status-file "$work/status2.json"
check_contains "it names the first one's pid" "$out" "event=already-running holder_pid=$dpid"
check "the second wrote no status file" test ! -e "$work/status2.json"
stop_daemon
save sriovd-refused.log <"$work/sriovd.log"

# --- six edits of different VFs are normal work; one field reverted again and again is not ---
: >"$work/sriovd.log"
start_daemon "$work/base.conf"
wait_for 30 logged "event=in-sync" >/dev/null
healed=0
for vf in 0 1 2 3 4 5; do
	$IP link set "$net0" vf $vf mac "02:de:ad:be:ef:0$vf"
	wait_for 10 state_is "$(want_state 6 1)" >/dev/null && healed=$((healed + 1))
	sleep 1.5
done
check_eq "six edits of six different VFs, each healed" "$healed" 6
check "six edits of different VFs: no host-keeps-drifting" bash -c "! grep -q host-keeps-drifting '$work/sriovd.log'"
check_eq "six repairs logged" "$(grep -c "event=applied pf=$net0 pci=$pf0 reason=[a-z-]* changes=1 " "$work/sriovd.log")" 6
for _ in 1 2 3 4 5 6; do
	$IP link set "$net0" vf 2 mac 02:de:ad:be:ef:22
	wait_for 10 state_is "$(want_state 6 1)" >/dev/null
done
check "the same field of the same VF reverted again and again: host-keeps-drifting" \
	logged "event=host-keeps-drifting pf=$net0 pci=$pf0 vf=2 field=mac repairs=5"
check_eq "status file: eth0 backed off, and why" "$(jq -r '.stuck[0].error' "$work/status.json")" \
	"something reverts mac of $net0 VF 2 5 times within 60 s; slowing down"
stop_daemon
save sriovd-detector.log <"$work/sriovd.log"

# --- two applies and sriovd racing: the state of one of them, exactly ---
conf "$work/x.conf" 2 10 10
conf "$work/y.conf" 3 11 20
conf "$work/z.conf" 4 12 30
x=$(want_state 2 10 10) y=$(want_state 3 11 20) z=$(want_state 4 12 30)
race_ok=0
for round in 1 2; do
	"$ctl" apply "$work/x.conf" >"$work/x.$round.out" 2>&1 &
	a=$!
	"$ctl" apply "$work/y.conf" >"$work/y.$round.out" 2>&1 &
	b=$!
	wait "$a"
	ra=$?
	wait "$b"
	rb=$?
	s=$(eth0_state)
	if [ $ra == 0 ] && [ $rb == 0 ] && { [ "$s" == "$x" ] || [ "$s" == "$y" ]; }; then
		race_ok=$((race_ok + 1))
	else
		echo "# round $round: exits $ra $rb, state $s"
		sed 's/^/#   /' "$work/x.$round.out" "$work/y.$round.out"
	fi
done
check_eq "two racing applies, twice: both succeed, the state is one file's exactly" "$race_ok" 2
: >"$work/sriovd.log"
"$ctl" apply "$work/x.conf" >"$work/x.3.out" 2>&1 &
a=$!
start_daemon "$work/z.conf"
"$ctl" apply "$work/y.conf" >"$work/y.3.out" 2>&1 &
b=$!
wait "$a" "$b"
if took=$(wait_for 60 state_is "$z"); then
	tap_ok "two applies and sriovd racing: then exactly sriovd's file (${took} s)"
else
	tap_not_ok "two applies and sriovd racing: then exactly sriovd's file"
	echo "#   state: $(eth0_state)"
	tail -20 "$work/sriovd.log" | sed 's/^/#   /'
fi
check_eq "and it stays so (eth0 read back again)" "$(sleep 4; eth0_state)" "$z"
check_eq "eth1 untouched by the race" \
	"$(cat /sys/bus/pci/devices/$pf1/sriov_numvfs) $(basename "$(readlink "/sys/bus/pci/devices/$(vf_addr "$pf1" 0)/driver")")" \
	"2 vfio-pci"
stop_daemon
save sriovd-race.log <"$work/sriovd.log"
rm -rf "$work" /run/sriovd-test
tap_done
