#!/bin/sh
# Least privilege, read off the kernel: two xiked with userspace ESP (whose
# worker threads start after the drop) bring a tunnel up and carry traffic;
# then every task of each daemon (/proc/PID/task/*/status) runs as user
# xike with CAP_NET_ADMIN alone (effective and permitted), nothing
# inheritable, ambient or in the bounding set, no new privileges, and the
# process is not dumpable (its /proc files then belong to root).  A
# reload as that user reads the config and a root:xike 0640 psk-file and
# adds a connection; the control socket belongs to xike.  Stopped, each
# daemon still removes its routes.  `user = root` keeps uid 0 with
# CAP_NET_ADMIN only; a user that does not exist is a config error that
# names the file, the line and the key.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/xiked-lib.sh"
xiked_xike_setup ping
XIKE_UID=$(id -u xike)
XIKE_GID=$(id -g xike)

# task_field PID TID FIELD: one line of a task's status, the values only.
task_field() {
	sed -n "s/^$3:[[:space:]]*//p" "/proc/$1/task/$2/status" | tr -s '\t ' ' '
}

# tasks_are PID UID GID: every task of PID runs with UID/GID, CAP_NET_ADMIN
# (bit 12) alone, no-new-privs; the process is not dumpable.
tasks_are() {
	_pid=$1 _uid=$2 _gid=$3 _n=0
	for _t in /proc/"$_pid"/task/*; do
		_t=${_t##*/} _n=$((_n + 1))
		[ "$(task_field "$_pid" "$_t" Uid)" = "$_uid $_uid $_uid $_uid" ] ||
			fail "task $_t: Uid $(task_field "$_pid" "$_t" Uid), expected $_uid"
		[ "$(task_field "$_pid" "$_t" Gid)" = "$_gid $_gid $_gid $_gid" ] ||
			fail "task $_t: Gid $(task_field "$_pid" "$_t" Gid), expected $_gid"
		[ -z "$(task_field "$_pid" "$_t" Groups)" ] ||
			fail "task $_t: supplementary groups $(task_field "$_pid" "$_t" Groups)"
		for _f in CapEff CapPrm; do
			[ "$(task_field "$_pid" "$_t" $_f)" = 0000000000001000 ] ||
				fail "task $_t: $_f $(task_field "$_pid" "$_t" $_f), expected CAP_NET_ADMIN only"
		done
		for _f in CapInh CapBnd CapAmb; do
			[ "$(task_field "$_pid" "$_t" $_f)" = 0000000000000000 ] ||
				fail "task $_t: $_f $(task_field "$_pid" "$_t" $_f), expected none"
		done
		[ "$(task_field "$_pid" "$_t" NoNewPrivs)" = 1 ] || fail "task $_t: NoNewPrivs not set"
	done
	# A process that is not dumpable has its /proc files (not the
	# directories) owned by root.
	[ "$_uid" = 0 ] || [ "$(stat -c %u "/proc/$_pid/status")" = 0 ] ||
		fail "xiked $_pid is dumpable"
	say "xiked $_pid: $_n tasks, uid $_uid, CAP_NET_ADMIN only, no new privileges"
}

psk=$XK_DIR/peer2.psk
printf 'a PSK of thirty-two bytes or so.\n' >"$psk"
chgrp xike "$psk"
chmod 0640 "$psk"
for n in 1 2; do
	if [ "$n" = 1 ]; then key="psk = a PSK of thirty-two bytes or so."; else key="psk-file = $psk"; fi
	xiked_conf_t "$n" "backend = soft" "$key" | xiked_start "$n"
done
check ctl 1 initiate t
wait_for 20 child_up 1 || fail "no CHILD SA"
wait_for 10 child_up 2 || fail "no CHILD SA on peer 2"
check n1 ping -c 3 -i 0.2 -W 2 "$IP2_4"

for n in 1 2; do
	pid=$(cat "$XK_DIR/peer$n.pid")
	[ "$(ls /proc/"$pid"/task | wc -l)" -ge 3 ] || fail "xiked $n: expected esp-soft's threads"
	tasks_are "$pid" "$XIKE_UID" "$XIKE_GID"
done
[ "$(stat -c %U "/run/xike-test-$$-1.sock")" = xike ] || fail "the control socket is not xike's"
xiked_log 1 | grep -q "running as xike" || fail "no log line for the drop"

say "reload as xike: reads the config and the psk-file, adds a connection"
xiked_conf_t 2 "backend = soft" "psk-file = $psk" >"$XK_DIR/peer2.conf"
printf '[conn u]\nlocal = %s\nremote = %s\npsk-file = %s\n' "$IP2_4" "$IP1_4" "$psk" \
	>>"$XK_DIR/peer2.conf"
check ctl 2 reload
ctl 2 --json list-conns | grep -q '"name": *"u"' || fail "reload did not add conn u"
check n1 ping -c 1 -W 2 "$IP2_4"

say "stopped, the unprivileged daemon removes its routes"
xiked_stop 1
[ -z "$(n1 ip route show table 220)" ] || fail "peer 1 left routes in table 220"
xiked_stop 2

say "user = root: uid 0, CAP_NET_ADMIN only"
xiked_conf_t 1 "user = root" "psk = x" | xiked_start 1
tasks_are "$(cat "$XK_DIR/peer1.pid")" 0 0
xiked_stop 1

say "a user that does not exist"
xiked_conf_t 1 "user = no-such-user-here" "psk = x" >"$XK_DIR/bad.conf"
out=$("$XIKED" --check -c "$XK_DIR/bad.conf" 2>&1) && fail "--check accepted a missing user"
echo "$out" | grep -q "bad.conf:3: \[global\] user: no such user 'no-such-user-here'" ||
	fail "unclear error: $out"
say "PASS"
