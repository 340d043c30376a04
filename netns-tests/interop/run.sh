#!/bin/sh
# xiked against strongSwan's charon over real kernel ESP, case by case.
# Runs inside User-Mode Linux (the host kernel may have no ESP); interop.sh
# beside it boots the guests and is what meson runs.  By hand:
#
#	netns-tests/uml-run netns-tests/interop/run.sh [--shard I/N] [CASE...]
#	netns-tests/interop/run.sh --host [--shard I/N] [CASE...]
#
# --host: on the host kernel, with userspace ESP on both sides (xiked
# backend = soft, charon kernel-libipsec, see docs/interop.md "Host mode"):
# the kernel-state checks give way to the routes into both TUN devices, ESP
# is always in UDP, transport mode and HOST_SKIP cases are skipped.
#
# CASE is the name of a file cases/CASE.case or a shell pattern (ike-*);
# without one, every case runs.  --shard I/N runs every Nth of them, starting
# with the Ith (several guests side by side); --runs "CASE.ROLE ..." runs
# exactly those, in that order (interop.sh deals them to its guests).  INTEROP_ROLES="xi" or "xr"
# limits the roles.  XIKE_BUILD names the build tree (meson sets it).  Each
# run's files (both configs, xiked's log and events, charon's log, the
# checks made, kernel dumps) land in INTEROP_LOGDIR (default
# $XIKE_BUILD/meson-logs/interop)/CASE.ROLE/, outside the guest.
#
# Topology (one boot, every case):
#
#   xiked side $NS1              wire $NS0 (bridge)            charon side $NS2
#   10.0.0.1, fd00::1  ------------- br0 ------------------  10.0.0.2, fd00::2
#   lo: 10.1.0.1 10.1.1.1             |                      lo: 10.2.0.1 10.2.1.1
#       fd01::1 fd01:1::1             |                          fd02::1 fd02:1::1
#                             $NSR 10.0.0.3 (masquerade) -- $NSIN 192.168.0.2
#
# The addresses on lo are the inner networks of the traffic-selector cases;
# every peer has static routes to the others' (so traffic a policy does not
# catch crosses the wire in the clear, where the counters see it).  NAT cases
# put the initiator (whichever daemon it is) into $NSIN, behind $NSR.
#
# A case is one file, cases/NAME.case, sourced by this script: it sets
# variables and may define hooks.  Both daemons call their connection "t".
#
#   DESC        one line: what the case proves
#   ROLES       "xi xr" (default): xi = xiked initiates, xr = charon initiates
#   FAMILY      4 (default) or 6: the outer addresses
#   MODE        tunnel (default) or transport
#   NAT         yes: the initiator sits behind $NSR (IPv4 only)
#   IKE, ESP    proposals for both sides (strongSwan's syntax and xiked's agree
#               for everything used here); XIKE_IKE, XIKE_ESP, CHARON_IKE,
#               CHARON_ESP override one side
#   PSK         the key; XIKE_PSK, CHARON_PSK override one side
#   XIKE_LOCAL_TS, XIKE_REMOTE_TS, CHARON_LOCAL_TS, CHARON_REMOTE_TS
#               selectors, comma-separated (default: the daemons' own)
#   XIKE_EXTRA  more lines for xiked's [conn t]
#   CHARON_EXTRA, CHARON_CHILD_EXTRA, CHARON_REMOTE_EXTRA
#               more lines for connections.t / its children.t / its remote
#               section in swanctl.conf
#   STRONGSWAN_EXTRA
#               more lines for charon { } in charon's strongswan.conf
#   EXPECT      up (default) | ike-fail | child-fail
#   NOTIFY      for a failure: the error notify both sides must show
#   EXPECT_IKE, EXPECT_ESP
#               the suites that must be negotiated, as xiked prints them
#               (default: the configured one when it is a single proposal)
#   EXPECT_LOCAL_TS, EXPECT_REMOTE_TS
#               the selectors xiked must end up with (charon: the mirror)
#   PINGS       "SRC>DST ..." pings from xiked's side that must go through ESP
#               (default: between the two daemons' addresses)
#   IPERF       yes: the first pair of PINGS also carries a 2 s iperf3 run
#               (at least 100 ESP packets on the wire); no (default): the
#               pings are the traffic.  Set where bulk traffic through the
#               kernel's transform is what the case is about (each ESP and
#               IKE suite, NAT-T, transport mode, IPv6 tunnel)
#   PLAIN_PINGS "SRC>DST ..." pings that must cross the wire in the clear
#   TEARDOWN    xike | charon | charon-child: who deletes (default: the
#               initiator); charon-child deletes the CHILD SA alone first;
#               none: case_checks ended the SAs itself (a dead peer), the
#               runner only checks that nothing is left
#   Certificates (certs.sh makes a fresh PKI per run in CASE.ROLE/pki):
#   CERT_KEY    rsa2048 | rsa3072 | ecp256 | ecp384 | ed25519 for both end
#               entities (and the CA unless CA_KEY); XIKE_CERT_KEY,
#               CHARON_CERT_KEY for one side
#   XIKE_AUTH, CHARON_AUTH
#               pubkey (the default with a key type) | psk: how that side
#               authenticates itself; the peer's remote auth follows
#   CERT_ID     fqdn (default) | dn (charon sends its subject DN)
#   CERT_CHAIN  direct (default) | intermediate (one per side, in CERT
#               payloads; the verifiers hold the root only)
#   XIKE_ISSUER, CHARON_ISSUER
#               ca (default) | other: a CA the peer does not trust
#   REVOKED     xike | charon: that side's certificate is on the CRL the
#               other side gets
#   XIKE_ID, CHARON_ID   the identity sent, if not the certificate's
#   CHARON_SIGN charon's local auth (default pubkey)
#   REFUSER     xike | charon: who refuses a failure case (default: the
#               responder), so whose log has the notify as sent
#   hooks: case_setup (before either daemon has the run's configuration:
#          devices the configuration names), case_prepare (both daemons
#          loaded, nothing initiated),
#          case_checks (the SAs are up and carried traffic; for ike-fail:
#          the failure was checked)
#
# The runner sets, before sourcing (so a case may use them): ROLE, XIKE_IP,
# CHARON_IP (each daemon's own address), XIKE_PEER, CHARON_PEER (the address
# each one talks to: the other's, or the NAT's), HOSTLEN (32 or 128),
# XIKE_IN1 XIKE_IN2 CHARON_IN1 CHARON_IN2 (the inner addresses of the family).
# Helpers for hooks: check, fail, skip, wait_for (lib.sh); xctl ARGS
# (xikectl), sw CMD ARGS (swanctl), kx/kc CMD (run in xiked's/charon's
# namespace), charon_log_has ERE, xiked_log_has ERE, xstat KEY (an xikectl
# stats counter), snap then $X_key/$C_key or xget/cget KEY (sa-state's view
# of each side), expect_eq WHAT GOT WANT, rekey xike|charon child|ike (rekey,
# then the checks of an established pair again); $XK_DIR/peer1.log is
# xiked's log, $CH_DIR/charon.log charon's.
# A daemon's life: xiked_kill / charon_kill (kill -9: no DELETE, its kernel
# state stays), xiked_restart / charon_restart (the same config again; the
# logs and xiked's events go on), kernel_flush xike|charon (what a reboot of
# that host would leave: no SA, no policy), check_up (every check of an
# established pair; set IKE_INITIATOR=xike|charon first when the roles
# changed), ping_pairs "SRC>DST ...".  NAT: nat_remap (the NAT forgets its
# mappings and maps UDP to ports 30000-30099 from now on), nat_restore.
# Time: t_mark, then t_since prints the seconds since.
#
# For an expected `up`, every run checks: one IKE SA ESTABLISHED and one
# CHILD SA INSTALLED on each side, the roles, equal IKE SPIs, crossed CHILD
# SPIs, the same suites (and the expected ones), mode, selectors and NAT
# flags on both sides; exactly two kernel SAs per side with those SPIs and the
# same algorithms and keys on both sides; pings and iperf3 through ESP seen on
# the wire (ESP in UDP for NAT) with no plain echo crossing it; the kernel's
# byte counters on both sides; then the DELETE, after which neither kernel
# holds an SA or a policy (the IKE sockets' own "socket in/out" policies
# aside) and neither daemon an IKE SA.  For a failure: the notify in xiked's
# events or log and in charon's log (sent or received as the role says),
# swanctl's initiate failing, and nothing installed on either side.
#
# Output: one line per run as it ends, then the table (case, role, result,
# seconds, why) and `N passed, N failed, N skipped`.  Exit status 1 if any run
# failed, 77 if everything was skipped.

# SC2154: the X_... and C_... values come from sa-state through eval.
# SC2317: many helpers are called through wait_for and check.
# shellcheck disable=SC2154,SC2317
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
. "$here/../xiked-lib.sh"
. "$here/charon.sh"
. "$here/certs.sh"

_test_name=interop
SA_STATE=$here/sa-state
LOGDIR=${INTEROP_LOGDIR:-$XIKE_BUILD/meson-logs/interop}
CASE_TIMEOUT=${INTEROP_CASE_TIMEOUT:-180}

