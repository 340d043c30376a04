#!/bin/sh
# Certificates in a running xiked: two daemons authenticate with
# certificates made here by openssl (an EC root, each peer's certificate
# under it; peer 1's ends in 5 days) and bring a tunnel up.  Then:
# `xikectl list-certs` names each certificate once with its users and
# fingerprint (the one openssl computes) and days left; peer 1 warned of its
# certificate at start (log), and a reload emits the `cert-expiring` event
# to a subscriber; a reload with a renewed certificate lists the new one,
# the old one gone; a reload with an expired certificate is refused and
# the running config stays; the group's read-only list-certs works through
# --json; no sanitizer report.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/xiked-lib.sh"
require_root
require_cmd openssl perl
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
netns_setup

P=$XK_DIR/pki
mkdir -p "$P"
must openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$P/root.key" -out "$P/root.pem" -subj "/O=xike test/CN=netns root" -days 30 \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign

# cert N DAYS NAME: peer N's key and a certificate valid for DAYS days.
cert() {
	must openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$P/peer$1.key" -out "$P/peer$1.csr" -subj "/O=xike test/CN=$3"
	printf 'subjectAltName=DNS:%s\nkeyUsage=critical,digitalSignature\n' "$3" >"$P/ext$1"
	must openssl x509 -req -in "$P/peer$1.csr" -CA "$P/root.pem" -CAkey "$P/root.key" \
		-CAcreateserial -days "$2" -extfile "$P/ext$1" -out "$P/peer$1.pem"
	chmod 0640 "$P/peer$1.key"
}
cert 1 5 gw1.test
cert 2 300 gw2.test
if getent group xike >/dev/null; then
	chgrp -R xike "$P" && chmod 0750 "$P"
fi

conf() {
	_me=$1 _other=$((3 - $1))
	xiked_conf_t "$1" "backend = soft
install-routes = no
cert-expiry-warning = 10" "auth = pubkey" "cert = $P/peer$1.pem" "key = $P/peer$1.key" \
		"ca = $P/root.pem" "local-id = gw$_me.test" "remote-id = gw$_other.test"
}
conf 1 | xiked_start 1
conf 2 | xiked_start 2
check ctl 1 initiate t
wait_for 20 child_up 1 || fail "no CHILD SA with certificates"
wait_for 10 child_up 2 || fail "no CHILD SA on peer 2"

fp() {
	openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//'
}

ctl 1 --json list-certs >"$XK_DIR/certs.json" || fail "list-certs failed"
say "list-certs: $(ctl 1 list-certs | head -6 | tr -s ' ' | tr '\n' '|')"
# perl: the answer's entries by fingerprint, with days-left and used-by.
entries() {
	perl -MJSON::PP -e '
		local $/; my $r = decode_json(<STDIN>);
		for my $c (@{$r->{certs}}) {
			my $u = join ",", map { "$_->{conn}:$_->{as}" } @{$c->{"used-by"}};
			printf "%s %s %s %s\n", $c->{sha256}, $c->{"days-left"}, $u, $c->{subject};
		}' <"$1"
}
entries "$XK_DIR/certs.json" >"$XK_DIR/certs.txt"
cat "$XK_DIR/certs.txt"
[ "$(wc -l <"$XK_DIR/certs.txt")" = 2 ] || fail "list-certs: expected 2 entries (own, root)"
# Days left: whole days, so 4 or 5 by the second the listing is made.
grep -Eq "^$(fp "$P/peer1.pem") [45] t:own CN=gw1.test,O=xike test$" "$XK_DIR/certs.txt" ||
	fail "list-certs: peer 1's certificate (fingerprint, days left, use) not listed"
grep -Eq "^$(fp "$P/root.pem") (29|30) t:ca " "$XK_DIR/certs.txt" ||
	fail "list-certs: the root not listed as t's CA"

# Peer 1's certificate ends within cert-expiry-warning (10 days): a warning at start.
xiked_log 1 | grep -q 'conn=t: own certificate "CN=gw1.test,O=xike test" expires in [45] day' ||
	fail "no expiry warning in peer 1's log"
xiked_log 2 | grep -q 'expires in' && fail "peer 2 warned of a certificate 300 days from its end"

# A subscriber sees the event at reload.
ip netns exec "$NS1" perl -MIO::Socket::UNIX -e '
	my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $ARGV[0]) or die "$!\n";
	$s->autoflush(1);
	print $s "{\"cmd\":\"subscribe\"}\n";
	<$s>;
	system("kill", "-HUP", $ARGV[1]);
	$SIG{ALRM} = sub { exit 0 };
	alarm 5;
	while (my $l = <$s>) { print $l; exit 0 if $l =~ /cert-expiring/; }' \
	"/run/xike-test-$$-1.sock" "$(cat "$XK_DIR/peer1.pid")" >"$XK_DIR/events.out"
grep -q '"event":"cert-expiring","conn":"t","as":"own"' "$XK_DIR/events.out" ||
	fail "no cert-expiring event at reload: $(cat "$XK_DIR/events.out")"

# A renewed certificate (same key): a reload reads it, list-certs shows it alone.
old=$(fp "$P/peer1.pem")
must openssl x509 -req -in "$P/peer1.csr" -CA "$P/root.pem" -CAkey "$P/root.key" \
	-CAcreateserial -days 200 -extfile "$P/ext1" -out "$P/peer1.new"
cp "$P/peer1.new" "$P/peer1.pem"
check ctl 1 reload
ctl 1 --json list-certs >"$XK_DIR/certs2.json"
entries "$XK_DIR/certs2.json" >"$XK_DIR/certs2.txt"
grep -Eq "^$(fp "$P/peer1.pem") (199|200) t:own " "$XK_DIR/certs2.txt" ||
	fail "the renewed certificate is not listed: $(cat "$XK_DIR/certs2.txt")"
grep -q "^$old " "$XK_DIR/certs2.txt" && fail "the replaced certificate is still listed"
check ctl 1 initiate t
wait_for 20 child_up 1 || fail "no CHILD SA with the renewed certificate"

# An expired certificate of ours (openssl ca sets past dates; x509 cannot):
# the reload is refused, the running config stays.
touch "$P/index.txt"
echo 1000 >"$P/serial"
cat >"$P/ca.cnf" <<CNF
[ca]
default_ca = d
[d]
database = $P/index.txt
new_certs_dir = $P
serial = $P/serial
default_md = sha256
policy = p
[p]
commonName = supplied
organizationName = optional
CNF
must openssl ca -batch -config "$P/ca.cnf" -cert "$P/root.pem" -keyfile "$P/root.key" \
	-in "$P/peer1.csr" -startdate 20200101000000Z -enddate 20200201000000Z \
	-extfile "$P/ext1" -notext -out "$P/peer1.old"
cp "$P/peer1.old" "$P/peer1.pem"
out=$(ctl 1 reload 2>&1) && fail "a reload with an expired certificate was accepted"
echo "$out" | grep -q "cert: $P/peer1.pem: the certificate expired on 2020-02-01" ||
	fail "reload error: $out"
ctl 1 --json list-certs | grep -q "$(fp "$P/peer1.new")" ||
	fail "the running config's certificate is gone after a refused reload"
child_up 1 || fail "the tunnel went with the refused reload"

for n in 1 2; do
	if grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error' "$XK_DIR/peer$n.log" >&2; then
		fail "xiked $n: a sanitizer report (above)"
	fi
done
say "certificates: list-certs, expiry warning and event, renewal and refusal at reload"
