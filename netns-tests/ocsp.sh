#!/bin/sh
# OCSP from the daemon's client (src/daemon/ocsp_fetch.c, driven by
# tests/xk-ocsp-fetch) against real `openssl ocsp` responders on an index
# file, across the wire from peer 1 to peer 2:
#   - a delegated responder (id-kp-OCSPSigning) answers good, revoked
#     (keyCompromise) and unknown, over IPv4 and IPv6; the second question
#     about the same certificate is answered from the cache (requests=1,
#     cache_hits=1);
#   - the CA answering itself: good;
#   - a responder whose certificate another CA issued: refused (EBADMSG);
#   - responders by host name, IPv4 and IPv6 (peer 1's /etc/hosts, which
#     `ip netns exec` takes from /etc/netns/NS/), looked up off the loop;
#     a name that does not resolve ends with ENXIO, one whose name server
#     never answers with ETIMEDOUT (the lookup given up while it runs);
#   - no listener: ECONNREFUSED at once; a stopped responder (the kernel
#     accepts, nobody answers) and a port whose SYNs are dropped: each
#     ends with ETIMEDOUT after the timeout given, counted in timeouts.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ocsp-lib.sh"
require_root
require_cmd openssl nft
fetch=${XIKE_BUILD:?XIKE_BUILD unset}/tests/xk-ocsp-fetch
[ -x "$fetch" ] || skip "no $fetch (build the tree first)"
netns_setup

dir=$(mktemp -d "${TMPDIR:-/tmp}/xike-ocsp.XXXXXX")
at_exit "rm -rf '$dir'"
cd "$dir" || fail "cd $dir"

ocsp_ca ca "OCSP test CA"
ocsp_ca other "Other CA"
ocsp_cert responder "OCSP responder" 0x20 ca "extendedKeyUsage=OCSPSigning"
ocsp_cert foreign "Foreign responder" 0x21 other "extendedKeyUsage=OCSPSigning"
ocsp_cert good good.test 0x10 ca "keyUsage=digitalSignature"
ocsp_cert revoked revoked.test 0x11 ca "keyUsage=digitalSignature"
ocsp_cert unknown unknown.test 0x12 ca "keyUsage=digitalSignature"

# 0x12 is not in the CA's database: unknown.
ocsp_index V 10 good.test R 11 revoked.test

ocsp_responder 8888 responder
delegated_pid=$rpid
ocsp_responder 8889 ca
ocsp_responder 8890 foreign

# ask EXPECTED_EXIT PATTERN ARGS...: xk-ocsp-fetch in peer 1, its exit
# status and a line of its output checked.
ask() {
	_want=$1 _pat=$2
	shift 2
	say "xk-ocsp-fetch $*"
	_out=$(n1 "$fetch" "$@" 2>&1)
	_rc=$?
	printf '%s\n' "$_out" | sed 's/^/    /'
	[ "$_rc" = "$_want" ] || fail "exit status $_rc, expected $_want"
	printf '%s\n' "$_out" | grep -Eq "$_pat" || fail "no line matching '$_pat'"
}

v4=http://$IP2_4
ask 0 '^good$' -n 1 "$v4:8888/" good.pem ca.pem
ask 0 'requests=1 cache_hits=1 good=2' -n 2 "$v4:8888/" good.pem ca.pem
ask 0 '^good cached$' -n 2 "$v4:8888/" good.pem ca.pem
ask 1 '^revoked keyCompromise$' "$v4:8888/" revoked.pem ca.pem
ask 2 '^unknown$' "$v4:8888/" unknown.pem ca.pem
ask 0 '^good$' "http://[$IP2_6]:8888/ocsp" good.pem ca.pem
ask 1 '^revoked' "http://[$IP2_6]:8888/" revoked.pem ca.pem
# The CA signing its own answers; a responder of another CA.
ask 0 '^good$' "$v4:8889/" good.pem ca.pem
ask 3 '^error EBADMSG' "$v4:8890/" good.pem ca.pem
# The foreign responder trusted locally (-r): accepted.
ask 0 '^good$' -r foreign.pem "$v4:8890/" good.pem ca.pem

# Responders by name: peer 1's own hosts file, and a name server that
# refuses at once (nothing listens on its port 53) for any other name.
mkdir -p "/etc/netns/$NS1" || fail "cannot make /etc/netns/$NS1"
at_exit "rm -rf '/etc/netns/$NS1'"
printf '%s ocsp4.xike.test\n%s ocsp6.xike.test\n' "$IP2_4" "$IP2_6" >"/etc/netns/$NS1/hosts"
echo "nameserver 127.0.0.1" >"/etc/netns/$NS1/resolv.conf"
ask 0 '^good$' "http://ocsp4.xike.test:8888/" good.pem ca.pem
ask 1 '^revoked keyCompromise$' "http://ocsp6.xike.test:8888/" revoked.pem ca.pem
ask 3 "^error ENXIO: the responder's host name does not resolve" -t 5 \
	"http://nosuch.xike.test:8888/" good.pem ca.pem

# Dead responders.
ask 3 '^error ECONNREFUSED' -t 5 "$v4:8899/" good.pem ca.pem
kill -STOP "$delegated_pid"
ask 3 'failed=1 timeouts=1' -t 2 "$v4:8888/" good.pem ca.pem
kill -CONT "$delegated_pid"
must n2 nft -f - <<'NFT'
table inet drop_ocsp {
	chain input {
		type filter hook input priority 0; policy accept;
		tcp dport 8891 drop
		udp dport 53 drop
	}
}
NFT
ask 3 '^error ETIMEDOUT' -t 2 "$v4:8891/" good.pem ca.pem
# A name server that never answers: the question times out while the
# name is still being looked up, and the lookup is given up.
echo "nameserver $IP2_4" >"/etc/netns/$NS1/resolv.conf"
ask 3 '^error ETIMEDOUT' -t 1 "http://slow.xike.test:8888/" good.pem ca.pem
# The responder answers again once it runs again.
ask 0 '^good$' "$v4:8888/" good.pem ca.pem
say "PASS"
