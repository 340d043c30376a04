# Helpers for tests that run xiked in the namespaces of lib.sh.  Source
# after lib.sh.  XIKE_BUILD names the build tree (meson sets it).
#
#	xiked_start N CONF      write CONF (a heredoc on stdin) as peer N's
#	                        config and start xiked in peer N's namespace
#	xiked_stop N            stop it (SIGTERM) and wait
#	ctl N ARGS...           xikectl against peer N's daemon
#	ctl_lines N REQUEST...  raw JSON requests to it, one connection
#	wait_for SECS CMD...    retry CMD until it succeeds or SECS pass
#	child_up N              true once peer N has an INSTALLED CHILD SA

: "${XIKE_BUILD:?XIKE_BUILD must name the build directory}"
XIKED=$XIKE_BUILD/src/daemon/xiked
XIKECTL=$XIKE_BUILD/tools/xikectl
XK_DIR=$(mktemp -d /tmp/xike-test.XXXXXX)
at_exit "rm -rf '$XK_DIR'"
# xiked runs as user xike after start-up (xiked.8, "Privileges") and must
# still read its config to reload: the directory is root:xike 0750, as
# /etc/xike is.  The daemon's user cannot unlink its socket in /run.
if getent group xike >/dev/null; then
	chgrp xike "$XK_DIR" && chmod 0750 "$XK_DIR"
fi
at_exit "rm -f /run/xike-test-$$-*.sock"
at_exit _xiked_dump

_xiked_ns() {
	if [ "$1" = 1 ]; then echo "$NS1"; else echo "$NS2"; fi
}

xiked_start() {
	cat > "$XK_DIR/peer$1.conf"
	# XIKED_WRAP (e.g. "gdb -q -batch -ex run -ex bt --args") wraps the daemon.
	# shellcheck disable=SC2086
	ip netns exec "$(_xiked_ns "$1")" ${XIKED_WRAP:-} "$XIKED" -c "$XK_DIR/peer$1.conf" \
		>"$XK_DIR/peer$1.log" 2>&1 &
	echo $! > "$XK_DIR/peer$1.pid"
	at_exit "kill \$(cat '$XK_DIR/peer$1.pid') 2>/dev/null"
	# Its first start in User-Mode Linux loads the kernel's crypto modules
	# one by one for the algorithm check: 20-30 s on a loaded machine.
	wait_for 60 ctl "$1" status >/dev/null && return 0
	cat "$XK_DIR/peer$1.log" >&2
	_failed=1
	echo "[$_test_name] FAIL: xiked $1 did not start" >&2
	# Called as `conf N | xiked_start N` this is a subshell, whose exit
	# would not stop the test: stop the test's own shell ($$ names it).
	kill -TERM $$
	exit 1
}

xiked_stop() {
	_pid=$(cat "$XK_DIR/peer$1.pid")
	kill "$_pid" 2>/dev/null
	for _i in $(seq 50); do
		kill -0 "$_pid" 2>/dev/null || return 0
		sleep 0.1
	done
	fail "xiked $1 did not stop"
}

# sanitizer_clean N...: no sanitizer report in the logs of these peers.
sanitizer_clean() {
	for _n in "$@"; do
		if grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error' "$XK_DIR/peer$_n.log" >&2; then
			fail "xiked $_n: a sanitizer report (above)"
		fi
	done
}

xiked_log() {
	cat "$XK_DIR/peer$1.log"
}

# Print both daemons' logs when the test fails (with XIKE_TEST_LOGS=1, always).
# (_rc is the exit status lib.sh's clean-up caught.)
_xiked_dump() {
	if [ "$_rc" -ne 0 ] && [ "$_rc" -ne 77 ] || [ -n "${XIKE_TEST_LOGS:-}" ]; then
		for _n in 1 2; do
			[ -f "$XK_DIR/peer$_n.log" ] || continue
			if [ "${XIKE_TEST_LOGS:-}" = all ]; then
				echo "---- xiked peer $_n log ----" >&2
				cat "$XK_DIR/peer$_n.log" >&2
			else
				echo "---- xiked peer $_n log (last 40 lines) ----" >&2
				tail -40 "$XK_DIR/peer$_n.log" >&2
			fi
		done
	fi
}

ctl() {
	_n=$1
	shift
	ip netns exec "$(_xiked_ns "$_n")" "$XIKECTL" -s "/run/xike-test-$$-$_n.sock" "$@"
}

# ctl_lines N REQUEST...: each REQUEST (a JSON line) on one connection to
# peer N's control socket, each answer line printed; fails if the daemon
# goes away.
ctl_lines() {
	_n=$1
	shift
	ip netns exec "$(_xiked_ns "$_n")" perl -MIO::Socket::UNIX -e '
		my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => shift @ARGV)
			or die "connect: $!\n";
		$s->autoflush(1);
		for my $r (@ARGV) {
			print $s "$r\n";
			my $l = <$s> or die "no answer to $r\n";
			print $l;
		}' "/run/xike-test-$$-$_n.sock" "$@"
}

