# A small PKI made with openssl at test time, for the certificate cases.
# Source it (POSIX sh).  Every function writes into the directory it is
# given; nothing is reused between runs (a fresh CA each time).
#
#	pki_key FILE TYPE        a private key (PKCS#8 PEM, mode 0600): TYPE is
#	                         rsa2048, rsa3072, ecp256, ecp384 or ed25519
#	pki_ca DIR NAME TYPE [ISSUER]
#	                         a CA: DIR/NAME.key, DIR/NAME.pem; self-signed, or
#	                         an intermediate signed by ISSUER (a name in DIR)
#	pki_host DIR NAME TYPE ISSUER FQDN
#	                         an end-entity certificate for FQDN: subject
#	                         "C=CH, O=xike test, CN=FQDN", subjectAltName
#	                         DNS:FQDN, digitalSignature, serverAuth and
#	                         clientAuth: DIR/NAME.key, DIR/NAME.pem
#	pki_crl DIR ISSUER [NAME...]
#	                         a CRL of ISSUER revoking the certificates NAME
#	                         (none: an empty CRL): DIR/ISSUER.crl (PEM)
#	pki_dn FQDN              the subject pki_host gives FQDN, as strongSwan
#	                         writes a DN
#
# The CAs sign with SHA-256 (RSA PKCS#1 v1.5, ECDSA) or Ed25519.  Each CA
# keeps an openssl "ca" database in DIR/NAME.db/ for its CRLs.  A CRL
# carries the CA's authorityKeyIdentifier: charon looks CRLs up by the
# issuer's key identifier and ignores one without it ("certificate status
# is not available").

PKI_O="xike test"

pki_key() {
	case $2 in
	rsa2048) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" ;;
	rsa3072) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out "$1" ;;
	ecp256) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" ;;
	ecp384) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$1" ;;
	ed25519) openssl genpkey -algorithm ED25519 -out "$1" ;;
	*) echo "pki_key: unknown key type '$2'" >&2; return 1 ;;
	esac 2>>"${1%/*}/openssl.err" || return 1
	chmod 600 "$1"
}

# The digest option for a signing key: none for Ed25519.
_pki_md() {
	case $1 in
	ed25519) ;;
	*) echo -sha256 ;;
	esac
}

pki_dn() {
	echo "C=CH, O=$PKI_O, CN=$1"
}

# _pki_ca_db DIR NAME: the files openssl ca wants for NAME's CRLs.
_pki_ca_db() {
	mkdir -p "$1/$2.db"
	: >"$1/$2.db/index.txt"
	echo 01 >"$1/$2.db/crlnumber"
	cat >"$1/$2.db/ca.cnf" <<EOF
[ca]
default_ca = this
[this]
database = $1/$2.db/index.txt
crlnumber = $1/$2.db/crlnumber
certificate = $1/$2.pem
private_key = $1/$2.key
default_md = $([ "$(cat "$1/$2.type")" = ed25519 ] && echo default || echo sha256)
default_crl_days = 30
crl_extensions = crl_ext
[crl_ext]
authorityKeyIdentifier = keyid:always
EOF
}

pki_ca() {
	_d=$1 _n=$2 _t=$3 _iss=${4:-}
	pki_key "$_d/$_n.key" "$_t" || return 1
	echo "$_t" >"$_d/$_n.type"
	cat >"$_d/$_n.ext" <<EOF
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
	# shellcheck disable=SC2046
	if [ -z "$_iss" ]; then
		cat >"$_d/$_n.req" <<EOF
[req]
distinguished_name = dn
[dn]
[v3]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF
		openssl req -new -x509 -days 30 $(_pki_md "$_t") -key "$_d/$_n.key" \
			-subj "/C=CH/O=$PKI_O/CN=$_n" -extensions v3 \
			-config "$_d/$_n.req" -out "$_d/$_n.pem" 2>>"$_d/openssl.err" || return 1
	else
		openssl req -new -key "$_d/$_n.key" -subj "/C=CH/O=$PKI_O/CN=$_n" \
			-out "$_d/$_n.csr" 2>>"$_d/openssl.err" || return 1
		_pki_sign "$_d" "$_n" "$_iss" || return 1
	fi
	_pki_ca_db "$_d" "$_n"
}

