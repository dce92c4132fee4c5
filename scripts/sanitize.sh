#!/usr/bin/env bash
# scripts/sanitize.sh — the sanitizer runs of Tests/SANITIZERS.md.
#
#   scripts/sanitize.sh address [TARGET...]
#       swift test --sanitize=address, one Swift test target at a time (default: all six), in
#       its own scratch path (.build-asan). Fails when a target fails or ASan reports anything.
#   scripts/sanitize.sh thread-tests [TARGET...]
#       swift test --sanitize=thread (with -DSWIFTQUIC_TSAN, see below), one target at a time
#       (default: SwiftQuicTests and QuicPlatformTests, the multi-threaded ones), in .build-tsan.
#       Fails when a target fails or TSan reports anything.
#   scripts/sanitize.sh thread
#       ThreadSanitizer over the C API: libswiftquic.so built with --sanitize=thread (debug, in
#       .build-tsan), CTests/api_stress.c compiled with -fsanitize=thread against it, then run
#       for STRESS_SECONDS (default 30) with STRESS_THREADS (default 4) application threads.
#       Fails on any TSan report (TSan's exit code 66), a failed check or a hang.
#       TSan builds compile with -DSWIFTQUIC_TSAN: Mutex becomes a pthread lock TSan can see
#       (Sources/QuicPlatform/InstrumentedMutex.swift).
#
# Every run prints its duration. CPU-heavy: run with nice on a shared machine (it renices
# itself). Environment: SCRATCH (scratch path), JOBS, STRESS_SECONDS, STRESS_THREADS,
# STRESS_SEED, TSAN_EXTRA (appended to TSAN_OPTIONS).
set -uo pipefail
export LC_ALL=C
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
renice -n 19 $$ >/dev/null 2>&1 || true

