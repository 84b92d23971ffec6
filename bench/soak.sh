#!/usr/bin/env bash
# soak (issue 13 item 4): one modelmux at 3x memory oversubscription (the
# store's models charge SOAK_OVERSUB x the budget) serving an S3 store
# (s3rver) through the fault proxy (tests/integration/fault_proxy.py), under a
# Zipf workload mixed with uniform scans and a few management calls, for
# SOAK_MINUTES, with the proxy failing (SOAK_FAULT) for SOAK_FAULT_SECONDS in
# the middle. A sampler records RSS, fds, threads, /metrics, /ping latency and
# the proxy's counters every SOAK_SAMPLE_SECONDS.
#
# Goals checked at the end: no 5xx outside the fault window, the budget held
# at every sample, RSS drift <= 5% (first vs last 5 minutes; first vs last
# fifth for runs under 25 minutes), fds and threads flat.
#
# Writes $BENCH_OUT/soak.{md,json,png}; raw samples, loadgen output and logs
# go to $BENCH_RAW/soak/ (bench/work/raw/soak/ by default, git-ignored,
# replaced at each run).
#
# Env (defaults in brackets):
#   SOAK_MINUTES [5]         measured time (30 for the record), after SOAK_WARMUP [30] s
#   SOAK_FAULT [blackhole]   blackhole | 503 | 500 | none: what the proxy does in the window
#   SOAK_FAULT_SECONDS [60]  the window, centred in the run
#   SOAK_MODELS [150]        model names in the store, copies of SOAK_DISTINCT [8] tenants
#   SOAK_OVERSUB [3]         store bytes / budget (bytes as the server charges them)
#   SOAK_RATE [40]           Zipf(SOAK_ZIPF_S [1.0]) arrivals per second (Poisson), over
#                            SOAK_CONNECTIONS [8] connections, in SOAK_SEGMENT [30] s runs
#   SOAK_SCAN_EVERY [60]     seconds between scans: SOAK_SCAN_MODELS [30] models in a row, 2 connections
#   SOAK_MANAGE_EVERY [15]   seconds between management calls (bench/soak/manage.py)
#   SOAK_SAMPLE_SECONDS [5]  sampling period
#   SOAK_DISK_CACHE [0]      1: give the server a --disk-cache (then most loads read disk, not S3)
#   SOAK_SERVER_ARGS         extra modelmux flags [--s3-request-timeout 5000 --s3-max-attempts 2
#                            --s3-connect-timeout 1000: the settings of issue 11's report]
#   MODELMUX_ADMIN_TOKEN     when set, management calls send `Authorization: Bearer` with it
source "$(dirname "$0")/lib/common.sh"
need_bins modelmux modelmux-loadgen modelmux-make-store
command -v gnuplot > /dev/null || die "gnuplot is missing (scripts/install-deps)"
command -v node > /dev/null || die "node is missing (scripts/install-deps)"
PY=/usr/bin/python3
SOAK="$BENCH_DIR/soak"
PROXY="$REPO_DIR/tests/integration/fault_proxy.py"
S3RVER_JS="$REPO_DIR/tests/integration/s3rver/node_modules/s3rver/bin/s3rver.js"
[ -f "$S3RVER_JS" ] || die "s3rver is missing: (cd tests/integration/s3rver && npm ci), or scripts/install-deps"

minutes="${SOAK_MINUTES:-5}" warmup="${SOAK_WARMUP:-30}"
fault="${SOAK_FAULT:-blackhole}" fault_secs="${SOAK_FAULT_SECONDS:-60}"
n_models="${SOAK_MODELS:-150}" distinct="${SOAK_DISTINCT:-8}" oversub="${SOAK_OVERSUB:-3}"
rate="${SOAK_RATE:-40}" zipf_s="${SOAK_ZIPF_S:-1.0}" conns="${SOAK_CONNECTIONS:-8}" segment="${SOAK_SEGMENT:-30}"
scan_every="${SOAK_SCAN_EVERY:-60}" scan_models="${SOAK_SCAN_MODELS:-30}"
manage_every="${SOAK_MANAGE_EVERY:-15}" sample_secs="${SOAK_SAMPLE_SECONDS:-5}"
disk_cache="${SOAK_DISK_CACHE:-0}"
read -r -a server_args <<< "${SOAK_SERVER_ARGS:---s3-request-timeout 5000 --s3-max-attempts 2 --s3-connect-timeout 1000}"
case "$fault" in
  blackhole) fault_json='{"mode": "blackhole"}' ;;
  500 | 503) fault_json="{\"mode\": \"http_error\", \"status\": $fault}" ;;
  none) fault_json="" ;;
  *) die "SOAK_FAULT must be blackhole, 503, 500 or none, not $fault" ;;
