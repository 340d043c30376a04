#!/bin/sh
# IKE SA reauthentication over kernel ESP (inside UML): with reauth-time
# 10 s, a counted ping flow of 40 s loses nothing while the IKE SA is
# replaced four times over (new IKE_SA_INIT + IKE_AUTH, then the old SA
# deleted); the policies never leave the kernel; at the end each end has
# one IKE SA and one pair of states, and the log shows the new IKE SPIs.
# Then xikectl rekey CONN reauth does one at once, seen by monitor.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../xiked-lib.sh"
require_root
netns_setup

conf() {
	_peer=$1
	shift
	xiked_conf_t "$_peer" "log-level = ${XIKE_REAUTH_LOG:-info}" "psk = reauthentication" "$@"
}

# IPsec policies (the daemon's bypass policies for IKE have no template).
policies() {
	ip netns exec "$(_xiked_ns "$1")" ip xfrm policy | grep -c 'tmpl '
}

say "reauth-time = 10s on the initiator, 40 s under a ping flow"
conf 1 "reauth-time = 10s" | xiked_start 1
conf 2 | xiked_start 2
check ctl 1 initiate t
wait_for 20 child_up 1 || fail "no CHILD SA"
wait_for 10 child_up 2 || fail "no CHILD SA on peer 2"
first=$(sas_field 1 spi-i | head -1)
pols1=$(policies 1)
pols2=$(policies 2)
[ "$pols1" -ge 2 ] && [ "$pols2" -ge 2 ] || fail "$pols1 / $pols2 IPsec policies"
# The policies, sampled every 50 ms on both ends while the flow runs.
(
	while :; do
		echo "$(policies 1) $(policies 2)"
		sleep 0.05
	done
) >"$XK_DIR/policies" 2>/dev/null &
sampler=$!
at_exit "kill $sampler 2>/dev/null"
out=$(n1 ping -q -i 0.05 -c 800 -W 1 "$IP2_4" 2>&1)
kill "$sampler"
echo "$out" | tail -2
echo "$out" | grep -q ' 800 received' || fail "packets lost during reauthentication"
# One snapshot of the log: reauthentications go on while it is read.
xiked_log 1 | grep 'IKE SA reauthenticated conn=t' >"$XK_DIR/reauths"
n=$(wc -l <"$XK_DIR/reauths")
[ "$n" -ge 3 ] || fail "only $n reauthentications in 40 s"
bad=$(awk -v a="$pols1" -v b="$pols2" '$1 != a || $2 != b' "$XK_DIR/policies" | head -1)
[ -z "$bad" ] || fail "policies changed during the flow: $bad (not $pols1 $pols2)"
say "$n reauthentications, 800 of 800 pings answered, policies ($pols1 / $pols2) always there ($(wc -l <"$XK_DIR/policies") samples)"
# Each one: a new IKE SA (new SPIs) replacing the one before, which is deleted.
sed -n 's/.* spi=\([0-9a-f_]*\) .*replaces=\([0-9a-f_]*\).*/\1 \2/p' "$XK_DIR/reauths" >"$XK_DIR/chain"
[ "$(wc -l <"$XK_DIR/chain")" -eq "$n" ] || fail "reauthentication lines without replaces="
awk '$1 == $2 { exit 1 }' "$XK_DIR/chain" || fail "an IKE SA replaced by itself"
[ "$(cut -d' ' -f1 "$XK_DIR/chain" | sort -u | wc -l)" -eq "$n" ] || fail "IKE SPIs reused"
[ "$(xiked_log 1 | grep -c 'reauthentication done conn=t: deleting IKE SA')" -ge "$n" ] ||
	wait_for 5 sh -c "[ \$(grep -c 'reauthentication done' '$XK_DIR/peer1.log') -ge $n ]" ||
	fail "an old IKE SA was not deleted"
head -1 "$XK_DIR/chain" | grep -q "_" || fail "no SPIs in the log"
grep -q " ${first}_" "$XK_DIR/chain" || fail "the first IKE SA $first was never replaced"
xiked_log 1 | grep -q 'reauthentication failed' && fail "a reauthentication failed"
# Between reauthentications exactly one pair and one IKE SA on each end,
# the same one, not the first. The next reauthentication may be under way
# when this is looked at, hence the wait.
settled() {
	states_are 1 2 && states_are 2 2 && [ "$(ike_sas 1)" -eq 1 ] && [ "$(ike_sas 2)" -eq 1 ] &&
		now=$(sas_field 1 spi-i | head -1) && [ "$now" != "$first" ] &&
		[ "$(sas_field 2 spi-i | head -1)" = "$now" ]
}
wait_for 15 settled ||
	fail "not settled: states $(states 1) / $(states 2), IKE SAs $(ike_sas 1) / $(ike_sas 2)," \
		"SPIs $(sas_field 1 spi-i | tr '\n' ' ')/ $(sas_field 2 spi-i | tr '\n' ' ')(first $first)"
xiked_stop 1
xiked_stop 2

say "xikectl rekey t reauth: one at once, shown by monitor"
conf 1 | xiked_start 1
conf 2 | xiked_start 2
check ctl 1 initiate t
wait_for 20 child_up 1 || fail "no CHILD SA"
wait_for 10 child_up 2 || fail "no CHILD SA on peer 2"
first=$(sas_field 1 spi-i | head -1)
ctl 1 monitor >"$XK_DIR/monitor" 2>&1 &
mon=$!
at_exit "kill $mon 2>/dev/null"
sleep 0.5
check ctl 1 rekey t reauth
wait_for 10 grep -q '^ike-reauthenticated conn=t' "$XK_DIR/monitor" ||
	{ cat "$XK_DIR/monitor"; fail "no ike-reauthenticated event"; }
grep -q "reason=replaces=${first}_" "$XK_DIR/monitor" || fail "the event names no old SA"
wait_for 10 states_are 1 2 || fail "peer 1 has $(states 1) states"
[ "$(ike_sas 1)" -eq 1 ] || fail "peer 1 has $(ike_sas 1) IKE SAs"
[ "$(sas_field 1 spi-i | head -1)" != "$first" ] || fail "the IKE SA was not replaced"
grep -q '^ike-down' "$XK_DIR/monitor" && fail "ike-down during the reauthentication"
[ "$(ctl_stat 1 reauths)" = 1 ] && [ "$(ctl_stat 1 reauths-failed)" = 0 ] ||
	fail "stats count $(ctl_stat 1 reauths) reauthentications, $(ctl_stat 1 reauths-failed) failed; expected 1, 0"
check n1 ping -c 2 -W 2 "$IP2_4"
kill "$mon"
xiked_stop 1
xiked_stop 2
say "PASS"
