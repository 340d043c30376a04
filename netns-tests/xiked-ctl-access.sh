#!/bin/sh
# Who may use the control socket (docs/control.md, "Access").  Peer 1 runs
# with `socket-group` set to a group made for the test and `socket-clients
# = 4`.  The socket must be mode 0660 with that group (peer 2, without a
# group: 0600), owned by the daemon's user, who may run everything (reload
# here).  A user in the group, by its primary group or a
# supplementary one, runs status, list-conns, list-sas, stats and monitor,
# and is refused initiate, terminate, rekey and reload with the error; a
# user not in the group cannot connect, and one that gets through a socket
# opened wider by hand is turned away by its credentials.  With 4 clients
# connected a fifth gets the refusal line; `stats` counts the refusals.
# The daemon answers throughout and stays sanitizer-clean.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/xiked-lib.sh"
require_root
require_cmd perl setpriv groupadd groupdel stat
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
netns_setup

NOBODY=65534
GROUP=xkctl$$
must groupadd "$GROUP"
at_exit "groupdel '$GROUP'"
GID=$(getent group "$GROUP" | cut -d: -f3)
SOCK=/run/xike-test-$$-1.sock

xiked_conf_t 1 "backend = soft
install-routes = no
socket-group = $GROUP
socket-clients = 4" "psk = control access test psk" | xiked_start 1
xiked_conf_t 2 "backend = soft
install-routes = no" "psk = control access test psk" | xiked_start 2

# The daemon's user: xike after start-up where that user exists, else root.
DUSER=$(ps -o user= -p "$(cat "$XK_DIR/peer1.pid")" | tr -d ' ')
mode=$(stat -c '%a %U %G' "$SOCK")
[ "$mode" = "660 $DUSER $GROUP" ] || fail "peer 1's socket is '$mode', expected '660 $DUSER $GROUP'"
mode=$(stat -c '%a %U' "/run/xike-test-$$-2.sock")
[ "$mode" = "600 $DUSER" ] || fail "peer 2's socket is '$mode', expected '600 $DUSER'"
say "sockets: 0660 $DUSER:$GROUP with socket-group, 0600 $DUSER without"

# xikectl as user nobody: as_user GROUPS ARGS..., GROUPS: setpriv's group options.
as_user() {
	_g=$1
	shift
	# shellcheck disable=SC2086
	n1 setpriv --reuid=$NOBODY $_g -- "$XIKECTL" -s "$SOCK" "$@"
}
member_primary="--regid=$GID --clear-groups"
member_supp="--regid=$NOBODY --groups=$GID"
stranger="--regid=$NOBODY --clear-groups"

check ctl 1 initiate t
wait_for 30 child_up 1 || fail "no tunnel"

for g in "$member_primary" "$member_supp"; do
	for cmd in status list-conns list-sas stats; do
		check as_user "$g" "$cmd"
	done
	as_user "$g" --json list-sas | grep -q '"state": *"ESTABLISHED"' ||
		fail "the group's list-sas does not show the tunnel"
	for cmd in "initiate t" "terminate t" "rekey t" "rekey t ike" reload; do
		# shellcheck disable=SC2086
		if out=$(as_user "$g" $cmd 2>&1); then
			fail "a member of $GROUP ran '$cmd'"
		fi
		echo "$out" | grep -q "permission denied: '${cmd%% *}' needs root or the daemon's user; members of group $GROUP may run status, list-conns, list-sas, stats, list-certs, subscribe" ||
			fail "'$cmd' by a member of $GROUP: '$out'"
	done
done
say "the group (primary or supplementary) runs the read-only commands and is refused the others"
child_up 1 || fail "the refused commands changed the tunnel"

# The daemon's own user runs everything, as root does.
if [ "$DUSER" != root ]; then
	check n1 setpriv --reuid="$DUSER" --regid="$DUSER" --clear-groups -- \
		"$XIKECTL" -s "$SOCK" reload
	say "the daemon's user $DUSER runs reload"
fi

# monitor: the group follows events (a rekey by root makes some).
# (One command, not a function: $! is xikectl itself, for the kill below.)
# shellcheck disable=SC2086
ip netns exec "$NS1" setpriv --reuid=$NOBODY $member_supp -- "$XIKECTL" -s "$SOCK" monitor \
	>"$XK_DIR/monitor.out" 2>&1 &