# _pki_sign DIR NAME ISSUER: DIR/NAME.csr with DIR/NAME.ext, by ISSUER.
_pki_sign() {
	_it=$(cat "$1/$3.type" 2>/dev/null)
	# shellcheck disable=SC2046
	openssl x509 -req -in "$1/$2.csr" -CA "$1/$3.pem" -CAkey "$1/$3.key" \
		-set_serial "0x$(openssl rand -hex 8)" -days 30 $(_pki_md "$_it") \
		-extfile "$1/$2.ext" -out "$1/$2.pem" 2>>"$_d/openssl.err"
}

pki_host() {
	_d=$1 _n=$2 _t=$3 _iss=$4 _fqdn=$5
	pki_key "$_d/$_n.key" "$_t" || return 1
	openssl req -new -key "$_d/$_n.key" -subj "/C=CH/O=$PKI_O/CN=$_fqdn" \
		-out "$_d/$_n.csr" 2>>"$_d/openssl.err" || return 1
	cat >"$_d/$_n.ext" <<EOF
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = DNS:$_fqdn
authorityKeyIdentifier = keyid
EOF
	_pki_sign "$_d" "$_n" "$_iss"
}

pki_crl() {
	_d=$1 _iss=$2
	shift 2
	for _c; do
		openssl ca -config "$_d/$_iss.db/ca.cnf" -revoke "$_d/$_c.pem" \
			-crl_reason keyCompromise >>"$_d/openssl.err" 2>&1 || return 1
	done
	openssl ca -config "$_d/$_iss.db/ca.cnf" -gencrl -out "$_d/$_iss.crl" >>"$_d/openssl.err" 2>&1
}

# ---- the interop cases' certificates ------------------------------------
#
# SC2034: what certs_setup sets, run.sh's xike_conf and charon_conf print.
# shellcheck disable=SC2034

# certs_setup DIR: after a case is sourced (its variables are described in
# run.sh's header), before either daemon starts.  Makes the PKI in DIR/pki;
# sets what xike_conf and charon_conf print (XIKE_EXTRA, XIKE_PSK,
# XIKE_AUTH, CHARON_AUTH, CHARON_LOCAL_EXTRA, CHARON_REMOTE_EXTRA) and the plugins
# charon needs for certificates; puts charon's files where swanctl looks
# for them, beside its swanctl.conf in DIR/charon (x509, x509ca, private,
# x509crl).  With both sides on a pre-shared key it does nothing.
#
# Names: xiked's certificate is for xike.test, charon's for charon.test,
# both with the subject "C=CH, O=xike test, CN=<name>".  The CA is "ca";
# CERT_CHAIN=intermediate puts one intermediate CA under it for each side
# ("sub-xike", "sub-charon"): each sends its own in a CERT payload, each
# verifier holds the root only.  XIKE_ISSUER / CHARON_ISSUER = other: that
# side's certificate comes from "other", a CA the peer does not trust.
# REVOKED=xike|charon: that side's certificate is on its CA's CRL, which
# the other side is given.
certs_setup() {
	: "${XIKE_CERT_KEY:=$CERT_KEY}" "${CHARON_CERT_KEY:=$CERT_KEY}"
	: "${XIKE_AUTH:=${XIKE_CERT_KEY:+pubkey}}" "${CHARON_AUTH:=${CHARON_CERT_KEY:+pubkey}}"
	: "${XIKE_AUTH:=psk}" "${CHARON_AUTH:=psk}"
	[ "$XIKE_AUTH" = pubkey ] || [ "$CHARON_AUTH" = pubkey ] || return 0
	_pd=$1/pki
	_cd=$1/charon
	mkdir -p "$_pd" "$_cd/x509" "$_cd/x509ca" "$_cd/private" "$_cd/x509crl"
	_cak=${CA_KEY:-${XIKE_CERT_KEY:-$CHARON_CERT_KEY}}
	pki_ca "$_pd" ca "$_cak" || fail "cannot make the CA ($_cak)"
	if [ "$XIKE_ISSUER" = other ] || [ "$CHARON_ISSUER" = other ]; then
		pki_ca "$_pd" other "$_cak" || fail "cannot make the other CA"
	fi
	_xiss=ca _ciss=ca
	if [ "$CERT_CHAIN" = intermediate ]; then
		pki_ca "$_pd" sub-xike "$_cak" ca || fail "cannot make an intermediate CA"
		pki_ca "$_pd" sub-charon "$_cak" ca || fail "cannot make an intermediate CA"
		_xiss=sub-xike _ciss=sub-charon
	fi
	[ "$XIKE_ISSUER" = other ] && _xiss=other
	[ "$CHARON_ISSUER" = other ] && _ciss=other
	# xiked's configuration has no DN identities: in the DN cases it sends
	# its FQDN and accepts any identity the peer's certificate carries.
	if [ "$CERT_ID" = dn ]; then
		_xid=${XIKE_ID:-xike.test} _cid=${CHARON_ID:-$(pki_dn charon.test)}
	else
		_xid=${XIKE_ID:-xike.test} _cid=${CHARON_ID:-charon.test}
	fi
	case " $CHARON_PLUGINS " in
	*" x509 "*) ;;
	*) CHARON_PLUGINS="$CHARON_PLUGINS pem pkcs1 pkcs8 x509 constraints revocation" ;;
	esac
	XIKE_EXTRA="$XIKE_EXTRA
