#!/bin/sh
# xfrm-host: the XFRM backend (src/xfrm, driven by tests/xk-xfrm) against the
# host's own kernel, in fresh network namespaces.  Needs root and Netlink
# XFRM, not ESP: everything here is control plane.  Where the kernel has no
# ESP (the usual case on the development machine) it proves that the user
# gets a plain sentence saying so; where it has ESP, that an SA goes in.
#
# What it proves:
#   - policies: out/in/fwd, tunnel and transport, IPv4, IPv6 and IPv4 inside
#     an IPv6 tunnel, each listed by `ip xfrm policy get` exactly as meant
#     (selectors, direction, priority, template addresses, reqid, mode) and
#     nothing else; a duplicate is refused; del-policy removes each one and a
#     second delete fails;
#   - alloc-spi: SPIs in 0xc0000000-0xcfffffff, distinct, each a larval SA
#     (no algorithm) with the first owned reqid, IPv4 and IPv6; del-sa removes
#     them;
#   - ACQUIRE: a packet that hits an out policy without an SA comes out of
#     `xk-xfrm monitor` as one acquire line with our reqid, the packet's own
#     addresses and the policy's (wider) selector, IPv4 and IPv6;
#   - flush: removes exactly what carries a reqid in 0x7c000000-0x7cffffff
#     (the edges included), says how many, and leaves foreign policies and
#     SAs (reqid 1, 0x7bffffff, 0x7d000000) alone; a second flush finds 0;
#   - without ESP: `probe` exits non-zero and says "kernel lacks ESP (module
#     esp4/esp6 missing?)", and add-sa fails with that sentence, not an errno,
#     leaving nothing behind; with ESP, the probe says yes to everything and
#     add-sa installs the SA.
set -eu
. "$(dirname "$0")/lib.sh"

require_root
require_cmd ip ping
: "${XIKE_BUILD:?XIKE_BUILD must name the build directory}"
XK=$XIKE_BUILD/tests/xk-xfrm
[ -x "$XK" ] || fail "$XK is missing (ninja -C $XIKE_BUILD)"

TMP=$(mktemp -d /tmp/xfrm-host.XXXXXX)
at_exit "rm -rf '$TMP'"

# xk CMD...: xk-xfrm in peer 1's namespace.
xk() {
	n1 "$XK" "$@"
}

# flat CMD...: the command's output on one line, blanks squeezed, no
# trailing blank.
flat() {
	"$@" 2>&1 | tr -s ' \t\n' ' ' | sed 's/ $//'
}

# pol_is SRC DST DIR EXPECTED: `ip xfrm policy get` in peer 1 for that
# policy reads exactly EXPECTED (flattened).
pol_is() {
	_got=$(flat ip -n "$NS1" xfrm policy get src "$1" dst "$2" dir "$3")
	[ "$_got" = "$4" ] || fail "policy $1 -> $2 $3:
   got: $_got
  want: $4"
}

# count_pol / count_sa: entries in peer 1's SPD / SAD.
count_pol() {
	ip -n "$NS1" xfrm policy | grep -c '^src' || true
}
count_sa() {
	ip -n "$NS1" xfrm state | grep -c '^src' || true
}

expect_eq() {
	[ "$2" = "$3" ] || fail "$1: got '$2', expected '$3'"
}

netns_setup

# Our reqids (in the owned range) and their decimal form, as ip prints them.
R_T4O=0x7c000101 R_T4I=0x7c000102
R_P4O=0x7c000103 R_P4I=0x7c000104
R_T6O=0x7c000105 R_T6I=0x7c000106
R_P6O=0x7c000107 R_P6I=0x7c000108
R_X46=0x7c000109
d() { echo $(($1)); }

