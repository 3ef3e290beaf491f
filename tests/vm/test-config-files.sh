#!/bin/bash
# Which files make the config, and a PF the config names that is missing,
# run INSIDE the testbed VM against the real kernel: sriovd with
# --config-dir, `sriovctl status` computing the drift from exactly the files
# the daemon loaded (same as `plan --config-dir`), a PF whose driver is
# unbound shown as drift (never "drift: none") and healed when it is back,
# plan/apply refusing a missing PF unless --allow-missing, and adversarial
# files on SIGHUP rejected at once while the daemon keeps serving.
#   test-config-files.sh BUILD_DIR [ARTIFACT_DIR]
set -uo pipefail
build=$1
artifacts=${2:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib/tap.sh"
ctl=$build/src/sriovctl
. "$here/lib/schema.sh"
schema_init "$ctl" "${artifacts:-/run/sriovctl-test}/json" # every -j document, validated at the end
daemon=$build/src/sriovd
fx=$here/../fixtures/config
IP=/sbin/ip
work=$(mktemp -d /tmp/sriovd-cf.XXXXXX)
export SRIOV_STATE_DIR=$work/state
save() { [ -n "$artifacts" ] && mkdir -p "$artifacts" && cat >"$artifacts/$1" || cat >/dev/null; }
dev=/sys/bus/pci/devices

igb=()
for d in $dev/*; do
	l=$(readlink "$d/driver" 2>/dev/null)
	[ "${l##*/}" == igb ] && igb+=("${d##*/}")
done
pf0=${igb[0]} pf1=${igb[1]}
nets=("$dev/$pf0"/net/*)
net0=${nets[0]##*/}

main=$work/sriovd.conf
mkdir -p "$work/sriovd.conf.d" "$work/d"
cat >"$main" <<CONF
version: 1
pfs:
  - match:
      netdev: $net0
    numvfs: 2
CONF
cp "$main" "$work/main.copy"
# FILE.d next to the main file: not used when --config-dir says otherwise.
printf 'version: 1\npfs:\n  - match:\n      netdev: %s\n    numvfs: 3\n' "$net0" >"$work/sriovd.conf.d/10-decoy.conf"
cat >"$work/d/10-vfs.conf" <<CONF
version: 1
pfs:
  - match:
      netdev: $net0
    numvfs: 4
    vfs:
      - index: 0
        vlan: 100
  - match:
      pci: $pf1
    numvfs: 2
CONF

ipvlan0() { $IP -j -d link show "$net0" | jq -r '.[0].vfinfo_list[0].vlan_list[0].vlan // 0'; }
state_ok() {
	[ "$(<$dev/$pf0/sriov_numvfs)" == 4 ] && [ "$(<$dev/$pf1/sriov_numvfs)" == 2 ] && [ "$(ipvlan0)" == 100 ]
}
wait_for() { # SECONDS COMMAND...
	local n=$(($1 * 5))
	shift
	for _ in $(seq $n); do "$@" && return 0; sleep 0.2; done
	return 1
}
changes() { jq -c '[.changes[] | [.pf, .vf, .field, .now, .want, .source]]'; }

# --- a config naming a PF that is not here: plan/apply fail, --allow-missing goes on ---
cat >"$work/missing.conf" <<CONF
version: 1
pfs:
  - match:
      netdev: nosuch0
    numvfs: 1
  - match:
      pci: $pf1
    numvfs: 2
CONF
before="$(<$dev/$pf0/sriov_numvfs) $(<$dev/$pf1/sriov_numvfs)"
check_status "plan with a missing PF exits 1" 1 "$ctl" plan "$work/missing.conf"
check_contains "plan names the entry and why" "$out" "sriovctl: plan: $work/missing.conf:4:7: match: netdev nosuch0 matches no SR-IOV PF on this host"
check_status "apply with a missing PF exits 1" 1 "$ctl" apply "$work/missing.conf"
check_contains "apply names the entry" "$out" "$work/missing.conf:4:7: match: netdev nosuch0 matches no SR-IOV PF on this host (--allow-missing applies the rest)"
check_eq "apply wrote nothing (sysfs)" "$(<$dev/$pf0/sriov_numvfs) $(<$dev/$pf1/sriov_numvfs)" "$before"
check_status "plan --allow-missing exits 0" 0 "$ctl" plan --allow-missing "$work/missing.conf"
check_contains "the missing PF is a warning" "$out" "warning: $work/missing.conf:4:7: match: netdev nosuch0"
check_status "apply --allow-missing applies the rest" 0 "$ctl" apply --allow-missing "$work/missing.conf"
check_eq "the other PF got its VFs (sysfs)" "$(<$dev/$pf1/sriov_numvfs)" 2
cat >"$work/e1000e.conf" <<CONF
version: 1
pfs:
  - match:
      device: 8086:10d3
CONF
check_status "a bare match on a NIC without SR-IOV (e1000e) exits 1" 1 "$ctl" plan "$work/e1000e.conf"
check_contains "says it cannot do SR-IOV" "$out" "which cannot do SR-IOV (no sriov_totalvfs)"

# --- plan FILE reads FILE.d next to it ---
check_status "plan FILE" 0 "$ctl" -j plan "$main"
check_eq "FILE.d next to FILE is read" "$(jq -c '[.changes[] | select(.field == "numvfs") | .want]' <<<"$out")" '["3"]'

# --- sriovd with --config-dir: status agrees with plan --config-dir ---
"$daemon" -v --config "$main" --config-dir "$work/d" --status-file "$work/status.json" --settle-ms 200 --resync-s 5 \
	>"$work/sriovd.log" 2>&1 &
dpid=$!
check "sriovd brought the host to the files of --config-dir" wait_for 90 state_ok
check_status "status: running and in sync" 0 "$ctl" status --status-file "$work/status.json"
printf '%s\n' "$out" | save status-in-sync.txt
check_contains "status shows the daemon's folder" "$out" "config dir:  $work/d"
check_contains "status shows the daemon's drop-in" "$out" "drop-in:     $work/d/10-vfs.conf"
check_eq "status file lists the files sriovd loaded" "$(jq -c '[.config, .config_dir, .config_files]' "$work/status.json")" \
	"[\"$main\",\"$work/d\",[\"$main\",\"$work/d/10-vfs.conf\"]]"

kill -STOP $dpid
$IP link set "$net0" vf 0 vlan 5
check_status "status sees drift" 1 "$ctl" -j status --status-file "$work/status.json"
st=$(changes <<<"$out")
check_status "plan --config-dir d" 0 "$ctl" -j plan "$main" --config-dir "$work/d"
check_eq "status drift = plan --config-dir d drift" "$st" "$(changes <<<"$out")"
check_eq "exactly the VLAN, from d's file" "$st" "[[\"$pf0\",0,\"vlan\",\"5\",\"100\",\"$work/d/10-vfs.conf:7:16\"]]"
kill -CONT $dpid
check "sriovd healed the VLAN" wait_for 30 state_ok

# --- the PF's driver unbound: the PF is missing, which is drift ---
echo "$pf0" >/sys/bus/pci/drivers/igb/unbind
check "sriovd logs the PF as missing" wait_for 30 grep -q "event=pf-missing error=\"$main:4:7: match: netdev $net0 matches no SR-IOV PF on this host\"" "$work/sriovd.log"
check_status "status with the PF unbound exits 1" 1 "$ctl" status --status-file "$work/status.json"
printf '%s\n' "$out" | save status-pf-unbound.txt
check_contains "status: the PF is missing" "$out" "missing PF: $main:4:7: match: netdev $net0 matches no SR-IOV PF on this host"
check "status never says drift: none while the PF is unbound" bash -c "! grep -q 'drift:       none' <<<'$out'"
check_status "status -j with the PF unbound" 1 "$ctl" -j status --status-file "$work/status.json"
check_eq "JSON: the missing entry (main file and d's, one match) counted as drift" "$(jq -c '[(.missing | length), .drift >= 1]' <<<"$out")" "[1,true]"
check_eq "the other PF kept its VFs" "$(<$dev/$pf1/sriov_numvfs)" 2
echo "$pf0" >/sys/bus/pci/drivers/igb/bind
check "the PF back: sriovd applies its entries" wait_for 90 state_ok
check_status "status in sync again" 0 "$ctl" status --status-file "$work/status.json"

# --- adversarial files on SIGHUP: rejected at once, logged, the daemon keeps serving ---
ticks() { local s; read -r -a s </proc/$dpid/stat; echo $((s[13] + s[14])); }
hz=$(getconf CLK_TCK)
hup_bad() { # FIXTURE EXPECTED_IN_LOG
	local n t0 t1
	n=$(grep -c 'event=reload-rejected' "$work/sriovd.log")
	cp "$fx/$1" "$main"
	t0=$(ticks)
	kill -HUP $dpid
	if wait_for 20 bash -c "[ \$(grep -c 'event=reload-rejected' '$work/sriovd.log') -gt $n ]"; then
		t1=$(ticks)
		tap_ok "SIGHUP with $1: rejected"
		echo "# SIGHUP with $1: $(((t1 - t0) * 1000 / hz)) ms of sriovd CPU (ticks of $((1000 / hz)) ms)"
		echo "$1: $(((t1 - t0) * 1000 / hz)) ms of CPU" | save "hup-$1.txt"
	else
		tap_not_ok "SIGHUP with $1: rejected within 20 s"
	fi
	check "SIGHUP with $1: the limit is logged" grep -qF "$2" "$work/sriovd.log"
	check "SIGHUP with $1: sriovd still running" kill -0 $dpid
}
hup_bad anchors.conf "$main:2:4085: alias *p: more than 1000 aliases in one file (the limit of a config)"
hup_bad laughs.conf "$main:7:10: size: more than 200000 values, lists and mappings, aliases expanded"
hup_bad nested.conf "$main:2:37: nesting: more than 32 levels of lists and mappings (the limit of a config)"
hup_bad reverse.conf "$main:2832:17: index: the VF entries take more than 4000000 updates of VF ranges"
$IP link set "$net0" vf 0 vlan 9
check "after the rejected reloads the old config is still enforced" wait_for 30 state_ok
cp "$work/main.copy" "$main"
kill -HUP $dpid
check "a good reload after them" wait_for 20 grep -q 'event=reloaded' "$work/sriovd.log"
kill -TERM $dpid
wait $dpid
check_eq "sriovd stops on SIGTERM with status 0" "$?" 0
save sriovd.log <"$work/sriovd.log"
rm -rf "$work"
schema_done
tap_done
