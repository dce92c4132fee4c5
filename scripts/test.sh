#!/usr/bin/env bash
# scripts/test.sh — every test of swiftquic, as CI runs it (.ci/run).
#
#   1. installs missing tools (apt-get: cmake, openssl, libssl-dev, pkg-config, python3, gcc, ...)
#   2. swift test                      all Swift test targets (XCTest)
#   3. CMake build                     release libswiftquic.so (swift build -c release) + C tests
#   4. ctest --output-on-failure       C tests (CTests/*.c), packaging tests, export check, interop
#                                      (ctest -L interop) and the adversarial battery (-L adversarial)
#   5. library check                   exports only MsQuicOpenVersion/MsQuicClose@@msquic;
#                                      needs only libc/libm/libstdc++/libgcc_s/libcrypto
#   6. ../shared/abi/abi-check include/   the header against MsQuic 2.6.0, fact by fact
#   7. ThreadSanitizer                 scripts/sanitize.sh thread: libswiftquic.so built with TSan,
#                                      CTests/api_stress.c hammering the C API from 4 threads for
#                                      TSAN_STRESS_SECONDS (default 20); then sanitize.sh
#                                      thread-tests: SwiftQuicTests and QuicPlatformTests under TSan.
#                                      Fails on any TSan report (a few minutes, most of it the TSan
#                                      builds; Tests/SANITIZERS.md)
#   8. scripts/msquictest-ci.sh        a chosen part of MsQuic's own suite (msquictest, cases in
#                                      scripts/msquictest-ci.txt) on the release library, when
#                                      ../shared/msquic-2.6.0 is present (else a SKIP line)
# Every step runs even if an earlier one failed (except what needs the build); a summary follows.
# Exit status: 0 when every step passed.
#
# Environment: BUILD_DIR (default build/cmake), JOBS (default nproc), SKIP_SWIFT_TEST=1 to skip
# step 2, SWIFT_TEST_TIMEOUT (default 45m), CTEST_ARGS (extra ctest arguments, e.g. "-R smoke"),
# SKIP_TSAN=1 to skip step 7, TSAN_STRESS_SECONDS (default 20).
set -uo pipefail
export LC_ALL=C

SWIFTQUIC_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib.sh
. "$SWIFTQUIC_ROOT/scripts/lib.sh"
cd "$SWIFTQUIC_ROOT"

BUILD_DIR="${BUILD_DIR:-$SWIFTQUIC_ROOT/build/cmake}"
export JOBS="${JOBS:-$(nproc)}"
summary=()
failed=0
started=$(date +%s)

step() { # step NAME COMMAND...
  local name="$1"; shift
  local t0; t0=$(date +%s)
  printf '\n===== %s\n' "$name"
  if "$@"; then
    summary+=("PASS  $name ($(( $(date +%s) - t0 ))s)")
  else
    summary+=("FAIL  $name ($(( $(date +%s) - t0 ))s)")
    failed=1
  fi
}
skip() { summary+=("SKIP  $1 ($2)"); }

run_ctest() {
  # shellcheck disable=SC2086 # CTEST_ARGS is a word list
  (cd "$BUILD_DIR" && ctest --output-on-failure --timeout 600 ${CTEST_ARGS:-})
}
check_library() { bash scripts/check-library.sh "$BUILD_DIR/swift/release/libswiftquic.so"; }
abi_check() {
  local checker="$SWIFTQUIC_ROOT/../shared/abi/abi-check"
  [ -x "$checker" ] || { echo "abi-check not found at $checker (../shared beside the clone)" >&2; return 1; }
  "$checker" include/
}

step "tools (apt-get what is missing)" ensure_tools || true
if [ "$failed" -ne 0 ]; then
  printf '\n===== summary\n%s\n' "${summary[@]}"
  echo "test.sh: FAILED: the tools are missing" >&2
  exit 1
fi

if [ "${SKIP_SWIFT_TEST:-0}" = 1 ]; then
  skip "swift test" "SKIP_SWIFT_TEST=1"
else
  # Bounded so that a hung test ends in a FAIL line and a summary, inside CI's 90 minutes.
  step "swift test (all Swift tests)" timeout --foreground "${SWIFT_TEST_TIMEOUT:-45m}" swift test
fi

step "CMake build (release libswiftquic.so + C tests) in $BUILD_DIR" \
  configure_and_build "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DSWIFTQUIC_BUILD_TESTS=ON
if [ -f "$BUILD_DIR/CTestTestfile.cmake" ] && [ -f "$BUILD_DIR/swift/release/libswiftquic.so" ]; then
  step "ctest --output-on-failure (C tests, packaging)" run_ctest
  step "library exports and dependencies (nm -D, ldd)" check_library
else
  skip "ctest" "the build failed"
  skip "library exports and dependencies" "the build failed"
  failed=1
fi
step "abi-check include/ (MsQuic 2.6.0)" abi_check
step "recovery path allocates nothing (Benchmarks/recovery-alloc, malloc counter)" \
  sh Benchmarks/recovery-alloc/run.sh "$BUILD_DIR/recovery-alloc"
MSQUIC_DIR="${MSQUIC_DIR:-$SWIFTQUIC_ROOT/../shared/msquic-2.6.0}"
if [ ! -x "$MSQUIC_DIR/run-msquictest" ]; then
  skip "msquictest CI subset" "$MSQUIC_DIR absent"
elif [ ! -f "$BUILD_DIR/swift/release/libswiftquic.so" ]; then
  skip "msquictest CI subset" "the build failed"
else
  step "msquictest CI subset (MsQuic's own suite, scripts/msquictest-ci.txt)" \
    env MSQUIC_DIR="$MSQUIC_DIR" bash scripts/msquictest-ci.sh "$BUILD_DIR/swift/release/libswiftquic.so"
fi
if [ "${SKIP_TSAN:-0}" = 1 ]; then
  skip "ThreadSanitizer (api_stress)" "SKIP_TSAN=1"
else
  # The longer runs (and swift test --sanitize=address) are by hand: Tests/SANITIZERS.md.
  step "ThreadSanitizer: api_stress ${TSAN_STRESS_SECONDS:-20}s over a TSan libswiftquic.so" \
    env STRESS_SECONDS="${TSAN_STRESS_SECONDS:-20}" STRESS_THREADS=4 \
    timeout --foreground 20m bash scripts/sanitize.sh thread
  step "ThreadSanitizer: swift test SwiftQuicTests, QuicPlatformTests" \
    timeout --foreground 20m bash scripts/sanitize.sh thread-tests
fi

printf '\n===== summary (%ss)\n' "$(( $(date +%s) - started ))"
printf '%s\n' "${summary[@]}"
passed=$(printf '%s\n' "${summary[@]}" | grep -c '^PASS' || true)
nfailed=$(printf '%s\n' "${summary[@]}" | grep -c '^FAIL' || true)
skipped=$(printf '%s\n' "${summary[@]}" | grep -c '^SKIP' || true)
if [ "$failed" -ne 0 ]; then
  echo "test.sh: FAILED"
else
  echo "test.sh: all steps passed"
fi
# The closing line is the step count, in the plain "N passed, N failed" form CI reads.
echo "steps: $passed passed, $nfailed failed, $skipped skipped"
[ "$failed" -eq 0 ]
