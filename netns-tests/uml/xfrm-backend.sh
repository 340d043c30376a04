#!/bin/sh
# xfrm-backend: the XFRM backend (src/xfrm, driven by tests/xk-xfrm) carries
# real ESP.  Meant to run inside User-Mode Linux (netns-tests/uml-run); runs
# on any kernel with ESP and skips on one without.
#
# For every algorithm xk-xfrm offers (AES-GCM-16 128 and 256, ChaCha20-
# Poly1305, AES-CBC-128 + HMAC-SHA-256-128, AES-CBC-256 + HMAC-SHA-384-192,
# AES-CBC-256 + HMAC-SHA-512-256) x {transport, tunnel} x {IPv4, IPv6}, with
# fresh random keys, the same on both peers:
#   - the inbound SPI of each peer comes from alloc-spi and the inbound SA
#     replaces that larval SA (add-sa ... update), as the daemon does it;
#   - ping passes through the SA pair and the policies (transport: out/in;
#     tunnel: out/in/fwd between inner addresses on lo);
#   - `ip xfrm state` on each peer lists exactly two SAs, with our SPIs,
#     reqids and mode, the kernel's algorithm names, our key bytes and the
#     right ICV / truncation length; `ip xfrm policy` lists 2 or 3 policies;
#   - `xk-xfrm query` on both peers counts the pings on all four SAs;
#   - the wire saw ESP and no plain ICMP echo;
#   - teardown leaves both peers' SAD and SPD empty: IPv4 cases by del-policy
#     and del-sa, IPv6 cases by flush (which must report 4 or 5 entries).
# Then once each:
#   - lifetimes: soft-secs 2 / hard-secs 4 give `expire soft`, then `expire
#     hard` for that SA in `xk-xfrm monitor`, and the hard expiry removes it;
#     soft-packets 3 gives `expire soft` for the outbound SA after 3 pings;
#   - a wrong key on peer 2's inbound SA: ping fails, that SA counts
#     integrity failures (seen through xk-xfrm query) and accepts nothing;
#   - ESN with a 128-packet window: ping passes, ip shows flag esn and
#     replay_window 128;
#   - NAT-T: a tunnel-mode pair with `encap 4500 4500` on all SAs, and on
#     each peer a UDP socket on port 4500 with UDP_ENCAP_ESPINUDP (perl), so
#     the kernel takes the ESP out of UDP: ping passes, the inbound SAs count
#     it, ip shows `encap type espinudp sport 4500 dport 4500`, the wire saw
#     UDP port 4500 and no bare ESP.
set -eu
. "$(dirname "$0")/../lib.sh"

require_root
require_cmd ip ping nft od perl
: "${XIKE_BUILD:?XIKE_BUILD must name the build directory}"
XK=$XIKE_BUILD/tests/xk-xfrm
[ -x "$XK" ] || fail "$XK is missing (ninja -C $XIKE_BUILD)"

PINGS=3

# Inner addresses of the tunnel-mode cases, on each peer's lo.
IN1_4=192.168.1.1
IN2_4=192.168.2.1
IN1_6=fd01:1::1
IN2_6=fd01:2::1

TMP=$(mktemp -d /tmp/xfrm-backend.XXXXXX)
at_exit "rm -rf '$TMP'"

netns_setup
wire_count_setup
# One more counter in the wire: ESP in UDP (NAT-T).
n0 nft add counter bridge wire n_natt || fail "nft counter n_natt"
n0 nft add rule bridge wire forward udp dport 4500 counter name n_natt ||
	fail "nft rule n_natt"

must n1 ip addr add "$IN1_4/32" dev lo
must n2 ip addr add "$IN2_4/32" dev lo
must n1 ip addr add "$IN1_6/128" dev lo
must n2 ip addr add "$IN2_6/128" dev lo
must n1 ip route add "$IN2_4/32" via "$IP2_4"
must n2 ip route add "$IN1_4/32" via "$IP1_4"
must n1 ip route add "$IN2_6/128" via "$IP2_6"
must n2 ip route add "$IN1_6/128" via "$IP1_6"

# The wire's counters must work, or "no plain echo" would prove nothing.
check n1 ping -c 2 -i 0.2 -W 2 "$IP2_4"
check n1 ping -c 2 -i 0.2 -W 2 "$IP2_6"
[ "$(wire_count echo)" -ge 8 ] || fail "the wire counted $(wire_count echo) plain echo packets, expected 8"

