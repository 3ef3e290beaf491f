#!/usr/bin/env bash
# Prints sriovd's benchmark figures next to their baselines:
#  1. inventory (`sriovctl -j list`, text `list`) of generated trees (1x64,
#     64x64, 256x64, 64x256; isolated and shared IOMMU groups) vs a minimal C
#     walker reading the same facts: CPU, peak RSS, syscalls per device, bytes;
#  1c. claim+release pairs on a generated tree of 4096 VFs (ledger and matching,
#      netlink off) vs SQLite's own durable single-row transactions, same disk;
#  1d. the same pairs through sriovd's API socket with 1 and 16 clients, next
#      to the in-process figure and SQLite's rate (one run, same disk), claim
#      p50/p99, GET /v1/inventory from the daemon's model vs `sriovctl -j list`;
#  1e. the crash test for longer: 64 clients while sriovd is killed with
#      SIGKILL about once a second (operations, kills, violations);
#  2. on the testbed VM, `sriovctl -j list` vs `ip -j -d link show`;
#  3. on the testbed VM, VF counts and L2 settings by hand vs sriovctl;
#  3b. on the testbed VM, VF counts and drivers (vfio-pci and back) by hand vs
#      `sriovctl apply` and `sriovd --once` (bench/vm-apply-vs-hand.sh);
#  4. sriov-relay vs dpdk-testpmd io-forward and virtio-forwarder (bench/relay-bench.sh).
# Figures, not pass/fail: nothing here is a timed test.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ "${SRIOV_SKIP_DEPS:-0}" = 1 ] || scripts/install-deps.sh --vm
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null

echo "== 1. inventory: the baseline walker (one open/read/close per attribute) vs sriovctl -j list and list"
# SRIOV_BENCH_BEFORE=PATH: another sriovctl (an older build) measured beside it.
build/bench/bench-inventory -n 11 ${SRIOV_BENCH_BEFORE:+--before "$SRIOV_BENCH_BEFORE"} \
	build/src/sriovctl build/bench/bench-walker
echo
echo "== 1c. claim+release pairs on 64 PFs x 64 VFs vs SQLite's durable transactions (ledger in /var/tmp)"
build/bench/bench-claims 64 64 300 /var/tmp
echo "== 1d. the same pairs through the API (1 and 16 clients) on 64 PFs x 64 VFs, beside 1c's in-process figure (ledger in /var/tmp)"
build/bench/bench-api build/src/sriovd build/src/sriovctl 64 64 320 /var/tmp
echo
echo "== 1e. crash test: 64 clients, 4096 VFs, sriovd killed with SIGKILL about once a second, ${SRIOV_CRASH_S:-120} s"
build/tests/load/api-crash build/src/sriovd "${SRIOV_CRASH_S:-120}" 64 64 64
echo
echo "== 2. testbed VM: sriovctl -j list vs ip -j -d link show"
out=$(mktemp -d /var/tmp/sriovd-bench.XXXXXX)
tests/vm/run-vm.sh --out "$out" bench/vm-list-vs-ip.sh "$PWD/build" 20
echo
echo "== 3. testbed VM: VF count + MAC/VLAN/rate/spoofchk on 14 VFs, by hand vs sriovctl"
tests/vm/run-vm.sh --out "$out" bench/vm-vf-config-vs-ip.sh "$PWD/build" 3
echo
echo "== 3b. testbed VM: 0 -> 7 VFs on both igb PFs, 14 VFs to vfio-pci and back to igbvf, by hand vs sriovctl apply vs sriovd --once"
# SRIOV_BENCH_SRIOVD_BEFORE=PATH: another sriovd (an older build) beside it.
tests/vm/run-vm.sh --timeout 1200 --out "$out" bench/vm-apply-vs-hand.sh "$PWD/build" 5 ${SRIOV_BENCH_SRIOVD_BEFORE:+"$SRIOV_BENCH_SRIOVD_BEFORE"}
echo
echo "== 4. sriov-relay vs dpdk-testpmd io-forward and virtio-forwarder (built under /tmp), 64/1500 bytes"
bench/relay-bench.sh
