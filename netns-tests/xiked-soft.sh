#!/bin/sh
# xiked <-> xiked with userspace ESP (backend = soft) on the host kernel,
# which has no ESP of its own: tunnel and transport mode, IPv4 and IPv6,
# each from empty neighbour caches; traffic passes as ESP in UDP (counted
# on the wire, no plain echo), the CHILD SA counters and the data path's
# counters in stats see it, terminate removes the routes again.  Then
# peer 1 behind a masquerading namespace: the tunnel comes up through the
# NAT and peer 1's NAT keepalives (one 0xff byte, RFC 3948 2.3, sent
# through esp-soft, which owns port 4500) are seen on the wire every
# `keepalive` seconds, from the NAT's address and port; IKE on port 4500
# reached both daemons without the workers' relay.  Last, a second daemon
# on the same port refuses to start.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/xiked-lib.sh"
require_root
require_cmd nft ping
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
netns_setup
wire_count_setup

run_case() {
	mode=$1 fam=$2
	if [ "$fam" = 6 ]; then a1=$IP1_6 a2=$IP2_6; else a1=$IP1_4 a2=$IP2_4; fi
	say "case: soft <-> soft, $mode, IPv$fam"
	# Neighbours learnt by an earlier case would hide a discovery that fails.
	ip -n "$NS1" neigh flush all
	ip -n "$NS2" neigh flush all
	for n in 1 2; do
		if [ "$n" = 1 ]; then l=$a1 r=$a2; else l=$a2 r=$a1; fi
		printf '[global]\n%s\nbackend = soft\n[conn t]\nlocal = %s\nremote = %s\npsk = soft\nmode = %s\n' \
			"$(xiked_socket "$n")" "$l" "$r" "$mode" | xiked_start "$n"
	done
	check ctl 1 initiate t
	wait_for 20 child_up 1 || fail "no CHILD SA"
	wait_for 10 child_up 2 || fail "no CHILD SA on peer 2"
	ctl 1 status | grep -q 'backend soft' || fail "not running on userspace ESP"
	wire_count_reset
	check n1 ping -c 3 -i 0.2 -W 2 "$a2"
	# The data path's own counters, in xikectl stats.
	[ "$(ctl_stat 1 esp-tx-packets)" -ge 3 ] && [ "$(ctl_stat 1 esp-rx-packets)" -ge 3 ] ||
		fail "stats: esp-tx-packets $(ctl_stat 1 esp-tx-packets), esp-rx-packets $(ctl_stat 1 esp-rx-packets)"
	[ "$(ctl_stat 2 esp-drop-auth)" -eq 0 ] || fail "peer 2 dropped ESP that did not authenticate"
	esp=$(wire_count espudp)
	echo_pkts=$(wire_count echo)
	[ "$esp" -ge 6 ] || fail "expected >= 6 ESP packets on the wire, saw $esp"
	[ "$echo_pkts" -eq 0 ] || fail "$echo_pkts plain ICMP echo packets crossed the wire"
	ctl 1 --json list-sas | grep -q '"packets-out": *[1-9]' || fail "no outbound packets counted"
	ctl 1 list-sas
	# Per connection and per CHILD SA, as Prometheus series.
	prom=$(ctl 1 stats --prometheus)
	for series in 'conn_up{conn="t"} 1' 'conn_ike_sas{conn="t"} 1' 'conn_child_sas{conn="t"} 1' \
		'conn_ike_ups_total{conn="t"} 1' 'conn_child_ups_total{conn="t"} 1'; do
		echo "$prom" | grep -qxF "xike_$series" || fail "stats --prometheus lacks xike_$series"
	done
	for series in 'conn_bytes_total{conn="t",dir="out"}' 'conn_packets_total{conn="t",dir="in"}' \
		'child_packets_total{conn="t",spi_in="[0-9a-f]\{8\}",dir="out"}'; do
		echo "$prom" | grep -q "^xike_$series [1-9]" || fail "stats --prometheus: xike_$series not counted"
	done
	check ctl 2 terminate t
	wait_for 10 sh -c "$XIKECTL -s /run/xike-test-$$-1.sock stats --prometheus | grep -qxF 'xike_conn_up{conn=\"t\"} 0'" ||
		fail "conn t still up after terminate"
	ctl 1 stats --prometheus | grep -qxF 'xike_conn_ike_ups_total{conn="t"} 1' ||
		fail "the handshake count went with the SA"
	wait_for 10 sh -c "! ip netns exec $NS1 ip -$fam route show table 220 | grep -q ." ||
		fail "peer 1 kept its routes"
	xiked_stop 1
	xiked_stop 2
}

