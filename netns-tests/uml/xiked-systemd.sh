#!/bin/sh
# xiked.service run by systemd for real: inside UML with systemd as PID 1
# (uml-run --systemd; the guest's /etc, /var and /run are its own), xiked is
# installed by `meson install` into a scratch dir that is then mounted over
# /usr/local, so systemd finds the unit where the install put it, unchanged,
# with every hardening directive.  Then, through systemctl: the service
# starts and is active, its log is in the journal with xiked's fields; a
# reload reads the changed configuration (a new connection in list-conns);
# a main process stopped with SIGSTOP sends no WATCHDOG=1, so systemd kills
# it after WatchdogSec and restarts it (NRestarts 1, a new PID, active
# again); `systemctl stop` ends it cleanly.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../xiked-lib.sh"
require_root
[ "$(cat /proc/1/comm)" = systemd ] || skip "systemd is not PID 1 (run under uml-run --systemd)"
require_cmd meson systemctl journalctl python3
SYSTEMD_COLORS=0 SYSTEMD_URLIFY=0
export SYSTEMD_COLORS SYSTEMD_URLIFY

prefix=$(meson introspect "$XIKE_BUILD" --buildoptions |
	python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))')
# Only /usr/local may be covered in the guest: nothing the test runs lives there.
[ "$prefix" = /usr/local ] || skip "the build's prefix is $prefix, not /usr/local"

D=/run/xike-destdir
mkdir -p "$D"
meson install -C "$XIKE_BUILD" --destdir "$D" --no-rebuild --quiet >/run/xike-install.log 2>&1 ||
	{ cat /run/xike-install.log >&2; fail "meson install"; }
must mount --bind "$D/usr/local" /usr/local
unit=/usr/local/lib/systemd/system/xiked.service
conf=/usr/local/etc/xike/xiked.conf
[ -f "$unit" ] || fail "no unit at $unit"
[ -f "$conf" ] || fail "no configuration at $conf"
say "installed; unit $unit"

dump() {
	systemctl status --no-pager -n 0 xiked.service >&2
	journalctl -b --no-pager -n 40 -u xiked.service >&2
}
at_exit 'systemctl stop xiked.service 2>/dev/null'

# The installed file keeps its owner and mode (root:xike 0640); only the
# text changes.
write_conf() {
	{
		printf '[global]\nlog-level = info\n'
		_i=2
		for c in "$@"; do
			printf '[conn %s]\nlocal = 192.0.2.1\nremote = 192.0.2.%d\npsk = only for this test\n' \
				"$c" "$_i"
			_i=$(( _i + 1 ))
		done
	} >"$conf"
}
write_conf one
must ip addr add 192.0.2.1/24 dev lo
# /dev/net/tun, which DeviceAllow= names, as on a host with the tun module.
must modprobe tun

prop() {
	systemctl show -P "$1" xiked.service
}
conns() {
	/usr/local/bin/xikectl list-conns
}
ctl_lists() {
	conns | grep -qw "$1"
}

check systemctl daemon-reload
[ "$(systemctl show -P FragmentPath xiked.service)" = "$unit" ] ||
	fail "systemd loads xiked.service from $(systemctl show -P FragmentPath xiked.service)"
if ! systemctl start xiked.service; then
	dump
	fail "systemctl start xiked.service"
fi
check systemctl is-active xiked.service
pid1=$(prop MainPID)
[ "$pid1" -gt 0 ] || fail "no main PID"
[ "$(prop Type)" = notify ] || fail "Type $(prop Type)"
# Type=notify: active means READY=1 came.  The process runs as xike.
[ "$(stat -c %U "/proc/$pid1")" = xike ] || fail "xiked runs as $(stat -c %U "/proc/$pid1")"
wait_for 10 ctl_lists one || { dump; fail "list-conns does not show conn one"; }
say "active, main PID $pid1 (user xike), conn one loaded"

