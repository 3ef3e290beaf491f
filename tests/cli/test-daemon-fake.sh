#!/bin/bash
# sriovd and the locks on fake sysfs trees (no kernel needed): a refused PF
# never keeps another PF from being healed, and the refusal says what gets
# past it; one sriovd per state folder; commands that change the host wait
# for the host lock (bounded, saying for whom), read-only ones never do;
# concurrent applies and a daemon leave the state of one of them.
#   test-daemon-fake.sh SRIOVCTL SRIOVD MKFAKESYSFS
set -uo pipefail
ctl=$1
daemon=$2
mk=$3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../vm/lib/tap.sh"
. "$here/../lib/fake-tree.sh"
fake_tree_setup sriovd-fake "$mk"
dev=$tb/bus/pci/devices
pf0=0000:01:00.0 pf1=0000:02:00.0 # eth0, eth1: 3 VFs each

# eth0's first VF is on vfio-pci: changing eth0's count is refused.
mkdir -p "$tb/bus/pci/drivers/vfio-pci"
ln -sfn ../../../../bus/pci/drivers/vfio-pci "$dev/0000:01:10.0/driver"
sed -i "s/^DRIVER=.*/DRIVER=vfio-pci/" "$dev/0000:01:10.0/uevent" # as the kernel shows it
conf() { # FILE COUNT0 COUNT1
	printf 'version: 1\npfs:\n  - match:\n      pci: %s\n    numvfs: %s\n  - match:\n      pci: %s\n    numvfs: %s\n' \
		"$pf0" "$2" "$pf1" "$3" >"$1"
}
conf "$tmp/c.conf" 2 1
run_daemon() { "$daemon" "${fake_sriovd_args[@]}" "$@"; }

# --- one refused PF: the others are healed all the same ---
check_status "sriovd --once with eth0 refused: exit 1" 1 run_daemon --once
log=$out
check_eq "eth1 healed although eth0 is refused (3 -> 1)" "$(cat "$dev/$pf1/sriov_numvfs")" 1
check_eq "eth0 left alone (3 VFs)" "$(cat "$dev/$pf0/sriov_numvfs")" 3
check_contains "the refusal names the PF and the VF on vfio-pci" "$log" \
	"event=apply-refused pf=eth0 pci=$pf0"
check_contains "the refusal says what an operator runs" "$log" \
	"hint=\"sriovctl apply --force --sysfs-root $tb --config-dir '' $tmp/c.conf\""
check_contains "retried for eth0 alone" "$log" "event=retry-later pf=eth0 pci=$pf0 delay_ms=1000"
check "no retry line for eth1" bash -c "! grep -q 'retry-later pf=eth1' <<<\"\$1\"" _ "$log"
check_eq "status file: eth0 stuck, why, and the hint" \
	"$(jq -c '[.stuck[] | [.pf, .netdev, (.error | test("vfio-pci")), .hint]]' "$tmp/status.json")" \
	"[[\"$pf0\",\"eth0\",true,\"sriovctl apply --force --sysfs-root $tb --config-dir '' $tmp/c.conf\"]]"
check_status "sriovctl status (sriovd not running)" 1 "$ctl" status --sysfs-root "$tb" --status-file "$tmp/status.json"
check_contains "status lists the stuck PF and why" "$out" "stuck PFs:
  eth0 ($pf0): $tmp/c.conf:5:13: numvfs 2:"
check_contains "status says what gets past it" "$out" \
	"    to get past it: sriovctl apply --force --sysfs-root $tb --config-dir '' $tmp/c.conf"
check_status "the hint's command gets past the refusal" 0 "$ctl" apply --force --sysfs-root "$tb" --config-dir '' "$tmp/c.conf"
check_eq "eth0 now has 2 VFs" "$(cat "$dev/$pf0/sriov_numvfs")" 2
check_status "sriovd --once in sync: exit 0" 0 run_daemon --once
check_eq "status file: nothing stuck" "$(jq -c .stuck "$tmp/status.json")" "[]"

# --- one sriovd per state folder ---
fake_sriovd_start "$tmp/d1.log" "" --settle-ms 50 --resync-s 0
d1=$sriovd_pid
check_status "a second sriovd on the same tree exits 1" 1 run_daemon --resync-s 0
check_contains "it names the holder's pid" "$out" "event=already-running holder_pid=$d1 error=\"pid $d1 (sriovd) holds the lock $SRIOV_STATE_DIR/sriovd.lock\""
check_status "so does sriovd --once" 1 run_daemon --once
check "the first still runs" kill -0 "$d1"
sriovd_stop

