#!/bin/sh
# esp-soft-kernel: userspace ESP (src/esp-soft, driven by tests/xk-esp) on
# one peer against the kernel's own ESP (src/xfrm, driven by tests/xk-xfrm)
# on the other: the two must speak the same wire format.  Runs inside
# User-Mode Linux (netns-tests/uml-run), whose kernel has ESP and TUN; skips
# on a kernel without ESP.
#
# Peer 1 is the kernel (XFRM SAs with `encap 4500 4500`, and a UDP socket on
# port 4500 with UDP_ENCAP_ESPINUDP so the kernel takes ESP out of UDP);
# peer 2 is esp-soft with the same keys.  For each case, fresh random keys:
#   - ping both ways (tunnel mode between inner addresses on lo, transport
#     mode between the peers' own addresses);
#   - the kernel's inbound SA counted the packets esp-soft sent (xk-xfrm
#     query), and esp-soft decrypted the kernel's (its rx counter) with no
#     drop for authentication, padding or replay;
#   - the wire carried UDP to port 4500 and neither bare ESP nor plain ICMP.
# Cases: AES-GCM-16 128 and 256, ChaCha20-Poly1305, AES-CBC-128 +
# HMAC-SHA-256-128, AES-CBC-256 + HMAC-SHA-384-192 and HMAC-SHA-512-256;
# tunnel and transport mode; outer IPv4 and IPv6; ESN on and off.
set -eu
. "$(dirname "$0")/../lib.sh"

require_root
require_cmd ip ping nft od perl
: "${XIKE_BUILD:?XIKE_BUILD must name the build directory}"
XF=$XIKE_BUILD/tests/xk-xfrm
XE=$XIKE_BUILD/tests/xk-esp
[ -x "$XF" ] || fail "$XF is missing (ninja -C $XIKE_BUILD)"
[ -x "$XE" ] || fail "$XE is missing (ninja -C $XIKE_BUILD)"
modprobe tun 2>/dev/null || true
[ -c /dev/net/tun ] || skip "no /dev/net/tun"

PINGS=3
MARK=0x100
IN1_4=192.168.1.1
IN2_4=192.168.2.1
IN1_6=fd01:1::1
IN2_6=fd01:2::1
# xk-xfrm flush removes only reqids of its own range.
REQID=0x7c000101

TMP=$(mktemp -d /tmp/esp-soft-kernel.XXXXXX)
at_exit "rm -rf '$TMP'"

key() {
	od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'
}

netns_setup
wire_count_setup
n0 nft add counter bridge wire n_natt || fail "nft counter n_natt"
n0 nft add rule bridge wire forward udp dport 4500 counter name n_natt ||
	fail "nft rule n_natt"
natt() {
	n0 nft list counter bridge wire n_natt | sed -n 's/.*packets \([0-9]*\).*/\1/p'
}

if ! n1 "$XF" probe >"$TMP/probe" 2>&1; then
	[ -n "${IN_UML:-}" ] || skip "this kernel has no ESP ($(head -n 1 "$TMP/probe")); run it through netns-tests/uml-run"
	cat "$TMP/probe" >&2
	fail "xk-xfrm probe: no ESP inside UML"
fi

must n1 ip addr add "$IN1_4/32" dev lo
must n1 ip addr add "$IN1_6/128" dev lo
must n2 ip addr add "$IN2_4/32" dev lo
must n2 ip addr add "$IN2_6/128" dev lo
# The kernel looks up policies on output: it needs some route to the inner
# addresses; esp-soft's routes point into its device (per case).
must n1 ip route add "$IN2_4/32" via "$IP2_4"
must n1 ip -6 route add "$IN2_6/128" via "$IP2_6"
must n2 sysctl -qw net.ipv4.conf.all.rp_filter=2 net.ipv4.conf.default.rp_filter=2
# Transport mode on the esp-soft side: unmarked traffic to peer 1 goes into
# the device, esp-soft's own UDP (marked) does not.
must n2 ip rule add not fwmark "$MARK/$MARK" table 220 pref 220
must n2 ip -6 rule add not fwmark "$MARK/$MARK" table 220 pref 220
MAC1=$(n1 cat /sys/class/net/eth0/address)
MAC2=$(n2 cat /sys/class/net/eth0/address)
must n2 ip neigh replace "$IP1_6" lladdr "$MAC1" dev eth0 nud permanent
must n1 ip neigh replace "$IP2_6" lladdr "$MAC2" dev eth0 nud permanent

