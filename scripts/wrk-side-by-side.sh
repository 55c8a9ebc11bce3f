#!/usr/bin/env bash
# The greeting (or any webhook) of the service beside the bare actix-web ceiling,
# measured by wrk in one run, alternating ceiling and service.
# Usage: scripts/wrk-side-by-side.sh [BINARY] [DATABASE_URL] [SECONDS] [PAIRS]
# LUA=scripts/wrk-step.lua for a durable step instead of the greeting (the
# ceiling answers every path alike).
# Prints one line per wrk run: target, requests/s, CPU µs per request of the
# server process (utime+stime from /proc over the run), p50/p99 latency.
set -euo pipefail
B=${1:-./target/release/ozmap-ivr}
DB=${2:-sqlite:///tmp/wrk-side-$$.db}
SECS=${3:-8}
PAIRS=${4:-2}
HERE=$(cd "$(dirname "$0")" && pwd)
LUA=${LUA:-$HERE/wrk-greeting.lua}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 2; }
TICKS=$(getconf CLK_TCK)
cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }
"$B" bench --serve-ceiling 127.0.0.1:18081 >/dev/null 2>&1 &
CEIL=$!
"$B" serve --bind 127.0.0.1:18082 --database-url "$DB" \
  --rate-calls-per-minute 0 --rate-requests-per-second 0 \
  2>"${LOG:-/tmp/wrk-side-svc.log}" >/dev/null &
SVC=$!
trap 'kill $CEIL $SVC 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  curl -sf -o /dev/null http://127.0.0.1:18082/healthz && break; sleep 0.2
done
run() { # name pid port
  local before after out rps n
  before=$(cpu "$2")
  out=$(wrk -t2 -c"${CONNS:-32}" -d"${SECS}s" --latency -s "$LUA" "http://127.0.0.1:$3/voice")
  after=$(cpu "$2")
  n=$(echo "$out" | awk '/requests in/ {print $1}')
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  printf '%-8s %10s req/s  %6.1f µs CPU/req  p50 %s p99 %s non-2xx %s  (load %s)\n' \
    "$1" "$rps" "$(echo "($after-$before)*1000000/$TICKS/$n" | bc -l)" "$p50" "$p99" \
    "${non2xx:-0}" "$(cut -d' ' -f1 /proc/loadavg)"
}
for _ in $(seq "$PAIRS"); do
  run ceiling "$CEIL" 18081
  run service "$SVC" 18082
done
