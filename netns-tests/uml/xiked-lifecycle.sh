#!/bin/sh
# SA lifecycle over kernel ESP (inside UML): rekeying every few seconds
# under a counted ping flow loses nothing; a hard lifetime removes the
# CHILD SA on both ends; a peer killed with kill -9 is found dead by DPD;
# a restarted peer's INITIAL_CONTACT clears what was kept of it.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../xiked-lib.sh"
require_root
netns_setup

conf() {
	_peer=$1
	shift
	xiked_conf_t "$_peer" "log-level = ${XIKE_LC_LOG:-info}" "psk = lifecycle" "$@"
}

stat_of() {
	ctl "$1" stats | sed -n "s/^$2 *//p"
}

say "rekey every ~8 s (CHILD) and ~20 s (IKE) for 40 s under a ping flow"
conf 1 "rekey-time = 8s" "life-time = 30s" "ike-rekey-time = 20s" | xiked_start 1
conf 2 "rekey-time = 8s" "life-time = 30s" "ike-rekey-time = 20s" | xiked_start 2
check ctl 1 initiate t
wait_for 20 child_up 1 || { xiked_log 1; fail "no CHILD SA"; }
wait_for 10 child_up 2 || fail "no CHILD SA on peer 2"
out=$(n1 ping -q -i 0.05 -c 800 -W 1 "$IP2_4" 2>&1)
echo "$out" | tail -2
echo "$out" | grep -q ' 800 received' || { xiked_log 1 | tail -30; fail "packets lost during rekeys"; }
rekeys=$(stat_of 1 rekeys)
[ "$rekeys" -ge 4 ] || fail "only $rekeys rekeys in 40 s"
say "$rekeys rekeys on peer 1, 800 of 800 pings answered"
# Between rekeys (after the old inbound SA lingered out) exactly one pair.
wait_for 15 states_are 1 2 || fail "peer 1 has $(states 1) states, not one pair"
[ "$(ike_sas 1)" -eq 1 ] || fail "peer 1 has $(ike_sas 1) IKE SAs"
[ "$(ike_sas 2)" -eq 1 ] || fail "peer 2 has $(ike_sas 2) IKE SAs"
xiked_stop 1
xiked_stop 2

say "a hard lifetime without rekeying: the CHILD SA goes on both ends"
conf 1 "rekey-time = 0" "life-time = 4s" | xiked_start 1
conf 2 "rekey-time = 0" "life-time = 4s" | xiked_start 2
check ctl 1 initiate t
wait_for 20 child_up 1 || fail "no CHILD SA"
wait_for 15 states_are 1 0 || fail "peer 1 kept states past the hard lifetime"
wait_for 10 states_are 2 0 || fail "peer 2 kept states past the hard lifetime"
child_up 1 && fail "peer 1 still lists the CHILD SA"
# The first end whose kernel expires it tells the other: one of them counts it.
[ $(( $(stat_of 1 expires) + $(stat_of 2 expires) )) -ge 1 ] || fail "no expire counted"
xiked_stop 1
xiked_stop 2

say "kill -9 the peer: DPD finds it dead and clears the SAs"
conf 1 "dpd = 2s" "dpd-timeout = 6s" "dpd-action = clear" | xiked_start 1
conf 2 | xiked_start 2
check ctl 1 initiate t
wait_for 20 child_up 1 || fail "no CHILD SA"
kill -9 "$(cat "$XK_DIR/peer2.pid")"
t0=$(date +%s)
wait_for 20 states_are 1 0 || { xiked_log 1 | tail; fail "peer 1 kept its states"; }
t=$(( $(date +%s) - t0 ))
[ "$t" -le 12 ] || fail "dead peer found only after ${t}s (dpd 2s + timeout 6s)"
[ "$(stat_of 1 dpd-timeouts)" -eq 1 ] || fail "no dpd timeout counted"
say "dead peer found after ${t}s"

say "dpd-action = trap: after a dead peer, the next packet brings the tunnel back"
xiked_stop 1
# remote-id: INITIAL_CONTACT (below) counts only where the peer's identity is pinned.
conf 1 "dpd = 2s" "dpd-timeout = 6s" "dpd-action = trap" "remote-id = $IP2_4" | xiked_start 1
conf 2 | xiked_start 2
check ctl 1 initiate t
wait_for 20 child_up 1 || fail "no CHILD SA"
kill -9 "$(cat "$XK_DIR/peer2.pid")"
wait_for 20 states_are 1 0 || fail "peer 1 kept its states after the peer died"
n1 ip xfrm policy | grep -q 'dir out' || fail "no trap policy after the dead peer"
conf 2 | xiked_start 2
n1 ping -c 1 -W 1 "$IP2_4" >/dev/null 2>&1   # the ACQUIRE
wait_for 20 child_up 1 || { xiked_log 1 | tail; fail "the trap did not bring the tunnel back"; }
check n1 ping -c 2 -W 2 "$IP2_4"
xiked_stop 2

say "the peer restarts: its INITIAL_CONTACT clears the old SAs"
# Peer 2's killed daemon left its states; the new one flushes them.
conf 2 "start = start" | xiked_start 2
wait_for 20 child_up 1 || fail "no CHILD SA after the restart"
# Establish a second time while peer 1 still holds the first: restart again.
kill -9 "$(cat "$XK_DIR/peer2.pid")"
conf 2 "start = start" | xiked_start 2
sleep 2
wait_for 10 sh -c "[ \$(ip netns exec $NS1 ip xfrm state | grep -c '^src') -eq 2 ]" ||
	fail "peer 1 has $(states 1) states after INITIAL_CONTACT, not one pair"
[ "$(ike_sas 1)" -eq 1 ] || fail "peer 1 kept $(ike_sas 1) IKE SAs"
check n1 ping -c 2 -W 2 "$IP2_4"
xiked_stop 1
xiked_stop 2
say "PASS"