# Inner addresses of the other family than the outer ones (4-in-6 and
# 6-in-4): the routes into the TUN device follow the selectors' family.
cross_case() {
	inner=$1
	if [ "$inner" = 4 ]; then
		o1=$IP1_6 o2=$IP2_6 i1=$IP1_4 i2=$IP2_4 hl=32 what=4-in-6
	else
		o1=$IP1_4 o2=$IP2_4 i1=$IP1_6 i2=$IP2_6 hl=128 what=6-in-4
	fi
	say "case: soft <-> soft, tunnel, $what"
	for n in 1 2; do
		if [ "$n" = 1 ]; then l=$o1 r=$o2 lt=$i1 rt=$i2; else l=$o2 r=$o1 lt=$i2 rt=$i1; fi
		printf '[global]\n%s\nbackend = soft\n[conn t]\nlocal = %s\nremote = %s\npsk = soft\nlocal-ts = %s/%s\nremote-ts = %s/%s\n' \
			"$(xiked_socket "$n")" "$l" "$r" "$lt" "$hl" "$rt" "$hl" | xiked_start "$n"
	done
	check ctl 1 initiate t
	wait_for 20 child_up 1 || fail "no CHILD SA"
	wait_for 10 child_up 2 || fail "no CHILD SA on peer 2"
	for n in 1 2; do
		if [ "$n" = 1 ]; then rt=$i2; else rt=$i1; fi
		ip -"$inner" -n "$(_xiked_ns "$n")" route show table 220 | grep -q "^$rt " ||
			{ ip -"$inner" -n "$(_xiked_ns "$n")" route show table 220 >&2; fail "peer $n: no route to $rt in table 220"; }
	done
	wire_count_reset
	check n1 ping -c 3 -i 0.2 -W 2 -I "$i1" "$i2"
	esp=$(wire_count espudp)
	echo_pkts=$(wire_count echo)
	[ "$esp" -ge 6 ] || fail "$what: expected >= 6 ESP packets on the wire, saw $esp"
	[ "$echo_pkts" -eq 0 ] || fail "$what: $echo_pkts plain ICMP echo packets crossed the wire"
	[ "$(ctl_stat 2 esp-rx-packets)" -ge 3 ] || fail "$what: peer 2 received no ESP"
	check ctl 1 terminate t
	wait_for 10 sh -c "! ip netns exec $NS1 ip -$inner route show table 220 | grep -q ." ||
		fail "peer 1 kept its routes"
	xiked_stop 1
	xiked_stop 2
}

# Peer 1 moves behind a NAT (nftables masquerade to ports 20000-20099):
#
#   peer1 192.168.1.2 -- nat 192.168.1.1 | 10.0.0.254 -- wire -- peer2 10.0.0.2
ka_count() {
	n0 nft list counter bridge ka "n_$1" | sed -n 's/.*packets \([0-9]*\).*/\1/p'
}

nat_case() {
	say "case: soft <-> soft, peer 1 behind a NAT, keepalives"
	NSN=$NS_PREFIX-nat
	must ip netns add "$NSN"
	at_exit "ip netns pids $NSN | xargs -r kill 2>/dev/null; ip netns del $NSN 2>/dev/null"
	must ip -n "$NSN" link set lo up
	must ip -n "$NS0" link add pn type veth peer name eth0 netns "$NSN"
	must ip -n "$NS0" link set pn master br0 up
	must ip -n "$NSN" addr add 10.0.0.254/24 dev eth0
	must ip -n "$NSN" link set eth0 up
	must ip -n "$NS1" link add eth1 type veth peer name in0 netns "$NSN"
	must ip -n "$NSN" addr add 192.168.1.1/24 dev in0
	must ip -n "$NSN" link set in0 up
	must ip netns exec "$NSN" sysctl -qw net.ipv4.ip_forward=1
	ip netns exec "$NSN" nft -f - <<'EOF' || fail "nft masquerade in the NAT"
table ip nat {
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "eth0" meta l4proto udp masquerade to :20000-20099
		oifname "eth0" masquerade
	}
}
EOF
	must ip -n "$NS1" addr flush dev eth0
	must ip -n "$NS1" link set eth0 down
	must ip -n "$NS1" addr add 192.168.1.2/24 dev eth1
	must ip -n "$NS1" link set eth1 up
	must ip -n "$NS1" route add default via 192.168.1.1
	must ip -n "$NS1" addr add 10.1.0.1/32 dev lo
	must ip -n "$NS2" addr add 10.2.0.1/32 dev lo
	# Keepalives from the NAT's outside address to port 4500 (9 bytes of
	# UDP), and ESP back to the NAT's port (the `espudp` counter of lib.sh
	# sees only the way to port 4500).
	n0 nft -f - <<'EOF' || fail "nft keepalive counter in the wire"
