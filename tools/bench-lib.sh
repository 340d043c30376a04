# shellcheck shell=sh disable=SC2034  # the variables are for the benchmarks
# Shared parts of the responder benchmarks (tools/bench-handshakes,
# bench-memory, bench-scale, bench-config).  POSIX sh; sourced, not run.
#
# Each benchmark runs xike-load against xiked and (most of them) against
# strongSwan's charon, one after the other, in the same topology in one
# invocation, and prints a table and ratio lines.  Where:
#
#   host (default when xiked runs with `backend = soft` here): the host
#        kernel, which may lack ESP.  xiked carries ESP itself (esp-soft over
#        TUN), charon with its kernel-libipsec plugin (its userspace ESP over
#        TUN), so both install every CHILD_SA into a userspace ESP data path
#        and a route into the TUN device.
#   uml  (--uml, or the fallback): inside User-Mode Linux (netns-tests/uml-run),
#        where xiked (kernel XFRM) and charon (kernel-netlink) both install
#        real kernel SAs and policies.  UML runs on one virtual CPU and every
#        system call is a round trip through the host's ptrace: expect
#        figures many times below the host's, dominated by system calls.
#
# Topology (both places): two namespaces joined by one veth pair.
#
#   $BL_L (load)                                  $BL_R (responder)
#   eth0 10.0.0.1/24 --------- veth ------------- eth0 10.0.0.2/24
#   10.1.0.0/24 local (lo): xike-load's           10.2.0.1/32 on lo: the
#   254 source addresses, one per socket          responder's inner address
#
# Every CHILD_SA is tunnel mode 10.128.x.y/32 (xike-load's --ts pool, host i
# for SA i) <-> 10.2.0.1/32, so that no two SAs share a policy.  Suite
# aes128gcm16-prfsha256-x25519 / aes128gcm16, PSK.
#
# --auth ecdsa-p256|rsa2048|rsa3072 (BL_AUTH; default psk): both sides sign
# instead, with certificates of a PKI made for the run (bl_pki, in
# $BL_TMP/pki): a CA and two end-entity certificates it signs, all with keys
# of that type (subjectAltName DNS:resp.bench.test for the responder,
# DNS:load.bench.test for xike-load, which every SA uses as its identity).
# Each side sends its certificate and trusts the CA; no CRL, no OCSP.
# Since every SA has the same identity, neither responder may act on
# INITIAL_CONTACT: xiked has no remote-id (it then ignores it), charon has
# unique = never.  charon loads pem, pkcs1, pkcs8, x509 and constraints
# besides its PSK plugins.
#
# The daemons' settings beyond that (both written out by bl_xiked_conf and
# bl_charon_start):
#   xiked:  log-level = warning; install-routes = no (the soft backend
#           routes into its TUN device all the same); DoS thresholds are the
#           engine's defaults (cookies above 30 half-open SAs, or 3 from one
#           address), which the runs stay below, except the per-address
#           half-open limit (default 100), raised to 1000 like charon's
#           block_threshold since the load comes from one address.
#   charon: strongSwan's advice for many SAs (ikesa_table_size = 32768,
#           ikesa_table_segments = 16; the defaults are 1 and 1), the default
#           16 threads, cookie_threshold = 30 like xiked's, block_threshold
#           (per-address half-open limit, default 5) raised to 1000 since one
#           address may have several half-open SAs, logging off (xiked logs
#           nothing per SA at warning either); kernel-libipsec on the host
#           (install_routes = yes: libipsec needs its routes into the TUN
#           device, as xiked's soft backend does), kernel-netlink in UML
#           (install_routes = no, like xiked there).
#
# Helpers:
#   bl_setup NAME ARGS...   parse --uml/--host/--inside, --threads LIST
#                           (BL_THREADS_LIST) and --auth (BL_AUTH), find
#                           the build, re-run inside UML when asked (does
#                           not return then)
#   bl_topology             the two namespaces (and bl_pki unless psk)
#   bl_pki                  the run's CA and certificates, for BL_AUTH
#   bl_xiked_start [CONF]   xiked in $BL_R with bl_xiked_conf, or CONF; sets
#                           XIKED_PID; BL_THREADS, if set, is its threads =
#   bl_xiked_stop
#   xctl ARGS...            xikectl against it
#   bl_charon_start         charon in $BL_R with the connection "load"; sets
#                           CHARON_PID; BL_CHARON_DOS, if set, replaces the
#                           two DoS settings above (empty: charon's defaults)
#   bl_charon_stop
#   sw CMD ARGS...          swanctl against it
#   bl_load_auth            xike-load's authentication options (BL_AUTH)
#   bl_load_start N ARGS... xike-load in $BL_L in the background, holding its
#                           SAs (--hold -1, --delete); sets LOAD_PID, LOAD_OUT
#   bl_load_wait_ready SECS wait until its opening is over
#   bl_load_finish [quiet]  SIGINT (DELETE everything), wait, check the report
#   bl_ticks PID            user + system CPU so far, in clock ticks
#   bl_sys_ticks PID        the system part of it
#   bl_rss PID              resident set size, kB
#   bl_now                  seconds since the epoch with nanoseconds
#   bl_x25519               X25519 derive operations/s on one core
#   bl_sig_speed            "SIGN/S VERIFY/S" of BL_AUTH's key type, one core
#   rep_get FILE WHAT       fields of xike-load's text report

