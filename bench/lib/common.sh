# shellcheck shell=bash disable=SC2034,SC2207
# Shared helpers of the issue-3 benchmark scripts (bench/<name>); sourced, not run.
#
# Environment (all optional):
#   BUILD        build tree with the binaries          (default: build)
#   BENCH_WORK   generated stores and scratch          (default: bench/work, git-ignored)
#   BENCH_OUT    curated results: <name>.md, <name>.json, plots (default: bench/results)
#   BENCH_RAW    raw outputs: every wrk/loadgen run, logs, <name>/ per script
#                (default: bench/work/raw, git-ignored: a record, not a log, is tracked)
# Every server this starts is stopped on exit (by its pid).
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_DIR="$(cd "$BENCH_DIR/.." && pwd)"
BUILD="${BUILD:-$REPO_DIR/build}"
BENCH_WORK="${BENCH_WORK:-$BENCH_DIR/work}"
BENCH_OUT="${BENCH_OUT:-$BENCH_DIR/results}"
BENCH_RAW="${BENCH_RAW:-$BENCH_WORK/raw}"
BIN="$BUILD/bin"
LOADGEN="$BIN/modelmux-loadgen"
CLK_TCK="$(getconf CLK_TCK)"
mkdir -p "$BENCH_WORK" "$BENCH_OUT" "$BENCH_RAW"

_bench_pids=()
_bench_tmp=()
_bench_cleanup() {
  local rc=$? pid d
  for pid in "${_bench_pids[@]:-}"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  done
  for d in "${_bench_tmp[@]:-}"; do [ -z "$d" ] || rm -rf "$d"; done
  exit "$rc"
}
trap _bench_cleanup EXIT
BENCH_LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"

die() { echo "bench: $*" >&2; exit 1; }
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

need_bins() {
  local b
  for b in "$@"; do
    [ -x "$BIN/$b" ] || die "$BIN/$b is not built: cmake --build $BUILD --target $b"
  done
}

machine_line() {
  echo "$(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB RAM, $(uname -sr)"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_http URL [seconds]: until URL answers 200.
wait_http() {
  local i
  for ((i = 0; i < ${2:-120} * 10; i++)); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$1" || true)" = 200 ] && return 0
    sleep 0.1
  done
  die "$1 did not answer 200"
}

# start_server LOG ARGS...: starts modelmux ($MODELMUX_BIN if set, to compare
# another build in the same run) on a free loopback port; sets
# SERVER_PID and SERVER_PORT once /ping answers 200.
start_server() {
  local logf="$1"; shift
  local portf; portf="$(mktemp)"; _bench_tmp+=("$portf")
  "${MODELMUX_BIN:-$BIN/modelmux}" --address 127.0.0.1 --port 0 --port-file "$portf" --log-level warn "$@" > "$logf" 2>&1 &
  SERVER_PID=$!
  _bench_pids+=("$SERVER_PID")
  local i=0
  while [ ! -s "$portf" ] && [ $i -lt 600 ] && kill -0 "$SERVER_PID" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
  [ -s "$portf" ] || die "modelmux did not start (see $logf)"
  SERVER_PORT="$(cat "$portf")"
  wait_http "http://127.0.0.1:$SERVER_PORT/ping" 600
}

stop_pid() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# start_nginx: nginx (one worker, like modelmux's one I/O thread) answering
# `return 200` on a free loopback port, config in a temp dir; sets NGINX_PID, NGINX_PORT.
start_nginx() {
  command -v nginx > /dev/null || die "nginx is missing (scripts/install-deps installs nginx-light)"
  local dir; dir="$(mktemp -d)"; _bench_tmp+=("$dir"); chmod 755 "$dir"
  NGINX_PORT="$(free_port)"
  cat > "$dir/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / { return 200; }
  }
}
CONF
  nginx -c "$dir/nginx.conf" -p "$dir" &
  NGINX_PID=$!
  _bench_pids+=("$NGINX_PID")
  wait_http "http://127.0.0.1:$NGINX_PORT/" 30
}

# CPU seconds (user + system) the process has used so far.
cpu_seconds() { awk -v hz="$CLK_TCK" '{print ($14 + $15) / hz}' "/proc/$1/stat"; }
# cpu_of_tree PID: the process and its children (nginx master + worker).
cpu_seconds_tree() {
  local total=0 p
  for p in "$1" $(pgrep -P "$1" || true); do total=$(awk -v a="$total" -v b="$(cpu_seconds "$p")" 'BEGIN {print a + b}'); done
  echo "$total"
}
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
threads_of() { status_kb "$1" Threads; }

# metric PORT NAME: sum of the samples of a Prometheus metric (all label sets).
metric() {
  curl -s "http://127.0.0.1:$1/metrics" | awk -v n="$2" '$1 == n || index($1, n "{") == 1 {s += $NF} END {printf "%.6f\n", s + 0}'
}

