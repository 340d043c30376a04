#!/bin/sh
# SA lifecycle over kernel ESP (inside UML): rekeying every few seconds
# under a counted ping flow loses nothing; a hard lifetime removes the
# CHILD SA on both ends, or (start = start) it comes back on the same IKE
# SA; a peer killed with kill -9 is found dead by DPD;
# a restarted peer's INITIAL_CONTACT clears what was kept of it; lost
# kernel events (an overrun of the XFRM event socket while 120 tunnels'
# SAs expire at once) are made up for by reading the kernel back.
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

# A CHILD SA that comes back (xiked.conf(5) life-time).
spi_changed() {
	_s=$(sas_field "$1" spi-in | head -1)
	[ -n "$_s" ] && [ "$_s" != "$2" ]
}

say "start = start: a CHILD SA lost to its hard lifetime comes back on the same IKE SA"
conf 1 "start = start" "rekey-time = 0" "life-time = 4s" | xiked_start 1
conf 2 "rekey-time = 0" "life-time = 1h" | xiked_start 2
wait_for 20 child_up 1 || fail "no CHILD SA"
ike=$(sas_field 1 spi-i | head -1)
old=$(sas_field 1 spi-in | head -1)
wait_for 20 spi_changed 1 "$old" || { xiked_log 1 | tail; fail "no new CHILD SA after the hard lifetime"; }
wait_for 10 child_up 1 || fail "no CHILD SA after the hard lifetime"
[ "$(ike_sas 1)" -eq 1 ] && [ "$(sas_field 1 spi-i | head -1)" = "$ike" ] ||
	fail "the IKE SA changed: $(sas_field 1 spi-i)"
check n1 ping -c 2 -W 2 "$IP2_4"
xiked_log 1 | grep -q "lost: making it again" || fail "no re-creation logged"
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

say "lost kernel events: peer 1's tiny event buffer overruns while stopped across many expiries"
lost_t0=$(date +%s)
# Peer 1 runs with a tiny XFRM event buffer and is stopped (SIGSTOP) while
# the SAs of many tunnels reach their lifetimes at once, so that its event
# socket overruns and most EXPIREs are lost.  On SIGCONT it counts the
# overrun, reads the kernel back and reconciles: the tunnels whose SAs the
# kernel dropped (hard lifetime) are deleted with the peer, those past
# their soft lifetime are rekeyed, a policy removed behind its back is
# installed again, and an SA and a policy in its reqid range that nothing
# owns are removed.  Then each kernel holds exactly the SAs and policies
# its daemon lists, and traffic passes.
# Tunnels t1..tS rekey (soft lifetime), tS+1..tN only expire (hard).
S=${XIKE_OVERRUN_SOFT:-60}
N=$(( S + ${XIKE_OVERRUN_HARD:-60} ))
REKEY=${XIKE_OVERRUN_REKEY:-30}

# Peer 1's lifetimes per tunnel: rekey at REKEY s (less up to 10%) or a
# hard lifetime just past it; peer 2 would keep them all for an hour.
# The hard ones are initiated by hand (start = none): with start = start a
# CHILD SA lost to its hard lifetime is made again, and here they should go.
lifetimes() {
	awk -v s="$S" -v r="$REKEY" '
		/^\[conn t[0-9]+\]$/ { i = substr($0, 8) + 0 }
		$0 == "start = start" && i > s { print "start = none"; next }
		{ print }
		/^\[conn t[0-9]+\]$/ {
			if (i <= s) printf "rekey-time = %ds\nlife-time = 1h\n", r
			else printf "rekey-time = 0\nlife-time = %ds\n", r + 3
		}'
}

# SPIs of peer N's kernel SAs in our reqid range, and of its daemon's
# CHILD SAs; both sorted, one per line.
# (ip prints reqids in decimal: 0x7c000000-0x7cffffff.)
kernel_spis() {
	ip netns exec "$(_xiked_ns "$1")" ip xfrm state | awk '/^src/ { getline
		if ($5 == "reqid" && $6 >= 2080374784 && $6 < 2097152000) print substr($4, 3) }' |
		sort
}

daemon_spis() {
	ctl "$1" --json list-sas | tr ',{}' '\n\n\n' |
		sed -n 's/.*"spi-\(in\|out\)": *"\([0-9a-f]*\)".*/\2/p' | sort
}

# Peer N's kernel holds exactly its daemon's SAs (COUNT tunnels' pairs),
# and 3 policies per tunnel: in_step N COUNT.
in_step() {
	[ "$(kernel_spis "$1")" = "$(daemon_spis "$1")" ] &&
		[ "$(daemon_spis "$1" | wc -l)" -eq $(( 2 * $2 )) ] &&
		[ "$(ip netns exec "$(_xiked_ns "$1")" ip xfrm policy | grep -c 'tmpl src')" -eq \
			$(( 3 * $2 )) ]
}

