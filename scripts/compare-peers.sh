#!/usr/bin/env bash
# compare-peers.sh — measure perf beside the tools its users would otherwise
# pick, on this machine, the way the README's figures were measured.
#
#   scripts/compare-peers.sh [setup|serve|gen|cost]...   (make compare-peers runs serve gen cost)
#
#   setup  install the peers: wrk, nginx and jq from apt (as root), vegeta
#          v12.13.0 and fortio v1.66.0 with go install into PEERS_DIR, and
#          gohello (scripts/gohello.go, a bare net/http hello-world)
#   serve  servers: wrk, closed loop, against nginx, gohello and perf serve
#          (random reads over KEYS items), each alone on the server core;
#          prints requests/s and perf/gohello, perf/nginx, ROUNDS times
#   gen    generators: the highest constant (open-model) rate vegeta, fortio
#          and perf each hold against nginx, stepping through RATES; wrk's
#          closed-loop throughput is printed as the ceiling
#   cost   generators: CPU time (user+system) per request of wrk, fortio,
#          vegeta and perf at one rate, COST_RATE, against nginx
#
# Every measurement pins the server to SERVER_CPU and the generator to
# GEN_CPU (taskset, GOMAXPROCS=1), so each side has exactly one core and
# neither takes the other's. Everything listens on loopback only.
#
# Settings (environment): PERF (bin/perf), DURATION of each measurement (5s),
# KEYS (100000), ROUNDS (2), RATES ("5000 10000 ... 60000"), COST_RATE (20000),
# SERVER_CPU (1), GEN_CPU (0), PEERS_DIR (~/.cache/perf-peers-compare),
# WORK (default: a new temporary directory, removed at the end unless
# KEEP_WORK=1; a WORK you name is kept).
#
# Read the ratios within one run, not the absolute figures: a shared or
# virtual machine's speed drifts from minute to minute, and a ratio of two
# measurements taken a few seconds apart cancels most of that drift. Run it
# twice before believing a change.
set -euo pipefail

PERF=${PERF:-bin/perf}
DURATION=${DURATION:-5s}
KEYS=${KEYS:-100000}
ROUNDS=${ROUNDS:-2}
RATES=${RATES:-5000 10000 15000 20000 25000 30000 35000 40000 45000 50000 55000 60000}
COST_RATE=${COST_RATE:-20000}
SERVER_CPU=${SERVER_CPU:-1}
GEN_CPU=${GEN_CPU:-0}
PEERS_DIR=${PEERS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/perf-peers-compare}
VEGETA_VERSION=v12.13.0
FORTIO_VERSION=v1.66.0

VEGETA=$PEERS_DIR/vegeta-$VEGETA_VERSION/vegeta
FORTIO=$PEERS_DIR/fortio-$FORTIO_VERSION/fortio
GOHELLO=$PEERS_DIR/gohello
# Debian puts nginx in /usr/sbin, which a user's PATH may lack.
PATH=$PATH:/usr/sbin

die() { echo "compare-peers: $*" >&2; exit 1; }
note() { echo "$*" >&2; }

# ---- setup -----------------------------------------------------------------

setup() {
  local missing=()
  for cmd in wrk nginx jq curl taskset; do
    command -v "$cmd" >/dev/null || missing+=("$cmd")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    # taskset is in util-linux, which every Debian has; the others have
    # packages of their own name (nginx-light: the smallest nginx).
    local pkgs=()
    for cmd in "${missing[@]}"; do
      case $cmd in nginx) pkgs+=(nginx-light) ;; taskset) pkgs+=(util-linux) ;; *) pkgs+=("$cmd") ;; esac
    done
    [ "$(id -u)" = 0 ] || die "missing ${missing[*]}: apt-get install ${pkgs[*]} (as root), then run again"
    note "installing ${pkgs[*]} from apt"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
  fi
  command -v go >/dev/null || die "go is needed to install vegeta and fortio and to build gohello"
  # One directory per version, so a version bump here installs anew.
  if [ ! -x "$VEGETA" ]; then
    note "installing vegeta $VEGETA_VERSION into $(dirname "$VEGETA")"
    GOBIN=$(dirname "$VEGETA") go install "github.com/tsenart/vegeta/v12@$VEGETA_VERSION"
  fi
  if [ ! -x "$FORTIO" ]; then
    note "installing fortio $FORTIO_VERSION into $(dirname "$FORTIO")"
    GOBIN=$(dirname "$FORTIO") go install "fortio.org/fortio@$FORTIO_VERSION"
  fi
  # Always rebuilt: it takes a second with a warm cache and follows the Go
  # version perf itself is built with.
  mkdir -p "$PEERS_DIR"
  go build -o "$GOHELLO" "$(dirname "$0")/gohello.go"
}

