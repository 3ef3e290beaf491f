#!/usr/bin/env bash
# Runs every test of sriovd on a Debian 12 machine, as root, from nothing:
# installs the dependencies, builds, runs the unit tests (plain and under
# AddressSanitizer + UndefinedBehaviorSanitizer), then the integration
# scenarios that boot the testbed VM and drive the real kernel's igb, igbvf,
# e1000e and nvme drivers. A VM scenario that skips counts as a failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ "${SRIOV_SKIP_DEPS:-0}" != 1 ]; then
	scripts/install-deps.sh --vm
fi

# setup DIR OPTIONS...: configures DIR, or reconfigures it when it exists.
setup() {
	local dir=$1
	shift
	if [ -f "$dir/build.ninja" ]; then
		meson configure "$dir" "$@" >/dev/null
	else
		meson setup "$dir" "$@" >/dev/null
	fi
}

passed=0 failed=0
# run_suite LABEL DIR MESON_TEST_ARGS...: runs meson test, adds its counts.
run_suite() {
	local label=$1 dir=$2
	shift 2
	local log rc=0
	log=$(mktemp)
	meson test -C "$dir" --print-errorlogs "$@" 2>&1 | tee "$log" || rc=$?
	local ok fail skip timeout
	ok=$(awk '/^Ok:/ {print $2}' "$log")
	fail=$(awk '/^Fail:/ {print $2}' "$log")
	skip=$(awk '/^Skipped:/ {print $2}' "$log")
	timeout=$(awk '/^Timeout:/ {print $2}' "$log")
	rm -f "$log"
	ok=${ok:-0} fail=${fail:-0} skip=${skip:-0} timeout=${timeout:-0}
	passed=$((passed + ok))
	failed=$((failed + fail + timeout + skip))
	if [ "$skip" != 0 ]; then
		echo "test.sh: $label: $skip test(s) skipped; every test must run here" >&2
	fi
	if [ "$rc" != 0 ] && [ "$((fail + timeout + skip))" = 0 ]; then
		failed=$((failed + 1)) # meson failed before counting anything
	fi
	echo "test.sh: $label: $ok ok, $fail failed, $timeout timed out, $skip skipped"
}

setup build-test -Dvm_tests=true -Dbuildtype=debugoptimized
ninja -C build-test
run_suite "unit" build-test --no-suite vm

setup build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dvm_tests=false
ninja -C build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	run_suite "unit (ASan+UBSan)" build-asan

# Every parser under libFuzzer for a bounded time (docs/fuzzing.md).
if [ -f build-fuzz/build.ninja ]; then
	meson configure build-fuzz -Dfuzz=true >/dev/null
else
	CC=clang meson setup build-fuzz -Dfuzz=true -Dtests=false -Dvm_tests=false \
		-Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
ninja -C build-fuzz
run_suite "fuzz" build-fuzz --suite fuzz
grep -h ' executions in ' build-fuzz/meson-logs/testlog.txt || true

# The Debian package: built from a copy of the tree, lintian, installed with
# apt-get, checked, purged (TAP).
run_tap() {
	local label=$1
	shift
	local log rc=0
	log=$(mktemp)
	"$@" 2>&1 | tee "$log" || rc=$?
	local ok fail
	ok=$(grep -c '^ok ' "$log" || true)
	fail=$(grep -c '^not ok ' "$log" || true)
	rm -f "$log"
	[ "$rc" != 0 ] && [ "$fail" = 0 ] && fail=1
	passed=$((passed + ok))
	failed=$((failed + fail))
	echo "test.sh: $label: $ok ok, $fail failed"
}
run_tap "debian package" scripts/test-package.sh

run_suite "testbed VM" build-test --suite vm

echo
echo "sriovd tests: $passed passed, $failed failed"
[ "$failed" = 0 ]
