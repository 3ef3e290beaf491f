#!/bin/bash
# sriovd.service under a real systemd (PID 1) in the testbed VM, booted by
# run-vm.sh --systemd on an overlay of the read-only host root. Two phases:
#   setup (SRIOV_VM_PHASE=setup, chrooted in the overlay before systemd):
#     installs the built sriovd and its unit (as `ninja install` would, into
#     the overlay), the config, and a stand-in for networking ordered after
#     network-pre.target that records what it sees;
#   run (SRIOV_VM_PHASE=run, a service of the test's own target): checks that
#     the first apply ran before network-pre.target, READY/STATUS, the
#     sandbox in force (capabilities, seccomp, read-only root, and still
#     MACs, VLANs, vfio-pci, a VF netdev in another namespace seen), reload,
#     a SIGKILL restarted, the VFs there when `systemctl restart` returns,
#     and a bad config that fails once with status 78 instead of looping.
# The oracle is sysfs and /sbin/ip, systemd's own properties and journal.
#   test-systemd.sh BUILD_DIR [ARTIFACT_DIR]
set -uo pipefail
build=$1
artifacts=${2:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
unit=/etc/systemd/system/sriovd.service
conf=/etc/sriovd/sriovd.conf
probe=/run/sriov-test-netpre
pf0=0000:01:00.0 pf1=0000:02:00.0 # igb, behind root ports
D=/sys/bus/pci/devices
mac0=02:5a:00:00:00:10

# CONF: PF 0 3 VFs, VF 0 with a MAC and VLAN, VF 2 on vfio-pci; PF 1 N VFs.
write_conf() { # N1 [EXTRA_KEY_LINE]
	cat >"$conf" <<EOF
version: 1
pfs:
  - match:
      pci: $pf0
    numvfs: 3
    vfs:
      - index: 0
        mac: $mac0
        vlan: 100
      - index: 2
        driver: vfio-pci
  - match:
      pci: $pf1
    numvfs: $1
${2:-}
EOF
}

if [ "${SRIOV_VM_PHASE:-}" == setup ]; then
	set -e
	[ "${SRIOV_VM_SYSTEMD:-0}" == 1 ] || { echo "test-systemd.sh needs run-vm.sh --systemd" >&2; exit 1; }
	# What `ninja install` puts on a host, into the overlay only.
	install -D -m 0755 "$build/src/sriovd" /usr/local/sbin/sriovd
	sed 's|^ExecStart=.*|ExecStart=/usr/local/sbin/sriovd|' "$build/src/sriovd.service" >"$unit"
	ln -sfn ../sriovd.service /etc/systemd/system/sriov-test.target.wants/sriovd.service
	mkdir -p /etc/sriovd
	write_conf 2
	# A stand-in for networking: what a unit after network-pre.target sees.
	mkdir -p /etc/sriov-test
	cat >/etc/sriov-test/netpre.sh <<EOF
cat $D/$pf0/sriov_numvfs $D/$pf1/sriov_numvfs >$probe.numvfs
readlink $D/$pf0/virtfn2/driver >$probe.driver
/sbin/ip -d link show "\$(ls $D/$pf0/net)" >$probe.ip
EOF
	cat >/etc/systemd/system/sriov-test-netpre.service <<EOF
[Unit]
Description=sriovd testbed: what a unit after network-pre.target sees
After=network-pre.target
Before=sriov-test-run.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh /etc/sriov-test/netpre.sh
EOF
	ln -sfn ../sriov-test-netpre.service /etc/systemd/system/sriov-test.target.wants/sriov-test-netpre.service
	echo "setup: installed $unit, $conf, sriov-test-netpre.service"
	exit 0
fi

. "$here/lib/tap.sh"
ctl=$build/src/sriovctl
IP=/sbin/ip
save() { [ -n "$artifacts" ] && mkdir -p "$artifacts" && cat >"$artifacts/$1" || cat >/dev/null; }
prop() { systemctl show -P "$2" "$1"; } # UNIT PROPERTY
wait_for() { # SECONDS COMMAND... (a journalctl takes a second under TCG: count time)
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.2
	done
}
numvfs() { cat "$D/$1/sriov_numvfs"; }
# udev names the netdevs under systemd (enp1s0): the test asks sysfs.
net0=$(ls "$D/$pf0/net" | head -1)
net1=$(ls "$D/$pf1/net" | head -1)
echo "# PF netdevs: $net0 ($pf0), $net1 ($pf1)"
vf0_of_pf0() { # "MAC VLAN" of PF 0's VF 0, from /sbin/ip
	$IP -j -d link show "$net0" | jq -r '.[0].vfinfo_list[0] | "\(.address) \(.vlan_list[0].vlan // 0)"'
}
vfio_ok() { # PF 0's VF 2 on vfio-pci, its group's node there
	local vf g
	vf=$(readlink -f "$D/$pf0/virtfn2") || return 1
	[ "$(basename "$(readlink "$vf/driver")")" == vfio-pci ] || return 1
	g=$(basename "$(readlink "$vf/iommu_group")")
	[ -e "/dev/vfio/$g" ]
}
journal() { journalctl -b --no-pager -o cat -u sriovd.service; }
# The journal as it grows, on the host at once (a hung check still shows why).
journalctl -b -f --no-pager -o short-monotonic >"$SRIOV_VM_OUT/journal-live.log" 2>&1 &
trap 'kill $! 2>/dev/null' EXIT
# systemctl never hangs the scenario.
sctl() { timeout 180 systemctl "$@"; }

# --- the boot: PID 1, the overlay, the host's root read-only ---
echo "# kernel command line: $(cat /proc/cmdline)"
check_eq "PID 1 is systemd" "$(cat /proc/1/comm)" systemd
check_eq "/ is the overlay" "$(findmnt -n -o FSTYPE /)" overlay
check_contains "the init proved the host's root read-only before systemd" \
	"$(cat "$SRIOV_VM_OUT/console.log")" "sriov-init: the host's root is read-only here (a write was refused)"
state=$(sctl is-system-running --wait 2>&1)
echo "# system state: $state"
check_eq "the boot target is the test's own" "$(systemctl get-default)" sriov-test.target
check "no unit of the host's multi-user.target started (libvirtd, postgresql)" \
	bash -c '! systemctl is-active -q libvirtd.service postgresql.service'
check_eq "systemd sees a VM, not a container" "$(systemd-detect-virt -c)" none
check_eq "/ is a shared mount (what a service's sandbox gets later mounts through)" "$(findmnt -n -o PROPAGATION /)" shared
check_eq "systemd-tmpfiles-setup is masked" "$(prop systemd-tmpfiles-setup.service LoadState)" masked

# --- the first apply came before network-pre.target ---
check_eq "sriovd: active (running)" "$(prop sriovd ActiveState)/$(prop sriovd SubState)" active/running
check_eq "sriovd: Type=notify" "$(prop sriovd Type)" notify
ready=$(prop sriovd ActiveEnterTimestampMonotonic)
netpre=$(prop network-pre.target ActiveEnterTimestampMonotonic)
netunit=$(prop sriov-test-netpre.service ExecMainStartTimestampMonotonic)
echo "# monotonic us: sriovd READY $ready, network-pre.target $netpre, the unit after it $netunit"
check "network-pre.target was reached" test "${netpre:-0}" -gt 0
check "sriovd was READY (after its first apply) before network-pre.target" test "${ready:-0}" -gt 0 -a "${ready:-0}" -le "${netpre:-0}"
check "the unit after network-pre.target started after it" test "${netunit:-0}" -ge "${netpre:-0}"
check_eq "that unit saw the config's VF counts (3, 2)" "$(tr '\n' ' ' <"$probe.numvfs" 2>/dev/null)" "3 2 "
check_contains "... PF 0's VF 0 with its MAC and VLAN (ip)" "$(cat "$probe.ip" 2>/dev/null)" "vf 0     link/ether $mac0"
check_contains "... and VLAN 100" "$(grep 'vf 0 ' "$probe.ip" 2>/dev/null)" "vlan 100"
check_contains "... VF 2 already on vfio-pci" "$(cat "$probe.driver" 2>/dev/null)" vfio-pci
check_contains "journal: the start apply of PF 1" "$(journal)" "event=applied pf=$net1 pci=$pf1 reason=start"
check_contains "journal: and of PF 0" "$(journal)" "event=applied pf=$net0 pci=$pf0 reason=start"

# --- READY, STATUS ---
systemctl status --no-pager sriovd >"$SRIOV_VM_OUT/status-running.txt" 2>&1
st=$(cat "$SRIOV_VM_OUT/status-running.txt")
save status-running.txt <<<"$st"
check_contains "systemctl status: active (running)" "$st" "Active: active (running)"
check_contains "systemctl status: STATUS= with the state and the last event" "$st" 'Status: "in sync; last: event=applied pf='
check_eq "StatusText starts with in sync" "$(prop sriovd StatusText | cut -d';' -f1)" "in sync"

# --- the sandbox is in force, and sriovd still does its work ---
pid=$(prop sriovd MainPID)
check_eq "CapBnd: CAP_NET_ADMIN, CAP_SYS_ADMIN and CAP_CHOWN only" "$(awk '/^CapBnd/ {print $2}' /proc/$pid/status)" 0000000000201001
check_eq "NoNewPrivs" "$(awk '/^NoNewPrivs/ {print $2}' /proc/$pid/status)" 1
check_eq "a seccomp filter" "$(awk '/^Seccomp:/ {print $2}' /proc/$pid/status)" 2
check "its /etc is read-only (ProtectSystem=strict)" bash -c "! nsenter -t $pid -m touch /etc/sriovd/probe 2>/dev/null"
check "its /home is empty (ProtectHome)" bash -c "[ -z \"\$(nsenter -t $pid -m ls -A /home 2>/dev/null)\" ]"
check_eq "its /run/sriovd is writable (RuntimeDirectory)" "$(nsenter -t $pid -m sh -c 'touch /run/sriovd/.probe && rm /run/sriovd/.probe && echo yes')" yes
check_eq "VF 0: MAC and VLAN set through rtnetlink (ip)" "$(vf0_of_pf0)" "$mac0 100"
check "VF 2 on vfio-pci, /dev/vfio/GROUP there" vfio_ok
check "the status file in /run/sriovd" test -s /run/sriovd/status.json
check_status "sriovctl status reads it: sriovd running, in sync" 0 "$ctl" status
save sriovctl-status.txt <<<"$out"
check_eq "the API answers on /run/sriovd/api.sock" \
	"$(curl -s -o /dev/null -w '%{http_code}' --unix-socket /run/sriovd/api.sock http://localhost/v1/health)" 200

# --- systemctl reload ---
write_conf 3
check_status "systemctl reload sriovd" 0 sctl reload sriovd
check "reload: PF 1 gets its third VF" wait_for 60 test "$(numvfs $pf1)" == 3
wait_for 60 test "$(numvfs $pf1)" == 3
check_contains "journal: reloaded, then applied for the reload" "$(journal | grep -o 'event=reloaded.*\|event=applied pf=[^ ]* pci=[^ ]* reason=reload' | tr '\n' ' ')" \
	"event=reloaded config=$conf event=applied pf=$net1 pci=$pf1 reason=reload"
check "StatusText: the reload's apply is the last event" wait_for 30 bash -c "systemctl show -P StatusText sriovd | grep -q 'reason=reload'"
check_eq "the same sriovd (no restart)" "$(prop sriovd MainPID)" "$pid"
check_eq "still active" "$(prop sriovd ActiveState)" active

# A VF netdev in another network namespace: sriovd enters it (setns under
# the sandbox) and refuses the count change that would destroy it.
vf0_1=$(readlink -f "$D/$pf1/virtfn0")
net_vf=$(ls "$vf0_1/net" 2>/dev/null | head -1)
$IP netns add c1
$IP link set "$net_vf" netns c1
pid=$(prop sriovd MainPID)
echo "# /run/netns/c1 here: $(stat -c '%d:%i %F' /run/netns/c1), in sriovd's mount namespace: $(nsenter -t "$pid" -m stat -c '%d:%i %F' /run/netns/c1 2>&1)"
check_eq "sriovd's mount namespace sees the namespace c1 (the bind mount propagated)" \
	"$(nsenter -t "$pid" -m stat -c '%d:%i' /run/netns/c1 2>&1)" "$(stat -c '%d:%i' /run/netns/c1)"
check_status "control, outside the sandbox: sriovctl numvfs refuses to destroy it" 1 "$ctl" numvfs "$net1" 1
check_contains "... naming the namespace" "$out" "network namespace c1"
write_conf 1
sctl reload sriovd
check "a VF netdev in netns c1: the reload's change is refused" \
	wait_for 60 bash -c "journalctl -b -o cat -u sriovd | grep -q 'event=apply-refused pf=$net1.*network namespace c1'"
check_eq "refused: PF 1 keeps 3 VFs" "$(numvfs $pf1)" 3
check "refused: the netdev is still in c1" quiet $IP -n c1 link show "$net_vf"
check "StatusText says a PF is stuck" wait_for 30 bash -c "systemctl show -P StatusText sriovd | grep -q '1 PF stuck'"
write_conf 3
sctl reload sriovd
check "back to 3 VFs in the config: in sync again" wait_for 60 bash -c "systemctl show -P StatusText sriovd | grep -q '^in sync'"
$IP -n c1 link set "$net_vf" netns 1
$IP netns del c1

# --- SIGKILL: restarted ---
pid=$(prop sriovd MainPID)
kill -KILL "$pid"
check "a SIGKILLed sriovd is restarted (RestartSec=5)" \
	wait_for 60 bash -c "[ \"\$(systemctl show -P MainPID sriovd)\" != $pid ] && [ \"\$(systemctl show -P MainPID sriovd)\" != 0 ] && systemctl is-active -q sriovd"
check_eq "NRestarts 1" "$(prop sriovd NRestarts)" 1
check_eq "the VFs are still there (3, 3)" "$(numvfs $pf0) $(numvfs $pf1)" "3 3"

# --- systemctl restart: the VFs are there when it returns ---
check_status "systemctl stop sriovd" 0 sctl stop sriovd
echo 0 >"$D/$pf0/sriov_numvfs"
check_eq "PF 0's VFs removed by hand while sriovd is stopped" "$(numvfs $pf0)" 0
check_status "systemctl restart sriovd" 0 sctl restart sriovd
# No waiting: READY=1 comes after the first apply, restart returns after it.
check_eq "when restart returns: PF 0 has its 3 VFs again" "$(numvfs $pf0)" 3
check_eq "... VF 0 with its MAC and VLAN (ip)" "$(vf0_of_pf0)" "$mac0 100"
check "... VF 2 on vfio-pci" vfio_ok
check_status "systemctl restart sriovd while it runs" 0 sctl restart sriovd
check_eq "after it: 3 VFs and 3" "$(numvfs $pf0) $(numvfs $pf1)" "3 3"

# --- a bad config: fails once with 78, no loop ---
n_start=$(journal | grep -c 'event=start ')
write_conf 3 "    numfvs: 2"
check_status "systemctl restart with a bad config fails" 1 sctl restart sriovd
restarts=$(prop sriovd NRestarts)
check_eq "failed, exit code 78" "$(prop sriovd ActiveState) $(prop sriovd Result) $(prop sriovd ExecMainStatus)" "failed exit-code 78"
sleep 15 # three times RestartSec
check_eq "15 s later: still failed, not restarted" "$(prop sriovd ActiveState) $(prop sriovd NRestarts)" "failed $restarts"
check_eq "started once with the bad file" "$(($(journal | grep -c 'event=start ') - n_start))" 1
check_contains "journal: the error names the file, line and key" "$(journal)" \
	"event=config-rejected file=$conf error=\"$conf:15:5: numfvs"
systemctl status --no-pager sriovd >"$SRIOV_VM_OUT/status-bad-config.txt" 2>&1
st=$(cat "$SRIOV_VM_OUT/status-bad-config.txt")
save status-bad-config.txt <<<"$st"
check_contains "systemctl status: status=78/CONFIG" "$st" "status=78/CONFIG"
check_eq "nothing changed on the host (3, 3)" "$(numvfs $pf0) $(numvfs $pf1)" "3 3"
write_conf 3
check_status "the file fixed: systemctl start sriovd" 0 sctl start sriovd
check_eq "active again" "$(prop sriovd ActiveState)" active

journalctl -b --no-pager -o short-monotonic -u sriovd | save journal-sriovd.txt
tap_done
