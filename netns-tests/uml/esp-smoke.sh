#!/bin/sh
# esp-smoke: the kernel's own ESP works here, installed by hand with
# `ip xfrm`, before any daemon is involved.  Meant to run inside User-Mode
# Linux (netns-tests/uml-run netns-tests/uml/esp-smoke.sh); runs on any kernel
# with ESP, and skips on one without.
#
# What it proves, for each case below:
#   - ping between the peers passes with the SA pair and policies installed;
#   - ESP really carried it: the packet counters of all four SAs (out and in,
#     both peers) grew by at least the pings sent, and on the wire the bridge
#     saw ESP and no plain ICMP echo;
# and finally that a wrong key on the receiving SA breaks the path: ping
# fails and that SA counts integrity failures.
#
# Cases: AES-GCM-16 (rfc4106, 128-bit key) in transport mode over IPv4 and
# IPv6; ChaCha20-Poly1305 (rfc7539esp) in tunnel mode, IPv4 in IPv4 and IPv6
# in IPv6; AES-CBC-128 with HMAC-SHA-256-128 in transport mode over IPv4.
# The keys are fixed test values, different per direction.
set -eu
. "$(dirname "$0")/../lib.sh"

require_root
require_cmd ip ping nft awk

PINGS=3

# Inner addresses of the tunnel-mode cases, on each peer's lo.
IN1_4=192.168.1.1
IN2_4=192.168.2.1
IN1_6=fd01:1::1
IN2_6=fd01:2::1

GCM_12="aead rfc4106(gcm(aes)) 0x0102030405060708090a0b0c0d0e0f10a1a2a3a4 128"
GCM_21="aead rfc4106(gcm(aes)) 0x1112131415161718191a1b1c1d1e1f20b1b2b3b4 128"
GCM_BAD="aead rfc4106(gcm(aes)) 0xffffffffffffffffffffffffffffffffa1a2a3a4 128"
CHACHA_12="aead rfc7539esp(chacha20,poly1305) 0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20c1c2c3c4 128"
CHACHA_21="aead rfc7539esp(chacha20,poly1305) 0x2122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40d1d2d3d4 128"
CBC_12="enc cbc(aes) 0x0102030405060708090a0b0c0d0e0f10 auth-trunc hmac(sha256) 0x2122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40 128"
CBC_21="enc cbc(aes) 0x1112131415161718191a1b1c1d1e1f20 auth-trunc hmac(sha256) 0x3132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f50 128"

# SPIs: 0x1NNN carries peer 1 -> peer 2, 0x2NNN the way back.
SPI_12=0x1000
SPI_21=0x2000

netns_setup
wire_count_setup

must n1 ip addr add "$IN1_4/32" dev lo
must n2 ip addr add "$IN2_4/32" dev lo
must n1 ip addr add "$IN1_6/128" dev lo
must n2 ip addr add "$IN2_6/128" dev lo
must n1 ip route add "$IN2_4/32" via "$IP2_4"
must n2 ip route add "$IN1_4/32" via "$IP1_4"
must n1 ip route add "$IN2_6/128" via "$IP2_6"
must n2 ip route add "$IN1_6/128" via "$IP1_6"

# The counters themselves must work, or "no plain echo on the wire" below
# would prove nothing.
say "plain traffic, no IPsec yet"
check n1 ping -c "$PINGS" -i 0.2 -W 2 "$IP2_4"
check n1 ping -c "$PINGS" -i 0.2 -W 2 "$IP2_6"
echo_seen=$(wire_count echo)
[ "$echo_seen" -ge $((4 * PINGS)) ] ||
	fail "the wire counted $echo_seen plain echo packets, expected $((4 * PINGS))"

