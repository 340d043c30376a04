#!/bin/sh
# xiked <-> xiked in two namespaces over real kernel ESP (inside UML):
# initiation by CLI, traffic through ESP seen on the wire, SPIs in
# `ip xfrm state` equal to what xikectl reports, terminate removes all.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../xiked-lib.sh"
require_root
require_cmd nft ping
netns_setup
wire_count_setup

# One case: IKE proposal, ESP proposal, mode, family (4 or 6).
run_case() {
	ike=$1 esp=$2 mode=$3 fam=$4
	if [ "$fam" = 6 ]; then a1=$IP1_6 a2=$IP2_6; else a1=$IP1_4 a2=$IP2_4; fi
	say "case: $ike / $esp, $mode, IPv$fam"
	xiked_start 1 <<C
[global]
$(xiked_socket 1)
[conn t]
local = $a1
remote = $a2
psk = a secret for $ike
ike = $ike
esp = $esp
mode = $mode
C
	xiked_start 2 <<C
[global]
$(xiked_socket 2)
[conn t]
local = $a2
remote = $a1
psk = a secret for $ike
ike = $ike
esp = $esp
mode = $mode
C
	check ctl 1 initiate t
	wait_for 20 child_up 1 || { xiked_log 1; xiked_log 2; fail "no CHILD SA on peer 1"; }
	wait_for 10 child_up 2 || fail "no CHILD SA on peer 2"
	wire_count_reset
	check n1 ping -c 3 -i 0.2 -W 2 "$a2"
	esp_pkts=$(wire_count esp)
	echo_pkts=$(wire_count echo)
	[ "$esp_pkts" -ge 6 ] || fail "expected >= 6 ESP packets on the wire, saw $esp_pkts"
	[ "$echo_pkts" -eq 0 ] || fail "$echo_pkts plain ICMP echo packets crossed the wire"
	# Exactly one pair of states per side, with the SPIs xikectl reports.
	for n in 1 2; do
		spi_in=$(sas_field $n spi-in)
		spi_out=$(sas_field $n spi-out)
		states=$(ip netns exec "$(_xiked_ns $n)" ip xfrm state | grep -c '^src')
		[ "$states" -eq 2 ] || fail "peer $n: $states kernel states, expected 2"
		for spi in $spi_in $spi_out; do
			ip netns exec "$(_xiked_ns $n)" ip xfrm state | grep -q "spi 0x$spi " ||
				fail "peer $n: SPI $spi not in ip xfrm state"
		done
	done
	[ "$(sas_field 1 spi-in)" = "$(sas_field 2 spi-out)" ] || fail "SPIs differ between peers"
	ctl 1 list-sas
	check ctl 2 terminate t
	wait_for 10 sh -c "! ip netns exec $NS1 ip xfrm state | grep -q src" ||
		fail "peer 1 kept kernel states after terminate"
	wait_for 10 sh -c "! ip netns exec $NS2 ip xfrm state | grep -q src" ||
		fail "peer 2 kept kernel states after terminate"
	# (The IKE sockets' own bypass policies show as "socket in/out".)
	n1 ip xfrm policy | grep -q 'tmpl ' && fail "peer 1 kept policies"
	n2 ip xfrm policy | grep -q 'tmpl ' && fail "peer 2 kept policies"
	xiked_stop 1
	xiked_stop 2
}

run_case aes128gcm16-prfsha256-x25519 aes128gcm16 tunnel 4
run_case chacha20poly1305-prfsha256-ecp256 chacha20poly1305 transport 6
run_case aes256-sha384-modp2048 aes256-sha512 tunnel 6
run_case aes256gcm16-prfsha384-ecp384 aes128-sha256 transport 4
run_case aes128-sha256-x448 aes256gcm16 tunnel 4
run_case aes256-sha512-ecp521 aes256-sha384 transport 6
run_case aes128gcm16-prfsha512-modp3072 aes128gcm16-esn tunnel 6
run_case aes256gcm16-prfsha256-modp4096 aes256-sha256 tunnel 4
say "PASS"
