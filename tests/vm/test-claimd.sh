#!/bin/bash
# sriovd keeps claimed VFs as claimed, on the real kernel, run INSIDE the
# testbed VM (one boot): sriovd runs with a config; two VFs of the first igb
# PF are claimed with their own MAC and VLAN (one with --vfio); sriovd
# leaves them so, across a restart (the ledger file read with sqlite3) and a
# PF driver unbind+bind that re-creates every VF (read back with /sbin/ip and
# sysfs); the VF count changed behind a stopped sriovd makes both claims
# lost at its start (sriovctl claims, status and status -j), and a lost
# claim is released; sriovctl claim, claims, export, -j list, list, match and release
# with sriovd running go through its socket (its event=api lines), print
# what the in-process path prints, and set and scrub the VF's MAC and VLAN
# (read back with /sbin/ip).
#   test-claimd.sh BUILD_DIR [ARTIFACT_DIR]
set -uo pipefail
build=$1
artifacts=${2:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib/tap.sh"
. "$here/lib/schema.sh"
ctl=$build/src/sriovctl
daemon=$build/src/sriovd
IP=/sbin/ip
work=$(mktemp -d /tmp/sriovd-claimd.XXXXXX)
schema_init "$ctl" "${artifacts:-$work/schema}/schema"
# claim, release and claims documents are the ledger's own scenario's to
# validate; these run uncaptured.
claimctl=$schema_bin
# The guest's own tmpfs, as /run and /var/lib are on a host: its locks and
# SQLite's are the guest kernel's.
export SRIOV_STATE_DIR=/run/sriovd-test/state
ledger_dir=/run/sriovd-test/ledger
ledger=$ledger_dir/ledger.db
export SRIOV_STATUS_FILE=$work/status.json
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
pf=${igb[0]}
pfdir=/sys/bus/pci/devices/$pf
netdev() { ls "$pfdir/net" 2>/dev/null | head -1; }
vf_addr() { basename "$(readlink "$pfdir/virtfn$1")"; }
driver_of() { basename "$(readlink "/sys/bus/pci/devices/$1/driver" 2>/dev/null)" 2>/dev/null || echo none; }
A=aaaaaaaa-0000-4000-8000-00000000000a
B=bbbbbbbb-0000-4000-8000-00000000000b
MAC_A=02:00:00:c1:a1:01 MAC_B=02:00:00:c1:b2:02

# The PF with 4 VFs, each with the stable MAC and VLAN 100.
conf=$work/sriovd.conf
printf 'version: 1\npfs:\n  - match:\n      pci: %s\n    numvfs: 4\n    mac: stable\n    vfs:\n      - index: 0-3\n        vlan: 100\n' \
	"$pf" >"$conf"
save sriovd.conf <"$conf"
# VF I as /sbin/ip shows it: "MAC/VLAN".
# The address VF $1's own netdev carries (sysfs).
vf_netdev_mac() {
	cat /sys/bus/pci/devices/"$1"/net/*/address 2>/dev/null
}
vf_ip() {
	$IP -j -d link show "$(netdev)" 2>/dev/null |
		jq -r --argjson i "$1" '.[0].vfinfo_list[]? | select(.vf == $i) | "\(.address)/\(.vlan_list[0].vlan // 0)"'
}
# What the claims hold and what the config gives VF 0: one line, from ip and sysfs.
host_state() {
	echo "$(cat "$pfdir/sriov_numvfs") vf0=$(vf_ip 0) vf1=$(vf_ip 1) vf2=$(vf_ip 2) $(driver_of "$(vf_addr 2)")"
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
		sleep 0.3
	done
	return 1
}
logged() { grep -q -- "$1" "$work/sriovd.log"; }
start_daemon() {
	local before
	before=$(grep -c "event=start " "$work/sriovd.log" 2>/dev/null)
	"$daemon" -v --config "$conf" --config-dir "" --state-dir "$ledger_dir" --status-file "$SRIOV_STATUS_FILE" --settle-ms 200 --resync-s 3 \
		>>"$work/sriovd.log" 2>&1 &
	dpid=$!
	# Started once the first reconcile wrote the status file.
	wait_for 60 bash -c "[ \$(grep -c 'event=start ' '$work/sriovd.log') -gt ${before:-0} ] && \
		[ \"\$(jq -r .pid '$SRIOV_STATUS_FILE' 2>/dev/null)\" == $dpid ]" >/dev/null
}
state_is() { [ "$(host_state)" == "$1" ]; }
claims_text() { "$claimctl" --state-dir "$ledger_dir" claims --config "$conf" 2>&1; }

# --- sriovd applies the config; two VFs claimed with their own MAC and VLAN ---
$IP link set "$(netdev)" up
rm -f "$SRIOV_STATUS_FILE"
start_daemon
wait_for 60 bash -c "[ \"\$(cat $pfdir/sriov_numvfs)\" == 4 ]" >/dev/null
check_eq "sriovd made 4 VFs" "$(cat "$pfdir/sriov_numvfs")" 4
vf1=$(vf_addr 1) vf2=$(vf_addr 2)
stable0=$(vf_ip 0)
check_contains "VF 0 has the config's VLAN 100" "$stable0" "/100"
# The claims' ids from their -j documents (stdout alone: a wait for the
# host lock is said on stderr).
rc=0
doc=$("$claimctl" --state-dir "$ledger_dir" -j claim --config "$conf" --consumer $A --device "$vf1" --mac $MAC_A \
	--vlan 201 2>"$work/claim.err") || rc=$?
check_eq "claim VF 1 for A with a MAC and VLAN 201" "$rc" 0
id_a=$(printf '%s' "$doc" | jq -r '.claim.id')
rc=0
doc=$("$claimctl" --state-dir "$ledger_dir" -j claim --config "$conf" --consumer $B --device "$vf2" --mac $MAC_B \
	--vlan 202 --vfio 2>"$work/claim.err") || rc=$?
check_eq "claim VF 2 for B with --vfio, a MAC and VLAN 202" "$rc" 0
id_b=$(printf '%s' "$doc" | jq -r '.claim.id')
check "the claims have ids" test -n "$id_a" -a -n "$id_b" -a "$id_a" != "$id_b"
claimed="4 vf0=$stable0 vf1=$MAC_A/201 vf2=$MAC_B/202 vfio-pci"
check_eq "ip: the claimed MACs and VLANs, VF 2 on vfio-pci" "$(host_state)" "$claimed"
# sriovd sees the link events and re-applies: the claims stay as given.
sleep 4
check_eq "with sriovd running (resync 3 s), the claimed VFs keep what they were given" "$(host_state)" "$claimed"
check_status "plan: no change, the claims laid over the config" 0 "$ctl" --state-dir "$ledger_dir" plan "$conf"
check_contains "plan: 0 changes" "$out" "0 changes"
check_status "status: the host is as sriovd wants it, claims included" 0 "$ctl" --state-dir "$ledger_dir" status

# --- restart sriovd: every claim still there ---
stop_daemon
start_daemon
check "sriovd restarted" kill -0 "$dpid"
sleep 2
check_eq "after the restart's apply, the claimed VFs keep what they were given" "$(host_state)" "$claimed"
txt=$(claims_text)
check_contains "claims: A active after the restart" "$txt" "claim $id_a active consumer $A"
check_contains "claims: B active after the restart" "$txt" "claim $id_b active consumer $B"
if command -v sqlite3 >/dev/null; then
	rows=$(sqlite3 "file:$ledger?mode=ro" "SELECT c.id || ' ' || c.state || ' ' || d.address || ' ' || d.mac || ' ' || d.vlan
		FROM claims c JOIN claim_devices d ON d.claim = c.id WHERE c.state = 'active' ORDER BY c.id" 2>&1)
else
	rows=$("$claimctl" --state-dir "$ledger_dir" -j claims | jq -r '.claims[] | "\(.id) \(.state) \(.devices[0].address) \(.devices[0].mac) \(.devices[0].vlan)"')
fi
check_eq "the ledger file holds both claims, active, with their MAC and VLAN" "$rows" \
	"$id_a active $vf1 $MAC_A 201
$id_b active $vf2 $MAC_B 202"

# --- the PF driver unbound and bound again with sriovd running: every VF re-created ---
echo "$pf" >/sys/bus/pci/drivers/igb/unbind
check_eq "unbind: the PF has no VFs" "$(ls -d "$pfdir"/virtfn* 2>/dev/null | wc -l)" 0
echo "$pf" >/sys/bus/pci/drivers/igb/bind
if took=$(wait_for 90 state_is "$claimed"); then
	tap_ok "after the PF driver reload the claimed VFs have their claimed MAC, VLAN and vfio-pci again (${took} s)"
	echo "claimed VFs restored ${took} s after the PF rebind" | save reload.txt
else
	tap_not_ok "after the PF driver reload the claimed VFs have their claimed MAC, VLAN and vfio-pci again"
	echo "#   state: $(host_state)"
	echo "#   want:  $claimed"
	tail -25 "$work/sriovd.log" | sed 's/^/#   /'
fi
check_eq "VF 1 is the same PCI function again" "$(vf_addr 1)" "$vf1"
txt=$(claims_text)
check_contains "claims: A still active after the reload" "$txt" "claim $id_a active consumer $A"
check_contains "claims: B still active after the reload" "$txt" "claim $id_b active consumer $B"
check "no claim was marked lost by the reload" bash -c "! grep -q 'event=claim-lost' '$work/sriovd.log'"

# --- the VF count changed behind a stopped sriovd: the claims are lost at its start ---
stop_daemon
echo 0 >"$pfdir/sriov_numvfs"
check_eq "behind sriovd's back: 0 VFs" "$(cat "$pfdir/sriov_numvfs")" 0
start_daemon
check "sriovd logs claim A lost, with the reason" \
	logged "event=claim-lost claim=$id_a consumer=$A reason=\"$vf1 (VF 1 of $pf): the VF no longer exists (the PF has 0 VFs)\""
check "sriovd logs claim B lost" logged "event=claim-lost claim=$id_b consumer=$B"
txt=$(claims_text)
check_contains "claims: A lost, with the reason" "$txt" \
	"claim $id_a lost consumer $A device $vf1"
check_contains "claims: the reason of A" "$txt" "$vf1 (VF 1 of $pf): the VF no longer exists (the PF has 0 VFs)"
check_contains "claims: B lost" "$txt" "claim $id_b lost consumer $B"
wait_for 60 "$schema_bin" --state-dir "$ledger_dir" status >/dev/null
check_status "status: sriovd re-created the VFs, in sync" 0 "$ctl" --state-dir "$ledger_dir" status
check_contains "status lists the lost claims" "$out" "lost claims: 2"
check_contains "status: claim A, its consumer and reason" "$out" \
	"claim $id_a consumer $A: $vf1 (VF 1 of $pf): the VF no longer exists (the PF has 0 VFs)"
"$ctl" --state-dir "$ledger_dir" -j status >"$work/status-j.json" 2>&1
check_eq "status -j: lost_claims" "$(jq -c '[.lost_claims[] | [.claim, .consumer, .devices]]' "$work/status-j.json")" \
	"[[$id_a,\"$A\",[\"$vf1\"]],[$id_b,\"$B\",[\"$vf2\"]]]"
check_eq "status -j: the daemon's status file lists them too" \
	"$(jq -c '[.daemon.lost_claims[] | .claim]' "$work/status-j.json")" "[$id_a,$id_b]"
check_eq "a lost claim's VF is no longer given its MAC: VF 1 has the config's VLAN again" "$(vf_ip 1 | cut -d/ -f2)" 100
check_status "a lost VF stays out of the pool: claiming it again is refused" 1 \
	"$claimctl" --state-dir "$ledger_dir" claim --config "$conf" --consumer $A --device "$vf1"

# --- a lost claim is released ---
rc=0
rel=$("$claimctl" --state-dir "$ledger_dir" -j release --config "$conf" --consumer $A 2>"$work/release.err") || rc=$?
check_eq "release the lost claim of A: exit 0" "$rc" 0
check_eq "release: A's claim released" "$(printf '%s' "$rel" | jq -r '.released[0].state' 2>&1)" released
[ -s "$work/release.err" ] && sed 's/^/#   stderr: /' "$work/release.err"
printf '%s\n' "$rel" | save release.json
check "claims no longer shows A" bash -c "! '$claimctl' --state-dir '$ledger_dir' claims --consumer $A | grep -q 'claim $id_a'"
check_status "release B too" 0 "$claimctl" --state-dir "$ledger_dir" release --config "$conf" --consumer $B
check_status "status: no lost claims left" 0 "$ctl" --state-dir "$ledger_dir" -j status
check_eq "status -j: lost_claims empty" "$(printf '%s' "$out" | jq -c .lost_claims)" "[]"
if command -v sqlite3 >/dev/null; then
	check_eq "the ledger's audit history: lost, then release, for A" \
		"$(sqlite3 "file:$ledger?mode=ro" "SELECT group_concat(event, ' ') FROM (SELECT event FROM audit WHERE claim = $id_a ORDER BY seq)")" \
		"claim active lost release"
fi

# --- sriovctl through sriovd's socket: the daemon makes the claim on the real VF ---
C=cccccccc-0000-4000-8000-00000000000c
MAC_C=02:00:00:c1:c3:03
vf3=$(vf_addr 3)
free3=$(vf_ip 3)
inproc=(--no-daemon --state-dir "$ledger_dir")
n_api() { grep -c 'event=api .*decision=allow' "$work/sriovd.log"; }
check "sriovd serves on the default socket" test -S /run/sriovd/api.sock
before=$(n_api)
rc=0
doc=$("$claimctl" -j claim --consumer $C --device "$vf3" --mac $MAC_C --vlan 203 2>"$work/claim.err") || rc=$?
check_eq "claim through sriovd: exit 0" "$rc" 0
check_eq "sysfs: when the claim returns, the VF's own netdev carries the claim's MAC" "$(vf_netdev_mac "$vf3")" "$MAC_C"
check_eq "claim through sriovd: sriovd made it (event=api)" "$(($(n_api) - before))" 1
id_c=$(printf '%s' "$doc" | jq -r '.claim.id')
check_eq "claim through sriovd: the VF and its MAC, VLAN" \
	"$(printf '%s' "$doc" | jq -r '.claim.devices[0] | "\(.address) \(.mac) \(.vlan)"')" "$vf3 $MAC_C 203"
check_eq "ip: the claimed VF has the MAC and VLAN the daemon set" "$(vf_ip 3)" "$MAC_C/203"
check_eq "claims through sriovd: the in-process text" "$("$ctl" claims 2>&1)" "$("$ctl" "${inproc[@]}" claims 2>&1)"
check_eq "claims -j through sriovd: the in-process document" "$("$ctl" -j claims 2>&1)" \
	"$("$ctl" "${inproc[@]}" -j claims 2>&1)"
exp=$("$ctl" export "$id_c" --format libvirt 2>/dev/null)
check_eq "export through sriovd: the in-process text" "$exp" "$("$ctl" "${inproc[@]}" export "$id_c" --format libvirt 2>/dev/null)"
check_contains "export: the claim's MAC" "$exp" "<mac address='$MAC_C'/>"
check_contains "export: the claim's VLAN" "$exp" "<tag id='203'/>"
check_eq "-j list through sriovd: the in-process document" \
	"$("$ctl" -j list 2>&1 | jq -S 'del(.. | .stats?)')" "$("$ctl" "${inproc[@]}" -j list 2>&1 | jq -S 'del(.. | .stats?)')"
# list (text) and match from sriovd's model: the claim's MAC and VLAN and who holds the VF, as a fresh read shows them.
list_d=$("$ctl" list 2>&1)
check_eq "list through sriovd: the in-process text" "$list_d" "$("$ctl" "${inproc[@]}" list 2>&1)"
check_contains "list through sriovd: the claimed VF, its MAC and its holder" "$(grep " $vf3 " <<<"$list_d")" "$MAC_C"
check_contains "list through sriovd: claimed-by C" "$(grep " $vf3 " <<<"$list_d")" "claimed-by $C"
sc=(--spec "{\"address\": \"*:$(cut -d: -f2 <<<"$vf3"):*.*\"}")
rc=0
match_d=$("$ctl" match "${sc[@]}" 2>&1) || rc=$?
check_eq "match through sriovd: the in-process text and exit status" "$rc $match_d" \
	"0 $("$ctl" "${inproc[@]}" match "${sc[@]}" --config "$conf" --config-dir "" 2>&1)"
check_contains "match through sriovd: the claimed VF held by C" "$match_d" "$vf3 vf  pf $pf claimed-by $C"
check_eq "match -j through sriovd: the in-process document" "$("$ctl" -j match "${sc[@]}" 2>&1)" \
	"$("$ctl" "${inproc[@]}" -j match "${sc[@]}" --config "$conf" --config-dir "" 2>&1)"
rc=0
err=$("$ctl" match --request nope:1 2>&1) || rc=$?
check_eq "match through sriovd: an unknown alias, exit 2 and the in-process message" "$rc $err" \
	"2 $("$ctl" "${inproc[@]}" match --request nope:1 --config "$conf" --config-dir "" 2>&1)"
before=$(n_api)
check_status "release through sriovd" 0 "$ctl" release --consumer $C
check_eq "release through sriovd: the in-process text" "$out" "claim $id_c released: $vf3"
check_eq "release through sriovd: sriovd did it (event=api)" "$(($(n_api) - before))" 1
check "sriovd still writes the ledger's own write-ahead log (none of its files deleted under it)" \
	bash -c "! ls -l /proc/$dpid/fd | grep -q 'ledger.*(deleted)'"
check_eq "ip: the released VF is scrubbed back to the config's MAC and VLAN" "$(vf_ip 3)" "$free3"
check_eq "sysfs: the released VF's own netdev carries the config's MAC again" "$(vf_netdev_mac "$vf3")" "${free3%/*}"

stop_daemon
save sriovd.log <"$work/sriovd.log"
schema_done
tap_done