BL_PSK=0x62656e63682d70736b2d30313233343536373839
BL_IKE=aes128gcm16-prfsha256-x25519
BL_ESP=aes128gcm16
BL_RESP_IP=10.0.0.2
BL_LOAD_IP=10.0.0.1
BL_SRC=10.1.0.0/24
BL_TS_POOL=10.128.0.0/10
BL_RESP_TS=10.2.0.1/32
BL_WINDOW=${BL_WINDOW:-16}
BL_HZ=$(getconf CLK_TCK)

bl_die() {
	echo "$BL_NAME: $*" >&2
	exit 1
}

bl_say() {
	echo "[$BL_NAME] $*" >&2
}

bl_now() {
	date +%s.%N
}

# bl_elapsed T0 [T1]: seconds between, three decimals.
bl_elapsed() {
	awk -v a="$1" -v b="${2:-$(bl_now)}" 'BEGIN { printf "%.3f", b - a }'
}

bl_ticks() {
	_s=$(cut -d' ' -f14,15 "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
	echo $((${_s% *} + ${_s#* }))
}

# bl_ticks_workers PID: CPU ticks of PID's threads named xiked-work (its
# worker threads; the rest is the loop's).
bl_ticks_workers() {
	_w=0
	for _t in /proc/"$1"/task/*; do
		[ "$(cat "$_t/comm" 2>/dev/null)" = xiked-work ] || continue
		_s=$(cut -d' ' -f14,15 "$_t/stat" 2>/dev/null) || continue
		_w=$((_w + ${_s% *} + ${_s#* }))
	done
	echo "$_w"
}

# bl_sys_ticks PID: the system (kernel) part of bl_ticks.
bl_sys_ticks() {
	cut -d' ' -f15 "/proc/$1/stat" 2>/dev/null || echo 0
}

bl_rss() {
	awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status" 2>/dev/null
}

bl_x25519() {
	openssl speed -seconds 2 ecdhx25519 2>/dev/null |
		awk '/X25519/ { v = $NF } END { print v + 0 }'
}

# bl_sig_speed: `openssl speed` signatures and verifications per second on
# one core for BL_AUTH's key type ("0 0" for psk).  RSA is timed with
# PKCS#1 v1.5 padding; RSASSA-PSS (what xiked signs) costs the same modular
# exponentiation plus a few hashes.
bl_sig_speed() {
	case $BL_AUTH in
	ecdsa-p256) _alg=ecdsap256 _pat='ecdsa \\(nistp256\\)' ;;
	rsa2048) _alg=rsa2048 _pat='^rsa 2048 bits' ;;
	rsa3072) _alg=rsa3072 _pat='^rsa 3072 bits' ;;
	*) echo "0 0"; return ;;
	esac
	openssl speed -seconds 2 "$_alg" 2>/dev/null |
		awk -v pat="$_pat" '$0 ~ pat { s = $(NF - 1); v = $NF } END { print s + 0, v + 0 }'
}

# ---- setup: where to run ----

# bl_soft_works: can xiked run with backend = soft here (host kernel)?
bl_soft_works() {
	_ns=bl$$-probe
	_d=$(mktemp -d /tmp/bench-probe.XXXXXX)
	ip netns add "$_ns" 2>/dev/null || { rmdir "$_d"; return 1; }
	ip -n "$_ns" link set lo up
	printf '[global]\nsocket = %s/x.sock\nbackend = soft\n' "$_d" >"$_d/x.conf"
	ip netns exec "$_ns" "$XIKED" -c "$_d/x.conf" >"$_d/log" 2>&1 &
	_p=$!
	_ok=1
	for _i in $(seq 30); do
		if "$XIKECTL" -s "$_d/x.sock" status >/dev/null 2>&1; then
			_ok=0
			break
		fi
		kill -0 "$_p" 2>/dev/null || break
		sleep 0.1
	done
	kill "$_p" 2>/dev/null || true
	wait "$_p" 2>/dev/null || true
	ip netns del "$_ns"
	rm -rf "$_d"
	return $_ok
}

bl_setup() {
	BL_NAME=$1
	shift
	BL_TOP=$(cd "$(dirname "$0")/.." && pwd)
	BL_WHERE=auto
	BL_INSIDE=0
	BL_ARGS=
	BL_THREADS_LIST=
	BL_AUTH=psk
	while [ $# -gt 0 ]; do
		case $1 in
		--uml) BL_WHERE=uml ;;
		--host) BL_WHERE=host ;;
		--inside) BL_INSIDE=1 ;;
		--threads)
			[ $# -ge 2 ] || bl_die "--threads needs a list, e.g. 1,2"
			BL_THREADS_LIST=$2
			shift ;;
		--auth)
			[ $# -ge 2 ] || bl_die "--auth needs psk, ecdsa-p256, rsa2048 or rsa3072"
			case $2 in
			psk|ecdsa-p256|rsa2048|rsa3072) BL_AUTH=$2 ;;
			*) bl_die "--auth: $2 is not psk, ecdsa-p256, rsa2048 or rsa3072" ;;
			esac
			shift ;;
		-h|--help) bl_usage; exit 0 ;;
		-*) bl_usage >&2; exit 2 ;;
		*) BL_ARGS="$BL_ARGS $1" ;;
		esac
		shift
	done
	[ "$(id -u)" -eq 0 ] || bl_die "root is needed (network namespaces)"
	build=${XIKE_BUILD:-build-rel}
	case $build in /*) ;; *) build=$BL_TOP/$build ;; esac
	if [ "$BL_INSIDE" = 0 ]; then
		if [ ! -f "$build/build.ninja" ]; then
			[ -z "${XIKE_BUILD:-}" ] || bl_die "$build is not a build directory"
			meson setup "$build" --buildtype=release -Dfuzz=disabled >/dev/null ||
				bl_die "meson setup $build failed"
		fi
		# The tree may be mid-edit: older binaries still measure something.
		ninja -C "$build" >/dev/null 2>&1 ||
			bl_say "warning: ninja -C $build failed; using the binaries already there"
	fi
	XIKE_BUILD=$build
	export XIKE_BUILD
	XIKED=$build/src/daemon/xiked
	XIKECTL=$build/tools/xikectl
	XLOAD=$build/tools/xike-load
	CHARON=${CHARON:-/usr/lib/ipsec/charon}
	for _f in "$XIKED" "$XIKECTL" "$XLOAD"; do
		[ -x "$_f" ] || bl_die "$_f is missing (ninja -C $build)"
	done
	if [ "$BL_INSIDE" = 1 ]; then
		BL_WHERE=uml
	elif [ "$BL_WHERE" = auto ]; then
		if bl_soft_works; then
			BL_WHERE=host
		else
			bl_say "xiked cannot run with backend = soft here: running inside User-Mode Linux"
			BL_WHERE=uml
		fi
	elif [ "$BL_WHERE" = host ] && ! bl_soft_works; then
		bl_die "xiked does not run with backend = soft on this host (try --uml)"
	fi
	if [ "$BL_WHERE" = uml ] && [ "$BL_INSIDE" = 0 ]; then
		command -v linux.uml >/dev/null || bl_die "linux.uml missing (apt-get install user-mode-linux)"
		# The guest cannot see the host's load.
		BL_HOST_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
		export BL_HOST_LOAD
		# shellcheck disable=SC2086
		exec "$BL_TOP/netns-tests/uml-run" --mem "${BL_UML_MEM:-2048}" \
			--timeout "${BL_UML_TIMEOUT:-3600}" "$0" --inside \
			${BL_THREADS_LIST:+--threads "$BL_THREADS_LIST"} --auth "$BL_AUTH" $BL_ARGS
	fi
	BL_HAVE_CHARON=1
	if [ ! -x "$CHARON" ] || ! command -v swanctl >/dev/null; then
		bl_say "strongSwan is not installed (tools/bootstrap): xiked only"
		BL_HAVE_CHARON=0
	fi
	BL_TMP=$(mktemp -d /tmp/bench-xike.XXXXXX)
	# xiked's user (xike, after start-up) reads the config on reload.
	if getent group xike >/dev/null; then
		chgrp xike "$BL_TMP" && chmod 0750 "$BL_TMP"
	fi
	BL_L=bl$$-load
	BL_R=bl$$-resp
	trap bl_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM HUP
}

bl_cleanup() {
	set +e
	[ -n "${LOAD_PID:-}" ] && kill -KILL "$LOAD_PID" 2>/dev/null
	bl_xiked_stop
	bl_charon_stop
	for _ns in "$BL_L" "$BL_R"; do
		# shellcheck disable=SC2046
		kill $(ip netns pids "$_ns" 2>/dev/null) 2>/dev/null
		ip netns del "$_ns" 2>/dev/null
	done
	if [ -n "${BL_KEEP:-}" ]; then
		echo "$BL_NAME: files kept in $BL_TMP" >&2
	else
		rm -rf "$BL_TMP"
	fi
}

# One line on what was measured where, for the top of every report.
bl_header() {
	if [ "$BL_WHERE" = uml ]; then
		_where="inside User-Mode Linux $(uname -r) (one virtual CPU; xiked kernel XFRM, charon kernel-netlink: real kernel SAs)"
	else
		_where="host kernel $(uname -r), $(nproc) CPUs (xiked backend = soft, charon kernel-libipsec: userspace ESP over TUN)"
	fi
	echo "$BL_NAME: $_where"
	echo "load average at start: ${BL_HOST_LOAD:-$(cut -d' ' -f1-3 /proc/loadavg)} (host); $(openssl version | cut -d' ' -f1-2); strongSwan $(dpkg-query -W -f='${Version}' strongswan-charon 2>/dev/null || echo '?')"
}

# ---- topology ----

bl_topology() {
	ip netns add "$BL_L" || bl_die "ip netns add"
	ip netns add "$BL_R" || bl_die "ip netns add"
	ip -n "$BL_L" link set lo up
	ip -n "$BL_R" link set lo up
	ip -n "$BL_L" link add eth0 type veth peer name eth0 netns "$BL_R" || bl_die "veth"
	ip -n "$BL_L" addr add "$BL_LOAD_IP/24" dev eth0
	ip -n "$BL_R" addr add "$BL_RESP_IP/24" dev eth0
	ip -n "$BL_L" link set eth0 up
	ip -n "$BL_R" link set eth0 up
	# xike-load binds one source address of the /24 per socket.
	ip -n "$BL_L" route add local "$BL_SRC" dev lo
	ip -n "$BL_R" route add "$BL_SRC" via "$BL_LOAD_IP"
	ip -n "$BL_R" addr add "$BL_RESP_TS" dev lo
	# A neighbour entry each way before the first burst.
	ip netns exec "$BL_L" ping -c 1 -W 2 "$BL_RESP_IP" >/dev/null || bl_die "the veth does not work"
	[ "$BL_AUTH" = psk ] || bl_pki
}

# ---- certificates ----

BL_PKI_RESP_ID=resp.bench.test
BL_PKI_LOAD_ID=load.bench.test

# bl_pki_key FILE: a private key of BL_AUTH's type, readable by its owner
# and xiked's group only (xiked refuses keys others may read).
bl_pki_key() {
	_f=$1
	case $BL_AUTH in
	ecdsa-p256) set -- -algorithm EC -pkeyopt ec_paramgen_curve:P-256 ;;
	rsa2048) set -- -algorithm RSA -pkeyopt rsa_keygen_bits:2048 ;;
	rsa3072) set -- -algorithm RSA -pkeyopt rsa_keygen_bits:3072 ;;
	esac
	(umask 077 && openssl genpkey "$@" -out "$_f" 2>/dev/null) || bl_die "openssl genpkey $*"
	if getent group xike >/dev/null; then
		chgrp xike "$_f" && chmod 0640 "$_f"
	fi
}

# bl_pki_ee NAME ID SERIAL: an end-entity certificate for ID (a DNS
# subjectAltName), signed by the run's CA, valid for 30 days.
bl_pki_ee() {
	_p=$BL_TMP/pki
	bl_pki_key "$_p/$1.key"
	printf '%s\n' "basicConstraints = critical, CA:FALSE" \
		"keyUsage = critical, digitalSignature" \
		"subjectAltName = DNS:$2" >"$_p/$1.ext"
	openssl req -new -key "$_p/$1.key" -subj "/O=xike bench/CN=$2" \
		-out "$_p/$1.csr" 2>/dev/null || bl_die "openssl req ($1)"
	openssl x509 -req -sha256 -days 30 -in "$_p/$1.csr" -CA "$_p/ca.pem" \
		-CAkey "$_p/ca.key" -set_serial "$3" -extfile "$_p/$1.ext" \
		-out "$_p/$1.pem" 2>/dev/null || bl_die "openssl x509 ($1)"
}

# bl_pki: $BL_TMP/pki/{ca,resp,load}.{key,pem}, all keys of BL_AUTH's type.
bl_pki() {
	_p=$BL_TMP/pki
	mkdir -p "$_p"
	if getent group xike >/dev/null; then
		chgrp xike "$_p" && chmod 0750 "$_p"
	fi
	bl_pki_key "$_p/ca.key"
	openssl req -new -x509 -sha256 -days 30 -key "$_p/ca.key" \
		-subj "/O=xike bench/CN=xike bench CA" \
		-addext "basicConstraints = critical, CA:TRUE" \
		-addext "keyUsage = critical, keyCertSign, cRLSign" \
		-out "$_p/ca.pem" 2>/dev/null || bl_die "openssl req (CA)"
	bl_pki_ee resp "$BL_PKI_RESP_ID" 2
	bl_pki_ee load "$BL_PKI_LOAD_ID" 3
}

# ---- xiked ----

# bl_xiked_auth: the connection's authentication keys for BL_AUTH.
bl_xiked_auth() {
	if [ "$BL_AUTH" = psk ]; then
		echo "psk = $BL_PSK"
		return
	fi
	cat <<EOF
local-id = $BL_PKI_RESP_ID
auth = pubkey
cert = $BL_TMP/pki/resp.pem
key = $BL_TMP/pki/resp.key
remote-auth = pubkey
ca = $BL_TMP/pki/ca.pem
EOF
}

# bl_xiked_conf: the global section and the one connection every SA uses.
bl_xiked_conf() {
	cat <<EOF
[global]
socket = $BL_TMP/xiked.sock
log-level = warning
install-routes = no
backend = $([ "$BL_WHERE" = uml ] && echo xfrm || echo soft)
half-open-max-ip = 1000
${BL_THREADS:+threads = $BL_THREADS}

[conn load]
local = $BL_RESP_IP
remote = %any
$(bl_xiked_auth)
ike = $BL_IKE
esp = $BL_ESP
mode = tunnel
local-ts = $BL_RESP_TS
remote-ts = $BL_TS_POOL
EOF
}

xctl() {
	"$XIKECTL" -s "$BL_TMP/xiked.sock" "$@"
}

bl_xiked_start() {
	if [ -n "${1:-}" ]; then
		cp "$1" "$BL_TMP/xiked.conf"
	else
		bl_xiked_conf >"$BL_TMP/xiked.conf"
	fi
	# shellcheck disable=SC2086  # BL_XIKED_WRAP: e.g. a profiler and its options
	ip netns exec "$BL_R" ${BL_XIKED_WRAP:-} "$XIKED" -c "$BL_TMP/xiked.conf" >"$BL_TMP/xiked.log" 2>&1 &
	XIKED_PID=$!
	for _i in $(seq 600); do
		xctl status >/dev/null 2>&1 && return 0
		kill -0 "$XIKED_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$BL_TMP/xiked.log" >&2
	bl_die "xiked did not start"
}

bl_xiked_stop() {
	[ -n "${XIKED_PID:-}" ] || return 0
	kill "$XIKED_PID" 2>/dev/null || true
	for _i in $(seq 300); do
		kill -0 "$XIKED_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$XIKED_PID" 2>/dev/null || true
	wait "$XIKED_PID" 2>/dev/null || true
	XIKED_PID=
}

# xstat KEY: one counter of `xikectl stats`.
xstat() {
	xctl stats | awk -v k="$1" '$1 == k { print $2 }'
}

# ---- charon ----

sw() {
	_cmd=$1
	shift
	STRONGSWAN_CONF="$BL_TMP/charon/strongswan.conf" \
		swanctl "$_cmd" --uri "unix://$BL_TMP/charon/charon.vici" "$@"
}

# bl_charon_swanctl: the connection "load", the mirror of xiked's.
bl_charon_swanctl() {
	if [ "$BL_AUTH" = psk ]; then
		_local="auth = psk"
		_remote="auth = psk"
		_unique=
	else
		_local="auth = pubkey
			certs = $BL_TMP/pki/resp.pem
			id = $BL_PKI_RESP_ID"
		_remote="auth = pubkey
			cacerts = $BL_TMP/pki/ca.pem"
		_unique="unique = never"
	fi
	cat <<EOF
connections {
	load {
		local_addrs = $BL_RESP_IP
		remote_addrs = %any
		proposals = $BL_IKE
		$_unique
		local {
			$_local
		}
		remote {
			$_remote
		}
		children {
			c {
				local_ts = $BL_RESP_TS
				remote_ts = $BL_TS_POOL
				esp_proposals = $BL_ESP
				mode = tunnel
			}
		}
	}
}
secrets {
	ike-load {
		secret = $BL_PSK
	}
}
EOF
}

# bl_charon_start [SWANCTL_CONF]
bl_charon_start() {
	_d=$BL_TMP/charon
	mkdir -p "$_d"
	if [ "$BL_WHERE" = uml ]; then
		_plugins="random nonce openssl kdf kernel-netlink socket-default vici"
		_routes=no
	else
		# kernel-libipsec first: its IPsec interface wins over netlink's,
		# which still does addresses and routes.
		_plugins="random nonce openssl kdf kernel-libipsec kernel-netlink socket-default vici"
		_routes=yes
	fi
	# Certificates: PEM files, keys in PKCS#1/SEC1 or PKCS#8, X.509 and its
	# chain checks (basic constraints, name constraints).
	[ "$BL_AUTH" = psk ] || _plugins="$_plugins pem pkcs1 pkcs8 x509 constraints"
	# BL_CHARON_DOS: the DoS settings instead of these (empty: charon's defaults).
	_dos=${BL_CHARON_DOS-"cookie_threshold = 30
	block_threshold = 1000"}
	cat >"$_d/strongswan.conf" <<EOF
charon {
	load_modular = no
	load = $_plugins
	install_routes = $_routes
	install_virtual_ip = no
	ikesa_table_size = 32768
	ikesa_table_segments = 16
	$_dos
	plugins {
		vici {
			socket = unix://$_d/charon.vici
		}
	}
	filelog {
		main {
			path = $_d/charon.log
			default = -1
		}
	}
	syslog {
		daemon {
			default = -1
		}
		auth {
			default = -1
		}
	}
}
EOF
	if [ -n "${1:-}" ]; then
		cp "$1" "$_d/swanctl.conf"
	else
		bl_charon_swanctl >"$_d/swanctl.conf"
	fi
	# swanctl --load-all loads private keys from private/ beside its file.
	if [ "$BL_AUTH" != psk ]; then
		mkdir -p "$_d/private"
		cp "$BL_TMP/pki/resp.key" "$_d/private/resp.key"
	fi
	ip netns exec "$BL_R" env STRONGSWAN_CONF="$_d/strongswan.conf" \
		unshare -m sh -c "mount -t tmpfs -o mode=0755 tmpfs /run && exec $CHARON" \
		>"$_d/charon.stderr" 2>&1 &
	CHARON_PID=$!
	for _i in $(seq 300); do
		sw --stats >/dev/null 2>&1 && break
		kill -0 "$CHARON_PID" 2>/dev/null || bl_die "charon did not start: $(cat "$_d/charon.stderr")"
		sleep 0.1
	done
	BL_T0=$(bl_now)
	sw --load-all --noprompt --file "$_d/swanctl.conf" >"$_d/load.out" 2>&1 ||
		{ cat "$_d/load.out" >&2; bl_die "swanctl --load-all failed"; }
	BL_CHARON_LOAD_S=$(bl_elapsed "$BL_T0")
}

bl_charon_stop() {
	[ -n "${CHARON_PID:-}" ] || return 0
	kill "$CHARON_PID" 2>/dev/null || true
	for _i in $(seq 300); do
		kill -0 "$CHARON_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$CHARON_PID" 2>/dev/null || true
	wait "$CHARON_PID" 2>/dev/null || true
	CHARON_PID=
}

# charon_ike_sas: IKE SAs charon counts.
charon_ike_sas() {
	sw --stats | sed -n 's/^IKE_SAs: *\([0-9]*\) total.*/\1/p'
}

# ---- xike-load ----

# bl_load_auth: xike-load's options for BL_AUTH.
bl_load_auth() {
	if [ "$BL_AUTH" = psk ]; then
		echo "--psk $BL_PSK"
	else
		echo "--cert $BL_TMP/pki/load.pem --key $BL_TMP/pki/load.key" \
			"--id $BL_PKI_LOAD_ID --ca $BL_TMP/pki/ca.pem"
	fi
}

# bl_load_start N [ARGS...]: open N IKE SAs, hold them until bl_load_finish.
bl_load_start() {
	_n=$1
	shift
	LOAD_OUT=$BL_TMP/load.out
	rm -f "$BL_TMP/ready"
	# shellcheck disable=SC2046  # no blanks in the paths (mktemp's)
	set -- $(bl_load_auth) "$@"
	ip netns exec "$BL_L" "$XLOAD" -n "$_n" -w "$BL_WINDOW" \
		--ike "$BL_IKE" --esp "$BL_ESP" --src "$BL_SRC" --sockets 254 \
		--ts "$BL_TS_POOL" --remote-ts "$BL_RESP_TS" --hold -1 --delete \
		--timeout "${BL_LOAD_TIMEOUT:-600}" --ready-file "$BL_TMP/ready" \
		"$@" "$BL_RESP_IP" >"$LOAD_OUT" 2>"$BL_TMP/load.err" &
	LOAD_PID=$!
}

# bl_load_wait_ready SECS: 0 once the opening is over (all up or given up).
bl_load_wait_ready() {
	_end=$(( $(date +%s) + $1 ))
	while [ ! -s "$BL_TMP/ready" ]; do
		kill -0 "$LOAD_PID" 2>/dev/null || { cat "$BL_TMP/load.err" >&2; bl_die "xike-load ended early"; }
		[ "$(date +%s)" -ge "$_end" ] && { tail -3 "$BL_TMP/load.err" >&2; bl_die "xike-load did not finish opening in $1 s"; }
		sleep 0.05
	done
	# shellcheck disable=SC2046
	set -- $(cat "$BL_TMP/ready")
	LOAD_UP=$4
	LOAD_FAILED=$6
}

# bl_load_finish [quiet]: DELETE everything, wait for the report; quiet: the
# caller expects some SAs to be gone already.
bl_load_finish() {
	kill -INT "$LOAD_PID" 2>/dev/null || true
	LOAD_RC=0
	wait "$LOAD_PID" || LOAD_RC=$?
	LOAD_PID=
	if [ "$LOAD_RC" -ne 0 ] && [ "${1:-}" != quiet ]; then
		cat "$LOAD_OUT" >&2
		bl_say "xike-load: not every SA came up and went down (exit $LOAD_RC)"
	fi
}

# rep_get FILE rate|seconds|p50|p90|p99|max|failed|failures|del_s|deleted
rep_get() {
	case $2 in
	rate) sed -n 's/^established .*: \([0-9.]*\) handshakes\/s/\1/p' "$1" ;;
	seconds) sed -n 's/^established .* in \([0-9.]*\) s:.*/\1/p' "$1" ;;
	up) sed -n 's/^established *\([0-9]*\) of.*/\1/p' "$1" ;;
	p50|p90|p99|max) sed -n "s/^latency ms .*$2 \\([0-9.]*\\).*/\\1/p" "$1" ;;
	failed) sed -n 's/^failed *\([0-9]*\).*/\1/p' "$1" ;;
	failures) sed -n 's/^failed *[0-9]*:* *//p' "$1" ;;
	del_s) sed -n 's/^deleted .* in \([0-9.]*\) s:.*/\1/p' "$1" ;;
	deleted) sed -n 's/^deleted *\([0-9]*\) of.*/\1/p' "$1" ;;
	esac
}
