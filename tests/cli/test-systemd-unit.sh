#!/bin/bash
# The systemd side of sriovd without booting systemd: the built unit passes
# `systemd-analyze verify` and keeps its sandbox (exposure score), a config
# that cannot be used ends sriovd with the status the unit does not restart
# (RestartPreventExitStatus=) and nothing written, and the sd_notify(3)
# protocol on a fake tree: READY=1 after the first apply, RELOADING=1 ...
# READY=1 around SIGHUP (a good and a bad file), STATUS= with the last event.
#   test-systemd-unit.sh SRIOVD MKFAKESYSFS UNIT_FILE
set -uo pipefail
daemon=$1
mk=$2
unit=$3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../vm/lib/tap.sh"
. "$here/../lib/fake-tree.sh"
fake_tree_setup sriovd-unit "$mk"
daemon=$(realpath -e "$daemon")
unit_value() { sed -n "s/^$1=//p" "$unit"; }

# --- the unit file ---
# ExecStart= names the installed path; verify the built binary instead.
mkdir "$tmp/unit"
sed "s|^ExecStart=.*|ExecStart=$daemon|" "$unit" >"$tmp/unit/sriovd.service"
check_status "systemd-analyze verify passes" 0 systemd-analyze verify --man=no "$tmp/unit/sriovd.service"
check_eq "verify says nothing" "$out" ""
check_status "systemd-analyze security: exposure at most 2.8" 0 \
	systemd-analyze security --offline=true --threshold=28 "$tmp/unit/sriovd.service"
score=$(sed -n 's/.*Overall exposure level for sriovd.service: \([0-9.]*\).*/\1/p' <<<"$out")
echo "# exposure score: $score"
check_eq "Type=notify" "$(unit_value Type)" notify
check_eq "ordered before network-pre.target and libvirtd" \
	"$(unit_value Before | grep -o 'network-pre.target libvirtd.service')" "network-pre.target libvirtd.service"
check_eq "the bound set of capabilities" "$(unit_value CapabilityBoundingSet)" "CAP_NET_ADMIN CAP_SYS_ADMIN CAP_CHOWN"
check_eq "socket families" "$(unit_value RestrictAddressFamilies)" "AF_UNIX AF_NETLINK"
check_eq "ProtectSystem=strict (sysfs stays writable)" "$(unit_value ProtectSystem)" strict
check_eq "no ProtectKernelTunables (it would make /sys read-only)" "$(unit_value ProtectKernelTunables)" ""

# --- a config that cannot be used at start: one exit, nothing written ---
no_restart=$(unit_value RestartPreventExitStatus)
check_eq "the unit does not restart on status 78" "$no_restart" 78
dev=$tb/bus/pci/devices
pf1=0000:02:00.0 # eth1, 3 VFs
printf 'version: 1\npfs:\n  - match:\n      pci: %s\n    numvfs: 1\n' "$pf1" >"$tmp/good.conf"
printf 'version: 1\npfs:\n  - match:\n      pci: %s\n    numfvs: 1\n' "$pf1" >"$tmp/bad.conf"
dargs=(--sysfs-root "$tb" --config-dir "" --status-file "$tmp/status.json" --settle-ms 50 --resync-s 1)
listen() { # starts the fake systemd on $tmp/notify.sock, messages to $tmp/notify.log
	: >"$tmp/notify.log"
	rm -f "$tmp/notify.sock"
	"$here/../lib/notify-listen" "$tmp/notify.sock" "$tmp/notify.log" &
	listener=$!
	for _ in $(seq 100); do [ -S "$tmp/notify.sock" ] && break; sleep 0.05; done
}
wait_for() { # SECONDS COMMAND...
	local n=$(($1 * 20))
	shift
	for _ in $(seq "$n"); do "$@" && return 0; sleep 0.05; done
	return 1
}
listen
export NOTIFY_SOCKET=$tmp/notify.sock
for mode in daemon once; do
	extra=()
	[ "$mode" == once ] && extra=(--once)
	check_status "bad config at start ($mode): exit $no_restart" "$no_restart" \
		"$daemon" "${dargs[@]}" --config "$tmp/bad.conf" "${extra[@]}"
	check_contains "bad config ($mode): the error names the file, line and key" "$out" \
		"event=config-rejected file=$tmp/bad.conf error=\"$tmp/bad.conf:5:5: numfvs"
