#!/bin/bash
# The progress line of count waits, on a pseudo-terminal (script(1)): shown
# once a wait lasts more than a second, rewritten in place on one line of
# stderr; never with -j, never when stderr is not a terminal. A fake tree
# has no kernel behind it, so a count written there never brings its VFs:
# the wait runs to its --timeout. Only what is printed is checked, never
# how long it took.
#   test-cli-progress.sh SRIOVCTL MKFAKESYSFS
set -uo pipefail
ctl=$1
mk=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../vm/lib/tap.sh"
tmp=$(mktemp -d "${TMPDIR:-/dev/shm}/sriovctl-progress.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
"$mk" "$tmp/tb" testbed >/dev/null

# numvfs on the nvme PF: 0 -> 2, 2.2 s of waiting for links that never come.
tty_run() { script -qec "$1" /dev/null </dev/null; }
out=$(tty_run "'$ctl' --sysfs-root '$tmp/tb' numvfs 0000:00:03.0 2 --timeout 2.2")
check_eq "numvfs on a terminal exits 0" "$?" 0
check_contains "the progress line: links, bound, seconds" "$out" $'\r\e[K0000:00:03.0: 0/2 VFs, 0 bound, 1 s'
check_contains "rewritten in place, a second later" "$out" $'\r\e[K0000:00:03.0: 0/2 VFs, 0 bound, 2 s'
check_contains "erased at the end, then the outcome" "$out" $'\r\e[K0000:00:03.0: 0 -> 2 VFs'
check_eq "no line shown before a second has passed" "$(grep -c '0 bound, 0 s' <<<"$out")" 0
check_contains "the warning names the timeout" "$out" "0 of 2 virtfn links after 2.200 s"

echo 0 >"$tmp/tb/bus/pci/devices/0000:00:03.0/sriov_numvfs"
out=$(tty_run "'$ctl' --sysfs-root '$tmp/tb' -j numvfs 0000:00:03.0 2 --timeout 1.5")
check_eq "-j numvfs on a terminal exits 0" "$?" 0
check_eq "-j: no progress line" "$(grep -c 'VFs, 0 bound' <<<"$out")" 0
check_eq "-j: no terminal control" "$(grep -c $'\e\\[K' <<<"$out")" 0

echo 0 >"$tmp/tb/bus/pci/devices/0000:00:03.0/sriov_numvfs"
check_status "stderr not a terminal: numvfs exits 0" 0 "$ctl" --sysfs-root "$tmp/tb" numvfs 0000:00:03.0 2 --timeout 1.5
check_eq "stderr not a terminal: no progress line" "$(grep -c 'VFs, 0 bound' <<<"$out")" 0

# apply: both PFs of a config in one line, with apply --timeout.
printf 'version: 1\npfs:\n  - match: {pci: 0000:00:03.0}\n    numvfs: 1\n    timeout: 5\n' >"$tmp/a.conf"
echo 0 >"$tmp/tb/bus/pci/devices/0000:00:03.0/sriov_numvfs"
out=$(tty_run "'$ctl' --sysfs-root '$tmp/tb' apply '$tmp/a.conf' --config-dir '' --timeout 1.3")
check_contains "apply shows the progress line too" "$out" $'\r\e[K0000:00:03.0: 0/1 VFs, 0 bound, 1 s'
check_eq "apply --timeout wins over the config's timeout: (no 2 s line)" "$(grep -c '0 bound, 2 s' <<<"$out")" 0
check_status "apply --timeout 0 is a usage error" 2 "$ctl" --sysfs-root "$tmp/tb" apply "$tmp/a.conf" --timeout 0
check_contains "naming the option" "$out" "apply: --timeout wants seconds, more than 0 and at most 3600 (e.g. 60 or 2.5), not '0'"
# apply --settle: seconds from 0 (no window) to 60.
check_status "apply --settle soon is a usage error" 2 "$ctl" --sysfs-root "$tmp/tb" apply "$tmp/a.conf" --settle soon
check_contains "naming the option" "$out" "apply: --settle wants seconds from 0 to 60 (e.g. 1 or 0.5), not 'soon'"
check_status "apply --settle 61 is a usage error" 2 "$ctl" --sysfs-root "$tmp/tb" apply "$tmp/a.conf" --settle 61
check_status "apply --settle 0 is taken (nothing to do here)" 0 "$ctl" --sysfs-root "$tmp/tb" apply "$tmp/a.conf" --config-dir '' --settle 0
check_status "apply --settle 0.25 is taken" 0 "$ctl" --sysfs-root "$tmp/tb" apply "$tmp/a.conf" --config-dir '' --settle 0.25
tap_done