esac

# s3rver's built-in account, for modelmux's SigV4 signing.
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
unset AWS_SESSION_TOKEN

raw="$BENCH_RAW/soak"
rm -rf "$raw"
mkdir -p "$raw/loadgen"

# The loops below run loadgen in background subshells; on an early exit the
# subshells are killed by common.sh and their loadgen children here.
_soak_loops=()
_soak_cleanup() {
  local rc=$? pid
  set +e  # clean up everything, whatever fails on the way
  for pid in "${_soak_loops[@]:-}"; do
    [ -z "$pid" ] || { pkill -P "$pid" 2> /dev/null || true; kill "$pid" 2> /dev/null || true; }
  done
  (exit "$rc")
  _bench_cleanup
}
trap _soak_cleanup EXIT

# soak_store: SOAK_DISTINCT small tenants (vocab 8192 x dim 64, about 2 MB
# each), as .tar.gz archives, generated once into $BENCH_WORK.
soak_store() {
  SOAK_SRC="$BENCH_WORK/soak-src-$distinct"
  if [ ! -f "$SOAK_SRC/.complete" ]; then
    rm -rf "$SOAK_SRC"
    log "soak: generating $distinct tenants"
    "$BIN/modelmux-make-store" --tenants "$distinct" --out "$SOAK_SRC" --seed 7 --vocab 8192 --dim 64 \
      --archive > "$BENCH_WORK/soak-src.log" 2>&1
    touch "$SOAK_SRC/.complete"
  fi
}

# start_s3rver: s3rver on a loopback port it picks, bucket `models`, data in a
# temp dir; the same command as tests/integration/s3_harness.py. Sets S3RVER_PID, S3_PORT.
start_s3rver() {
  local data; data="$(mktemp -d "$BENCH_WORK/soak-s3rver.XXXXXX")"; _bench_tmp+=("$data")
  : > "$raw/s3rver.log"  # exists before the background job opens it: the loop below reads it at once
  NODE_OPTIONS=--openssl-legacy-provider node "$S3RVER_JS" -d "$data" -a 127.0.0.1 -p 0 \
    --configure-bucket models > "$raw/s3rver.log" 2>&1 &
  S3RVER_PID=$!
  _bench_pids+=("$S3RVER_PID")
  local i
  for ((i = 0; i < 300; i++)); do
    S3_PORT="$(sed -n 's/.*listening on [0-9.]*:\([0-9]*\).*/\1/p' "$raw/s3rver.log" | head -1)"
    [ -n "$S3_PORT" ] && return 0
    sleep 0.1
  done
  die "s3rver did not start (see $raw/s3rver.log)"
}

# start_proxy: the fault proxy in front of s3rver. Sets PROXY_PID, PROXY_PORT, CONTROL_PORT.
start_proxy() {
  "$PY" "$PROXY" --upstream "127.0.0.1:$S3_PORT" --port-file "$raw/proxy.port" \
    --control-port-file "$raw/control.port" 2> "$raw/proxy.log" &
  PROXY_PID=$!
  _bench_pids+=("$PROXY_PID")
  local i
  for ((i = 0; i < 100; i++)); do [ -s "$raw/control.port" ] && break; sleep 0.1; done
  [ -s "$raw/control.port" ] || die "the fault proxy did not start (see $raw/proxy.log)"
  PROXY_PORT="$(cat "$raw/proxy.port")" CONTROL_PORT="$(cat "$raw/control.port")"
}

set_fault() { curl -sf -X POST -d "$1" "http://127.0.0.1:$CONTROL_PORT/fault" > /dev/null; }
now() { date +%s.%N; }
event() { echo "{\"t\": $(now), \"event\": \"$1\"${2:+, \"detail\": $2}}" >> "$raw/events.jsonl"; }

# soak_server LOG ARGS...: modelmux on the S3 store through the proxy.
soak_server() {
  local logf="$1"; shift
  start_server "$logf" --store s3://models/soak --s3-endpoint "http://127.0.0.1:$PROXY_PORT" "${server_args[@]}" "$@"
}

