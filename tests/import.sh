#!/bin/sh
# SPDX-License-Identifier: ISC
# xikectl import end to end: swanctl.conf files of the shapes people have
# converted to xiked.conf, every output accepted by `xiked --check`, the
# exit statuses (0 complete, 3 with omissions, 1 nothing converted, 2 usage),
# the output's mode, and no key on standard error.
# SC2015: ok never fails, so `A && ok || bad` is if-then-else here.
# shellcheck disable=SC2015
set -u
B=${XIKE_BUILD:?}
XIKECTL=$B/tools/xikectl
XIKED=$B/src/daemon/xiked
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
fails=0 passes=0
ok() { passes=$((passes + 1)); }
bad() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

# expect NAME STATUS: import $d/NAME.swanctl into $d/NAME.conf
expect() {
	"$XIKECTL" import --output "$d/$1.conf" "$d/$1.swanctl" 2>"$d/$1.err"
	rc=$?
	[ "$rc" -eq "$2" ] && ok || { bad "$1: exit $rc, wanted $2"; cat "$d/$1.err" >&2; }
	if [ "$2" -ne 1 ]; then
		if "$XIKED" --check -c "$d/$1.conf" >"$d/$1.check" 2>&1; then ok; else
			bad "$1: xiked --check refused the output"
			cat "$d/$1.check" "$d/$1.conf" >&2
		fi
		mode=$(stat -c %a "$d/$1.conf")
		[ "$mode" = 600 ] && ok || bad "$1: output mode $mode"
	fi
	if grep -q "s3cr3t-value" "$d/$1.err"; then bad "$1: a key reached stderr"; else ok; fi
}

cat >"$d/site.swanctl" <<'X'
connections {
	site {
		version = 2
		local_addrs = 198.51.100.1
		remote_addrs = 203.0.113.2
		proposals = aes256gcm16-prfsha384-ecp384, aes128-sha256-modp2048
		dpd_delay = 30s
		rekey_time = 4h
		encap = yes
		local {
			auth = psk
			id = gw-a.example.org
		}
		remote {
			auth = psk
			id = gw-b.example.org
		}
		children {
			lan {
				local_ts = 10.1.0.0/24
				remote_ts = 10.2.0.0/24
				esp_proposals = aes256gcm16, aes128-sha256-modp2048
				start_action = trap
				dpd_action = restart
				rekey_time = 1h
				life_time = 70m
			}
		}
	}
}
secrets {
	ike-site {
		id-a = gw-a.example.org
		id-b = gw-b.example.org
		secret = "s3cr3t-value for the site"
	}
}
X
expect site 0
grep -q '^psk = s3cr3t-value for the site$' "$d/site.conf" && ok || bad "site: psk not written"
grep -q '^start = trap$' "$d/site.conf" && ok || bad "site: start not written"

cat >"$d/multi.swanctl" <<'X'
connections {
	hq {
		remote_addrs = 192.0.2.2
		mobike = yes
		local { auth = psk }
		remote { auth = psk }
		children {
			a { local_ts = 10.1.0.0/24
			    remote_ts = 10.2.0.0/24 }
			b { local_ts = 10.1.1.0/24
			    remote_ts = 10.2.1.0/24
			    updown = /usr/lib/ipsec/_updown iptables }
		}
	}
	rw {
		pools = p
		local { auth = psk }
		remote { auth = eap-mschapv2 }
		children { net { local_ts = 0.0.0.0/0 } }
	}
}
pools { p { addrs = 10.3.0.0/24 } }
secrets { ike-any { secret = 0x73336372337476616c7565 } }
X
expect multi 3
grep -q '^\[conn hq-a\]$' "$d/multi.conf" && grep -q '^\[conn hq-b\]$' "$d/multi.conf" && ok ||
	bad "multi: one connection per child"
grep -q 'rw: remote: auth = eap-mschapv2' "$d/multi.err" && ok || bad "multi: eap not reported"
grep -q 'pools: not supported' "$d/multi.err" && ok || bad "multi: pools not reported"

# Certificates: the files beside swanctl.conf, the one key in private/.
if command -v openssl >/dev/null 2>&1; then
	mkdir -p "$d/pk/x509" "$d/pk/x509ca" "$d/pk/private"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
		-subj /CN=ca.example.org -keyout "$d/pk/ca.key" -out "$d/pk/x509ca/ca.pem" \
		>/dev/null 2>&1
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=gw.example.org \
		-keyout "$d/pk/private/gw.key" -out "$d/pk/gw.csr" >/dev/null 2>&1
	printf 'subjectAltName=DNS:gw.example.org\n' >"$d/pk/ext"
	openssl x509 -req -in "$d/pk/gw.csr" -CA "$d/pk/x509ca/ca.pem" -CAkey "$d/pk/ca.key" \
		-CAcreateserial -days 30 -extfile "$d/pk/ext" -out "$d/pk/x509/gw.pem" >/dev/null 2>&1
	chmod 600 "$d/pk/private/gw.key"
	cat >"$d/pk/swanctl.conf" <<'X'
connections {
	gw {
		local_addrs = 192.0.2.1
		remote_addrs = 192.0.2.2
		proposals = aes256gcm16-prfsha384-ecp384
		local { auth = pubkey
			certs = gw.pem
			id = gw.example.org }
		remote { auth = pubkey
			cacerts = ca.pem
			id = *.example.org }
		children { net { local_ts = 10.1.0.0/16 } }
	}
}
X
	cp "$d/pk/swanctl.conf" "$d/pk.swanctl"
	"$XIKECTL" import --output "$d/pk.conf" "$d/pk/swanctl.conf" 2>"$d/pk.err"
	rc=$?
	[ "$rc" -eq 0 ] && ok || { bad "pk: exit $rc"; cat "$d/pk.err" >&2; }
	grep -q "^key = $d/pk/private/gw.key\$" "$d/pk.conf" && ok || bad "pk: key not found"
	grep -q "^ca = $d/pk/x509ca/ca.pem\$" "$d/pk.conf" && ok || bad "pk: ca"
	if "$XIKED" --check -c "$d/pk.conf" >"$d/pk.check" 2>&1; then ok; else
		bad "pk: xiked --check refused the output"
		cat "$d/pk.check" "$d/pk.conf" >&2
	fi
fi

printf 'connections {\n  a {\n' >"$d/broken.swanctl"
expect broken 1
grep -q "broken.swanctl:3: section 'a' not closed" "$d/broken.err" && ok || bad "broken: message"

"$XIKECTL" import --bogus >/dev/null 2>&1
[ $? -eq 2 ] && ok || bad "usage: exit status"
# Standard input, output to standard output.
"$XIKECTL" import - <"$d/site.swanctl" 2>/dev/null | grep -q '^\[conn site\]$' && ok ||
	bad "stdin to stdout"

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