# Whether this kernel has ESP at all.  Outside UML its absence is a skip,
# inside UML a failure of the harness.
if ! n1 "$XK" probe >"$TMP/probe" 2>&1; then
	[ -n "${IN_UML:-}" ] || skip "this kernel has no ESP ($(head -n 1 "$TMP/probe")); run it through netns-tests/uml-run"
	cat "$TMP/probe" >&2
	fail "xk-xfrm probe: no ESP inside UML"
fi
for w in "esp yes" "rfc4106(gcm(aes)) yes" "rfc7539esp(chacha20,poly1305) yes" \
	"cbc(aes) yes" "hmac(sha256) yes" "hmac(sha384) yes" "hmac(sha512) yes"; do
	grep -qxF "$w" "$TMP/probe" || { cat "$TMP/probe" >&2; fail "probe did not say '$w'"; }
done
say "ok: probe: ESP and every algorithm present"

# ---- helpers ----

d() { echo $(($1)); }

# rnd BYTES: that many random bytes in hex.
rnd() {
	od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'
}

# flat CMD...: the output on one line, blanks squeezed.
flat() {
	"$@" 2>&1 | tr -s ' \t\n' ' ' | sed 's/ $//'
}

count_sa() {
	ip -n "$1" xfrm state | grep -c '^src' || true
}
count_pol() {
	ip -n "$1" xfrm policy | grep -c '^src' || true
}

# query_field NS DST SPI FIELD: one counter from `xk-xfrm query`.
query_field() {
	ip netns exec "$1" "$XK" query "$2" "$3" | tr ' ' '\n' | sed -n "s/^$4=//p"
}

expect_at_least() {
	case $2 in
	''|*[!0-9]*) fail "$1: no count read (got '$2')" ;;
	esac
	[ "$2" -ge "$3" ] || fail "$1: $2, expected at least $3"
}

# alg_args ALG: sets ENC, ENC_LEN (bytes), INTEG, INTEG_LEN, and the text
# `ip xfrm state` shows for it, with KEY and IKEY standing for the keys:
# SHOW (a pattern with @K@ and @I@ in place of the keys).
alg_args() {
	INTEG='' INTEG_LEN=0
	case $1 in
	aes128gcm16) ENC=aes128gcm16 ENC_LEN=20 SHOW="aead rfc4106(gcm(aes)) 0x@K@ 128" ;;
	aes256gcm16) ENC=aes256gcm16 ENC_LEN=36 SHOW="aead rfc4106(gcm(aes)) 0x@K@ 128" ;;
	chacha20poly1305) ENC=chacha20poly1305 ENC_LEN=36 SHOW="aead rfc7539esp(chacha20,poly1305) 0x@K@ 128" ;;
	aes128+sha256) ENC=aes128 ENC_LEN=16 INTEG=sha256 INTEG_LEN=32
		SHOW="auth-trunc hmac(sha256) 0x@I@ 128 enc cbc(aes) 0x@K@" ;;
	aes256+sha384) ENC=aes256 ENC_LEN=32 INTEG=sha384 INTEG_LEN=48
		SHOW="auth-trunc hmac(sha384) 0x@I@ 192 enc cbc(aes) 0x@K@" ;;
	aes256+sha512) ENC=aes256 ENC_LEN=32 INTEG=sha512 INTEG_LEN=64
		SHOW="auth-trunc hmac(sha512) 0x@I@ 256 enc cbc(aes) 0x@K@" ;;
	*) fail "unknown algorithm $1" ;;
	esac
}

# State of the case being set up (set by setup_pair):
#   MODE O1 O2 (outer addresses) S1 S2 (selectors) F1 F2 (ping from, to)
#   SPI12 SPI21 R12 R21 K12 K21 I12 I21
# and the SA options for both sides in SA_OPTS.

# addrs MODE FAM: sets O1 O2 S1 S2 F1 F2 and the host prefix length.
addrs() {
	if [ "$2" = 6 ]; then
		O1=$IP1_6 O2=$IP2_6 plen=128
		if [ "$1" = tunnel ]; then F1=$IN1_6 F2=$IN2_6; else F1=$O1 F2=$O2; fi
	else
		O1=$IP1_4 O2=$IP2_4 plen=32
		if [ "$1" = tunnel ]; then F1=$IN1_4 F2=$IN2_4; else F1=$O1 F2=$O2; fi
	fi
	S1=$F1/$plen S2=$F2/$plen
}