shard=1/1 HOST='' runs='' runs_given=''
while [ $# -gt 0 ]; do
	case $1 in
	--shard) shard=$2; shift 2 ;;
	--runs) runs=$2 runs_given=1; shift 2 ;;
	--host) HOST=1; shift ;;
	*) break ;;
	esac
done
shard_i=${shard%/*} shard_n=${shard#*/}

require_root
require_cmd nft ping iperf3 swanctl ip python3 unshare ss
[ -x "$CHARON" ] || skip "$CHARON is not installed (strongswan-charon)"
[ -x "$XIKED" ] || skip "$XIKED is not built"
if [ -n "$HOST" ]; then
	# Userspace ESP on both sides: xiked's esp-soft, charon's
	# kernel-libipsec, each over its own TUN device, ESP always in UDP.
	[ -c /dev/net/tun ] || skip "no /dev/net/tun"
	[ -f "${CHARON_PLUGIN_DIR:-/usr/lib/ipsec/plugins}/libstrongswan-kernel-libipsec.so" ] ||
		skip "charon's kernel-libipsec plugin is not installed (libcharon-extra-plugins)"
	# kernel-libipsec first: its IPsec interface wins over kernel-netlink's,
	# which still does addresses and routes.  It routes each remote
	# selector into its TUN device (table 220); where that selector is the
	# peer itself, charon's own IKE and ESP-in-UDP packets must not follow:
	# its sockets mark them (socket-default fwmark), and the rule for table
	# 220 skips marked packets (kernel-netlink fwmark = !mark).
	CHARON_PLUGINS="random nonce openssl kdf kernel-libipsec kernel-netlink socket-default vici"
	CHARON_INSTALL_ROUTES=yes
	CHARON_THREADS=16
	CHARON_PLUGIN_CONF='		kernel-libipsec {
			allow_peer_ts = yes
		}
		kernel-netlink {
			fwmark = !0x4242
		}
		socket-default {
			fwmark = 0x4242
		}'
	MODE_NAME="host kernel $(uname -r): xiked backend = soft, charon kernel-libipsec"
else
	[ -n "${IN_UML:-}" ] || skip "needs a kernel with ESP: run it as netns-tests/uml-run $0 (or --host for userspace ESP)"
	MODE_NAME="kernel ESP ($(uname -r)): xiked backend = xfrm, charon kernel-netlink"
fi

# ---- topology ----------------------------------------------------------

NSR=$NS_PREFIX-nat
NSIN=$NS_PREFIX-lan
NAT_PUB=10.0.0.3
NAT_IN=192.168.0.2

topology() {
	netns_setup
	at_exit "for n in $NSIN $NSR; do kill \$(ip netns pids \$n) 2>/dev/null; ip netns del \$n; done"
	for ns in "$NSR" "$NSIN"; do
		must ip netns add "$ns"
		must ip -n "$ns" link set lo up
	done
	must ip -n "$NS0" link add p3 type veth peer name eth0 netns "$NSR"
	must ip -n "$NS0" link set p3 master br0 up
	must ip -n "$NSR" addr add "$NAT_PUB/24" dev eth0
	must ip -n "$NSR" link set eth0 up
	must ip -n "$NSR" link add eth1 type veth peer name eth0 netns "$NSIN"
	must ip -n "$NSR" addr add 192.168.0.1/24 dev eth1
	must ip -n "$NSR" link set eth1 up
	must ip -n "$NSIN" addr add "$NAT_IN/24" dev eth0
	must ip -n "$NSIN" link set eth0 up
	must ip -n "$NSIN" route add default via 192.168.0.1
	must ip netns exec "$NSR" sysctl -qw net.ipv4.ip_forward=1
	# Masquerade: nftables where the kernel has its IPv4 family; the
	# User-Mode Linux kernel has nf_tables for bridges only, so there it
	# is iptables-legacy (the same conntrack NAT underneath).  Without
	# either, the NAT cases skip.
	NAT_HOW=
	if ip netns exec "$NSR" nft -f - 2>/dev/null <<'EOF'
table ip nat {
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "eth0" masquerade
	}
}
EOF
	then
		NAT_HOW=nftables
	elif command -v iptables-legacy >/dev/null 2>&1 &&
		ip netns exec "$NSR" iptables-legacy -t nat -A POSTROUTING -o eth0 -j MASQUERADE 2>/dev/null; then
		NAT_HOW=iptables-legacy
	fi
	for a in 10.1.0.1/32 10.1.1.1/32 fd01::1/128 fd01:1::1/128; do
		must ip -n "$NS1" addr add "$a" dev lo
	done
	for a in 10.2.0.1/32 10.2.1.1/32 fd02::1/128 fd02:1::1/128; do
		must ip -n "$NS2" addr add "$a" dev lo
	done
	must ip -n "$NS1" route add 10.2.0.0/16 via 10.0.0.2
	must ip -n "$NS1" route add fd02::/16 via fd00::2
	must ip -n "$NS2" route add 10.1.0.0/16 via 10.0.0.1
	must ip -n "$NS2" route add fd01::/16 via fd00::1
	must ip -n "$NS1" route add 192.168.0.0/24 via "$NAT_PUB"
	must ip -n "$NS2" route add 192.168.0.0/24 via "$NAT_PUB"
	if [ -n "$HOST" ]; then
		# Userspace ESP sends runs of datagrams as one UDP GSO packet,
		# which the wire would count once: segment before the wire.
		for d in "$NS1 eth0" "$NS2 eth0" "$NSIN eth0" "$NSR eth0" "$NSR eth1"; do
			# shellcheck disable=SC2086
			set -- $d
			must ip -n "$1" link set dev "$2" gso_max_segs 1
		done
	fi
	# What crosses the wire: ESP, ESP in UDP (port 4500 and a non-zero SPI
	# where IKE has its zero marker), plain ICMP echo.
	n0 nft -f - <<'EOF' || fail "nft counters in the wire"
table bridge iop {
	counter n_esp { }
	counter n_espudp { }
	counter n_echo { }
	chain forward {
		type filter hook forward priority 0; policy accept;
		meta l4proto esp counter name "n_esp"
		udp sport 4500 @th,64,32 != 0 counter name "n_espudp"
		udp sport != 4500 udp dport 4500 @th,64,32 != 0 counter name "n_espudp"
		icmp type { echo-request, echo-reply } counter name "n_echo"
		icmpv6 type { echo-request, echo-reply } counter name "n_echo"
	}
}
EOF
}

# nx NS CMD: CMD in the network namespace NS.  Not `ip netns exec`, which
# also remounts /sys for the namespace: inside User-Mode Linux that makes it
# cost 0.6-0.9 s a call against about 0.2 s for nsenter, and nothing run
# through nx looks at /sys (ping, iperf3, ss and nft read the namespace
# through their sockets and /proc/net, which follows the process).
nx() {
	_nx=$1
	shift
	nsenter --net="/run/netns/$_nx" "$@"
}

wire() {
	_w=$(nx "$NS0" nft list counter bridge iop "n_$1") || return 1
	_w=${_w#*packets }
	echo "${_w%% *}"
}

# ESP packets on the wire as this run carries them: in UDP with a NAT or
# userspace ESP, bare otherwise.
esp_wire() {
	if [ "$NAT" = yes ] || [ -n "$HOST" ]; then wire espudp; else wire esp; fi
}

wire_reset() {
	nx "$NS0" nft reset counters table bridge iop >/dev/null || fail "nft reset counters"
}

# ---- helpers ---------------------------------------------------------------
# Inside User-Mode Linux a process costs about a tenth of a second, so these
# avoid them where they can: xikectl and swanctl need no namespace (their
# sockets are paths), ip takes -n, and SA details are read once per snapshot.

xctl() { "$XIKECTL" -s "/run/xike-test-$$-1.sock" "$@"; }
# xstat KEY: one of xiked's counters (xikectl stats)
xstat() { xctl stats | sed -n "s/^$1  *//p"; }
kx() { nx "$XIKE_NS" "$@"; }
kc() { nx "$CHARON_NS" "$@"; }
xiked_log_has() { grep -Eq -- "$1" "$XK_DIR/peer1.log"; }

# ---- a daemon's life: crash, restart ---------------------------------------

xiked_kill() {
	_pid=$(cat "$XK_DIR/peer1.pid")
	kill -KILL "$_pid" 2>/dev/null
	wait "$_pid" 2>/dev/null
	echo "[$_test_name] xiked killed (kill -9)"
}

# The same config again; the log goes on, and a new monitor appends to the
# events.  xiked-lib.sh's clean-up kills whatever pid peer1.pid names.
xiked_restart() {
	echo "---- xiked restarting" >>"$XK_DIR/peer1.log"
	ip netns exec "$XIKE_NS" "$XIKED" -c "$XK_DIR/peer1.conf" >>"$XK_DIR/peer1.log" 2>&1 &
	echo $! >"$XK_DIR/peer1.pid"
	wait_for 20 xctl status || fail "xiked did not start again"
	xctl monitor >>"$XK_DIR/events" 2>&1 &
	at_exit "kill $! 2>/dev/null"
	echo "[$_test_name] xiked restarted"
}

# kernel_flush xike|charon: that side's SAs and policies gone, as after a
# reboot of its host.
kernel_flush() {
	case $1 in
	xike) _ns=$XIKE_NS ;;
	charon) _ns=$CHARON_NS ;;
	*) fail "kernel_flush $1?" ;;
	esac
	printf 'xfrm state flush\nxfrm policy flush\n' | ip -n "$_ns" -batch - ||
		fail "cannot flush XFRM in $_ns"
}

