#!/usr/bin/env bash
# Packaging checks run by CTest (see CMakeLists.txt in this directory). Each mode prints what it
# does and exits non-zero on the first failure.
#
#   check.sh install  BUILD_DIR WORK     install BUILD_DIR into WORK/staging, check the file list,
#                                        then move it to WORK/prefix (so every later check also
#                                        proves the package files are relocatable)
#   check.sh cmake    WORK PROJECT_DIR LABEL   configure, build and run a throwaway CMake project
#                                        with CMAKE_PREFIX_PATH=WORK/prefix
#   check.sh example  WORK EXAMPLE_DIR CERTS   build examples/hello against WORK/prefix, run it
#   check.sh pkgconfig WORK COMMON_DIR   build open_api.c with `pkg-config swiftquic` and with
#                                        `pkg-config msquic`, run both
#   check.sh so2      WORK STUB_DIR MAP COMMON_DIR
#                                        link open_api.c with -lmsquic against a stand-in
#                                        libmsquic.so.2, check DT_NEEDED, run it with the
#                                        installed lib/ in its place
# Environment: CC (C compiler), CXX (C++ compiler, optional), CMAKE (cmake), CMAKE_GENERATOR
# (optional).
set -euo pipefail
export LC_ALL=C

CC="${CC:-cc}"
CMAKE="${CMAKE:-cmake}"
say() { printf '== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
run() { printf '+ %s\n' "$*"; "$@"; }

mode="${1:?usage: check.sh MODE ...}"; shift

case "$mode" in
install)
  build="$1" work="$2"
  rm -rf "$work"
  mkdir -p "$work"
  run "$CMAKE" --install "$build" --prefix "$work/staging"
  staging="$work/staging"
  libdir=""
  for d in lib lib64 lib/*-linux-gnu; do
    if [ -z "$libdir" ] && [ -e "$staging/$d/libswiftquic.so" ]; then libdir="$d"; fi
  done
  [ -n "$libdir" ] || fail "libswiftquic.so is not installed"
  for f in "$libdir/libswiftquic.so" include/msquic.h include/msquic_posix.h \
           "$libdir/cmake/swiftquic/swiftquic-config.cmake" \
           "$libdir/cmake/swiftquic/swiftquic-config-version.cmake" \
           share/msquic/msquic-config.cmake share/msquic/msquic-config-version.cmake \
           "$libdir/pkgconfig/swiftquic.pc" "$libdir/pkgconfig/msquic.pc"; do
    [ -f "$staging/$f" ] || fail "$f is not installed"
  done
  for link in libmsquic.so.2 libmsquic.so; do
    [ -L "$staging/$libdir/$link" ] || fail "$libdir/$link is not a symlink"
    target=$(readlink -f "$staging/$libdir/$link")
    [ "$target" = "$(readlink -f "$staging/$libdir/libswiftquic.so")" ] ||
      fail "$libdir/$link leads to $target, not libswiftquic.so"
  done
  [ ! -e "$staging/include/module.modulemap" ] || fail "include/module.modulemap must not be installed"
  say "installed files:"
  (cd "$staging" && find . \( -type f -o -type l \) | sort | sed 's/^/   /')
  mv "$staging" "$work/prefix"
  say "moved the install tree to $work/prefix"
  ;;

cmake)
  work="$1" project="$2" label="$3"
  bdir="$work/build-$label"
  rm -rf "$bdir"
  gen=()
  [ -n "${CMAKE_GENERATOR:-}" ] && gen=(-G "$CMAKE_GENERATOR")
  cxx=()
  [ -n "${CXX:-}" ] && cxx=(-DCMAKE_CXX_COMPILER="$CXX")
  run "$CMAKE" --no-warn-unused-cli -S "$project" -B "$bdir" "${gen[@]}" -DCMAKE_C_COMPILER="$CC" "${cxx[@]}" \
      -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
      -DCMAKE_FIND_PACKAGE_NO_SYSTEM_PACKAGE_REGISTRY=ON
  run "$CMAKE" --build "$bdir"
  grep -q "^[a-zA-Z_]*_DIR:PATH=$work/prefix/" "$bdir/CMakeCache.txt" ||
    fail "the package was not found in $work/prefix: $(grep '_DIR:PATH=' "$bdir/CMakeCache.txt")"
  run "$bdir/open_api" "$label"
  ;;

example)
  # examples/hello (the demo program) built through the installed package and run with a
  # certificate of the test set.
  work="$1" project="$2" certs="$3"
  bdir="$work/build-example-hello"
  rm -rf "$bdir"
  run "$CMAKE" --no-warn-unused-cli -S "$project" -B "$bdir" -DCMAKE_C_COMPILER="$CC" \
      -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
  run "$CMAKE" --build "$bdir"
  run "$bdir/hello" "$certs/ecdsa-p256.crt" "$certs/ecdsa-p256.key"
  ;;

pkgconfig)
  work="$1" common="$2"
  prefix="$work/prefix"
  pcdir=$(dirname "$(find "$prefix" -name swiftquic.pc | head -1)")
  export PKG_CONFIG_PATH="$pcdir" PKG_CONFIG_LIBDIR="$pcdir"
  for pkg in swiftquic msquic; do
    cflags=$(pkg-config --cflags "$pkg") libs=$(pkg-config --libs "$pkg")
    libdir=$(pkg-config --variable=libdir "$pkg")
    case "$(readlink -f "$libdir")/" in "$(readlink -f "$prefix")"/*) ;;
      *) fail "$pkg.pc: libdir $libdir is not inside $prefix";; esac
    [ -e "$libdir/libswiftquic.so" ] || fail "$pkg.pc: no libswiftquic.so in $libdir"
    out="$work/pkgconfig-$pkg"
    # shellcheck disable=SC2086 # the flags are word lists
    run "$CC" -o "$out" "$common/open_api.c" $cflags $libs -Wl,-rpath,"$libdir"
    run "$out" "pkg-config-$pkg"
  done
  ;;

so2)
  work="$1" stub_src="$2" map="$3" common="$4"
  prefix="$work/prefix"
  libdir=$(dirname "$(find "$prefix" -name libswiftquic.so | head -1)")
  stub="$work/msquic-stub"
  rm -rf "$stub"; mkdir -p "$stub"
  # A stand-in libmsquic.so.2 with MsQuic's soname and version node, then a program linked
  # with -lmsquic against it (no rpath: it is run with LD_LIBRARY_PATH, like a binary from
  # elsewhere).
  run "$CC" -shared -fPIC -o "$stub/libmsquic.so.2" "$stub_src/stub.c" \
      -Wl,-soname,libmsquic.so.2 -Wl,--version-script="$map"
  ln -sf libmsquic.so.2 "$stub/libmsquic.so"
  app="$work/so2-app"
  run "$CC" -o "$app" "$common/open_api.c" -I"$prefix/include" -L"$stub" -lmsquic
  needed=$(readelf -d "$app" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
  say "DT_NEEDED of the program: $needed"
  case " $needed " in *" libmsquic.so.2 "*) ;; *) fail "DT_NEEDED lacks libmsquic.so.2";; esac
  case " $needed " in *swiftquic*) fail "the program names libswiftquic directly";; esac
  readelf -V "$app" | grep -q 'Name: msquic' || fail "the program does not require version node msquic"
  say "the program requires MsQuicOpenVersion@msquic from libmsquic.so.2"
  say "control: with the stand-in library the program must fail"
  if LD_LIBRARY_PATH="$stub" "$app" so2-stub; then fail "the program succeeded with the stand-in"; fi
  say "with $libdir (libmsquic.so.2 -> libswiftquic.so) in its place"
  LD_LIBRARY_PATH="$libdir" ldd "$app" | grep -E 'msquic|swiftquic' | sed 's/^/   /'
  LD_LIBRARY_PATH="$libdir" run "$app" libmsquic.so.2
  ;;

*)
  fail "unknown mode $mode"
  ;;
esac
