#!/bin/bash
# The man pages, --help and the option tables stay in step:
#   - every option a command parses is in its --help, every option its
#     --help lists is in sriovctl(8) (the command's entry, or OPTIONS for the
#     options of every command), and every option the man page gives a
#     command is one it parses; the same for sriovd and sriovd(8);
#   - every command has an entry in sriovctl(8), and every entry is a command;
#   - every key the config parser knows is in sriovd.conf(5);
#   - the config the package ships (contrib/sriovd.conf) asks for nothing,
#     and its example, uncommented, is valid;
#   - --help prints the command's help and runs nothing; --version prints
#     the version meson knows.
#   test-cli-doc.sh SRIOVCTL SRIOVD MKFAKESYSFS VERSION MANSRC [MANBUILD]
set -uo pipefail
ctl=$1
daemon=$2
mk=$3
version=$4
mansrc=$5
manbuild=${6:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../vm/lib/tap.sh"
tmp=$(mktemp -d "${TMPDIR:-/dev/shm}/sriovctl-doc.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# section FILE TITLE: the lines of "# TITLE" up to the next "# " heading.
section() { awk -v t="# $2" '$0 == t {on = 1; next} /^# / {on = 0} on' "$1"; }
# entry CMD: CMD's entry in sriovctl(8)'s COMMANDS: from its "*CMD*" line
# to the next line that starts an entry.
entry() {
	section "$mansrc/sriovctl.8.scd" COMMANDS |
		awk -v c="$1" 'index($0, "*" c "*") == 1 || index($0, "*" c " ") == 1 {on = 1; print; next}
			/^\*[a-z]/ {on = 0} on'
}
# long_opts: the --options in stdin (bold in scdoc or plain), sorted.
long_opts() { grep -oE -- '--[a-z][a-z0-9-]*' | sort -u; }
# short_opts: the -x options of a "  -x, --long" help line.
short_opts() { grep -oE -- '^ +-[a-zA-Z],' | tr -d ' ,' | sort -u; }
# missing SET_A SET_B: the words of A that are not in B.
missing() { comm -23 <(sort -u <<<"$1") <(sort -u <<<"$2") | grep -v '^$' | tr '\n' ' '; }

check_eq "sriovctl --version is meson's version" "$("$ctl" --version)" "sriovctl $version"
check_eq "sriovctl -V after a command" "$("$ctl" list -V)" "sriovctl $version"
check_eq "sriovd --version is meson's version" "$("$daemon" --version)" "sriovd $version"
check_eq "sriovd -V" "$("$daemon" -V)" "sriovd $version"
check_status "sriovctl --help" 0 "$ctl" --help
help_main=$out
check_status "sriovd --help" 0 "$daemon" --help
help_daemon=$out

commands=$("$ctl" __complete commands)
man_commands=$(section "$mansrc/sriovctl.8.scd" COMMANDS | grep -oE '^\*[a-z][a-z-]*' | tr -d '*' | sort -u)
check_eq "sriovctl(8) has an entry for each command, and only those" \
	"$(sort -u <<<"$commands" | tr '\n' ' ')" "$(tr '\n' ' ' <<<"$man_commands")"
check_eq "sriovctl --help lists every command" \
	"$(missing "$commands" "$(awk '/^Commands:/ {on = 1; next} /^$/ {on = 0} on {print $1}' <<<"$help_main")")" ""

# The options of every command, and those only before one (--batch).
global_table=$("$ctl" __complete options | tr -d '=')
man_options=$(section "$mansrc/sriovctl.8.scd" OPTIONS)
check_eq "sriovctl --help: every option before the command is there" \
	"$(missing "$global_table" "$(long_opts <<<"$help_main")")" ""
check_eq "sriovctl(8) OPTIONS: every option of sriovctl --help" \
	"$(missing "$(long_opts <<<"$help_main" | grep -Fxf <(printf '%s\n' "$global_table"))" "$(long_opts <<<"$man_options")")" ""
check_eq "sriovctl(8) OPTIONS: every short option of sriovctl --help" \
	"$(missing "$(short_opts <<<"$help_main")" "$(grep -oE -- '^\*-[a-zA-Z]\*' <<<"$man_options" | tr -d '*')")" ""
check_eq "sriovctl(8) OPTIONS: each is an option sriovctl parses" \
	"$(missing "$(long_opts <<<"$man_options")" "$global_table")" ""

"$mk" "$tmp/tb" testbed >/dev/null
for c in $commands; do
	check_status "$c --help: exit 0" 0 "$ctl" "$c" --help
	help=$out
	check_eq "$c --help: its own usage" "$(head -1 <<<"$help" | awk '{print $1, $2, $3}')" "Usage: sriovctl $c"
	check_status "$c -h: exit 0" 0 "$ctl" "$c" -h
	table=$("$ctl" __complete options "$c" | tr -d '=')
	[ -n "$table" ] || tap_not_ok "$c: __complete options lists its options"
	man=$(entry "$c")
	check_eq "$c --help lists every option $c parses" "$(missing "$table" "$(long_opts <<<"$help")")" ""
	check_eq "sriovctl(8) has every option of $c --help" \
		"$(missing "$(long_opts <<<"$help")" "$( (long_opts <<<"$man"; grep -Fxf <(printf '%s\n' "$global_table") <(long_opts <<<"$man_options")) | sort -u)")" ""
	check_eq "sriovctl(8): each option of the $c entry is one $c parses" "$(missing "$(long_opts <<<"$man")" "$table")" ""
done
# --help is printed by the dispatcher: the command never runs.
numvfs=$(cat "$tmp/tb/bus/pci/devices/0000:01:00.0/sriov_numvfs")
check_status "numvfs --help with arguments: exit 0" 0 "$ctl" numvfs eth0 1 --help --sysfs-root "$tmp/tb"
check_eq "numvfs --help changes nothing" "$(cat "$tmp/tb/bus/pci/devices/0000:01:00.0/sriov_numvfs")" "$numvfs"
check_status "apply --help on a missing config: exit 0" 0 "$ctl" apply "$tmp/none.conf" --help
check_contains "apply --help: its options" "$out" "--allow-missing"
check_status "--help in a batch line" 0 "$ctl" --batch - <<<"bind --help"
check_contains "batch: bind's help" "$out" "Usage: sriovctl bind DEV DRIVER"
check_status "an unknown command's --help is a usage error" 2 "$ctl" frobnicate --help

# sriovd: sriovd --help and sriovd(8) OPTIONS name the same options, each one
# it parses (an option sriovd does not know is exit 2, before --help).
man_daemon=$(section "$mansrc/sriovd.8.scd" OPTIONS)
check_eq "sriovd(8) has every option of sriovd --help" \
	"$(missing "$(long_opts <<<"$help_daemon")" "$(long_opts <<<"$man_daemon")")" ""
check_eq "sriovd(8) has every short option of sriovd --help" \
	"$(missing "$(short_opts <<<"$help_daemon")" "$(grep -oE -- '^\*-[a-zA-Z]\*' <<<"$man_daemon" | tr -d '*')")" ""
bad=
for o in $(long_opts <<<"$man_daemon"); do
	arg=$o
	grep -qE -- "^(\*-[a-z]\*, )?\*$o\* _" <<<"$man_daemon" && arg="$o=1"
	"$daemon" "$arg" --help >/dev/null 2>&1 || bad+="$o "
done
check_eq "sriovd(8): each option is one sriovd parses" "$bad" ""
check_status "sriovd rejects an unknown option (the check above can fail)" 2 "$daemon" --frobnicate --help

# sriovd.conf(5): every key the parser lists when it meets an unknown one.
keys=
for doc in 'bogus: 1' $'pfs:\n  - bogus: 1' $'pfs:\n  - match: {bogus: 1}' \
	$'pfs:\n  - match: {netdev: eth0}\n    vfs:\n      - bogus: 1' $'networks:\n  - bogus: 1' $'aliases:\n  - bogus: 1' \
	$'pfs:\n  - match: {netdev: eth0}\n    relays:\n      - bogus: 1'; do
	printf 'version: 1\n%s\n' "$doc" >"$tmp/bad.conf"
	err=$("$ctl" plan "$tmp/bad.conf" --config-dir "" --sysfs-root "$tmp/tb" 2>&1)
	list=$(sed -n 's/.*unknown key[^(]*(expected \(.*\))$/\1/p' <<<"$err" | sed 's/,\| or / /g')
	[ -n "$list" ] || tap_not_ok "the parser names the keys it expects: $err"
	keys+="$list "
done
man_keys=$(grep -oE '\*[a-z_-]+(:)?\*' "$mansrc/sriovd.conf.5.scd" | tr -d '*:' | sort -u)
check_eq "sriovd.conf(5) has every key of the config" "$(missing "$(tr ' ' '\n' <<<"$keys")" "$man_keys")" ""

# The config the package installs as /etc/sriovd/sriovd.conf asks for
# nothing; its example, uncommented, is a config that does ask.
shipped=$mansrc/../contrib/sriovd.conf
check_status "the shipped config plans nothing" 0 "$ctl" plan "$shipped" --config-dir "" --sysfs-root "$tmp/tb"
check_eq "... 0 changes" "$out" "0 changes"
check_status "sriovd --once with the shipped config: exit 0" 0 "$daemon" --once --config "$shipped" --config-dir "" \
	--sysfs-root "$tmp/tb"
check_eq "... and the tree is as it was" "$(cat "$tmp/tb/bus/pci/devices/0000:01:00.0/sriov_numvfs")" "$numvfs"
sed -n 's/^#\([^ ]\|  \)/\1/p' "$shipped" >"$tmp/example.conf"
mkdir "$tmp/tb/bus/pci/drivers/vfio-pci"
check_status "the shipped example, uncommented, is a valid config" 0 "$ctl" plan "$tmp/example.conf" --config-dir "" \
	--sysfs-root "$tmp/tb"
check_contains "... that asks for VFs" "$out" "VF 3   driver     - -> vfio-pci"

if [ -n "$manbuild" ] && [ -f "$manbuild/sriovctl.8" ]; then
	for p in sriovctl.8 sriovd.8 sriovd.conf.5; do
		check "$p: built, holds the version" grep -q "sriovd $version" "$manbuild/$p"
		if command -v man >/dev/null; then
			check_contains "$p: man renders it" "$(MANWIDTH=80 man -l "$manbuild/$p" 2>&1 | head -5)" "NAME"
		fi
	done
fi
tap_done