# add_sa NS SRC DST SPI REQID KEY IKEY [OPTION...]: one SA by xk-xfrm,
# with the current MODE and algorithm.
add_sa() {
	_ns=$1 _src=$2 _dst=$3 _spi=$4 _r=$5 _k=$6 _ik=$7
	shift 7
	if [ -n "$INTEG" ]; then
		must ip netns exec "$_ns" "$XK" add-sa "$_src" "$_dst" "$_spi" "$_r" "$MODE" \
			"$ENC" "$_k" "$INTEG" "$_ik" "$@"
	else
		must ip netns exec "$_ns" "$XK" add-sa "$_src" "$_dst" "$_spi" "$_r" "$MODE" \
			"$ENC" "$_k" "$@"
	fi
}

# policies NS DIR...: peer NS's policies for the current case.  Peer 1
# sends S1 -> S2 (out) and takes S2 -> S1 (in, fwd); peer 2 the reverse.
policies() {
	_ns=$1
	shift
	for _dir in "$@"; do
		if [ "$_ns" = "$NS1" ]; then
			case $_dir in
			out) _s=$S1 _d=$S2 _t1=$O1 _t2=$O2 _r=$R12 ;;
			*) _s=$S2 _d=$S1 _t1=$O2 _t2=$O1 _r=$R21 ;;
			esac
		else
			case $_dir in
			out) _s=$S2 _d=$S1 _t1=$O2 _t2=$O1 _r=$R21 ;;
			*) _s=$S1 _d=$S2 _t1=$O1 _t2=$O2 _r=$R12 ;;
			esac
		fi
		if [ "$MODE" = tunnel ]; then
			must ip netns exec "$_ns" "$XK" add-policy "$_s" "$_d" "$_dir" "$_r" tunnel "$_t1" "$_t2"
		else
			must ip netns exec "$_ns" "$XK" add-policy "$_s" "$_d" "$_dir" "$_r" transport
		fi
	done
}

# del_policies NS DIR...: the same policies, deleted by xk-xfrm.
del_policies() {
	_ns=$1
	shift
	for _dir in "$@"; do
		if [ "$_ns" = "$NS1" ]; then
			case $_dir in out) _s=$S1 _d=$S2 ;; *) _s=$S2 _d=$S1 ;; esac
		else
			case $_dir in out) _s=$S2 _d=$S1 ;; *) _s=$S1 _d=$S2 ;; esac
		fi
		must ip netns exec "$_ns" "$XK" del-policy "$_s" "$_d" "$_dir"
	done
}

# The policy directions of the current case, and how many.
DIRS=
ndirs() {
	case $DIRS in *fwd*) echo 3 ;; *) echo 2 ;; esac
}

# setup_pair MODE FAM ALG CASE [OPTION...]: SAs and policies on both peers.
# SPIs: each peer allocates its inbound SPI; the inbound SA updates that
# larval SA, the other peer adds the outbound one.  Keys are fresh random
# bytes, the same on both peers (K12/I12 carry peer 1 -> peer 2).
setup_pair() {
	MODE=$1
	alg_args "$3"
	addrs "$1" "$2"
	R12=$(( 0x7c000000 + 2 * $4 + 1 ))
	R21=$(( 0x7c000000 + 2 * $4 + 2 ))
	shift 4
	K12=$(rnd "$ENC_LEN") K21=$(rnd "$ENC_LEN")
	I12='' I21=''
	if [ -n "$INTEG" ]; then
		I12=$(rnd "$INTEG_LEN") I21=$(rnd "$INTEG_LEN")
	fi
	SPI12=$(n2 "$XK" alloc-spi "$O1" "$O2") || fail "alloc-spi on peer 2"
	SPI21=$(n1 "$XK" alloc-spi "$O2" "$O1") || fail "alloc-spi on peer 1"
	add_sa "$NS1" "$O1" "$O2" "$SPI12" "$R12" "$K12" "$I12" "$@"
	add_sa "$NS1" "$O2" "$O1" "$SPI21" "$R21" "$K21" "$I21" update "$@"
	add_sa "$NS2" "$O1" "$O2" "$SPI12" "$R12" "$K12" "$I12" update "$@"
	add_sa "$NS2" "$O2" "$O1" "$SPI21" "$R21" "$K21" "$I21" "$@"
	if [ "$MODE" = tunnel ]; then DIRS="out in fwd"; else DIRS="out in"; fi
	# shellcheck disable=SC2086
	policies "$NS1" $DIRS
	# shellcheck disable=SC2086
	policies "$NS2" $DIRS
}

