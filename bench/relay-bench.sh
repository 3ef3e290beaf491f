#!/usr/bin/env bash
# The relay benchmark: sriov-relay against dpdk-testpmd io-forward between the
# same two ports (the limit for any relay on them) and against Netronome's
# virtio-forwarder, built from its public source under /tmp (never installed,
# never shipped). Figures, not pass/fail. Needs root, hugepages and Debian's
# DPDK 22.11 (scripts/install-deps.sh installs it).
#
# The two ports, the same for every contender:
#  - the "VF" side: DPDK's net_null (size=N): an endless source of N-byte frames
#    and a sink that never refuses one (no-rx=1 when only the VM sends), so
#    the forwarder, not a kernel path, is what gets measured;
#  - the "VM" side: a vhost-user socket the contender serves; its other end is
#    a second dpdk-testpmd with net_virtio_user, the VM stand-in, which counts:
#      vf2vm  the peer receives (rxonly): Mpps = its Rx-pps;
#      vm2vf  the peer sends (txonly):    Mpps = the frames the contender took
#             out of the ring (the peer's accepted Tx-pps);
#      both   the peer loops every frame back (io): Mpps = Rx-pps + Tx-pps.
# CPUs (2 here): each contender runs its main lcore on CPU 0 and its
# forwarding lcore on CPU 1; the peer the other way round (main on 1,
# forwarding on 0). Main lcores only sleep and print, so each forwarding loop
# has a CPU to itself.
# drop% is the contender's own count of frames it took in and could not pass
# on (testpmd's TX-dropped, sriov-relay's drops, virtio-forwarder's
# *_drop_full/unavail) over all frames it took in; with an endless source it
# says how the forwarder sheds what the other side cannot take.
#
# Usage: bench/relay-bench.sh [--duration S] [--sizes "64 1500"]
#          [--dirs "vf2vm vm2vf both"] [--contenders "testpmd relay vio"]
#          [--relay PATH] [--vio-src URL|DIR] [--vio-dir DIR] [--keep]
set -euo pipefail

duration=10
warmup=3
sizes="64 1500"
dirs="vf2vm vm2vf both"
contenders="testpmd relay vio"
relay_bin=""
vio_src="${VIO_SRC:-https://github.com/Netronome/virtio-forwarder}"
vio_dir=/tmp/sriovd-bench-virtio-forwarder
keep=0
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
	case "$1" in
	--duration) duration="$2"; shift 2 ;;
	--sizes) sizes="$2"; shift 2 ;;
	--dirs) dirs="$2"; shift 2 ;;
	--contenders) contenders="$2"; shift 2 ;;
	--relay) relay_bin="$2"; shift 2 ;;
	--vio-src) vio_src="$2"; shift 2 ;;
	--vio-dir) vio_dir="$2"; shift 2 ;;
	--keep) keep=1; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "relay-bench: unknown option '$1'" >&2; exit 2 ;;
	esac
done

