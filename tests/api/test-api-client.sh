#!/bin/bash
# sriovctl through a running sriovd, on a fake sysfs tree: GET
# /v1/claims/{id}/export answers what `sriovctl export` prints, in every
# format (text and content type), 404 and 400 naming format; claim,
# release, claims, match, export CLAIM-ID, list and -j list through the daemon print
# exactly what the in-process path prints on a twin tree (stdout, stderr,
# exit status; text and -j), the daemon makes the claims (its event=api
# lines), a user outside the group gets a clear error; --socket and
# --no-daemon; with sriovd stopped the same commands run in-process.
#   test-api-client.sh SRIOVCTL SRIOVD MKFAKESYSFS
set -uo pipefail
ctl=$1
daemon=$2
mk=$3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../vm/lib/tap.sh"
. "$here/../lib/fake-tree.sh"
fake_tree_setup sriovd-client "$mk"
twin=$tmp/twin
"$mk" "$twin" testbed >/dev/null
chmod 755 "$tmp"
cat >"$tmp/c.conf" <<'EOC'
version: 1
pfs:
  - match:
      pci: 0000:01:00.0
    numvfs: 3
    labels: [fast]
aliases:
  - name: a1
    vendor_id: "8086"
    device_type: type-VF
networks:
  - name: n1
    vlan: 10
    labels: [fast]
EOC
sock=$tb/.sriovd/api.sock
A=aaaaaaaa-0000-4000-8000-000000000001
B=bbbbbbbb-0000-4000-8000-000000000002

dpid=
start_daemon() { fake_sriovd_start "$tmp/d.log" "$sock" --resync-s 0 -v && dpid=$sriovd_pid; }
stop_daemon() {
	sriovd_stop
	dpid=
}
# ctl ARGS...: sriovctl on the tree; $rc, $out, $err
ctl() {
	rc=0
	"$ctl" --sysfs-root "$tb" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
	out=$(cat "$tmp/out")
	err=$(cat "$tmp/err")
}
# get PATH: the body in $tmp/body, $code and $ctype
get() {
	local w
	w=$(curl -sS --unix-socket "$sock" -o "$tmp/body" -w '%{http_code} %{content_type}' "http://localhost$1")
	code=${w%% *}
	ctype=${w#* }
}

check "sriovd serves on the tree's socket" start_daemon

# --- GET /v1/claims/{id}/export: what sriovctl export prints ---
curl -sS --unix-socket "$sock" -H 'Content-Type: application/json' \
	-d "{\"consumer\": \"$A\", \"network\": \"n1\", \"count\": 2}" http://localhost/v1/claims >/dev/null
curl -sS --unix-socket "$sock" -H 'Content-Type: application/json' \
	-d "{\"consumer\": \"$B\", \"device\": \"0000:01:10.4\", \"mac\": \"02:00:00:00:00:0b\", \"vlan\": 7}" \
	http://localhost/v1/claims >/dev/null
for id in 1 2; do
	for f in libvirt libvirt-hostdev qemu xen json; do
		get "/v1/claims/$id/export?format=$f"
		"$ctl" --sysfs-root "$tb" --no-daemon export "$id" --format "$f" >"$tmp/cli" 2>/dev/null
		check_eq "export $id $f: 200" "$code" 200
		check "export $id $f: the text of sriovctl export" cmp -s "$tmp/body" "$tmp/cli"
		case $f in libvirt*) want=application/xml ;; json) want=application/json ;; *) want=text/plain ;; esac
		check_eq "export $id $f: Content-Type $want" "$ctype" "$want"
	done
done
get "/v1/claims/1/export"
check_eq "no format: json" "$(jq -r '.claim_id, .consumer, (.devices | length)' "$tmp/body" | paste -sd' ')" "1 $A 2"
get "/v1/claims/9/export?format=qemu"
check_eq "an unknown claim: 404 naming id" "$code $(jq -c '.error | [.field, .message]' "$tmp/body")" \
	'404 ["id","no claim 9"]'
