#!/bin/sh
# SPDX-License-Identifier: ISC
# Run one libFuzzer target for a while from its seed corpus.
#
#   run.sh TARGET_EXE CORPUS_DIR [SECONDS]
#
# SECONDS defaults to $XIKE_FUZZ_SECONDS, else 15.  The corpus is copied to
# a temporary directory first: libFuzzer writes new inputs into its first
# corpus directory, and the source tree must stay clean.  A crash, leak or
# timeout makes libFuzzer exit non-zero, and so this script; the reproducer
# is kept in the working directory (printed below).
set -eu

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
	echo "usage: $0 TARGET_EXE CORPUS_DIR [SECONDS]" >&2
	exit 2
fi
target=$1
corpus=$2
seconds=${3:-${XIKE_FUZZ_SECONDS:-15}}

work=$(mktemp -d "${TMPDIR:-/tmp}/xike-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
mkdir "$work/corpus"
if [ -d "$corpus" ]; then
	cp -R "$corpus/." "$work/corpus/"
fi

# Undefined behaviour is a crash, not a message.
: "${UBSAN_OPTIONS:=halt_on_error=1:abort_on_error=1:print_stacktrace=1}"
: "${ASAN_OPTIONS:=abort_on_error=1}"
export UBSAN_OPTIONS ASAN_OPTIONS

crashes=$(pwd)
echo "$(basename "$target"): ${seconds}s, corpus $corpus, crashes go to $crashes/"
"$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -error_exitcode=1 \
	-artifact_prefix="$crashes/" -print_final_stats=1 "$work/corpus"
