#!/bin/sh
# A hostile peer against a running xiked (peer 2, responder, backend =
# soft): tests/hostile/xk-hostile sends hand-built malformed and
# out-of-state IKE datagrams from peer 1's second address (10.0.0.3) to
# ports 500 and 4500 (with the non-ESP marker) and checks each answer (the
# notify RFC 7296 asks for, or silence), the counter of `xikectl stats`
# that must move, and that the daemon lives; its case table names the RFC
# section of every expectation.  Then: no IKE SA was established and no
# CHILD SA installed; a legitimate initiator (xiked, peer 1) still brings a
# tunnel up and a ping passes; a late copy of that initiator's
# IKE_SA_INIT and SK payloads with the real SPIs but a wrong ICV or an old
# Message ID change nothing; last, no sanitizer report in either daemon's
# log, also after a clean stop.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/xiked-lib.sh"
require_root
require_cmd ping
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
XK_HOSTILE=$XIKE_BUILD/tests/hostile/xk-hostile
[ -x "$XK_HOSTILE" ] || fail "$XK_HOSTILE is not built"
HOSTILE_4=10.0.0.3
netns_setup
must ip -n "$NS1" addr add "$HOSTILE_4/24" dev eth0

# The responder takes any address (the hostile one included) and both an
# X25519 and a MODP proposal, so that degenerate values of each reach the
# key exchange.  The case table counts on these limits: COOKIEs from the
# fourth half-open SA of an address on, silence from its 26th, and nothing
# kept of an IKE_SA_INIT longer than 8192 octets.
IKE="aes128gcm16-prfsha256-x25519, aes256-sha256-modp2048"
LIMITS="cookie-threshold = 30
cookie-threshold-ip = 3
half-open-max-ip = 25
ike-sa-init-max = 8192"
printf '[global]\n%s\nbackend = soft\n%s\n[conn t]\nlocal = %s\nremote = %%any\npsk = a hostile-peer test key\nike = %s\n' \
	"$(xiked_socket 2)" "$LIMITS" "$IP2_4" "$IKE" | xiked_start 2
xiked_conf_t 1 "backend = soft" "psk = a hostile-peer test key" "ike = $IKE" | xiked_start 1
pid2=$(cat "$XK_DIR/peer2.pid")
ctl2="$XIKECTL -s /run/xike-test-$$-2.sock"

established() {
	ctl 2 --json list-sas | grep -c '"state": *"ESTABLISHED"'
}

say "hostile datagrams from $HOSTILE_4"
# A failed case does not stop the test: what follows still shows whether
# the daemon survived it.
bad=
n1 "$XK_HOSTILE" -c "$ctl2" -p "$pid2" -s "$HOSTILE_4" run "$IP2_4" || bad="$bad run"
kill -0 "$pid2" 2>/dev/null || fail "xiked 2 died"
check ctl 2 status
# Half-open SAs of the valid requests among the cases may be listed; none
# may be established.
[ "$(established)" -eq 0 ] || fail "an IKE SA was established by hostile datagrams"
[ "$(ctl_stat 2 child-sas)" -eq 0 ] || fail "a CHILD SA was installed by hostile datagrams"
[ "$(ctl_stat 2 handshakes-ok)" -eq 0 ] || fail "handshakes-ok moved"
say "after the hostile cases: $(ctl 2 stats | grep -E '^(rx-|cookies|invalid-ke|half-open|init-too|handshakes)' |
	tr -s ' \n' ' ')"
sanitizer_clean 1 2

say "a legitimate initiator afterwards"
# Its IKE_SA_INIT request, caught in peer 2's namespace, for the late copy.
n2 "$XK_HOSTILE" capture "$XK_DIR/init.bin" "$IP1_4" &
cap=$!
at_exit "kill $cap 2>/dev/null"
wait_for 20 test -f "$XK_DIR/init.bin.ready" || fail "the capture did not start"
check ctl 1 initiate t
wait_for 30 child_up 1 || fail "no CHILD SA after the hostile cases"
wait_for 10 child_up 2 || fail "no CHILD SA on peer 2"
check n1 ping -c 2 -i 0.2 -W 5 "$IP2_4"
wait "$cap" || fail "the legitimate IKE_SA_INIT was not captured"
# The SA of that request (half-open ones of the hostile cases may be listed too).
spi_i=$(od -An -tx1 -N8 "$XK_DIR/init.bin" | tr -d ' \n')
spi_r=$(ctl 2 --json list-sas | grep -A1 "\"spi-i\": *\"$spi_i\"" |
	sed -n 's/.*"spi-r": *"\([0-9a-f]*\)".*/\1/p')
[ -n "$spi_r" ] || fail "no IKE SA with SPIi $spi_i on peer 2"

say "out-of-state datagrams to the established IKE SA $spi_i/$spi_r"
n1 "$XK_HOSTILE" -c "$ctl2" -p "$pid2" -s "$IP1_4" late "$IP2_4" "$XK_DIR/init.bin" "$spi_i" "$spi_r" ||
	bad="$bad late"
kill -0 "$pid2" 2>/dev/null || fail "xiked 2 died"
[ "$(established)" -eq 1 ] || fail "$(established) IKE SAs established, not 1"
ctl 2 --json list-sas | grep -A1 "\"spi-i\": *\"$spi_i\"" | grep -q "\"spi-r\": *\"$spi_r\"" ||
	fail "the established IKE SA is gone"
child_up 2 || fail "the CHILD SA is gone"
check n1 ping -c 2 -i 0.2 -W 5 "$IP2_4"
sanitizer_clean 1 2
xiked_stop 1
xiked_stop 2
# Leaks are reported at exit.
sanitizer_clean 1 2
[ -z "$bad" ] || fail "failed cases in:$bad (above)"
say "PASS"
