#!/bin/sh
# esp-soft: userspace ESP (src/esp-soft, driven by tests/xk-esp) between two
# namespaces on the host kernel, which needs no ESP of its own: TUN devices
# and ESP in UDP on port 4500.
#
# What it proves:
#   - tunnel mode: ping between the peers' inner addresses, IPv4 (AES-GCM-128
#     over outer IPv4) and IPv6 (ChaCha20-Poly1305 over outer IPv6), each
#     packet seen on the wire as UDP to port 4500 and none as plain ICMP or as
#     raw ESP; iperf3 TCP through the tunnel (throughput printed);
#   - IKE shares the NAT-T socket: an IKE datagram sent through one peer's
#     esp_soft_ike_send() arrives marker-stripped at the other's
#     esp_soft_ike_read(), whose echo comes back the same way, and NAT
#     keepalives sent with esp_soft_keepalive() are counted by the other;
#   - transport mode: ping between the peers' own addresses, IPv4 (AES-CBC +
#     HMAC-SHA-256) and IPv6 (AES-GCM-256 with ESN), the peers' traffic routed
#     into the device by a rule on the mark that keeps esp-soft's own UDP out;
#     this phase runs without TUN offloads, the tunnel phase with them (TSO
#     segmentation and coalescing carry the iperf3 run);
#   - raw ESP (IP protocol 50, --raw and SAs without encap): ping in tunnel
#     mode, IPv4 and IPv6, seen on the wire as ESP and not as UDP;
#   - a wrong key on one side: nothing gets through, and the receiver counts
#     integrity failures instead of crashing;
#   - every xk-esp exits cleanly on SIGTERM (the device goes away).
set -eu
. "$(dirname "$0")/lib.sh"

require_root
require_cmd ip ping nft od
: "${XIKE_BUILD:?XIKE_BUILD must name the build directory}"
XK=$XIKE_BUILD/tests/xk-esp
[ -x "$XK" ] || fail "$XK is missing (ninja -C $XIKE_BUILD)"
[ -c /dev/net/tun ] || skip "no /dev/net/tun"

TMP=$(mktemp -d /tmp/esp-soft.XXXXXX)
at_exit "rm -rf '$TMP'"
MARK=0x100

key() {
	od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'
}

# xk_start N NAME ARGS...: xk-esp in peer N's namespace, log in $TMP/NAME;
# waits for its "ready" line.
xk_start() {
	_n=$1
	_name=$2
	shift 2
	if [ "$_n" = 1 ]; then _ns=$NS1; else _ns=$NS2; fi
	ip netns exec "$_ns" "$XK" --dev xk0 --mark "$MARK" "$@" >"$TMP/$_name.log" 2>&1 &
	echo $! >"$TMP/$_name.pid"
	at_exit "kill \$(cat '$TMP/$_name.pid') 2>/dev/null"
	for _i in $(seq 50); do
		grep -q '^ready' "$TMP/$_name.log" && return 0
		kill -0 "$(cat "$TMP/$_name.pid")" 2>/dev/null || break
		sleep 0.1
	done
	cat "$TMP/$_name.log" >&2
	fail "xk-esp $_name did not start"
}

# xk_stop NAME: SIGTERM, wait, and show its final counters.
xk_stop() {
	_pid=$(cat "$TMP/$1.pid")
	kill "$_pid"
	for _i in $(seq 50); do
		kill -0 "$_pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$_pid" 2>/dev/null && fail "xk-esp $1 did not stop on SIGTERM"
	wait "$_pid" || fail "xk-esp $1 exited non-zero"
	say "$1: $(grep '^stats' "$TMP/$1.log" | tail -1)"
}

natt_count() {
	n0 nft list counter bridge espsoft n_natt | sed -n 's/.*packets \([0-9]*\).*/\1/p'
}

wire_clean() {
	[ "$(wire_count echo)" = 0 ] && [ "$(wire_count esp)" = 0 ]
}

netns_setup
wire_count_setup
n0 nft -f - <<'EOF' || fail "nft NAT-T counter in the wire"
table bridge espsoft {
	counter n_natt { }
	chain forward {
		type filter hook forward priority 1; policy accept;
		udp dport 4500 counter name "n_natt"
	}
}
EOF
for n in 1 2; do
	# Decrypted packets come in through the device: loose reverse path.
	ip netns exec "$(if [ $n = 1 ]; then echo "$NS1"; else echo "$NS2"; fi)" \
		sysctl -qw net.ipv4.conf.all.rp_filter=2 net.ipv4.conf.default.rp_filter=2
