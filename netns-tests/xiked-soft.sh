#!/bin/sh
# xiked <-> xiked with userspace ESP (backend = soft) on the host kernel,
# which has no ESP of its own: tunnel and transport mode, IPv4 and IPv6;
# traffic passes as ESP in UDP (counted on the wire, no plain echo), the
# CHILD SA counters see it, terminate removes the routes again.
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
	esp=$(wire_count espudp)
	echo_pkts=$(wire_count echo)
	[ "$esp" -ge 6 ] || fail "expected >= 6 ESP packets on the wire, saw $esp"
	[ "$echo_pkts" -eq 0 ] || fail "$echo_pkts plain ICMP echo packets crossed the wire"
	ctl 1 --json list-sas | grep -q '"packets-out": *[1-9]' || fail "no outbound packets counted"
	ctl 1 list-sas
	check ctl 2 terminate t
	wait_for 10 sh -c "! ip netns exec $NS1 ip route show table 220 | grep -q ." ||
		fail "peer 1 kept its routes"
	xiked_stop 1
	xiked_stop 2
}

run_case tunnel 4
run_case transport 4
run_case tunnel 6
say "PASS"