done
check_status "a missing config file: exit $no_restart too" "$no_restart" "$daemon" "${dargs[@]}" --config "$tmp/none.conf"
check_contains "it says the file is missing" "$out" "$tmp/none.conf"
check_eq "nothing written (eth1 still has 3 VFs)" "$(cat "$dev/$pf1/sriov_numvfs")" 3
check_contains "the status file keeps the error" "$(jq -r '.errors[0].message' "$tmp/status.json")" "$tmp/none.conf"
wait_for 5 grep -q 'none.conf' "$tmp/notify.log"
check_contains "systemd is told why (STATUS=)" "$(cat "$tmp/notify.log")" \
	"STATUS=config rejected, not started; last: event=config-rejected file=$tmp/bad.conf error=\"$tmp/bad.conf:5:5: numfvs"
check "never READY=1 with a bad config" bash -c "! grep -q 'READY=1' '$tmp/notify.log'"
check_status "bad options: exit 2, not $no_restart" 2 "$daemon" --settle-ms soon
check_contains "--help names the exit status" "$("$daemon" --help)" \
	"$no_restart the config cannot be used (syntax, values, unreadable): fix it and start again"

# --- the notify protocol of a running sriovd ---
kill "$listener"
wait "$listener" 2>/dev/null
listen
cp "$tmp/good.conf" "$tmp/c.conf"
fake_sriovd_start "$tmp/d.log" "" --settle-ms 50 --resync-s 1
wait_for 20 grep -q 'READY=1' "$tmp/notify.log"
msgs=$(cat "$tmp/notify.log")
check_eq "READY=1 once the first apply is done (eth1: 3 -> 1)" "$(cat "$dev/$pf1/sriov_numvfs")" 1
check_contains "STATUS= before the first apply" "$msgs" "STATUS=applying the config; last: event=start"
check_contains "READY=1 with where the host stands and the last event" "$msgs" \
	"READY=1 | STATUS=in sync; last: event=applied pf=eth1 pci=$pf1 reason=start changes=1 writes="
check_eq "READY=1 comes after the apply's log line" \
	"$(grep -n 'READY=1' "$tmp/notify.log" | head -1 | cut -d: -f1)" "$(grep -c . "$tmp/notify.log")"

# a good reload: RELOADING=1 with the time, then READY=1 after its apply
printf 'version: 1\npfs:\n  - match:\n      pci: %s\n    numvfs: 2\n' "$pf1" >"$tmp/c.conf"
n=$(grep -c . "$tmp/notify.log")
kill -HUP "$sriovd_pid"
wait_for 20 bash -c "tail -n +$((n + 1)) '$tmp/notify.log' | grep -q 'READY=1'"
after=$(tail -n +$((n + 1)) "$tmp/notify.log")
check "RELOADING=1 with MONOTONIC_USEC" grep -Eq "^RELOADING=1 \| MONOTONIC_USEC=[0-9]+ \| STATUS=reloading $tmp/c.conf\$" <<<"$after"
check_contains "READY=1 after the reload's apply, with its event" "$after" \
	"READY=1 | STATUS=in sync; last: event=applied pf=eth1 pci=$pf1 reason=reload changes=1"
check_eq "the reload was applied (eth1: 2 VFs)" "$(cat "$dev/$pf1/sriov_numvfs")" 2
check_eq "RELOADING=1 comes before READY=1" "$(grep -o 'RELOADING=1\|READY=1' <<<"$after" | tr '\n' ' ')" "RELOADING=1 READY=1 "

# a bad reload: RELOADING=1, then READY=1 saying it was rejected
cp "$tmp/bad.conf" "$tmp/c.conf"
n=$(grep -c . "$tmp/notify.log")
kill -HUP "$sriovd_pid"
wait_for 20 bash -c "tail -n +$((n + 1)) '$tmp/notify.log' | grep -q 'READY=1'"
after=$(tail -n +$((n + 1)) "$tmp/notify.log")
check_contains "a bad reload: READY=1 saying it was rejected" "$after" \
	"READY=1 | STATUS=reload rejected, the previous config kept; last: event=reload-rejected"
check "sriovd still runs" kill -0 "$sriovd_pid"

# drift repaired: the last event follows
n=$(grep -c . "$tmp/notify.log")
echo 0 >"$dev/$pf1/sriov_numvfs"
wait_for 20 bash -c "tail -n +$((n + 1)) '$tmp/notify.log' | grep -q 'reason=uevent\|reason=resync\|reason=link-event\|event=applied'"
after=$(tail -n +$((n + 1)) "$tmp/notify.log")
check_contains "a repair shows in STATUS= (no READY=1)" "$after" "STATUS=in sync; last: event=applied pf=eth1 pci=$pf1"
sriovd_stop
check_eq "SIGTERM: exit 0" "$?" 0
check_contains "STOPPING=1 at the end" "$(tail -n 1 "$tmp/notify.log")" "STOPPING=1"
tap_done
