# TAP helpers for the guest scenarios (sourced). Each check prints one
# "ok N - ..." or "not ok N - ..." line; tap_done prints the plan and sets
# the exit status, so meson (protocol: tap) counts every check.
tap_n=0
tap_failed=0

tap_ok() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $*"; }
tap_not_ok() { tap_n=$((tap_n + 1)); tap_failed=$((tap_failed + 1)); echo "not ok $tap_n - $*"; }

# check DESCRIPTION COMMAND...: passes when COMMAND succeeds.
check() {
	local desc=$1
	shift
	if "$@"; then tap_ok "$desc"; else tap_not_ok "$desc"; fi
}

# quiet COMMAND...: COMMAND with its standard output dropped, for a check
# whose command prints what is no TAP line (check "..." quiet ip link show X).
quiet() { "$@" >/dev/null; }

# check_eq DESCRIPTION ACTUAL EXPECTED
check_eq() {
	if [ "$2" == "$3" ]; then
		tap_ok "$1"
	else
		tap_not_ok "$1"
		echo "#   got:      $2"
		echo "#   expected: $3"
	fi
}

# check_status DESCRIPTION EXPECTED_STATUS COMMAND...: runs COMMAND, keeps
# its output in $out and passes when the exit status is EXPECTED_STATUS.
check_status() {
	local desc=$1 want=$2
	shift 2
	local rc=0
	out=$("$@" 2>&1) || rc=$?
	if [ "$rc" == "$want" ]; then
		tap_ok "$desc"
	else
		tap_not_ok "$desc (exit $rc, wanted $want)"
		printf '%s\n' "$out" | sed 's/^/#   /' | head -20
	fi
}

# check_contains DESCRIPTION HAYSTACK NEEDLE
check_contains() {
	if [[ $2 == *"$3"* ]]; then
		tap_ok "$1"
	else
		tap_not_ok "$1"
		echo "#   '$3' not in:"
		printf '%s\n' "$2" | sed 's/^/#     /' | head -20
	fi
}

tap_done() {
	echo "1..$tap_n"
	[ "$tap_failed" -eq 0 ]
}