# json_get FILE EXPR: a value from a JSON file (python expression on `d`).
json_get() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }
calc() { python3 -c "print($1)"; }
fmt() { python3 -c "print(format($1, '$2'))"; }

# wrk_rps FILE / wrk_latency_us FILE Q: parse `wrk --latency` output.
wrk_rps() { awk '/^Requests\/sec:/ {print $2}' "$1"; }
wrk_latency_us() {
  awk -v q="$2" '$1 == q"%" {v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
    f = (u == "us") ? 1 : (u == "ms") ? 1000 : (u == "s") ? 1e6 : 1; print v * f}' "$1"
}
wrk_non2xx() { awk '/Non-2xx or 3xx responses:/ {n = $NF} END {print n + 0}' "$1"; }

# Stores. The reference store: BENCH_REF_TENANTS (52) distinct demo tenants
# of the default size (vocab 32768 x dim 64, about 8.4 MB), generated once.
ref_store() {
  local n="${BENCH_REF_TENANTS:-52}" dir="$BENCH_WORK/ref-store"
  if [ ! -f "$dir/.complete-$n" ]; then
    rm -rf "$dir"
    log "generating the reference store: $n tenants (default demo size)"
    "$BIN/modelmux-make-store" --tenants "$n" --out "$dir" --seed 42 > "$BENCH_WORK/ref-store.log" 2>&1
    touch "$dir/.complete-$n"
  fi
  REF_STORE="$dir"
  REF_MODELS=($(cd "$dir" && ls -d [A-Za-z0-9]* | sort))
}

# The many-model store: BENCH_MANY_MODELS (2000) models named m0000..m1999,
# hard-linked copies of BENCH_MANY_DISTINCT (8) small generated tenants
# (vocab 8192 x dim 64, about 2.1 MB each), so that 2,000 of them fit in
# memory at once and the store takes seconds to make. The server loads each
# name as its own model (it keys models by name, not by file).
many_store() {
  local n="${BENCH_MANY_MODELS:-2000}" distinct="${BENCH_MANY_DISTINCT:-8}" dir="$BENCH_WORK/many-store"
  if [ ! -f "$dir/.complete-$n-$distinct" ]; then
    rm -rf "$dir" "$BENCH_WORK/many-src"
    log "generating $distinct small tenants and linking them under $n names"
    "$BIN/modelmux-make-store" --tenants "$distinct" --out "$BENCH_WORK/many-src" --seed 7 \
      --vocab 8192 --dim 64 > "$BENCH_WORK/many-store.log" 2>&1
    local src=($(cd "$BENCH_WORK/many-src" && ls -d [A-Za-z0-9]* | sort)) i name
    mkdir -p "$dir"
    : > "$BENCH_WORK/many-sizes.txt"
    for ((i = 0; i < n; i++)); do
      name=$(printf 'm%04d' "$i")
      cp -al "$BENCH_WORK/many-src/${src[i % distinct]}" "$dir/$name"
    done
    for s in "${src[@]}"; do
      echo "$s $(du -sb --apparent-size "$BENCH_WORK/many-src/$s" | cut -f1)" >> "$BENCH_WORK/many-sizes.txt"
    done
    touch "$dir/.complete-$n-$distinct"
  fi
  MANY_STORE="$dir"
  MANY_DISTINCT="$distinct"
}

# many_bytes K: artifact bytes of models m0000..m(K-1).
many_bytes() {
  awk -v k="$1" -v d="$MANY_DISTINCT" '{s[NR - 1] = $2} END {t = 0; for (i = 0; i < k; i++) t += s[i % d]; printf "%.0f\n", t}' \
    "$BENCH_WORK/many-sizes.txt"
}

# models_file FIRST COUNT FILE: names m<FIRST>.. into FILE.
models_file() { awk -v a="$1" -v n="$2" 'BEGIN {for (i = a; i < a + n; i++) printf "m%04d\n", i}' > "$3"; }

# write_result NAME: moves $TMP_MD to $BENCH_OUT/NAME.md and prints it.
# The load average says how much else ran on the machine at the time: the
# numbers are only comparable when it is near what the benchmark itself uses.
header_md() {
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(machine_line); commit: $(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo '?'); load average at the start: ${BENCH_LOAD_BEFORE:-?}, at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
}

# median_index VALUE...: the index (0-based) of the median value.
median_index() { python3 -c 'import sys; v=[float(x) for x in sys.argv[1:]]; print(sorted(range(len(v)), key=lambda i: v[i])[len(v) // 2])' "$@"; }
REPS="${BENCH_REPS:-3}"

# client_cpu CPUFILE CMD...: runs CMD (stdout kept), writes the CPU seconds
# (user + system) it used to CPUFILE.
client_cpu() {
  local f="$1"; shift
  local TIMEFORMAT='%U %S'
  { time "$@" 2> /dev/null ; } 2> "$f.tmp"
  awk 'END {print $1 + $2}' "$f.tmp" > "$f"; rm -f "$f.tmp"
}
