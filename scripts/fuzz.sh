#!/bin/sh
# Builds the QuicWire libFuzzer target (Fuzz/FuzzDatagram.swift + Sources/QuicWire) with
# libFuzzer and AddressSanitizer, then runs it.
#   scripts/fuzz.sh [seconds] [extra libFuzzer flags...]
# The corpus lives in .build/fuzz/corpus (seeded from Fuzz/seeds), crashes in .build/fuzz.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
[ $# -gt 0 ] && shift
out="$root/.build/fuzz"
mkdir -p "$out/corpus"
swiftc=${SWIFTC:-swiftc}

# QuicWire is compiled as its own module so the harness sees only its public API.
"$swiftc" -sanitize=fuzzer,address -parse-as-library -O -g \
    -emit-module -emit-library -static -module-name QuicWire \
    -emit-module-path "$out/QuicWire.swiftmodule" -o "$out/libQuicWire.a" \
    "$root"/Sources/QuicWire/*.swift
"$swiftc" -sanitize=fuzzer,address -parse-as-library -O -g \
    -I "$out" -L "$out" -lQuicWire \
    -o "$out/fuzz-datagram" "$root/Fuzz/FuzzDatagram.swift"

if [ -d "$root/Fuzz/seeds" ]; then cp -n "$root"/Fuzz/seeds/* "$out/corpus/" 2>/dev/null || true; fi
cd "$out"
exec nice -n 19 ./fuzz-datagram -max_total_time="$seconds" -jobs=1 -workers=1 -max_len=4096 \
    -print_final_stats=1 "$@" corpus
