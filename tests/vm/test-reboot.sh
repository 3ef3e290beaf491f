#!/bin/bash
# Reboot scenario, on the HOST: boots the testbed VM twice with the same
# config and state folder (on the 9p share, as /etc and /var/lib would be on
# a disk) and checks that after each boot the host equals the file, and that
# the VF MACs are the same after the second boot as after the first.
#   test-reboot.sh BUILD_DIR OUT_DIR
set -uo pipefail
build=$1 outdir=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib/tap.sh"
rm -rf "$outdir"
shared=$outdir/shared
mkdir -p "$shared"
cat >"$shared/sriovd.conf" <<'CONF'
version: 1
pfs:
  - match:
      pci: 0000:01:00.0
    numvfs: 4
    mac: stable
    vfs:
      - index: 0-1
        vlan: 100
      - index: 2-3
        driver: vfio-pci
  - match:
      pci: 0000:02:00.0
    numvfs: 7
    mac: stable
CONF
for n in 1 2; do
	check_status "boot $n" 0 "$here/run-vm.sh" --out "$outdir/boot$n" "$here/guest-boot.sh" "$build" "$shared" "$n"
	check_eq "boot $n: sriovd --once applied the file" "$(cat "$shared/sriovd-boot$n.rc" 2>/dev/null)" 0
	check_eq "boot $n: nothing left to change" "$(jq '.changes | length' "$shared/plan-boot$n.json" 2>/dev/null)" 0
	check_eq "boot $n: VF counts" "$(jq -c '[.pfs[] | select(.driver=="igb") | .sriov.numvfs]' "$shared/list-boot$n.json")" "[4,7]"
	check_eq "boot $n: VF 2-3 on vfio-pci" \
		"$(jq -c '[.pfs[] | select(.address=="0000:01:00.0") | .vfs[] | .driver]' "$shared/list-boot$n.json")" \
		'["igbvf","igbvf","vfio-pci","vfio-pci"]'
	check_eq "boot $n: VLAN 100 on VF 0-1" \
		"$(jq -c '[.pfs[] | select(.address=="0000:01:00.0") | .vfs[0:2][] | .link.vlan]' "$shared/list-boot$n.json")" '[100,100]'
done
macs() { jq -c '[.pfs[] | select(.driver=="igb") | .vfs[] | .link.mac]' "$shared/list-boot$1.json"; }
check_eq "the 11 VF MACs are the same after the second boot" "$(macs 2)" "$(macs 1)"
check_eq "and locally administered, one per VF" "$(macs 1 | jq '[.[] | select(startswith("02:"))] | unique | length')" 11
grep -h 'event=applied' "$shared"/sriovd-boot*.log | sed 's/^/# /'
tap_done