# t_mark; ...; t_since: seconds (one decimal) since the mark.
t_mark() { uptime_now; T_MARK=$UPTIME; }
t_since() { uptime_now; elapsed "$T_MARK" "$UPTIME"; }

# ---- NAT port change -------------------------------------------------------

# nat_rules PORTS: masquerade UDP to PORTS from now on; nat_rules '': back
# to plain masquerade.  One step each (a rule inserted before the plain one,
# or taken out again), so that no packet ever leaves unmasqueraded: one that
# did would reach the responder from the private address, and the responder
# would rightly follow it there.
nat_rules() {
	if [ "$NAT_HOW" = nftables ]; then
		if [ -n "$1" ]; then
			ip netns exec "$NSR" nft insert rule ip nat post oifname eth0 meta l4proto udp masquerade to ":$1"
		else
			printf '%s\n' 'flush chain ip nat post' 'add rule ip nat post oifname "eth0" masquerade' |
				ip netns exec "$NSR" nft -f -
		fi
	elif [ -n "$1" ]; then
		ip netns exec "$NSR" iptables-legacy -t nat -I POSTROUTING 1 -o eth0 -p udp \
			-j MASQUERADE --to-ports "$1"
	else
		# Every rule before the plain one (the last) goes.
		while [ "$(ip netns exec "$NSR" iptables-legacy -t nat -S POSTROUTING | grep -c '^-A')" -gt 1 ]; do
			ip netns exec "$NSR" iptables-legacy -t nat -D POSTROUTING 1 || return 1
		done
	fi
}

# The NAT forgets every UDP mapping and maps to other ports from now on, as
# a NAT does after a reboot or a timeout.
nat_remap() {
	require_cmd conntrack
	at_exit nat_restore
	nat_rules 30000-30099 || fail "cannot change the NAT's port range"
	ip netns exec "$NSR" conntrack -D -p udp >/dev/null 2>&1
	echo "[$_test_name] NAT mappings dropped; UDP now mapped to ports 30000-30099"
}

nat_restore() {
	nat_rules ''
	ip netns exec "$NSR" conntrack -D -p udp >/dev/null 2>&1
	return 0
}

# expect_eq WHAT GOT WANT
expect_eq() {
	echo "[$_test_name] check: $1 = '$3'"
	[ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
}

# snap: both daemons' SAs, in sa-state's words, as $X_... and $C_...
# The translation is asked of the guest's one `sa-state serve` (started in
# main) where it runs: a Python start costs seconds inside User-Mode Linux.
snap() {
	xctl --json list-sas >"$XK_DIR/xike.json" 2>&1
	sw --list-sas --raw >"$XK_DIR/charon.raw" 2>&1
	if [ -n "$SA_REQ" ] && kill -0 "$SA_PID" 2>/dev/null; then
		printf '%s\t%s\t%s\t%s\n' "$XK_DIR/xike.json" "$XK_DIR/charon.raw" \
			"$SA_OUT" "$SA_REPLY" >"$SA_REQ"
		read -r _ok <"$SA_REPLY"
		if [ "$_ok" = ok ]; then
			# shellcheck disable=SC1090  # sa-state's answer
			. "$SA_OUT"
			return 0
		fi
	fi
	eval "$("$SA_STATE" shell "$XK_DIR/xike.json" "$XK_DIR/charon.raw")"
}

# xget/cget KEY (child.spi-in): a value of the last snapshot
xget() { eval "echo \"\$X_$(echo "$1" | tr .- __)\""; }
cget() { eval "echo \"\$C_$(echo "$1" | tr .- __)\""; }

both_installed() {
	snap
	[ "$X_child_state" = INSTALLED ] && [ "$C_child_state" = INSTALLED ]
}

no_ike_sas() {
	snap
	[ "$X_ike_count" = 0 ] && [ "$C_ike_count" = 0 ]
}

xfrm_x() { ip -n "$XIKE_NS" xfrm "$@"; }
xfrm_c() { ip -n "$CHARON_NS" xfrm "$@"; }

no_kernel_sas() {
	[ -n "$HOST" ] && return 0
	! xfrm_x state | grep -q '^src' && ! xfrm_c state | grep -q '^src'
}

# Host mode: the routes both daemons put into their TUN devices (table 220)
# for each CHILD SA.
tun_routes() {
	ip -n "$XIKE_NS" route show table 220
	ip -n "$CHARON_NS" route show table 220
}

# IPsec policies (those with a template) of the SPD: not the per-socket
# bypass policies of the IKE sockets, nor xiked's bypasses of IPv6
# neighbour discovery, which stay while it runs.
no_kernel_policies() {
	if [ -n "$HOST" ]; then
		[ -z "$(tun_routes 2>/dev/null)" ]
		return
	fi
	! xfrm_x policy | grep -q 'tmpl ' && ! xfrm_c policy | grep -q 'tmpl '
}

dump_kernel() {
	{
		echo "== xiked side ($XIKE_NS)"
		xfrm_x state
		xfrm_x policy
		[ -n "$HOST" ] && ip -n "$XIKE_NS" route show table 220 && ip -n "$XIKE_NS" rule
		echo "== charon side ($CHARON_NS)"
		xfrm_c state
		xfrm_c policy
		[ -n "$HOST" ] && ip -n "$CHARON_NS" route show table 220 && ip -n "$CHARON_NS" rule
	} >>"$XK_DIR/kernel.txt" 2>&1
	echo "[$_test_name] kernel state dumped to $XK_DIR/kernel.txt"
}

# The algorithm lines (names and keys) of the kernel SA with this SPI.
sa_algs() {
	awk -v spi="spi 0x$2 " '
		/^src/ { inblk = 0 }
		index($0, spi) { inblk = 1 }
		inblk && /^[ \t]+(aead|enc|auth|auth-trunc|comp) / { sub(/^[ \t]+/, ""); print }
	' "$1"
}

# A selector list in sa-state's form: sorted, blank-separated.  (One
# selector, the usual case, needs no process.)
tsnorm() {
	case $1 in
	*[,\ ]*) printf '%s\n' "$1" | tr ', ' '\n' | sed '/^$/d' | LC_ALL=C sort | paste -sd ' ' - ;;
	*) echo "$1" ;;
	esac
}

# canon ike|esp PROPOSAL: a one-proposal string as xiked prints what was
# negotiated (the PRF an IKE integrity algorithm implies; ESN for ESP).
canon() {
	_kind=$1 _encr='' _integ='' _prf='' _ke='' _esn=noesn
	_ifs=$IFS
	IFS=-
	# shellcheck disable=SC2086
	set -- $2
	IFS=$_ifs
	for _w; do
		case $_w in
		sha256|sha2_256) _integ=${_integ:-sha256} ;;
		sha384|sha2_384) _integ=${_integ:-sha384} ;;
		sha512|sha2_512) _integ=${_integ:-sha512} ;;
		prfsha*) _prf=${_prf:-$_w} ;;
		x25519|curve25519) _ke=${_ke:-x25519} ;;
		x448|curve448) _ke=${_ke:-x448} ;;
		ecp*|modp*) _ke=${_ke:-$_w} ;;
		esn|noesn) _esn=$_w ;;
		*) _encr=${_encr:-$_w} ;;
		esac
	done
	if [ "$_kind" = ike ] && [ -z "$_prf" ] && [ -n "$_integ" ]; then
		_prf=prf$_integ
	fi
	_out=$_encr
	for _w in "$_integ" "$_prf" "$_ke"; do
		[ -n "$_w" ] && _out=$_out-$_w
	done
	[ "$_kind" = esp ] && _out=$_out-$_esn
	echo "$_out"
}

# notify names as charon's message summaries abbreviate them
charon_short() {
	case $1 in
	NO_PROPOSAL_CHOSEN) echo NO_PROP ;;
	AUTHENTICATION_FAILED) echo AUTH_FAILED ;;
	TS_UNACCEPTABLE) echo TS_UNACCEPT ;;
	INVALID_KE_PAYLOAD) echo INVAL_KE ;;
	INVALID_SYNTAX) echo INVAL_SYN ;;
	*) echo "$1" ;;
	esac
}

ping_pairs() {
	for _p in $1; do
		check kx ping -c 3 -i 0.2 -W 2 -I "${_p%%>*}" "${_p#*>}"
	done
}

# ---- the checks ------------------------------------------------------------

