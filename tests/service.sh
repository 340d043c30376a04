#!/bin/sh
# The service as installed: `meson install` into a scratch DESTDIR puts
# xiked, xikectl, the man pages, the examples, the systemd unit (with this
# install's paths), sysusers.d, tmpfiles.d and the sample configuration in
# place; the sample passes `xiked --check` and is root:xike 0640; a second
# install keeps a configuration that was changed.  The unit passes
# `systemd-analyze verify`, and `systemd-analyze security` rates it OK or
# better (exposure at most 3.9 of 10).  As root, xiked under a watchdog
# (NOTIFY_SOCKET, WATCHDOG_USEC as systemd sets them) sends READY=1, then
# WATCHDOG=1 from its loop — none while the process is stopped — and
# STOPPING=1 at the end; its log is JSON lines at the levels set per
# subsystem, and, with stderr the journal's stream, journal entries with
# structured fields (read off a listener on the journal's socket).
# systemd itself starts, reloads, watchdog-restarts and stops the unit in
# the uml suite's uml-service (netns-tests/uml/xiked-systemd.sh).
set -eu
: "${XIKE_BUILD:?XIKE_BUILD must name the build directory}"
name=service.sh
fail() {
	echo "[$name] FAIL: $*" >&2
	exit 1
}
say() {
	echo "[$name] $*"
}

T=$(mktemp -d /tmp/xike-install.XXXXXX)
pid= listener=
cleanup() {
	for p in $pid $listener; do
		kill "$p" 2>/dev/null || true
	done
	rm -rf "$T"
}
trap cleanup EXIT
meson install -C "$XIKE_BUILD" --destdir "$T/root" --no-rebuild --quiet >"$T/install.log" 2>&1 ||
	{ cat "$T/install.log"; fail "meson install"; }
prefix=$(meson introspect "$XIKE_BUILD" --buildoptions |
	python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))')
R=$T/root$prefix
for f in sbin/xiked bin/xikectl lib/systemd/system/xiked.service lib/sysusers.d/xike.conf \
	lib/tmpfiles.d/xike.conf share/man/man8/xiked.8 share/man/man8/xikectl.8 \
	share/man/man5/xiked.conf.5 share/doc/xike/examples/site-to-site.conf; do
	[ -e "$R/$f" ] || fail "not installed: $prefix/$f"
done
conf=$(find "$T/root" -path '*/xike/xiked.conf')
[ -n "$conf" ] || fail "no sample configuration installed"
[ "$(stat -c %a "$conf")" = 640 ] || fail "sample configuration mode $(stat -c %a "$conf")"
[ "$(stat -c %a "$(dirname "$conf")")" = 750 ] || fail "configuration directory not 0750"
if [ "$(id -u)" = 0 ] && getent group xike >/dev/null; then
	[ "$(stat -c %G "$conf")" = xike ] || fail "sample configuration not group xike"
fi
"$R/sbin/xiked" --check -c "$conf" >/dev/null || fail "the sample does not pass xiked --check"
grep -q "^ExecStart=$prefix/sbin/xiked -c .*/xike/xiked.conf$" "$R/lib/systemd/system/xiked.service" ||
	fail "the unit's ExecStart does not name this install"
say "installed under $prefix; sample configuration 0640"

echo "# changed by the administrator" >>"$conf"
meson install -C "$XIKE_BUILD" --destdir "$T/root" --no-rebuild --quiet >"$T/install.log" 2>&1 ||
	fail "second meson install"
tail -1 "$conf" | grep -q "changed by the administrator" || fail "an upgrade overwrote the configuration"
say "a second install keeps the configuration"

if command -v systemd-analyze >/dev/null 2>&1; then
	# Verified against the binaries of the scratch install.
	sed "s|$prefix/|$R/|g" "$R/lib/systemd/system/xiked.service" >"$T/xiked.service"
	systemd-analyze verify --man=no "$T/xiked.service" || fail "systemd-analyze verify"
	systemd-analyze security --offline=yes --threshold=39 "$T/xiked.service" >"$T/security" 2>&1 ||
		{ tail -3 "$T/security"; fail "exposure above 3.9"; }
	say "$(grep 'Overall exposure' "$T/security")"
else
	say "no systemd-analyze: unit not verified"
fi

if [ "$(id -u)" != 0 ]; then
	say "not root: watchdog not tried"
	exit 0
fi
# A private network namespace: xiked binds its ports there, alone.
cat >"$T/wd.conf" <<EOF
[global]
socket = $T/wd.sock
user = root
log-format = json
log-level = warning
log-level-daemon = info
EOF
python3 - "$T/notify.sock" "$T/notify.log" <<'EOF' >/dev/null 2>&1 &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as log:
    while True:
        for line in s.recv(4096).decode().split("\n"):
            if line:
                log.write(line + "\n")