done

# ---------------------------------------------------------------- tunnel
K4A=$(key 20) K4B=$(key 20) K6A=$(key 36) K6B=$(key 36)
must n1 ip addr add 10.1.0.1/32 dev lo
must n1 ip addr add fd01::1/128 dev lo
must n2 ip addr add 10.2.0.1/32 dev lo
must n2 ip addr add fd02::1/128 dev lo

xk_start 1 tun1 --ike-hello "$IP2_4" \
	--sa-out "$IP1_4 $IP2_4 0x1001 1 tunnel aes128gcm16 $K4A" \
	--sa-in "$IP2_4 $IP1_4 0x2001 1 tunnel aes128gcm16 $K4B" \
	--sa-out "$IP1_6 $IP2_6 0x1002 2 tunnel chacha20poly1305 $K6A" \
	--sa-in "$IP2_6 $IP1_6 0x2002 2 tunnel chacha20poly1305 $K6B" \
	--policy "10.1.0.0/24 10.2.0.0/24 out 1 tunnel $IP1_4 $IP2_4" \
	--policy "10.2.0.0/24 10.1.0.0/24 in 1 tunnel $IP2_4 $IP1_4" \
	--policy "fd01::/64 fd02::/64 out 2 tunnel $IP1_6 $IP2_6" \
	--policy "fd02::/64 fd01::/64 in 2 tunnel $IP2_6 $IP1_6"
xk_start 2 tun2 --ike-echo \
	--sa-in "$IP1_4 $IP2_4 0x1001 1 tunnel aes128gcm16 $K4A" \
	--sa-out "$IP2_4 $IP1_4 0x2001 1 tunnel aes128gcm16 $K4B" \
	--sa-in "$IP1_6 $IP2_6 0x1002 2 tunnel chacha20poly1305 $K6A" \
	--sa-out "$IP2_6 $IP1_6 0x2002 2 tunnel chacha20poly1305 $K6B" \
	--policy "10.1.0.0/24 10.2.0.0/24 in 1 tunnel $IP1_4 $IP2_4" \
	--policy "10.2.0.0/24 10.1.0.0/24 out 1 tunnel $IP2_4 $IP1_4" \
	--policy "fd01::/64 fd02::/64 in 2 tunnel $IP1_6 $IP2_6" \
	--policy "fd02::/64 fd01::/64 out 2 tunnel $IP2_6 $IP1_6"
must n1 ip route add 10.2.0.0/24 dev xk0 src 10.1.0.1
must n1 ip -6 route add fd02::/64 dev xk0 src fd01::1
must n2 ip route add 10.1.0.0/24 dev xk0 src 10.2.0.1
must n2 ip -6 route add fd01::/64 dev xk0 src fd02::1

wire_count_reset
check n1 ping -c 3 -i 0.2 -W 2 -I 10.1.0.1 10.2.0.1
check n1 ping -6 -c 3 -i 0.2 -W 2 -I fd01::1 fd02::1
check n2 ping -c 2 -i 0.2 -W 2 -I 10.2.0.1 10.1.0.1
say "on the wire: $(natt_count) UDP/4500, $(wire_count echo) plain echo, $(wire_count esp) raw ESP"
check test "$(natt_count)" -ge 16
check wire_clean

# IKE through the shared socket: hello out, echo back (within 5 s).
for i in $(seq 50); do
	grep -q '^ike-echo-ok' "$TMP/tun1.log" && break
	sleep 0.1
done
check grep -q '^ike from 10.0.0.1:4500 len 5: hello' "$TMP/tun2.log"
check grep -q '^ike-echo-ok' "$TMP/tun1.log"

if command -v iperf3 >/dev/null 2>&1; then
	n2 iperf3 -s -1 -B 10.2.0.1 >"$TMP/iperf-s.log" 2>&1 &
	at_exit "kill $! 2>/dev/null"
	sleep 0.5
	n1 iperf3 -c 10.2.0.1 -B 10.1.0.1 -t 3 -f m >"$TMP/iperf.log" 2>&1 ||
		{ cat "$TMP/iperf.log" >&2; fail "iperf3 through the tunnel"; }
	say "iperf3 through esp-soft: $(grep receiver "$TMP/iperf.log" | tail -1 |
		sed 's/.* \([0-9.]* [MG]bits\/sec\).*/\1/')"
