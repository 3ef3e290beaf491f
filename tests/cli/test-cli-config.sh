#!/bin/bash
# Which files make the config, on a fake sysfs tree (no kernel needed): one
# rule for plan, apply, status and sriovd (FILE, then FILE.d/*.conf, or
# --config-dir DIR); the status file lists what sriovd loaded and status
# computes the drift from exactly that; a PF the config names that is not
# here fails plan/apply unless --allow-missing, and is drift in status.
#   test-cli-config.sh SRIOVCTL SRIOVD MKFAKESYSFS
set -uo pipefail
ctl=$1
daemon=$2
mk=$3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../vm/lib/tap.sh"
. "$here/../vm/lib/schema.sh"
tmp=$(mktemp -d "${TMPDIR:-/dev/shm}/sriovctl-config.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
schema_init "$ctl" "$tmp/captured" # every -j document is checked against the schema
export SRIOV_STATE_DIR=$tmp/state
"$mk" "$tmp/tb" testbed >/dev/null
T=$tmp/tb
dev=$T/bus/pci/devices
# The testbed tree: eth0 = 0000:01:00.0 and eth1 = 0000:02:00.0 with 3 of 7 VFs,
# autoprobe on; eth8 = 0000:00:02.0 has no SR-IOV.

mkdir -p "$tmp/c/sriovd.conf.d" "$tmp/d"
printf 'version: 1\npfs:\n  - match:\n      netdev: eth0\n    numvfs: 3\n' >"$tmp/c/sriovd.conf"
printf 'version: 1\npfs:\n  - match:\n      netdev: eth0\n    numvfs: 5\n' >"$tmp/c/sriovd.conf.d/10-more.conf"
printf 'version: 1\npfs:\n  - match:\n      pci: 02:00.0\n    autoprobe: false\n' >"$tmp/d/20-eth1.conf"
main=$tmp/c/sriovd.conf

check_status "plan FILE reads FILE.d next to it" 0 "$ctl" plan "$main" --sysfs-root "$T"
check_contains "the drop-in's numvfs wins" "$out" "numvfs     3 -> 5"
check_status "plan --config FILE: the same" 0 "$ctl" -j plan --config "$main" --sysfs-root "$T"
check_eq "one change, numvfs 5" "$(jq -c '[.changes[] | [.field, .want, .source]]' <<<"$out")" \
	"[[\"numvfs\",\"5\",\"$tmp/c/sriovd.conf.d/10-more.conf:5:13\"]]"
check_status "FILE and --config together is a usage error" 2 "$ctl" plan "$main" --config "$main" --sysfs-root "$T"
check_status "plan --config-dir DIR reads DIR instead of FILE.d" 0 "$ctl" -j plan "$main" --config-dir "$tmp/d" --sysfs-root "$T"
check_eq "only DIR's change" "$(jq -c '[.changes[] | [.pf, .field, .want]]' <<<"$out")" '[["0000:02:00.0","autoprobe","off"]]'
check_status "plan --config-dir '' reads no drop-in" 0 "$ctl" plan "$main" --config-dir "" --sysfs-root "$T"
check_contains "nothing to change" "$out" "0 changes"

# A missing PF: plan and apply fail naming the entry, unless --allow-missing.
printf 'version: 1\npfs:\n  - match:\n      netdev: eth9\n  - match:\n      netdev: eth8\n    numvfs: 1\n' >"$tmp/d/30-missing.conf"
check_status "plan with missing PFs exits 1" 1 "$ctl" plan "$main" --config-dir "$tmp/d" --sysfs-root "$T"
check_contains "names the entry and why" "$out" "sriovctl: plan: $tmp/d/30-missing.conf:4:7: match: netdev eth9 matches no SR-IOV PF on this host"
check_contains "a device without SR-IOV is missing too" "$out" "$tmp/d/30-missing.conf:6:7: match: netdev eth8 is 0000:00:02.0, which cannot do SR-IOV (no sriov_totalvfs)"
check_contains "plan still shows the rest" "$out" "autoprobe  on -> off"
check_status "plan --allow-missing exits 0" 0 "$ctl" plan --allow-missing "$main" --config-dir "$tmp/d" --sysfs-root "$T"
check_contains "as a warning" "$out" "warning: $tmp/d/30-missing.conf:4:7: match: netdev eth9 matches no SR-IOV PF"
check_status "plan -j lists the missing PFs" 1 "$ctl" -j plan "$main" --config-dir "$tmp/d" --sysfs-root "$T"
check_eq "missing in JSON" "$(jq -c '.missing | length' <<<"$(sed -n '/^{/,/^}/p' <<<"$out")")" 2
check_status "apply with a missing PF exits 1" 1 "$ctl" apply "$main" --config-dir "$tmp/d" --sysfs-root "$T"
check_contains "apply names the entry" "$out" "sriovctl: apply: $tmp/d/30-missing.conf:4:7: match: netdev eth9 matches no SR-IOV PF on this host (--allow-missing applies the rest)"
check_eq "apply wrote nothing" "$(cat "$dev/0000:02:00.0/sriov_drivers_autoprobe")" 1
check_status "apply --allow-missing applies the rest" 0 "$ctl" apply --allow-missing "$main" --config-dir "$tmp/d" --sysfs-root "$T"
check_eq "autoprobe written" "$(cat "$dev/0000:02:00.0/sriov_drivers_autoprobe")" 0
rm "$tmp/d/30-missing.conf"
echo 1 >"$dev/0000:02:00.0/sriov_drivers_autoprobe"

# sriovd with --config-dir: its status file says what it loaded, and status
# computes the drift from exactly those files.
check_status "sriovd --once --config-dir DIR" 0 "$daemon" --once --sysfs-root "$T" --config "$main" \
	--config-dir "$tmp/d" --status-file "$tmp/status.json"
check_eq "status file: config" "$(jq -r .config "$tmp/status.json")" "$main"
check_eq "status file: config_dir" "$(jq -r .config_dir "$tmp/status.json")" "$tmp/d"
check_eq "status file: config_files" "$(jq -c .config_files "$tmp/status.json")" "[\"$main\",\"$tmp/d/20-eth1.conf\"]"
check_eq "sriovd applied DIR's file" "$(cat "$dev/0000:02:00.0/sriov_drivers_autoprobe")" 0
echo 1 >"$dev/0000:02:00.0/sriov_drivers_autoprobe"
check_status "status (daemon gone: exit 1)" 1 "$ctl" -j status --status-file "$tmp/status.json" --sysfs-root "$T"
status_changes=$(jq -c '[.changes[] | [.pf, .field, .now, .want, .source]]' <<<"$out")
check_eq "status: the daemon's files" "$(jq -c '[.config_dir, .config_files]' <<<"$out")" "[\"$tmp/d\",[\"$main\",\"$tmp/d/20-eth1.conf\"]]"
check_status "plan --config-dir DIR" 0 "$ctl" -j plan "$main" --config-dir "$tmp/d" --sysfs-root "$T"
check_eq "status drift = plan --config-dir DIR" "$status_changes" "$(jq -c '[.changes[] | [.pf, .field, .now, .want, .source]]' <<<"$out")"
check_eq "no false drift from FILE.d" "$status_changes" "[[\"0000:02:00.0\",\"autoprobe\",\"on\",\"off\",\"$tmp/d/20-eth1.conf:4:7\"]]"
# A drop-in added after the daemon loaded is not what it uses.
printf 'version: 1\npfs:\n  - match:\n      netdev: eth0\n    numvfs: 6\n' >"$tmp/d/40-late.conf"
check_status "status ignores a file the daemon has not loaded" 1 "$ctl" -j status --status-file "$tmp/status.json" --sysfs-root "$T"
check_eq "same drift as before" "$(jq -c '[.changes[] | [.pf, .field, .now, .want, .source]]' <<<"$out")" "$status_changes"
rm "$tmp/d/40-late.conf"

# The PF's driver unbound: no netdev, so `netdev: eth0` matches nothing: drift, never none.
printf 'version: 1\npfs:\n  - match:\n      netdev: eth0\n    numvfs: 3\n' >"$tmp/d/20-eth1.conf"
echo 0 >"$dev/0000:02:00.0/sriov_drivers_autoprobe"
check_status "sriovd --once, in sync" 0 "$daemon" --once --sysfs-root "$T" --config "$main" --config-dir "$tmp/d" \
	--status-file "$tmp/status.json"
mv "$dev/0000:01:00.0/net" "$dev/0000:01:00.0/net.away"
check_status "status with the PF's netdev gone" 1 "$ctl" status --status-file "$tmp/status.json" --sysfs-root "$T"
check_contains "drift: the PF is missing" "$out" "drift:       1 change wanted (1 PF missing):"
check_contains "names the entry" "$out" "missing PF: $main:4:7: match: netdev eth0 matches no SR-IOV PF on this host"
check_status "sriovd --once with the PF gone exits 1" 1 "$daemon" --once --sysfs-root "$T" --config "$main" \
	--config-dir "$tmp/d" --status-file "$tmp/status.json"
check_contains "logged as pf-missing" "$out" "event=pf-missing error=\"$main:4:7: match: netdev eth0 matches no SR-IOV PF on this host\""
check_eq "status file: last_drift counts it" "$(jq .last_drift "$tmp/status.json")" 1
mv "$dev/0000:01:00.0/net.away" "$dev/0000:01:00.0/net"
check_status "status when the PF is back" 1 "$ctl" -j status --status-file "$tmp/status.json" --sysfs-root "$T"
check_eq "no drift" "$(jq -c '[.drift, (.missing | length)]' <<<"$out")" "[0,0]"

# VFs the PF cannot have are never expanded: one warning, bounded by sriov_totalvfs.
printf 'version: 1\npfs:\n  - match:\n      netdev: eth0\n    vfs:\n      - index: 60000\n        trust: on\n      - index: 2\n        trust: on\n' >"$tmp/big-index.conf"
check_status "plan with a VF index beyond sriov_totalvfs" 0 "$ctl" plan --sysfs-root "$T" --config-dir "" "$tmp/big-index.conf"
check_contains "one warning naming sriov_totalvfs" "$out" "warning: $tmp/big-index.conf:6:16: VF 60000 of 0000:01:00.0 is configured but the PF can have at most 7 VFs (sriov_totalvfs): ignored"
check_eq "no per-VF warning beyond what the PF can have" "$(grep -c warning <<<"$out")" 1

# Adversarial files: refused (or planned) at once, with the limit named.
# CPU seconds (user + system) are printed for the record, not asserted.
fx=$here/../fixtures/config
TIMEFORMAT='%U %S'
adversarial() { # FILE EXPECTED_MESSAGE
	local cpu
	cpu=$({ time "$ctl" plan --sysfs-root "$T" --config-dir "" "$fx/$1" >"$tmp/adv.out" 2>&1; } 2>&1)
	out=$(cat "$tmp/adv.out")
	check_contains "plan $1: refused with the limit named" "$out" "sriovctl: plan: $fx/$1:$2"
	echo "# plan $1: $(awk '{ printf "%.3f", $1 + $2 }' <<<"$cpu") s of CPU"
}
adversarial anchors.conf "2:4085: alias *p: more than 1000 aliases in one file (the limit of a config)"
adversarial laughs.conf "7:10: size: more than 200000 values, lists and mappings, aliases expanded"
adversarial nested.conf "2:37: nesting: more than 32 levels of lists and mappings (the limit of a config)"
adversarial reverse.conf "2832:17: index: the VF entries take more than 4000000 updates of VF ranges"
# 200 x numvfs 65535 with index all is a valid file: one range per entry; the
# plan refuses 65535 VFs on eth0 (sriov_totalvfs 7), and the rest are missing.
adversarial numvfs.conf "5:13: numvfs 65535: eth0 offers at most 7 VFs (sriov_totalvfs)"
if ! grep -qa __asan_init "$schema_bin"; then # ASan reserves terabytes of address space (the binary, not the wrapper)
	out=$( (ulimit -v 262144; "$ctl" plan --sysfs-root "$T" --config-dir "" --allow-missing "$fx/numvfs.conf" 2>&1) )
	check_contains "numvfs.conf planned within 256 MiB of address space (2.2 GB when ranges were expanded)" "$out" \
		"numvfs 65535: eth0 offers at most 7 VFs (sriov_totalvfs)"
fi

# The help text and sriovd's usage document the rule.
check_status "sriovctl --help" 0 "$ctl" --help
check_contains "--config-dir in sriovctl --help" "$out" "--config-dir DIR"
check_contains "--allow-missing in sriovctl --help" "$out" "--allow-missing"
check_status "sriovd --help" 0 "$daemon" --help
check_contains "sriovd: FILE.d by default" "$out" "default FILE.d"
schema_done
tap_done