# Whether this kernel has ESP and the AEAD at all.  Outside UML a kernel
# without them is a skip; inside UML it is a failure of the harness.
# shellcheck disable=SC2086
if ! err=$(n1 ip xfrm state add src "$IP1_4" dst "$IP2_4" proto esp spi 0x0fff \
	mode transport $GCM_12 2>&1); then
	case $err in
	*"not found"*|*"not supported"*)
		[ -n "${IN_UML:-}" ] || skip "this kernel has no ESP or AES-GCM ($err); run it through netns-tests/uml-run"
		;;
	esac
	fail "cannot add an ESP state: $err"
fi
must n1 ip xfrm state flush

# sa_packets NS SRC DST SPI: the packets counted by that SA so far.
sa_packets() {
	ip -n "$1" -s xfrm state get src "$2" dst "$3" proto esp spi "$4" |
		awk '/lifetime current:/ { getline; sub(/.*, /, ""); sub(/\(packets\).*/, ""); print; exit }'
}

# sa_failed NS SRC DST SPI: the packets that SA rejected as not authentic.
sa_failed() {
	ip -n "$1" -s xfrm state get src "$2" dst "$3" proto esp spi "$4" |
		awk '/stats:/ { getline; for (i = 1; i < NF; i++) if ($i == "failed") { print $(i + 1); exit } }'
}

# install MODE OUTER1 OUTER2 SEL1 SEL2 ALG12 ALG21 [ALG12_AT_PEER2]:
# the SA pair on both peers and the out/in policies that send the traffic
# SEL1 <-> SEL2 through it.  ALG12_AT_PEER2 lets peer 2 hold a different key
# for the 1 -> 2 SA than peer 1 does.
install() {
	_mode=$1 _o1=$2 _o2=$3 _s1=$4 _s2=$5 _a12=$6 _a21=$7 _a12b=${8:-$6}
	for _ns in "$NS1" "$NS2"; do
		must ip -n "$_ns" xfrm state flush
		must ip -n "$_ns" xfrm policy flush
	done
	# shellcheck disable=SC2086
	must ip -n "$NS1" xfrm state add src "$_o1" dst "$_o2" proto esp spi "$SPI_12" \
		reqid 1 mode "$_mode" replay-window 32 $_a12
	# shellcheck disable=SC2086
	must ip -n "$NS1" xfrm state add src "$_o2" dst "$_o1" proto esp spi "$SPI_21" \
		reqid 2 mode "$_mode" replay-window 32 $_a21
	# shellcheck disable=SC2086
	must ip -n "$NS2" xfrm state add src "$_o1" dst "$_o2" proto esp spi "$SPI_12" \
		reqid 1 mode "$_mode" replay-window 32 $_a12b
	# shellcheck disable=SC2086
	must ip -n "$NS2" xfrm state add src "$_o2" dst "$_o1" proto esp spi "$SPI_21" \
		reqid 2 mode "$_mode" replay-window 32 $_a21
	must ip -n "$NS1" xfrm policy add src "$_s1" dst "$_s2" dir out \
		tmpl src "$_o1" dst "$_o2" proto esp reqid 1 mode "$_mode"
	must ip -n "$NS1" xfrm policy add src "$_s2" dst "$_s1" dir in \
		tmpl src "$_o2" dst "$_o1" proto esp reqid 2 mode "$_mode"
	must ip -n "$NS2" xfrm policy add src "$_s2" dst "$_s1" dir out \
		tmpl src "$_o2" dst "$_o1" proto esp reqid 2 mode "$_mode"
	must ip -n "$NS2" xfrm policy add src "$_s1" dst "$_s2" dir in \
		tmpl src "$_o1" dst "$_o2" proto esp reqid 1 mode "$_mode"
}

# expect_at_least WHAT GOT WANT
expect_at_least() {
	case $2 in
	''|*[!0-9]*) fail "$1: no count read (got '$2')" ;;
	esac
	[ "$2" -ge "$3" ] || fail "$1: $2, expected at least $3"
}

