#!/bin/bash
# sriovctl relay add|del|list|stats against a stand-in of sriov-relay's
# control socket (fake-relay.py), which records every request: the bodies
# and paths that reach the socket are checked, not sriovctl's own words
# alone; bad options are refused before anything is asked. Then the
# config's relays: (sriovctl apply, sriovd) and sriovd's API passing
# /v1/relays on to the relay.
#   test-cli-relay.sh SRIOVCTL SRIOVD MKFAKESYSFS
set -uo pipefail
ctl=$1
daemon=$2
mk=$3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../vm/lib/tap.sh"
. "$here/../lib/fake-tree.sh"
fake_tree_setup sriovctl-relay "$mk"
sock=$tmp/relay.sock
log=$tmp/requests.log
export SRIOV_SYSFS_ROOT=$tb
r() { "$ctl" relay --relay-socket "$sock" "$@"; }
# last_request: the last request the relay saw, as "METHOD PATH BODY" (the
# body's keys sorted).
last_request() { tail -1 "$log" | jq -c -S '[.method, .path, .body]'; }
requests() { [ -f "$log" ] && wc -l <"$log" || echo 0; }

check_status "no relay running: exit 1" 1 r list
check_contains "... saying so, with the socket" "$out" "relay list: sriov-relay does not run at $sock"
check_eq "... -j: the error document on stdout" "$(r list -j 2>/dev/null | jq -r .error | cut -c1-36)" \
	"relay list: sriov-relay does not run"

python3 "$here/fake-relay.py" "$sock" "$log" &
fake=$!
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done

# Refused before anything is asked (exit 2, no request).
before=$(requests)
bad() { check_status "$1: exit 2" 2 r "${@:3}"; check_contains "$1: the reason" "$out" "$2"; }
bad "add without --vhost-socket" "relay add: give --vf DEV, --vhost-socket PATH and --lcores L" add --vf 0000:01:10.0 --lcores 1
bad "add without --vf" "relay add: give --vf DEV, --vhost-socket PATH and --lcores L" add --vhost-socket /tmp/a.sock --lcores 1
bad "add without --lcores" "relay add: give --vf DEV, --vhost-socket PATH and --lcores L" add --vf 0000:01:10.0 --vhost-socket /tmp/a.sock
bad "--mode other" "relay: --mode: 'both' is not server or client" add --mode both
bad "--queues 0" "relay: --queues: '0' is not a number of queue pairs (1-8)" add --queues 0
bad "--queues 9" "relay: --queues: '9' is not a number of queue pairs (1-8)" add --queues 9
bad "--queues 1x" "relay: --queues: '1x' is not a number of queue pairs (1-8)" add --queues 1x
bad "--mtu 67" "relay: --mtu: '67' is not an MTU (68-9600)" add --mtu 67
bad "--mtu 9601" "relay: --mtu: '9601' is not an MTU (68-9600)" add --mtu 9601
bad "--lcores twice" "relay: --lcores: lcore 1 is given twice" add --lcores 1,1
bad "--lcores range down" "relay: --lcores: '3-1' is a range that goes down" add --lcores 3-1
bad "--lcores 128" "relay: --lcores: '128' is not an lcore id (0-127)" add --lcores 128
bad "--lcores empty item" "relay: --lcores: '1,,2' is not N[,N...] or N-M" add --lcores 1,,2
bad "--lcores -1" "relay: --lcores: '' is not an lcore id (0-127)" add --lcores=-1
bad "--relay-socket empty" "relay: --relay-socket: give the path" list --relay-socket ""
bad "--vf not a device" "relay add: --vf: " add --vf eth9#0 --vhost-socket /tmp/a.sock --lcores 1
bad "--vf a PF" "relay add: --vf: eth0 is not a VF" add --vf eth0 --vhost-socket /tmp/a.sock --lcores 1
bad "del without NAME" "relay del: give one relay NAME" del
bad "del two names" "relay del: give one relay NAME" del a b
bad "del a bad name" "relay del: 'a/b' is not a relay name" del a/b
bad "stats two names" "relay stats: give at most one relay NAME" stats a b
bad "list with an argument" "relay list: unexpected argument 'x'" list x
bad "list with add's options" "relay list: --vf, --vhost-socket, --mode, --queues, --lcores, --mtu and --name are add's" list --vf x
bad "no subcommand" "relay: give add, del, list or stats" 
bad "other subcommand" "relay: 'start' is not add, del, list or stats" start
check_eq "none of those reached the relay" "$(requests)" "$before"

check_status "list, none yet" 0 r list
check_eq "... says so" "$out" "no relays"
check_eq "... asked GET /v1/relays" "$(last_request)" '["GET","/v1/relays",null]'

# add: PF#N resolved to the VF's PCI address; every option in the body.
vf1=$(basename "$(readlink "$tmp/tb/bus/pci/devices/0000:01:00.0/virtfn1")")
check_status "add eth0#1 with every option" 0 r add --vf eth0#1 --vhost-socket /run/vm1.sock --mode client \
	--queues 2 --lcores 1,3-4 --mtu 1500 --name vm1
