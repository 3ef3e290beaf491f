# Schema checks for the -j documents a scenario produces (sourced after
# tap.sh). Every `sriovctl -j ...` run through "$ctl" keeps its stdout, its
# arguments and its exit status in a capture folder (lib/sriovctl-capture);
# schema_done validates them all against docs/sriovctl.schema.json in one
# python3 run (each program started costs under TCG) and prints one TAP
# check per document.
#   . lib/schema.sh
#   schema_init "$ctl" DIR   # DIR: a folder for the copies (created); sets
#                            # ctl to the capturing wrapper, schema_bin to sriovctl
#   ... "$ctl" -j list ...    # stdout, stderr and exit status as usual
#   schema_done               # before tap_done
schema_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
schema_validator=$schema_lib/../../lib/validate-json
schema_bin=
schema_dir=

schema_init() {
	schema_bin=$1
	schema_dir=$2
	rm -rf "$schema_dir" "$schema_dir.tap" # not the copies of an earlier run
	mkdir -p "$schema_dir"
	export SRIOV_SCHEMA_BIN=$schema_bin SRIOV_SCHEMA_DIR=$schema_dir
	ctl=$schema_lib/sriovctl-capture
}

# schema_done: one TAP check per captured document, and one that at least
# one was captured (a scenario whose documents all escaped would pass empty).
schema_done() {
	local n=0 line report=$schema_dir.tap
	# a file, not <(...): the guest has no /dev/fd
	/usr/bin/python3 "$schema_validator" --captured "$schema_dir" >"$report" 2>&1
	while IFS= read -r line; do
		case $line in
		"ok "*) tap_ok "${line#ok }"; n=$((n + 1)) ;;
		"not ok "*) tap_not_ok "${line#not ok }"; n=$((n + 1)) ;;
		*) echo "# $line" ;;
		esac
	done <"$report"
	check "schema: documents validated ($n)" test "$n" -gt 0
}
