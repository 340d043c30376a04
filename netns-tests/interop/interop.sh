#!/bin/sh
# The interop suite: xiked against strongSwan's charon, every case of
# cases/ in both roles, over real kernel ESP inside User-Mode Linux.  This is
# what meson runs (suite `interop`); it boots INTEROP_JOBS guests (default
# and most: the number of CPUs plus one; one per CPU in the host mode) side by side, each running run.sh
# on its share of the runs (balanced by the seconds in the file costs), then
# prints one table and `N passed, N failed, N skipped`.
#
#	netns-tests/interop/interop.sh [--host] [CASE...]
#
# CASE narrows the run (names or patterns, see run.sh).  XIKE_BUILD names the
# build tree.  Each run's files are in INTEROP_LOGDIR (default
# $XIKE_BUILD/meson-logs/interop)/CASE.ROLE/; each guest's whole output in
# shard-I.out there.
#
# --host: no User-Mode Linux; the cases run on the host kernel, which may
# have no ESP, with userspace ESP on both sides (xiked's backend = soft,
# charon's kernel-libipsec), INTEROP_JOBS runners side by side (default 2);
# logs in $XIKE_BUILD/meson-logs/interop-host.  The cases that cannot apply
# there are skipped with their reason.  Meson runs it as `interop-host`
# (suite netns) on the cases of INTEROP_HOST_CASES.
set -u
host=
if [ "${1:-}" = --host ]; then
	host=--host
	shift
fi

here=$(cd "$(dirname "$0")" && pwd)
uml_run=$here/../uml-run
: "${XIKE_BUILD:?XIKE_BUILD must name the build directory}"
XIKE_BUILD=$(cd "$XIKE_BUILD" && pwd) || exit 1
export XIKE_BUILD
if [ -n "$host" ]; then
	LOGDIR=${INTEROP_LOGDIR:-$XIKE_BUILD/meson-logs/interop-host}
	# meson's list of cases for the host mode, unless the caller named some
	if [ $# -eq 0 ] && [ -n "${INTEROP_HOST_CASES:-}" ]; then
		# shellcheck disable=SC2086
		set -- $INTEROP_HOST_CASES
	fi
else
	LOGDIR=${INTEROP_LOGDIR:-$XIKE_BUILD/meson-logs/interop}
fi
cpus=$(nproc 2>/dev/null || echo 1)
# One guest more than CPUs: a guest spends much of a case waiting (for the
# other daemon, a timer, a retransmission), so three guests on two CPUs
# finish sooner than two (docs/interop.md has the figures).
# The host mode keeps one runner per CPU: its userspace ESP is busy, not
# waiting.
most=$((cpus + 1))
[ -n "$host" ] && most=$cpus
jobs=${INTEROP_JOBS:-$most}
[ "$jobs" -gt "$most" ] && jobs=$most
[ "$jobs" -ge 1 ] || jobs=1
# Below meson's timeout (1800 s), so that uml-run, not meson, kills a
# guest and shows its log.
timeout=${INTEROP_TIMEOUT:-1700}

if [ "$(id -u)" -ne 0 ]; then
	echo "[interop] SKIP: root is needed" >&2
	exit 77
fi
mkdir -p "$LOGDIR" || exit 1
LOGDIR=$(cd "$LOGDIR" && pwd)
export INTEROP_LOGDIR="$LOGDIR"
# The guests write there: from its working directory uml-run's guest also
# sees a directory under /tmp or /run (its own are private), so start there.
cd "$LOGDIR" || exit 1
rm -f "$LOGDIR"/results.* "$LOGDIR"/shard-*.out "$LOGDIR"/shard-*.rc

# The runs (CASE.ROLE), dealt to the guests longest first, each to the one
# with the least expected work so far: costs names each run's seconds in the
# last full run on the CI machine; a run it does not name counts as
# INTEROP_DEFAULT_COST (30 s).  All guests end about together, instead of
# one carrying the slow cases while the others idle.
[ $# -eq 0 ] && set -- '*'
runs=
for pat in "$@"; do
	for f in "$here"/cases/$pat.case; do
		[ -f "$f" ] || { echo "[interop] no case matches '$pat'" >&2; exit 2; }
		name=$(basename "$f" .case)
		# shellcheck disable=SC1090  # the case, for its ROLES (no -u there)
		roles=$(set +u; ROLES="xi xr"; . "$f" >/dev/null 2>&1; echo "$ROLES")
		for role in $roles; do
			case " ${INTEROP_ROLES:-xi xr} " in *" $role "*) ;; *) continue ;; esac
			case " $runs " in *" $name.$role "*) ;; *) runs="$runs $name.$role" ;; esac
		done
	done
done
# INTEROP_IMPORT_CASES: these cases run once more (CASE@import), with
# xiked configured by `xikectl import` of the mirror of charon's
# swanctl.conf (run.sh, docs/from-strongswan.md), among the others.
for name in ${INTEROP_IMPORT_CASES:-}; do
	for r in $runs; do
		case $r in "$name".x[ir]) runs="$runs $name@import.${r##*.}" ;; esac
	done