# esp_case NAME MODE OUTER1 OUTER2 SEL1 SEL2 FROM TO ALG12 ALG21:
# install, ping FROM -> TO from peer 1, and prove that ESP carried it.
esp_case() {
	_name=$1 _mode=$2 _o1=$3 _o2=$4 _s1=$5 _s2=$6 _from=$7 _to=$8
	say "$_name"
	install "$_mode" "$_o1" "$_o2" "$_s1" "$_s2" "$9" "${10}"
	wire_count_reset
	check n1 ping -c "$PINGS" -i 0.2 -W 2 -I "$_from" "$_to"
	expect_at_least "$_name: peer 1 out SA packets" "$(sa_packets "$NS1" "$_o1" "$_o2" "$SPI_12")" "$PINGS"
	expect_at_least "$_name: peer 2 in SA packets" "$(sa_packets "$NS2" "$_o1" "$_o2" "$SPI_12")" "$PINGS"
	expect_at_least "$_name: peer 2 out SA packets" "$(sa_packets "$NS2" "$_o2" "$_o1" "$SPI_21")" "$PINGS"
	expect_at_least "$_name: peer 1 in SA packets" "$(sa_packets "$NS1" "$_o2" "$_o1" "$SPI_21")" "$PINGS"
	expect_at_least "$_name: ESP packets on the wire" "$(wire_count esp)" $((2 * PINGS))
	_plain=$(wire_count echo)
	[ "$_plain" -eq 0 ] || fail "$_name: $_plain plain echo packets on the wire"
	say "ok: $_name: every SA counted >= $PINGS packets, the wire saw $(wire_count esp) ESP and 0 plain"
}

esp_case "AES-GCM-16/128 transport IPv4" transport \
	"$IP1_4" "$IP2_4" "$IP1_4/32" "$IP2_4/32" "$IP1_4" "$IP2_4" "$GCM_12" "$GCM_21"
esp_case "AES-GCM-16/128 transport IPv6" transport \
	"$IP1_6" "$IP2_6" "$IP1_6/128" "$IP2_6/128" "$IP1_6" "$IP2_6" "$GCM_12" "$GCM_21"
esp_case "ChaCha20-Poly1305 tunnel IPv4" tunnel \
	"$IP1_4" "$IP2_4" "$IN1_4/32" "$IN2_4/32" "$IN1_4" "$IN2_4" "$CHACHA_12" "$CHACHA_21"
esp_case "ChaCha20-Poly1305 tunnel IPv6" tunnel \
	"$IP1_6" "$IP2_6" "$IN1_6/128" "$IN2_6/128" "$IN1_6" "$IN2_6" "$CHACHA_12" "$CHACHA_21"
esp_case "AES-CBC-128 + HMAC-SHA-256-128 transport IPv4" transport \
	"$IP1_4" "$IP2_4" "$IP1_4/32" "$IP2_4/32" "$IP1_4" "$IP2_4" "$CBC_12" "$CBC_21"

# A wrong key: peer 2 cannot authenticate what peer 1 sends.
say "wrong key on peer 2's inbound SA"
install transport "$IP1_4" "$IP2_4" "$IP1_4/32" "$IP2_4/32" "$GCM_12" "$GCM_21" "$GCM_BAD"
check_fails n1 ping -c 2 -i 0.2 -W 1 "$IP2_4"
expect_at_least "wrong key: peer 1 out SA packets" "$(sa_packets "$NS1" "$IP1_4" "$IP2_4" "$SPI_12")" 2
expect_at_least "wrong key: integrity failures at peer 2" "$(sa_failed "$NS2" "$IP1_4" "$IP2_4" "$SPI_12")" 2
_in=$(sa_packets "$NS2" "$IP1_4" "$IP2_4" "$SPI_12")
[ "$_in" -eq 0 ] || fail "wrong key: peer 2 accepted $_in packets"
say "ok: wrong key: ping failed, peer 2 counted the integrity failures, accepted none"

say "PASS"
