#!/bin/sh
# Builds the recovery allocation harness (main.swift) and runs it with the malloc counter
# preloaded; exits non-zero when the steady state allocates (limit: 0 calls per cycle).
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$(mktemp -d)}
mkdir -p "$out"
cc -O2 -shared -fPIC -o "$out/libcount.so" "$root/Fuzz/DecodeBench/count.c"
swiftc -O -wmo -parse-as-library -emit-module -emit-library -static -module-name QuicWire \
    "$root"/Sources/QuicWire/*.swift -emit-module-path "$out/QuicWire.swiftmodule" -o "$out/libQuicWire.a"
swiftc -O -wmo -I "$out" -L "$out" -lQuicWire -module-name RecoveryAlloc \
    "$root"/Sources/QuicCore/Recovery/*.swift "$root/Sources/QuicCore/Time.swift" \
    "$root/Benchmarks/recovery-alloc/main.swift" -o "$out/recovery-alloc"
LD_PRELOAD="$out/libcount.so" "$out/recovery-alloc" 0
