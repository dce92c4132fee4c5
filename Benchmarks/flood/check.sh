#!/usr/bin/env bash
# check.sh BINDIR CERTDIR — the short, bounded flood check run by CTest (flood_budget):
# flood and flood_server from BINDIR (flood_server linked to the library under test), loopback
# only, about 3 s of flooding in all, paced (FLOOD_PPS) so that the server reads what is sent
# rather than the kernel dropping it. Asserts on counts and RSS growth, never on time:
#   1. 12,000 junk Initials (random DCIDs, undecryptable): the server's RSS grows < 12 MiB and no
#      NEW_CONNECTION is raised.
#   2. 3,000 valid client Initials (real ClientHello, random DCIDs) with RetryMemoryLimit 8/65535
#      of memory: most are answered with Retry, not NEW_CONNECTION (fewer NEW_CONNECTIONs than
#      half the Initials, at least one Retry), RSS grows < 64 MiB.
#   3. An honest client connects after each flood.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin=${1:?usage: check.sh BINDIR CERTDIR}
certs=${2:?usage: check.sh BINDIR CERTDIR}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
trap '' PIPE
fail=0
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1 ($2)"; fail=1; fi; }

run_server() {  # MODE COUNT PPS -> sets base peak newconn client and the flood line
  local mode=$1 count=$2 pps=$3 port=$((20000 + RANDOM % 20000))
  mkfifo "$work/ctl"
  FLOOD_RETRY_MEMORY_LIMIT=8 "$bin/flood_server" server "$port" "$certs/server.crt" "$certs/server.key" \
      < "$work/ctl" > "$work/server.out" 2>&1 &
  local spid=$!
  exec 3> "$work/ctl"
  for _ in $(seq 100); do grep -q ready "$work/server.out" 2>/dev/null && break; sleep 0.1; done
  grep -q ready "$work/server.out" || { echo "FAIL the server did not start: $(cat "$work/server.out")"; exit 1; }
  rss() { awk '/^VmRSS/ {print $2}' /proc/$spid/status 2>/dev/null || echo 0; }
  "$bin/flood_server" client "$port" 10000 > "$work/client0.out" 2>&1   # warms up the server
  base=$(rss)
  FLOOD_PPS=$pps "$bin/flood" "$mode" "$port" 10 "$count" "$here/clienthello.hex" > "$work/flood.out" 2>&1 &
  local fpid=$!
  peak=$base
  while kill -0 $fpid 2>/dev/null; do r=$(rss); [ "${r:-0}" -gt "$peak" ] && peak=$r; sleep 0.05; done
  wait $fpid
  for _ in $(seq 10); do r=$(rss); [ "${r:-0}" -gt "$peak" ] && peak=$r; sleep 0.05; done
  "$bin/flood_server" client "$port" 10000 > "$work/client.out" 2>&1; client=$?
  echo >&3; sleep 0.3; exec 3>&-
  wait $spid
  newconn=$(sed -n 's/.*new_connection=\([0-9]*\).*/\1/p' "$work/server.out" | tail -1)
  flood=$(cat "$work/flood.out")
  rm -f "$work/ctl"
  echo "$mode: rss_kib base=$base peak=$peak new_connection=$newconn (2 are the honest clients) | $flood"
}

run_server junk 12000 8000
check "junk: RSS growth under 12 MiB" "[ $((peak - base)) -lt 12288 ]"
check "junk: no NEW_CONNECTION from junk" "[ ${newconn:-99} -le 2 ]"
check "junk: an honest client connects afterwards" "[ $client -eq 0 ]"

run_server valid 3000 5000
sent=$(echo "$flood" | sed -n 's/.*sent=\([0-9]*\).*/\1/p')
retry=$(echo "$flood" | sed -n 's/.*retry=\([0-9]*\).*/\1/p')
check "valid: all 3000 Initials sent" "[ ${sent:-0} -eq 3000 ]"
check "valid: fewer NEW_CONNECTIONs than half the Initials" "[ ${newconn:-99999} -lt 1500 ]"
check "valid: answered with Retry" "[ ${retry:-0} -ge 1 ]"
check "valid: RSS growth under 64 MiB" "[ $((peak - base)) -lt 65536 ]"
check "valid: an honest client connects afterwards" "[ $client -eq 0 ]"
exit $fail
