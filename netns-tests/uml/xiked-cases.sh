#!/bin/sh
# xiked <-> xiked over kernel ESP (inside UML), beyond the happy path:
# start = start and start = trap, wrong PSK, proposals and selectors that do
# not match, 4-in-6 and 6-in-4, a bad config, reload keeping SAs, and
# kill -9 + restart.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../xiked-lib.sh"
require_root
netns_setup

# conf N [extra conn lines...]: peer N's config for conn t, on stdout.
conf() {
	_peer=$1
	shift
	xiked_conf_t "$_peer" "" "$@"
}

no_states() {
	! ip netns exec "$(_xiked_ns "$1")" ip xfrm state | grep -q '^src'
}

# stat_is N KEY PATTERN: peer N's counter KEY matches PATTERN.
stat_is() {
	ctl "$1" stats | grep -q "^$2 *$3\$"
}

stop_both() {
	xiked_stop 1
	xiked_stop 2
}

say "start = start: the initiator comes up on its own"
conf 1 "psk = s3cret" "start = start" | xiked_start 1
conf 2 "psk = s3cret" | xiked_start 2
wait_for 30 child_up 1 || { xiked_log 1; fail "start = start did not establish"; }
check n1 ping -c 2 -W 2 "$IP2_4"
stop_both
wait_for 5 no_states 1 || fail "peer 1 left states after shutdown"

say "start = trap: the first packet brings the tunnel up"
conf 1 "psk = s3cret" "start = trap" | xiked_start 1
conf 2 "psk = s3cret" | xiked_start 2
n1 ip xfrm policy | grep -q 'dir out' || fail "no trap policy installed"
n1 ping -c 1 -W 1 "$IP2_4" >/dev/null 2>&1   # triggers ACQUIRE; may be lost
wait_for 20 child_up 1 || { xiked_log 1; fail "trap did not establish"; }
check n1 ping -c 2 -W 2 "$IP2_4"
check stat_is 1 acquires '[1-9][0-9]*'
check ctl 1 terminate t
wait_for 10 no_states 1 || fail "states left after terminate"
n1 ip xfrm policy | grep -q 'dir out' || fail "the trap policy went away with the SA"
stop_both
n1 ip xfrm policy | grep -q 'tmpl ' && fail "policies left after shutdown"

say "encap = yes: UDP-encapsulated ESP without a NAT"
conf 1 "psk = s3cret" "encap = yes" | xiked_start 1
conf 2 "psk = s3cret" | xiked_start 2
check ctl 1 initiate t
wait_for 20 child_up 1 || fail "no CHILD SA with encap = yes"
n1 ip xfrm state | grep -q 'encap type espinudp sport 4500 dport 4500' ||
	{ n1 ip xfrm state; fail "no UDP encapsulation on peer 1"; }
n2 ip xfrm state | grep -q 'encap type espinudp' || fail "no UDP encapsulation on peer 2"
check n1 ping -c 2 -W 2 "$IP2_4"
stop_both

say "wrong PSK: nothing installed, the failure visible"
conf 1 "psk = one secret" | xiked_start 1
conf 2 "psk = another secret" | xiked_start 2
check ctl 1 initiate t
wait_for 10 stat_is 2 auth-failures 1 || fail "no auth failure counted"
sleep 1
no_states 1 && no_states 2 || fail "SAs installed despite a wrong PSK"
ctl 1 list-sas | grep -q 'no IKE SAs' || fail "initiator kept an IKE SA"
xiked_log 2 | grep -q 'authentication failed' || fail "no log line for the failure"
stop_both

say "no common proposal: NO_PROPOSAL_CHOSEN, nothing installed"
conf 1 "psk = s3cret" "ike = aes128gcm16-prfsha256-x25519" | xiked_start 1
conf 2 "psk = s3cret" "ike = aes256-sha512-modp4096" | xiked_start 2
ctl 1 monitor > "$XK_DIR/events" 2>&1 &
mon=$!
sleep 0.5
check ctl 1 initiate t
wait_for 10 grep -q 'notify=NO_PROPOSAL_CHOSEN' "$XK_DIR/events" ||
	{ cat "$XK_DIR/events"; fail "no NO_PROPOSAL_CHOSEN event"; }
kill $mon
no_states 1 && no_states 2 || fail "SAs installed without a proposal"
stop_both