say "policies: add"
# Tunnel, IPv4: out, in and fwd with the tunnel endpoints as template.
check xk add-policy 192.168.1.0/24 192.168.2.0/24 out $R_T4O tunnel 10.0.0.1 10.0.0.2
check xk add-policy 192.168.2.0/24 192.168.1.0/24 in $R_T4I tunnel 10.0.0.2 10.0.0.1
check xk add-policy 192.168.2.0/24 192.168.1.0/24 fwd $R_T4I tunnel 10.0.0.2 10.0.0.1
# Transport, IPv4.
check xk add-policy 10.0.0.1/32 10.0.0.2/32 out $R_P4O transport
check xk add-policy 10.0.0.2/32 10.0.0.1/32 in $R_P4I transport
# Tunnel, IPv6.
check xk add-policy fd01:1::/64 fd01:2::/64 out $R_T6O tunnel fd00::1 fd00::2
check xk add-policy fd01:2::/64 fd01:1::/64 in $R_T6I tunnel fd00::2 fd00::1
check xk add-policy fd01:2::/64 fd01:1::/64 fwd $R_T6I tunnel fd00::2 fd00::1
# Transport, IPv6 (host addresses without a prefix), one with its own priority.
check xk add-policy fd00::1 fd00::2 out $R_P6O transport prio 2000
check xk add-policy fd00::2 fd00::1 in $R_P6I transport
# IPv4 traffic through an IPv6 tunnel.
check xk add-policy 192.168.3.0/24 192.168.4.0/24 out $R_X46 tunnel fd00::1 fd00::2

say "policies: as listed by ip xfrm policy"
expect_eq "policies installed" "$(count_pol)" 11
pol_is 192.168.1.0/24 192.168.2.0/24 out \
	"src 192.168.1.0/24 dst 192.168.2.0/24 dir out priority 1000 ptype main tmpl src 10.0.0.1 dst 10.0.0.2 proto esp reqid $(d $R_T4O) mode tunnel"
pol_is 192.168.2.0/24 192.168.1.0/24 in \
	"src 192.168.2.0/24 dst 192.168.1.0/24 dir in priority 1000 ptype main tmpl src 10.0.0.2 dst 10.0.0.1 proto esp reqid $(d $R_T4I) mode tunnel"
pol_is 192.168.2.0/24 192.168.1.0/24 fwd \
	"src 192.168.2.0/24 dst 192.168.1.0/24 dir fwd priority 1000 ptype main tmpl src 10.0.0.2 dst 10.0.0.1 proto esp reqid $(d $R_T4I) mode tunnel"
pol_is 10.0.0.1/32 10.0.0.2/32 out \
	"src 10.0.0.1/32 dst 10.0.0.2/32 dir out priority 1000 ptype main tmpl src 0.0.0.0 dst 0.0.0.0 proto esp reqid $(d $R_P4O) mode transport"
pol_is 10.0.0.2/32 10.0.0.1/32 in \
	"src 10.0.0.2/32 dst 10.0.0.1/32 dir in priority 1000 ptype main tmpl src 0.0.0.0 dst 0.0.0.0 proto esp reqid $(d $R_P4I) mode transport"
pol_is fd01:1::/64 fd01:2::/64 out \
	"src fd01:1::/64 dst fd01:2::/64 dir out priority 1000 ptype main tmpl src fd00::1 dst fd00::2 proto esp reqid $(d $R_T6O) mode tunnel"
pol_is fd01:2::/64 fd01:1::/64 in \
	"src fd01:2::/64 dst fd01:1::/64 dir in priority 1000 ptype main tmpl src fd00::2 dst fd00::1 proto esp reqid $(d $R_T6I) mode tunnel"
pol_is fd01:2::/64 fd01:1::/64 fwd \
	"src fd01:2::/64 dst fd01:1::/64 dir fwd priority 1000 ptype main tmpl src fd00::2 dst fd00::1 proto esp reqid $(d $R_T6I) mode tunnel"
pol_is fd00::1/128 fd00::2/128 out \
	"src fd00::1/128 dst fd00::2/128 dir out priority 2000 ptype main tmpl src :: dst :: proto esp reqid $(d $R_P6O) mode transport"
pol_is fd00::2/128 fd00::1/128 in \
	"src fd00::2/128 dst fd00::1/128 dir in priority 1000 ptype main tmpl src :: dst :: proto esp reqid $(d $R_P6I) mode transport"
