#!/bin/sh
# Builds a libFuzzer + AddressSanitizer target and runs it.
#   scripts/fuzz.sh [datagram|connection] [seconds] [extra libFuzzer flags...]
#   scripts/fuzz.sh connection build           # build only
#   scripts/fuzz.sh connection replay FILE...  # run each input once (reproducers)
# datagram (the default; `scripts/fuzz.sh 60` still works): Fuzz/FuzzDatagram.swift over
#   QuicWire, corpus in .build/fuzz/corpus (seeded from Fuzz/seeds).
# connection: Fuzz/FuzzConnection.swift + Tests/QuicCoreTests/ConnectionFuzzDriver.swift over
#   QuicWire, QuicCrypto, QuicTLS and QuicCore (built with -enable-testing: the driver uses the
#   engine's internals to play the peer), corpus in .build/fuzz-connection/corpus (seeded from
#   Fuzz/seeds-connection). Crashes land in the output directory (crash-*).
# FUZZ_OUT overrides the build directory; FUZZ_WORK the directory of the corpus and crash files
# (default: the build directory; two runs at once need two); FUZZ_NO_BUILD=1 reuses the binary.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
target=datagram
case "${1:-}" in
    datagram|connection) target=$1; shift ;;
esac
mode=run
case "${1:-}" in
    build) mode=build; shift ;;
    replay) mode=replay; shift ;;
esac
seconds=60
if [ "$mode" = run ] && [ $# -gt 0 ]; then seconds=$1; shift; fi
swiftc=${SWIFTC:-swiftc}
flags="-sanitize=fuzzer,address -parse-as-library -O -g"

if [ "${FUZZ_NO_BUILD:-0}" = 1 ]; then
    : # reuse the binary built earlier
elif [ "$target" = datagram ]; then
    out=${FUZZ_OUT:-"$root/.build/fuzz"}
    mkdir -p "$out"
    # QuicWire is compiled as its own module so the harness sees only its public API.
    "$swiftc" $flags -emit-module -emit-library -static -module-name QuicWire \
        -emit-module-path "$out/QuicWire.swiftmodule" -o "$out/libQuicWire.a" \
        "$root"/Sources/QuicWire/*.swift
    "$swiftc" $flags -I "$out" -L "$out" -lQuicWire \
        -o "$out/fuzz-datagram" "$root/Fuzz/FuzzDatagram.swift"
else
    out=${FUZZ_OUT:-"$root/.build/fuzz-connection"}
    mkdir -p "$out/modules/CCrypto"
    # libcrypto's headers as a Clang module (SwiftPM generates this for Sources/CCrypto).
    cat > "$out/modules/CCrypto/module.modulemap" <<EOF
module CCrypto {
    header "$root/Sources/CCrypto/include/CCrypto.h"
    link "crypto"
    export *
}
EOF
    lib() {  # module name, sources...
        name=$1; shift
        "$swiftc" $flags -enable-testing -emit-module -emit-library -static -module-name "$name" \
            -I "$out" -I "$out/modules/CCrypto" \
            -emit-module-path "$out/$name.swiftmodule" -o "$out/lib$name.a" "$@"
    }
    lib QuicWire "$root"/Sources/QuicWire/*.swift
    lib QuicCrypto $(find "$root/Sources/QuicCrypto" -name '*.swift')
    lib QuicTLS $(find "$root/Sources/QuicTLS" -name '*.swift')
    lib QuicCore $(find "$root/Sources/QuicCore" -name '*.swift')
    "$swiftc" $flags -I "$out" -I "$out/modules/CCrypto" -L "$out" \
        -lQuicCore -lQuicTLS -lQuicCrypto -lQuicWire -lcrypto \
        -o "$out/fuzz-connection" "$root/Fuzz/FuzzConnection.swift" "$root/Tests/QuicCoreTests/ConnectionFuzzDriver.swift"
fi
if [ "$target" = datagram ]; then
    out=${FUZZ_OUT:-"$root/.build/fuzz"}; binary=fuzz-datagram; seeds="$root/Fuzz/seeds"
else
    out=${FUZZ_OUT:-"$root/.build/fuzz-connection"}; binary=fuzz-connection; seeds="$root/Fuzz/seeds-connection"
fi
work=${FUZZ_WORK:-"$out"}

[ "$mode" = build ] && exit 0
if [ "$mode" = replay ]; then
    exec "$out/$binary" -runs=1 "$@"
fi
mkdir -p "$work/corpus"
if [ -d "$seeds" ]; then cp -n "$seeds"/* "$work/corpus/" 2>/dev/null || true; fi
cd "$work"
# The Swift runtime's backtracer would take the trap before libFuzzer writes the crash file.
SWIFT_BACKTRACE=enable=no exec nice -n 19 "$out/$binary" -max_total_time="$seconds" -jobs=1 -workers=1 \
    -max_len=4096 -print_final_stats=1 "$@" corpus
