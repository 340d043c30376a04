#!/bin/sh
# The demo tools/demo runs (on the host, or inside User-Mode Linux when the
# host kernel has no ESP): two sites, each a namespace with a LAN address
# behind an xiked gateway, joined by a wire; a tunnel-mode CHILD SA between
# the LANs; pings from LAN to LAN through kernel ESP.
#
#   LAN 10.1.0.1 -- gw1 10.0.0.1 ===== ESP over the wire ===== 10.0.0.2 gw2 -- LAN 10.2.0.1
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/xiked-lib.sh"
require_root
netns_setup
have_nft=
command -v nft >/dev/null 2>&1 && wire_count_setup && have_nft=1
n1 ip addr add 10.1.0.1/32 dev lo
n2 ip addr add 10.2.0.1/32 dev lo

say "starting xiked on gw1 (10.0.0.1) and gw2 (10.0.0.2)"
xiked_start 1 <<C
[global]
$(xiked_socket 1)
[conn site]
local = 10.0.0.1
remote = 10.0.0.2
local-id = gw1.example
remote-id = gw2.example
psk = demo secret, change me
ike = aes128gcm16-prfsha256-x25519
esp = aes128gcm16
local-ts = 10.1.0.0/24
remote-ts = 10.2.0.0/24
mode = tunnel
C
xiked_start 2 <<C
[global]
$(xiked_socket 2)
[conn site]
local = 10.0.0.2
remote = 10.0.0.1
local-id = gw2.example
remote-id = gw1.example
psk = demo secret, change me
ike = aes128gcm16-prfsha256-x25519
esp = aes128gcm16
local-ts = 10.2.0.0/24
remote-ts = 10.1.0.0/24
mode = tunnel
C

say "xikectl initiate site (on gw1)"
ctl 1 initiate site || { xiked_log 1; fail "initiate failed"; }
wait_for 20 child_up 1 || { xiked_log 1; xiked_log 2; fail "the tunnel did not come up"; }
wait_for 10 child_up 2 || fail "gw2 has no CHILD SA"

say "ping 10.2.0.1 from LAN 1 (10.1.0.1), through the tunnel"
[ -n "$have_nft" ] && wire_count_reset
n1 ping -c 4 -i 0.3 -W 2 -I 10.1.0.1 10.2.0.1 || fail "no answer through the tunnel"
if [ -n "$have_nft" ]; then
	say "on the wire: $(( $(wire_count esp) + $(wire_count espudp) )) ESP packets, $(wire_count echo) plain ICMP echo packets"
fi

echo
say "xikectl list-sas (gw1):"
ctl 1 list-sas
echo
say "ip xfrm state (gw1):"
n1 ip xfrm state
echo
say "ip xfrm policy (gw1):"
n1 ip xfrm policy | grep -v '^src 0.0.0.0/0 dst 0.0.0.0/0\|^src ::/0 dst ::/0\|socket\|^$'
echo
say "xikectl terminate site"
ctl 1 terminate site
wait_for 10 sh -c "! ip netns exec $NS1 ip xfrm state | grep -q src" || fail "states left behind"
say "done: the tunnel carried traffic and is gone again"
