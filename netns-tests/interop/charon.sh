# strongSwan's charon as the interop peer, one instance per namespace.
# Source after lib.sh and xiked-lib.sh (for fail and wait_for).  POSIX sh.
#
#	charon_start NS DIR     start charon in namespace NS with its files in
#	                        DIR: strongswan.conf (written here), charon.log,
#	                        the vici socket charon.vici
#	charon_wait             wait until it answers (so that something else can
#	                        start meanwhile)
#	charon_load             load DIR/swanctl.conf (the caller writes it)
#	sw CMD [ARGS...]        swanctl CMD against that charon (swanctl wants the
#	                        command first, then --uri)
#	charon_stop             SIGTERM, wait, SIGKILL if it lingers
#	charon_kill             kill -9 (a crash: no DELETE, nothing cleaned)
#	charon_restart          start it again in the same NS and DIR, wait,
#	                        load DIR/swanctl.conf (its log goes on)
#	charon_log_has PATTERN  grep -E in its log
#
# Several charons can run side by side: each gets its own strongswan.conf
# (STRONGSWAN_CONF), vici socket and a private /run (a mount namespace with
# a tmpfs there, for the pid file).  Plugins are listed explicitly
# (load_modular = no): on Debian 12's 5.9.8 the openssl plugin brings every
# cipher, PRF and KE group the cases use (AES-GCM, ChaCha20-Poly1305, AES-CBC,
# HMAC-SHA2, MODP, ECP, Curve25519 and Curve448: the curve25519 plugin has
# no Curve448 in 5.9.8, so it is not needed), but key derivation needs
# the kdf plugin too ("KDF_PRF with PRF_HMAC_SHA2_256 not supported"
# without it); random and nonce feed the nonces; kernel-netlink installs real
# kernel SAs and policies (inside User-Mode Linux); socket-default and vici
# are the IKE sockets and swanctl's way in.

CHARON=${CHARON:-/usr/lib/ipsec/charon}
CHARON_PLUGINS=${CHARON_PLUGINS:-random nonce openssl kdf kernel-netlink socket-default vici}
# More lines for charon { } in strongswan.conf (a case's own settings),
# and for charon.plugins { } (the host mode's kernel-libipsec settings).
STRONGSWAN_EXTRA=${STRONGSWAN_EXTRA:-}
CHARON_PLUGIN_CONF=${CHARON_PLUGIN_CONF:-}
# The runner sets static routes; kernel-libipsec needs charon's own routes
# into its TUN device.
CHARON_INSTALL_ROUTES=${CHARON_INSTALL_ROUTES:-no}
# Worker threads: 6 do for kernel-netlink; kernel-libipsec keeps several
# busy for good (its TUN reader, libipsec's inbound and outbound queues).
CHARON_THREADS=${CHARON_THREADS:-6}
CH_NS=
CH_DIR=
CH_PID=

charon_start() {
	CH_NS=$1
	CH_DIR=$2
	mkdir -p "$CH_DIR"
	# retransmit_*: a refused or dead exchange gives up within a few
	# seconds instead of minutes.  install_routes: the runner sets static
	# routes; the daemons' own route handling is not what is tested here.
	cat >"$CH_DIR/strongswan.conf" <<EOF
charon {
	load_modular = no
	load = $CHARON_PLUGINS
	threads = $CHARON_THREADS
	install_routes = $CHARON_INSTALL_ROUTES
	install_virtual_ip = no
	retransmit_timeout = 1.5
	retransmit_tries = 2
	retransmit_base = 1.4
$STRONGSWAN_EXTRA
	filelog {
		main {
			path = $CH_DIR/charon.log
			time_format = %T
			default = 1
			ike = 2
			cfg = 2
			flush_line = yes
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
	plugins {
		vici {
			socket = unix://$CH_DIR/charon.vici
		}
$CHARON_PLUGIN_CONF
	}
}
EOF
	# charon appends to its log: a restart's lines follow the first run's.
	echo "---- charon starting" >>"$CH_DIR/charon.log"
	ip netns exec "$CH_NS" env STRONGSWAN_CONF="$CH_DIR/strongswan.conf" \
		unshare -m sh -c "mount -t tmpfs -o mode=0755 tmpfs /run && exec $CHARON" \
		>"$CH_DIR/charon.stderr" 2>&1 &
	CH_PID=$!
}

charon_wait() {
	if ! wait_for 15 sw --stats; then
		cat "$CH_DIR/charon.stderr" "$CH_DIR/charon.log" >&2
		fail "charon did not start in $CH_NS"
	fi
}

# No namespace needed: the vici socket is a path, and every process saved
# counts inside User-Mode Linux.
sw() {
	_cmd=$1
	shift
	STRONGSWAN_CONF="$CH_DIR/strongswan.conf" \
		swanctl "$_cmd" --uri "unix://$CH_DIR/charon.vici" "$@"
}

charon_load() {
	# --file: swanctl also scans the credential dirs beside it (absent here,
	# so it complains); the output goes to a file, the status counts.
	# --clear: a charon that runs on from an earlier run forgets the
	# credentials that run loaded.
	if ! sw --load-all --clear --noprompt --file "$CH_DIR/swanctl.conf" >"$CH_DIR/load.out" 2>&1; then
		cat "$CH_DIR/load.out" >&2
		fail "swanctl --load-all refused $CH_DIR/swanctl.conf"
	fi
}

charon_stop() {
	[ -n "$CH_PID" ] || return 0
	kill "$CH_PID" 2>/dev/null
	for _i in $(seq 50); do
		kill -0 "$CH_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$CH_PID" 2>/dev/null
	wait "$CH_PID" 2>/dev/null
	CH_PID=
}

charon_kill() {
	[ -n "$CH_PID" ] || return 0
	kill -KILL "$CH_PID" 2>/dev/null
	wait "$CH_PID" 2>/dev/null
	CH_PID=
}

charon_restart() {
	charon_start "$CH_NS" "$CH_DIR"
	charon_wait
	charon_load
}

charon_log_has() {
	grep -Eq -- "$1" "$CH_DIR/charon.log"
}