check_up() {
	if ! wait_for 20 both_installed; then
		dump_kernel
		fail "no CHILD SA INSTALLED on both sides (xiked: '$X_child_state', charon: '$C_child_state')"
	fi
	if [ -n "$INIT_PID" ]; then
		wait "$INIT_PID"
		rc=$?
		INIT_PID=
		[ "$rc" -eq 0 ] || { cat "$XK_DIR/initiate.out"; fail "swanctl --initiate exited $rc"; }
	fi
	# both_installed's last snapshot (the one that saw both INSTALLED) is
	# what the checks below read: no second one.
	expect_eq "xiked IKE SAs" "$X_ike_count" 1
	expect_eq "charon IKE SAs" "$C_ike_count" 1
	expect_eq "xiked CHILD SAs" "$X_child_count" 1
	expect_eq "charon CHILD SAs" "$C_child_count" 1
	expect_eq "xiked IKE SA state" "$X_ike_state" ESTABLISHED
	expect_eq "charon IKE SA state" "$C_ike_state" ESTABLISHED
	# The IKE SA's initiator: the run's, or whoever rekeyed it last.
	if [ "$IKE_INITIATOR" = xike ]; then xr=initiator cr=responder; else xr=responder cr=initiator; fi
	expect_eq "xiked role" "$X_ike_role" "$xr"
	expect_eq "charon role" "$C_ike_role" "$cr"
	expect_eq "IKE SPIi (xiked = charon)" "$X_ike_spi_i" "$C_ike_spi_i"
	expect_eq "IKE SPIr (xiked = charon)" "$X_ike_spi_r" "$C_ike_spi_r"
	expect_eq "xiked inbound SPI = charon outbound" "$X_child_spi_in" "$C_child_spi_out"
	expect_eq "xiked outbound SPI = charon inbound" "$X_child_spi_out" "$C_child_spi_in"
	expect_eq "IKE suite (xiked = charon)" "$X_ike_suite" "$C_ike_suite"
	expect_eq "ESP suite (xiked = charon)" "$X_child_suite" "$C_child_suite"
	[ -n "$EXPECT_IKE" ] && expect_eq "IKE suite" "$X_ike_suite" "$EXPECT_IKE"
	[ -n "$EXPECT_ESP" ] && expect_eq "ESP suite" "$X_child_suite" "$EXPECT_ESP"
	expect_eq "xiked mode" "$X_child_mode" "$MODE"
	expect_eq "charon mode" "$C_child_mode" "$MODE"
	expect_eq "xiked local TS" "$X_child_local_ts" "$EXPECT_LOCAL_TS"
	expect_eq "xiked remote TS" "$X_child_remote_ts" "$EXPECT_REMOTE_TS"
	expect_eq "charon local TS" "$C_child_local_ts" "$EXPECT_REMOTE_TS"
	expect_eq "charon remote TS" "$C_child_remote_ts" "$EXPECT_LOCAL_TS"
	if [ -n "$HOST" ] && [ "$NAT" != yes ]; then
		# Userspace ESP is always UDP-encapsulated: both daemons fake a NAT
		# (RFC 7296 2.23 allows it) whatever their addresses say.
		echo "[$_test_name] NAT flags: xiked $X_ike_nat_local/$X_ike_nat_remote, charon $C_ike_nat_local/$C_ike_nat_remote (faked for UDP encapsulation)"
		expect_eq "xiked UDP encapsulation" "$X_child_encap" yes
		expect_eq "charon UDP encapsulation" "$C_child_encap" yes
	elif [ "$NAT" = yes ]; then
		if [ "$ROLE" = xi ]; then
			expect_eq "xiked sees itself behind the NAT" "$X_ike_nat_local" yes
			expect_eq "charon sees xiked behind the NAT" "$C_ike_nat_remote" yes
		else
			expect_eq "xiked sees charon behind the NAT" "$X_ike_nat_remote" yes
			expect_eq "charon sees itself behind the NAT" "$C_ike_nat_local" yes
		fi
		expect_eq "xiked UDP encapsulation" "$X_child_encap" yes
		expect_eq "charon UDP encapsulation" "$C_child_encap" yes
	else
		expect_eq "xiked NAT flags" "$X_ike_nat_local$X_ike_nat_remote" nono
		expect_eq "charon NAT flags" "$C_ike_nat_local$C_ike_nat_remote" nono
		expect_eq "xiked UDP encapsulation" "$X_child_encap" no
	fi
	if [ -n "$HOST" ]; then
		echo "[$_test_name] kernel SA checks skipped: no kernel SAs on the host (userspace ESP on both sides)"
		return 0
	fi
	# The kernels: two SAs each, the SPIs both daemons report, the same
	# algorithms and keys on both sides of each SPI.
	xfrm_x state >"$XK_DIR/xfrm-xike.txt"
	xfrm_c state >"$XK_DIR/xfrm-charon.txt"
	expect_eq "kernel SAs on xiked's side" "$(grep -c '^src' "$XK_DIR/xfrm-xike.txt")" 2
	expect_eq "kernel SAs on charon's side" "$(grep -c '^src' "$XK_DIR/xfrm-charon.txt")" 2
	for spi in $X_child_spi_in $X_child_spi_out; do
		for f in xike charon; do
			grep -q "spi 0x$spi " "$XK_DIR/xfrm-$f.txt" ||
				fail "SPI $spi is not in the kernel on $f's side"
		done
		a=$(sa_algs "$XK_DIR/xfrm-xike.txt" "$spi")
		b=$(sa_algs "$XK_DIR/xfrm-charon.txt" "$spi")
		[ -n "$a" ] || fail "no algorithm lines for SPI $spi on xiked's side"
		echo "[$_test_name] check: kernel algorithms and keys of SPI $spi agree"
		[ "$a" = "$b" ] || fail "SPI $spi: xiked's kernel has '$a', charon's '$b'"
	done
	if [ "$MODE" = transport ]; then
		expect_eq "transport SAs on xiked's side" "$(grep -c 'mode transport' "$XK_DIR/xfrm-xike.txt")" 2
		expect_eq "transport SAs on charon's side" "$(grep -c 'mode transport' "$XK_DIR/xfrm-charon.txt")" 2
	fi
	if [ "$NAT" = yes ]; then
		expect_eq "espinudp SAs on xiked's side" "$(grep -c 'encap type espinudp' "$XK_DIR/xfrm-xike.txt")" 2
		expect_eq "espinudp SAs on charon's side" "$(grep -c 'encap type espinudp' "$XK_DIR/xfrm-charon.txt")" 2
	fi
}

check_traffic() {
	if [ "$NAT" = yes ] || [ -n "$HOST" ]; then kind=espudp; else kind=esp; fi
	first=${PINGS%% *}
	src=${first%%>*} dst=${first#*>}
	if [ "$IPERF" = yes ]; then
		# The iperf3 server starts now and listens by the time the pings end.
		kc iperf3 -s -1 -B "$dst" >"$XK_DIR/iperf-server.txt" 2>&1 &
		at_exit "kill $! 2>/dev/null"
	fi
	wire_reset
	ping_pairs "$PINGS"
	# shellcheck disable=SC2086
	n=$(set -- $PINGS; echo $#)
	got=$(wire $kind)
	echo "[$_test_name] check: >= $((6 * n)) $kind packets on the wire for $n x 3 pings: $got"
	[ "$got" -ge $((6 * n)) ] || fail "only $got $kind packets on the wire for $n x 3 pings"
	expect_eq "plain ICMP echo on the wire" "$(wire echo)" 0
	if [ "$kind" = espudp ]; then
		expect_eq "bare ESP on the wire (UDP encapsulation)" "$(wire esp)" 0
	fi
	if [ "$IPERF" = yes ]; then
		wait_for 5 sh -c "nsenter --net=/run/netns/$CHARON_NS ss -ltn | grep -q ':5201 '" ||
			fail "iperf3 server did not listen"
		before=$got
		echo "[$_test_name] check: iperf3 -t 2 $src -> $dst"
		if ! kx timeout 30 iperf3 -c "$dst" -B "$src" -t 2 >"$XK_DIR/iperf.txt" 2>&1; then
			cat "$XK_DIR/iperf.txt"
			fail "iperf3 through the tunnel failed"
		fi
		after=$(wire $kind)
		echo "[$_test_name] check: iperf3 moved $((after - before)) $kind packets on the wire"
		[ $((after - before)) -ge 100 ] || fail "iperf3 moved only $((after - before)) $kind packets"
		expect_eq "plain ICMP echo on the wire" "$(wire echo)" 0
		grep -E 'sender|receiver' "$XK_DIR/iperf.txt"
	else
		echo "[$_test_name] no iperf3 run in this case (IPERF=$IPERF): the pings are the traffic"
	fi
	snap
	echo "[$_test_name] check: bytes in/out counted on both sides: xiked $X_child_bytes_in/$X_child_bytes_out, charon $C_child_bytes_in/$C_child_bytes_out"
	for v in "$X_child_bytes_in" "$X_child_bytes_out" "$C_child_bytes_in" "$C_child_bytes_out"; do
		[ "${v:-0}" -gt 0 ] || fail "a byte counter is zero: xiked $X_child_bytes_in/$X_child_bytes_out, charon $C_child_bytes_in/$C_child_bytes_out"
	done
	if [ -n "$PLAIN_PINGS" ]; then
		wire_reset
		ping_pairs "$PLAIN_PINGS"
		got=$(wire echo)
		echo "[$_test_name] check: traffic outside the selectors crosses in the clear: $got echo packets"
		[ "$got" -ge 6 ] || fail "traffic outside the selectors did not cross in the clear ($got)"
	fi
}

kernel_sa_count() {
	ip -n "$1" xfrm state | grep -c '^src'
}

# After a rekey: one IKE SA and one CHILD SA on each side again, the
# rekeyed one new, and two kernel SAs per side (xiked lets the old inbound
# SA linger a few seconds).
rekeyed() {
	snap
	[ "$X_ike_count" = 1 ] && [ "$C_ike_count" = 1 ] &&
		[ "$X_child_count" = 1 ] && [ "$C_child_count" = 1 ] &&
		[ "$X_child_state" = INSTALLED ] && [ "$C_child_state" = INSTALLED ] &&
		[ "$X_ike_state" = ESTABLISHED ] && [ "$C_ike_state" = ESTABLISHED ] || return 1
	[ -n "$HOST" ] ||
		{ [ "$(kernel_sa_count "$XIKE_NS")" = 2 ] && [ "$(kernel_sa_count "$CHARON_NS")" = 2 ]; } ||
		return 1
	case $1 in
	child) [ "$X_child_spi_in" != "$OLD_CHILD" ] && [ "$X_ike_spi_i" = "$OLD_IKE" ] ;;
	ike) [ "$X_ike_spi_i" != "$OLD_IKE" ] && [ "$X_child_spi_in" = "$OLD_CHILD" ] ;;
	esac
}