# charged_store_bytes: loads the distinct tenants once (m000..) in a server
# without a budget and adds up the bytes it charges for each, over every name
# of the store (name i is a copy of tenant i mod SOAK_DISTINCT). Sets STORE_BYTES.
charged_store_bytes() {
  soak_server "$raw/modelmux-probe.log"
  head -n "$distinct" "$raw/models.txt" > "$raw/distinct.txt"
  "$LOADGEN" --port "$SERVER_PORT" --models-file "$raw/distinct.txt" --pick sequential -n "$distinct" -c 1 \
    > /dev/null
  curl -sf -X POST -d '{}' "http://127.0.0.1:$SERVER_PORT/v2/repository/index" > "$raw/probe-index.json"
  stop_pid "$SERVER_PID"
  STORE_BYTES=$("$PY" - "$raw/probe-index.json" "$distinct" "$n_models" <<'PY'
import json, sys
index, d, n = json.load(open(sys.argv[1])), int(sys.argv[2]), int(sys.argv[3])
charged = {e["name"]: e["bytes"] for e in index}
per = [charged[f"m{i:03d}"] for i in range(d)]
assert all(per), f"a probe load failed: {per}"
print(sum(per[i % d] for i in range(n)))
PY
)
}

# loadgen_run NAME ARGS...: one loadgen run, its JSON in loadgen/NAME.json and
# a line in segments.jsonl with its wall-clock start and end.
loadgen_run() {
  local name="$1"; shift
  local t0 rc=0
  t0=$(now)
  "$LOADGEN" --port "$SERVER_PORT" --json "$@" > "$raw/loadgen/$name.json" 2> "$raw/loadgen/$name.err" || rc=$?
  echo "{\"name\": \"$name\", \"start\": $t0, \"end\": $(now), \"rc\": $rc}" >> "$raw/segments.jsonl"
}

# zipf_loop END: Zipf traffic in SOAK_SEGMENT runs until END (epoch seconds).
# Short runs, so each one's errors can be placed before, in or after the fault.
zipf_loop() {
  local end="$1" i=0 left
  while left=$(calc "int($end - $(now))") && [ "$left" -gt 0 ]; do
    loadgen_run "zipf-$(printf %03d $i)" --models-file "$raw/models.txt" --pick zipf --zipf-s "$zipf_s" \
      --rate "$rate" -c "$conns" -d "$((left < segment ? left : segment))" --seed $((100 + i))
    i=$((i + 1))
  done
}

# scan_loop END: every SOAK_SCAN_EVERY seconds, one pass over SOAK_SCAN_MODELS
# consecutive models of the store (a batch job touching each once: the
# pattern that flushes a naive LRU), starting further along each time, from
# the middle of the popularity order so the first pass is not all hits.
scan_loop() {
  local end="$1" i=0 first
  while [ "$(calc "int($(now) + $scan_every < $end)")" = 1 ]; do
    sleep "$scan_every"
    first=$(((n_models / 2 + i * scan_models) % n_models))
    # The file twice over, so a pass that runs off the end wraps to the start.
    awk -v first="$first" -v k="$scan_models" 'NR > first && n < k {print; n++}' \
      "$raw/models.txt" "$raw/models.txt" > "$raw/scan-$i.txt"
    loadgen_run "scan-$(printf %03d $i)" --models-file "$raw/scan-$i.txt" --pick sequential \
      -n "$scan_models" -c 2 -d 600
    i=$((i + 1))
  done
}

# fault_window START SECONDS: the proxy fails from START (epoch) for SECONDS.
fault_window() {
  sleep "$(calc "max(0, $1 - $(now))")"
  set_fault "$fault_json"
  event fault_on "$fault_json"
  log "soak: fault on: $fault_json"
  sleep "$2"
  set_fault '{"mode": "pass"}'
  event fault_off
  log "soak: fault off"
}

# ----------------------------------------------------------------- set-up

soak_store
start_s3rver
log "soak: s3rver on port $S3_PORT; uploading $n_models models"
archive_bytes=$("$PY" "$SOAK/upload.py" "http://127.0.0.1:$S3_PORT" soak "$SOAK_SRC" "$n_models" "$raw/models.txt")
start_proxy
charged_store_bytes
store_bytes="$STORE_BYTES"
budget=$(calc "int($store_bytes / $oversub)")
log "soak: store $store_bytes bytes as charged ($archive_bytes as .tar.gz), budget $budget ($oversub x oversubscribed)"