say "selectors that do not overlap: TS_UNACCEPTABLE, no CHILD SA"
conf 1 "psk = s3cret" "local-ts = 10.1.0.0/24" "remote-ts = 10.2.0.0/24" | xiked_start 1
conf 2 "psk = s3cret" "local-ts = 10.9.0.0/24" "remote-ts = 10.1.0.0/24" | xiked_start 2
ctl 1 monitor > "$XK_DIR/events" 2>&1 &
mon=$!
sleep 0.5
check ctl 1 initiate t
wait_for 10 grep -q 'notify=TS_UNACCEPTABLE' "$XK_DIR/events" ||
	{ cat "$XK_DIR/events"; fail "no TS_UNACCEPTABLE event"; }
kill $mon
no_states 1 && no_states 2 || fail "SAs installed for refused selectors"
stop_both

# Inner addresses of the other family than the outer ones: the policies,
# states and routes follow the selectors' family.
for inner in 4 6; do
	if [ "$inner" = 4 ]; then
		o1=$IP1_6 o2=$IP2_6 i1=$IP1_4 i2=$IP2_4 hl=32 what=4-in-6
	else
		o1=$IP1_4 o2=$IP2_4 i1=$IP1_6 i2=$IP2_6 hl=128 what=6-in-4
	fi
	say "$what over kernel ESP"
	conf 1 "psk = s3cret" "local = $o1" "remote = $o2" "local-ts = $i1/$hl" "remote-ts = $i2/$hl" |
		xiked_start 1
	conf 2 "psk = s3cret" "local = $o2" "remote = $o1" "local-ts = $i2/$hl" "remote-ts = $i1/$hl" |
		xiked_start 2
	check ctl 1 initiate t
	wait_for 20 child_up 1 || { xiked_log 1; fail "$what: no CHILD SA"; }
	n1 ip xfrm state | grep -q "^src $o1 dst $o2" || { n1 ip xfrm state; fail "$what: no outer $o1 -> $o2 state"; }
	n1 ip xfrm policy | grep -q "^src $i1/$hl dst $i2/$hl" || { n1 ip xfrm policy; fail "$what: no inner policy"; }
	n1 ip -"$inner" route show table 220 | grep -q "^$i2 " ||
		{ n1 ip -"$inner" route show table 220; fail "$what: no route to $i2 in table 220"; }
	check n1 ping -c 3 -i 0.2 -W 2 -I "$i1" "$i2"
	ctl 1 --json list-sas | grep -q '"packets-out": *[3-9]' || { ctl 1 --json list-sas; fail "$what: the SA counted no traffic"; }
	stop_both
done

say "a bad config: a clear message, no daemon"
conf 1 "psk = s3cret" "esp = aes128gcm16-sha999" > "$XK_DIR/bad.conf"
out=$(n1 "$XIKED" -c "$XK_DIR/bad.conf" 2>&1) && fail "xiked started with a bad config"
echo "$out" | grep -q "bad.conf:[0-9]*: \[t\] esp: unknown algorithm 'sha999'" ||
	fail "unclear message: $out"

say "reload: an unchanged connection keeps its SA, a new one is added"
conf 1 "psk = s3cret" | xiked_start 1
conf 2 "psk = s3cret" | xiked_start 2
check ctl 1 initiate t
wait_for 20 child_up 1 || fail "no SA before reload"
spi_before=$(sas_field 1 spi-in)
{ conf 1 "psk = s3cret"; printf '[conn extra]\nremote = %s\npsk = other\n' "$IP2_4"; } \
	> "$XK_DIR/peer1.conf"
check ctl 1 reload
ctl 1 list-conns | grep -q extra || fail "the new conn is not listed"
[ "$(sas_field 1 spi-in)" = "$spi_before" ] || fail "reload replaced an unchanged SA"
say "reload with a broken config keeps the running one"
echo "garbage line" >> "$XK_DIR/peer1.conf"
check_fails ctl 1 reload
[ "$(sas_field 1 spi-in)" = "$spi_before" ] || fail "a failed reload touched the SA"

say "kill -9, then restart: no stale entries"
kill -9 "$(cat "$XK_DIR/peer1.pid")"
sleep 0.5
n1 ip xfrm state | grep -q '^src' || fail "expected the killed daemon's states to linger"
conf 1 "psk = s3cret" | xiked_start 1
no_states 1 || fail "stale states survived the restart"
n1 ip xfrm policy | grep -q 'tmpl ' && fail "stale policies survived the restart"
xiked_log 1 | grep -q 'removed .* stale kernel entries' || fail "no log of the clean-up"
stop_both
say "PASS"