# rekey xike|charon child|ike: one side rekeys; then every check of an
# established pair again, and traffic through it.
rekey() {
	snap
	OLD_CHILD=$X_child_spi_in OLD_IKE=$X_ike_spi_i
	case $1/$2 in
	xike/child) check xctl rekey t ;;
	xike/ike) check xctl rekey t ike ;;
	charon/child) check sw --rekey --child t ;;
	charon/ike) check sw --rekey --ike t ;;
	*) fail "rekey $1 $2?" ;;
	esac
	if ! wait_for 20 rekeyed "$2"; then
		dump_kernel
		fail "no clean $2 rekey: xiked $X_ike_count IKE ($X_ike_spi_i, was $OLD_IKE) $X_child_count CHILD ($X_child_spi_in, was $OLD_CHILD); charon $C_ike_count IKE, $C_child_count CHILD; kernel SAs $(kernel_sa_count "$XIKE_NS")/$(kernel_sa_count "$CHARON_NS")"
	fi
	echo "[$_test_name] check: $2 rekeyed by $1: IKE SPIi $OLD_IKE -> $X_ike_spi_i, CHILD SPI $OLD_CHILD -> $X_child_spi_in"
	[ "$2" = ike ] && IKE_INITIATOR=$1
	check_up
	wire_reset
	ping_pairs "$PINGS"
	got=$(esp_wire)
	echo "[$_test_name] check: ESP through the rekeyed SAs: $got packets"
	[ "$got" -ge 6 ] || fail "only $got ESP packets after the rekey"
	expect_eq "plain ICMP echo on the wire" "$(wire echo)" 0
}

check_clean() {
	wait_for 10 no_kernel_sas || { dump_kernel; fail "kernel SAs left after the DELETE"; }
	if [ -n "$HOST" ]; then
		wait_for 5 no_kernel_policies || { dump_kernel; fail "routes into a TUN device left after the DELETE"; }
	else
		wait_for 5 no_kernel_policies || { dump_kernel; fail "kernel policies left after the DELETE"; }
	fi
	wait_for 10 no_ike_sas ||
		fail "IKE SAs left: xiked $X_ike_count ($X_ike_state), charon $C_ike_count ($C_ike_state)"
	if [ -n "$HOST" ]; then
		echo "[$_test_name] check: nothing left in either daemon, no route into either TUN device"
	else
		echo "[$_test_name] check: nothing left in either kernel or daemon"
	fi
}

teardown() {
	case $TEARDOWN in
	xike)
		check xctl terminate t
		wait_for 10 charon_log_has 'received DELETE for IKE_SA t' ||
			fail "charon did not log the DELETE of the IKE SA"
		;;
	charon)
		check sw --terminate --ike t --timeout 10
		wait_for 10 xiked_log_has 'IKE SA down conn=t .*deleted by peer' ||
			fail "xiked did not log the peer's DELETE"
		;;
	none) ;;
	charon-child)
		check sw --terminate --child t --timeout 10
		check charon_log_has 'received DELETE for ESP CHILD_SA with SPI'
		wait_for 10 no_kernel_sas || { dump_kernel; fail "kernel SAs left after deleting the CHILD SA"; }
		wait_for 5 no_kernel_policies || { dump_kernel; fail "kernel policies left after deleting the CHILD SA"; }
		snap
		expect_eq "xiked CHILD SAs after the CHILD DELETE" "$X_child_count" 0
		expect_eq "charon CHILD SAs after the CHILD DELETE" "$C_child_count" 0
		expect_eq "xiked IKE SA state after the CHILD DELETE" "$X_ike_state" ESTABLISHED
		expect_eq "charon IKE SA state after the CHILD DELETE" "$C_ike_state" ESTABLISHED
		check xctl terminate t
		;;
	*) fail "TEARDOWN '$TEARDOWN' is not xike, charon, charon-child or none" ;;
	esac
	check_clean
}

xiked_shows_notify() {
	grep -q "notify=$NOTIFY" "$XK_DIR/events" || xiked_log_has "$NOTIFY"
}

check_failure() {
	short=$(charon_short "$NOTIFY")
	# xiked: an event (xikectl monitor) or at least its log names the notify.
	wait_for 15 xiked_shows_notify || {
		cat "$XK_DIR/events"
		fail "xiked shows no $NOTIFY (neither an event nor a log line)"
	}
	grep "notify=$NOTIFY" "$XK_DIR/events"
	grep "$NOTIFY" "$XK_DIR/peer1.log"
	if [ "$ROLE" = xi ]; then _r=charon; else _r=xike; fi
	if [ "${REFUSER:-$_r}" = charon ]; then
		# charon refused; its summary of the message it sent names the notify
		pat="generating .*N\\($short\\)"
	else
		pat="parsed .*N\\($short\\)"
	fi
	wait_for 10 charon_log_has "$pat" || fail "charon's log has no '$pat'"
	grep -E "$pat" "$CH_DIR/charon.log"
	if [ "$ROLE" = xr ]; then
		wait "$INIT_PID"
		rc=$?
		INIT_PID=
		echo "[$_test_name] check: swanctl --initiate fails"
		[ "$rc" -ne 0 ] || fail "swanctl --initiate succeeded"
	fi
	if [ "$EXPECT" = ike-fail ]; then
		wait_for 10 no_ike_sas ||
			fail "an IKE SA stayed: xiked '$X_ike_state', charon '$C_ike_state'"
	else
		# Section 1.2: a refused CHILD SA leaves the IKE SA up.
		snap
		expect_eq "xiked CHILD SAs" "$X_child_count" 0
		expect_eq "charon CHILD SAs" "$C_child_count" 0
	fi
	wait_for 5 no_kernel_sas || { dump_kernel; fail "kernel SAs installed despite the failure"; }
	no_kernel_policies || { dump_kernel; fail "kernel policies installed despite the failure"; }
	echo "[$_test_name] check: nothing installed on either side"
}

# wait_for SECS CMD...: xiked-lib.sh's, with the clock read from
# /proc/uptime instead of a `date` process each round.
wait_for() {
	_secs=$1
	shift
	uptime_now
	_end=$(( ${UPTIME%.*} + _secs ))
	while ! "$@" >/dev/null 2>&1; do
		uptime_now
		[ "${UPTIME%.*}" -ge "$_end" ] && return 1
		sleep 0.2
	done
	return 0
}

# ---- daemons shared by the runs of a guest ------------------------------
#
# Starting charon and xiked costs 6-16 s a run inside User-Mode Linux, the
# largest share of a plain run.  So, with INTEROP_SHARE=1, the runs of a
# guest share one charon and one
# xiked: each run loads its own swanctl.conf (swanctl --load-all --clear)
# and its own xiked.conf (xikectl reload), and every run ends with the
# check that nothing is left (check_clean: no kernel SA, no IPsec policy,
# no IKE SA in either daemon), which fails the run if something is.  After a
# run that did not pass, scrub kills both daemons, flushes the kernels, and
# the next run starts new ones.  A daemon starts again when what it was
# started with changes: its namespace (NAT puts the initiator into $NSIN),
# charon's strongswan.conf (STRONGSWAN_EXTRA).  A run has its own daemons,
# started and stopped as before the sharing, where sharing would change
# what it tests (share_plan): a case that kills, restarts or flushes a
# daemon (xiked_kill, xiked_restart, charon_kill, charon_restart,
# kernel_flush), one that reads xiked's counters (xstat: they count since
# the start), and for xiked a run with certificates (xiked re-reads its
# files on reload as user xike, and the run's keys are root's).
#
# The shared daemons' files are in $SHARED (a tmpfs in the guest, not
# under /run, which charon mounts over); each run
# sees them under its own names ($XK_DIR/peer1.log, $CH_DIR/charon.log,
# $CH_DIR/charon.vici, $CH_DIR/strongswan.conf are links there while it
# runs), both logs are emptied as it starts (both daemons append) and copied
# into the run's directory as it ends.
SHARED=/tmp/xike-shared-$$
# Off by default: the sharing has passed every run only in parts (97 runs
# in one loaded whole-suite run before a fix, the rest in subsets), not yet
# in one whole suite; INTEROP_SHARE=1 turns it on (docs/interop.md).
SHARE=${INTEROP_SHARE:-0}
# The shared charon has the certificate plugins from the start, so that a
# run with certificates after one without needs no new charon.
if [ "$SHARE" = 1 ]; then
	CHARON_PLUGINS="$CHARON_PLUGINS pem pkcs1 pkcs8 x509 constraints revocation"
