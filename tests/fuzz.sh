#!/bin/bash
# fuzz.sh - every libFuzzer target runs briefly on its seed corpus
#
# tools/fuzz in a short mode for "make check": FUZZ_SECONDS (default 10)
# per target, built in the build tree's build-fuzz/.  Skipped when clang's
# fuzzer runtime is not installed.  Longer runs: tools/fuzz -t 600.
set -u
top=${TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
builddir=${TOP_BUILDDIR:-$top}
. "$top/tests/lib/tap.sh"

command -v clang >/dev/null || skip_all "clang not installed (apt-get install clang libclang-rt-14-dev)"
FUZZ_SECONDS=${FUZZ_SECONDS:-10} FUZZ_BUILDDIR=${FUZZ_BUILDDIR:-$builddir/build-fuzz} \
	"$top/tools/fuzz"
rc=$?
[ "$rc" -eq 77 ] && skip_all "clang's fuzzer runtime is missing (apt-get install libclang-rt-14-dev)"
exit "$rc"