# The kernel side's ESP-in-UDP sockets (never read): IPv4 and IPv6.  Each
# bypasses IPsec policies (IP_XFRM_POLICY / IPV6_XFRM_POLICY, allow, both
# directions), as an IKE daemon's sockets do: in transport mode the kernel
# checks the inbound policy on the UDP datagram itself before it takes the
# ESP out, and a policy between the outer addresses would drop it.  The
# struct is xfrm_userpolicy_info: selector (family at 40), lifetimes with
# infinite byte and packet limits, current lifetimes, priority, index, dir,
# action (0: allow), flags, share.
ip netns exec "$NS1" perl -MSocket=:all -e '
	sub bypass {
		my ($s, $level, $opt, $af) = @_;
		for my $dir (0, 1) {
			my $pol = pack("x40 S x14 Q4 x32 x32 L L C C C C x4", $af,
				       ~0, ~0, ~0, ~0, 0, 0, $dir, 0, 0, 0);
			setsockopt($s, $level, $opt, $pol) or die "XFRM_POLICY: $!";
		}
	}
	socket(S, PF_INET, SOCK_DGRAM, 0) or die "socket: $!";
	setsockopt(S, 17, 100, pack("i", 2)) or die "UDP_ENCAP: $!";
	bypass(\*S, 0, 17, AF_INET);
	bind(S, pack_sockaddr_in(4500, INADDR_ANY)) or die "bind: $!";
	socket(T, PF_INET6, SOCK_DGRAM, 0) or die "socket6: $!";
	setsockopt(T, 41, 26, pack("i", 1)) or die "V6ONLY: $!";
	setsockopt(T, 17, 100, pack("i", 2)) or die "UDP_ENCAP6: $!";
	bypass(\*T, 41, 35, AF_INET6);
	bind(T, pack_sockaddr_in6(4500, inet_pton(AF_INET6, "::"))) or die "bind6: $!";
	$| = 1; print "ready\n"; sleep 600;' >"$TMP/encap" 2>&1 &
at_exit "kill $! 2>/dev/null"
i=0
until grep -q '^ready$' "$TMP/encap"; do
	i=$((i + 1))
	[ $i -le 50 ] || { cat "$TMP/encap" >&2; fail "no encap socket"; }
	sleep 0.1
done

ncase=0