# ---- processes, cores and ports --------------------------------------------

pids=()
cleanup() {
  stop_servers
  if [ -n "$made_work" ] && [ "${KEEP_WORK:-0}" != 1 ]; then rm -rf "$made_work"; else note "kept $WORK"; fi
}

# on_gen CMD...: run CMD as the generator, alone on GEN_CPU.
on_gen() { GOMAXPROCS=1 taskset -c "$GEN_CPU" "$@"; }

# server NAME CMD...: start CMD in the background as the server, alone on
# SERVER_CPU, its output in WORK/NAME.log; stop_servers or the script's exit
# stops it.
server() {
  local name=$1
  shift
  GOMAXPROCS=1 taskset -c "$SERVER_CPU" "$@" >"$WORK/$name.log" 2>&1 &
  pids+=($!)
}

# stop_servers: stop every server started so far, so the next measurement
# has the server core to itself.
stop_servers() {
  local pid
  for pid in "${pids[@]:-}"; do
    [ -n "$pid" ] || continue
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  pids=()
}

# free_port: a loopback port nothing listens on now. Other people's
# benchmarks may hold fixed ports on a shared machine, so none is assumed.
free_port() {
  local port
  for _ in $(seq 100); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
  die "no free port found"
}

# wait_url URL: wait up to 60 s for URL to answer 2xx (a server is up, or
# perf serve's /readyz says the store is seeded).
wait_url() {
  for _ in $(seq 600); do
    curl -fs -o /dev/null "$1" && return 0
    kill -0 "${pids[-1]}" 2>/dev/null || die "the server for $1 exited: $(tail -n5 "$WORK"/*.log)"
    sleep 0.1
  done
  die "$1 did not answer within 60s"
}

# ---- the servers -----------------------------------------------------------

# The start_ functions start one server each and set started to its URL.
# (They are not called as $(start_...): a server started in that subshell
# would be lost to stop_servers.)
started=

# start_nginx: nginx with one worker answering "hello" to everything. Every
# path it writes is under WORK, so it runs without root.
start_nginx() {
  local port dir=$WORK/nginx
  port=$(free_port)
  mkdir -p "$dir"
  cat >"$dir/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 8192; }
http {
  access_log off;
  keepalive_requests 100000000;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  server {
    listen 127.0.0.1:$port;
    location / { return 200 'hello'; }
  }
}
EOF
  server nginx nginx -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf"
  started=http://127.0.0.1:$port/
  wait_url "$started"
}

start_gohello() {
  local port
  port=$(free_port)
  server gohello "$GOHELLO" "127.0.0.1:$port"
  started=http://127.0.0.1:$port/
  wait_url "$started"
}

# start_perf_serve: perf serve with items 0..KEYS-1, ready once /readyz
# says the store is seeded and warm.
start_perf_serve() {
  local port admin
  port=$(free_port)
  admin=$(free_port)
  server perf-serve "$PERF" serve --addr "127.0.0.1:$port" --admin-addr "127.0.0.1:$admin" \
    --data "$WORK/perf-data" --seed "$KEYS"
  wait_url "http://127.0.0.1:$admin/readyz"
  started=http://127.0.0.1:$port/
}

# ---- the generators --------------------------------------------------------

# wrk_rps URL [LUA]: wrk's closed-loop requests/s (one thread, 64
# connections) against URL; LUA is a request script.
wrk_rps() {
  local script=()
  [ -n "${2:-}" ] && script=(-s "$2")
  on_gen wrk -t1 -c64 -d"$DURATION" "${script[@]}" "$1" | awk '/^Requests\/sec:/ { printf "%d\n", $2 }'
}