get "/v1/claims/1/export?format=XEN"
check_eq "a bad format: 400 naming format" "$code $(jq -c '.error | [.field, .message]' "$tmp/body")" \
	"400 [\"format\",\"format: 'XEN' is not known (libvirt, libvirt-hostdev, qemu, xen, json)\"]"
curl -sS --unix-socket "$sock" -X DELETE "http://localhost/v1/claims/2" >/dev/null
get "/v1/claims/2/export?format=qemu"
check_eq "a released claim: 409 saying so" "$code $(jq -r '.error.message' "$tmp/body")" \
	"409 claim 2 of $B is released, not active: its devices are not the consumer's"

# --- the CLI through the daemon against in-process on the twin tree ---
curl -sS --unix-socket "$sock" -X DELETE "http://localhost/v1/consumers/$A" >/dev/null
check_eq "the tree starts from released claims" "$(curl -sS --unix-socket "$sock" http://localhost/v1/claims | jq '.claims | length')" 0
# The twin gets the same history: two claims, released.
cf=(--config "$tmp/c.conf" --config-dir "")
"$ctl" --sysfs-root "$twin" claim --consumer "$A" --network n1 --count 2 "${cf[@]}" >/dev/null
"$ctl" --sysfs-root "$twin" claim --consumer "$B" --device 0000:01:10.4 "${cf[@]}" >/dev/null
"$ctl" --sysfs-root "$twin" release --consumer "$B" "${cf[@]}" >/dev/null
"$ctl" --sysfs-root "$twin" release --consumer "$A" "${cf[@]}" >/dev/null
C=cccccccc-0000-4000-8000-000000000003
D=dddddddd-0000-4000-8000-000000000004
# norm FILE: what differs between two runs (times, the pid that asked)
norm() {
	if jq -e . "$1" >/dev/null 2>&1; then
		jq -S 'del(.. | .pid?, .created?, .updated?)' "$1"
	else
		sed -E 's/since [0-9T:-]+Z/since T/' "$1"
	fi
}
n_api() { grep -c 'event=api .*decision=allow' "$tmp/d.log"; }
steps=(
	"-j claim --consumer $A --network n1 --count 2"
	"claim --consumer $A --network n1 --count 2"
	"claim --consumer $B --request a1:1 --vlan 5"
	"-j claim --consumer $C --request a1:9"
	"claim --consumer $C --request a1:9"
	"claim --consumer $C --network n9"
	"claim --consumer $C --request a1:x"
	"-j claim --consumer $C --request zz:1"
	"claim --consumer $C --device 0000:01:00.0"
	"claims"
	"-j claims"
	"-j claims --consumer $B"
	"export 3 --format qemu"
	"export 3 --format libvirt"
	"-j export 3"
	"export 99 --format xen"
	"export 1 --format xen"
	"-j list"
	"list"
	"match --network n1"
	"-j match --network n1"
	"match --request a1:2"
	"-j match --request a1:2"
	"match --spec {\"vendor_id\":\"8086\",\"device_type\":\"type-VF\"}"
	"-j match --spec [{\"address\":\"*:01:10.*\"},{\"address\":\"0000:02:00.0\"}]"
	"match --alias {\"name\":\"x\",\"vendor_id\":\"8086\"} --request x:1,a1:1"
	"match --request zz:1"
	"-j match --request a1:x"
	"match --network n9"
	"match --spec {\"vendor_id\":1}"
	"match --network n1 --request a1:1"
	"match"
	"release --consumer $A --claim 4 -j"
	"release --consumer $A --claim 3"
	"release --consumer $B"
	"release --consumer $B"
	"-j release --consumer $D"
	"claims --consumer $D"
)
for i in "${!steps[@]}"; do
	read -ra args <<<"${steps[$i]}"
	case " ${steps[$i]} " in *" claim "* | *" release "* | *" claims "* | *" match "*) args+=("${cf[@]}") ;; esac
	before=$(n_api)
	rcd=0
	"$ctl" --sysfs-root "$tb" "${args[@]}" >"$tmp/d.out" 2>"$tmp/d.err" || rcd=$?
	rci=0
	"$ctl" --sysfs-root "$twin" "${args[@]}" >"$tmp/i.out" 2>"$tmp/i.err" || rci=$?
	sed -i "s|$twin|$tb|g" "$tmp/i.out" "$tmp/i.err"
	check_eq "${steps[$i]}: the exit status through sriovd is in-process's ($rci)" "$rcd" "$rci"
	check_eq "${steps[$i]}: the same stdout" "$(norm "$tmp/d.out")" "$(norm "$tmp/i.out")"
	check_eq "${steps[$i]}: the same stderr" "$(cat "$tmp/d.err")" "$(cat "$tmp/i.err")"
	case ${steps[$i]} in
	*claim\ --consumer* | *release*)
		check_eq "${steps[$i]}: sriovd made it (one event=api line)" "$(($(n_api) - before))" 1 ;;
	esac