check_eq "... the body sent" "$(last_request)" \
	"[\"POST\",\"/v1/relays\",{\"lcores\":[1,3,4],\"mode\":\"client\",\"mtu\":1500,\"name\":\"vm1\",\"queues\":2,\"socket\":\"/run/vm1.sock\",\"vf\":\"$vf1\"}]"
check_eq "... printed" "$out" "vm1          $vf1 <-> /run/vm1.sock (client) waiting, 2 queues, lcores 1,3,4"
check_status "add a vdev, only the required options, -j" 0 r add --vf net_null0,size=64 --vhost-socket /run/t.sock --lcores 2 -j
check_eq "... the body: no defaults filled in" "$(last_request)" \
	'["POST","/v1/relays",{"lcores":[2],"socket":"/run/t.sock","vf":"net_null0,size=64"}]'
check_eq "... -j: the relay's document" "$(jq -c '[.name, .vf, .mode]' <<<"$out")" '["relay1","net_null0,size=64","server"]'
check_status "add by the VF's netdev" 0 r add --vf "$(ls "$tmp/tb/bus/pci/devices/$vf1/net")" --vhost-socket /run/b.sock --name b --lcores 1
check_eq "... resolved to its address" "$(tail -1 "$log" | jq -r .body.vf)" "$vf1"
check_status "a name taken: the relay's refusal, exit 1" 1 r add --vf 0000:01:10.2 --vhost-socket /run/c.sock --name vm1 --lcores 1
check_eq "... printed as it said it" "$out" "sriovctl: relay add: a relay named vm1 exists"
check_status "a VF not on vfio-pci: exit 1" 1 r add --vf 0000:99:00.0 --vhost-socket /run/d.sock --lcores 1 -j
check_eq "... -j: the error document with the relay's reason" \
	"$(r add --vf 0000:99:00.0 --vhost-socket /run/d.sock --lcores 1 -j 2>/dev/null | jq -r .error)" \
	"relay add: vf: 0000:99:00.0 is not bound to vfio-pci (it is on igbvf)"

check_status "list" 0 r list
check_eq "... one line each" "$(awk '{print $1}' <<<"$out" | tr '\n' ' ')" "vm1 relay1 b "
check_status "list -j" 0 r list -j
check_eq "... the relay's document" "$(jq -c '[.relays[].name]' <<<"$out")" '["vm1","relay1","b"]'

check_status "stats vm1" 0 r stats vm1
check_eq "... asked its stats route" "$(last_request)" '["GET","/v1/relays/vm1/stats",null]'
check_contains "... the state" "$out" "vm1: forwarding"
check_contains "... VF to VM" "$out" "vf_to_vm             10 packets, 640 bytes, 1 drops; 5 pkt/s, 320 B/s, 0 drops/s"
check_contains "... VM to VF" "$out" "vm_to_vf             20 packets"
check_status "stats, every relay, -j" 0 r stats -j
check_eq "... one document each" "$(jq -c '[.relays[].name]' <<<"$out")" '["vm1","relay1","b"]'
check_status "stats of no such relay: exit 1" 1 r stats nosuch
check_eq "... the relay's reason" "$out" "sriovctl: relay stats: no relay named nosuch"

check_status "del relay1" 0 r del relay1
check_eq "... asked DELETE" "$(last_request)" '["DELETE","/v1/relays/relay1",null]'
check_eq "... printed" "$out" "relay relay1 removed"
check_eq "del b -j: its document" "$(r del b -j | jq -c '[.name, .deleted]')" '["b",true]'
check_status "del again: exit 1" 1 r del b
check_eq "... the relay's reason" "$out" "sriovctl: relay del: no relay named b"
check_status "list: what is left" 0 r list
check_eq "... vm1" "$(awk '{print $1}' <<<"$out")" "vm1"

# --- relays: in the config, asked by sriovctl apply ---
export SRIOV_RELAY_SOCKET=$sock SRIOV_STATE_DIR=$tmp/state
vf2=$(basename "$(readlink "$tmp/tb/bus/pci/devices/0000:01:00.0/virtfn2")")
cat >"$tmp/c.conf" <<CONF
version: 1
pfs:
  - match: {pci: 0000:01:00.0}
    numvfs: 3
    relays:
      - {vf: 2, socket: /run/vm2.sock, lcores: [1, 2], mode: client, queues: 2}
      - {vf: 0, socket: /run/vm0.sock, lcores: 1, name: vm1}
CONF
check_status "apply with relays: the one named like the hand-made relay with another VF is refused" 1 \
	"$ctl" apply "$tmp/c.conf" --config-dir ""
check_contains "... the other added" "$out" "relay 0000.01.00.0-vf2: $vf2 <-> /run/vm2.sock added"
check_contains "... the refused one named, with both VFs" "$out" \
	"apply: relay vm1: the relay has it with VF $vf1 and socket /run/vm1.sock, not 0000:01:10.0 and /run/vm0.sock"
