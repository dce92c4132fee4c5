#!/bin/bash
# Runs quic-bench and `openssl speed` back to back, several rounds, and prints the best figure
# of each (the machine is shared, so the best round is the least disturbed one).
# Every rate is per second of CPU time: `openssl speed` divides by its CPU time unless given
# -elapsed, and quic-bench and the C reference do the same, so that a loaded machine does not
# tilt the comparison.
#
#   Benchmarks/run-benchmarks.sh [rounds]      (from the package root; default 5 rounds)
set -euo pipefail
rounds=${1:-5}
swift build -c release --product quic-bench >/dev/null
bin=$(swift build -c release --show-bin-path)/quic-bench
log=$(mktemp)
cref=$(mktemp)
trap 'rm -f "$log" "$cref"' EXIT
# The same per-packet EVP sequence in plain C: the floor for the Swift layer.
cc -O2 -o "$cref" "$(dirname "$0")/c-reference/aead-loop.c" -lcrypto

for i in $(seq 1 "$rounds"); do
    echo "round $i/$rounds $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    "$bin" 1 3 | sed 's/^/QB /' >>"$log"
    for c in aes-128-gcm aes-256-gcm chacha20-poly1305; do "$cref" "$c" 1 | sed 's/^/CR /' >>"$log"; done
    for c in aes-128-gcm aes-256-gcm chacha20-poly1305; do
        # Streaming rate of 1024-byte EVP_EncryptUpdate calls (the figure the goal refers to).
        openssl speed -evp "$c" -bytes 1024 -seconds 3 2>/dev/null | tail -1 | sed "s/^/OS stream-1024 $c /" >>"$log"
        # Per-packet sequence (new IV, 13-byte AAD, 1200 bytes, final) for context.
        openssl speed -aead -evp "$c" -bytes 1200 -seconds 3 2>/dev/null | tail -1 | sed "s/^/OS aead-1200-enc $c /" >>"$log"
        openssl speed -aead -decrypt -evp "$c" -bytes 1200 -seconds 3 2>/dev/null | tail -1 | sed "s/^/OS aead-1200-dec $c /" >>"$log"
    done
done

echo "== best of $rounds rounds =="
# quic-bench lines: "QB <suite>:" then "QB   <metric...> <rate> ... = <MB/s> MB/s" or "... M masks/s".
awk '
/^QB [A-Za-z0-9]+:$/ { suite = $2; sub(":", "", suite); next }
/^QB   / {
    line = $0; sub(/^QB   /, "", line)
    if (!match(line, / [0-9.]+ (k|M) /)) next
    metric = substr(line, 1, RSTART - 1); sub(/ +$/, "", metric)
    if (match(line, /= [0-9.]+ MB\/s/)) { v = substr(line, RSTART + 2, RLENGTH - 7) + 0; unit = "MB/s" }
    else if (match(line, /[0-9.]+ M masks\/s/)) { v = substr(line, RSTART, RLENGTH - 10) + 0; unit = "M masks/s" }
    else next
    key = "quic-bench " suite " " metric
    if (!(key in best) || v > best[key]) { best[key] = v; units[key] = unit }
    next
}
/^CR / {
    if (!match($0, /= [0-9.]+ MB\/s/)) next
    v = substr($0, RSTART + 2, RLENGTH - 7) + 0
    key = "C reference " $4 " seal+open (AEAD)"
    if (!(key in best) || v > best[key]) { best[key] = v; units[key] = "MB/s" }
    next
}
/^OS / {
    v = $NF; sub(/k$/, "", v); v = v / 1000   # openssl prints 1000s of bytes/s
    key = "openssl " $2 " " $3
    if (!(key in best) || v > best[key]) { best[key] = v; units[key] = "MB/s" }
}
END { for (k in best) printf "%-60s %10.1f %s\n", k, best[k], units[k] }
' "$log" | sort