mon=$!
at_exit "kill $mon 2>/dev/null"
sleep 1
check ctl 1 rekey t
wait_for 15 grep -q child-up "$XK_DIR/monitor.out" || {
	cat "$XK_DIR/monitor.out" >&2
	fail "the group's monitor saw no child-up after a rekey"
}
kill "$mon"
wait "$mon" 2>/dev/null || true
# A CHILD SA's event names its IKE SA and its own two SPIs.
grep -Eq '^child-up conn=t spi=[0-9a-f]{16}_[0-9a-f]{16} child=[0-9a-f]{8}_[0-9a-f]{8}$' \
	"$XK_DIR/monitor.out" || {
	cat "$XK_DIR/monitor.out" >&2
	fail "the monitor's child-up line lacks its SPIs"
}
say "the group's monitor follows events"

# Not in the group: the socket's mode keeps it out.
if out=$(as_user "$stranger" status 2>&1); then
	fail "a user outside $GROUP ran status"
fi
echo "$out" | grep -q 'Permission denied' || fail "a user outside $GROUP: '$out'"
# Through a socket opened wider by hand, its credentials still keep it out.
must chmod 0666 "$SOCK"
out=$(as_user "$stranger" status 2>&1) && fail "a user outside $GROUP ran status on a 0666 socket"
must chmod 0660 "$SOCK"
echo "$out" | grep -q "permission denied: the control socket is for root, the daemon's user and members of group $GROUP" ||
	fail "a user outside $GROUP on a 0666 socket: '$out'"
say "a user outside the group cannot connect, and is turned away by its credentials if it does"

# socket-clients = 4: four clients, each answered, then a fifth.
# The fifth is answered and closed at once: its request may meet a closed
# socket (EPIPE), the answer waits to be read all the same.
n1 perl -MIO::Socket::UNIX -e '
	$SIG{PIPE} = "IGNORE";
	my @c;
	for my $i (1 .. 5) {
		my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $ARGV[0])
			or die "connect $i: $!\n";
		$s->autoflush(1);
		print $s "{\"cmd\":\"status\"}\n";
		my $l = <$s>;
		print "$i $l";
		push @c, $s;
	}' "$SOCK" >"$XK_DIR/limit.out" || fail "the clients could not connect"
head -4 "$XK_DIR/limit.out" | grep -c '"ok":true' | grep -qx 4 || {
	cat "$XK_DIR/limit.out" >&2
	fail "the first 4 clients were not all answered"
}
grep -q '^5 {"ok":false,"error":"too many control clients (4): try again later"}' \
	"$XK_DIR/limit.out" || {
	cat "$XK_DIR/limit.out" >&2
	fail "the fifth client was not refused"
}
say "socket-clients = 4: the fifth client gets the refusal"

# Refusals counted: 1 by credentials + 1 beyond the limit; 2 x 5 requests.
refused=$(ctl_stat 1 control-refused)
denied=$(ctl_stat 1 control-denied)
[ "$refused" = 2 ] || fail "control-refused is '$refused', expected 2"
[ "$denied" = 10 ] || fail "control-denied is '$denied', expected 10"
xiked_log 1 | grep -q "control client uid $NOBODY pid [0-9]* refused: permission denied: 'reload'" ||
	fail "no log line for a refused request"
say "stats: control-refused $refused, control-denied $denied"

# Root's requests with odd names reach the commands: each gets an answer.
long=$(head -c 8000 /dev/zero | tr '\0' a)
ctl_lines 1 "{\"cmd\":\"initiate\",\"conn\":\"$long\"}" \
	"{\"cmd\":\"list-sas\",\"conn\":\"$long\"}" \
	'{"cmd":"terminate","conn":""}' '{"cmd":"rekey","conn":"t\u0000x","ike":true}' \
	'{"cmd":"initiate","conn":"\ud83d\ude00 %s %n"}' >"$XK_DIR/odd.out" ||
	fail "the daemon went away during requests with odd names"
[ "$(wc -l <"$XK_DIR/odd.out")" -eq 5 ] || { cut -c1-200 "$XK_DIR/odd.out" >&2; fail "not 5 answers to 5 odd requests"; }
say "requests with odd connection names answered"

check ctl 1 status
for n in 1 2; do
	if grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error' "$XK_DIR/peer$n.log" >&2; then
		fail "xiked $n: a sanitizer report (above)"
	fi
done
xiked_stop 1
xiked_stop 2
say "PASS"