# The sandbox is in force, read off the process: no new privileges, a
# seccomp filter, CAP_NET_ADMIN alone left, / read-only in its own mount
# namespace (ProtectSystem=strict) but /proc/sys/net/ipv4/conf writable,
# a private /tmp, /proc with hidepid (ProtectProc=invisible).
st=/proc/$pid1/status
grep -q '^NoNewPrivs:[[:space:]]*1$' "$st" || fail "NoNewPrivs is not set"
grep -q '^Seccomp:[[:space:]]*2$' "$st" || fail "no seccomp filter"
grep -q '^CapEff:[[:space:]]*0000000000001000$' "$st" || fail "capabilities: $(grep ^Cap "$st")"
[ "$(readlink "/proc/$pid1/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] || fail "no own mount namespace"
mi=/proc/$pid1/mountinfo
# The options of the topmost mount at a path (the last one listed).
opts() {
	awk -v p="$1" '$5 == p { o = $6 } END { print o }' "$mi"
}
case $(opts /) in ro*) ;; *) fail "/ is $(opts /) for xiked, not read-only" ;; esac
case $(opts /proc/sys/net/ipv4/conf) in rw*) ;; *) fail "/proc/sys/net/ipv4/conf is not writable for xiked" ;; esac
awk '$5 == "/tmp" { print $6 }' "$mi" | grep -q . || fail "no private /tmp"
grep -q ' /proc .*hidepid=invisible' "$mi" || fail "/proc without hidepid=invisible"
say "sandbox: NoNewPrivs, seccomp, CAP_NET_ADMIN only, / read-only, private /tmp, hidepid"

# journald has xiked's lines with its own fields.
journal_fields() {
	journalctl -b -u xiked.service -o json --no-pager | python3 -c '
import json, sys
es = [json.loads(l) for l in sys.stdin if l.strip()]
x = [e for e in es if "XIKE_SUBSYSTEM" in e and e.get("_PID") == sys.argv[1]]
assert x, "no entry of PID %s with XIKE_SUBSYSTEM among %d" % (sys.argv[1], len(es))
assert all("PRIORITY" in e and "MESSAGE" in e for e in x)
print(len(x), sorted({e["XIKE_SUBSYSTEM"] for e in x}))
' "$pid1"
}
out=$(journal_fields) || { journalctl -b -u xiked.service -o json --no-pager | tail -5 >&2; fail "journal fields"; }
say "journal: $out"

write_conf one two
check systemctl reload xiked.service
wait_for 15 ctl_lists two || { conns >&2; dump; fail "after reload, list-conns does not show conn two"; }
journalctl -b -u xiked.service --no-pager | grep -q 'reloaded .*1 kept, 1 added' ||
	{ dump; fail "no reload in the journal"; }
[ "$(prop MainPID)" = "$pid1" ] || fail "the reload changed the main PID"
check systemctl is-active xiked.service
say "reload: conn two added, same PID"

[ "$(prop NRestarts)" = 0 ] || fail "NRestarts $(prop NRestarts) before the watchdog test"
wd=$(prop WatchdogUSec)
say "SIGSTOP to $pid1; the watchdog ($wd) must kill and restart it"
kill -STOP "$pid1"
restarted() {
	[ "$(prop NRestarts)" = 1 ] && [ "$(systemctl is-active xiked.service)" = active ] &&
		[ "$(prop MainPID)" != "$pid1" ] && [ "$(prop MainPID)" != 0 ]
}
t0=$(date +%s)
wait_for 120 restarted || { dump; fail "no restart by the watchdog (NRestarts $(prop NRestarts))"; }
t=$(( $(date +%s) - t0 ))
pid2=$(prop MainPID)
[ ! -d "/proc/$pid1" ] || fail "the stopped process $pid1 is still there"
# WATCHDOG=1 comes every 15 s (half of WatchdogSec): the last one was at
# most 15 s before the SIGSTOP, so the kill comes 15 to 30 s after it.
[ "$t" -ge 15 ] || fail "restarted after ${t} s, before the 30 s watchdog could expire"
journalctl -b -u xiked.service --no-pager | grep -qi 'watchdog timeout' ||
	{ dump; fail "the journal names no watchdog timeout"; }
wait_for 10 ctl_lists two || fail "the restarted daemon does not list conn two"
say "watchdog: restarted about ${t} s after SIGSTOP as PID $pid2, NRestarts 1"

check systemctl stop xiked.service
state=$(systemctl is-active xiked.service) || true
[ "$state" = inactive ] || { dump; fail "after stop: $state"; }
[ ! -d "/proc/$pid2" ] || fail "PID $pid2 outlived the stop"
[ "$(prop Result)" = success ] || fail "stop result $(prop Result)"
[ ! -e /run/xike ] || fail "/run/xike is left behind"
say "stopped cleanly (result success, runtime directory gone)"