# attack TOOL RATE URL: one open-model run of TOOL at RATE requests/s
# against URL; prints "ACHIEVED FAILED [WHY]": achieved requests/s and the
# requests that failed (perf adds one when its run is invalid: a generator
# that could not keep the plan did not hold the rate; WHY is perf's reason).
#
# vegeta and fortio get 32 connections (vegeta: 32 workers that never grow,
# so it cannot hide lateness behind thousands of goroutines); perf sizes its
# own pool and judges itself (send-lag p99 <= 5ms, CPU < 95%).
attack() {
  local tool=$1 rate=$2 url=$3 out=$WORK/attack
  mkdir -p "$out"
  case $tool in
    vegeta)
      echo "GET $url" | on_gen "$VEGETA" attack -rate="$rate" -duration="$DURATION" \
        -workers=32 -max-workers=32 -connections=32 >"$out/vegeta.bin"
      "$VEGETA" report -type=json <"$out/vegeta.bin" |
        jq -r '"\(.throughput) \([.status_codes | to_entries[] | select(.key != "200") | .value] | add // 0)"' ;;
    fortio)
      on_gen "$FORTIO" load -qps "$rate" -c 32 -uniform -t "$DURATION" -json "$out/fortio.json" "$url" >/dev/null 2>&1
      jq -r '"\(.ActualQPS) \([.RetCodes | to_entries[] | select(.key != "200") | .value] | add // 0)"' "$out/fortio.json" ;;
    perf)
      # Exit 5 (invalid run) is a result here, not a failure of the script.
      on_gen "$PERF" attack --rate "$rate" --duration "$DURATION" --url "$url" \
        --output json --out-dir "$out/perf-results" >"$out/perf.json" 2>"$out/perf.err" || true
      jq -r '"\(.rate.achieved) \(.errors + (if .valid then 0 else 1 end)) \(.invalid_reasons // [] | join("; "))"' "$out/perf.json" ;;
  esac
}

# holds RATE ACHIEVED FAILED: a rate is held when at least 98% of it was
# achieved with no failed request (perf's own --min-achieved default).
holds() { awk -v r="$1" -v a="$2" -v f="$3" 'BEGIN { exit !(a >= 0.98 * r && f == 0) }'; }

# highest_rate TOOL URL: the highest rate of RATES that TOOL holds, going up
# until one is not held. A step that misses is tried once more, for every
# tool alike, so one noisy second does not end the search.
highest_rate() {
  local best=0 rate try held achieved failed why
  for rate in $RATES; do
    held=0
    for try in 1 2; do
      read -r achieved failed why < <(attack "$1" "$rate" "$2") || { achieved=0 failed=unreadable; }
      note "  $1 at $rate/s (try $try): achieved $achieved/s, failed $failed${why:+ (invalid: $why)}"
      if holds "$rate" "$achieved" "$failed"; then held=1; break; fi
    done
    [ "$held" = 1 ] || break
    best=$rate
  done
  echo "$best"
}

# ---- the comparisons -------------------------------------------------------

# ratio A B: A/B with two decimals, or "-" when B is 0.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "-"; else printf "%.2f\n", a / b }'; }

cmd_serve() {
  local nginx gohello perf lua=$WORK/random-keys.lua round n g p
  start_nginx
  nginx=$started
  start_gohello
  gohello=$started
  start_perf_serve
  perf=$started
  # Every request to perf serve reads a random item, so no cache can help.
  cat >"$lua" <<EOF
request = function() return wrk.format(nil, "/v1/items/" .. math.random(0, $KEYS - 1)) end
EOF
  echo "serve: wrk -t1 -c64 for $DURATION on CPU $GEN_CPU against each server alone on CPU $SERVER_CPU"
  echo "       (GOMAXPROCS=1); perf serve reads random items of $KEYS; requests/s"
  for round in $(seq "$ROUNDS"); do
    n=$(wrk_rps "$nginx")
    g=$(wrk_rps "$gohello")
    p=$(wrk_rps "${perf}v1/items/0" "$lua")
    printf 'round %d: nginx %d  gohello %d  perf-serve %d   perf/gohello %s  perf/nginx %s\n' \
      "$round" "$n" "$g" "$p" "$(ratio "$p" "$g")" "$(ratio "$p" "$n")"
  done
  stop_servers
}

cmd_gen() {
  local url w tool
  start_nginx
  url=$started
  echo "gen: each generator on CPU $GEN_CPU (GOMAXPROCS=1) against nginx on CPU $SERVER_CPU, $DURATION a step;"
  echo "     the highest rate held (>= 98% achieved, no errors; perf: also a valid run)"
  w=$(wrk_rps "$url")
  printf '%-8s %8s/s   (wrk: closed loop, as fast as it can; the ceiling)\n' wrk "$w"
  declare -A held
  for tool in vegeta fortio perf; do
    held[$tool]=$(highest_rate "$tool" "$url")
    printf '%-8s %8s/s\n' "$tool" "${held[$tool]}"
  done
  echo "ratios: perf/vegeta $(ratio "${held[perf]}" "${held[vegeta]}")  perf/fortio $(ratio "${held[perf]}" "${held[fortio]}")  perf/wrk $(ratio "${held[perf]}" "$w")"
  if [ "${held[perf]}" = "${RATES##* }" ]; then
    echo "(perf held the highest step: extend RATES to find its limit)"
  fi
  stop_servers
}