EOF
listener=$!
for _ in $(seq 50); do [ -S "$T/notify.sock" ] && break; sleep 0.1; done
NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=400000 \
	unshare -n "$XIKE_BUILD/src/daemon/xiked" -c "$T/wd.conf" >"$T/wd.log" 2>&1 &
pid=$!
sleep 1.5
grep -q '^READY=1$' "$T/notify.log" || { cat "$T/wd.log"; fail "no READY=1"; }
n1=$(grep -c '^WATCHDOG=1$' "$T/notify.log" || true)
[ "$n1" -ge 4 ] || fail "$n1 WATCHDOG=1 in 1.5 s, expected one every 0.2 s"
kill -STOP "$pid"
sleep 0.3
n2=$(grep -c '^WATCHDOG=1$' "$T/notify.log" || true)
sleep 1
[ "$(grep -c '^WATCHDOG=1$' "$T/notify.log" || true)" = "$n2" ] ||
	fail "WATCHDOG=1 sent while the daemon was stopped"
kill -CONT "$pid"
sleep 0.5
[ "$(grep -c '^WATCHDOG=1$' "$T/notify.log")" -gt "$n2" ] || fail "no WATCHDOG=1 after SIGCONT"
kill "$pid"
wait "$pid" || fail "xiked exited with $?"
pid=
grep -q '^STOPPING=1$' "$T/notify.log" || fail "no STOPPING=1"
say "watchdog: READY=1, WATCHDOG=1 every 0.2 s from the loop, silent while stopped, STOPPING=1"

# Its log, as JSON lines, at the levels asked for per subsystem: the
# daemon's info lines, none of userspace ESP's (info, under warning).
python3 - "$T/wd.log" <<'EOF' || { cat "$T/wd.log"; fail "log lines"; }
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert all({"time", "level", "subsystem", "message"} <= l.keys() for l in lines)
assert any(l["subsystem"] == "daemon" and l["level"] == "info" and
           l["message"].startswith("running as root") for l in lines), "no daemon info line"
assert not any(l["subsystem"] == "esp-soft" and l["level"] == "info" for l in lines), \
    "esp-soft's info lines under log-level = warning"
EOF
say "log: JSON lines, levels per subsystem"

# Under systemd: stderr is the journal's stream (JOURNAL_STREAM names its
# device and inode), so lines go to the journal's socket with fields.  A
# private mount namespace puts a listener where that socket lives.
cat >"$T/j.conf" <<EOF
[global]
socket = $T/j.sock
user = root
[conn t]
local = 127.0.0.1
remote = 127.0.0.2
psk = a key for the journal test only
start = start
EOF
: >"$T/j.err"
unshare -m -n sh -c '
	mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/journal || exit 1
	python3 - "$1/journal.log" <<"EOF" >/dev/null 2>&1 &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/run/systemd/journal/socket")
with open(sys.argv[1], "a", buffering=1) as log:
    while True:
        log.write(s.recv(65536).decode(errors="replace").replace("\n", "\t") + "\n")
EOF
	listener=$!
	for i in $(seq 50); do [ -S /run/systemd/journal/socket ] && break; sleep 0.1; done
	JOURNAL_STREAM=$(stat -c %d:%i "$1/j.err") "$2" -c "$1/j.conf" 2>>"$1/j.err" &
	daemon=$!
	sleep 1.5
	kill "$daemon"
	wait "$daemon"
	kill "$listener"' sh "$T" "$XIKE_BUILD/src/daemon/xiked" >/dev/null 2>&1
[ ! -s "$T/j.err" ] || { cat "$T/j.err"; fail "log lines on stderr under the journal"; }
python3 - "$T/journal.log" <<'EOF' || { cat "$T/journal.log"; fail "journal fields"; }
import sys
entries = [dict(f.split("=", 1) for f in l.rstrip("\n").split("\t") if "=" in f)
           for l in open(sys.argv[1])]
assert entries, "nothing reached the journal"
assert all(e.get("SYSLOG_IDENTIFIER") == "xiked" and "PRIORITY" in e and
           "XIKE_SUBSYSTEM" in e and "MESSAGE" in e for e in entries)
init = [e for e in entries if e["MESSAGE"].startswith("initiating conn=t")]
assert init and init[0].get("XIKE_CONN") == "t" and init[0]["XIKE_SUBSYSTEM"] == "engine" \
    and init[0]["PRIORITY"] == "6" and "XIKE_SPI" in init[0], init
EOF
say "journal: $(wc -l <"$T/journal.log") entries with PRIORITY, XIKE_SUBSYSTEM, XIKE_CONN, XIKE_SPI"
say PASS