done

# In-process commands beside the daemon on the same ledger: sriovd's
# connection keeps its write-ahead log (a file of the ledger opened and
# closed in sriovd would drop SQLite's locks, and the last in-process
# connection to close would then delete the log under sriovd).
"$ctl" --sysfs-root "$tb" -j claim --consumer "$D" --request a1:1 >/dev/null 2>&1
"$ctl" --sysfs-root "$tb" --no-daemon claims "${cf[@]}" >/dev/null 2>&1
"$ctl" --sysfs-root "$tb" --no-daemon -j claims "${cf[@]}" >/dev/null 2>&1
check "sriovd's ledger files are not deleted under it" bash -c "! ls -l /proc/$dpid/fd | grep -q 'ledger.*(deleted)'"
check_eq "a claim through sriovd is seen in-process" \
	"$("$ctl" --sysfs-root "$tb" --no-daemon -j claims --consumer "$D" "${cf[@]}" | jq '.claims | length')" 1
"$ctl" --sysfs-root "$tb" release --consumer "$D" >/dev/null 2>&1

# --- who may: the socket's mode keeps a user out; with the socket open, the API's 403 ---
nobody() { setpriv --reuid 65534 --regid 65534 --clear-groups -- "$@"; }
chmod 755 "$tb" "$tb/.sriovd"
rc=0
err=$(nobody "$ctl" --sysfs-root "$tb" claim --consumer "$D" --request a1:1 2>&1) || rc=$?
check_eq "outside the group: exit 1" "$rc" 1
check_eq "outside the group: the socket and the reason" "$err" \
	"sriovctl: claim: cannot connect to sriovd's API socket $sock: Permission denied (sriovd serves there; --no-daemon runs the command in-process)"
chmod 666 "$sock"
rc=0
err=$(nobody "$ctl" --sysfs-root "$tb" claim --consumer "$D" --request a1:1 2>&1) || rc=$?
check_eq "a user without the group: the API's 403, exit 1" "$rc:$err" \
	"1:sriovctl: claim: POST /v1/claims needs uid 0 or membership of the group (none: root only)"
rc=0
out=$(nobody "$ctl" --sysfs-root "$tb" -j claims 2>&1) || rc=$?
check_eq "but it may read the claims through the socket" "$rc:$(jq '.claims | length' <<<"$out")" "0:0"
chmod 600 "$sock"

# --- --socket and --no-daemon ---
ctl --socket "$sock" -j claims
check_eq "--socket PATH: through it" "$rc:$(jq '.claims | length' <<<"$out")" "0:0"
ctl --socket "$tmp/nosuch.sock" claims
check_eq "--socket where nothing serves: exit 1 saying so" "$rc:$err" \
	"1:sriovctl: claims: --socket $tmp/nosuch.sock: sriovd does not serve there (--no-daemon runs the command in-process)"
