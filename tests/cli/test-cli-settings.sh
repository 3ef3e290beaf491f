#!/bin/bash
# mtu:, up:, the altname and path matches, the name warning and the driver
# capability table on a fake sysfs tree (no kernel needed): what plan shows
# and refuses, what sriovctl mtu/link refuse before sending anything, what
# show and check say of a learned table. tests/vm/test-settings.sh does the
# same against the real kernel.
#   test-cli-settings.sh SRIOVCTL MKFAKESYSFS
set -uo pipefail
ctl=$1
mk=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../vm/lib/tap.sh"
. "$here/../vm/lib/schema.sh"
tmp=$(mktemp -d "${TMPDIR:-/dev/shm}/sriovctl-settings.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
schema_init "$ctl" "$tmp/captured" # every -j document is checked against the schema
export SRIOV_STATE_DIR=$tmp/state
"$mk" "$tmp/tb" testbed >/dev/null
T=$tmp/tb
dev=$T/bus/pci/devices
# The testbed tree: eth0 = 0000:01:00.0 (VFs eth2-eth4) and eth1 = 0000:02:00.0
# (VFs eth5-eth7), 3 of 7 VFs each, igb/igbvf; eth8 = 0000:00:02.0 no SR-IOV.
conf() { printf 'version: 1\npfs:\n%s\n' "$2" >"$tmp/$1.conf"; }

# --- mtu: and up: in the plan ---
echo 0x1002 >"$dev/0000:02:00.0/net/eth1/flags" # eth1 down
conf links "  - match:
      netdev: eth1
    up: true
    mtu: 9000
    numvfs: 3
    vfs:
      - {index: 0, mtu: 9000}
      - {index: 1-2, mtu: 1500}"
check_status "plan up + mtu" 0 "$ctl" plan "$tmp/links.conf" --sysfs-root "$T"
check_eq "plan: up, PF mtu, then the VF netdev that differs" "$out" "eth1 (0000:02:00.0)           up         down -> up
eth1 (0000:02:00.0)           mtu        1500 -> 9000
eth1 (0000:02:00.0)    VF 0   mtu        1500 -> 9000
3 changes"
check_status "plan -j up + mtu" 0 "$ctl" -j plan "$tmp/links.conf" --sysfs-root "$T"
check_eq "plan -j: kind, vf, now, want, source" "$(jq -c '[.changes[] | [.kind, .field, .vf, .now, .want, .source]]' <<<"$out")" \
	"[[\"up\",\"up\",null,\"down\",\"up\",\"$tmp/links.conf:5:9\"],[\"mtu\",\"mtu\",null,\"1500\",\"9000\",\"$tmp/links.conf:6:10\"],[\"mtu\",\"mtu\",0,\"1500\",\"9000\",\"$tmp/links.conf:9:25\"]]"
check_status "apply on a tree from elsewhere: refused" 1 "$ctl" apply "$tmp/links.conf" --sysfs-root "$T"
check_contains "apply: names the field" "$out" "$tmp/links.conf:5:9: up: netdev settings can be changed only on this host's own /sys (rtnetlink)"
check_eq "nothing written: eth1 still down" "$(cat "$dev/0000:02:00.0/net/eth1/flags")" 0x1002

# --- a VF's MTU above its PF's: exit 2, before anything ---
conf above "  - match:
      netdev: eth1
    mtu: 4000
    vfs:
      - {index: 2, mtu: 4001}"
check_status "plan: VF mtu above the PF's mtu: exit 2" 2 "$ctl" plan "$tmp/above.conf" --sysfs-root "$T"
check_eq "plan: the one line" "$out" "sriovctl: plan: $tmp/above.conf:7:25: mtu: 4001 for VF 2 of eth1 (0000:02:00.0) is above its PF's MTU 4000 (its mtu: at $tmp/above.conf:5:10); a VF's MTU cannot exceed its PF's"
check_status "apply: the same, exit 2" 2 "$ctl" apply "$tmp/above.conf" --sysfs-root "$T"
check_status "plan -j: the error document, exit 2" 2 "$ctl" -j plan "$tmp/above.conf" --sysfs-root "$T"
check_eq "error document" "$(sed -n '/^{/,/^}/p' <<<"$out" | jq -c '[.command, .exit_status]')" '["plan",2]'
conf above-now "  - match:
      netdev: eth0
    vfs:
      - {index: 0, mtu: 1501}"
check_status "plan: VF mtu above the PF's current MTU: exit 2" 2 "$ctl" plan "$tmp/above-now.conf" --sysfs-root "$T"
check_contains "plan: says it is the PF's MTU now" "$out" "is above its PF's MTU 1500 (what it has now; give the PF entry an mtu:)"
conf vfio "  - match:
      netdev: eth0
    vfs:
      - {index: 0, mtu: 1500, driver: vfio-pci}"
check_status "plan: mtu on a VF given to vfio-pci: refused" 1 "$ctl" plan "$tmp/vfio.conf" --sysfs-root "$T"
check_contains "plan: says why" "$out" "$tmp/vfio.conf:6:25: mtu: VF 0 of 0000:01:00.0 is bound to vfio-pci, which has no netdev to carry an MTU"
conf bad "  - match:
      netdev: eth0
    mtu: 50"
check_status "mtu: 50 is a config error" 1 "$ctl" plan "$tmp/bad.conf" --sysfs-root "$T"
check_eq "config error" "$out" "sriovctl: plan: $tmp/bad.conf:5:10: mtu: '50' is out of range 68-65535"

# --- sriovctl mtu / link ---
check_status "mtu VF above its PF's: exit 2" 2 "$ctl" mtu eth1#0 9000 --sysfs-root "$T"
check_contains "mtu: the PF's MTU and the fix" "$out" "mtu eth1#0 9000: above the MTU 1500 of its PF eth1; a VF's MTU cannot exceed its PF's (sriovctl mtu eth1 9000 first)"
check_status "mtu on a tree from elsewhere: refused" 1 "$ctl" mtu eth1 9000 --sysfs-root "$T"
check_contains "mtu: says why" "$out" "is not this kernel's /sys"
check_status "mtu 67: exit 2" 2 "$ctl" mtu eth1 67 --sysfs-root "$T"
check_contains "mtu: the range" "$out" "mtu eth1: '67' is not an MTU (68-65535)"
check_status "mtu 1e3: exit 2" 2 "$ctl" mtu eth1 1e3 --sysfs-root "$T"
check_status "mtu +1500: exit 2" 2 "$ctl" mtu eth1 +1500 --sysfs-root "$T"
check_status "mtu without N: exit 2" 2 "$ctl" mtu eth1 --sysfs-root "$T"
check_status "mtu on a device without a netdev" 1 "$ctl" mtu 0000:00:03.0 1500 --sysfs-root "$T"
check_contains "mtu: no netdev" "$out" "has no network interface here"
check_status "link sideways: exit 2" 2 "$ctl" link eth1 sideways --sysfs-root "$T"
check_contains "link: the words" "$out" "link eth1: 'sideways' is not up or down"
check_status "link on a tree from elsewhere: refused" 1 "$ctl" link eth1 up --sysfs-root "$T"
check_status "link on a device that is not there" 1 "$ctl" link eth9 up --sysfs-root "$T"
check_contains "link: no such device" "$out" "no such device"

# --- match by path; the warning for a name the kernel numbered ---
echo 1 >"$dev/0000:01:00.0/net/eth0/name_assign_type"
echo 4 >"$dev/0000:02:00.0/net/eth1/name_assign_type"
conf byname "  - match:
      netdev: eth0
    numvfs: 4
  - match:
      netdev: eth1
    numvfs: 4"
check_status "plan by netdev names" 0 "$ctl" plan "$tmp/byname.conf" --sysfs-root "$T"
check_contains "eth0 (enum): the warning, with the path and the address" "$out" \
	"warning: $tmp/byname.conf:4:7: match: netdev eth0 is a name the kernel numbered (name_assign_type 1, enum) that udev may still change, or the kernel give to another device; match by path: pci-0000:01:00.0 or pci: 0000:01:00.0 instead"
check_eq "eth1 (renamed): no warning" "$(grep -c 'netdev eth1 is a name' <<<"$out")" 0
conf bypath "  - match:
      path: pci-0000:01:00.0
    numvfs: 4"
check_status "plan by path" 0 "$ctl" plan "$tmp/bypath.conf" --sysfs-root "$T"
check_eq "by path: eth0's PF, no warning" "$out" "eth0 (0000:01:00.0)           numvfs     3 -> 4
1 change"
conf badpath "  - match:
      path: 0000:01:00.0"
check_status "path without pci-: a config error" 1 "$ctl" plan "$tmp/badpath.conf" --sysfs-root "$T"
check_eq "the error" "$out" "sriovctl: plan: $tmp/badpath.conf:4:13: path: '0000:01:00.0' is not a PCI path (udev's ID_PATH, pci-0000:01:00.0)"
conf noalt "  - match:
      altname: uplink0"
check_status "altname on a tree from elsewhere: no netlink, a missing PF" 1 "$ctl" plan "$tmp/noalt.conf" --sysfs-root "$T"
check_contains "names the entry" "$out" "$tmp/noalt.conf:4:7: match: altname uplink0 matches no SR-IOV PF on this host"

# --- the driver capability table, as apply and vf set leave it ---
mkdir -p "$SRIOV_STATE_DIR"
printf '# learned\nigb trust EOPNOTSUPP\nigbvf mtu EOPNOTSUPP\n' >"$SRIOV_STATE_DIR/capabilities"
check_status "show PF" 0 "$ctl" show eth0 --sysfs-root "$T"
check_contains "show: what igb cannot" "$out" "driver cannot:       trust (igb: EOPNOTSUPP)"
check_status "show -j VF" 0 "$ctl" -j show eth0#0 --sysfs-root "$T"
check_eq "show -j VF: its own driver's, then its PF's VF settings" "$(jq -c '[.unsupported_settings[] | [.setting, .driver, .error]]' <<<"$out")" \
	'[["mtu","igbvf","EOPNOTSUPP"],["trust","igb","EOPNOTSUPP"]]'
check_status "show -j the e1000e" 0 "$ctl" -j show eth8 --sysfs-root "$T"
check_eq "show -j: nothing for e1000e" "$(jq -c .unsupported_settings <<<"$out")" '[]'
out=$("$ctl" -j check --sysfs-root "$T" 2>/dev/null)
check_eq "check: a warning per device whose driver is in the table" \
	"$(jq -c '[.findings[] | select(.check == "capabilities") | .subject] | length' <<<"$out")" 8
check_eq "check: eth0's finding" "$(jq -c '[.findings[] | select(.check == "capabilities" and .subject == "0000:01:00.0") | [.status, .summary, .evidence]]' <<<"$out")" \
	"[[\"warn\",\"eth0 (driver igb) cannot: trust (the kernel answered EOPNOTSUPP)\",\"$SRIOV_STATE_DIR/capabilities: igb trust EOPNOTSUPP\"]]"
check_status "check text" 1 "$ctl" check --sysfs-root "$T"
check_contains "check text: the capability line" "$out" "eth0 (driver igb) cannot: trust (the kernel answered EOPNOTSUPP)"
conf trust "  - match:
      pci: 0000:01:00.0
    vfs:
      - {index: 1, trust: on, mtu: 1500}
      - {index: 2, mtu: 1400}"
check_status "plan trust and a VF mtu" 0 "$ctl" plan "$tmp/trust.conf" --sysfs-root "$T"
check_contains "plan: warns of trust" "$out" \
	"warning: $tmp/trust.conf:6:17: eth0 VF 1: trust on: driver igb answered EOPNOTSUPP to trust before (driver capability table); apply will send it, and the driver is expected to refuse it"
check_contains "plan: warns of the VF netdev's mtu (igbvf)" "$out" \
	"warning: $tmp/trust.conf:7:25: eth0 VF 2: mtu 1400: driver igbvf answered EOPNOTSUPP to mtu before"
printf 'igb trust\n' >"$SRIOV_STATE_DIR/capabilities"
check_status "show with a garbled table" 0 "$ctl" show eth0 --sysfs-root "$T"
check_contains "show: says so" "$out" "warning: driver capability table: not one (ignored)"
rm "$SRIOV_STATE_DIR/capabilities"

schema_done
tap_done
