#!/bin/sh
# The Debian package, built from this tree and used for real on this
# machine (root): dpkg-buildpackage builds xike_VERSION_ARCH.deb from a copy
# of the source; lintian finds no error in it; dpkg -i installs it (the
# files, user xike, /etc/xike root:xike 0750 with a 0640 sample that passes
# `xiked --check`); an upgrade to a later version keeps a configuration the
# administrator changed; dpkg -r keeps the configuration, dpkg -P removes
# it.  Skipped when a xike package is already installed here (not ours to
# touch).
set -eu
: "${XIKE_SRC:?XIKE_SRC must name the source tree}"
name=package.sh
fail() {
	echo "[$name] FAIL: $*" >&2
	exit 1
}
say() {
	echo "[$name] $*"
}
skip() {
	echo "[$name] SKIP: $*" >&2
	exit 77
}

[ "$(id -u)" = 0 ] || skip "root is needed to install the package"
for c in dpkg-buildpackage lintian fakeroot; do
	command -v $c >/dev/null 2>&1 || skip "no $c (tools/bootstrap installs it)"
done
dpkg-query -W -f='${Status}' xike 2>/dev/null | grep -q 'ok installed' &&
	skip "a xike package is installed on this machine; not touching it"
[ ! -e /etc/xike ] || skip "/etc/xike exists on this machine; not touching it"

T=$(mktemp -d /tmp/xike-package.XXXXXX)
installed=
cleanup() {
	[ -z "$installed" ] || dpkg -P xike >/dev/null 2>&1 || true
	rm -rf "$T"
}
trap cleanup EXIT

# The tree as it is (committed or not), without build directories.
mkdir "$T/src"
tar -C "$XIKE_SRC" --exclude='./build*' --exclude='./.git' --exclude='./obj-*' -cf - . |
	tar -C "$T/src" -xf -
say "building the package (dpkg-buildpackage -b)"
(cd "$T/src" && nice dpkg-buildpackage -b -us -uc -j2) >"$T/build.log" 2>&1 ||
	{ tail -40 "$T/build.log"; fail "dpkg-buildpackage"; }
deb=$(ls "$T"/xike_*.deb)
say "built ${deb##*/}"

lintian --fail-on error "$deb" >"$T/lintian.log" 2>&1 ||
	{ cat "$T/lintian.log"; fail "lintian found errors"; }
say "lintian: no errors ($(grep -c '^W:' "$T/lintian.log" || true) warnings)"

dpkg -i "$deb" >"$T/dpkg.log" 2>&1 || { cat "$T/dpkg.log"; fail "dpkg -i"; }
installed=1
for f in /usr/sbin/xiked /usr/bin/xikectl /usr/bin/xike-load \
	/usr/lib/systemd/system/xiked.service /usr/share/man/man8/xiked.8.gz \
	/usr/share/man/man5/xiked.conf.5.gz /usr/share/doc/xike/examples/site-to-site.conf; do
	[ -e "$f" ] || fail "not installed: $f"
done
getent passwd xike >/dev/null || fail "no user xike after the install"
[ "$(stat -c '%U:%G %a' /etc/xike)" = "root:xike 750" ] ||
	fail "/etc/xike is $(stat -c '%U:%G %a' /etc/xike)"
[ "$(stat -c '%U:%G %a' /etc/xike/xiked.conf)" = "root:xike 640" ] ||
	fail "/etc/xike/xiked.conf is $(stat -c '%U:%G %a' /etc/xike/xiked.conf)"
/usr/sbin/xiked --check >/dev/null || fail "xiked --check on the installed sample"
grep -q '^ExecStart=/usr/sbin/xiked -c /etc/xike/xiked.conf$' /usr/lib/systemd/system/xiked.service ||
	fail "the unit does not start /usr/sbin/xiked with /etc/xike/xiked.conf"
say "installed: files, user xike, /etc/xike root:xike 0750, sample 0640, xiked --check OK"

# An upgrade: the same files under a later version.
echo "# changed by the administrator" >>/etc/xike/xiked.conf
dpkg-deb -R "$deb" "$T/next"
sed -i 's/^Version: .*/&+next1/' "$T/next/DEBIAN/control"
dpkg-deb -b --root-owner-group "$T/next" "$T/next.deb" >/dev/null
dpkg -i "$T/next.deb" >"$T/dpkg.log" 2>&1 || { cat "$T/dpkg.log"; fail "upgrade"; }
tail -1 /etc/xike/xiked.conf | grep -q "changed by the administrator" ||
	fail "the upgrade replaced the configuration"
dpkg-query -W -f='${Version}' xike | grep -q '+next1$' || fail "not upgraded"
say "upgraded to $(dpkg-query -W -f='${Version}' xike); the changed configuration kept"

dpkg -r xike >"$T/dpkg.log" 2>&1 || { cat "$T/dpkg.log"; fail "dpkg -r"; }
[ ! -e /usr/sbin/xiked ] || fail "dpkg -r left /usr/sbin/xiked"
[ -e /etc/xike/xiked.conf ] || fail "dpkg -r removed the configuration"
dpkg -P xike >"$T/dpkg.log" 2>&1 || { cat "$T/dpkg.log"; fail "dpkg -P"; }
installed=
[ ! -e /etc/xike ] || fail "dpkg -P left /etc/xike: $(ls -A /etc/xike)"
say "removed (configuration kept), then purged (configuration gone)"
say PASS