cache_args=()
if [ "$disk_cache" = 1 ]; then
  cache_dir="$(mktemp -d "$BENCH_WORK/soak-cache.XXXXXX")"; _bench_tmp+=("$cache_dir")
  cache_args=(--disk-cache "$cache_dir" --disk-cache-budget "$((2 * archive_bytes))")
fi
soak_server "$raw/modelmux.log" --memory-budget "$budget" "${cache_args[@]}"
log "soak: modelmux pid $SERVER_PID on port $SERVER_PORT; warm-up ${warmup}s"
loadgen_run warmup --models-file "$raw/models.txt" --pick zipf --zipf-s "$zipf_s" --rate "$rate" -c "$conns" \
  -d "$warmup" --seed 99

# ------------------------------------------------------------------ soak

start=$(now)
end=$(calc "$start + $minutes * 60")
fault_on=$(calc "$start + ($minutes * 60 - $fault_secs) / 2")
event start
"$PY" "$SOAK/sampler.py" --port "$SERVER_PORT" --pid "$SERVER_PID" --control-port "$CONTROL_PORT" \
  --interval "$sample_secs" --until "$end" --out "$raw/samples.jsonl" &
sampler_pid=$!
_bench_pids+=("$sampler_pid")
"$PY" "$SOAK/manage.py" --port "$SERVER_PORT" --models-file "$raw/models.txt" --every "$manage_every" \
  --until "$end" --out "$raw/manage.jsonl" &
manage_pid=$!
_bench_pids+=("$manage_pid")
zipf_loop "$end" &
_soak_loops+=($!)
scan_loop "$end" &
_soak_loops+=($!)
[ -n "$fault_json" ] && { fault_window "$fault_on" "$fault_secs" & _soak_loops+=($!); }
log "soak: running $minutes min (until $(date -d "@${end%.*}" +%H:%M:%S)); fault ${fault} at +$(calc "round($fault_on - $start)")s for ${fault_secs}s"
for pid in "${_soak_loops[@]}" "$sampler_pid" "$manage_pid"; do wait "$pid" || true; done
event end
kill -0 "$SERVER_PID" 2> /dev/null || die "modelmux exited during the soak (see $raw/modelmux.log)"
# CPU the server and the harness around it used: on a small machine the proxy
# and s3rver compete with the server, and the report says by how much.
cpu_server=$(cpu_seconds "$SERVER_PID") cpu_proxy=$(cpu_seconds "$PROXY_PID") cpu_s3rver=$(cpu_seconds "$S3RVER_PID")
stop_pid "$SERVER_PID"

# ---------------------------------------------------------------- report

# The run's settings for the report, as JSON (python does the quoting).
cache_flags="${cache_args[*]:+--disk-cache DIR --disk-cache-budget $((2 * archive_bytes))}"
REPORT_HEADER="$(header_md)" REPORT_SERVER_FLAGS="${server_args[*]} --memory-budget $budget $cache_flags" \
  "$PY" - "$raw/run.json" <<PY
import json, os, shlex, sys
env = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(os.environ.items()) if k.startswith("SOAK_"))
json.dump({"minutes": $minutes, "warmup_s": $warmup, "fault": "$fault", "fault_seconds": $fault_secs,
           "models": $n_models, "distinct": $distinct, "oversubscription": $oversub,
           "store_bytes": $store_bytes, "archive_bytes": $archive_bytes, "budget_bytes": $budget,
           "rate": $rate, "zipf_s": $zipf_s, "connections": $conns, "segment_s": $segment,
           "scan_every_s": $scan_every, "scan_models": $scan_models, "manage_every_s": $manage_every,
           "sample_s": $sample_secs, "disk_cache": $disk_cache == 1,
           "cpu_seconds": {"modelmux": $cpu_server, "fault_proxy": $cpu_proxy, "s3rver": $cpu_s3rver},
           "admin_token": bool(os.environ.get("MODELMUX_ADMIN_TOKEN")),
           "server_flags": os.environ["REPORT_SERVER_FLAGS"].strip(), "header": os.environ["REPORT_HEADER"],
           "env": env},
          open(sys.argv[1], "w"), indent=1)
PY
"$PY" "$SOAK/report.py" "$raw" "$BENCH_OUT"