fi

# share_plan FILE: SHARE_CH / SHARE_XK say whether this run (its case
# sourced) uses the shared charon / xiked.
share_plan() {
	SHARE_CH=$SHARE SHARE_XK=$SHARE
	[ "$SHARE" = 1 ] || return 0
	if grep -Eq 'xiked_kill|xiked_restart|charon_kill|charon_restart|kernel_flush|xstat' "$1"; then
		SHARE_CH=0 SHARE_XK=0
	fi
	if [ "$XIKE_AUTH" = pubkey ] || [ "$CHARON_AUTH" = pubkey ]; then
		SHARE_XK=0
	fi
}

# shared_prune: before either daemon starts, the shared ones this run will
# not use go, so that neither holds the IKE ports in a namespace where the
# other starts now (xiked behind the NAT in the last run, charon there now).
shared_prune() {
	CH_KEY="$CHARON_NS|$CHARON_PLUGINS|$STRONGSWAN_EXTRA|$CHARON_PLUGIN_CONF"
	if [ "$SHARE_CH" != 1 ] || [ "$(shared_key ch)" != "$CH_KEY" ]; then
		shared_stop ch
	fi
	if [ "$SHARE_XK" != 1 ] || [ "$(shared_key xk)" != "$XIKE_NS" ]; then
		shared_stop xk
	fi
}

# shared_alive ch|xk: the shared daemon runs (and is no zombie).  No
# process: each costs a tenth of a second or more in the guest.
shared_alive() {
	_sp=''
	read -r _sp 2>/dev/null <"$SHARED/$1.pid" || return 1
	[ -n "$_sp" ] || return 1
	# /proc/PID/stat: pid (comm) state ...; the daemons' names hold no blank
	read -r _ _ _st _ 2>/dev/null <"/proc/$_sp/stat" || return 1
	[ "$_st" != Z ]
}

# shared_key ch|xk: what the shared daemon was started with
shared_key() {
	_sk=''
	read -r _sk 2>/dev/null <"$SHARED/$1.key"
	echo "$_sk"
}

# shared_stop ch|xk: the shared daemon goes (SIGKILL: it holds nothing by
# now, every run that handed it on ended clean), its key with it.
shared_stop() {
	if shared_alive "$1"; then
		kill -KILL "$(cat "$SHARED/$1.pid")" 2>/dev/null
		wait_for 5 eval "! shared_alive $1" || fail "the shared daemon $1 does not end"
	fi
	rm -f "$SHARED/$1.pid" "$SHARED/$1.key"
	if [ "$1" = xk ]; then
		rm -f "/run/xike-test-$$-1.sock"
	fi
}

# shared_charon: the guest's charon for this run (reused when it was
# started in the same namespace with the same strongswan.conf, else
# started), seen from $XK_DIR/charon.
shared_charon() {
	_key=$CH_KEY
	if shared_alive ch && [ "$(shared_key ch)" = "$_key" ]; then
		: >"$SHARED/charon/charon.log"
		CH_REUSED=1
	else
		shared_stop ch
		mkdir -p "$SHARED/charon"
		: >"$SHARED/charon/charon.log"
		charon_start "$CHARON_NS" "$SHARED/charon"
		echo "$CH_PID" >"$SHARED/ch.pid"
		echo "$_key" >"$SHARED/ch.key"
		CH_REUSED=
	fi
	# Not this run's to stop (charon_stop does nothing without it).
	CH_PID=
	CH_DIR=$XK_DIR/charon
	mkdir -p "$CH_DIR"
	ln -sfn "$SHARED/charon/strongswan.conf" "$SHARED/charon/charon.vici" \
		"$SHARED/charon/charon.log" "$CH_DIR/"
}

# shared_xiked: the guest's xiked for this run, with the configuration on
# stdin (reloaded when the daemon runs in the run's namespace, else
# started with it).
shared_xiked() {
	cat >"$SHARED/xiked.conf" || fail "cannot write xiked's configuration"
	: >"$SHARED/xiked.log"
	if shared_alive xk && [ "$(shared_key xk)" = "$XIKE_NS" ]; then
		XK_REUSED=1
		if ! xctl reload >"$XK_DIR/reload.out" 2>&1; then
			cat "$XK_DIR/reload.out"
			fail "xikectl reload refused the run's configuration"
		fi
	else
		XK_REUSED=
		shared_stop xk
		ip netns exec "$XIKE_NS" "$XIKED" -c "$SHARED/xiked.conf" >>"$SHARED/xiked.log" 2>&1 &
		echo $! >"$SHARED/xk.pid"
		echo "$XIKE_NS" >"$SHARED/xk.key"
		wait_for 60 xctl status || { cat "$SHARED/xiked.log"; fail "xiked did not start"; }
	fi
	read -r _sp <"$SHARED/xk.pid"
	echo "$_sp" >"$XK_DIR/peer1.pid"
	ln -sfn "$SHARED/xiked.log" "$XK_DIR/peer1.log"
}

# At the end of a run (at_exit): the shared daemons' logs of this run,
# copied over the links into the run's directory.
shared_keep_logs() {
	if [ -L "$XK_DIR/peer1.log" ]; then
		rm -f "$XK_DIR/peer1.log"
		cp "$SHARED/xiked.log" "$XK_DIR/peer1.log"
	fi
	if [ -L "$XK_DIR/charon/charon.log" ]; then
		rm -f "$XK_DIR/charon/charon.log" "$XK_DIR/charon/charon.vici"
		cp "$SHARED/charon/charon.log" "$XK_DIR/charon/charon.log"
		rm -f "$XK_DIR/charon/strongswan.conf"
		cp "$SHARED/charon/strongswan.conf" "$XK_DIR/charon/strongswan.conf"
	fi
	return 0
}

# ---- one run -------------------------------------------------------------

# Seconds since boot, to 1/100 s, without a process: $UPTIME
uptime_now() {
	read -r UPTIME _ </proc/uptime
}

