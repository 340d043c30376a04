#!/bin/sh
# 100 tunnels between two xiked over a wire that drops 10% of IKE datagrams
# at random (nftables numgen in the wire's bridge): every tunnel comes up
# through retransmissions; prints the setup time p50 / p99.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../xiked-lib.sh"
require_root
require_cmd nft
netns_setup
N=${XIKE_LOSS_TUNNELS:-100}

n0 nft -f - <<'R' || fail "loss rule in the wire"
table bridge loss {
	chain forward {
		type filter hook forward priority -10; policy accept;
		udp dport { 500, 4500 } numgen random mod 10 0 counter drop
		udp sport { 500, 4500 } numgen random mod 10 0 counter drop
	}
}
R

conf() {
	n=$1
	if [ "$n" = 1 ]; then l=$IP1_4 r=$IP2_4; else l=$IP2_4 r=$IP1_4; fi
	printf '[global]\n%s\ninstall-routes = no\n' "$(xiked_socket "$n")"
	i=1
	while [ $i -le "$N" ]; do
		a=$(( i / 250 )) b=$(( i % 250 ))
		if [ "$n" = 1 ]; then lt="172.16.$a.$b" rt="172.17.$a.$b"; else lt="172.17.$a.$b" rt="172.16.$a.$b"; fi
		printf '[conn t%d]\nlocal = %s\nremote = %s\npsk = loss %d\nlocal-ts = %s\nremote-ts = %s\n' \
			"$i" "$l" "$r" "$i" "$lt" "$rt"
		[ "$n" = 1 ] && printf 'start = start\n'
		i=$(( i + 1 ))
	done
}

child_count() {
	ctl "$1" status | sed -n 's/.*, \([0-9]*\) CHILD SAs.*/\1/p'
}

all_up() {
	[ "$(child_count 1)" -eq "$N" ] && [ "$(child_count 2)" -eq "$N" ]
}

conf 2 | xiked_start 2
t0=$(date +%s)
conf 1 | xiked_start 1
wait_for 240 all_up || { ctl 1 status; ctl 1 stats; fail "only $(child_count 1) of $N tunnels up"; }
t=$(( $(date +%s) - t0 ))
drops=$(n0 nft list table bridge loss | sed -n 's/.*packets \([0-9]*\).*/\1/p' | paste -sd+ | bc)
times=$(ctl 1 --json list-sas | sed -n 's/.*"setup-ms": *\([0-9]*\).*/\1/p' | sort -n)
count=$(echo "$times" | wc -l)
p50=$(echo "$times" | sed -n "$(( (count + 1) / 2 ))p")
p99=$(echo "$times" | sed -n "$(( (count * 99 + 99) / 100 ))p")
say "$N of $N tunnels up in ${t}s with $drops IKE datagrams dropped; setup p50 ${p50} ms, p99 ${p99} ms"
say "retransmissions: $(ctl 1 stats | sed -n 's/^retransmits *//p') (initiator), cookies: $(ctl 2 stats | sed -n 's/^cookies-sent *//p')"
[ "$drops" -gt 0 ] || fail "the wire dropped nothing: the loss rule did not work"
xiked_stop 1
xiked_stop 2
say "PASS"
