#!/bin/bash
# One "boot" of the reboot scenario, INSIDE the testbed VM: what the systemd
# unit does at boot (sriovd applies the config, here with --once), then the
# state is recorded for the host-side test-reboot.sh to compare.
#   guest-boot.sh BUILD_DIR SHARED_DIR BOOT_NUMBER
set -uo pipefail
build=$1 shared=$2 n=$3
export SRIOV_STATE_DIR=$shared/state
"$build/src/sriovd" --once --config "$shared/sriovd.conf" --config-dir "" --status-file "$shared/status.json" \
	>"$shared/sriovd-boot$n.log" 2>&1
echo $? >"$shared/sriovd-boot$n.rc"
"$build/src/sriovctl" -j list >"$shared/list-boot$n.json"
"$build/src/sriovctl" -j plan "$shared/sriovd.conf" >"$shared/plan-boot$n.json"
exit 0