# elapsed PREV NOW (both as /proc/uptime has them, 12.34): NOW - PREV in
# seconds with one decimal.  (The 1 before the hundredths keeps "08" from
# reading as octal; it cancels out.)
elapsed() {
	_a=$(( (${2%.*} * 100 + 1${2#*.}) - (${1%.*} * 100 + 1${1#*.}) ))
	echo "$((_a / 100)).$(( (_a % 100) / 10 ))"
}

# stage WHAT: a progress line with the seconds since the run started, so
# that a slow step shows in the run's output.
stage() {
	uptime_now
	echo "[$_test_name] +$(elapsed "$RUN_T0" "$UPTIME")s $*"
}

case_defaults() {
	DESC='' ROLES="xi xr" FAMILY=4 MODE=tunnel NAT=no
	IKE=aes128gcm16-prfsha256-x25519 ESP=aes128gcm16
	XIKE_IKE='' XIKE_ESP='' CHARON_IKE='' CHARON_ESP=''
	PSK="interop secret" XIKE_PSK='' CHARON_PSK=''
	XIKE_LOCAL_TS='' XIKE_REMOTE_TS='' CHARON_LOCAL_TS='' CHARON_REMOTE_TS=''
	XIKE_EXTRA='' CHARON_EXTRA='' CHARON_CHILD_EXTRA='' CHARON_REMOTE_EXTRA=''
	EXPECT=up NOTIFY='' EXPECT_IKE='' EXPECT_ESP='' EXPECT_LOCAL_TS='' EXPECT_REMOTE_TS=''
	PINGS='' PLAIN_PINGS='' TEARDOWN='' STRONGSWAN_EXTRA='' HOST_SKIP='' IPERF=no
	CERT_KEY='' XIKE_CERT_KEY='' CHARON_CERT_KEY='' CA_KEY='' XIKE_AUTH='' CHARON_AUTH=''
	CERT_ID=fqdn CERT_CHAIN=direct XIKE_ISSUER=ca CHARON_ISSUER=ca REVOKED=''
	XIKE_ID='' CHARON_ID='' CHARON_SIGN='' CHARON_LOCAL_EXTRA='' REFUSER=''
	unset -f case_setup case_prepare case_checks 2>/dev/null || true
}

# shellcheck disable=SC2034  # XIKE_IN1 and the like are for the cases
set_addresses() {
	if [ "$FAMILY" = 6 ]; then
		XIKE_IP=$IP1_6 CHARON_IP=$IP2_6 HOSTLEN=128
		XIKE_IN1=fd01::1 XIKE_IN2=fd01:1::1 CHARON_IN1=fd02::1 CHARON_IN2=fd02:1::1
	else
		XIKE_IP=$IP1_4 CHARON_IP=$IP2_4 HOSTLEN=32
		XIKE_IN1=10.1.0.1 XIKE_IN2=10.1.1.1 CHARON_IN1=10.2.0.1 CHARON_IN2=10.2.1.1
	fi
	XIKE_NS=$NS1 CHARON_NS=$NS2
	XIKE_PEER=$CHARON_IP CHARON_PEER=$XIKE_IP
	if [ "$NAT" = yes ]; then
		[ -n "$NAT_HOW" ] || skip "no masquerade in this kernel (nftables IPv4 or iptables-legacy)"
		if [ "$ROLE" = xi ]; then
			XIKE_NS=$NSIN XIKE_IP=$NAT_IN CHARON_PEER=$NAT_PUB
		else
			CHARON_NS=$NSIN CHARON_IP=$NAT_IN XIKE_PEER=$NAT_PUB
		fi
	fi
}

# Print a multi-line value, indented.
lines() {
	[ -n "$2" ] && printf '%s\n' "$2" | sed "s/^[[:space:]]*/$1/"
	return 0
}

xike_conf() {
	echo "[global]"
	xiked_socket 1
	echo "log-level = debug"
	echo "install-routes = no"
	[ -n "$HOST" ] && echo "backend = soft"
	echo "[conn t]"
	echo "local = $XIKE_IP"
	echo "remote = $XIKE_PEER"
	[ -n "$XIKE_PSK" ] && echo "psk = $XIKE_PSK"
	echo "ike = $XIKE_IKE"
	echo "esp = $XIKE_ESP"
	echo "mode = $MODE"
	[ -n "$XIKE_LOCAL_TS" ] && echo "local-ts = $XIKE_LOCAL_TS"
	[ -n "$XIKE_REMOTE_TS" ] && echo "remote-ts = $XIKE_REMOTE_TS"
	lines "" "$XIKE_EXTRA"
}

charon_conf() {
	t='	'
	cat <<EOF
connections {
${t}t {
${t}${t}version = 2
${t}${t}local_addrs = $CHARON_IP
${t}${t}remote_addrs = $CHARON_PEER
${t}${t}proposals = $CHARON_IKE
$(lines "$t$t" "$CHARON_EXTRA")
${t}${t}local {
${t}${t}${t}auth = $([ "$CHARON_AUTH" = pubkey ] && echo "${CHARON_SIGN:-pubkey}" || echo psk)
$(lines "$t$t$t" "$CHARON_LOCAL_EXTRA")
${t}${t}}
${t}${t}remote {
${t}${t}${t}auth = $XIKE_AUTH
$(lines "$t$t$t" "$CHARON_REMOTE_EXTRA")
${t}${t}}
${t}${t}children {
${t}${t}${t}t {
${t}${t}${t}${t}mode = $MODE
${t}${t}${t}${t}esp_proposals = $CHARON_ESP
$([ -n "$CHARON_LOCAL_TS" ] && echo "$t$t$t${t}local_ts = $CHARON_LOCAL_TS")
$([ -n "$CHARON_REMOTE_TS" ] && echo "$t$t$t${t}remote_ts = $CHARON_REMOTE_TS")
$(lines "$t$t$t$t" "$CHARON_CHILD_EXTRA")
${t}${t}${t}}
${t}${t}}
${t}}
}
secrets {
${t}ike-t {
${t}${t}secret = "$CHARON_PSK"
${t}}
}
EOF
}

# An import run (CASE@import.ROLE, or every run with
# INTEROP_XIKE_FROM_SWANCTL=1): xiked's [conn t] is what `xikectl import`
# makes of the mirror of charon's swanctl.conf (charon_conf with the sides
# swapped); run.sh's [global] and XIKE_EXTRA (xiked's own test knobs) go
# around it.  The import must be complete (exit 0).  Both files stay in the
# run's log directory.
xike_conf_imported() {
	( CHARON_IP=$XIKE_IP CHARON_PEER=$XIKE_PEER CHARON_IKE=$XIKE_IKE CHARON_ESP=$XIKE_ESP
	  CHARON_PSK=$XIKE_PSK CHARON_LOCAL_TS=$XIKE_LOCAL_TS CHARON_REMOTE_TS=$XIKE_REMOTE_TS
	  CHARON_EXTRA='' CHARON_CHILD_EXTRA='' CHARON_REMOTE_EXTRA=''
	  charon_conf ) >"$XK_DIR/xiked-swanctl.conf"
	"$XIKECTL" import --output "$XK_DIR/xiked-import.conf" "$XK_DIR/xiked-swanctl.conf" \
		2>"$XK_DIR/import.err" || { cat "$XK_DIR/import.err" >&2; fail "xikectl import: exit $?"; }
	xike_conf | sed '/^\[conn t\]$/,$d'
	cat "$XK_DIR/xiked-import.conf"
	lines "" "$XIKE_EXTRA"
}

# In a subshell: one case in one role.  lib.sh's fail exits it.
run_case() {
	file=$1 ROLE=$2
	# The parent's clean-up stays the parent's: only this run's own.
	_exit_cmds='' _netns_made='' _failed=''
	trap _cleanup EXIT
	_test_name="$(basename "$file" .case)/$ROLE"
	uptime_now
	RUN_T0=$UPTIME
	INIT_PID='' XK_REUSED='' CH_REUSED=''
	# Twice: the first pass learns FAMILY and NAT, the second sees the
	# addresses that follow from them.
	case_defaults
	set_addresses
	# shellcheck disable=SC1090  # the case
	. "$file"
	set_addresses
	case_defaults
	# shellcheck disable=SC1090
	. "$file"
	: "${XIKE_IKE:=$IKE}" "${XIKE_ESP:=$ESP}" "${CHARON_IKE:=$IKE}" "${CHARON_ESP:=$ESP}"
	: "${XIKE_PSK:=$PSK}" "${CHARON_PSK:=$PSK}"
	certs_setup "$XK_DIR"
	case $XIKE_IKE in *,*) ;; *) : "${EXPECT_IKE:=$(canon ike "$XIKE_IKE")}" ;; esac
	case $XIKE_ESP in *,*) ;; *) : "${EXPECT_ESP:=$(canon esp "$XIKE_ESP")}" ;; esac
	EXPECT_LOCAL_TS=$(tsnorm "${EXPECT_LOCAL_TS:-${XIKE_LOCAL_TS:-$XIKE_IP/$HOSTLEN}}")
	EXPECT_REMOTE_TS=$(tsnorm "${EXPECT_REMOTE_TS:-${XIKE_REMOTE_TS:-$CHARON_IP/$HOSTLEN}}")
	[ -n "$PINGS" ] || PINGS="$XIKE_IP>$CHARON_IP"
	if [ "$ROLE" = xi ]; then IKE_INITIATOR=xike; else IKE_INITIATOR=charon; fi
	: "${TEARDOWN:=$IKE_INITIATOR}"
	say "$DESC"
	if [ -n "$HOST" ]; then
		[ "$MODE" = transport ] && HOST_SKIP=${HOST_SKIP:-"transport mode: kernel-libipsec has tunnel mode only"}
		[ -n "$HOST_SKIP" ] && skip "$HOST_SKIP"
	fi
	say "xiked in $XIKE_NS ($XIKE_IP), charon in $CHARON_NS ($CHARON_IP), $MODE, expect $EXPECT${NOTIFY:+ ($NOTIFY)}"

	# charon starts first and comes up while xiked does.  xiked-lib.sh
	# works on peer 1 ($NS1): make that xiked's namespace.
	share_plan "$file"
	shared_prune
	at_exit shared_keep_logs
	if command -v case_setup >/dev/null 2>&1; then
		case_setup
	fi
	stage "starting both daemons"
	if [ "$SHARE_CH" = 1 ]; then
		shared_charon
	else
		shared_stop ch
		charon_start "$CHARON_NS" "$XK_DIR/charon"
		at_exit charon_stop
	fi
	charon_conf >"$CH_DIR/swanctl.conf"
	NS1=$XIKE_NS
	if [ -n "$IMPORTED" ]; then
		xike_conf_imported >"$XK_DIR/xiked.conf"
	else
		xike_conf >"$XK_DIR/xiked.conf"
	fi
	if [ "$SHARE_XK" = 1 ]; then
		shared_xiked <"$XK_DIR/xiked.conf"
		ln -sfn xiked.conf "$XK_DIR/peer1.conf"
	else
		shared_stop xk
		xiked_start 1 <"$XK_DIR/xiked.conf"
	fi
	stage "xiked answers${XK_REUSED:+ (reloaded)}"
	xctl monitor >"$XK_DIR/events" 2>&1 &
	at_exit "kill $! 2>/dev/null"
	# A charon that runs on answered the last run; the load below is the
	# proof that it still does.
	[ -n "$CH_REUSED" ] || charon_wait
	stage "charon answers${CH_REUSED:+ (running)}"
	charon_load
	stage "both daemons loaded"
	if command -v case_prepare >/dev/null 2>&1; then
		case_prepare
	fi

	if [ "$ROLE" = xi ]; then
		check xctl initiate t
	else
		sw --initiate --child t --timeout 20 >"$XK_DIR/initiate.out" 2>&1 &
		INIT_PID=$!
	fi
	case $EXPECT in
	up)
		check_up
		stage "both SAs up and checked"
		check_traffic
		stage "traffic checked"
		if command -v case_checks >/dev/null 2>&1; then
			case_checks
			stage "case checks done"
		fi
		teardown
		;;
	ike-fail)
		check_failure
		if command -v case_checks >/dev/null 2>&1; then
			case_checks
			check_clean
		fi
		;;
	child-fail)
		check_failure
		stage "failure checked"
		TEARDOWN=xike
		teardown
		;;
	*) fail "EXPECT '$EXPECT' is not up, ike-fail or child-fail" ;;
	esac
	stage "PASS"
}

