#!/bin/sh
# xike-load's certificate path (--cert, --key, --id, --ca) against a running
# xiked that signs too, with certificates made here by openssl (one RSA-2048
# root; xike-load's certificate ECDSA P-256, xiked's RSA-2048, so both
# signature families cross):
#   - 20 IKE SAs with one identity: all up, xiked counts 20 handshakes and
#     20 CHILD SAs and no AUTH failure, then xike-load DELETEs all of them;
#   - xike-load trusting another CA: it refuses xiked's certificate, nothing
#     comes up, exit 1;
#   - xike-load's certificate from another CA: xiked answers
#     AUTHENTICATION_FAILED, counted by xike-load and by xiked;
#   - set-up mistakes end before any packet, with exit 2 and a message
#     naming the option: --id not in the certificate, a key that is not the
#     certificate's, --cert without --id, --id with %d, a missing file;
#   - no sanitizer report from xiked (and xike-load's own runs exit cleanly).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/xiked-lib.sh"
require_root
require_cmd openssl
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
XLOAD=$XIKE_BUILD/tools/xike-load
[ -x "$XLOAD" ] || fail "$XLOAD is missing"
netns_setup

P=$XK_DIR/pki
mkdir -p "$P"

# ca NAME: a self-signed RSA-2048 CA.
ca() {
	must openssl req -x509 -newkey rsa:2048 -nodes -keyout "$P/$1.key" -out "$P/$1.pem" \
		-subj "/O=xike test/CN=$1" -days 30 \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
}

# ee NAME CA NEWKEY ID: a certificate for ID (DNS subjectAltName) under CA;
# NEWKEY is openssl req's -newkey and its options.
ee() {
	# shellcheck disable=SC2086
	must openssl req -new -newkey $3 -nodes -keyout "$P/$1.key" -out "$P/$1.csr" \
		-subj "/O=xike test/CN=$4"
	printf 'subjectAltName=DNS:%s\nkeyUsage=critical,digitalSignature\n' "$4" >"$P/$1.ext"
	must openssl x509 -req -in "$P/$1.csr" -CA "$P/$2.pem" -CAkey "$P/$2.key" \
		-CAcreateserial -days 30 -extfile "$P/$1.ext" -out "$P/$1.pem"
	chmod 0640 "$P/$1.key"
}
ca root
ca other
EC="ec -pkeyopt ec_paramgen_curve:P-256"
ee load root "$EC" load.test
ee resp root rsa:2048 resp.test
ee stranger other "$EC" load.test
if getent group xike >/dev/null; then
	chgrp -R xike "$P" && chmod 0750 "$P"
fi

# The responder: any identity its CA vouches for (no remote-id, so
# INITIAL_CONTACT from the one identity drops nothing).
{
	xiked_conf_t 2 "backend = soft
install-routes = no
half-open-max-ip = 1000" "auth = pubkey" "cert = $P/resp.pem" "key = $P/resp.key" \
		"local-id = resp.test" "remote-auth = pubkey" "ca = $P/root.pem" \
		"local-ts = 10.2.0.1/32" "remote-ts = 10.128.0.0/16"
} | sed 's/^remote = .*/remote = %any/' | xiked_start 2

# load OUT ARGS...: xike-load from peer 1; its exit status in $LOAD_RC.
load() {
	_out=$1
	shift
	LOAD_RC=0
	ip netns exec "$NS1" "$XLOAD" -q -w 8 --ts 10.128.0.0/16 --remote-ts 10.2.0.1/32 \
		--retransmit 2000 --tries 3 --timeout 60 "$@" "$IP2_4" >"$XK_DIR/$_out" \
		2>"$XK_DIR/$_out.err" || LOAD_RC=$?
}

stat2() {
	ctl 2 stats | awk -v k="$1" '$1 == k { print $2 }'
}

# 1. Both sides sign: every SA up, then every SA deleted on request.
load ok.out -n 20 --cert "$P/load.pem" --key "$P/load.key" --id load.test \
	--ca "$P/root.pem" --remote-id resp.test --delete