die() { echo "relay-bench: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (hugepages, vhost-user sockets)"
command -v dpdk-testpmd >/dev/null || die "dpdk-testpmd not found (apt-get install dpdk)"
[ "$(nproc)" -ge 2 ] || die "needs 2 CPUs"

work=$(mktemp -d /tmp/sriovd-relay-bench.XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	[ "$keep" = 1 ] && echo "logs kept in $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT

# ---- hugepages ---------------------------------------------------------------
hp=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
if [ "$(cat "$hp")" -lt 1536 ]; then echo 1536 > "$hp"; fi
[ "$(cat "$hp")" -ge 768 ] || die "could not reserve 2 MiB hugepages (got $(cat "$hp"))"
if ! mountpoint -q /dev/hugepages; then
	mkdir -p /dev/hugepages
	mount -t hugetlbfs none /dev/hugepages
fi

# ---- virtio-forwarder, built under /tmp ---------------------------------------
vio_bin="$vio_dir/build/virtio-forwarder"
build_vio() {
	local pkgs="meson ninja-build pkg-config libdpdk-dev libprotobuf-c-dev protobuf-c-compiler
		protobuf-compiler python3-protobuf libzmq3-dev libbsd-dev git" missing="" p
	for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
	if [ -n "$missing" ]; then
		echo "installing for virtio-forwarder:$missing" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y $missing >/dev/null
	fi
	if [ ! -d "$vio_dir/.git" ]; then
		rm -rf "$vio_dir"
		git clone -q "$vio_src" "$vio_dir"
	fi
	(
		cd "$vio_dir"
		git checkout -q -- meson.build virtio_forwarder_main.c
		# Debian's DPDK 22.11 names the bonding PMD librte_net_bond.
		sed -i "s/'-lrte_pmd_bond')/'-lrte_net_bond')/" meson.build
		# --add-pci-vf=<devargs>=<id>: split at the last '=' so devargs may
		# carry key=value pairs, and accept a vdev (net_*) where the
		# original insists on a PCI device in sysfs.
		sed -i 's/\tp = strchr(arg, .=.);/\tp = strrchr(arg, '"'"'='"'"');/' virtio_forwarder_main.c
		sed -i 's|\tif (stat(testpci, &fstat) != 0) {|\tif (strncmp(dbdf, "net_", 4) != 0 \&\& stat(testpci, \&fstat) != 0) {|' \
			virtio_forwarder_main.c
		[ -f build/build.ninja ] || meson setup build >/dev/null
		ninja -C build >/dev/null
	) || return 1
	[ -x "$vio_bin" ]
}

# ---- sriov-relay -------------------------------------------------------------
find_relay() {
	local c
	if [ -n "$relay_bin" ]; then [ -x "$relay_bin" ] && return 0; return 1; fi
	for c in "$here/build/src/relay/sriov-relay" "$here/build/relay/sriov-relay" \
		"$(command -v sriov-relay 2>/dev/null || true)"; do
		if [ -n "$c" ] && [ -x "$c" ]; then relay_bin="$c"; return 0; fi
	done
	return 1
}

# ---- one run -----------------------------------------------------------------
wait_for_socket() {
	local s="$1" pid="$2" i
	for i in $(seq 1 300); do
		[ -S "$s" ] && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# stop PID with SIGINT (testpmd and the relays print their final counters),
# then SIGKILL after 10 s.
stop() {
	local pid="$1" i
	kill -INT "$pid" 2>/dev/null || return 0
	for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# The median of the peer's once-a-second Rx-pps / Tx-pps after the warm-up
# (the median: other work on the machine steals whole seconds now and then).
peer_rate() { # log key skip
	awk -v key="$2:" -v skip="$3" '$1 == key { n++; if (n > skip) v[m++] = $2 }
		END { if (!m) { printf "0"; exit }
		      for (i = 0; i < m; i++) for (j = i + 1; j < m; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
		      printf "%.3f", (m % 2 ? v[int(m / 2)] : (v[m / 2 - 1] + v[m / 2]) / 2) / 1e6 }' "$1"
}
# Waits until the peer has printed N once-a-second samples (or gave up).
wait_samples() { # log n pid
	local i
	for i in $(seq 1 $((30 * $2 + 300))); do
		[ "$(grep -a -c 'Rx-pps:' "$1")" -ge "$2" ] && return 0
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

run_one() { # contender size dir
	local who="$1" size="$2" dir="$3" d="$work/$1-$2-$3" vfdev sock cpid ppid mode extra=""
	mkdir -p "$d"
	vfdev="net_null0,size=$size"
	[ "$dir" = vm2vf ] && vfdev="$vfdev,no-rx=1"
	case "$who" in
	testpmd)
		sock="$d/vhost.sock"
		dpdk-testpmd -l 0,1 --main-lcore 0 -n 1 --file-prefix sriovd-bench-c -m 512 --no-pci \
			--vdev "$vfdev" --vdev "net_vhost0,iface=$sock,queues=1" -- \
			--forward-mode=io --nb-cores=1 -a --total-num-mbufs=16384 --stats-period 1 \
			>"$d/contender.log" 2>&1 </dev/null &
		;;
	relay)
		sock="$d/vhost.sock"
		"$relay_bin" -l 0,1 --main-lcore 0 -n 1 --file-prefix sriovd-bench-c -m 512 --no-pci -- \
			--socket "$d/control.sock" \
			--relay "{\"name\":\"bench\",\"vf\":\"$vfdev\",\"socket\":\"$sock\",\"lcores\":[1]}" \
			>"$d/contender.log" 2>&1 </dev/null &
		;;
	vio)
		sock="$d/vio/virtio-forwarder1.sock"
		mkdir -p "$d/vio" /var/run/virtio-forwarder
		"$vio_bin" --cpus=1 --master-lcore=0 --nodaemon --loglevel=7 --huge-dir=/dev/hugepages \
			--pid-path="$d" --vhost-path="$d/vio" --vhost-username= --vhost-groupname= \
			--zmq-config-ep="ipc://$d/zconfig" --zmq-port-control-ep="ipc://$d/zport" \
			--zmq-stats-ep="ipc://$d/zstats" --zmq-core-sched-ep="ipc://$d/zsched" \
			--add-pci-vf="$vfdev=1" --virtio-cpu=1:1 >"$d/contender.log" 2>&1 </dev/null &
		;;
	esac
	cpid=$!
	pids+=("$cpid")
	if ! wait_for_socket "$sock" "$cpid"; then
		echo "relay-bench: $who did not open $sock; its log:" >&2
		tail -20 "$d/contender.log" >&2
		stop "$cpid"
		printf '%-16s %6s %-6s %s\n' "$who" "$size" "$dir" "did not start" >>"$work/table"
		return 0
	fi
	case "$dir" in
	vf2vm) mode=rxonly ;;
	vm2vf) mode=txonly; extra="--txpkts=$size" ;;
	both) mode=io ;;
	esac
	dpdk-testpmd -l 1,0 --main-lcore 1 -n 1 --file-prefix sriovd-bench-p -m 256 --no-pci \
		--single-file-segments --vdev "net_virtio_user0,path=$sock,queues=1" -- \
		--forward-mode="$mode" $extra -a --total-num-mbufs=16384 --stats-period 1 \
		>"$d/peer.log" 2>&1 </dev/null &
	ppid=$!
	pids+=("$ppid")
	wait_samples "$d/peer.log" $((warmup + duration)) "$ppid" ||
		echo "relay-bench: $who $size $dir: fewer samples than asked for" >&2
	local drops="" took=""
	if [ "$who" = relay ]; then
		curl -s --unix-socket "$d/control.sock" http://relay/v1/relays/bench/stats >"$d/stats.json" || true
	fi
	stop "$ppid"
	sleep 1
	stop "$cpid"
	local rx tx
	rx=$(peer_rate "$d/peer.log" Rx-pps "$warmup")
	tx=$(peer_rate "$d/peer.log" Tx-pps "$warmup")
	case "$who" in
	testpmd)
		# The accumulated forward statistics at exit.
		took=$(awk '/Accumulated forward statistics/ { a = 1 } a && /RX-packets:/ { print $2; exit }' "$d/contender.log")
		drops=$(awk '/Accumulated forward statistics/ { a = 1 } a && /TX-dropped:/ { print $4; exit }' "$d/contender.log")
		;;
	relay)
		took=$(jq -r '[.. | objects | select(has("packets") and has("drops")) | .packets + .drops] | add // empty' "$d/stats.json" 2>/dev/null || true)
		drops=$(jq -r '[.. | objects | select(has("packets") and has("drops")) | .drops] | add // empty' "$d/stats.json" 2>/dev/null || true)
		;;
	vio)
		took=$(grep -a -o -E '(virtio_rx|dpdk_rx)=[0-9]+' "$d/contender.log" | awk -F= '{ s += $2 } END { print s + 0 }')
		drops=$(grep -a -o -E '(dpdk|virtio)_drop_(full|unavail)=[0-9]+' "$d/contender.log" | awk -F= '{ s += $2 } END { print s + 0 }')
		;;
	esac
	local dpct="n/a"
	if [ -n "$took" ] && [ -n "$drops" ] && [ "$took" != 0 ]; then
		dpct=$(awk -v d="$drops" -v t="$took" 'BEGIN { printf "%.1f", 100 * d / t }')
	fi
	local vf2vm=0 vm2vf=0
	case "$dir" in
	vf2vm) vf2vm=$rx ;;
	vm2vf) vm2vf=$tx ;;
	both) vf2vm=$rx; vm2vf=$tx ;;
	esac
	printf '%s %s %s %s %s %s\n' "$who" "$size" "$dir" "$vf2vm" "$vm2vf" "$dpct" >>"$work/rows"
}

