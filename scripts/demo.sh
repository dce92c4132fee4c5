#!/usr/bin/env bash
# scripts/demo.sh [PREFIX] — build swiftquic, install it into PREFIX (default ./out), then build
# examples/hello through the installed CMake package (find_package(swiftquic)) and run it with a
# certificate made on the spot by openssl.
#
# hello opens the MsQuic API (MsQuicOpen2), prints the library version and the supported QUIC
# versions, opens a registration and a configuration and loads the certificate into it.
set -euo pipefail
export LC_ALL=C

SWIFTQUIC_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib.sh
. "$SWIFTQUIC_ROOT/scripts/lib.sh"
cd "$SWIFTQUIC_ROOT"

prefix="${1:-$SWIFTQUIC_ROOT/out}"
mkdir -p "$prefix"
prefix="$(cd "$prefix" && pwd)"
BUILD_DIR="${BUILD_DIR:-$SWIFTQUIC_ROOT/build/cmake}"
hello_build="$SWIFTQUIC_ROOT/build/hello"

say() { printf '\n===== %s\n' "$*"; }

say "tools"
ensure_tools

say "build libswiftquic.so (swift build -c release, through CMake)"
configure_and_build "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release

say "install into $prefix"
cmake --install "$BUILD_DIR" --prefix "$prefix"

say "build examples/hello against the installed package"
cmake -S examples/hello -B "$hello_build" -DCMAKE_PREFIX_PATH="$prefix"
cmake --build "$hello_build"

say "make certificates (openssl, CTests/gen-certs.sh)"
certs="$hello_build/certs"
rm -rf "$certs"
bash CTests/gen-certs.sh "$certs"

say "run hello with server.crt/server.key (ECDSA P-256, signed by the test CA)"
"$hello_build/hello" "$certs/server.crt" "$certs/server.key"

cat <<INFO

Installed in $prefix:
  lib/libswiftquic.so (+ libmsquic.so.2, libmsquic.so)   include/msquic.h, include/msquic_posix.h
  CMake: find_package(swiftquic) or find_package(msquic) with -DCMAKE_PREFIX_PATH=$prefix
  pkg-config: PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --cflags --libs swiftquic
INFO