check_eq "... the body the relay got" "$(grep '"POST"' "$log" | tail -1 | jq -c -S .body)" \
	"{\"lcores\":[1,2],\"mode\":\"client\",\"name\":\"0000.01.00.0-vf2\",\"queues\":2,\"socket\":\"/run/vm2.sock\",\"vf\":\"$vf2\"}"
sed -i 's/name: vm1/name: vm0/' "$tmp/c.conf"
check_status "apply again, vm0 now" 0 "$ctl" apply "$tmp/c.conf" --config-dir "" -j
check_eq "... -j: added and present" "$(jq -c .relays <<<"$out")" \
	"{\"added\":[\"vm0: 0000:01:10.0 <-> /run/vm0.sock\"],\"present\":[\"0000.01.00.0-vf2\"],\"errors\":[]}"
check_status "and again: nothing to add" 0 "$ctl" apply "$tmp/c.conf" --config-dir ""
check_contains "... 2 there already" "$out" "2 relays there already"
posts=$(grep -c '"POST"' "$log")

# --- sriovd: its API passes /v1/relays on; it adds what the relay lacks ---
api=$tmp/api.sock
fake_sriovd_start "$tmp/d.log" "$api" --resync-s 0 --settle-ms 50 --socket "$api" --group daemon --state-dir "$tmp/ledger"
for _ in $(seq 100); do curl -sf --unix-socket "$api" -o /dev/null http://l/v1/relays && break; sleep 0.1; done
chmod 755 "$tmp"
chmod 0666 "$api" # every local user may connect; writing needs the group
acurl() { curl -sS --unix-socket "$api" -w '\n%{http_code}' "$@"; }
out=$(acurl http://l/v1/relays)
check_eq "GET /v1/relays through sriovd: 200" "$(tail -1 <<<"$out")" 200
check_eq "... the relay's list" "$(sed '$d' <<<"$out" | jq -c '[.relays[].name]')" '["vm1","0000.01.00.0-vf2","vm0"]'
check_eq "... sriovd added nothing: all there" "$(grep -c '"POST"' "$log")" "$posts"
out=$(acurl -X POST -H 'Content-Type: application/json' -d '{"vf": "net_null0", "socket": "/run/n.sock", "name": "n"}' \
	http://l/v1/relays)
check_eq "POST /v1/relays through sriovd: the relay's 201" "$(tail -1 <<<"$out")" 201
check_eq "... its body reached the relay" "$(last_request)" \
	'["POST","/v1/relays",{"name":"n","socket":"/run/n.sock","vf":"net_null0"}]'
out=$(acurl http://l/v1/relays/n/stats)
check_eq "GET /v1/relays/n/stats through sriovd" "$(tail -1 <<<"$out"; sed '$d' <<<"$out" | jq -r .vf_to_vm.packets)" "200
10"
out=$(acurl -X DELETE http://l/v1/relays/n)
check_eq "DELETE /v1/relays/n through sriovd: 204" "$(tail -1 <<<"$out")" 204
out=$(acurl http://l/v1/relays/nosuch)
check_eq "... an unknown relay: the relay's 404" "$(tail -1 <<<"$out"; sed '$d' <<<"$out" | jq -r .error.message)" "404
no relay named nosuch"
out=$(acurl -X PUT http://l/v1/relays)
check_eq "PUT /v1/relays: 405 from sriovd" "$(tail -1 <<<"$out")" 405
out=$(setpriv --reuid 4242 --regid 4242 --clear-groups curl -sS --unix-socket "$api" -w '\n%{http_code}' \
	-X DELETE http://l/v1/relays/vm0)
check_eq "DELETE by a uid outside sriovd's group: 403, not passed on" "$(tail -1 <<<"$out"; tail -1 "$log" | jq -r .method)" \
	"403
GET"
# The relay loses its relays (restarted): sriovd's next reconcile adds them.
kill "$fake"
wait "$fake" 2>/dev/null
fake=
out=$(acurl http://l/v1/relays)
check_eq "the relay gone: 502 from sriovd" "$(tail -1 <<<"$out")" 502
check_contains "... saying so" "$(sed '$d' <<<"$out" | jq -r .error.message)" "sriov-relay does not run at $sock"
: >"$log"
python3 "$here/fake-relay.py" "$sock" "$log" &
fake=$!
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
curl -sf --unix-socket "$api" -X POST http://l/v1/apply >/dev/null
for _ in $(seq 100); do [ "$(grep -c '"POST"' "$log")" -ge 2 ] && break; sleep 0.1; done
check_eq "a fresh relay: sriovd added the config's two" "$(grep '"POST"' "$log" | jq -r .body.name | sort | tr '\n' ' ')" \
	"0000.01.00.0-vf2 vm0 "
check_contains "... and logged it" "$(cat "$tmp/d.log")" "event=relay-added relay=\"vm0: 0000:01:10.0 <-> /run/vm0.sock\""
tap_done
