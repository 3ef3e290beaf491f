# shellcheck shell=bash
# The setup of a test on a fake sysfs tree, and sriovd on it (sourced after
# tap.sh; it sources sriovd.sh beside it):
#   fake_tree_setup NAME MKFAKESYSFS
#       tmp: a new folder (mode 0700) NAME.XXXXXX in $TMPDIR, else /dev/shm;
#       at exit every background job of the script still running (sriovd,
#       a fake relay, a lock holder) is killed and reaped, then tmp removed.
#       SRIOV_STATE_DIR=$tmp/state (exported); tb=$tmp/tb, the testbed tree
#       MKFAKESYSFS makes (eth0 0000:01:00.0 and eth1 0000:02:00.0, 3 of 7
#       VFs each).
#   fake_sriovd_args
#       what every sriovd on the tree is given: --sysfs-root $tb, --config
#       $tmp/c.conf (the test writes it), --config-dir "" and --status-file
#       $tmp/status.json.
#   fake_sriovd_start LOG SOCKET [ARGS...]
#       sriovd_start "$daemon" LOG SOCKET with fake_sriovd_args, then ARGS
#       (where a later option wins): $daemon is the test's sriovd.
. "$(dirname "${BASH_SOURCE[0]}")/sriovd.sh"

fake_tree_setup() {
	tmp=$(mktemp -d "${TMPDIR:-/dev/shm}/$1.XXXXXX") || return 1
	trap fake_tree_cleanup EXIT
	export SRIOV_STATE_DIR=$tmp/state
	tb=$tmp/tb
	"$2" "$tb" testbed >/dev/null || return 1
	fake_sriovd_args=(--sysfs-root "$tb" --config "$tmp/c.conf" --config-dir "" --status-file "$tmp/status.json")
}

fake_tree_cleanup() {
	local jobs
	jobs=$(jobs -p)
	# shellcheck disable=SC2086
	[ -n "$jobs" ] && kill $jobs 2>/dev/null
	wait 2>/dev/null
	rm -rf "$tmp"
}

fake_sriovd_start() {
	local log=$1 sock=$2
	shift 2
	sriovd_start "$daemon" "$log" "$sock" "${fake_sriovd_args[@]}" "$@"
}