pol_is 192.168.3.0/24 192.168.4.0/24 out \
	"src 192.168.3.0/24 dst 192.168.4.0/24 dir out priority 1000 ptype main tmpl src fd00::1 dst fd00::2 proto esp reqid $(d $R_X46) mode tunnel"
say "ok: 11 policies, each exactly as meant"

# The same selector and direction twice is refused (NLM_F_EXCL).
check_fails xk add-policy 10.0.0.1/32 10.0.0.2/32 out $R_P4O transport
expect_eq "policies after a refused duplicate" "$(count_pol)" 11

say "policies: delete"
check xk del-policy 192.168.1.0/24 192.168.2.0/24 out
check xk del-policy 192.168.2.0/24 192.168.1.0/24 in
check xk del-policy 192.168.2.0/24 192.168.1.0/24 fwd
check xk del-policy 10.0.0.1/32 10.0.0.2/32 out
check xk del-policy 10.0.0.2/32 10.0.0.1/32 in
check xk del-policy fd01:1::/64 fd01:2::/64 out
check xk del-policy fd01:2::/64 fd01:1::/64 in
check xk del-policy fd01:2::/64 fd01:1::/64 fwd
check xk del-policy fd00::1 fd00::2 out
check xk del-policy fd00::2 fd00::1 in
check xk del-policy 192.168.3.0/24 192.168.4.0/24 out
expect_eq "policies after deleting all" "$(count_pol)" 0
check_fails xk del-policy 10.0.0.1/32 10.0.0.2/32 out
say "ok: all gone; a second delete fails"

say "alloc-spi"
# spi_ok SPI: 0x and 8 hex digits, within the backend's range.
spi_ok() {
	case $1 in 0x[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]) ;;
	*) fail "alloc-spi printed '$1', not an SPI" ;;
	esac
	if [ $(($1)) -lt $((0xc0000000)) ] || [ $(($1)) -gt $((0xcfffffff)) ]; then
		fail "SPI $1 outside 0xc0000000-0xcfffffff"
	fi
}
# larval SRC DST SPI: that SA is in peer 1's SAD as ALLOCSPI leaves it: our
# first reqid, no algorithm yet.
larval() {
	_st=$(flat ip -n "$NS1" xfrm state get src "$1" dst "$2" proto esp spi "$3")
	case $_st in
	"src $1 dst $2 proto esp spi $3 reqid $(d 0x7c000000) mode transport "*) ;;
	*) fail "larval SA $3: ip xfrm state shows: $_st" ;;
	esac
	case $_st in
	*aead*|*" enc "*|*auth*) fail "larval SA $3 already has an algorithm: $_st" ;;
	esac
}
spi4a=$(xk alloc-spi 10.0.0.2 10.0.0.1) || fail "alloc-spi (IPv4)"
spi4b=$(xk alloc-spi 10.0.0.2 10.0.0.1) || fail "alloc-spi (IPv4, second)"
spi6=$(xk alloc-spi fd00::2 fd00::1) || fail "alloc-spi (IPv6)"
for s in "$spi4a" "$spi4b" "$spi6"; do
	spi_ok "$s"
done
[ "$spi4a" != "$spi4b" ] || fail "alloc-spi gave $spi4a twice"
larval 10.0.0.2 10.0.0.1 "$spi4a"
larval 10.0.0.2 10.0.0.1 "$spi4b"
larval fd00::2 fd00::1 "$spi6"
expect_eq "SAs after three alloc-spi" "$(count_sa)" 3
say "ok: $spi4a $spi4b $spi6: in range, distinct, larval with reqid 0x7c000000"
check xk del-sa 10.0.0.1 "$spi4a"
check xk del-sa 10.0.0.1 "$spi4b"
check xk del-sa fd00::1 "$spi6"
expect_eq "SAs after del-sa" "$(count_sa)" 0
check_fails xk del-sa 10.0.0.1 "$spi4a"