before=$(n_api)
ctl --no-daemon claim --consumer "$D" --request a1:1 "${cf[@]}"
check_eq "--no-daemon: in-process while sriovd runs" "$rc:$(($(n_api) - before))" "0:0"
ctl --no-daemon release --consumer "$D" "${cf[@]}"

# --- sriovd stopped: the same commands in-process ---
stop_daemon
check "the socket is gone" test ! -e "$sock"
ctl -j claim --consumer "$D" --request a1:1 "${cf[@]}"
check_eq "claim without sriovd: exit 0" "$rc" 0
id=$(jq -r .claim.id <<<"$out")
check_eq "claim without sriovd: its claim" "$(jq -r .claim.consumer <<<"$out")" "$D"
ctl -j claims "${cf[@]}"
check_eq "claims without sriovd" "$rc:$(jq -r '[.claims[].consumer] | join(" ")' <<<"$out")" "0:$D"
ctl export "$id" --format xen
check_eq "export without sriovd" "$rc:$out" "0:pci = [ '0000:01:10.0' ]"
ctl -j list
check_eq "-j list without sriovd" "$rc:$(jq '.pfs | length' <<<"$out")" "0:3"
ctl release --consumer "$D" "${cf[@]}"
check_eq "release without sriovd" "$rc:$out" "0:claim $id released: 0000:01:10.0"
# A stale socket file is no daemon.
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$sock"
ctl -j claims "${cf[@]}"
check_eq "a stale socket: in-process" "$rc" 0
rm -f "$sock"

# --- list and match from sriovd's model, again served ---
check "sriovd serves again" start_daemon
# same CMD...: through sriovd on the tree and in-process on the twin, the same stdout, stderr and exit status
# (match in-process with sriovd's config, as the steps above)
same() {
	local rcd=0 rci=0 c=()
	case " $* " in *" match "*) c=("${cf[@]}") ;; esac
	"$ctl" --sysfs-root "$tb" "$@" >"$tmp/d.out" 2>"$tmp/d.err" || rcd=$?
	"$ctl" --sysfs-root "$twin" "$@" "${c[@]}" >"$tmp/i.out" 2>"$tmp/i.err" || rci=$?
	sed -i "s|$twin|$tb|g" "$tmp/i.out" "$tmp/i.err"
	check_eq "$*: through sriovd as in-process (exit, stdout, stderr)" \
		"$rcd $(norm "$tmp/d.out") $(cat "$tmp/d.err")" "$rci $(norm "$tmp/i.out") $(cat "$tmp/i.err")"
}
"$ctl" --sysfs-root "$tb" claim --consumer "$C" --request a1:1 >/dev/null 2>&1
"$ctl" --sysfs-root "$twin" claim --consumer "$C" --request a1:1 "${cf[@]}" >/dev/null 2>&1
same list
check "list through sriovd: claimed-by the claim made through it" grep -q "0000:01:10.0 .* claimed-by $C\$" "$tmp/d.out"
same -j list
"$ctl" --sysfs-root "$tb" -j list >"$tmp/j.out" 2>/dev/null
get /v1/inventory
check "-j list through sriovd: sriovd's document as it came, byte for byte" cmp -s "$tmp/body" "$tmp/j.out"
same match --request a1:1
same -j match --network n1
# A claim written in-process behind sriovd's back (--no-daemon) is in its model's next answer.
"$ctl" --sysfs-root "$tb" --no-daemon claim --consumer "$D" --device 0000:02:10.0 "${cf[@]}" >/dev/null 2>&1
"$ctl" --sysfs-root "$twin" claim --consumer "$D" --device 0000:02:10.0 "${cf[@]}" >/dev/null 2>&1
same -j list
check_eq "-j list through sriovd: the claim made in-process beside it" \
	"$("$ctl" --sysfs-root "$tb" -j list | jq -r '.. | objects | select(.address? == "0000:02:10.0") | .claimed_by')" "$D"
