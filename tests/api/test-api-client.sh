#!/bin/bash
# sriovctl through a running sriovd, on a fake sysfs tree: GET
# /v1/claims/{id}/export answers what `sriovctl export` prints, in every
# format (text and content type), 404 and 400 naming format.
#   test-api-client.sh SRIOVCTL SRIOVD MKFAKESYSFS
set -uo pipefail
ctl=$1
daemon=$2
mk=$3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../vm/lib/tap.sh"
tmp=$(mktemp -d "${TMPDIR:-/dev/shm}/sriovd-client.XXXXXX")
dpid=
cleanup() {
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
export SRIOV_STATE_DIR=$tmp/state
tb=$tmp/tb
"$mk" "$tb" testbed >/dev/null
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

start_daemon() {
	"$daemon" --sysfs-root "$tb" --config "$tmp/c.conf" --config-dir "" --status-file "$tmp/status.json" \
		--resync-s 0 -v 2>>"$tmp/d.log" &
	dpid=$!
	for _ in $(seq 200); do
		curl -sf --unix-socket "$sock" http://localhost/v1/health >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}
stop_daemon() {
	kill "$dpid" 2>/dev/null
	wait "$dpid" 2>/dev/null
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
		"$ctl" --sysfs-root "$tb" export "$id" --format "$f" >"$tmp/cli" 2>/dev/null
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

stop_daemon
tap_done