# sa_shows NS SRC DST SPI REQID KEY IKEY: `ip xfrm state get` shows that SA
# with our reqid, mode, algorithm, keys and ICV length.
sa_shows() {
	_st=$(flat ip -n "$1" xfrm state get src "$2" dst "$3" proto esp spi "$4")
	_alg=$(echo "$SHOW" | sed "s/@K@/$6/; s/@I@/$7/")
	case $_st in
	"src $2 dst $3 proto esp spi $4 reqid $(d "$5") mode $MODE "*"$_alg"*) ;;
	*) fail "SA $4 in $1:
   got: $_st
  want: src $2 dst $3 proto esp spi $4 reqid $(d "$5") mode $MODE ... $_alg ..." ;;
	esac
}

# traffic NAME: ping through the current pair, then every check of the
# kernel's view (SAs as meant, counters, the wire).
traffic() {
	wire_count_reset
	check n1 ping -c "$PINGS" -i 0.2 -W 2 -I "$F1" "$F2"
	for _ns in "$NS1" "$NS2"; do
		[ "$(count_sa "$_ns")" -eq 2 ] ||
			{ ip -n "$_ns" xfrm state >&2; fail "$1: $(count_sa "$_ns") SAs in $_ns, expected 2"; }
		_np=$(ndirs)
		[ "$(count_pol "$_ns")" -eq "$_np" ] ||
			{ ip -n "$_ns" xfrm policy >&2; fail "$1: $(count_pol "$_ns") policies in $_ns, expected $_np"; }
		sa_shows "$_ns" "$O1" "$O2" "$SPI12" "$R12" "$K12" "$I12"
		sa_shows "$_ns" "$O2" "$O1" "$SPI21" "$R21" "$K21" "$I21"
	done
	expect_at_least "$1: peer 1 out SA packets (query)" "$(query_field "$NS1" "$O2" "$SPI12" packets)" "$PINGS"
	expect_at_least "$1: peer 2 in SA packets (query)" "$(query_field "$NS2" "$O2" "$SPI12" packets)" "$PINGS"
	expect_at_least "$1: peer 2 out SA packets (query)" "$(query_field "$NS2" "$O1" "$SPI21" packets)" "$PINGS"
	expect_at_least "$1: peer 1 in SA packets (query)" "$(query_field "$NS1" "$O1" "$SPI21" packets)" "$PINGS"
	expect_at_least "$1: peer 1 out SA bytes (query)" "$(query_field "$NS1" "$O2" "$SPI12" bytes)" $((PINGS * 64))
	expect_at_least "$1: ESP packets on the wire" "$(wire_count esp)" $((2 * PINGS))
	_plain=$(wire_count echo)
	[ "$_plain" -eq 0 ] || fail "$1: $_plain plain echo packets on the wire"
}

# teardown_del / teardown_flush: remove the pair, and prove both peers empty.
teardown_del() {
	for _ns in "$NS1" "$NS2"; do
		# shellcheck disable=SC2086
		del_policies "$_ns" $DIRS
		must ip netns exec "$_ns" "$XK" del-sa "$O2" "$SPI12"
		must ip netns exec "$_ns" "$XK" del-sa "$O1" "$SPI21"
	done
	empty "$1"
}
teardown_flush() {
	_want=$((2 + $(ndirs)))
	for _ns in "$NS1" "$NS2"; do
		_n=$(ip netns exec "$_ns" "$XK" flush) || fail "$1: flush in $_ns"
		[ "$_n" = "$_want" ] || fail "$1: flush in $_ns removed $_n entries, expected $_want"
	done
	empty "$1"
}
empty() {
	for _ns in "$NS1" "$NS2"; do
		[ "$(count_sa "$_ns")" -eq 0 ] || { ip -n "$_ns" xfrm state >&2; fail "$1: SAs left in $_ns"; }
		[ "$(count_pol "$_ns")" -eq 0 ] || { ip -n "$_ns" xfrm policy >&2; fail "$1: policies left in $_ns"; }
	done
}

# ---- every algorithm x mode x family ----