# The socket line every test config needs.
xiked_socket() {
	echo "socket = /run/xike-test-$$-$1.sock"
}

# xiked_conf_t N GLOBAL [CONN_LINE...]: peer N's config with one
# connection "t" to the other peer over IPv4, on stdout; GLOBAL (may be
# empty) goes into [global], each CONN_LINE into [conn t].
xiked_conf_t() {
	_n=$1 _g=$2
	shift 2
	if [ "$_n" = 1 ]; then _l=$IP1_4 _r=$IP2_4; else _l=$IP2_4 _r=$IP1_4; fi
	printf '[global]\n%s\n' "$(xiked_socket "$_n")"
	[ -z "$_g" ] || printf '%s\n' "$_g"
	printf '[conn t]\nlocal = %s\nremote = %s\n' "$_l" "$_r"
	for _line in "$@"; do
		printf '%s\n' "$_line"
	done
}

# xiked_conf_many N COUNT PSK [GLOBAL_LINE...]: peer N's config with COUNT
# connections t1..tCOUNT to the other peer over IPv4, each a host pair
# (172.16.x.y <-> 172.17.x.y) with its own PSK ("PSK i"); peer 1 starts
# them all.  Each GLOBAL_LINE goes into [global].
xiked_conf_many() {
	_n=$1 _count=$2 _psk=$3
	shift 3
	if [ "$_n" = 1 ]; then _l=$IP1_4 _r=$IP2_4; else _l=$IP2_4 _r=$IP1_4; fi
	printf '[global]\n%s\n' "$(xiked_socket "$_n")"
	for _line in "$@"; do
		printf '%s\n' "$_line"
	done
	_i=1
	while [ $_i -le "$_count" ]; do
		_a=$(( _i / 250 )) _b=$(( _i % 250 ))
		if [ "$_n" = 1 ]; then _lt="172.16.$_a.$_b" _rt="172.17.$_a.$_b"
		else _lt="172.17.$_a.$_b" _rt="172.16.$_a.$_b"; fi
		printf '[conn t%d]\nlocal = %s\nremote = %s\npsk = %s %d\nlocal-ts = %s\nremote-ts = %s\n' \
			"$_i" "$_l" "$_r" "$_psk" "$_i" "$_lt" "$_rt"
		[ "$_n" = 1 ] && printf 'start = start\n'
		_i=$(( _i + 1 ))
	done
}

# CHILD SAs peer N has, from its status line.
child_count() {
	ctl "$1" status | sed -n 's/.*, \([0-9]*\) CHILD SAs.*/\1/p'
}

# True once both peers have COUNT CHILD SAs.
tunnels_up() {
	[ "$(child_count 1)" -eq "$1" ] && [ "$(child_count 2)" -eq "$1" ]
}

# One counter of peer N's `xikectl stats`: ctl_stat N NAME.
ctl_stat() {
	ctl "$1" stats | awk -v k="$2" '$1 == k { print $2 }'
}

# XFRM states in peer N's namespace; states_are N COUNT.
states() {
	ip netns exec "$(_xiked_ns "$1")" ip xfrm state | grep -c '^src'
}

states_are() {
	[ "$(states "$1")" -eq "$2" ]
}

# IKE SAs peer N lists.
ike_sas() {
	ctl "$1" --json list-sas | grep -c '"spi-i"'
}

wait_for() {
	_secs=$1
	shift
	_end=$(( $(date +%s) + _secs ))
	while ! "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -ge "$_end" ] && return 1
		sleep 0.2
	done
	return 0
}

child_up() {
	ctl "$1" --json list-sas | grep -q '"state": *"INSTALLED"'
}

# JSON field values from `xikectl list-sas --json`, one per line.
sas_field() {
	ctl "$1" --json list-sas | sed -n "s/.*\"$2\": *\"\\([^\"]*\\)\".*/\\1/p"
}

# The start of a test of two xiked with userspace ESP running as user xike:
# root, the commands named, a TUN device, the user, then the namespaces.
xiked_xike_setup() {
	require_root
	require_cmd getent "$@"
	[ -c /dev/net/tun ] || skip "no /dev/net/tun"
	getent passwd xike >/dev/null || skip "no user xike (tools/bootstrap adds it)"
	netns_setup
}

# A directory of keys the daemons read after the drop to xike (root:xike 0750).
xiked_key_dir() {
	mkdir -p "$1" && chgrp xike "$1" && chmod 0750 "$1" || fail "cannot make $1"
}
