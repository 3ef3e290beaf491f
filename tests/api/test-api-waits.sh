#!/bin/bash
# sriovd keeps serving while an apply waits for the kernel: on a fake tree
# no VFs ever appear for a count written there, so each count change waits
# its whole timeout: (3 s). The file the apply wrote shows when it is in
# that wait; the requests sent then are answered from inside it: health and
# status as always, a request that would write with 503 (one writer).
#   test-api-waits.sh SRIOVD MKFAKESYSFS
set -uo pipefail
daemon=$1
mk=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../vm/lib/tap.sh"
. "$here/../lib/fake-tree.sh"
fake_tree_setup sriovd-waits "$mk"
numvfs=$tb/bus/pci/devices/0000:00:03.0/sriov_numvfs
conf() { printf 'version: 1\npfs:\n  - match:\n      pci: 0000:00:03.0\n    numvfs: %s\n    timeout: 3\n' "$1" >"$tmp/c.conf"; }
conf 2
sock=$tmp/api.sock
code() { # METHOD PATH: the status code; the body in $tmp/body
	curl -sS --max-time 20 --unix-socket "$sock" -o "$tmp/body" -w '%{http_code}' -X "$1" "http://localhost$2"
}
until_file() { # FILE VALUE: until FILE holds VALUE (10 s at most)
	for _ in $(seq 200); do [ "$(cat "$1" 2>/dev/null)" == "$2" ] && return 0; sleep 0.05; done
	return 1
}

# Up once it has started: GET /v1/health answers 503 until the first apply is done.
fake_sriovd_start "$tmp/d.log" "" --resync-s 0 --socket "$sock" -v
check "the first apply wrote the count and waits for the VFs" until_file "$numvfs" 2
check_eq "GET /v1/health answers during that wait" "$(code GET /v1/health)" 503
check_eq "... saying sriovd is starting (the first apply is still running)" "$(jq -r .status "$tmp/body")" starting
for _ in $(seq 200); do grep -q 'event=applied' "$tmp/d.log" && break; sleep 0.05; done
check_eq "then GET /v1/health is 200" "$(code GET /v1/health)" 200

# A reload that changes the count: through 0 to 1, then the wait again.
conf 1
kill -HUP "$sriovd_pid"
check "the reload's apply wrote the new count and waits" until_file "$numvfs" 1
check_eq "GET /v1/status answers during the wait" "$(code GET /v1/status)" 200
check_eq "... with its document" "$(jq -r type "$tmp/body")" object
check_eq "POST /v1/apply during the wait: 503" "$(code POST /v1/apply)" 503
check_contains "... saying why" "$(cat "$tmp/body")" "sriovd is applying a change and waiting for the kernel; try again shortly"
check_eq "GET /v1/health during the wait: 200" "$(code GET /v1/health)" 200
sriovd_stop
check_eq "sriovd stops cleanly" "$?" 0
tap_done
