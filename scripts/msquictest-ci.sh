#!/usr/bin/env bash
# scripts/msquictest-ci.sh — a chosen part of MsQuic 2.6.0's own functional suite (msquictest)
# on our library, as CI runs it from scripts/test.sh.
#
#   scripts/msquictest-ci.sh [LIB]
#
# LIB is the libswiftquic.so to test (default: $BUILD_DIR/swift/release/libswiftquic.so, else
# .build/release/libswiftquic.so). MsQuic's binaries come from $MSQUIC_DIR (default
# ../shared/msquic-2.6.0 beside the clone; see its README). The cases are listed in
# scripts/msquictest-ci.txt (one GoogleTest name a line, '#' comments): cases that pass when
# MsQuic runs its own suite on this machine kind (passes-on-msquic.txt) and pass on ours.
# A folder holding a libmsquic.so.2 symlink to LIB stands in for MsQuic; run-msquictest runs
# the cases suite by suite (a crash or hang is recorded and the rest go on).
#
# Exit status: 0 when every listed case passed; 1 when one failed, crashed, hung or did not
# run (each is named in the summary); 2 when the tools are missing.
# Environment: MSQUIC_DIR, OUT_DIR (default build/msquictest-ci), MSQUICTEST_STALL_S (hang
# detection, seconds without output; default 60 here).
set -uo pipefail
export LC_ALL=C

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MSQUIC_DIR="${MSQUIC_DIR:-$ROOT/../shared/msquic-2.6.0}"
OUT_DIR="${OUT_DIR:-$ROOT/build/msquictest-ci}"
LIST="$ROOT/scripts/msquictest-ci.txt"
export MSQUICTEST_STALL_S="${MSQUICTEST_STALL_S:-60}"

LIB="${1:-}"
if [ -z "$LIB" ]; then
  for candidate in "${BUILD_DIR:-$ROOT/build/cmake}/swift/release/libswiftquic.so" "$ROOT/.build/release/libswiftquic.so"; do
    if [ -f "$candidate" ]; then LIB="$candidate"; break; fi
  done
fi
[ -n "$LIB" ] && [ -f "$LIB" ] || { echo "msquictest-ci: no libswiftquic.so (give its path)" >&2; exit 2; }
for tool in run-msquictest msquictest passes-on-msquic.txt; do
  [ -e "$MSQUIC_DIR/$tool" ] || { echo "msquictest-ci: $MSQUIC_DIR/$tool not found" >&2; exit 2; }
done
[ -f "$LIST" ] || { echo "msquictest-ci: $LIST not found" >&2; exit 2; }

# The cases: the list without comments and blanks, each checked against MsQuic's own passes.
mapfile -t CASES < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$LIST" | grep -v '^$')
[ "${#CASES[@]}" -gt 0 ] || { echo "msquictest-ci: $LIST lists no case" >&2; exit 2; }
not_reference=()
for c in "${CASES[@]}"; do
  grep -qxF "$c" "$MSQUIC_DIR/passes-on-msquic.txt" || not_reference+=("$c")
done
if [ "${#not_reference[@]}" -gt 0 ]; then
  echo "msquictest-ci: listed but not passing on MsQuic itself (passes-on-msquic.txt):" >&2
  printf '  %s\n' "${not_reference[@]}" >&2
  exit 2
fi

# The stand-in for MsQuic: libmsquic.so.2 -> LIB.
LIBDIR="$OUT_DIR/as-msquic"
rm -rf "$OUT_DIR"
mkdir -p "$LIBDIR"
ln -sf "$(cd "$(dirname "$LIB")" && pwd)/$(basename "$LIB")" "$LIBDIR/libmsquic.so.2"

FILTER="$(IFS=:; echo "${CASES[*]}")"
t0=$(date +%s)
echo "msquictest-ci: ${#CASES[@]} cases of msquictest on $LIB"
# msquictest keeps its test certificates under /tmp/quictest.* and deletes stale ones when it
# starts: another msquictest on the same /tmp breaks this run's credentials. As root, the run gets
# a private /tmp (a mount namespace with a tmpfs); otherwise it shares the machine's.
if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null 2>&1 &&
   unshare -m --propagation private true >/dev/null 2>&1; then
  unshare -m --propagation private sh -c 'mount -t tmpfs none /tmp 2>/dev/null; exec "$@"' sh \
    "$MSQUIC_DIR/run-msquictest" "$LIBDIR" "$OUT_DIR/run" "$FILTER" > "$OUT_DIR/run.txt" 2>&1
else
  "$MSQUIC_DIR/run-msquictest" "$LIBDIR" "$OUT_DIR/run" "$FILTER" > "$OUT_DIR/run.txt" 2>&1
fi
rc=$?
elapsed=$(( $(date +%s) - t0 ))

RESULTS="$OUT_DIR/run/results.tsv"
if [ ! -f "$RESULTS" ]; then
  echo "msquictest-ci: run-msquictest wrote no results (exit $rc); its output:" >&2
  tail -20 "$OUT_DIR/run.txt" >&2
  exit 1
fi

passed=0
bad=()
for c in "${CASES[@]}"; do
  outcome=$(awk -F'\t' -v t="$c" '$1 == t { print $2 }' "$RESULTS")
  if [ "$outcome" = PASS ]; then
    passed=$((passed + 1))
  else
    bad+=("${outcome:-NOTRUN}  $c")
  fi
done

echo "msquictest-ci: $passed of ${#CASES[@]} listed cases pass (${elapsed}s); logs in $OUT_DIR/run"
if [ "${#bad[@]}" -gt 0 ]; then
  echo "msquictest-ci: FAILED — these pass on MsQuic 2.6.0 and did not pass here:"
  printf '  %s\n' "${bad[@]}"
  # The first failure message of each failed case, from the suite logs.
  for line in "${bad[@]}"; do
    c="${line##* }"
    msg=$(grep -h -A2 "^\[ RUN      \] $c\$" "$OUT_DIR"/run/*.log 2>/dev/null | grep -m1 -A1 'Failure' | tail -1)
    [ -n "$msg" ] && echo "    $c: $msg"
  done
  exit 1
fi
echo "msquictest-ci: PASS"
exit 0