case_no=0
for alg in aes128gcm16 aes256gcm16 chacha20poly1305 aes128+sha256 aes256+sha384 aes256+sha512; do
	for mode in transport tunnel; do
		for fam in 4 6; do
			case_no=$((case_no + 1))
			name="$alg $mode IPv$fam"
			setup_pair "$mode" "$fam" "$alg" "$case_no"
			traffic "$name"
			if [ "$fam" = 4 ]; then teardown_del "$name"; else teardown_flush "$name"; fi
			say "ok: $name: SPIs $SPI12/$SPI21, 2 SAs as meant per peer, query counts >= $PINGS on all 4, $(wire_count esp) ESP on the wire, torn down"
		done
	done
done
[ "$case_no" -eq 24 ] || fail "ran $case_no cases, expected 24"

# ---- lifetimes ----

# monitor_start NS COUNT SECS: xk-xfrm monitor in the background, output in
# $TMP/mon; returns once it listens.  monitor_wait: its exit status.
monitor_start() {
	: >"$TMP/mon"
	ip netns exec "$1" "$XK" monitor "$2" "$3" >"$TMP/mon" 2>&1 &
	MON=$!
	_i=0
	until grep -q '^listening$' "$TMP/mon"; do
		_i=$((_i + 1))
		[ $_i -le 50 ] || { cat "$TMP/mon" >&2; fail "monitor did not start"; }
		sleep 0.1
	done
}
monitor_wait() {
	_rc=0
	wait "$MON" || _rc=$?
	[ $_rc -eq 0 ] || { cat "$TMP/mon" >&2; fail "$1: monitor exit $_rc"; }
}

say "lifetime: soft-secs 2, hard-secs 4"
MODE=transport
alg_args aes128gcm16
monitor_start "$NS1" 2 15
add_sa "$NS1" "$IP1_4" "$IP2_4" 0x3000 0x7c000f01 "$(rnd 20)" "" soft-secs 2 hard-secs 4
monitor_wait "soft/hard seconds"
first=$(sed -n 2p "$TMP/mon")
second=$(sed -n 3p "$TMP/mon")
[ "$first" = "expire soft spi=0x00003000 reqid=$(d 0x7c000f01) dst=$IP2_4" ] ||
	{ cat "$TMP/mon" >&2; fail "first event: '$first'"; }
[ "$second" = "expire hard spi=0x00003000 reqid=$(d 0x7c000f01) dst=$IP2_4" ] ||
	{ cat "$TMP/mon" >&2; fail "second event: '$second'"; }
[ "$(count_sa "$NS1")" -eq 0 ] || fail "the SA outlived its hard expiry"
say "ok: $first, then $second; the SA is gone"

say "lifetime: soft-packets 3"
setup_pair transport 4 aes128gcm16 30 soft-packets 3
monitor_start "$NS1" 1 15
check n1 ping -c 5 -i 0.2 -W 2 "$IP2_4"
monitor_wait "soft packets"
ev=$(sed -n 2p "$TMP/mon")
# Both SAs on peer 1 count 5 packets; the outbound one expires first.
case $ev in
"expire soft spi=$SPI12 reqid=$(d "$R12") dst=$IP2_4"|"expire soft spi=$SPI21 reqid=$(d "$R21") dst=$IP1_4") ;;
*) cat "$TMP/mon" >&2; fail "soft packets: '$ev'" ;;
esac
teardown_flush "soft packets"
say "ok: $ev"

# ---- a wrong key ----

say "wrong key on peer 2's inbound SA"
MODE=transport
alg_args aes128gcm16
addrs transport 4
R12=0x7c000f11 R21=0x7c000f12 SPI12=0x00004000 SPI21=0x00004001
K12=$(rnd 20) K21=$(rnd 20) KBAD=$(rnd 20)
add_sa "$NS1" "$O1" "$O2" "$SPI12" "$R12" "$K12" ""
add_sa "$NS1" "$O2" "$O1" "$SPI21" "$R21" "$K21" ""
add_sa "$NS2" "$O1" "$O2" "$SPI12" "$R12" "$KBAD" ""
add_sa "$NS2" "$O2" "$O1" "$SPI21" "$R21" "$K21" ""
DIRS="out in"
policies "$NS1" out in
policies "$NS2" out in
check_fails n1 ping -c 2 -i 0.2 -W 1 "$IP2_4"
expect_at_least "wrong key: peer 1 out SA packets" "$(query_field "$NS1" "$O2" "$SPI12" packets)" 2
expect_at_least "wrong key: integrity failures at peer 2" \
	"$(query_field "$NS2" "$O2" "$SPI12" integrity_failures)" 2
