#!/bin/sh
# The control socket never holds the daemon up.  Peer 1 has N tunnels
# (backend = soft), so that `list-sas` is larger than a socket buffer.  A
# client subscribes to events, asks for list-sas and status in one write,
# then reads nothing for 3 s.  Meanwhile `xikectl stats` must answer at
# once, and a rekey's events happen.  When the client reads, it must find
# the subscription's answer, then the whole listing (every SA, valid to
# its end, no event inside it), then the status answer and the events held
# back while the listing was being written.  Another client asks for the
# listing and never reads: it is dropped once it has taken nothing for 60 s.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/xiked-lib.sh"
require_root
require_cmd perl
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
netns_setup
N=${XIKE_CTL_TUNNELS:-400}

xiked_conf_many 2 "$N" ctl "backend = soft" "install-routes = no" | xiked_start 2
xiked_conf_many 1 "$N" ctl "backend = soft" "install-routes = no" | xiked_start 1
wait_for 120 tunnels_up "$N" || fail "only $(child_count 1) of $N tunnels up"

# A client that asks for the listing and never reads: dropped once it has
# taken nothing for 60 s, when another client connects.
ip netns exec "$NS1" perl -MIO::Socket::UNIX -e '
	my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $ARGV[0])
		or die "connect $ARGV[0]: $!\n";
	$s->autoflush(1);
	print $s "{\"cmd\":\"list-sas\"}\n";
	sleep 120;' "/run/xike-test-$$-1.sock" &
dead=$!
at_exit "kill $dead 2>/dev/null"
dead_t0=$(date +%s)

# The slow client: its lines go to slow.out as it reads them.
ip netns exec "$NS1" perl -MIO::Socket::UNIX -e '
	my ($path, $secs) = @ARGV;
	my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $path)
		or die "connect $path: $!\n";
	$s->autoflush(1);
	print $s "{\"cmd\":\"subscribe\"}\n{\"cmd\":\"list-sas\"}\n{\"cmd\":\"status\"}\n";
	sleep $secs;
	$SIG{ALRM} = sub { exit 0 };
	alarm 5;
	while (my $line = <$s>) {
		print $line;
	}' "/run/xike-test-$$-1.sock" 3 >"$XK_DIR/slow.out" &
slow=$!
at_exit "kill $slow 2>/dev/null"
sleep 1

t0=$(date +%s%N)
ctl 1 stats >/dev/null || fail "stats failed while a listing waited"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
say "stats answered in $ms ms while a client left a list-sas of $N SAs unread"
[ "$ms" -lt 500 ] || fail "stats took $ms ms: the stalled listing held the daemon up"
check ctl 1 rekey t1

wait "$slow"
# What the client read, each line cut short, should a check below fail.
at_exit "[ \$_rc -eq 0 ] || cut -c1-100 '$XK_DIR/slow.out' >&2"
lines=$(wc -l <"$XK_DIR/slow.out")
[ "$lines" -ge 4 ] || fail "the slow client read $lines lines, expected at least 4"
sed -n 1p "$XK_DIR/slow.out" | grep -q '^{"ok":true' || fail "line 1 is not the subscription's answer"
listing=$(sed -n 2p "$XK_DIR/slow.out")
case $listing in
'{"ok":true,"sas":['*']}') ;;
*) fail "line 2 is not one whole listing (begins $(echo "$listing" | head -c 40))" ;;
esac
sas=$(echo "$listing" | grep -o '"spi-i"' | wc -l)
[ "$sas" -eq "$N" ] || fail "the listing has $sas SAs, expected $N"
# After it, in the order they happened: the status answer, and the events
# of the rekey that were held back while the listing was being written.
sed -n '3,$p' "$XK_DIR/slow.out" | grep -q '^{"ok":true,.*"ike-sas"' ||
	fail "no status answer after the listing"
sed -n '3,$p' "$XK_DIR/slow.out" | grep -q '"event":"child-rekeyed"' ||
	fail "the rekey's event did not follow the listing"
grep -c '"event"' "$XK_DIR/slow.out" | { read -r ev; say "the slow client got the listing ($sas SAs, $(echo "$listing" | wc -c) bytes), status, and $ev events after them"; }

# Fields of the wrong JSON type (null included) get an error answer, not a crash.
ctl_lines 1 '{"cmd":null}' '{"cmd":5}' \
	'{"cmd":"initiate","conn":null}' '{"cmd":"terminate","conn":[1]}' \
	'{"cmd":"list-sas","conn":{}}' '{"cmd":"rekey","conn":"t1","ike":"yes"}' \
	'[1,2]' >"$XK_DIR/types.out" || fail "the daemon went away during requests of wrong types"
refused=$(grep -c '^{"ok":false' "$XK_DIR/types.out")
[ "$refused" -eq 7 ] || { cat "$XK_DIR/types.out"; fail "$refused of 7 requests of wrong types refused"; }
ctl 1 stats >/dev/null || fail "no answer after requests of wrong types"
say "7 requests with fields of the wrong JSON type refused, the daemon answering"

# The one that never read: still there before 60 s, gone after.
ctl 1 stats >/dev/null
xiked_log 1 | grep -q 'control client dropped' && fail "a client was dropped before 60 s"
sleep $(( dead_t0 + 62 - $(date +%s) ))
ctl 1 stats >/dev/null
xiked_log 1 | grep -q 'control client dropped: it read nothing for 60 s' ||
	fail "the client that never read was not dropped after 60 s"
say "the client that never read was dropped after 60 s"
xiked_stop 1
xiked_stop 2
say "PASS"
