#!/usr/bin/env bash
# The Debian package as a user meets it, as TAP: dpkg-buildpackage builds it
# from a copy of this tree (the checkout is left as it is), lintian finds no
# error in it, `apt-get install ./sriovd_VERSION_ARCH.deb` installs it, its
# files are checked (binaries and their version, the unit and its enabling,
# man pages, completion, the conffile, the docs), and `apt-get purge` takes
# it away again, leaving the packages, /etc and the systemd enablings as
# they were. Needs root (apt-get) and scripts/install-deps.sh's packages.
#   scripts/test-package.sh          (run by scripts/test.sh)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
. tests/vm/lib/tap.sh
export DEBIAN_FRONTEND=noninteractive LC_ALL=C

if [ "$(id -u)" -ne 0 ]; then
	tap_not_ok "runs as root (apt-get install and purge)"
	echo "# took ${SECONDS}s"
tap_done
	exit 1
fi

version=$(meson introspect --projectinfo meson.build | python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')
arch=$(dpkg --print-architecture)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sriovd-deb.XXXXXX")
installed_here=0
cleanup() {
	if [ "$installed_here" = 1 ]; then
		apt-get purge -y -qq sriovd >/dev/null 2>&1
	fi
	if [ -e "$tmp/var-lib-sriovd" ]; then
		rm -rf /var/lib/sriovd
		mv "$tmp/var-lib-sriovd" /var/lib/sriovd
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# The state the purge must bring back.
snapshot() {
	dpkg-query -W -f '${Package} ${Version} ${db:Status-Abbrev}\n' | sort
	find /etc -xdev -path /etc/ld.so.cache -prune -o -print 2>/dev/null | sort
	find /var/lib/systemd/deb-systemd-helper-enabled /var/lib/systemd/deb-systemd-helper-masked \
		/var/lib/sriovd 2>/dev/null | sort
}
if dpkg-query -W -f '${db:Status-Abbrev}' sriovd 2>/dev/null | grep -q '^[a-z]i'; then
	tap_not_ok "sriovd is not installed before the test (apt-get purge sriovd first)"
	echo "# took ${SECONDS}s"
tap_done
	exit 1
fi
snapshot >"$tmp/before"
# A purge removes what sriovd keeps in /var/lib/sriovd: keep the host's
# aside, and put it back at the end.
if [ -e /var/lib/sriovd ]; then
	mv /var/lib/sriovd "$tmp/var-lib-sriovd"
fi

# The copy: the files git knows plus new ones it does not ignore, so that a
# change not committed yet is in the package too; no build folder.
mkdir -p "$tmp/sriovd-$version"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git ls-files -z -co --exclude-standard |
		while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
		tar --null -T - -cf - | tar -xf - -C "$tmp/sriovd-$version"
else
	tar --exclude='./build*' --exclude='./obj-*' -cf - . | tar -xf - -C "$tmp/sriovd-$version"
fi
status_before=$(git status --porcelain 2>/dev/null)

check_eq "debian/changelog's version is meson's" \
	"$(cd "$tmp/sriovd-$version" && dpkg-parsechangelog -S Version)" "$version"
# Every pkg-config dependency and program the build looks for comes from a
# package Build-Depends names (this host has them all: a missing one would
# only show on a clean builder).
build_depends=$(awk '/^Build-Depends:/ {on = 1; sub(/^Build-Depends:/, "")} on && /^[^ ]/ && !/^Build-Depends:/ {on = 0}
	on' debian/control | tr ',' '\n' | sed 's/[[(<].*//; s/|.*//; s/[[:space:]]//g' | grep -v '^$' | sort -u)
unlisted=
for pc in $(grep -rhoE "dependency\('[^']+'" --include=meson.build meson.build src man completion tests |
	sed "s/dependency('//; s/'//" | sort -u) scdoc; do
	# meson's own dependencies on what libc provides: no package of their own
	case $pc in threads|dl) continue ;; esac
	if [ "$pc" = scdoc ]; then
		f=$(command -v scdoc)
	else
		f=$(pkg-config --path "$pc" 2>/dev/null)
	fi
	owner=$( [ -n "$f" ] && dpkg -S "$(readlink -f "$f")" 2>/dev/null | head -1 | cut -d: -f1)
	grep -qxF "${owner:-?}" <<<"$build_depends" || unlisted+="$pc (${owner:-not found}) "
done
check_eq "Build-Depends names the package of every dependency meson looks for" "$unlisted" ""

# The unit tests ran already (scripts/test.sh): the package is built without
# them, which also leaves their build dependencies out (-Pnocheck).
rc=0
(cd "$tmp/sriovd-$version" && DEB_BUILD_OPTIONS="nocheck noautodbgsym parallel=$(nproc)" \
	dpkg-buildpackage -us -uc -b -Pnocheck) >"$tmp/build.log" 2>&1 || rc=$?
check_eq "dpkg-buildpackage -us -uc -b: exit 0" "$rc" 0
[ "$rc" = 0 ] || tail -30 "$tmp/build.log" | sed 's/^/#   /'
deb=$tmp/sriovd_${version}_${arch}.deb
check "it built sriovd_${version}_${arch}.deb" test -f "$deb"
check_eq "the checkout is left as it was" "$(git status --porcelain 2>/dev/null)" "$status_before"
if [ ! -f "$deb" ]; then
	echo "# took ${SECONDS}s"
tap_done
	exit 1
fi

rc=0
lintian --fail-on error --display-level '>=warning' "$tmp/sriovd_${version}_${arch}.changes" >"$tmp/lintian.log" 2>&1 ||
	rc=$?
grep -v 'running with root privileges' "$tmp/lintian.log" | sed 's/^/# lintian: /'
check_eq "lintian: no errors" "$rc" 0

rc=0
(cd "$tmp" && apt-get install -y -qq "./${deb##*/}") >"$tmp/install.log" 2>&1 || rc=$?
[ "$rc" = 0 ] && installed_here=1
check_eq "apt-get install ./sriovd_${version}_${arch}.deb: exit 0" "$rc" 0
[ "$rc" = 0 ] || sed 's/^/#   /' "$tmp/install.log"
check_eq "it pulled in no other package" \
	"$(comm -13 <(sed -n 's/ .*//p' "$tmp/before" | sort -u) <(dpkg-query -W -f '${Package}\n' | sort -u) | tr '\n' ' ')" \
	"sriovd "

files=$(dpkg -L sriovd 2>/dev/null)
for f in /usr/bin/sriovctl /usr/sbin/sriovd /usr/sbin/sriov-relay /usr/share/man/man8/sriov-relay.8.gz \
	/lib/systemd/system/sriovd.service \
	/usr/share/man/man8/sriovctl.8.gz /usr/share/man/man8/sriovd.8.gz /usr/share/man/man5/sriovd.conf.5.gz \
	/usr/share/bash-completion/completions/sriovctl /etc/sriovd/sriovd.conf \
	/usr/share/doc/sriovd/README.md.gz /usr/share/doc/sriovd/config.md.gz /usr/share/doc/sriovd/copyright \
	/usr/share/doc/sriovd/examples/sriovd.conf; do
	check "dpkg -L sriovd: $f, on disk" grep -qxF "$f" <<<"$files"
	[ -e "$f" ] || tap_not_ok "$f is on disk"
done
check_eq "/usr/bin/sriovctl --version" "$(/usr/bin/sriovctl --version)" "sriovctl $version"
check_eq "/usr/sbin/sriovd --version" "$(/usr/sbin/sriovd --version)" "sriovd $version"
check_eq "the unit starts the installed sriovd" "$(sed -n 's/^ExecStart=//p' /lib/systemd/system/sriovd.service)" \
	/usr/sbin/sriovd
check_eq "man -w sriovctl" "$(man -w sriovctl 2>&1)" /usr/share/man/man8/sriovctl.8.gz
check_eq "man -w sriovd" "$(man -w 8 sriovd 2>&1)" /usr/share/man/man8/sriovd.8.gz
check_eq "man -w sriovd.conf" "$(man -w 5 sriovd.conf 2>&1)" /usr/share/man/man5/sriovd.conf.5.gz
check_contains "man sriovctl renders" "$(MANWIDTH=80 man sriovctl 2>/dev/null | head -5)" \
	"sriovctl - see, check and configure SR-IOV devices"
# bash-completion finds the file by the command's name, as a shell does.
check_eq "bash-completion loads it for sriovctl" \
	"$(bash -c '. /usr/share/bash-completion/bash_completion; _completion_loader sriovctl; complete -p sriovctl' 2>&1)" \
	"complete -F _sriovctl sriovctl"
check_eq "/etc/sriovd/sriovd.conf is a conffile" \
	"$(dpkg-query -W -f '${Conffiles}\n' sriovd | awk 'NF {print $1}')" /etc/sriovd/sriovd.conf
check_eq "... holding only comments" "$(grep -cv '^[[:space:]]*\(#.*\)\?$' /etc/sriovd/sriovd.conf)" 0
check_status "sriovctl plan of the installed config: exit 0" 0 /usr/bin/sriovctl plan
check_contains "... asks for nothing" "$out" "0 changes"
# dh_installsystemd enables the unit (without systemd running, by links
# only) and starts it only under a running systemd.
check "the unit is enabled: WantedBy=multi-user.target" \
	test -L /etc/systemd/system/multi-user.target.wants/sriovd.service
check "... as deb-systemd-helper records it" test -e /var/lib/systemd/deb-systemd-helper-enabled/sriovd.service.dsh-also
if command -v systemctl >/dev/null; then
	check_eq "systemctl is-enabled sriovd" "$(systemctl is-enabled sriovd 2>&1)" enabled
fi
if command -v systemd-analyze >/dev/null; then
	check_status "systemd-analyze verify of the installed unit" 0 systemd-analyze verify /lib/systemd/system/sriovd.service
fi

# What sriovd keeps between runs (StateDirectory=sriovd) goes with the purge.
mkdir -p /var/lib/sriovd && echo state >/var/lib/sriovd/state
rc=0
apt-get purge -y -qq sriovd >"$tmp/purge.log" 2>&1 || rc=$?
check_eq "apt-get purge sriovd: exit 0" "$rc" 0
[ "$rc" = 0 ] && installed_here=0
check "/etc/sriovd is gone" test ! -e /etc/sriovd
check "the enabling link is gone" test ! -e /etc/systemd/system/multi-user.target.wants/sriovd.service
check "/var/lib/sriovd is gone" test ! -e /var/lib/sriovd
if [ -e "$tmp/var-lib-sriovd" ]; then
	mv "$tmp/var-lib-sriovd" /var/lib/sriovd
fi
snapshot >"$tmp/after"
check_eq "packages, /etc and the systemd enablings are as before" "$(diff "$tmp/before" "$tmp/after" | head -20)" ""
echo "# took ${SECONDS}s"
tap_done
