#!/bin/sh
# Certificates from files, as a deployment has them: two xiked with
# userspace ESP authenticate with ECDSA P-256 certificates of a CA made
# here with openssl.  Each key file is root:xike 0640 and read before the
# daemon drops to user xike; a key others may read is refused with an
# error naming the file and the key.  The tunnel carries pings (esp-soft's
# counters move).  Peer 2 gets a new certificate and key and reloads: its
# SAs go, and the next IKE SA is authenticated with the new certificate
# (proved by peer 1 then revoking the old one: the handshake still
# succeeds).  Peer 1 reloads with a CRL revoking the new one as well: the
# next handshake fails with AUTHENTICATION_FAILED and no CHILD SA.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/xiked-lib.sh"
. "$(dirname "$0")/interop/certs.sh"
xiked_xike_setup ping openssl

pki=$XK_DIR/pki
xiked_key_dir "$pki"
pki_ca "$pki" ca ecp256 || fail "cannot make the CA"
pki_host "$pki" p1 ecp256 ca p1.test || fail "cannot make peer 1's certificate"
pki_host "$pki" p2-old ecp256 ca p2.test || fail "cannot make peer 2's certificate"
pki_host "$pki" p2-new ecp256 ca p2.test || fail "cannot make peer 2's new certificate"
# install KEY NAME: as a deployment would, root:xike 0640.
install_key() {
	{ cp "$pki/$1.key" "$pki/$2.key" && chgrp xike "$pki/$2.key" && chmod 0640 "$pki/$2.key"; } ||
		fail "cannot install $2.key"
	cp "$pki/$1.pem" "$pki/$2.pem" && chmod 0644 "$pki/$2.pem" "$pki/ca.pem"
}
install_key p1 peer1
install_key p2-old peer2

# conf N [LINE...]: peer N with certificates both ways.
conf() {
	_n=$1
	shift
	if [ "$_n" = 1 ]; then _me=p1.test _peer=p2.test; else _me=p2.test _peer=p1.test; fi
	xiked_conf_t "$_n" "backend = soft" "auth = pubkey" "remote-auth = pubkey" \
		"local-id = $_me" "remote-id = $_peer" "cert = $pki/peer$_n.pem" \
		"key = $pki/peer$_n.key" "ca = $pki/ca.pem" "$@"
}

say "a key file others may read is refused, naming the file and the key"
chmod 0644 "$pki/peer1.key"
conf 1 >"$XK_DIR/open.conf"
out=$("$XIKED" --check -c "$XK_DIR/open.conf" 2>&1) && fail "--check accepted a world-readable key"
echo "$out"
echo "$out" | grep -q "open.conf:[0-9]*: \[t\] key: $pki/peer1.key: other users may read it" ||
	fail "unclear error: $out"
chmod 0640 "$pki/peer1.key"

# up: peer 1 initiates; both have a CHILD SA and pings go through ESP.
up() {
	check ctl 1 initiate t
	wait_for 20 child_up 1 || fail "no CHILD SA on peer 1 ($1)"
	wait_for 10 child_up 2 || fail "no CHILD SA on peer 2 ($1)"
	_tx=$(ctl_stat 1 esp-tx-packets)
	check n1 ping -c 3 -i 0.2 -W 2 "$IP2_4"
	[ "$(ctl_stat 1 esp-tx-packets)" -ge $((_tx + 3)) ] ||
		fail "the pings did not go through esp-soft ($1)"
	say "tunnel up and carrying traffic: $1"
}

# no_sas N: peer N holds no IKE SA.
no_sas() {
	! ctl "$1" --json list-sas | grep -q '"spi-i"'
}

conf 1 | xiked_start 1
conf 2 | xiked_start 2
for n in 1 2; do
	xiked_log "$n" | grep -q "running as xike" || fail "peer $n did not drop to user xike"
done
up "first certificates"
ctl 1 --json list-sas | grep -q '"p2.test"' ||
	fail "peer 1 does not show p2.test as the peer's identity"

say "peer 2: a new certificate and key, then a reload (as user xike)"
install_key p2-new peer2
check ctl 2 reload
wait_for 10 no_sas 2 || fail "peer 2 kept its SAs after its files changed"
wait_for 10 no_sas 1 || fail "peer 1 kept its SA after peer 2's reload"
up "peer 2's new certificate"

say "peer 1: a CRL revoking peer 2's old certificate; the new one still passes"
pki_crl "$pki" ca p2-old || fail "cannot make the CRL"
chmod 0644 "$pki/ca.crl"
conf 1 "crl = $pki/ca.crl" >"$XK_DIR/peer1.conf"
check ctl 1 reload
wait_for 10 no_sas 1 || fail "peer 1 kept its SA after its own reload"
wait_for 10 no_sas 2 || fail "peer 2 kept its SA after peer 1's reload"
up "old certificate revoked, new one in use"

say "peer 1: the CRL now revokes the new certificate too"
pki_crl "$pki" ca p2-new || fail "cannot make the CRL"
chmod 0644 "$pki/ca.crl"
# The CRL's contents changed, not the config: a reload sees the file.
check ctl 1 reload
wait_for 10 no_sas 1 || fail "peer 1 kept its SA after the new CRL"
wait_for 10 no_sas 2 || fail "peer 2 kept its SA after peer 1's reload"
check ctl 1 initiate t
wait_for 20 sh -c "grep -q 'authentication failed conn=t .*: revoked' '$XK_DIR/peer1.log'" ||
	fail "peer 1 did not refuse the revoked certificate"
xiked_log 1 | grep -q "IKE SA failed conn=t .*notify=AUTHENTICATION_FAILED" ||
	fail "peer 1's log has no AUTHENTICATION_FAILED"
wait_for 10 sh -c "grep -q 'authentication failed conn=t: peer rejected our authentication' '$XK_DIR/peer2.log'" ||
	fail "peer 2 was not told AUTHENTICATION_FAILED"
wait_for 10 no_sas 1 || fail "peer 1 kept an IKE SA"
wait_for 10 no_sas 2 || fail "peer 2 kept an IKE SA"
child_up 1 && fail "a CHILD SA on peer 1 despite the revoked certificate"
child_up 2 && fail "a CHILD SA on peer 2 despite the revoked certificate"
xiked_log 1 | grep 'authentication failed'
say "PASS"