mode="${1:-}"
[ $# -gt 0 ] && shift
jobs=(); [ -n "${JOBS:-}" ] && jobs=(-j "$JOBS")

exec 3>&1   # timing lines go to the script's stdout even when a command's output is logged
timed() { # timed LABEL COMMAND... : runs it, prints "LABEL: PASS|FAIL (Ns)"
  local label="$1"; shift
  local t0 rc; t0=$(date +%s)
  "$@"; rc=$?
  printf '%s: %s (%ss)\n' "$label" "$([ $rc -eq 0 ] && echo PASS || echo "FAIL rc=$rc")" "$(( $(date +%s) - t0 ))" >&3
  return $rc
}

run_logged() { local log="$1"; shift; "$@" >"$log" 2>&1; }

case "$mode" in
address)
  scratch="${SCRATCH:-$root/.build-asan}"
  targets=("$@")
  [ ${#targets[@]} -gt 0 ] || targets=(QuicWireTests QuicCryptoTests QuicTLSTests QuicCoreTests QuicPlatformTests SwiftQuicTests)
  export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0:halt_on_error=1}"
  timed "build (--sanitize=address)" swift build --build-tests --sanitize=address --scratch-path "$scratch" "${jobs[@]}" || exit 1
  failed=0
  for t in "${targets[@]}"; do
    log="$scratch/asan-$t.log"
    timed "swift test --sanitize=address --filter '^$t\\.'" \
      run_logged "$log" swift test --skip-build --sanitize=address --scratch-path "$scratch" --filter "^$t\\." || failed=1
    grep -E "Executed [0-9]+ tests?" "$log" | tail -1
    if grep -q "ERROR: AddressSanitizer" "$log"; then
      echo "AddressSanitizer report in $log:"; grep -A30 "ERROR: AddressSanitizer" "$log" | head -60
      failed=1
    fi
  done
  exit $failed
  ;;
thread-tests)
  scratch="${SCRATCH:-$root/.build-tsan}"
  targets=("$@")
  [ ${#targets[@]} -gt 0 ] || targets=(SwiftQuicTests QuicPlatformTests)
  export TSAN_OPTIONS="suppressions=$root/Tests/tsan.supp halt_on_error=0 exitcode=66 history_size=4 ${TSAN_EXTRA:-}"
  timed "build (--sanitize=thread)" \
    swift build --build-tests --sanitize=thread -Xswiftc -DSWIFTQUIC_TSAN --scratch-path "$scratch" "${jobs[@]}" || exit 1
  failed=0
  for t in "${targets[@]}"; do
    log="$scratch/tsan-$t.log"
    # ReviewFuzzTests: TSan itself segfaults checking the Swift access to an `inout` zero-sized
    # SystemRandomNumberGenerator (ReviewFuzzTests.swift:71, `&rng`) on one thread; a toolchain
    # problem, not a race (Tests/SANITIZERS.md).
    skip=(); [ "$t" = QuicTLSTests ] && skip=(--skip ReviewFuzzTests)
    timed "swift test --sanitize=thread --filter '^$t\\.' ${skip[*]}" \
      run_logged "$log" swift test --skip-build --sanitize=thread -Xswiftc -DSWIFTQUIC_TSAN --scratch-path "$scratch" \
        --filter "^$t\\." "${skip[@]}" || failed=1
    grep -E "Executed [0-9]+ tests?" "$log" | tail -1
    n=$(grep -c "WARNING: ThreadSanitizer" "$log")
    echo "ThreadSanitizer reports: $n ($log)"
    if [ "$n" -gt 0 ]; then grep -A30 -m2 "WARNING: ThreadSanitizer" "$log" | head -80; failed=1; fi
  done
  exit $failed
  ;;
thread)
  scratch="${SCRATCH:-$root/.build-tsan}"
  out="$scratch/api-stress"
  mkdir -p "$out"
  timed "build libswiftquic.so (--sanitize=thread)" \
    swift build --sanitize=thread -Xswiftc -DSWIFTQUIC_TSAN --product swiftquic --scratch-path "$scratch" "${jobs[@]}" || exit 1
  libdir="$scratch/debug"
  # The toolchain's TSan runtime carries libdispatch interceptors: link libdispatch and the
  # blocks runtime from the Swift toolchain (which the debug library loads anyway).
  swiftlib="$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")/lib/swift/linux"
  timed "build api_stress (-fsanitize=thread)" \
    clang -fsanitize=thread -g -O1 -std=gnu11 -Wall -Wextra -I include -I CTests CTests/api_stress.c \
      -o "$out/api_stress" -L "$libdir" -lswiftquic -L "$swiftlib" -ldispatch -lBlocksRuntime -lpthread \
      -Wl,-rpath,"$libdir" -Wl,-rpath,"$swiftlib" || exit 1
  export SWIFTQUIC_TEST_CERTS="$out/certs"
  bash CTests/gen-certs.sh "$SWIFTQUIC_TEST_CERTS" >/dev/null || exit 1
  export STRESS_SECONDS="${STRESS_SECONDS:-30}" STRESS_THREADS="${STRESS_THREADS:-4}"
  # Tests/tsan.supp: only reports understood as false positives, each with its reason.
  export TSAN_OPTIONS="suppressions=$root/Tests/tsan.supp halt_on_error=0 exitcode=66 history_size=4 second_deadlock_stack=1 ${TSAN_EXTRA:-}"
  log="$out/api_stress.log"
  timed "api_stress under TSan (${STRESS_SECONDS}s, ${STRESS_THREADS} threads)" run_logged "$log" "$out/api_stress"
  rc=$?
  grep -E "^api_stress:|passed|FAIL" "$log"
  reports=$(grep -c "WARNING: ThreadSanitizer" "$log")
  echo "ThreadSanitizer reports: $reports (log: $log)"
  if [ "$reports" -gt 0 ]; then grep -A40 -m3 "WARNING: ThreadSanitizer" "$log" | head -150; fi
  [ $rc -eq 0 ] && [ "$reports" -eq 0 ]
  ;;
*)
  echo "usage: scripts/sanitize.sh address [TARGET...] | thread-tests [TARGET...] | thread" >&2
  exit 2
  ;;
esac