else
	say "iperf3 not installed: no throughput figure"
fi
check wire_clean
xk_stop tun1
xk_stop tun2
# NAT keepalives through the shared socket: sent with each hello, counted
# (and dropped) by the receiver.
check grep -q '^stats.* keepalives_out=[1-9]' "$TMP/tun1.log"
check grep -q '^stats.* keepalives=[1-9]' "$TMP/tun2.log"
check_fails n1 ip link show xk0

# ---------------------------------------------------------------- transport
# The peers' own traffic goes into the device by a rule on the mark.
# Neighbour discovery (and ARP) for the peer must still work: the kernel
# sends and answers it on eth0 itself, outside the routing rule.  The
# caches start empty, so that a discovery that failed would show.
KA=$(key 16) KB=$(key 16) HA=$(key 32) HB=$(key 32) K256A=$(key 36) K256B=$(key 36)
must n1 ip neigh flush all
must n2 ip neigh flush all

xk_start 1 tr1 --no-offload \
	--sa-out "$IP1_4 $IP2_4 0x3001 3 transport aes128 $KA sha256 $HA" \
	--sa-in "$IP2_4 $IP1_4 0x4001 3 transport aes128 $KB sha256 $HB" \
	--sa-out "$IP1_6 $IP2_6 0x3002 4 transport aes256gcm16 $K256A esn" \
	--sa-in "$IP2_6 $IP1_6 0x4002 4 transport aes256gcm16 $K256B esn" \
	--policy "$IP1_4/32 $IP2_4/32 out 3 transport" \
	--policy "$IP2_4/32 $IP1_4/32 in 3 transport" \
	--policy "$IP1_6/128 $IP2_6/128 out 4 transport" \
	--policy "$IP2_6/128 $IP1_6/128 in 4 transport"
xk_start 2 tr2 --no-offload \
	--sa-in "$IP1_4 $IP2_4 0x3001 3 transport aes128 $KA sha256 $HA" \
	--sa-out "$IP2_4 $IP1_4 0x4001 3 transport aes128 $KB sha256 $HB" \
	--sa-in "$IP1_6 $IP2_6 0x3002 4 transport aes256gcm16 $K256A esn" \
	--sa-out "$IP2_6 $IP1_6 0x4002 4 transport aes256gcm16 $K256B esn" \
	--policy "$IP1_4/32 $IP2_4/32 in 3 transport" \
	--policy "$IP2_4/32 $IP1_4/32 out 3 transport" \
	--policy "$IP1_6/128 $IP2_6/128 in 4 transport" \
	--policy "$IP2_6/128 $IP1_6/128 out 4 transport"
# transport_routes: the peer's address into the device (the routes go with
# the device when xk-esp exits; the rules stay).
transport_routes() {
	for n in 1 2; do
		if [ $n = 1 ]; then
			me4=$IP1_4 me6=$IP1_6 peer4=$IP2_4 peer6=$IP2_6
		else
			me4=$IP2_4 me6=$IP2_6 peer4=$IP1_4 peer6=$IP1_6
		fi
		# With a source: the device has no address of its own to offer.
		must "n$n" ip route add "$peer4/32" dev xk0 src "$me4" table 220
		must "n$n" ip -6 route add "$peer6/128" dev xk0 src "$me6" table 220
	done
}
transport_routes
for n in 1 2; do
	must "n$n" ip rule add not fwmark "$MARK/$MARK" table 220 pref 220
	must "n$n" ip -6 rule add not fwmark "$MARK/$MARK" table 220 pref 220
done

wire_count_reset
before=$(natt_count)
check n1 ping -c 3 -i 0.2 -W 2 "$IP2_4"
check n1 ping -6 -c 3 -i 0.2 -W 2 "$IP2_6"
check n2 ping -c 2 -i 0.2 -W 2 "$IP1_4"
say "on the wire: $(( $(natt_count) - before )) UDP/4500, $(wire_count echo) plain echo"
check test "$(( $(natt_count) - before ))" -ge 16
check wire_clean
xk_stop tr1
xk_stop tr2
check grep -q 'tx_packets=[1-9]' "$TMP/tr1.log"