done
# Each run's group: runs of one group can share a guest's daemons (run.sh,
# "daemons shared by the runs of a guest"; the tests there decide, these
# only order).  A guest runs its share group by group, so that its charon
# and xiked start again once a group rather than at every change: first
# the runs with daemons of their own (kill, restart, counters), then NAT
# (a daemon in the other namespace) by role, then each strongswan.conf of
# its own, then certificates (their own xiked), then the rest.
group_of() {
	_f=$here/cases/${1%@import}.case
	if grep -Eq 'xiked_kill|xiked_restart|charon_kill|charon_restart|kernel_flush|xstat' "$_f"; then
		echo 0-own
	elif grep -q '^NAT=yes' "$_f"; then
		echo "1-nat-$2"
	elif _x=$(grep '^STRONGSWAN_EXTRA=' "$_f"); then
		echo "2-$(echo "$_x" | tr -c 'a-z0-9_\n' _)"
	elif grep -Eq '^(CERT_KEY|XIKE_CERT_KEY|CHARON_CERT_KEY|XIKE_AUTH|CHARON_AUTH)=' "$_f"; then
		echo 3-certs
	else
		echo 4-plain
	fi
}
plan=$(
	for r in $runs; do echo "$r $(group_of "${r%.*}" "${r##*.}")"; done |
	awk -v jobs="$jobs" -v dflt="${INTEROP_DEFAULT_COST:-30}" -v costs="$here/costs" '
		BEGIN {
			while ((getline line < costs) > 0) {
				if (line ~ /^#/ || split(line, w, " ") < 3) continue
				cost[w[1] "." w[2]] = w[3]
			}
		}
		{ n++; run[n] = $1; grp[$1] = $2; c[n] = ($1 in cost) ? cost[$1] : dflt }
		END {
			# longest first (a simple selection sort: n is small)
			for (i = 1; i <= n; i++)
				for (j = i + 1; j <= n; j++)
					if (c[j] > c[i] + 0) { t = c[i]; c[i] = c[j]; c[j] = t; t = run[i]; run[i] = run[j]; run[j] = t }
			for (i = 1; i <= n; i++) {
				best = 1
				for (g = 2; g <= jobs; g++) if (load[g] < load[best]) best = g
				load[best] += c[i]
				k[best]++
				mine[best, k[best]] = run[i]
			}
			# each guest: its runs group by group, longest first in a group
			for (g = 1; g <= jobs; g++) {
				# (insertion sort: stable)
				for (i = 2; i <= k[g]; i++) {
					t = mine[g, i]
					for (m = i; m > 1 && grp[mine[g, m - 1]] > grp[t]; m--)
						mine[g, m] = mine[g, m - 1]
					mine[g, m] = t
				}
				printf "%d %d", g, load[g]
				for (i = 1; i <= k[g]; i++) printf " %s", mine[g, i]
				printf "\n"
			}
		}')
echo "$plan" | while read -r g load list; do
	# shellcheck disable=SC2086
	echo "[interop] guest $g: $(set -- $list; echo $#) runs, about $load s expected"
done

start=$(date +%s)
pids=
i=1
while [ "$i" -le "$jobs" ]; do
	mine=$(echo "$plan" | awk -v g="$i" '$1 == g { $1 = ""; $2 = ""; sub(/^ +/, ""); print }')
	# Each run's result line shows as it comes; the whole output goes to
	# shard-I.out, the exit status to shard-I.rc.
	(
		if [ -n "$host" ]; then
			timeout -k 10 "$timeout" "$here/run.sh" --host --shard "$i/$jobs" --runs "$mine" 2>&1
		else
			"$uml_run" --timeout "$timeout" "$here/run.sh" --shard "$i/$jobs" --runs "$mine" 2>&1
		fi
		echo $? >"$LOGDIR/shard-$i.rc"
	) | tee "$LOGDIR/shard-$i.out" | grep --line-buffered '^\[interop\] [a-z0-9@-]* *x[ir] ' &
	pids="$pids $!"
	i=$((i + 1))
done
if [ -n "$host" ]; then
	echo "[interop] host mode (userspace ESP), $jobs runner(s); whole output in $LOGDIR/shard-*.out"
else
	echo "[interop] $jobs guest(s) running; whole output in $LOGDIR/shard-*.out"
fi

# shellcheck disable=SC2086
wait $pids
bad=0
i=1
while [ "$i" -le "$jobs" ]; do
	rc=$(cat "$LOGDIR/shard-$i.rc" 2>/dev/null || echo 1)
	case $rc in
	77)
		grep -h 'SKIP' "$LOGDIR/shard-$i.out"
		;;
	0|1)
		# The details of failed runs: output and both logs' last lines.
		awk '/^---- .*\/output \(last 30 lines\)$/ { p = 1 } p { print } /^----$/ { p = 0 }' \
			"$LOGDIR/shard-$i.out"
		# A guest that failed must have said what failed.
		if [ "$rc" -eq 1 ] && ! grep -q ' FAIL ' "$LOGDIR/results.$i" 2>/dev/null; then
			bad=$((bad + 1))
			echo "==== guest $i/$jobs failed without a failed case; its whole output:"
			cat "$LOGDIR/shard-$i.out"
		fi
		;;
	*)
		bad=$((bad + 1))
		echo "==== guest $i/$jobs ended abnormally (exit $rc); its whole output:"
		cat "$LOGDIR/shard-$i.out"
		;;
	esac
	i=$((i + 1))
done

passed=0 failed=0 skipped=0
echo
printf '%-38s %-4s %-6s %6s  %s\n' case role result secs why
sort "$LOGDIR"/results.* 2>/dev/null >"$LOGDIR/results"
while read -r name role res secs why; do
	printf '%-38s %-4s %-6s %6s  %s\n' "$name" "$role" "$res" "$secs" "$why"
	case $res in
	PASS) passed=$((passed + 1)) ;;
	SKIP) skipped=$((skipped + 1)) ;;
	*) failed=$((failed + 1)) ;;
	esac
done <"$LOGDIR/results"
failed=$((failed + bad))
echo
if [ -n "$host" ]; then what=runner; else what=guest; fi
echo "interop: $(( $(date +%s) - start )) s with $jobs $what(s); logs in $LOGDIR"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] || exit 1
[ "$passed" -gt 0 ] || exit 77
exit 0