# After a run, whatever happened: nothing of it may reach the next one,
# including the daemons' routing rules (priorities 219 and 220) and routes
# (table 220), which a killed daemon leaves behind.
SCRUB_RULES=$(printf 'rule del pref %s\n' 219 219 219 219 220 220 220 220)
SCRUB_RULES="$SCRUB_RULES
"
# After a run that passed (RESULT PASS), the shared daemons stay, and so
# does the kernel state (the run checked that nothing of it is left; the
# flush would take xiked's own bypass policies too); after any other, they
# go with everything else.
scrub() {
	keep=
	if [ "$1" = PASS ]; then
		for d in ch xk; do
			shared_alive "$d" && keep="$keep $(cat "$SHARED/$d.pid")"
		done
	fi
	if [ -n "$keep" ]; then
		for ns in "$NS1" "$NS2" "$NSIN"; do
			for p in $(ip netns pids "$ns" 2>/dev/null); do
				case " $keep " in *" $p "*) ;; *) kill -KILL "$p" 2>/dev/null ;; esac
			done
		done
		return 0
	fi
	rm -f "$SHARED"/*.pid "$SHARED"/*.key
	for ns in "$NS1" "$NS2" "$NSIN"; do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		# shellcheck disable=SC2086
		[ -n "$pids" ] && kill -KILL $pids 2>/dev/null
		# Two processes a namespace (each costs a tenth of a second in
		# the guest): -force goes on past the deletions that find
		# nothing; four of each rule is more than a daemon leaves.
		printf 'xfrm state flush\nxfrm policy flush\n%sroute flush table 220\n' \
			"$SCRUB_RULES" | ip -force -n "$ns" -batch - >/dev/null 2>&1
		printf '%sroute flush table 220\n' "$SCRUB_RULES" |
			ip -force -6 -n "$ns" -batch - >/dev/null 2>&1
	done
	rm -f /run/xike-test-$$-*.sock
}

# ---- main ----------------------------------------------------------------

topology

if [ $# -eq 0 ]; then
	set -- '*'
fi
all=
for pat in "$@"; do
	for f in "$here"/cases/$pat.case; do
		[ -f "$f" ] || { echo "[interop] no case matches '$pat'" >&2; exit 2; }
		case " $all " in *" $f "*) ;; *) all="$all $f" ;; esac
	done
done
# The runs: CASE.ROLE items, in order.  interop.sh hands each guest its
# own list (--runs), balanced by the expected durations; without one, every
# Nth case of the shard, in both roles.
if [ -z "$runs_given" ]; then
	i=0
	for f in $all; do
		i=$((i + 1))
		[ $(( (i - 1) % shard_n + 1 )) -eq "$shard_i" ] || continue
		name=$(basename "$f" .case)
		# shellcheck disable=SC1090  # the case, for its ROLES
		for role in $( case_defaults; . "$f" 2>/dev/null; echo "$ROLES" ); do
			runs="$runs $name.$role"
		done
	done
fi

mkdir -p "$LOGDIR" || fail "cannot create $LOGDIR"
# The shared daemons' directory: xiked reads its configuration there again
# on reload, as user xike (as /etc/xike, root:xike 0750).
mkdir -p "$SHARED" || fail "cannot create $SHARED"
if getent group xike >/dev/null; then
	chgrp xike "$SHARED" && chmod 0750 "$SHARED"
fi
at_exit "for d in ch xk; do shared_alive \$d && kill -KILL \$(cat $SHARED/\$d.pid); done; rm -rf $SHARED"
results=$LOGDIR/results.$shard_i
: >"$results"
passed=0 failed=0 skipped=0
t_start=$(date +%s)
say "strongSwan $("$CHARON" --version 2>/dev/null | sed -n 's/.*strongSwan \([0-9.]*\).*/\1/p' | head -n 1), $MODE_NAME, NAT by ${NAT_HOW:-nothing}, shard $shard, logs in $LOGDIR"

# One sa-state for the whole guest (see snap); without it, snap starts one
# each time.
SA_REQ='' SA_PID='' SA_RUN=0
if mkfifo "/run/xike-sa-$$.req"; then
	"$SA_STATE" serve "/run/xike-sa-$$.req" 2>>"$LOGDIR/sa-state.$shard_i.err" &
	SA_PID=$!
	SA_REQ=/run/xike-sa-$$.req
	at_exit "kill $SA_PID 2>/dev/null; rm -f /run/xike-sa-$$.*"
fi

for run in $runs; do
	name=${run%.*} role=${run##*.}
	# CASE@import: the case again, xiked configured through `xikectl import`.
	IMPORTED=${INTEROP_XIKE_FROM_SWANCTL:-}
	case $name in *@import) IMPORTED=1 ;; esac
	f=$here/cases/${name%@import}.case
	[ -f "$f" ] || { echo "[interop] no case $name" >&2; exit 2; }
	case " ${INTEROP_ROLES:-xi xr} " in *" $role "*) ;; *) continue ;; esac
	{
		dir=$LOGDIR/$name.$role
		rm -rf "$dir"
		mkdir -p "$dir"
		uptime_now
		t0=$UPTIME
		# Each run its own reply FIFO: the answer to a run killed while
		# it waited can never be taken for the next one's.
		SA_RUN=$((SA_RUN + 1))
		SA_REPLY=/run/xike-sa-$$.$SA_RUN.reply SA_OUT=/run/xike-sa-$$.$SA_RUN.out
		if [ -n "$SA_REQ" ] && ! mkfifo "$SA_REPLY"; then
			SA_REQ=''
		fi
		( XK_DIR=$dir; run_case "$f" "$role" ) >"$dir/output" 2>&1 &
		sub=$!
		# The watchdog takes its sleep along when it is called off.
		(
			trap 'kill $s 2>/dev/null; exit 0' TERM
			sleep "$CASE_TIMEOUT" &
			s=$!
			wait "$s" && kill -TERM "$sub" 2>/dev/null &&
				echo "[interop] FAIL: timed out after $CASE_TIMEOUT s" >>"$dir/output"
		) &
		dog=$!
		wait "$sub"
		rc=$?
		kill "$dog" 2>/dev/null
		wait "$dog" 2>/dev/null
		why=
		case $rc in
		0) res=PASS passed=$((passed + 1)) ;;
		77) res=SKIP skipped=$((skipped + 1))
		    why=$(sed -n 's/.*SKIP: //p' "$dir/output" | tail -n 1) ;;
		*) res=FAIL failed=$((failed + 1))
		   why=$(sed -n 's/.*FAIL: //p' "$dir/output" | tail -n 1) ;;
		esac
		scrub "$res"
		uptime_now
		secs=$(elapsed "$t0" "$UPTIME")
		printf '%s %s %s %s %s\n' "$name" "$role" "$res" "$secs" "$why" >>"$results"
		printf '[interop] %-38s %-2s %-4s %5ss %s\n' "$name" "$role" "$res" "$secs" "$why"
		if [ "$res" = FAIL ]; then
			echo "---- $dir/output (last 30 lines)"
			tail -n 30 "$dir/output"
			echo "---- xiked.log (last 15 lines)"
			tail -n 15 "$dir/peer1.log" 2>/dev/null
			echo "---- charon.log (last 15 lines)"
			tail -n 15 "$dir/charon/charon.log" 2>/dev/null
			echo "----"
		fi
		rm -f "$SA_REPLY" "$SA_OUT"
	}
done

if [ "$shard_n" -eq 1 ]; then
	echo
	printf '%-38s %-4s %-6s %6s  %s\n' case role result secs why
	while read -r name role res secs why; do
		printf '%-38s %-4s %-6s %6s  %s\n' "$name" "$role" "$res" "$secs" "$why"
	done <"$results"
	echo
fi
echo "interop shard $shard: $(( $(date +%s) - t_start )) s; logs in $LOGDIR"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] || exit 1
[ "$passed" -gt 0 ] || exit 77
exit 0