auth = $XIKE_AUTH
remote-auth = $CHARON_AUTH"
	[ "$XIKE_AUTH" = psk ] || [ "$CHARON_AUTH" = psk ] || XIKE_PSK=
	if [ "$XIKE_AUTH" = pubkey ]; then
		pki_host "$_pd" xike "$XIKE_CERT_KEY" "$_xiss" xike.test ||
			fail "cannot make xiked's certificate ($XIKE_CERT_KEY)"
		cat "$_pd/xike.pem" >"$_pd/xike-chain.pem"
		[ "$_xiss" = sub-xike ] && cat "$_pd/sub-xike.pem" >>"$_pd/xike-chain.pem"
		XIKE_EXTRA="$XIKE_EXTRA
cert = $_pd/xike-chain.pem
key = $_pd/xike.key"
	fi
	XIKE_EXTRA="$XIKE_EXTRA
local-id = $_xid"
	CHARON_REMOTE_EXTRA="$CHARON_REMOTE_EXTRA
id = $_xid"
	if [ "$CHARON_AUTH" = pubkey ]; then
		pki_host "$_pd" charon "$CHARON_CERT_KEY" "$_ciss" charon.test ||
			fail "cannot make charon's certificate ($CHARON_CERT_KEY)"
		cp "$_pd/charon.pem" "$_cd/x509/"
		cp "$_pd/charon.key" "$_cd/private/"
		[ "$_ciss" = sub-charon ] && cp "$_pd/sub-charon.pem" "$_cd/x509ca/"
		CHARON_LOCAL_EXTRA="$CHARON_LOCAL_EXTRA
certs = charon.pem"
	fi
	case $_cid in
	*=*) CHARON_LOCAL_EXTRA="$CHARON_LOCAL_EXTRA
id = \"$_cid\"" ;;
	*) CHARON_LOCAL_EXTRA="$CHARON_LOCAL_EXTRA
id = $_cid"
	   XIKE_EXTRA="$XIKE_EXTRA
remote-id = $_cid" ;;
	esac
	if [ "$CHARON_AUTH" = pubkey ]; then
		XIKE_EXTRA="$XIKE_EXTRA
ca = $_pd/ca.pem"
		if [ "$REVOKED" = charon ]; then
			pki_crl "$_pd" "$_ciss" charon || fail "cannot make the CRL"
			XIKE_EXTRA="$XIKE_EXTRA
crl = $_pd/$_ciss.crl"
		fi
	fi
	if [ "$XIKE_AUTH" = pubkey ]; then
		cp "$_pd/ca.pem" "$_cd/x509ca/"
		if [ "$REVOKED" = xike ]; then
			pki_crl "$_pd" "$_xiss" xike || fail "cannot make the CRL"
			cp "$_pd/$_xiss.crl" "$_cd/x509crl/"
		fi
	fi
	say "certificates: xiked $XIKE_AUTH ${XIKE_CERT_KEY:-} by ${_xiss} as '$_xid', charon $CHARON_AUTH ${CHARON_CERT_KEY:-} by ${_ciss} as '$_cid'${REVOKED:+, $REVOKED revoked}"
}
