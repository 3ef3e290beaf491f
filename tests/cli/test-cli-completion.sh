#!/bin/bash
# The bash completion of sriovctl (completion/sriovctl), driven as bash
# drives it: COMP_WORDS split the way readline splits the line (':' is a
# word of its own), COMP_CWORD, COMP_LINE, COMP_POINT, then the completion
# function, on a fake sysfs tree. Once with bash-completion's helpers loaded
# (as an interactive shell has them), once with the script alone.
#   test-cli-completion.sh SRIOVCTL MKFAKESYSFS COMPLETION_FILE
set -uo pipefail
ctl=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
mk=$2
script=$(cd "$(dirname "$3")" && pwd)/$(basename "$3")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../vm/lib/tap.sh"
tmp=$(mktemp -d "${TMPDIR:-/dev/shm}/sriovctl-compl.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
"$mk" "$tmp/tb" testbed >/dev/null
mkdir -p "$tmp/bin" "$tmp/cwd/confs" && ln -s "$ctl" "$tmp/bin/sriovctl"
touch "$tmp/cwd/site.conf" "$tmp/cwd/confs/a.conf"

bash_completion=/usr/share/bash-completion/bash_completion

# complete MODE LINE: the completions bash offers at the end of LINE, sorted,
# on one line. MODE: full (bash-completion loaded) or bare.
complete_line() {
	local mode=$1 line=$2
	(
		cd "$tmp/cwd" || exit 1
		export PATH="$tmp/bin:$PATH" SRIOV_SYSFS_ROOT="$tmp/tb"
		if [ "$mode" = full ]; then
			# shellcheck disable=SC1090
			. "$bash_completion" || exit 1
		fi
		# shellcheck disable=SC1090
		. "$script" || exit 1
		# readline's split: blanks separate words, ':' is a word itself.
		local -a w=()
		read -r -a w <<<"${line//:/ : }"
		# "a : b" with no blank around ':' in the line is what readline
		# gives too; a line ending in a blank starts an empty word.
		[[ $line == *" " ]] && w+=("")
		((${#w[@]})) || w=("")
		COMP_WORDS=("${w[@]}")
		COMP_CWORD=$((${#w[@]} - 1))
		COMP_LINE=$line
		COMP_POINT=${#line}
		COMPREPLY=()
		_sriovctl
		((${#COMPREPLY[@]})) && printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' '
	)
}

for mode in full bare; do
	if [ "$mode" = full ] && [ ! -f "$bash_completion" ]; then
		tap_not_ok "bash-completion is installed ($bash_completion)"
		continue
	fi
	t() { check_eq "$mode: '$1'" "$(complete_line "$mode" "$1")" "$2"; }
	t "sriovctl " "apply bind check claim claims export link list match mtu numvfs plan relay release show stats status vf "
	t "sriovctl s" "show stats status "
	t "sriovctl --sys" "--sysfs-root "
	t "sriovctl -j --b" "--batch "
	t "sriovctl numvfs --" "--force --help --json --kmsg --no-autoprobe --no-daemon --proc-root --socket --state-dir --sysfs-root --timeout --version "
	t "sriovctl numvfs eth0 4 --no" "--no-autoprobe --no-daemon "
	t "sriovctl apply --" "--allow-missing --config --config-dir --force --help --json --kmsg --no-daemon --proc-root --settle --socket --state-dir --sysfs-root --timeout --version "
	t "sriovctl claims --so" "--socket "
	t "sriovctl show eth" "eth0 eth0#0 eth0#1 eth0#2 eth1 eth1#0 eth1#1 eth1#2 eth2 eth3 eth4 eth5 eth6 eth7 "
	t "sriovctl show eth1#" "eth1#0 eth1#1 eth1#2 "
	t "sriovctl -j stats eth0#" "eth0#0 eth0#1 eth0#2 "
	t "sriovctl bind eth0#1 " "e1000e igb igbvf kernel nvme "
	t "sriovctl bind eth0#1 ig" "igb igbvf "
	t "sriovctl bind --force eth0#1 k" "kernel "
	t "sriovctl vf " "set "
	t "sriovctl vf set eth0#1 " "mac max-rate min-rate proto qos query-rss spoofchk state trust vlan "
	t "sriovctl vf set eth0#1 spoofchk " "off on "
	t "sriovctl vf set eth0#1 spoofchk on st" "state "
	t "sriovctl vf set eth0#1 vlan 5 proto " "802.1Q 802.1ad "
	t "sriovctl vf set eth0#1 state " "auto disable enable "
	t "sriovctl plan " "confs site.conf "
	t "sriovctl plan --config-dir " "confs "
	t "sriovctl list " ""
	t "sriovctl export eth1#" "eth1#0 eth1#1 eth1#2 "
	t "sriovctl relay " "add del list stats "
	t "sriovctl relay add --vf eth1#" "eth1#0 eth1#1 eth1#2 "
	t "sriovctl relay add --mode " "client server "
	t "sriovctl relay add --relay-s" "--relay-socket "
	t "sriovctl export eth1#0 --format " "json libvirt libvirt-hostdev qemu xen "
	t "sriovctl link eth0 " "down up "
	t "sriovctl link eth0 d" "down "
	t "sriovctl claim --consumer c1 --device eth1#" "eth1#0 eth1#1 eth1#2 "
	# Another tree named on the command line wins over $SRIOV_SYSFS_ROOT.
	t "sriovctl show --sysfs-root $tmp/grid eth" ""
	if [ "$mode" = full ]; then
		# PCI addresses: readline splits them at ':', bash-completion's
		# helpers match the whole address and hand readline the part after
		# the last ':' (the word it replaces).
		t "sriovctl show 0000:01:00" "00.0 00.0#0 00.0#1 00.0#2 "
		t "sriovctl show 0000:01:00.0#" "00.0#0 00.0#1 00.0#2 "
		t "sriovctl show 0000:02" "02:00.0 02:00.0#0 02:00.0#1 02:00.0#2 02:10.0 02:10.2 02:10.4 "
		t "sriovctl bind 0000:01:10.0 vfio" ""
	fi
done
"$mk" "$tmp/grid" grid 2 1 >/dev/null
check_eq "the tree on the command line is asked" "$(complete_line bare "sriovctl show --sysfs-root $tmp/grid 0")" \
	"$("$ctl" __complete devices --sysfs-root "$tmp/grid" | grep '^0' | sort | tr '\n' ' ')"
check_eq "... and it is not the testbed's" "$(complete_line bare "sriovctl show --sysfs-root $tmp/grid eth0#2")" ""
check_status "__complete without a subcommand is a usage error" 2 "$ctl" __complete
check_status "__complete options of an unknown command" 2 "$ctl" __complete options frobnicate
check_eq "__complete is not in the command list" "$("$ctl" --help | grep -c __complete)" 0
tap_done
