#!/usr/bin/env bash
# secnetperf-cpu.sh LIBDIR SCENARIO [SECNETPERF]: one secnetperf run (upload or download, 5 s,
# loopback, port 4433) with the libmsquic.so.2 in LIBDIR, server and client each under
# /usr/bin/time. Prints the throughput, the CPU seconds (user+sys) of each process and the Mbit
# moved per CPU-second of both: on a shared, loaded machine that figure compares builds more
# fairly than throughput alone (BENCHMARKS.md, "Throughput on MsQuic's secnetperf").
set -uo pipefail
lib=$(cd "${1:?usage: secnetperf-cpu.sh LIBDIR upload|download [SECNETPERF]}" && pwd)
sc=${2:?scenario}
sp=${3:-/work/msquic-ref/secnetperf}
case $sc in
  upload) args="-scenario:upload -upload:5s" ;;
  download) args="-scenario:download -download:5s" ;;
  *) echo "scenario: upload or download"; exit 2 ;;
esac
tmp=$(mktemp -d)
LD_LIBRARY_PATH=$lib /usr/bin/time -f "%U %S" -o "$tmp/server" timeout 30 "$sp" -exec:maxtput >/dev/null 2>&1 &
server=$!
sleep 1
result=$(LD_LIBRARY_PATH=$lib /usr/bin/time -f "%U %S" -o "$tmp/client" timeout 25 "$sp" -target:127.0.0.1 \
         -exec:maxtput $args 2>&1 | grep -m1 "Result:")
# Stop the server: signal the `timeout` that /usr/bin/time started (it forwards to secnetperf).
for child in $(pgrep -P "$server"); do kill -INT "$child" 2>/dev/null; done
wait "$server" 2>/dev/null
kbps=$(echo "$result" | sed -n 's/.* \([0-9][0-9]*\) kbps.*/\1/p')
read -r cu cs < <(tail -1 "$tmp/client")
read -r su ss < <(tail -1 "$tmp/server")
rm -rf "$tmp"
python3 -c "
k=${kbps:-0}; cpu=$cu+$cs+$su+$ss
print(f'$(basename "$lib") $sc: {k/1e6:.3f} Gbps, CPU client {$cu+$cs:.2f}s (sys {$cs:.2f}) server {$su+$ss:.2f}s (sys {$ss:.2f}), {k*5/1e3/max(cpu,0.01):.0f} Mbit per CPU-s')"