cat "$XK_DIR/ok.out" "$XK_DIR/ok.out.err" >&2
[ "$LOAD_RC" = 0 ] || fail "xike-load with certificates: exit $LOAD_RC"
grep -q '^established  20 of 20 ' "$XK_DIR/ok.out" || fail "not 20 SAs up"
grep -q '^deleted      20 of 20 ' "$XK_DIR/ok.out" || fail "not 20 SAs deleted"
grep -q 'auth: we sign (certificate), the responder signs' "$XK_DIR/ok.out" ||
	fail "the report does not name certificate authentication"
[ "$(stat2 handshakes-ok)" = 20 ] || fail "xiked: $(stat2 handshakes-ok) handshakes, not 20"
[ "$(stat2 auth-failures)" = 0 ] || fail "xiked: AUTH failures with good certificates"
no_child_sas() {
	[ "$(stat2 child-sas)" = 0 ]
}
wait_for 10 no_child_sas ||
	fail "xiked still holds CHILD SAs after the DELETEs"
say "20 SAs up and down with ECDSA (ours) and RSA (xiked's) certificates"

# The JSON report names both sides' method.
load json.out -n 2 --cert "$P/load.pem" --key "$P/load.key" --id load.test \
	--ca "$P/root.pem" --json
[ "$LOAD_RC" = 0 ] || fail "xike-load --json with certificates: exit $LOAD_RC"
grep -Eq '"local_auth": ?"pubkey"' "$XK_DIR/json.out" && grep -Eq '"remote_auth": ?"pubkey"' "$XK_DIR/json.out" ||
	fail "the JSON report does not name pubkey for both sides: $(cat "$XK_DIR/json.out")"

# 2. xike-load trusts another CA: xiked's certificate is refused.
load wrongca.out -n 3 --cert "$P/load.pem" --key "$P/load.key" --id load.test \
	--ca "$P/other.pem"
[ "$LOAD_RC" = 1 ] || fail "xike-load trusting another CA: exit $LOAD_RC, not 1"
grep -q '^established  0 of 3 ' "$XK_DIR/wrongca.out" || fail "an SA came up with an untrusted responder"
grep -q '^failed       3' "$XK_DIR/wrongca.out" || fail "the 3 failures are not counted"
say "responder's certificate refused: $(sed -n 's/^failed *//p' "$XK_DIR/wrongca.out")"

# 3. xiked does not know xike-load's CA.
before=$(stat2 auth-failures)
load stranger.out -n 3 --cert "$P/stranger.pem" --key "$P/stranger.key" --id load.test \
	--ca "$P/root.pem"
[ "$LOAD_RC" = 1 ] || fail "xike-load with a stranger's certificate: exit $LOAD_RC, not 1"
grep -q '^failed       3: AUTHENTICATION_FAILED 3' "$XK_DIR/stranger.out" ||
	fail "not refused with AUTHENTICATION_FAILED: $(grep '^failed' "$XK_DIR/stranger.out")"
[ "$(stat2 auth-failures)" -ge $((before + 3)) ] || fail "xiked did not count the AUTH failures"
say "our certificate from another CA: AUTHENTICATION_FAILED, counted on both sides"

# 4. Set-up mistakes: exit 2 before any handshake, with a clear message.
rx=$(stat2 rx-packets)
mistake() {
	_want=$1
	shift
	load mistake.out -n 1 --ca "$P/root.pem" "$@"
	[ "$LOAD_RC" = 2 ] || fail "xike-load $*: exit $LOAD_RC, not 2"
	grep -q -- "$_want" "$XK_DIR/mistake.out.err" ||
		fail "xike-load $*: '$(cat "$XK_DIR/mistake.out.err")' does not say '$_want'"
}
mistake "is not an identity of the certificate" --cert "$P/load.pem" --key "$P/load.key" \
	--id other.test
mistake "^xike-load: --cert $P/load.pem:" --cert "$P/load.pem" --key "$P/stranger.key" \
	--id load.test
mistake "--cert needs --id" --cert "$P/load.pem" --key "$P/load.key"
mistake "no %d" --cert "$P/load.pem" --key "$P/load.key" --id "load%d.test"
mistake "^xike-load: --key $P/nothing:" --cert "$P/load.pem" --key "$P/nothing" --id load.test
mistake "--cert and --key go together" --cert "$P/load.pem"
[ "$(stat2 rx-packets)" = "$rx" ] || fail "a mistaken run reached xiked"
say "set-up mistakes named, nothing sent"

sanitizer_clean 2
say "PASS"
