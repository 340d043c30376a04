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
t0=$(date +%s)
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

# interface = vti0: the test's own device, which xiked uses and leaves.
conf() {
	_n=$1
	shift
	xiked_conf_t "$_n" "" "psk = route-based" "local-ts = 0.0.0.0/0" "remote-ts = 0.0.0.0/0" \
		"mark-in = $MARK" "mark-out = $MARK" "interface = vti0" "$@"
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
for n in 1 2; do
	ns=$(_xiked_ns "$n")
	ip -n "$ns" link show vti0 >/dev/null 2>&1 || fail "peer $n: xiked removed the test's vti0"
	ip -n "$ns" route | grep -q "dev vti0" || fail "peer $n: the route through vti0 went"
	xiked_log "$n" | grep -q "using the existing device vti0" || fail "peer $n: vti0 not used"
done

say "interface = vti-x, made by xiked; bird's OSPF learns the other LAN through it ($(( $(date +%s) - t0 )) s in)"
require_cmd bird
# The test's device goes (the same keys and ends would clash); each LAN
# is a dummy device, which only OSPF makes known to the other side.
for n in 1 2; do
	ns=$(_xiked_ns "$n")
	must ip -n "$ns" link del vti0
	must ip -n "$ns" link add lan0 type dummy
	must ip -n "$ns" addr add "10.$n.1.1/24" dev lan0
	must ip -n "$ns" link set lan0 up
done
# The device's MTU: 1500 (eth0) less 20 (IPv4) + 8 (UDP) + 8 (ESP) + 16
# (IV) + 17 (padding, trailer) + 32 (ICV) = 1399.
vti_made() {
	_ns=$(_xiked_ns "$1")
	_d=$(ip -n "$_ns" -d link show vti-x 2>/dev/null) || return 1
	echo "$_d" | grep -q "mtu 1399 " && echo "$_d" | grep -q "vti remote " &&
		echo "$_d" | grep -q "ikey 0.0.0.$MARK okey 0.0.0.$MARK" &&
		echo "$_d" | grep -q "<.*MULTICAST.*UP" ||
		{ echo "$_d"; fail "peer $1: vti-x is not the device meant"; }
	[ "$(ip netns exec "$_ns" cat /proc/sys/net/ipv4/conf/vti-x/disable_policy)" = 1 ] ||
		fail "peer $1: disable_policy not set on vti-x"
}
vti_gone() {
	! ip -n "$(_xiked_ns "$1")" link show vti-x >/dev/null 2>&1
}
conf_x() {
	_n=$1
	shift
	xiked_conf_t "$_n" "" "psk = route-based" "local-ts = 0.0.0.0/0" "remote-ts = 0.0.0.0/0" \
		"mark-in = $MARK" "mark-out = $MARK" "interface = vti-x" "$@"
}
conf_x 1 "start = start" | xiked_start 1
conf_x 2 | xiked_start 2
vti_made 1 || fail "peer 1 made no vti-x"
vti_made 2 || fail "peer 2 made no vti-x"
wait_for 30 child_up 1 || fail "no CHILD SA"
for n in 1 2; do
	ns=$(_xiked_ns "$n")
	must ip -n "$ns" addr add "169.254.$MARK.$n" peer "169.254.$MARK.$((3 - n))" dev vti-x
	cat >"$XK_DIR/bird$n.conf" <<EOF
router id 10.$n.1.1;
log "$XK_DIR/bird$n.log" all;
protocol device { scan time 1; }
protocol kernel { ipv4 { import none; export all; }; }
protocol ospf v2 {
	ipv4 { import all; export none; };
	area 0 {
		interface "vti-x" { type ptp; hello 1; dead 4; };
		interface "lan0" { stub yes; };
	};
}
EOF
	ip netns exec "$ns" bird -f -c "$XK_DIR/bird$n.conf" -s "$XK_DIR/bird$n.ctl" &
	echo $! >"$XK_DIR/bird$n.pid"
	at_exit "kill \$(cat '$XK_DIR/bird$n.pid') 2>/dev/null"
done
t_ospf=$(date +%s)
learned() {
	ip -n "$(_xiked_ns "$1")" route show "10.$2.1.0/24" | grep -q "dev vti-x proto bird"
}
wait_for 60 learned 1 2 ||
	{ cat "$XK_DIR/bird1.log"; n1 ip route; fail "peer 1 did not learn LAN 2 through vti-x"; }
wait_for 30 learned 2 1 ||
	{ cat "$XK_DIR/bird2.log"; n2 ip route; fail "peer 2 did not learn LAN 1 through vti-x"; }
say "OSPF over vti-x: both LANs learnt $(( $(date +%s) - t_ospf )) s after bird started"
# The bytes peer 1's SAs counted (ip -s: "current: N(bytes), M(packets)").
sa_bytes() {
	n1 ip -s xfrm state | sed -n 's/^[[:space:]]*\([0-9]*\)(bytes).*/\1/p' | awk '{ s += $1 } END { print s + 0 }'
}
b0=$(sa_bytes)
wire_count_reset
check n1 ping -c 5 -i 0.2 -W 2 -I 10.1.1.1 10.2.1.1
[ "$(wire_count esp)" -ge 10 ] || fail "expected >= 10 ESP packets on the wire, saw $(wire_count esp)"
[ "$(wire_count echo)" -eq 0 ] || fail "LAN traffic crossed the wire in the clear"
b1=$(sa_bytes)
# Ten echo packets of 84 bytes, in and out.
[ "$b1" -ge $((b0 + 840)) ] || { n1 ip -s xfrm state; fail "SA bytes went from $b0 to $b1 only"; }
say "LAN to LAN over OSPF's route: $(wire_count esp) ESP packets, SA bytes $b0 -> $b1"

say "a reload without the connection removes vti-x; with it again, xiked (user xike by now) makes it"
xiked_conf_t 1 "" "psk = route-based" >"$XK_DIR/peer1.conf"
sed -i 's/^\[conn t\]/[conn u]/' "$XK_DIR/peer1.conf"
check ctl 1 reload
wait_for 10 vti_gone 1 || fail "peer 1 kept vti-x after the reload dropped it"
wait_for 10 no_states 1 || { n1 ip xfrm state; fail "peer 1 kept states after the reload"; }
# A remote selector that is a prefix gets a route through the device.
xiked_conf_t 1 "" "psk = route-based" "local-ts = 0.0.0.0/0" "remote-ts = 10.2.9.0/24" \
	"mark-in = $MARK" "mark-out = $MARK" "interface = vti-x" >"$XK_DIR/peer1.conf"
check ctl 1 reload
vti_made 1 || { xiked_log 1; fail "the reload did not make vti-x again"; }
[ "$(xiked_log 1 | grep -c 'made vti device vti-x')" -eq 2 ] || fail "expected vti-x made twice"
n1 ip route show 10.2.9.0/24 | grep -q "dev vti-x" || { n1 ip route; fail "no route through vti-x"; }
xiked_stop 1
xiked_stop 2
vti_gone 1 || fail "peer 1 kept vti-x at exit"
vti_gone 2 || fail "peer 2 kept vti-x at exit"
n1 ip route | grep -q vti-x && fail "peer 1 kept a route through vti-x"

say "if-id with interface, on a kernel without XFRM interfaces: named, not started"
xiked_conf_t 1 "" "psk = route-based" "if-id = 7" "interface = xfrm-x" >"$XK_DIR/peer1.conf"
if n1 "$XIKED" -c "$XK_DIR/peer1.conf" >"$XK_DIR/xfrmi.err" 2>&1; then
	fail "xiked started with an XFRM interface this kernel cannot make"
fi
grep -q "interface: xfrm-x: this kernel has no XFRM interfaces (CONFIG_XFRM_INTERFACE" \
	"$XK_DIR/xfrmi.err" || { cat "$XK_DIR/xfrmi.err"; fail "the missing XFRM interfaces not named"; }

say "IPv6 outer addresses: a vti6 device (MTU 1500 - 121), disable_policy of IPv6, removed at exit ($(( $(date +%s) - t0 )) s in)"
printf '[global]\n%s\n[conn t6]\nlocal = %s\nremote = %s\npsk = route-based\nlocal-ts = ::/0\nremote-ts = ::/0\nmark-in = 43\nmark-out = 43\ninterface = vti6-x\n' \
	"$(xiked_socket 1)" "$IP1_6" "$IP2_6" | xiked_start 1
d=$(n1 ip -d link show vti6-x) || { xiked_log 1; fail "no vti6-x"; }
echo "$d" | grep -q "mtu 1379 " && echo "$d" | grep -q "vti6 remote $IP2_6 local $IP1_6" &&
	echo "$d" | grep -q "ikey 0.0.0.43 okey 0.0.0.43" || { echo "$d"; fail "vti6-x is not the device meant"; }
[ "$(n1 cat /proc/sys/net/ipv6/conf/vti6-x/disable_policy)" = 1 ] || fail "disable_policy not set on vti6-x"
echo "$d" | grep -q "alias made by xiked" || { echo "$d"; fail "vti6-x does not carry xiked's alias"; }
# After kill -9 the device stays; the next start knows it by its alias,
# removes it and makes it anew (and so removes it at exit).
kill -9 "$(cat "$XK_DIR/peer1.pid")"
sleep 0.5
n1 ip link show vti6-x >/dev/null 2>&1 || fail "vti6-x went with the killed daemon"
cp "$XK_DIR/peer1.conf" "$XK_DIR/peer1.again"
xiked_start 1 <"$XK_DIR/peer1.again"
xiked_log 1 | grep -q "removed the device vti6-x an earlier run left" || fail "the leftover vti6-x not recognised"
n1 ip link show vti6-x >/dev/null 2>&1 || fail "vti6-x not made again"
xiked_stop 1
n1 ip link show vti6-x >/dev/null 2>&1 && fail "vti6-x stayed after exit"
say "PASS ($(( $(date +%s) - t0 )) s)"
