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

# One draw per datagram: a datagram from port 500 to port 500 matches both
# port rules, so they jump to one chain that decides and accepts.
n0 nft -f - <<'R' || fail "loss rule in the wire"
table bridge loss {
	chain ike {
		numgen random mod 10 0 counter drop
		counter accept
	}
	chain forward {
		type filter hook forward priority -10; policy accept;
		udp dport { 500, 4500 } jump ike
		udp sport { 500, 4500 } jump ike
	}
}
R

xiked_conf_many 2 "$N" loss "install-routes = no" | xiked_start 2
t0=$(date +%s)
xiked_conf_many 1 "$N" loss "install-routes = no" | xiked_start 1
# An exchange whose six tries are all lost (about one run in a hundred)
# is given up after 165 s and started again: leave room for that.
wait_for 420 tunnels_up "$N" || { ctl 1 status; ctl 1 stats; fail "only $(child_count 1) of $N tunnels up"; }
t=$(( $(date +%s) - t0 ))
counters=$(n0 nft list chain bridge loss ike | sed -n 's/.*packets \([0-9]*\).*/\1/p')
drops=$(echo "$counters" | sed -n 1p)
passed=$(echo "$counters" | sed -n 2p)
seen=$(( drops + passed ))
times=$(ctl 1 --json list-sas | sed -n 's/.*"setup-ms": *\([0-9]*\).*/\1/p' | sort -n)
count=$(echo "$times" | wc -l)
p50=$(echo "$times" | sed -n "$(( (count + 1) / 2 ))p")
p99=$(echo "$times" | sed -n "$(( (count * 99 + 99) / 100 ))p")
say "$N of $N tunnels up in ${t}s with $drops of $seen IKE datagrams dropped; setup p50 ${p50} ms, p99 ${p99} ms"
say "retransmissions: $(ctl 1 stats | sed -n 's/^retransmits *//p') (initiator), cookies: $(ctl 2 stats | sed -n 's/^cookies-sent *//p')"
# 10% of several hundred datagrams: well inside 4%..20% unless the rule is wrong.
[ $(( drops * 100 )) -ge $(( seen * 4 )) ] && [ $(( drops * 100 )) -le $(( seen * 20 )) ] ||
	fail "the wire dropped $drops of $seen IKE datagrams, not about 10%: the loss rule is wrong"
xiked_stop 1
xiked_stop 2
say "PASS"