# run_case MODE FAMILY ENC KEYLEN [INTEG INTEGLEN] [esn]
run_case() {
	mode=$1 fam=$2 enc=$3 klen=$4
	shift 4
	integ= ilen= esn=
	if [ $# -ge 2 ] && [ "$1" != esn ]; then
		integ=$1 ilen=$2
		shift 2
	fi
	[ "${1:-}" = esn ] && esn="esn window 128"
	ncase=$((ncase + 1))
	spi12=$(printf '0x%08x' $((0x51000000 + ncase)))
	spi21=$(printf '0x%08x' $((0x52000000 + ncase)))
	k12=$(key "$klen") k21=$(key "$klen")
	a12= a21=
	if [ -n "$integ" ]; then
		a12="$integ $(key "$ilen")"
		a21="$integ $(key "$ilen")"
	fi
	if [ "$fam" = 4 ]; then
		o1=$IP1_4 o2=$IP2_4 i1=$IN1_4 i2=$IN2_4 plen=32 dash=
	else
		o1=$IP1_6 o2=$IP2_6 i1=$IN1_6 i2=$IN2_6 plen=128 dash=-6
	fi
	name="$mode/IPv$fam/$enc${integ:+-$integ}${esn:+/esn}"
	say "case $ncase: $name"

	# Peer 1: the kernel.
	n1 "$XF" add-sa "$o1" "$o2" "$spi12" "$REQID" "$mode" "$enc" "$k12" $a12 \
		encap 4500 4500 $esn >/dev/null || fail "$name: kernel add-sa out"
	n1 "$XF" add-sa "$o2" "$o1" "$spi21" "$REQID" "$mode" "$enc" "$k21" $a21 \
		encap 4500 4500 $esn >/dev/null || fail "$name: kernel add-sa in"
	if [ "$mode" = tunnel ]; then
		s1=$i1/$plen s2=$i2/$plen
		must n1 "$XF" add-policy "$s1" "$s2" out "$REQID" tunnel "$o1" "$o2"
		must n1 "$XF" add-policy "$s2" "$s1" in "$REQID" tunnel "$o2" "$o1"
		must n1 "$XF" add-policy "$s2" "$s1" fwd "$REQID" tunnel "$o2" "$o1"
		pols="--policy '$s2 $s1 out 1 tunnel $o2 $o1' --policy '$s1 $s2 in 1 tunnel $o1 $o2'"
	else
		s1=$o1/$plen s2=$o2/$plen
		must n1 "$XF" add-policy "$s1" "$s2" out "$REQID" transport
		must n1 "$XF" add-policy "$s2" "$s1" in "$REQID" transport
		pols="--policy '$s2 $s1 out 1 transport' --policy '$s1 $s2 in 1 transport'"
	fi

	# Peer 2: esp-soft, the mirror image.
	eval "set -- $pols"
	ip netns exec "$NS2" "$XE" --dev xk0 --mark "$MARK" \
		--sa-in "$o1 $o2 $spi12 1 $mode $enc $k12 $a12 $esn" \
		--sa-out "$o2 $o1 $spi21 1 $mode $enc $k21 $a21 $esn" \
		"$@" >"$TMP/soft.log" 2>&1 &
	pid=$!
	i=0
	until grep -q '^ready' "$TMP/soft.log"; do
		i=$((i + 1))
		kill -0 "$pid" 2>/dev/null && [ $i -le 50 ] ||
			{ cat "$TMP/soft.log" >&2; fail "$name: xk-esp did not start"; }
		sleep 0.1
	done
	if [ "$mode" = tunnel ]; then
		must n2 ip $dash route add "$i1/$plen" dev xk0 src "$i2"
	else
		must n2 ip $dash route add "$o1/$plen" dev xk0 src "$o2" table 220
	fi

	wire_count_reset
	before=$(natt)
	if [ "$mode" = tunnel ]; then
		check n1 ping $dash -c "$PINGS" -i 0.2 -W 2 -I "$i1" "$i2"
		check n2 ping $dash -c "$PINGS" -i 0.2 -W 2 -I "$i2" "$i1"
	else
		check n1 ping $dash -c "$PINGS" -i 0.2 -W 2 "$o2"
		check n2 ping $dash -c "$PINGS" -i 0.2 -W 2 "$o1"
	fi
	# The kernel's inbound SA opened what esp-soft sealed...
	got=$(n1 "$XF" query "$o1" "$spi21" | sed -n 's/.*packets=\([0-9]*\).*/\1/p')
	[ "${got:-0}" -ge $((2 * PINGS)) ] ||
		fail "$name: kernel inbound SA counted ${got:-0} packets, want $((2 * PINGS))"
	kill "$pid"
	wait "$pid" || fail "$name: xk-esp exited non-zero"
	# ...and esp-soft opened what the kernel sealed, without a bad one.
	st=$(grep '^stats' "$TMP/soft.log" | tail -n 1)
	rx=$(echo "$st" | sed -n 's/.*rx_packets=\([0-9]*\).*/\1/p')
	[ "${rx:-0}" -ge $((2 * PINGS)) ] || { cat "$TMP/soft.log" >&2; fail "$name: esp-soft decrypted ${rx:-0}"; }
	case $st in
	*drop_auth* | *drop_pad* | *drop_replay* | *drop_next_header* | *drop_policy*)
		fail "$name: esp-soft dropped: $st" ;;
	esac
	[ $(( $(natt) - before )) -ge $((4 * PINGS)) ] || fail "$name: too little UDP/4500 on the wire"
	[ "$(wire_count esp)" -eq 0 ] || fail "$name: bare ESP on the wire"
	[ "$(wire_count echo)" -eq 0 ] || fail "$name: plain echo on the wire"
	n1 "$XF" flush >/dev/null || fail "$name: kernel flush"
	say "ok: $name (kernel in: $got, esp-soft in: $rx)"
}

run_case tunnel 4 aes128gcm16 20
run_case tunnel 4 aes256gcm16 36 esn
run_case tunnel 6 chacha20poly1305 36
run_case tunnel 4 aes128 16 sha256 32
run_case tunnel 4 aes256 32 sha384 48 esn
run_case tunnel 6 aes256 32 sha512 64
run_case transport 4 aes128gcm16 20
run_case transport 4 chacha20poly1305 36 esn
run_case transport 6 aes128 16 sha256 32
say "PASS"
