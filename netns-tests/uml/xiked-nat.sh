#!/bin/sh
# NAT traversal over kernel ESP (inside UML).  Peer 1 sits behind a
# namespace that masquerades:
#
#   peer1 192.168.1.2 -- nat 192.168.1.1 | 10.0.0.254 -- peer2 10.0.0.2
#
# Both ends detect the NAT, move to port 4500, and the kernel carries
# UDP-encapsulated ESP.  Then the NAT forgets its mapping and picks another
# port mid-flow: peer 2 learns the new port from authenticated ESP
# (XFRM_MSG_MAPPING) and traffic recovers.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../xiked-lib.sh"
require_root
require_cmd iptables-legacy conntrack

P=$NS_PREFIX
NS1=$P-peer1
NS2=$P-peer2
NSN=$P-nat
at_exit "ip netns del $NS1 2>/dev/null; ip netns del $NS2 2>/dev/null; ip netns del $NSN 2>/dev/null"
for ns in "$NS1" "$NS2" "$NSN"; do
	must ip netns add "$ns"
	must ip -n "$ns" link set lo up
done
must ip -n "$NS1" link add eth0 type veth peer name na netns "$NSN"
must ip -n "$NS2" link add eth0 type veth peer name nb netns "$NSN"
must ip -n "$NS1" addr add 192.168.1.2/24 dev eth0
must ip -n "$NS1" link set eth0 up
must ip -n "$NS1" route add default via 192.168.1.1
must ip -n "$NS2" addr add 10.0.0.2/24 dev eth0
must ip -n "$NS2" link set eth0 up
must ip -n "$NSN" addr add 192.168.1.1/24 dev na
must ip -n "$NSN" addr add 10.0.0.254/24 dev nb
must ip -n "$NSN" link set na up
must ip -n "$NSN" link set nb up
must ip netns exec "$NSN" sysctl -qw net.ipv4.ip_forward=1
# This UML kernel has NAT through iptables only (no nftables ip family).
masquerade() {
	ip netns exec "$NSN" iptables-legacy -t nat -F POSTROUTING &&
		ip netns exec "$NSN" iptables-legacy -t nat -A POSTROUTING -o nb -p udp \
			-j MASQUERADE --to-ports "$1" &&
		ip netns exec "$NSN" iptables-legacy -t nat -A POSTROUTING -o nb -j MASQUERADE
}
must masquerade 20000-20099

xiked_start 1 <<C
[global]
$(xiked_socket 1)
keepalive = 5s
[conn t]
local = 192.168.1.2
remote = 10.0.0.2
psk = nat secret
local-ts = 192.168.1.2/32
remote-ts = 10.0.0.2/32
C
xiked_start 2 <<C
[global]
$(xiked_socket 2)
[conn t]
remote = %any
psk = nat secret
local-ts = 10.0.0.2/32
remote-ts = 192.168.1.0/24
C
check ctl 1 initiate t
wait_for 20 child_up 1 || { xiked_log 1; xiked_log 2; fail "no CHILD SA through the NAT"; }
wait_for 10 child_up 2 || fail "no CHILD SA on peer 2"
ctl 2 list-sas
n2 ip xfrm state | grep -q 'encap type espinudp sport 2[0-9]* dport 4500' ||
	{ n2 ip xfrm state; fail "peer 2 has no UDP-encapsulated state from the NAT's port"; }
ctl 1 --json list-sas | grep -q '"nat-local": *true' || fail "peer 1 did not see its NAT"
check n1 ping -c 3 -W 2 10.0.0.2
old=$(n2 ip xfrm state | sed -n 's/.*encap type espinudp sport \([0-9]*\) dport 4500.*/\1/p' | head -1)
say "NAT maps peer 1 to port $old; now it forgets and picks another"
must masquerade 30000-30099
ip netns exec "$NSN" conntrack -D -p udp >/dev/null 2>&1
# Traffic recovers: the first packets may go to the old port.
wait_for 20 n1 ping -c 1 -W 1 10.0.0.2 || { xiked_log 2 | tail; fail "traffic did not recover"; }
check n1 ping -c 3 -W 2 10.0.0.2
# Both of peer 2's states follow: inbound from, outbound to the new port.
n2 ip xfrm state | grep -q 'encap type espinudp sport 3[0-9]* dport 4500' &&
	n2 ip xfrm state | grep -q 'encap type espinudp sport 4500 dport 3[0-9]*' ||
	{ n2 ip xfrm state; fail "peer 2's SAs did not follow the new port"; }
[ "$(ctl 2 stats | sed -n 's/^mappings *//p')" -ge 1 ] || fail "no mapping event counted"
say "PASS"
