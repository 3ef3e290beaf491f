#!/bin/bash
# Runs inside the testbed VM for scripts/demo.sh: readiness, the device tree,
# then the example config (examples/sriovd.conf) planned and applied, and
# the tree again.
set -uo pipefail
ctl=$1/src/sriovctl
conf=$2
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }
export SRIOV_STATE_DIR=/run/sriovd/bind

step "$ctl" check
step "$ctl" list
step cat "$conf"
step "$ctl" plan "$conf"
step "$ctl" apply "$conf"
step "$ctl" list
step "$ctl" show 0000:01:00.0#2
step "$ctl" apply "$conf"
exit 0
