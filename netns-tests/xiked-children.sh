#!/bin/sh
# Two CHILD SAs over one IKE SA ([child NAME] sections), xiked <-> xiked
# with userspace ESP (backend = soft: the host kernel has no ESP).  Peer 1
# starts child "lan" (10.1/24 <-> 10.2/24) with the IKE SA and makes "mgmt"
# (10.3/24 <-> 10.4/24) on request as conn/child; peer 2 lists them the
# other way round and finds each by its selectors.  Pings cross both as
# ESP in UDP (none in the clear), list-sas names each child, and
# terminating "mgmt" by its name alone leaves "lan" and the IKE SA up.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/xiked-lib.sh"
require_root
require_cmd nft ping
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
netns_setup
wire_count_setup

must ip -n "$NS1" addr add 10.1.0.1/32 dev lo
must ip -n "$NS1" addr add 10.3.0.1/32 dev lo
must ip -n "$NS2" addr add 10.2.0.1/32 dev lo
must ip -n "$NS2" addr add 10.4.0.1/32 dev lo

printf '[global]\n%s\nbackend = soft\n[conn t]\nlocal = %s\nremote = %s\npsk = two children over one IKE SA\n[child lan]\nconn = t\nlocal-ts = 10.1.0.0/24\nremote-ts = 10.2.0.0/24\nstart = start\n[child mgmt]\nconn = t\nlocal-ts = 10.3.0.0/24\nremote-ts = 10.4.0.0/24\nesp = aes256gcm16\n' \
	"$(xiked_socket 1)" "$IP1_4" "$IP2_4" | xiked_start 1
printf '[global]\n%s\nbackend = soft\n[conn t]\nlocal = %s\nremote = %s\npsk = two children over one IKE SA\n[child mgmt2]\nconn = t\nlocal-ts = 10.4.0.0/24\nremote-ts = 10.3.0.0/24\nesp = aes256gcm16\n[child lan2]\nconn = t\nlocal-ts = 10.2.0.0/24\nremote-ts = 10.1.0.0/24\n' \
	"$(xiked_socket 2)" "$IP2_4" "$IP1_4" | xiked_start 2

# list-sas as one line without blanks (xikectl prints it pretty).
sas_flat() {
	ctl "$1" --json list-sas | tr -d '\n\t '
}

# The names of peer N's installed CHILD SAs, sorted, each followed by a blank.
installed() {
	sas_flat "$1" | grep -o '"child":"[^"]*","state":"INSTALLED"' |
		sed 's/"child":"\([^"]*\)".*/\1/' | sort | tr '\n' ' '
}

say "case: the starting child comes up with the IKE SA, the other does not"
# lan starts with the daemon (its conn starts when one child does).
wait_for 20 child_up 1 || fail "no CHILD SA"
wait_for 10 child_up 2 || fail "no CHILD SA on peer 2"
[ "$(installed 1)" = "lan " ] || fail "peer 1 has: $(installed 1)"
[ "$(installed 2)" = "lan2 " ] || fail "peer 2 chose: $(installed 2)"

say "case: the second child on request, by conn/child"
check ctl 1 initiate t/mgmt
wait_for 10 sh -c "[ \"\$($XIKECTL -s /run/xike-test-$$-2.sock status | sed -n 's/.*, \([0-9]*\) CHILD SAs.*/\1/p')\" -eq 2 ]" ||
	fail "no second CHILD SA on peer 2"
[ "$(installed 1)" = "lan mgmt " ] || fail "peer 1 has: $(installed 1)"
[ "$(installed 2)" = "lan2 mgmt2 " ] || fail "peer 2 chose: $(installed 2)"
[ "$(ike_sas 1)" -eq 1 ] || fail "peer 1 has $(ike_sas 1) IKE SAs, not one"
ctl 1 list-sas
ctl 1 list-sas | grep -q '^  mgmt: INSTALLED, tunnel, .*aes256gcm16' || fail "list-sas: no mgmt line with its suite"

say "case: traffic through both"
wire_count_reset
check n1 ping -c 3 -i 0.2 -W 2 -I 10.1.0.1 10.2.0.1
check n1 ping -c 3 -i 0.2 -W 2 -I 10.3.0.1 10.4.0.1
esp=$(wire_count espudp)
[ "$esp" -ge 12 ] || fail "expected >= 12 ESP packets on the wire, saw $esp"
[ "$(wire_count echo)" -eq 0 ] || fail "plain ICMP echo crossed the wire"
for c in lan mgmt; do
	sas_flat 1 | grep -o "\"child\":\"$c\"[^}]*" | grep -q '"packets-out":[1-9]' ||
		fail "child $c counted no outbound packets"
done

say "case: one child terminated by its name, the other stays"
check ctl 1 terminate mgmt
wait_for 10 sh -c "[ \"\$($XIKECTL -s /run/xike-test-$$-2.sock status | sed -n 's/.*, \([0-9]*\) CHILD SAs.*/\1/p')\" -eq 1 ]" ||
	fail "peer 2 kept mgmt2"
[ "$(installed 1)" = "lan " ] || fail "peer 1 has: $(installed 1)"
check n1 ping -c 2 -i 0.2 -W 2 -I 10.1.0.1 10.2.0.1
check_fails ctl 1 initiate t/nosuch
xiked_stop 1
xiked_stop 2
say "PASS"
