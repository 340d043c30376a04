#!/bin/sh
# Route-based tunnels over real kernel ESP (inside UML): xiked <-> xiked
# with 0.0.0.0/0 selectors and marks (mark-in, mark-out), each end with a
# VTI device whose keys are those marks.  Only what the routing table sends
# into the VTI device is protected: a LAN-to-LAN ping through it crosses the
# wire as ESP, a ping between the gateways themselves (and IKE) in the
# clear.  The marks are on every SA and policy, xiked installs no routes of
# its own, terminate removes the marked SAs, start = trap brings the tunnel
# up from a packet routed into the device, and after kill -9 a restarted
# daemon removes the marked leftovers.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../xiked-lib.sh"
require_root
require_cmd nft ping
netns_setup
wire_count_setup

MARK=42
LAN1=10.1.0.1
LAN2=10.2.0.1

# The LANs: an address on lo each; the VTI device and the route to the
# other LAN through it.
for n in 1 2; do
	if [ "$n" = 1 ]; then l=$IP1_4 r=$IP2_4 lan=$LAN1 other=$LAN2; else l=$IP2_4 r=$IP1_4 lan=$LAN2 other=$LAN1; fi
	ns=$(_xiked_ns "$n")
	must ip -n "$ns" addr add "$lan/32" dev lo
	ip -n "$ns" link add vti0 type vti local "$l" remote "$r" ikey "$MARK" okey "$MARK" ||
		skip "this kernel has no VTI devices"
	# Decrypted packets arrive on vti0 without the mark: the VTI device
	# checked them against the marked policy already.
	must ip netns exec "$ns" sysctl -qw net.ipv4.conf.vti0.disable_policy=1
	must ip -n "$ns" link set vti0 up
	must ip -n "$ns" route add "$other/32" dev vti0 src "$lan"
done

conf() {
	_n=$1
	shift
	xiked_conf_t "$_n" "" "psk = route-based" "local-ts = 0.0.0.0/0" "remote-ts = 0.0.0.0/0" \
		"mark-in = $MARK" "mark-out = $MARK" "$@"
}

marked_everywhere() {
	_ns=$(_xiked_ns "$1")
	_states=$(ip -n "$_ns" xfrm state | grep -c '^src')
	_marked=$(ip -n "$_ns" xfrm state | grep -c "mark 0x2a/0xffffffff")
	[ "$_states" -eq 2 ] && [ "$_marked" -eq 2 ] ||
		{ ip -n "$_ns" xfrm state; fail "peer $1: $_states states, $_marked of them marked"; }
	# One record per policy: its "src" line and the indented ones after it.
	_pols=$(ip -n "$_ns" xfrm policy | awk '/^src/ { n += t; t = 0 } /tmpl/ { t = 1 } END { print n + t }')
	_mpols=$(ip -n "$_ns" xfrm policy |
		awk '/^src/ { n += t && m; t = m = 0 } /tmpl/ { t = 1 } /mark 0x2a\/0xffffffff/ { m = 1 } END { print n + (t && m) }')
	[ "$_pols" -eq 3 ] && [ "$_mpols" -eq 3 ] ||
		{ ip -n "$_ns" xfrm policy; fail "peer $1: $_pols policies, $_mpols of them marked"; }
	ip -n "$_ns" route show table 220 2>/dev/null | grep -q . &&
		{ ip -n "$_ns" route show table 220; fail "peer $1 installed routes for a route-based tunnel"; }
	return 0
}

no_states() {
	! ip netns exec "$(_xiked_ns "$1")" ip xfrm state | grep -q '^src'
}

say "VTI, start = start: LAN to LAN through the device, the gateways in the clear"
conf 1 "start = start" | xiked_start 1
conf 2 | xiked_start 2
wait_for 30 child_up 1 || { xiked_log 1; xiked_log 2; fail "no CHILD SA"; }
wait_for 10 child_up 2 || fail "no CHILD SA on peer 2"
marked_everywhere 1
marked_everywhere 2
ctl 1 list-sas | grep -q "mark in 0x2a/0xffffffff out 0x2a/0xffffffff" ||
	{ ctl 1 list-sas; fail "list-sas does not show the marks"; }
wire_count_reset
check n1 ping -c 3 -i 0.2 -W 2 -I "$LAN1" "$LAN2"
[ "$(wire_count esp)" -ge 6 ] || fail "expected >= 6 ESP packets on the wire, saw $(wire_count esp)"
[ "$(wire_count echo)" -eq 0 ] || fail "LAN traffic crossed the wire in the clear"
ctl 1 --json list-sas | grep -q '"packets-out": *[3-9]' || fail "the SA counted no traffic"
# 0.0.0.0/0 selectors, yet only marked traffic is caught.
wire_count_reset
check n1 ping -c 2 -i 0.2 -W 2 "$IP2_4"
[ "$(wire_count echo)" -ge 4 ] || fail "gateway-to-gateway traffic did not pass in the clear"
check ctl 2 terminate t
wait_for 10 no_states 1 || { n1 ip xfrm state; fail "peer 1 kept marked states after terminate"; }
wait_for 10 no_states 2 || { n2 ip xfrm state; fail "peer 2 kept marked states after terminate"; }
xiked_stop 1
xiked_stop 2
n1 ip xfrm policy | grep -q 'tmpl ' && fail "peer 1 kept policies"
n2 ip xfrm policy | grep -q 'tmpl ' && fail "peer 2 kept policies"

say "VTI, start = trap: a packet routed into the device brings the tunnel up"
conf 1 "start = trap" | xiked_start 1
conf 2 | xiked_start 2
n1 ip xfrm policy | grep -A2 'dir out' | grep -q "mark 0x2a/0xffffffff" ||
	{ n1 ip xfrm policy; fail "no marked trap policy"; }
n1 ping -c 1 -W 1 -I "$LAN1" "$LAN2" >/dev/null 2>&1 # the ACQUIRE; may be lost
wait_for 20 child_up 1 || { xiked_log 1; fail "trap did not establish"; }
check n1 ping -c 2 -W 2 -I "$LAN1" "$LAN2"

say "kill -9, then restart: the marked leftovers go"
kill -9 "$(cat "$XK_DIR/peer1.pid")"
sleep 0.5
n1 ip xfrm state | grep -q '^src' || fail "expected the killed daemon's states to linger"
conf 1 | xiked_start 1
no_states 1 || { n1 ip xfrm state; fail "stale marked states survived the restart"; }
n1 ip xfrm policy | grep -q 'tmpl ' && { n1 ip xfrm policy; fail "stale marked policies survived the restart"; }
xiked_log 1 | grep -q 'removed .* stale kernel entries' || fail "no log of the clean-up"
xiked_stop 1
xiked_stop 2
say "PASS"
