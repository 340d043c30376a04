#!/bin/sh
# Userspace and kernel ESP are wire-compatible (inside UML): one xiked runs
# backend = soft, the other backend = xfrm; tunnel and transport mode,
# IPv4 and IPv6, traffic through UDP-encapsulated ESP both ways.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../xiked-lib.sh"
require_root
[ -c /dev/net/tun ] || modprobe tun 2>/dev/null
netns_setup
wire_count_setup

run_case() {
	mode=$1 fam=$2
	if [ "$fam" = 6 ]; then a1=$IP1_6 a2=$IP2_6; else a1=$IP1_4 a2=$IP2_4; fi
	say "case: soft <-> xfrm, $mode, IPv$fam"
	printf '[global]\n%s\nbackend = soft\n[conn t]\nlocal = %s\nremote = %s\npsk = mixed\nmode = %s\n' \
		"$(xiked_socket 1)" "$a1" "$a2" "$mode" | xiked_start 1
	printf '[global]\n%s\nbackend = xfrm\n[conn t]\nlocal = %s\nremote = %s\npsk = mixed\nmode = %s\n' \
		"$(xiked_socket 2)" "$a2" "$a1" "$mode" | xiked_start 2
	ctl 1 status | grep -q 'backend soft' || fail "peer 1 is not on userspace ESP"
	ctl 2 status | grep -q 'backend xfrm' || fail "peer 2 is not on kernel ESP"
	check ctl 1 initiate t
	wait_for 20 child_up 1 || fail "no CHILD SA"
	wait_for 10 child_up 2 || fail "no CHILD SA on peer 2"
	n2 ip xfrm state | grep -q 'encap type espinudp' || fail "the kernel side does not encapsulate"
	wire_count_reset
	check n1 ping -c 3 -i 0.2 -W 2 "$a2"
	check n2 ping -c 3 -i 0.2 -W 2 "$a1"
	[ "$(wire_count espudp)" -ge 12 ] || fail "expected >= 12 ESP-in-UDP packets, saw $(wire_count espudp)"
	[ "$(wire_count echo)" -eq 0 ] || fail "plain ICMP echo crossed the wire"
	check ctl 2 terminate t
	xiked_stop 1
	xiked_stop 2
}

run_case tunnel 4
run_case transport 4
run_case tunnel 6
say "PASS"