# ---- the runs ------------------------------------------------------------------
run=""
for c in $contenders; do
	case "$c" in
	testpmd) run="$run testpmd" ;;
	relay)
		if find_relay; then run="$run relay"
		else echo "relay-bench: sriov-relay not built (meson setup build; ninja -C build), left out" >&2; fi ;;
	vio)
		if build_vio; then run="$run vio"
		else echo "relay-bench: virtio-forwarder did not build, left out" >&2; fi ;;
	*) die "unknown contender '$c' (testpmd, relay, vio)" ;;
	esac
done

: >"$work/rows"
: >"$work/table"
for size in $sizes; do
	for dir in $dirs; do
		for c in $run; do
			run_one "$c" "$size" "$dir"
		done
	done
done

echo "ports: net_null (VF side) <-> vhost-user, other end dpdk-testpmd net_virtio_user; ${duration}s per run after ${warmup}s warm-up"
echo "CPUs: contender main lcore CPU 0, forwarding lcore CPU 1; peer main CPU 1, forwarding CPU 0"
printf '%-16s %6s %-6s %10s %10s %10s %9s %7s\n' contender bytes dir "VF>VM Mpps" "VM>VF Mpps" "total" "% testpmd" "drop%"
awk '
	function name(c) { return c == "vio" ? "virtio-forwarder" : c == "relay" ? "sriov-relay" : "testpmd io-fwd" }
	{ key = $2 " " $3; tot = $4 + $5
	  if ($1 == "testpmd") lim[key] = tot
	  pct = (key in lim && lim[key] > 0) ? sprintf("%.0f%%", 100 * tot / lim[key]) : "-"
	  printf "%-16s %6s %-6s %10.3f %10.3f %10.3f %9s %7s\n", name($1), $2, $3, $4, $5, tot, pct, $6 }
' "$work/rows"
cat "$work/table"