# cpu_of OUTFILE CMD...: run CMD as the generator with its stdout in OUTFILE;
# print the CPU seconds (user + system) it and its children used.
cpu_of() {
  local out=$1 TIMEFORMAT='%3U %3S' t
  shift
  t=$( { time on_gen "$@" >"$out" 2>"$out.err" || true; } 2>&1 )
  awk -v t="$t" 'BEGIN { split(t, f, " "); printf "%.3f\n", f[1] + f[2] }'
}

cmd_cost() {
  local url out=$WORK/cost tool cpu n
  start_nginx
  url=$started
  mkdir -p "$out"
  echo "GET $url" >"$out/targets.txt"
  echo "cost: generator CPU time per request at $COST_RATE/s for $DURATION on CPU $GEN_CPU, nginx on CPU $SERVER_CPU"
  declare -A us
  for tool in wrk fortio vegeta perf; do
    case $tool in
      wrk)
        cpu=$(cpu_of "$out/wrk.txt" wrk -t1 -c32 -d"$DURATION" "$url")
        n=$(awk '/requests in/ { print $1 }' "$out/wrk.txt") ;;
      fortio)
        cpu=$(cpu_of "$out/fortio.out" "$FORTIO" load -qps "$COST_RATE" -c 32 -uniform -t "$DURATION" -json "$out/fortio.json" "$url")
        n=$(jq '[.RetCodes[]] | add' "$out/fortio.json") ;;
      vegeta)
        cpu=$(cpu_of "$out/vegeta.bin" "$VEGETA" attack -targets "$out/targets.txt" -rate="$COST_RATE" \
          -duration="$DURATION" -workers=32 -max-workers=32 -connections=32)
        n=$("$VEGETA" report -type=json <"$out/vegeta.bin" | jq .requests) ;;
      perf)
        cpu=$(cpu_of "$out/perf.json" "$PERF" attack --rate "$COST_RATE" --duration "$DURATION" --url "$url" \
          --output json --out-dir "$out/perf-results")
        n=$(jq .requests "$out/perf.json") ;;
    esac
    us[$tool]=$(awk -v c="$cpu" -v n="$n" 'BEGIN { printf "%.1f\n", n ? c * 1e6 / n : 0 }')
    printf '%-8s %9d requests  %6.2f s CPU  %6s us/request%s\n' "$tool" "$n" "$cpu" "${us[$tool]}" \
      "$([ "$tool" = wrk ] && echo '   (closed loop: as fast as it can, not at the rate)')"
  done
  echo "ratios (lower is cheaper): perf/fortio $(ratio "${us[perf]}" "${us[fortio]}")  perf/vegeta $(ratio "${us[perf]}" "${us[vegeta]}")  perf/wrk $(ratio "${us[perf]}" "${us[wrk]}")"
  stop_servers
}

# header: what was measured with what, so a pasted result can be traced.
header() {
  echo "compare-peers $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -n): $(nproc) CPUs, $(uname -r)"
  echo "  $("$PERF" version 2>&1 | head -n1)"
  echo "  vegeta $VEGETA_VERSION, fortio $FORTIO_VERSION, $(nginx -v 2>&1 | sed 's/.*: //'), $(wrk -v 2>&1 | head -n1 | awk '{print $1, $2}'), gohello with $(go env GOVERSION)"
}

# ---- main ------------------------------------------------------------------

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }

[ $# -gt 0 ] || usage
for cmd in "$@"; do
  case $cmd in setup | serve | gen | cost) ;; *) usage ;; esac
done
setup
[ "$*" = setup ] && { echo "peers ready in $PEERS_DIR"; exit 0; }

[ -x "$PERF" ] || die "no perf binary at $PERF (make build, or set PERF)"
[ "$(nproc)" -ge 2 ] || die "needs two CPUs: one for the server, one for the generator"
[ "$SERVER_CPU" != "$GEN_CPU" ] || die "SERVER_CPU and GEN_CPU must differ"
made_work=
if [ -z "${WORK:-}" ]; then
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/compare-peers.XXXXXX")
  made_work=$WORK
fi
mkdir -p "$WORK"
trap cleanup EXIT
# A generator holds many connections open.
ulimit -n 65536 2>/dev/null || true

header
for cmd in "$@"; do
  echo
  case $cmd in
    serve) cmd_serve ;;
    gen) cmd_gen ;;
    cost) cmd_cost ;;
  esac
done