say "flush: ours only"
# Foreign entries: reqid 1, and the reqids just outside our range.
for r in 1 0x7bffffff 0x7d000000; do
	must ip -n "$NS1" xfrm policy add src 10.9.$((r & 255)).0/24 dst 10.8.0.0/24 dir out \
		tmpl src 10.0.0.1 dst 10.0.0.2 proto esp reqid "$r" mode tunnel
done
must ip -n "$NS1" xfrm state allocspi src 10.0.0.1 dst 10.0.0.3 proto esp reqid 1 >/dev/null
# Ours: tunnel policies, one at the top edge of the range, two larval SAs.
check xk add-policy 192.168.1.0/24 192.168.2.0/24 out $R_T4O tunnel 10.0.0.1 10.0.0.2
check xk add-policy 192.168.2.0/24 192.168.1.0/24 in $R_T4I tunnel 10.0.0.2 10.0.0.1
check xk add-policy 192.168.2.0/24 192.168.1.0/24 fwd $R_T4I tunnel 10.0.0.2 10.0.0.1
check xk add-policy fd00::1 fd00::2 out 0x7cffffff transport
xk alloc-spi 10.0.0.2 10.0.0.1 >/dev/null || fail "alloc-spi"
xk alloc-spi fd00::2 fd00::1 >/dev/null || fail "alloc-spi"
expect_eq "policies before flush" "$(count_pol)" 7
expect_eq "SAs before flush" "$(count_sa)" 3
n=$(xk flush) || fail "xk-xfrm flush"
expect_eq "flush count (4 policies + 2 SAs)" "$n" 6
expect_eq "policies left" "$(count_pol)" 3
expect_eq "SAs left" "$(count_sa)" 1
for r in 1 0x7bffffff 0x7d000000; do
	ip -n "$NS1" xfrm policy | grep -q "reqid $(d "$r") " ||
		fail "flush removed the foreign policy with reqid $r"
done
flat ip -n "$NS1" xfrm state | grep -q "src 10.0.0.1 dst 10.0.0.3 proto esp spi 0x[0-9a-f]* reqid 1 " ||
	fail "flush removed the foreign SA"
n=$(xk flush) || fail "xk-xfrm flush (again)"
expect_eq "second flush count" "$n" 0
must ip -n "$NS1" xfrm policy flush
must ip -n "$NS1" xfrm state flush
say "ok: flush removed our 6 entries and kept the 3 foreign policies and the foreign SA"

say "ACQUIRE"
# acquire_case SEL_SRC SEL_DST PKT_SRC PKT_DST REQID PING_ARGS...: an out
# policy SEL_SRC -> SEL_DST without an SA; a ping PKT_SRC -> PKT_DST hits it
# and the monitor must print one acquire line for it.
acquire_case() {
	_ss=$1 _sd=$2 _ps=$3 _pd=$4 _r=$5
	shift 5
	check xk add-policy "$_ss" "$_sd" out "$_r" transport
	: >"$TMP/mon"
	n1 "$XK" monitor 1 5 >"$TMP/mon" 2>&1 &
	_mon=$!
	_i=0
	until grep -q '^listening$' "$TMP/mon"; do
		_i=$((_i + 1))
		[ $_i -le 50 ] || { cat "$TMP/mon" >&2; fail "monitor did not start"; }
		sleep 0.1
	done
	# No SA, no ESP: the packet cannot leave.
	check_fails n1 ping -c 1 -W 1 "$@" "${_pd%/*}"
	_rc=0
	wait $_mon || _rc=$?
	[ $_rc -eq 0 ] || { cat "$TMP/mon" >&2; fail "monitor saw no event (exit $_rc)"; }
	_line=$(grep '^acquire ' "$TMP/mon") || fail "no acquire line: $(cat "$TMP/mon")"
	# The packet's own addresses (any protocol and ports: ping's first
	# packet may be its UDP route probe), the policy's selector.
	case $_line in
	"acquire reqid=$(d "$_r") dir=1 pkt_src=$_ps"*" pkt_dst=$_pd"*" pol_src=$_ss pol_dst=$_sd") ;;
	*) fail "acquire line: '$_line'" ;;
	esac
	say "ok: $_line"
	check xk del-policy "$_ss" "$_sd" out
}
acquire_case 10.0.0.0/24 10.0.0.2/32 10.0.0.1/32 10.0.0.2/32 0x7c000201
acquire_case fd00::/64 fd00::2/128 fd00::1/128 fd00::2/128 0x7c000202 -6
# The kernel's ACQUIRE placeholders (SPI 0, our reqid) stay until they time
# out: DELSA finds states by SPI, so xk-xfrm flush cannot remove them.
must ip -n "$NS1" xfrm state flush

