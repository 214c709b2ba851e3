#!/usr/bin/env bash
# demo.sh — the main job on embedded defaults: seed a store, serve it, attack
# it with non-cached random reads, print the report, stop the server.
#
#   scripts/demo.sh [PERF_BIN]      (make demo builds bin/perf and runs this)
#
# Settings (environment): SEED items (100000), RATE per second (1000),
# DURATION (10s), WARMUP (2s), DEMO_DIR (./perf-demo).
set -euo pipefail
PERF=${1:-bin/perf}
SEED=${SEED:-100000}
RATE=${RATE:-1000}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
DEMO_DIR=${DEMO_DIR:-perf-demo}
mkdir -p "$DEMO_DIR"
log="$DEMO_DIR/serve.log"

# Port 0: the kernel picks free ports and perf serve logs them.
"$PERF" serve --addr 127.0.0.1:0 --admin-addr 127.0.0.1:0 --data "$DEMO_DIR/data" --seed "$SEED" 2>"$log" &
serve_pid=$!
trap 'kill -TERM "$serve_pid" 2>/dev/null; wait "$serve_pid" 2>/dev/null || true' EXIT

addr() { sed -n "s#^$1 on \(http://[^ ]*\).*#\1#p" "$log" | head -n1; }
for _ in $(seq 600); do
  pub=$(addr "listening"); admin=$(addr "admin listening")
  if [ -n "$admin" ] && curl -fs -o /dev/null "$admin/readyz" 2>/dev/null; then break; fi
  kill -0 "$serve_pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.1
done
[ -n "${pub:-}" ] || { echo "perf serve did not say where it listens:" >&2; cat "$log" >&2; exit 1; }
echo "perf serve: items 0..$((SEED-1)) at $pub/v1/items/{id}, admin $admin" >&2

rc=0
"$PERF" attack --url "$pub/v1/items/{key}" --keys "uniform:$SEED" \
  --rate "$RATE" --duration "$DURATION" --warmup "$WARMUP" --name demo \
  --out-dir "$DEMO_DIR/results" --slo 'p99<=25ms' --slo 'errors<=0' || rc=$?
run=$(ls -d "$DEMO_DIR"/results/*-demo | tail -n1)
echo >&2
echo "run directory: $run (perf report $run; latency.hlog opens in HdrHistogram's tools)" >&2
exit "$rc"
