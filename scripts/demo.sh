#!/usr/bin/env bash
# scripts/demo.sh [PREFIX] — build swiftquic, install it into PREFIX (default ./out), then build
# the C examples through the installed CMake packages and run them with certificates made on the
# spot by openssl:
#
#  - examples/echo (the main demo): echo_server listens on 127.0.0.1 (ephemeral port) and
#    echo_client connects twice, validating the server certificate against the generated CA,
#    sends a message on a QUIC stream and checks the echo — a C client and a C server written
#    for MsQuic's API, talking QUIC through libswiftquic.so;
#  - examples/hello: library version, supported QUIC versions, registration, configuration,
#    credential.
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
echo_build="$SWIFTQUIC_ROOT/build/echo"

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

say "build examples/echo (C server + C client) against the installed package (find_package(msquic))"
cmake -S examples/echo -B "$echo_build" -DCMAKE_PREFIX_PATH="$prefix"
cmake --build "$echo_build"

say "run echo_server on 127.0.0.1 and echo_client against it, twice (QUIC through libswiftquic.so)"
port_file="$echo_build/port"
rm -f "$port_file"
timeout 60 "$echo_build/echo_server" "$certs/server.crt" "$certs/server.key" "$port_file" 2 &
server_pid=$!
for _ in $(seq 100); do [ -s "$port_file" ] && break; sleep 0.1; done
[ -s "$port_file" ] || { echo "echo_server did not start"; kill "$server_pid" 2>/dev/null; exit 1; }
port="$(cat "$port_file")"
timeout 30 "$echo_build/echo_client" "$certs/ca.crt" "$port"
timeout 30 "$echo_build/echo_client" "$certs/ca.crt" "$port" "a second connection, a second stream"
wait "$server_pid"

cat <<INFO

Installed in $prefix:
  lib/libswiftquic.so (+ libmsquic.so.2, libmsquic.so)   include/msquic.h, include/msquic_posix.h
  CMake: find_package(swiftquic) or find_package(msquic) with -DCMAKE_PREFIX_PATH=$prefix
  pkg-config: PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --cflags --libs swiftquic
INFO
