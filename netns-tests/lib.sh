# Shared helpers for the network-namespace tests.  POSIX sh; source it:
#
#	. "$(dirname "$0")/lib.sh"          (from netns-tests/)
#	. "$(dirname "$0")/../lib.sh"       (from netns-tests/uml/)
#
# netns_setup builds one wire namespace with two peers around it:
#
#	$NS1                        $NS0 (the wire)                   $NS2
#	eth0 ----------- veth ---- p1  br0  p2 ---- veth ----------- eth0
#	$IP1_4/24, $IP1_6/64            no addresses          $IP2_4/24, $IP2_6/64
#	(10.0.0.1, fd00::1)                                   (10.0.0.2, fd00::2)
#
# The wire only switches frames.  It is where a test looks at what really
# crossed (nft counters in the bridge family, see wire_count) and, later,
# where loss or NAT can be put in between.  Nothing touches the caller's own
# namespace, and every name carries this shell's pid, so tests can run side by
# side.  A trap removes the namespaces (and whatever still runs in them) on
# exit; register more with at_exit.
#
# Helpers:
#	skip MSG            exit 77, which meson counts as skipped
#	fail MSG            print FAIL: MSG and exit 1
#	say MSG             progress line
#	require_root        skip unless root
#	require_cmd CMD...  skip unless every CMD is installed
#	must CMD...         run CMD (a setup step, quietly); fail naming it if
#	                    it fails
#	check CMD...        print what is checked, run CMD; fail (showing its
#	                    output) unless it succeeds
#	check_fails CMD...  the same, but CMD must fail
#	at_exit 'CMD'       run CMD (a string for eval) at exit, newest first
#	n0/n1/n2 CMD...     run CMD in the wire, peer 1, peer 2

: "${IP1_4:=10.0.0.1}"
: "${IP2_4:=10.0.0.2}"
: "${IP1_6:=fd00::1}"
: "${IP2_6:=fd00::2}"
: "${NS_PREFIX:=xt$$}"
NS0=$NS_PREFIX-wire
NS1=$NS_PREFIX-peer1
NS2=$NS_PREFIX-peer2

_test_name=${0##*/}
_failed=
_exit_cmds=
_netns_made=

say() {
	echo "[$_test_name] $*"
}

skip() {
	echo "[$_test_name] SKIP: $*" >&2
	exit 77
}

fail() {
	_failed=1
	echo "[$_test_name] FAIL: $*" >&2
	exit 1
}

require_root() {
	[ "$(id -u)" -eq 0 ] || skip "root is needed for network namespaces"
}

require_cmd() {
	for _c in "$@"; do
		command -v "$_c" >/dev/null 2>&1 || skip "$_c is not installed"
	done
}

must() {
	"$@" || fail "$*"
}

check() {
	echo "[$_test_name] check: $*"
	if ! _out=$("$@" 2>&1); then
		[ -n "$_out" ] && printf '%s\n' "$_out" >&2
		fail "$*"
	fi
}

check_fails() {
	echo "[$_test_name] check (must fail): $*"
	if _out=$("$@" 2>&1); then
		[ -n "$_out" ] && printf '%s\n' "$_out" >&2
		fail "succeeded but must not: $*"
	fi
}

at_exit() {
	_exit_cmds="$1
$_exit_cmds"
}

n0() { ip netns exec "$NS0" "$@"; }
n1() { ip netns exec "$NS1" "$@"; }
n2() { ip netns exec "$NS2" "$@"; }

_cleanup() {
	_rc=$?
	set +e
	if [ -n "$_exit_cmds" ]; then
		_ifs=$IFS
		IFS='
'
		for _c in $_exit_cmds; do
			IFS=$_ifs
			eval "$_c"
		done
		IFS=$_ifs
	fi
	if [ -n "$_netns_made" ]; then
		for _ns in "$NS1" "$NS2" "$NS0"; do
			# shellcheck disable=SC2046
			kill $(ip netns pids "$_ns" 2>/dev/null) 2>/dev/null
			ip netns del "$_ns" 2>/dev/null
		done
	fi
	# `set -e` ended the script without a word from fail: say so.
	if [ "$_rc" -ne 0 ] && [ "$_rc" -ne 77 ] && [ -z "$_failed" ]; then
		echo "[$_test_name] FAIL: a command failed (exit $_rc); see above" >&2
	fi
}
trap _cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

netns_setup() {
	_netns_made=1
	for _ns in "$NS0" "$NS1" "$NS2"; do
		must ip netns add "$_ns"
		must ip -n "$_ns" link set lo up
	done
	# The wire is layer 2 only: no IPv6 autoconfiguration chatter on it.
	must n0 sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	must ip -n "$NS0" link add br0 type bridge stp_state 0 forward_delay 0
	must ip -n "$NS0" link add p1 type veth peer name eth0 netns "$NS1"
	must ip -n "$NS0" link add p2 type veth peer name eth0 netns "$NS2"
	must ip -n "$NS0" link set p1 master br0 up
	must ip -n "$NS0" link set p2 master br0 up
	must ip -n "$NS0" link set br0 up
	# nodad: the addresses are usable at once instead of after DAD.
	must ip -n "$NS1" addr add "$IP1_4/24" dev eth0
	must ip -n "$NS1" addr add "$IP1_6/64" dev eth0 nodad
	must ip -n "$NS1" link set eth0 up
	must ip -n "$NS2" addr add "$IP2_4/24" dev eth0
	must ip -n "$NS2" addr add "$IP2_6/64" dev eth0 nodad
	must ip -n "$NS2" link set eth0 up
}

# wire_count_setup: named counters in the wire, counting the frames the
# bridge forwards: `esp` (IP protocol 50, either family), `espudp` (ESP in
# UDP on port 4500: a payload that does not start with the four-zero
# non-ESP marker) and `echo` (plain ICMP / ICMPv6 echo requests and
# replies).
# Needs nft.
wire_count_setup() {
	n0 nft -f - <<'EOF' || fail "nft counters in the wire"
table bridge wire {
	counter n_esp { }
	counter n_espudp { }
	counter n_echo { }
	chain forward {
		type filter hook forward priority 0; policy accept;
		meta l4proto esp counter name "n_esp"
		udp dport 4500 @th,64,32 != 0 counter name "n_espudp"
		icmp type { echo-request, echo-reply } counter name "n_echo"
		icmpv6 type { echo-request, echo-reply } counter name "n_echo"
	}
}
EOF
}

# wire_count esp|espudp|echo: the packets counted so far.
wire_count() {
	n0 nft list counter bridge wire "n_$1" |
		sed -n 's/.*packets \([0-9]*\).*/\1/p'
}

# wire_count_reset: both counters back to zero.
wire_count_reset() {
	n0 nft reset counters table bridge wire >/dev/null ||
		fail "nft reset counters"
}
