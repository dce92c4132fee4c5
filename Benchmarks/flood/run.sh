#!/usr/bin/env bash
# run.sh LIBDIR MODE [SECONDS] [MAXPACKETS] — one Initial flood against flood_server on the
# libmsquic.so.2 found in LIBDIR (swiftquic or MsQuic), loopback only.
#   MODE: junk (random Initials that fail decryption) or valid (real ClientHellos, random DCIDs)
# Prints one line: RSS before / peak during / 5 s and 15 s after the flood and then after the
# server's malloc_trim(0) (KiB), the listener's
# NEW_CONNECTION count, whether an honest client connected during and after the flood, and
# what flood saw come back (retry=...).
# Needs flood and flood_server built in $WORK (default /tmp/floodwork, see README.md) and the
# test certificates in $WORK/certs.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
lib=$(cd "${1:?usage: run.sh LIBDIR junk|valid [SECONDS] [MAXPACKETS]}" && pwd)
mode=${2:?mode}
secs=${3:-15}
maxp=${4:-100000000}
work=${WORK:-/tmp/floodwork}
port=${PORT:-$((20000 + RANDOM % 20000))}

fifo=$work/ctl.$$
rm -f "$fifo"; mkfifo "$fifo"
LD_LIBRARY_PATH=$lib nice -n 5 "$work/flood_server" server "$port" "$work/certs/server.crt" "$work/certs/server.key" \
    < "$fifo" > "$work/server.$$.out" 2>&1 &
spid=$!
exec 3> "$fifo"
for _ in $(seq 50); do grep -q ready "$work/server.$$.out" 2>/dev/null && break; sleep 0.1; done
rss() { awk '/^VmRSS/ {print $2}' /proc/$spid/status 2>/dev/null || echo 0; }
client() { LD_LIBRARY_PATH=$lib timeout 20 "$work/flood_server" client "$port" 5000 | tr '\n' ' '; }

before_client=$(client)
sleep 1
base=$(rss)
"$work/flood" "$mode" "$port" "$secs" "$maxp" "$here/clienthello.hex" > "$work/flood.$$.out" 2>&1 &
fpid=$!
peak=$base
half=$(( $(date +%s%N) / 1000000 + secs * 500 ))   # the honest client starts at half time (ms)
during_client="(not run)"
while kill -0 $fpid 2>/dev/null; do
  r=$(rss); [ "${r:-0}" -gt "$peak" ] && peak=$r
  if [ -z "${cpid:-}" ] && [ $(( $(date +%s%N) / 1000000 )) -ge "$half" ]; then
    ( LD_LIBRARY_PATH=$lib timeout 20 "$work/flood_server" client "$port" 5000 > "$work/during.$$.out" 2>&1 ) &
    cpid=$!
  fi
  sleep 0.1
done
wait $fpid
[ -n "${cpid:-}" ] && { wait "$cpid"; during_client=$(tr '\n' ' ' < "$work/during.$$.out"); }
for _ in $(seq 50); do r=$(rss); [ "${r:-0}" -gt "$peak" ] && peak=$r; sleep 0.1; done
after5=$(rss)                  # 5 s after the flood
after_client=$(client)
sleep 10
after15=$(rss)                 # 15 s after: handshakes the flood started have timed out (10 s)
echo trim >&3; sleep 0.5
trimmed=$(rss)                 # after malloc_trim(0) in the server: what is really still in use
echo >&3
sleep 0.5
exec 3>&-
wait $spid
counts=$(grep new_connection "$work/server.$$.out" | tail -1)
printf '%s %s: rss_kib before=%s peak=%s after5s=%s after15s=%s trimmed=%s | %s | client before: %s| during: %s| after: %s| flood: %s\n' \
  "$(basename "$lib")" "$mode" "$base" "$peak" "$after5" "$after15" "$trimmed" "$counts" "$before_client" "$during_client" "$after_client" \
  "$(cat "$work/flood.$$.out")"
rm -f "$fifo" "$work/server.$$.out" "$work/flood.$$.out" "$work/during.$$.out"
