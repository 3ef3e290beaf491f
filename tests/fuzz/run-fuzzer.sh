#!/usr/bin/env bash
# run-fuzzer.sh FUZZER SEED_CORPUS WORK_DIR SECONDS: runs one libFuzzer
# target for SECONDS over its seed corpus (read only) plus what earlier runs
# found (WORK_DIR/corpus), and prints one line with its figures. A crash,
# leak or timeout fails the run; the input that did it is left in WORK_DIR
# (crash-*, leak-*, timeout-*) and named on stderr.
set -euo pipefail
fuzzer=$1 seeds=$2 work=$3 secs=$4
mkdir -p "$work/corpus"
log="$work/last.log"
rc=0
"$fuzzer" -max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
	-max_len=65536 -artifact_prefix="$work/" "$work/corpus" "$seeds" >"$log" 2>&1 || rc=$?
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
name=${fuzzer##*/}
if [ "$rc" != 0 ]; then
	tail -n 40 "$log" >&2
	echo "$name: FAILED (exit $rc) after ${execs:-?} executions; input in $work/" >&2
	exit 1
fi
echo "$name: ${execs:-0} executions in ${secs} s (${rate:-0}/s), coverage ${cov:-?} edges, corpus $(find "$work/corpus" -type f | wc -l) + $(find "$seeds" -type f | wc -l) seeds"
