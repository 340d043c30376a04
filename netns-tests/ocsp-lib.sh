# shellcheck shell=sh
# A PKI made with openssl and `openssl ocsp` responders on its index file,
# for the tests that ask a real responder (ocsp.sh, xiked-ocsp.sh).  Files
# go to the current directory.  Needs lib.sh (must, fail, at_exit, n2).

# ocsp_key NAME: a P-256 key.
ocsp_key() {
	must openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key"
}
# ocsp_ca NAME CN: a self-signed CA.
ocsp_ca() {
	ocsp_key "$1"
	must openssl req -x509 -new -key "$1.key" -subj "/CN=$2" -days 30 -out "$1.pem" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
}
# ocsp_cert NAME CN SERIAL CA EXT: a certificate of CA with the extensions
# EXT (one per line).
ocsp_cert() {
	ocsp_key "$1"
	must openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr"
	printf '%s\n' "$5" >"$1.ext"
	must openssl x509 -req -in "$1.csr" -CA "$4.pem" -CAkey "$4.key" -set_serial "$3" \
		-days 30 -extfile "$1.ext" -out "$1.pem"
}
# ocsp_index [V|R SERIAL CN]...: the CA's database as `openssl ca` keeps
# it (index.txt); a serial not listed is unknown, R is revoked
# (keyCompromise, a day ago).
ocsp_index() {
	_exp=$(date -u -d '+30 days' +%y%m%d%H%M%SZ)
	_rev=$(date -u -d '-1 day' +%y%m%d%H%M%SZ)
	: >index.txt
	while [ $# -ge 3 ]; do
		if [ "$1" = R ]; then
			printf 'R\t%s\t%s,keyCompromise\t%s\tunknown\t/CN=%s\n' "$_exp" "$_rev" "$2" "$3"
		else
			printf 'V\t%s\t\t%s\tunknown\t/CN=%s\n' "$_exp" "$2" "$3"
		fi >>index.txt
		shift 3
	done
	printf 'unique_subject = no\n' >index.txt.attr
}
# ocsp_responder PORT SIGNER: a responder for ca.pem's index in peer 2,
# signing with SIGNER.pem/.key; its pid in $rpid, stopped at exit.
ocsp_responder() {
	# Not through n2 (a function: $! would be a subshell's): ip netns
	# exec execs openssl, so $! is the responder itself.
	ip netns exec "$NS2" openssl ocsp -index index.txt -port "$1" -CA ca.pem -rsigner "$2.pem" \
		-rkey "$2.key" -nmin 10 -ignore_err >"responder-$1.log" 2>&1 &
	rpid=$!
	at_exit "kill -CONT $rpid 2>/dev/null; kill $rpid 2>/dev/null"
	_i=0
	until n2 ss -ltnH "sport = :$1" | grep -q LISTEN; do
		_i=$((_i + 1))
		[ $_i -lt 100 ] || fail "the responder on port $1 did not listen: $(cat "responder-$1.log")"
		sleep 0.1
	done
}