bad_in=$(query_field "$NS2" "$O2" "$SPI12" packets)
[ "$bad_in" -eq 0 ] || fail "wrong key: peer 2 accepted $bad_in packets"
teardown_flush "wrong key"
say "ok: ping failed, peer 2's SA counted integrity failures and accepted nothing"

# ---- ESN ----

say "ESN, window 128"
setup_pair tunnel 4 chacha20poly1305 40 esn window 128
traffic "ESN"
for _ns in "$NS1" "$NS2"; do
	for spi in "$SPI12" "$SPI21"; do
		st=$(flat ip -n "$_ns" xfrm state list spi "$spi")
		# (Tunnel-mode SAs also carry the flag af-unspec.)
		case $st in *" flag "*"esn "*"replay_window 128, bitmap-length 4"*) ;;
		*) fail "ESN: SA $spi in $_ns: $st" ;;
		esac
	done
done
teardown_flush "ESN"
say "ok: ESN SAs with a 128-packet window carry traffic"

# ---- NAT-T ----

say "NAT-T: encap 4500 4500"
# The receiving side needs a UDP socket on 4500 with UDP_ENCAP (100, level
# SOL_UDP 17) set to UDP_ENCAP_ESPINUDP (2), or the kernel would hand the
# datagrams to nobody.  The socket itself never reads anything.
# Tunnel mode: the kernel checks the inbound policy on the UDP datagram
# before it takes the ESP out, so a transport-mode policy between the outer
# addresses would drop it (XfrmInTmplMismatch) unless the socket had its own
# bypass policies, as an IKE daemon's socket does.  The tunnel's policies
# cover only the inner addresses.
for ns in "$NS1" "$NS2"; do
	ip netns exec "$ns" perl -MSocket -e '
		socket(S, PF_INET, SOCK_DGRAM, 0) or die "socket: $!";
		setsockopt(S, 17, 100, pack("i", 2)) or die "UDP_ENCAP: $!";
		bind(S, pack_sockaddr_in(4500, INADDR_ANY)) or die "bind: $!";
		$| = 1; print "ready\n"; sleep 120;' >"$TMP/encap-$ns" 2>&1 &
	echo $! >>"$TMP/encap-pids"
done
at_exit "kill \$(cat '$TMP/encap-pids') 2>/dev/null"
for ns in "$NS1" "$NS2"; do
	i=0
	until grep -q '^ready$' "$TMP/encap-$ns"; do
		i=$((i + 1))
		[ $i -le 50 ] || { cat "$TMP/encap-$ns" >&2; fail "no encap socket in $ns"; }
		sleep 0.1
	done
done
setup_pair tunnel 4 aes128gcm16 50 encap 4500 4500
wire_count_reset
check n1 ping -c "$PINGS" -i 0.2 -W 2 -I "$F1" "$F2"
for _ns in "$NS1" "$NS2"; do
	for spi in "$SPI12" "$SPI21"; do
		st=$(flat ip -n "$_ns" xfrm state list spi "$spi")
		case $st in *"encap type espinudp sport 4500 dport 4500 "*) ;;
		*) fail "NAT-T: SA $spi in $_ns: $st" ;;
		esac
	done
done
expect_at_least "NAT-T: peer 2 in SA packets (query)" "$(query_field "$NS2" "$O2" "$SPI12" packets)" "$PINGS"
expect_at_least "NAT-T: peer 1 in SA packets (query)" "$(query_field "$NS1" "$O1" "$SPI21" packets)" "$PINGS"
natt=$(n0 nft list counter bridge wire n_natt | sed -n 's/.*packets \([0-9]*\).*/\1/p')
expect_at_least "NAT-T: UDP 4500 packets on the wire" "$natt" $((2 * PINGS))
[ "$(wire_count esp)" -eq 0 ] || fail "NAT-T: $(wire_count esp) bare ESP packets on the wire"
[ "$(wire_count echo)" -eq 0 ] || fail "NAT-T: $(wire_count echo) plain echo packets on the wire"
teardown_flush "NAT-T"
say "ok: ESP in UDP 4500 both ways ($natt datagrams on the wire, no bare ESP)"

say "PASS"