# --- the host lock: writers wait, bounded, saying for whom; readers do not ---
hold() { # holds the host lock until release()
	flock -o "$SRIOV_STATE_DIR/lock" sleep 60 &
	holder=$!
	for _ in $(seq 50); do grep -q "FLOCK.* $holder " /proc/locks && break; sleep 0.1; done
}
release() { pkill -P "$holder" sleep; kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null; }
hold
conf "$tmp/b.conf" 2 3
(sleep 2 && release) &
start=$(date +%s%N)
check_status "apply waits for the lock, then applies" 0 "$ctl" apply --sysfs-root "$tb" "$tmp/b.conf"
took=$((($(date +%s%N) - start) / 1000000))
check_contains "apply says for whom it waits" "$out" "sriovctl: apply: waiting for pid $holder, which holds $SRIOV_STATE_DIR/lock"
check "apply did wait (${took} ms)" test "$took" -ge 1500
check_eq "and then applied: eth1 has 3 VFs" "$(cat "$dev/$pf1/sriov_numvfs")" 3
wait
hold
for cmd in "numvfs eth1 1" "bind eth1#1 igbvf" "apply $tmp/c.conf"; do
	# shellcheck disable=SC2086
	check_status "$cmd: gives up after SRIOV_LOCK_TIMEOUT" 1 env SRIOV_LOCK_TIMEOUT=1 "$ctl" --sysfs-root "$tb" $cmd
	check_contains "$cmd: says who holds which lock and for how long it waited" "$out" \
		"pid $holder (flock) holds the lock $SRIOV_STATE_DIR/lock; gave up after 1.000 s"
done
printf 'list\nnumvfs eth1 1\n' >"$tmp/batch"
check_status "a batch with a writing line waits too" 1 env SRIOV_LOCK_TIMEOUT=1 "$ctl" --sysfs-root "$tb" --batch "$tmp/batch"
check_contains "batch: the writing line is the one that waited" "$out" "sriovctl: numvfs: pid $holder (flock) holds the lock"
check_status "bad SRIOV_LOCK_TIMEOUT is a usage error" 2 env SRIOV_LOCK_TIMEOUT=soon "$ctl" --sysfs-root "$tb" numvfs eth1 1
check_eq "nothing was written meanwhile" "$(cat "$dev/$pf1/sriov_numvfs")" 3
start=$(date +%s%N)
for cmd in list "show eth1" "plan $tmp/c.conf"; do
	# shellcheck disable=SC2086
	check_status "$cmd runs while the lock is held" 0 env SRIOV_LOCK_TIMEOUT=10 "$ctl" --sysfs-root "$tb" $cmd
done
check "read-only commands did not wait" test $((($(date +%s%N) - start) / 1000000)) -lt 2500

# sriovd applies under the same lock: it waits for the holder, then heals.
fake_sriovd_start "$tmp/d2.log" "" --settle-ms 50 --resync-s 0 -v
sleep 1.5
check_eq "sriovd does not write while a command holds the lock" "$(cat "$dev/$pf1/sriov_numvfs")" 3
check "sriovd says the host is busy, and who holds it" grep -q "event=host-busy pf=eth1 pci=$pf1 holder_pid=$holder" "$tmp/d2.log"
release
for _ in $(seq 50); do [ "$(cat "$dev/$pf1/sriov_numvfs")" == 1 ] && break; sleep 0.1; done
check_eq "sriovd healed eth1 once the lock was free" "$(cat "$dev/$pf1/sriov_numvfs")" 1
sriovd_stop

# --- racing writers: the end state is the state of one of them ---
ln -sfn ../../../../bus/pci/drivers/igbvf "$dev/0000:01:10.0/driver"
sed -i "s/^DRIVER=.*/DRIVER=igbvf/" "$dev/0000:01:10.0/uevent"
conf "$tmp/x.conf" 1 2
conf "$tmp/y.conf" 2 1
state() { echo "$(cat "$dev/$pf0/sriov_numvfs") $(cat "$dev/$pf1/sriov_numvfs")"; }
ok=0
for round in 1 2 3 4 5; do
	"$ctl" apply --sysfs-root "$tb" "$tmp/x.conf" >/dev/null 2>&1 &
	a=$!
	"$ctl" apply --sysfs-root "$tb" "$tmp/y.conf" >/dev/null 2>&1 &
	b=$!
	wait "$a" "$b"
	s=$(state)
	if [ "$s" == "1 2" ] || [ "$s" == "2 1" ]; then ok=$((ok + 1)); else echo "# round $round: $s"; fi
done
check_eq "5 rounds of two racing applies: each ends in one config's state" "$ok" 5

# --- PFs that are fine are applied together: one apply, one wait ---
read -r n0 n1 <<<"$(state)"
printf 'version: 1\npfs:\n  - match:\n      pci: %s\n    numvfs: %s\n    autoprobe: false\n  - match:\n      pci: %s\n    numvfs: %s\n    autoprobe: false\n' \
	"$pf0" "$n0" "$pf1" "$n1" >"$tmp/c.conf"
check_status "sriovd --once with two PFs to change: exit 0" 0 run_daemon --once
check_eq "sysfs: both PFs' drivers_autoprobe off" "$(cat "$dev/$pf0/sriov_drivers_autoprobe") $(cat "$dev/$pf1/sriov_drivers_autoprobe")" "0 0"
check_eq "one apply of both: each PF's line says it took 2 PFs" \
	"$(grep -o 'event=applied pf=[^ ]* pci=[^ ]* reason=start changes=1 writes=2 took_ms=[0-9]* pfs=2' <<<"$out" | sed 's/took_ms=[0-9]* //' | paste -sd'|')" \
	"event=applied pf=eth0 pci=$pf0 reason=start changes=1 writes=2 pfs=2|event=applied pf=eth1 pci=$pf1 reason=start changes=1 writes=2 pfs=2"
check_eq "status: one apply run for both" "$(jq .applies "$tmp/status.json")" 1
tap_done