xiked_conf_many 2 "$N" overrun "install-routes = no" |
	sed 's/^\(\[conn .*\]\)$/\1\nrekey-time = 1h\nlife-time = 2h/' | xiked_start 2
t0=$(date +%s)
xiked_conf_many 1 "$N" overrun "install-routes = no" "kernel-event-buffer = 1024" |
	lifetimes | xiked_start 1
i=$(( S + 1 ))
while [ "$i" -le "$N" ]; do
	ctl 1 initiate "t$i" >/dev/null || fail "initiate t$i"
	i=$(( i + 1 ))
done
wait_for 60 tunnels_up "$N" || fail "only $(child_count 1) of $N tunnels up"
up=$(( $(date +%s) - t0 ))
say "$N tunnels up in ${up}s"
[ "$up" -lt $(( REKEY * 9 / 10 - 2 )) ] || fail "setup took ${up}s: the first rekeys may have run"

# Behind the daemon's back: a policy of t1 goes, a stale SA and policy come.
n1 ip xfrm policy delete src 172.17.0.1/32 dst 172.16.0.1/32 dir in || fail "policy delete"
n1 ip xfrm state add src "$IP1_4" dst "$IP2_4" proto esp spi 0xc0dead00 reqid 0x7c7fffff \
	mode tunnel aead 'rfc4106(gcm(aes))' 0x0102030405060708090a0b0c0d0e0f1011121314 128 ||
	fail "stale SA"
n1 ip xfrm policy add src 192.168.98.0/24 dst 192.168.99.0/24 dir out \
	tmpl src "$IP1_4" dst "$IP2_4" proto esp reqid 0x7c7fffff mode tunnel || fail "stale policy"

pid1=$(cat "$XK_DIR/peer1.pid")
kill -STOP "$pid1"
at_exit "kill -CONT $pid1 2>/dev/null"
# Until the kernel dropped every SA of the hard tunnels (their soft ones
# passed before), plus a stale one: S pairs.
wait_for $(( REKEY + 10 )) states_are 1 $(( 2 * S + 1 )) ||
	{ kill -CONT "$pid1"; fail "peer 1's kernel has $(states 1) states, not $(( 2 * S + 1 ))"; }
kill -CONT "$pid1"
t1=$(date +%s)
wait_for 30 tunnels_up "$S" ||
	fail "tunnels after the resync: $(child_count 1) and $(child_count 2), not $S"
wait_for 30 in_step 1 "$S" || { kernel_spis 1 >"$XK_DIR/k1"; daemon_spis 1 >"$XK_DIR/d1";
	diff "$XK_DIR/k1" "$XK_DIR/d1" | head; fail "peer 1's kernel and daemon differ"; }
wait_for 10 in_step 2 "$S" || fail "peer 2's kernel and daemon differ"
say "in step again $(( $(date +%s) - t1 ))s after SIGCONT: $S tunnels, $(states 1) SAs each side"
overruns=$(ctl_stat 1 kernel-event-overruns)
[ "${overruns:-0}" -ge 1 ] || fail "no overrun counted"
rekeys=$(ctl_stat 1 rekeys)
[ "$rekeys" -ge "$S" ] || fail "$rekeys rekeys on peer 1, not $S"
say "overruns $overruns, rekeys $rekeys, expires heard $(ctl_stat 1 expires)"
xiked_log 1 | grep 'resync with the kernel' || fail "no resync logged"
check n1 ip xfrm policy get src 172.17.0.1/32 dst 172.16.0.1/32 dir in
check_fails n1 ip xfrm state get src "$IP1_4" dst "$IP2_4" proto esp spi 0xc0dead00
check_fails n1 ip xfrm policy get src 192.168.98.0/24 dst 192.168.99.0/24 dir out

# Traffic through the first and the last rekeyed tunnel.
for i in 1 "$S"; do
	n1 ip addr add "172.16.0.$i/32" dev lo
	n2 ip addr add "172.17.0.$i/32" dev lo
	n1 ip route add "172.17.0.$i/32" via "$IP2_4" src "172.16.0.$i"
	n2 ip route add "172.16.0.$i/32" via "$IP1_4" src "172.17.0.$i"
	check n1 ping -c 2 -W 2 -I "172.16.0.$i" "172.17.0.$i"
done
say "lost kernel events: $(( $(date +%s) - lost_t0 ))s"
xiked_stop 1
xiked_stop 2
say "PASS"
