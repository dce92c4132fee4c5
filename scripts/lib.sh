# Helpers shared by scripts/test.sh and scripts/demo.sh (sourced, not run).

# ensure_tools: install, through apt-get, whatever the build and the tests need and is missing.
# The Swift toolchain cannot come from apt: its absence is reported, not fixed.
ensure_tools() {
  local missing=() tool pkg
  for tool in cmake:cmake openssl:openssl pkg-config:pkg-config python3:python3 \
              cc:gcc make:make readelf:binutils nm:binutils \
              gtlsclient:ngtcp2-client gtlsserver:ngtcp2-server; do
    command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool#*:}")
  done
  [ -f /usr/include/openssl/evp.h ] || missing+=(libssl-dev)
  if [ "${#missing[@]}" -gt 0 ]; then
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    echo "installing: ${missing[*]}"
    local sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=900 update -qq &&
      "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends \
        "${missing[@]}" || { echo "error: could not install ${missing[*]}" >&2; return 1; }
  fi
  # aioquic (PyPI): the peer of the interop tests (interop/); without it they are skipped.
  if command -v python3 >/dev/null 2>&1 && ! python3 -c 'import aioquic' >/dev/null 2>&1; then
    echo "installing: aioquic (pip)"
    python3 -m pip install -q aioquic ||
      echo "warning: pip install aioquic failed; the interop tests will be skipped" >&2
  fi
  if ! command -v swift >/dev/null 2>&1; then
    echo "error: the Swift toolchain (swift, 6.0 or later) is not on PATH; get it from swift.org" >&2
    return 1
  fi
}

# configure_and_build BUILD_DIR [cmake args...]: the CMake build of the library and C tests.
configure_and_build() {
  local dir="$1"; shift
  cmake -S "$SWIFTQUIC_ROOT" -B "$dir" "$@" && cmake --build "$dir" --parallel "${JOBS:-$(nproc)}"
}