say "probe and add-sa"
KEY_GCM=0102030405060708090a0b0c0d0e0f1011121314
KEY_AES=0102030405060708090a0b0c0d0e0f10
KEY_SHA=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
LACKS="kernel lacks ESP (module esp4/esp6 missing?)"
if n1 "$XK" probe >"$TMP/probe" 2>&1; then
	say "this kernel has ESP: the positive path"
	for w in "esp yes" "rfc4106(gcm(aes)) yes" "rfc7539esp(chacha20,poly1305) yes" \
		"cbc(aes) yes" "hmac(sha256) yes" "hmac(sha384) yes" "hmac(sha512) yes"; do
		grep -qxF "$w" "$TMP/probe" || { cat "$TMP/probe" >&2; fail "probe did not say '$w'"; }
	done
	check xk add-sa 10.0.0.1 10.0.0.2 0x1000 0x7c000301 transport aes128gcm16 $KEY_GCM
	check xk add-sa 10.0.0.1 10.0.0.2 0x1001 0x7c000302 transport aes128 $KEY_AES sha256 $KEY_SHA
	st=$(flat ip -n "$NS1" xfrm state)
	case $st in *"spi 0x00001000 reqid $(d 0x7c000301) mode transport"*"aead rfc4106(gcm(aes)) 0x$KEY_GCM 128"*) ;;
	*) fail "the AES-GCM SA is not as added: $st" ;;
	esac
	case $st in *"spi 0x00001001 reqid $(d 0x7c000302) mode transport"*"auth-trunc hmac(sha256) 0x$KEY_SHA 128 enc cbc(aes) 0x$KEY_AES"*) ;;
	*) fail "the AES-CBC SA is not as added: $st" ;;
	esac
	check xk del-sa 10.0.0.2 0x1000
	check xk del-sa 10.0.0.2 0x1001
	say "ok: probe says yes to everything, add-sa installs AES-GCM and AES-CBC + SHA-256"
else
	rc=$?
	say "this kernel has no ESP (probe exit $rc): the clear error"
	grep -qxF "esp no" "$TMP/probe" || { cat "$TMP/probe" >&2; fail "probe did not say 'esp no'"; }
	grep -qF "$LACKS" "$TMP/probe" || { cat "$TMP/probe" >&2; fail "probe did not say '$LACKS'"; }
	# add-sa_fails ARGS...: add-sa fails, says exactly that on stderr, and
	# leaves nothing behind.
	add_sa_fails() {
		_rc=0
		n1 "$XK" add-sa "$@" >"$TMP/out" 2>"$TMP/err" || _rc=$?
		[ $_rc -ne 0 ] || fail "add-sa $* succeeded on a kernel without ESP"
		[ ! -s "$TMP/out" ] || fail "add-sa printed on stdout: $(cat "$TMP/out")"
		expect_eq "add-sa $5 error" "$(cat "$TMP/err")" "xk-xfrm: add-sa: $LACKS"
		expect_eq "SAs after a refused add-sa" "$(count_sa)" 0
	}
	add_sa_fails 10.0.0.1 10.0.0.2 0x1000 0x7c000301 transport aes128gcm16 $KEY_GCM
	add_sa_fails fd00::1 fd00::2 0x1000 0x7c000301 tunnel chacha20poly1305 ${KEY_SHA}a0a1a2a3
	add_sa_fails 10.0.0.1 10.0.0.2 0x1001 0x7c000302 transport aes128 $KEY_AES sha256 $KEY_SHA
	say "ok: probe exit $rc, add-sa says '$LACKS'"
fi

say "PASS"
