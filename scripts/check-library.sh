#!/usr/bin/env bash
# check-library.sh LIBRARY: the shipped libswiftquic.so must export exactly MsQuic's two entry
# points (under version node `msquic`, like libmsquic.so.2) and need nothing but libc, libm,
# libstdc++, libgcc_s and libcrypto (the Swift runtime is linked in statically).
set -euo pipefail
export LC_ALL=C
lib="${1:?usage: check-library.sh path/to/libswiftquic.so}"
[ -f "$lib" ] || { echo "check-library: $lib does not exist" >&2; exit 1; }
status=0

exports=$(nm -D --defined-only "$lib" | awk '{print $2, $3}' | sort)
expected=$(printf '%s\n' "A msquic" "T MsQuicClose@@msquic" "T MsQuicOpenVersion@@msquic" | sort)
echo "exported (nm -D --defined-only):"
printf '%s\n' "$exports" | sed 's/^/  /'
if [ "$exports" != "$expected" ]; then
  echo "check-library: FAIL: the exports differ from MsQuicOpenVersion@@msquic, MsQuicClose@@msquic:" >&2
  diff <(printf '%s\n' "$expected") <(printf '%s\n' "$exports") >&2 || true
  status=1
fi

soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
echo "soname: $soname"
[ "$soname" = libswiftquic.so ] || { echo "check-library: FAIL: soname is '$soname'" >&2; status=1; }

echo "dependencies (ldd):"
deps=$(ldd "$lib")
printf '%s\n' "$deps" | sed 's/^/  /'
allowed='^(linux-vdso\.so\.1|linux-gate\.so\.1|libc\.so\.6|libm\.so\.6|libstdc\+\+\.so\.6|libgcc_s\.so\.1|libcrypto\.so\.3|ld-linux[-a-z0-9_.]*\.so\.[0-9]+|/lib(64)?/ld-linux[-a-z0-9_.]*\.so\.[0-9]+)$'
while read -r name _; do
  [ -n "$name" ] || continue
  if ! [[ "$name" =~ $allowed ]]; then
    echo "check-library: FAIL: unexpected dependency $name" >&2
    status=1
  fi
done <<< "$deps"
if grep -q 'not found' <<< "$deps"; then
  echo "check-library: FAIL: a dependency is not found" >&2
  status=1
fi

[ "$status" -eq 0 ] && echo "check-library: OK ($lib)"
exit "$status"
