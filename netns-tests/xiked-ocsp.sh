#!/bin/sh
# OCSP asked during IKE_AUTH: two xiked (userspace ESP, ECDSA P-256
# certificates of a CA made here) each asking an `openssl ocsp` responder
# in peer 2 about the other's certificate (ocsp-uri), peer 1 as the
# initiator processing the IKE_AUTH response, peer 2 as the responder
# before it answers:
#   - both good: the tunnel comes up, both logs say "good from" the URI;
#   - peer 1's certificate revoked: AUTHENTICATION_FAILED on both sides,
#     no CHILD SA on either;
#   - the responder gone: peer 2 with revocation = strict refuses, with
#     relaxed lets the tunnel up.
# Both daemons start afresh for each case (the OCSP cache starts empty);
# peer 1 runs without worker threads, peer 2 with one.  Peer 1 names the
# responder by a host name (its /etc/hosts, from /etc/netns/NS/), peer 2
# by its address.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/xiked-lib.sh"
. "$(dirname "$0")/ocsp-lib.sh"
xiked_xike_setup openssl

pki=$XK_DIR/pki
xiked_key_dir "$pki"
cd "$pki" || fail "cd $pki"
# Over IPv6: the tunnel's selectors (IPv4, host to host) must not take
# the responder's answers into an SA the asking side has not installed yet.
uri=http://[$IP2_6]:8888/
name_uri=http://ocsp.xike.test:8888/
mkdir -p "/etc/netns/$NS1" || fail "cannot make /etc/netns/$NS1"
at_exit "rm -rf '/etc/netns/$NS1'"
echo "$IP2_6 ocsp.xike.test" >"/etc/netns/$NS1/hosts"
ocsp_ca ca "xike OCSP test CA"
ocsp_cert responder "OCSP responder" 0x20 ca "extendedKeyUsage=OCSPSigning"
host_ext() {
	printf 'keyUsage=critical,digitalSignature\nsubjectAltName=DNS:%s\nauthorityInfoAccess=OCSP;URI:%s\n' "$1" "$uri"
}
ocsp_cert p1 p1.test 0x10 ca "$(host_ext p1.test)"
ocsp_cert p2 p2.test 0x11 ca "$(host_ext p2.test)"
ocsp_cert p1r p1.test 0x12 ca "$(host_ext p1.test)"
ocsp_index V 10 p1.test V 11 p2.test R 12 p1.test
for k in p1 p2 p1r; do
	chgrp xike "$k.key" && chmod 0640 "$k.key" || fail "cannot install $k.key"
done
chmod 0644 ./*.pem
ocsp_responder 8888 responder

# conf N CERT REVOCATION: peer N with certificates both ways, asking the responder.
conf() {
	# Peer 1 without worker threads (OCSP is still handed out), peer 2 with.
	if [ "$1" = 1 ]; then
		_me=p1.test _peer=p2.test _u=$name_uri _g="backend = soft
threads = 1"
	else
		_me=p2.test _peer=p1.test _u=$uri _g="backend = soft
threads = 2"
	fi
	xiked_conf_t "$1" "$_g" "auth = pubkey" "remote-auth = pubkey" \
		"local-id = $_me" "remote-id = $_peer" "cert = $pki/$2.pem" \
		"key = $pki/$2.key" "ca = $pki/ca.pem" "revocation = $3" "ocsp-uri = $_u"
}
# stop_both: both daemons stopped, each log free of sanitizer reports.
stop_both() {
	xiked_stop 1
	xiked_stop 2
	sanitizer_clean 1 2
}
# pair CERT1 REV1 REV2: both daemons afresh, peer 1 initiating.
pair() {
	[ -f "$XK_DIR/peer1.pid" ] && stop_both
	conf 1 "$1" "$2" | xiked_start 1
	conf 2 p2 "$3" | xiked_start 2
	check ctl 1 initiate t
}
logs() {
	grep -qF "$2" "$XK_DIR/peer$1.log"
}
logs_re() {
	grep -q "$2" "$XK_DIR/peer$1.log"
}
no_sas() {
	! ctl "$1" --json list-sas | grep -q '"spi-i"'
}
refused() {
	wait_for 20 logs_re 2 "authentication failed conn=t .*: $1" ||
		fail "peer 2 did not refuse: $1"
	wait_for 10 logs_re 1 "authentication failed conn=t.*peer rejected our authentication" ||
		fail "peer 1 was not told AUTHENTICATION_FAILED"
	wait_for 10 no_sas 1 || fail "peer 1 kept an IKE SA"
	wait_for 10 no_sas 2 || fail "peer 2 kept an IKE SA"
	child_up 1 && fail "a CHILD SA on peer 1"
	child_up 2 && fail "a CHILD SA on peer 2"
}

say "both certificates good: up, each side asked"
pair p1 strict strict
wait_for 20 child_up 1 || fail "no CHILD SA on peer 1"
wait_for 10 child_up 2 || fail "no CHILD SA on peer 2"
logs 1 "OCSP conn=t: good from $name_uri" || fail "peer 1 did not ask the responder by name"
logs 2 "OCSP conn=t: good from $uri" || fail "peer 2 did not ask the responder"
[ "$(ctl_stat 2 ocsp-requests)" -ge 1 ] || fail "peer 2 counted no OCSP request"
# list-certs shows the answer kept: peer 1's certificate, good, from the URI.
ocsp_listed() { # N STATUS SERIAL URI
	ctl "$1" --json list-certs | python3 -c '
import json, sys
want_status, want_serial, uri = sys.argv[1:4]
for o in json.load(sys.stdin)["ocsp"]:
    if o["status"] == want_status and o["serial"] == want_serial and o["responder"] == uri:
        sys.exit(0)
sys.exit(1)' "$2" "$3" "$4"
}
ocsp_listed 2 good 10 "$uri" || fail "peer 2's list-certs lacks the good answer about serial 10"
ocsp_listed 1 good 11 "$name_uri" ||
	fail "peer 1's list-certs lacks the good answer about serial 11"
ctl 2 list-certs | grep -q "^ocsp .*p1.test" || fail "xikectl list-certs shows no ocsp block"

say "peer 1's certificate revoked: AUTHENTICATION_FAILED, nothing installed"
pair p1r strict strict
refused revoked
logs 2 "OCSP conn=t: revoked from $uri" || fail "peer 2 did not log the revocation"
ocsp_listed 2 revoked 12 "$uri" || fail "peer 2's list-certs lacks the revoked answer about serial 12"

say "the responder gone: strict refuses"
kill "$rpid"
pair p1 relaxed strict
refused "revocation status unknown (revocation = strict)"
logs 2 "OCSP conn=t: no answer from $uri" || fail "peer 2 did not log the failed query"

say "the responder gone: relaxed lets it up"
pair p1 relaxed relaxed
wait_for 20 child_up 1 || fail "no CHILD SA on peer 1 (relaxed)"
wait_for 10 child_up 2 || fail "no CHILD SA on peer 2 (relaxed)"
stop_both
say "PASS"