same list
same match --spec '{"address":"0000:02:10.*"}'
"$ctl" --sysfs-root "$tb" --no-daemon release --consumer "$D" "${cf[@]}" >/dev/null 2>&1
"$ctl" --sysfs-root "$twin" release --consumer "$D" "${cf[@]}" >/dev/null 2>&1
same -j match --spec '{"address":"0000:02:10.*"}'
# The answer is the model's: a sysfs change behind sriovd's back is not in it until sriovd reads the host again.
ap=$tb/bus/pci/devices/0000:01:00.0/sriov_drivers_autoprobe
echo 0 >"$ap"
ctl list
check "list through sriovd: the model's autoprobe, not a fresh read" grep -q '^PF 0000:01:00.0 .* autoprobe on ' "$tmp/out"
ctl --no-daemon list
check "list --no-daemon: read now" grep -q '^PF 0000:01:00.0 .* autoprobe off ' "$tmp/out"
echo 1 >"$ap"
ctl --socket "$tmp/nosuch.sock" list
check_eq "list --socket where nothing serves: exit 1 saying so" "$rc:$err" \
	"1:sriovctl: list: --socket $tmp/nosuch.sock: sriovd does not serve there (--no-daemon runs the command in-process)"
ctl --socket "$tmp/nosuch.sock" match --request a1:1
check_eq "match --socket where nothing serves: exit 1 saying so" "$rc:$err" \
	"1:sriovctl: match: --socket $tmp/nosuch.sock: sriovd does not serve there (--no-daemon runs the command in-process)"
get "/v1/inventory?format=text"
"$ctl" --sysfs-root "$tb" list >"$tmp/cli" 2>/dev/null
check_eq "GET /v1/inventory?format=text: 200 text/plain" "$code $ctype" "200 text/plain"
check "GET /v1/inventory?format=text: the text of sriovctl list" cmp -s "$tmp/body" "$tmp/cli"
get "/v1/inventory?format=yaml"
check_eq "GET /v1/inventory?format=yaml: 400 naming format" "$code $(jq -c '.error | [.field, .message]' "$tmp/body")" \
	"400 [\"format\",\"format: 'yaml' is not known (json, text)\"]"
"$ctl" --sysfs-root "$tb" release --consumer "$C" >/dev/null 2>&1
stop_daemon

# A server whose inventory is not what sriovd's printer makes: -j list
# prints it parsed and printed again, and a document that is no JSON (a raw
# escape byte in a string) is an error, never copied to the terminal.
fake=$tmp/fake.sock
python3 - "$fake" "$tmp/fake-doc" <<'PY' &
import os, socketserver, sys
from http.server import BaseHTTPRequestHandler
SOCK, DOC = sys.argv[1], sys.argv[2]
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def address_string(self):
        return "unix"
    def do_GET(self):
        body = b'{"status": "ok"}' if self.path == "/v1/health" else open(DOC, "rb").read()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
class S(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
S(SOCK, H).serve_forever()
PY
fpid=$!
printf '{"schema_version":2,"pfs":[]}' >"$tmp/fake-doc"
for _ in $(seq 100); do [ -S "$fake" ] && break; sleep 0.05; done
ctl --socket "$fake" -j list
check_eq "-j list, a compact document: printed as sriovctl prints it" "$rc:$out" \
	"0:$(printf '{\n  "schema_version": 2,\n  "pfs": []\n}')"
printf '{"schema_version": 2, "x": "\033[31m"}\n' >"$tmp/fake-doc"
"$ctl" --socket "$fake" -j list >"$tmp/out" 2>"$tmp/err"
rc=$?
check_eq "-j list, a raw escape byte in the document: exit 1" "$rc" 1
check_contains "... saying it is not a JSON object" "$(cat "$tmp/err")" "list: sriovd's answer is not a JSON object"
check_eq "... and no escape byte printed" "$(cat "$tmp/out" "$tmp/err" | tr -d -c '\033' | wc -c)" 0
kill "$fpid" 2>/dev/null
wait "$fpid" 2>/dev/null

tap_done
