#!/bin/bash
# sriovd's service API on a fake sysfs tree, with curl --unix-socket: the
# socket (mode, group, a missing group, systemd socket activation), every
# route's answer against sriovctl -j (the same documents), the error
# statuses, authorization from peer credentials (root, a user outside the
# group, the same user with the group as a supplementary group), every
# limit (body, depth, header, rate, connections, a slow client), and
# `promtool check metrics`.
#   test-api.sh SRIOVCTL SRIOVD MKFAKESYSFS
set -uo pipefail
ctl=$1
daemon=$2
mk=$3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../vm/lib/tap.sh"
. "$here/../lib/fake-tree.sh"
raw=$here/rawclient.py
fake_tree_setup sriovd-api "$mk"
chmod 755 "$tmp"
cat >"$tmp/c.conf" <<'EOF'
version: 1
pfs:
  - match:
      pci: 0000:01:00.0
    numvfs: 3
    labels: [fast]
device-specs:
  - vendor_id: "8086"
    physical_network: physnet1
aliases:
  - name: a1
    vendor_id: "8086"
    device_type: type-VF
networks:
  - name: n1
    vlan: 10
    labels: [fast]
EOF
sock=$tmp/api.sock

# start_daemon LOG ARGS...: sriovd in the background, until it serves on $sock.
start_daemon() {
	local log=$1
	shift
	fake_sriovd_start "$log" "$sock" --resync-s 0 "$@"
}
api() { curl -sS --unix-socket "$sock" "$@"; }
# code METHOD PATH [CURL ARGS...]: the status code alone
code() {
	local m=$1 p=$2
	shift 2
	curl -sS --unix-socket "$sock" -o "$tmp/body" -w '%{http_code}' -X "$m" "$@" "http://localhost$p"
}
err() { jq -c '.error | [.code, .field, .message]' "$tmp/body"; }

# --- the socket: a group that does not exist leaves it root's ---
check "sriovd listens (group sriovd-nosuch missing)" start_daemon "$tmp/d0.log" --socket "$sock" --group sriovd-nosuch
check_contains "the missing group is a warning naming it" "$(cat "$tmp/d0.log")" \
	"event=api-group warning=\"group 'sriovd-nosuch' does not exist: $sock is root's only (mode 0600)"
check_eq "socket mode 0600" "$(stat -c %a "$sock")" 600
sriovd_stop
check "the socket is removed at exit" test ! -e "$sock"
check_status "a socket path longer than sun_path is refused" 1 \
	"$daemon" "${fake_sriovd_args[@]}" --resync-s 0 --socket "$tmp/$(printf 'x%.0s' $(seq 120))"
check_contains "naming the option" "$out" "event=api-failed error=\"--socket $tmp/x"
check_status "--api-rate 0 is refused" 2 "$daemon" --api-rate 0
check_contains "naming the option and the range" "$out" "sriovd: --api-rate: '0' is not a number from 1 to 1000000"

# The main daemon of this test: group daemon (gid 1), small limits.
check "sriovd listens (group daemon)" start_daemon "$tmp/d.log" --socket "$sock" --group daemon \
	--api-rate 20 --api-timeout-s 2 --api-max-connections 8
log=$tmp/d.log
check_eq "socket mode 0660, root:daemon" "$(stat -c '%a %U:%G' "$sock")" "660 root:daemon"

# --- the same documents as sriovctl -j ---
ctlj() { "$ctl" -j --sysfs-root "$tb" "$@"; }
check_eq "GET /v1/inventory is sriovctl -j list" "$(api http://localhost/v1/inventory)" "$(ctlj list)"
check_eq "GET /v1/devices/0000:01:10.2 is sriovctl -j show" "$(api http://localhost/v1/devices/0000:01:10.2)" \
	"$(ctlj show 0000:01:10.2)"
check_eq "GET /v1/devices/eth0%231 (PF#N) is sriovctl -j show eth0#1" "$(api 'http://localhost/v1/devices/eth0%231')" \
	"$(ctlj show 'eth0#1')"
check_eq "GET /v1/plan is sriovctl -j plan" "$(api http://localhost/v1/plan)" \
	"$(ctlj plan --config-dir '' "$tmp/c.conf")"