table bridge ka {
	counter n_ka { }
	counter n_back { }
	chain forward {
		type filter hook forward priority 0; policy accept;
		ip saddr 10.0.0.254 udp sport 20000-20099 udp dport 4500 udp length 9 @th,64,8 0xff counter name "n_ka"
		ip daddr 10.0.0.254 udp sport 4500 udp dport 20000-20099 @th,64,32 != 0 counter name "n_back"
	}
}
EOF
	printf '[global]\n%s\nbackend = soft\nlog-level = info\nkeepalive = 1s\n[conn t]\nlocal = 192.168.1.2\nremote = %s\npsk = soft\nlocal-ts = 10.1.0.0/24\nremote-ts = 10.2.0.0/24\n' \
		"$(xiked_socket 1)" "$IP2_4" | xiked_start 1
	printf '[global]\n%s\nbackend = soft\nlog-level = info\n[conn t]\nremote = %%any\npsk = soft\nlocal-ts = 10.2.0.0/24\nremote-ts = 10.1.0.0/24\n' \
		"$(xiked_socket 2)" | xiked_start 2
	check ctl 1 initiate t
	wait_for 20 child_up 1 || fail "no CHILD SA through the NAT"
	wait_for 10 child_up 2 || fail "no CHILD SA on peer 2"
	ctl 1 --json list-sas | grep -q '"nat-local": *true' || fail "peer 1 did not see its NAT"
	# IKE_AUTH went over port 4500, which esp-soft owns: the kernel's
	# SO_REUSEPORT program sends IKE straight to the daemon's own socket.
	for n in 1 2; do
		if xiked_log "$n" | grep 'goes through the workers'; then
			fail "peer $n: IKE on port 4500 is not steered to the daemon"
		fi
		[ "$(ctl_stat "$n" esp-ike-in)" -ge 1 ] || fail "peer $n counted no IKE on port 4500"
		[ "$(ctl_stat "$n" esp-ike-relayed)" -eq 0 ] ||
			fail "peer $n: $(ctl_stat "$n" esp-ike-relayed) IKE datagrams went through the workers"
	done
	wire_count_reset
	n0 nft reset counters table bridge ka >/dev/null
	check n1 ping -c 3 -i 0.2 -W 2 -I 10.1.0.1 10.2.0.1
	[ "$(wire_count espudp)" -ge 3 ] || fail "expected >= 3 ESP packets into the NAT's mapping"
	[ "$(ka_count back)" -ge 3 ] || fail "expected >= 3 ESP packets back to the NAT's port"
	[ "$(wire_count echo)" -eq 0 ] || fail "plain ICMP echo crossed the wire"
	n0 nft reset counters table bridge ka >/dev/null
	sleep 4
	ka=$(ka_count ka)
	say "keepalives from behind the NAT in 4 s: $ka"
	[ "$ka" -ge 2 ] || fail "expected >= 2 NAT keepalives on the wire in 4 s, saw $ka"
	xiked_stop 1
	xiked_stop 2
}

# A second daemon on the same NAT-T port would share the first one's
# SO_REUSEPORT group and take some of its packets: it must refuse to start.
second_case() {
	say "case: a second daemon on the NAT-T port refuses to start"
	xiked_conf_t 1 "backend = soft" "psk = soft" | xiked_start 1
	printf '[global]
socket = /run/xike-test-%s-1b.sock
backend = soft
' "$$" \
		>"$XK_DIR/second.conf"
	if ip netns exec "$NS1" timeout 20 "$XIKED" -c "$XK_DIR/second.conf" \
		>"$XK_DIR/second.log" 2>&1; then
		fail "a second daemon started on port 4500"
	fi
	grep -q 'UDP port 4500 (IPv4) is taken by another socket' "$XK_DIR/second.log" ||
		{ cat "$XK_DIR/second.log" >&2; fail "the second daemon did not name the port"; }
	say "refused: $(grep 'is taken' "$XK_DIR/second.log" | head -1)"
	check ctl 1 status
	xiked_stop 1
}


# Marks and XFRM interface IDs mean nothing to userspace ESP: a clear
# refusal, not a tunnel that carries nothing.
route_based_case() {
	say "case: a route-based connection is refused on userspace ESP"
	printf '[global]\nsocket = /run/xike-test-%s-1r.sock\nbackend = soft\n[conn r]\nlocal = %s\nremote = %s\npsk = soft\nmark-in = 42\nmark-out = 42\n' \
		"$$" "$IP1_4" "$IP2_4" >"$XK_DIR/route.conf"
	if ip netns exec "$NS1" timeout 20 "$XIKED" -c "$XK_DIR/route.conf" >"$XK_DIR/route.log" 2>&1; then
		fail "xiked started a route-based connection on userspace ESP"
	fi
	grep -q 'route.conf:[0-9]*: \[conn r\] mark-in: route-based tunnels need kernel ESP' "$XK_DIR/route.log" ||
		{ cat "$XK_DIR/route.log" >&2; fail "the refusal did not name file, line and key"; }
}

run_case tunnel 4
run_case transport 4
run_case transport 6
run_case tunnel 6
cross_case 4
cross_case 6
nat_case
second_case
route_based_case
say "PASS"
