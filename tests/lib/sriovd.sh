# shellcheck shell=bash
# Starting and stopping sriovd in a test script (sourced after tap.sh): the
# guest scenarios (tests/vm/) on the real kernel and the tests on a fake
# sysfs tree (through fake-tree.sh) use these, one way to wait until it is
# up and one way to stop it.
#   sriovd_start DAEMON LOG SOCKET [ARGS...]
#       runs DAEMON ARGS... in the background (stdout and stderr appended to
#       LOG) and waits, at most SRIOVD_START_TIMEOUT seconds (default 60),
#       until it is up: GET /v1/health answers 200 on SOCKET, the API socket
#       it serves (the first apply is done), or with SOCKET "", a new
#       event=start line in LOG (it has started; the first apply may still
#       run). Sets sriovd_pid.
#       Returns 1 when sriovd exited or never came up (the tail of LOG is
#       printed as TAP comments).
#   sriovd_stop
#       SIGTERM to sriovd_pid and waits for it; returns its exit status (0
#       when none runs). Scenarios set `trap sriovd_stop EXIT`.
sriovd_pid=

sriovd_start() {
	local daemon=$1 log=$2 sock=$3 before i
	shift 3
	before=$(grep -c 'event=start ' "$log" 2>/dev/null)
	"$daemon" "$@" >>"$log" 2>&1 &
	sriovd_pid=$!
	for ((i = 0; i < ${SRIOVD_START_TIMEOUT:-60} * 10; i++)); do
		if ! kill -0 "$sriovd_pid" 2>/dev/null; then
			wait "$sriovd_pid"
			echo "# sriovd exited with status $? before it was up:"
			sriovd_pid=
			break
		fi
		if [ -n "$sock" ]; then
			[ "$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$sock" http://localhost/v1/health)" == 200 ] &&
				return 0
		else
			[ "$(grep -c 'event=start ' "$log" 2>/dev/null)" -gt "${before:-0}" ] && return 0
		fi
		sleep 0.1
	done
	[ -n "$sriovd_pid" ] && echo "# sriovd is not up after ${SRIOVD_START_TIMEOUT:-60} s:"
	tail -20 "$log" | sed 's/^/#   /'
	return 1
}

sriovd_stop() {
	[ -n "$sriovd_pid" ] || return 0
	local rc=0
	kill -TERM "$sriovd_pid" 2>/dev/null
	wait "$sriovd_pid" 2>/dev/null || rc=$?
	sriovd_pid=
	return "$rc"
}