m() { api -H 'Content-Type: application/json' -d "$1" http://localhost/v1/match; }
check_eq "POST /v1/match request is sriovctl -j match --request" "$(m '{"request":"a1:2"}')" \
	"$(ctlj match --config "$tmp/c.conf" --config-dir '' --request a1:2)"
check_eq "POST /v1/match network is sriovctl -j match --network" "$(m '{"network":"n1"}')" \
	"$(ctlj match --config "$tmp/c.conf" --config-dir '' --network n1)"
check_eq "POST /v1/match spec is sriovctl -j match --spec" "$(m '{"spec":{"address":"*:02:*.*"}}')" \
	"$(ctlj match --spec '{"address":"*:02:*.*"}')"
check_eq "GET /v1/status: running, in sync, the daemon's record" \
	"$(api http://localhost/v1/status | jq -c '[.running, .drift, .daemon.pid, .config]')" \
	"[true,0,$sriovd_pid,\"$tmp/c.conf\"]"
check_eq "GET /v1/specs" "$(api http://localhost/v1/specs | jq -c .device_specs)" \
	'[{"vendor_id":"8086","physical_network":"physnet1"}]'
check_eq "GET /v1/aliases" "$(api http://localhost/v1/aliases | jq -c '.aliases[0].name')" '"a1"'
check_eq "GET /v1/networks" "$(api http://localhost/v1/networks | jq -c '.networks[0] | [.name, .vlan]')" '["n1",10]'
check_eq "GET /v1/health" "$(api http://localhost/v1/health | jq -c '[.status, .pid]')" "[\"ok\",$sriovd_pid]"

# --- errors ---
check_eq "404 unknown route" "$(code GET /v1/nope)" 404
check_eq "404 document" "$(err)" '["not_found",null,"/v1/nope: no such route"]'
check_eq "404 unknown device, field address" "$(code GET /v1/devices/0000:09:00.0)" 404
check_eq "404 names the field" "$(jq -r .error.field "$tmp/body")" address
check_eq "405 wrong method" "$(code DELETE /v1/inventory)" 405
check_eq "405 document" "$(err)" '["method_not_allowed",null,"DELETE /v1/inventory: method not allowed (allowed: GET)"]'
check_contains "405 says Allow: GET" "$(api -i -X DELETE http://localhost/v1/inventory | tr -d '\r')" "Allow: GET"
check_eq "415 without application/json" "$(code POST /v1/match -d '{}')" 415
check_eq "400 bad spec" "$(code POST /v1/match -H 'Content-Type: application/json' -d '{"spec":{"address":"*:*:*.9"}}')" 400
check_eq "400 names the field and the reason" "$(err)" \
	"[\"bad_request\",\"spec\",\"spec: address: function '9' (in '*:*:*.9') is greater than the maximum allowable value (7)\"]"
check_eq "400 unknown key" "$(code POST /v1/match -H 'Content-Type: application/json' -d '{"sepc":{}}')" 400
check_eq "400 names the unknown key" "$(jq -r .error.field "$tmp/body")" sepc

# --- limits ---
head -c 65400 /dev/zero | tr '\0' ' ' >"$tmp/pad"
printf '{"request":"a1:1"%s}' "$(cat "$tmp/pad")" >"$tmp/ok.json"
check_eq "a 64 KiB body is taken" "$(code POST /v1/match -H 'Content-Type: application/json' --data-binary @"$tmp/ok.json")" 200
head -c 65537 /dev/zero | tr '\0' ' ' >"$tmp/big.json"
check_eq "413 above 64 KiB (Content-Length)" "$(code POST /v1/match -H 'Content-Type: application/json' --data-binary @"$tmp/big.json")" 413
check_eq "413 at once for a client that waits for 100 Continue" \
	"$(code POST /v1/match -H 'Content-Type: application/json' -H 'Expect: 100-continue' --data-binary @"$tmp/big.json")" 413
check_eq "413 document" "$(err)" '["body_too_large",null,"the body is larger than 65536 bytes"]'
check_eq "413 above 64 KiB (chunked, no Content-Length)" \
	"$(code POST /v1/match -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' --data-binary @"$tmp/big.json")" 413
deep=$(printf '[%.0s' $(seq 20))$(printf ']%.0s' $(seq 20))
check_eq "400 nested too deep" "$(code POST /v1/match -H 'Content-Type: application/json' -d "{\"spec\":$deep}")" 400
check_eq "400 says the depth" "$(err)" '["bad_request",null,"the body is nested deeper than 16 levels"]'
check_eq "431 for a 20 KiB header" "$(/usr/bin/python3 "$raw" "$sock" header 20000)" 431
check_eq "a 4 KiB header is fine" "$(/usr/bin/python3 "$raw" "$sock" header 4000)" 200
rates=$(/usr/bin/python3 "$raw" "$sock" rate 25)
check_eq "rate: 20 requests answered, then 429 on the same connection" \
	"$(tr ' ' '\n' <<<"$rates" | sort | uniq -c | awk '{print $2 "x" $1}' | tr '\n' ' ')" "200x20 429x5 "
check_eq "a new connection has its own budget" "$(code GET /v1/health)" 200
check_eq "a client sending a byte every 0.3 s is cut off before its request is in" \
	"$(/usr/bin/python3 "$raw" "$sock" slow 0.3 | cut -d' ' -f1)" cut
check_contains "the cut is logged" "$(cat "$log")" "event=api-timeout uid=0"
check_eq "9 connections at a limit of 8: the 9th waits, served once the idle ones are cut" \
	"$(/usr/bin/python3 "$raw" "$sock" hold 8)" "answered 200"

# --- the model: GET /v1/inventory is kept until the host changes (here: an apply) ---
numa=$tb/bus/pci/devices/0000:02:00.0/numa_node
was=$(cat "$numa")
echo 1 >"$numa"
check "a change behind sriovd's back is not read per request" \
	test "$(api http://localhost/v1/inventory)" != "$(ctlj list)"

# --- authorization: SO_PEERCRED and the peer's groups ---
check_eq "root may POST /v1/apply" "$(code POST /v1/apply)" 200
check_eq "after an apply, GET /v1/inventory is read again" "$(api http://localhost/v1/inventory)" "$(ctlj list)"
echo "$was" >"$numa"
check_eq "the same after the change is undone" "$(code POST /v1/apply)" 200
check_contains "the decision is logged" "$(cat "$log")" "event=api uid=0 pid="
check_contains "allow for root" "$(cat "$log")" "route=\"POST /v1/apply\" decision=allow"
chmod 0666 "$sock" # let nobody connect, as a member of no group of ours
as_nobody() { setpriv --reuid 65534 --regid 65534 "$@"; }
check_eq "nobody reads the inventory" \
	"$(as_nobody --clear-groups curl -sS --unix-socket "$sock" -o /dev/null -w '%{http_code}' http://localhost/v1/inventory)" 200
as_nobody --clear-groups curl -sS --unix-socket "$sock" -w '\n%{http_code}' -X POST http://localhost/v1/apply >"$tmp/out"
check_eq "nobody gets 403 on POST /v1/apply" "$(tail -1 "$tmp/out")" 403
sed '$d' "$tmp/out" >"$tmp/body"
check_eq "403 document" "$(err)" '["forbidden",null,"POST /v1/apply needs uid 0 or membership of the group daemon"]'
check_contains "deny is logged with nobody's uid" "$(cat "$log")" "event=api uid=65534 pid="
check_contains "deny" "$(cat "$log")" "route=\"POST /v1/apply\" decision=deny"
check_eq "nobody with group daemon as a supplementary group may POST /v1/apply" \
	"$(as_nobody --groups 1 curl -sS --unix-socket "$sock" -o /dev/null -w '%{http_code}' -X POST http://localhost/v1/apply)" 200

# --- claims: claim/'s functions, the peer's uid recorded ---
A=11111111-2222-3333-4444-555555555555 B=22222222-2222-3333-4444-555555555555
J=(-H 'Content-Type: application/json')
check_eq "POST /v1/claims: 201 for a new claim" \
	"$(code POST /v1/claims "${J[@]}" -d "{\"consumer\":\"$A\",\"request\":\"a1:2\"}")" 201
check_eq "it holds 2 VFs of eth0" "$(jq -c '[.claim.devices[].address, .repeat]' "$tmp/body")" \
	'["0000:01:10.0","0000:01:10.2",false]'
first=$(jq -c .claim "$tmp/body")
check_eq "the same request again: 200, the same claim" \
	"$(code POST /v1/claims "${J[@]}" -d "{\"consumer\":\"$A\",\"request\":\"a1:2\"}")" 200
check_eq "repeat, same devices" "$(jq -c '[.repeat, .claim]' "$tmp/body")" "[true,$first]"
check_eq "409 when it cannot be met" \
	"$(code POST /v1/claims "${J[@]}" -d "{\"consumer\":\"$B\",\"request\":\"a1:9\"}")" 409
check_eq "409 says how many are free and why the others do not count" \
	"$(jq -c '[.error.code, .refused]' "$tmp/body")" \
	'["conflict",{"wanted":9,"free":4,"claimed":2,"wrong_numa":0,"not_matched":5}]'
check_eq "400 for a consumer that is not a UUID" \
	"$(code POST /v1/claims "${J[@]}" -d '{"consumer":"x","request":"a1:1"}')" 400
check_eq "naming the field" "$(err)" "[\"bad_request\",\"consumer\",\"consumer: 'x' is not a UUID (8-4-4-4-12 hex digits)\"]"
check_eq "400 for two kinds at once" \
	"$(code POST /v1/claims "${J[@]}" -d "{\"consumer\":\"$B\",\"request\":\"a1:1\",\"device\":\"eth5\"}")" 400
check_eq "400 for an alias the config lacks, field request" \
	"$(code POST /v1/claims "${J[@]}" -d "{\"consumer\":\"$B\",\"request\":\"zz:1\"}"; jq -r .error.field "$tmp/body")" 400request
check_eq "404 for a network the config lacks, field network" \
	"$(code POST /v1/claims "${J[@]}" -d "{\"consumer\":\"$B\",\"network\":\"nn\"}"; jq -r .error.field "$tmp/body")" 404network
check_eq "GET /v1/claims is sriovctl -j claims (one ledger)" "$(api http://localhost/v1/claims)" \
	"$(ctlj claims --config "$tmp/c.conf" --config-dir '')"
check_eq "GET /v1/claims?consumer=" "$(api "http://localhost/v1/claims?consumer=$A" | jq -c '[.claims[].id]')" '[1]'
check_eq "GET /v1/claims/1" "$(api http://localhost/v1/claims/1 | jq -c '.claim | [.id, .consumer, .state, .uid]')" \
	"[1,\"$A\",\"active\",0]"
check_eq "GET /v1/claims/99: 404" "$(code GET /v1/claims/99)" 404
check_eq "GET /v1/claims/x: 400 field id" "$(code GET /v1/claims/x; jq -r .error.field "$tmp/body")" 400id
as_nobody --clear-groups curl -sS --unix-socket "$sock" -w '\n%{http_code}' "${J[@]}" \
	-d "{\"consumer\":\"$B\",\"device\":\"0000:02:10.0\"}" http://localhost/v1/claims >"$tmp/out"
check_eq "nobody outside the group: 403 on POST /v1/claims" "$(tail -1 "$tmp/out")" 403
as_nobody --groups 1 curl -sS --unix-socket "$sock" -w '\n%{http_code}' "${J[@]}" \
	-d "{\"consumer\":\"$B\",\"device\":\"0000:02:10.0\"}" http://localhost/v1/claims >"$tmp/out"
check_eq "nobody in the group: 201" "$(tail -1 "$tmp/out")" 201
bid=$(sed '$d' "$tmp/out" | jq .claim.id)
check_eq "the claim records nobody's uid" "$(api "http://localhost/v1/claims/$bid" | jq .claim.uid)" 65534
as_other() { setpriv --reuid 65533 --regid 65533 --groups 1 curl -sS --unix-socket "$sock" -o /dev/null -w '%{http_code}' "$@"; }
check_eq "another uid of the group may not release it (claim)" "$(as_other -X DELETE "http://localhost/v1/claims/$bid")" 403
check_eq "nor the consumer" "$(as_other -X DELETE "http://localhost/v1/consumers/$B")" 403
check_eq "the uid that made it may" \
	"$(as_nobody --groups 1 curl -sS --unix-socket "$sock" -o /dev/null -w '%{http_code}' -X DELETE "http://localhost/v1/claims/$bid")" 200
api http://localhost/metrics >"$tmp/metrics"
check_contains "metrics: 2 VFs of eth0 claimed" "$(cat "$tmp/metrics")" \
	'sriovd_vfs{pf="0000:01:00.0",pf_netdev="eth0",state="claimed"} 2'
check_contains "metrics: the free ones" "$(cat "$tmp/metrics")" \
	'sriovd_vfs{pf="0000:01:00.0",pf_netdev="eth0",state="free"} 1'
check_contains "metrics: 2 claims made" "$(cat "$tmp/metrics")" "sriovd_claims_total 2"
check_contains "metrics: 1 released" "$(cat "$tmp/metrics")" "sriovd_releases_total 1"
check_contains "metrics: 2 claim latencies" "$(cat "$tmp/metrics")" "sriovd_claim_duration_seconds_count 2"
check "promtool accepts it with claims" promtool check metrics <"$tmp/metrics"
check_eq "DELETE /v1/consumers/A (root)" "$(code DELETE "/v1/consumers/$A"; jq -c '[.released[].id]' "$tmp/body")" '200[1]'
check_eq "a second release is a no-op" "$(code DELETE "/v1/consumers/$A"; jq -c '.released' "$tmp/body")" '200[]'
check_eq "an unknown consumer: 404" "$(code DELETE /v1/consumers/33333333-2222-3333-4444-555555555555)" 404
check_eq "sriovctl sees nothing held" "$(ctlj claims --config "$tmp/c.conf" --config-dir '' | jq -c .claims)" '[]'
chmod 0660 "$sock"

# --- events: the ledger's audit history and sriovd's own, one JSON line each ---
C=44444444-2222-3333-4444-555555555555
seq0=$(api 'http://localhost/v1/events?since=0' -m 1 2>/dev/null | tail -1 | jq .seq)
timeout 20 curl -sN -D "$tmp/evhead" --unix-socket "$sock" http://localhost/v1/events >"$tmp/events" 2>/dev/null &
evpid=$!
# The stream begins when its answer's head is out: wait for it.
for _ in $(seq 200); do grep -q '^HTTP/1.1 200' "$tmp/evhead" 2>/dev/null && break; sleep 0.05; done
code POST /v1/claims "${J[@]}" -d "{\"consumer\":\"$C\",\"request\":\"a1:1\"}" >/dev/null
"$ctl" release --sysfs-root "$tb" --config "$tmp/c.conf" --config-dir '' --consumer "$C" >/dev/null
echo 0 >"$tb/bus/pci/devices/0000:01:00.0/sriov_numvfs"
code POST /v1/apply >/dev/null
for _ in $(seq 40); do grep -q '"event":"heal"' "$tmp/events" && break; sleep 0.1; done
kill "$evpid" 2>/dev/null
wait "$evpid" 2>/dev/null
check_eq "GET /v1/events streams what follows: the API's claim, sriovctl's release, drift, heal" \
	"$(jq -c '[.event, .consumer, .device, .detail]' "$tmp/events" | tr '\n' ' ')" \
	"[\"claim\",\"$C\",null,\"a1:1\"] [\"active\",\"$C\",null,null] [\"release\",\"$C\",null,null] [\"drift\",null,\"0000:01:00.0\",\"1 change\"] [\"heal\",null,\"0000:01:00.0\",\"1 write\"] "
check_eq "events are numbered on from the history" "$(head -1 "$tmp/events" | jq .seq)" "$((seq0 + 1))"
check_eq "the stream is application/x-ndjson" \
	"$(curl -sS -m 1 --unix-socket "$sock" -o /dev/null -w '%{content_type}' http://localhost/v1/events 2>/dev/null)" \
	application/x-ndjson
check_eq "?since=N replays the history after N" \
	"$(curl -sS -m 1 --unix-socket "$sock" "http://localhost/v1/events?since=$seq0" 2>/dev/null | jq -c .event | tr '\n' ' ')" \
	'"claim" "active" "release" "drift" "heal" '
check_eq "?since=x: 400 field since" "$(code GET '/v1/events?since=x'; jq -r .error.field "$tmp/body")" 400since
timeout 10 curl -sN --unix-socket "$sock" http://localhost/v1/events >/dev/null 2>&1 &
evpid=$!
sleep 0.3
check_eq "a stream open does not hold up other requests" "$(code GET /v1/health)" 200

# --- metrics ---
api http://localhost/metrics >"$tmp/metrics"
check "promtool check metrics accepts /metrics" promtool check metrics <"$tmp/metrics"
check_contains "VFs per PF and state" "$(cat "$tmp/metrics")" \
	'sriovd_vfs{pf="0000:01:00.0",pf_netdev="eth0",state="free"} 3'
check_contains "applies counted (start + 2 POST /v1/apply)" "$(cat "$tmp/metrics")" "sriovd_applies_total"
check_contains "drift gauge" "$(cat "$tmp/metrics")" "sriovd_drift 0"
check_contains "the heal is counted" "$(cat "$tmp/metrics")" "sriovd_heals_total 1"
check_eq "Content-Type of the text format 0.0.4" \
	"$(curl -sS --unix-socket "$sock" -o /dev/null -w '%{content_type}' http://localhost/metrics)" \
	"text/plain; version=0.0.4; charset=utf-8"
check "sriovd stops with a stream open" sriovd_stop
wait "$evpid" 2>/dev/null

# --- systemd socket activation ---
asock=$tmp/act.sock
systemd-socket-activate -l "$asock" "$daemon" "${fake_sriovd_args[@]}" --resync-s 0 --socket "$tmp/unused.sock" \
	2>"$tmp/act.log" &
apid=$!
for _ in $(seq 100); do [ -S "$asock" ] && break; sleep 0.05; done
check_eq "socket activation: served on systemd's socket" \
	"$(curl -sS -m 10 --unix-socket "$asock" http://localhost/v1/health | jq -r .status)" ok
check_contains "it says so" "$(cat "$tmp/act.log")" "event=api-listening socket=LISTEN_FDS"
check "it binds no socket of its own" test ! -e "$tmp/unused.sock"
kill "$apid" 2>/dev/null
wait "$apid" 2>/dev/null

tap_done