# ---------------------------------------------------------------- raw ESP
xk_start 1 raw1 --raw \
	--sa-out "$IP1_4 $IP2_4 0x7001 7 tunnel aes128gcm16 $K4A noencap" \
	--sa-in "$IP2_4 $IP1_4 0x8001 7 tunnel aes128gcm16 $K4B noencap" \
	--sa-out "$IP1_6 $IP2_6 0x7002 8 tunnel chacha20poly1305 $K6A noencap" \
	--sa-in "$IP2_6 $IP1_6 0x8002 8 tunnel chacha20poly1305 $K6B noencap" \
	--policy "10.1.0.0/24 10.2.0.0/24 out 7 tunnel $IP1_4 $IP2_4" \
	--policy "10.2.0.0/24 10.1.0.0/24 in 7 tunnel $IP2_4 $IP1_4" \
	--policy "fd01::/64 fd02::/64 out 8 tunnel $IP1_6 $IP2_6" \
	--policy "fd02::/64 fd01::/64 in 8 tunnel $IP2_6 $IP1_6"
xk_start 2 raw2 --raw \
	--sa-in "$IP1_4 $IP2_4 0x7001 7 tunnel aes128gcm16 $K4A noencap" \
	--sa-out "$IP2_4 $IP1_4 0x8001 7 tunnel aes128gcm16 $K4B noencap" \
	--sa-in "$IP1_6 $IP2_6 0x7002 8 tunnel chacha20poly1305 $K6A noencap" \
	--sa-out "$IP2_6 $IP1_6 0x8002 8 tunnel chacha20poly1305 $K6B noencap" \
	--policy "10.1.0.0/24 10.2.0.0/24 in 7 tunnel $IP1_4 $IP2_4" \
	--policy "10.2.0.0/24 10.1.0.0/24 out 7 tunnel $IP2_4 $IP1_4" \
	--policy "fd01::/64 fd02::/64 in 8 tunnel $IP1_6 $IP2_6" \
	--policy "fd02::/64 fd01::/64 out 8 tunnel $IP2_6 $IP1_6"
check grep -q '^ready.*raw=1' "$TMP/raw1.log"
must n1 ip route add 10.2.0.0/24 dev xk0 src 10.1.0.1
must n1 ip -6 route add fd02::/64 dev xk0 src fd01::1
must n2 ip route add 10.1.0.0/24 dev xk0 src 10.2.0.1
must n2 ip -6 route add fd01::/64 dev xk0 src fd02::1
wire_count_reset
before=$(natt_count)
check n1 ping -c 3 -i 0.2 -W 2 -I 10.1.0.1 10.2.0.1
check n1 ping -6 -c 3 -i 0.2 -W 2 -I fd01::1 fd02::1
say "on the wire: $(wire_count esp) ESP, $(( $(natt_count) - before )) UDP/4500, $(wire_count echo) plain echo"
check test "$(wire_count esp)" -ge 12
check test "$(natt_count)" -eq "$before"
check test "$(wire_count echo)" -eq 0
xk_stop raw1
xk_stop raw2

# ---------------------------------------------------------------- wrong key
xk_start 1 bad1 \
	--sa-out "$IP1_4 $IP2_4 0x5001 5 transport aes128gcm16 $K4A" \
	--sa-in "$IP2_4 $IP1_4 0x6001 5 transport aes128gcm16 $K4B" \
	--policy "$IP1_4/32 $IP2_4/32 out 5 transport" \
	--policy "$IP2_4/32 $IP1_4/32 in 5 transport"
xk_start 2 bad2 \
	--sa-in "$IP1_4 $IP2_4 0x5001 5 transport aes128gcm16 $K4B" \
	--sa-out "$IP2_4 $IP1_4 0x6001 5 transport aes128gcm16 $K4A" \
	--policy "$IP1_4/32 $IP2_4/32 in 5 transport" \
	--policy "$IP2_4/32 $IP1_4/32 out 5 transport"
transport_routes
check_fails n1 ping -c 2 -i 0.2 -W 1 "$IP2_4"
xk_stop bad1
xk_stop bad2
check grep -q 'drop_auth=[1-9]' "$TMP/bad2.log"
check grep -q 'integrity_failures=[1-9]' "$TMP/bad2.log"
say "PASS"
