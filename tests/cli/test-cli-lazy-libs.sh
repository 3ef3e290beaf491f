#!/bin/bash
# The optional libraries are loaded only where they are used (LD_DEBUG=libs
# names every library the dynamic loader opens): libudev (systemd's hwdb,
# the device names) only for a command that prints names, and the names are
# the hwdb's; libsqlite3 only for a command that opens a ledger. Asking
# sriovd's API socket loads no library at all (the client is written on
# libc): not in-process, not when a socket is there.
#   test-cli-lazy-libs.sh SRIOVCTL MKFAKESYSFS
set -uo pipefail
ctl=$1
mk=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../vm/lib/tap.sh"
tmp=$(mktemp -d "${TMPDIR:-/dev/shm}/sriovctl-libs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
unset SRIOV_STATE_DIR
"$mk" "$tmp/tb" testbed >/dev/null
tb=$tmp/tb
sock=$tb/.sriovd/api.sock

ref_json=$("$ctl" --sysfs-root "$tb" -j list)
check_eq "-j list exits 0" "$?" 0
ref_text=$("$ctl" --sysfs-root "$tb" list)
check_eq "list exits 0" "$?" 0

for verb in "-j list" "list"; do
	# shellcheck disable=SC2086
	libs=$(LD_DEBUG=libs "$ctl" --sysfs-root "$tb" $verb 2>&1 >/dev/null)
	check_eq "no socket: $verb never loads libcurl" "$(grep -c 'libcurl' <<<"$libs")" 0
	check_contains "no socket: LD_DEBUG=libs lists what is loaded (libc)" "$libs" "libc.so.6"
done
# The names: from systemd's hwdb (when this host has one), loaded for list
# and not for a command without names.
libs=$(LD_DEBUG=libs "$ctl" --sysfs-root "$tb" list 2>&1 >/dev/null)
check_contains "list loads libudev for the names" "$libs" "libudev.so.1"
check_eq "... and not libsystemd (nor the libraries it pulls in)" "$(grep -c "libsystemd\|libgcrypt" <<<"$libs")" 0
libs=$(LD_DEBUG=libs "$ctl" --help 2>&1 >/dev/null)
check_eq "--help loads neither libudev nor libpci" "$(grep -c 'libudev\|libsystemd\|libpci' <<<"$libs")" 0
libs=$(LD_DEBUG=libs "$ctl" --sysfs-root "$tb" numvfs 0000:00:03.0 2>&1 >/dev/null)
check_eq "numvfs (no names) loads neither libudev nor libpci" "$(grep -c 'libudev\|libsystemd\|libpci' <<<"$libs")" 0
if [ -e /usr/lib/udev/hwdb.bin ] || [ -e /lib/udev/hwdb.bin ] || [ -e /etc/udev/hwdb.bin ]; then
	check_contains "list: the igb PF's names from the hwdb" "$ref_text" \
		"[8086:10c9] Intel Corporation 82576 Gigabit Network Connection"
	check_eq "-j list: the igb VF's device name from the hwdb" \
		"$(python3 -c 'import json, sys; print(json.load(sys.stdin)["pfs"][1]["vfs"][0]["device"])' <<<"$ref_json")" \
		"82576 Virtual Function"
else
	tap_ok "# SKIP this host has no hwdb.bin"
fi

# libsqlite3: loaded when a ledger is opened, never by a command on a host
# without one (its load binds ~1500 symbols: half a millisecond).
state=$tmp/state
mkdir -p "$state"
printf 'version: 1\n' >"$tmp/claim.conf"
for verb in "-j list" "list" "--help" "numvfs 0000:00:03.0" "claims" "-j claims"; do
	# shellcheck disable=SC2086
	libs=$(LD_DEBUG=libs "$ctl" --sysfs-root "$tb" --state-dir "$state" $verb 2>&1 >/dev/null)
	check_eq "no ledger: $verb does not load libsqlite3" "$(grep -c 'libsqlite3' <<<"$libs")" 0
done
# A listing of claims does not create the ledger it reads.
out=$("$ctl" --sysfs-root "$tb" --state-dir "$state" -j claims)
check_eq "no ledger: -j claims exits 0" "$?" 0
check_eq "no ledger: -j claims lists none" "$(python3 -c 'import json, sys; print(json.load(sys.stdin)["claims"])' <<<"$out")" "[]"
check_eq "no ledger: nothing was created in the state folder" "$(ls -A "$state")" ""
uuid=6b9a3c1e-0000-4000-8000-000000000001
libs=$(LD_DEBUG=libs "$ctl" --sysfs-root "$tb" --state-dir "$state" claim --config "$tmp/claim.conf" \
	--consumer "$uuid" --device 0000:01:10.2 2>&1 >/dev/null)
check_contains "claim loads libsqlite3 for the ledger" "$libs" "libsqlite3.so.0"
libs=$(LD_DEBUG=libs "$ctl" --sysfs-root "$tb" --state-dir "$state" -j list 2>&1 >"$tmp/out")
check_contains "a ledger: -j list loads libsqlite3 to read who holds what" "$libs" "libsqlite3.so.0"
check_eq "... and the VF's holder is the claim's consumer" \
	"$(python3 -c 'import json, sys; d = json.load(sys.stdin)
print([v["claimed_by"] for p in d["pfs"] for v in p["vfs"] if v["address"] == "0000:01:10.2"][0])' <"$tmp/out")" "$uuid"
# A libsqlite3.so.0 that is some other library: one error naming it, and the
# list still printed, with the reason as its warning.
mkdir -p "$tmp/badlib"
ln -s "$(ldconfig -p | awk '/libmnl\.so\.0 / {print $NF; exit}')" "$tmp/badlib/libsqlite3.so.0"
err=$(LD_LIBRARY_PATH=$tmp/badlib "$ctl" --sysfs-root "$tb" --state-dir "$state" claims 2>&1 >/dev/null)
check_eq "no usable libsqlite3: claims exits 1" "$?" 1
check_eq "... with one line naming the library and what it lacks" "$err" \
	"sriovctl: claims: ledger $state/ledger.db: cannot load libsqlite3.so.0: it has no symbol sqlite3_bind_int"
err=$(LD_LIBRARY_PATH=$tmp/badlib "$ctl" --sysfs-root "$tb" --state-dir "$state" list 2>&1 >"$tmp/out")
check_eq "no usable libsqlite3: list exits 0" "$?" 0
check_contains "... and warns why it shows no holders" "$err" \
	"cannot read the ledger of claims: ledger $state/ledger.db: cannot load libsqlite3.so.0"
check_contains "... and lists the PFs all the same" "$(cat "$tmp/out")" "PF 0000:01:00.0"

# A socket nobody listens on: sriovctl asks it, finds nothing there and
# runs in-process, with no library loaded to ask.
mkdir -p "$tb/.sriovd"
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$sock"
libs=$(LD_DEBUG=libs "$ctl" --sysfs-root "$tb" -j list 2>&1 >"$tmp/out")
check_eq "a socket: -j list loads no libcurl to ask it" "$(grep -c 'libcurl' <<<"$libs")" 0
check_contains "a socket: LD_DEBUG=libs lists what is loaded (libc)" "$libs" "libc.so.6"
check_eq "a socket nobody listens on: the same -j list" "$(cat "$tmp/out")" "$ref_json"
tap_done
