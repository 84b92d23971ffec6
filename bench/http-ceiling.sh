#!/usr/bin/env bash
# http ceiling: nginx answering `return 200` vs modelmux `GET /ping`, each
# under wrk with the same threads and connections (and under modelmux-loadgen),
# with the server's CPU time per request from /proc.
# Writes $BENCH_OUT/http-ceiling.{md,json} and raw/http-ceiling/.
# Env: HTTP_THREADS (1), HTTP_CONNECTIONS (32), HTTP_SECONDS (10).
source "$(dirname "$0")/lib/common.sh"
need_bins modelmux modelmux-loadgen
command -v wrk > /dev/null || die "wrk is missing (scripts/install-deps)"
threads="${HTTP_THREADS:-1}" conns="${HTTP_CONNECTIONS:-32}" secs="${HTTP_SECONDS:-10}"
raw="$BENCH_OUT/raw/http-ceiling"; mkdir -p "$raw"
ref_store

# run_one LABEL PID URL PORT ROUTE-ARGS: wrk then loadgen; appends table rows.
rows=()
declare -A rps
measure() {
  local label="$1" pid="$2" url="$3" port="$4"; shift 4
  local c0 c1 out="$raw/$label-wrk.txt"
  log "http-ceiling: $label under wrk"
  wrk -t1 -c"$conns" -d2s "$url" > /dev/null  # warm-up
  c0=$(cpu_seconds_tree "$pid")
  client_cpu "$raw/$label-wrk.cpu" wrk -t"$threads" -c"$conns" -d"${secs}s" --latency "$url" > "$out"
  c1=$(cpu_seconds_tree "$pid")
  local r; r=$(wrk_rps "$out"); rps[$label-wrk]=$r
  local n; n=$(awk '/requests in/ {print $1}' "$out")
  rows+=("| $label | wrk -t$threads -c$conns | $(fmt "$r" .0f) | $(wrk_latency_us "$out" 50) | $(wrk_latency_us "$out" 99) | $(calc "round(($c1 - $c0) * 1e6 / $n, 1)") | $(calc "round($(cat "$raw/$label-wrk.cpu") * 1e6 / $n, 1)") |")
  log "http-ceiling: $label under modelmux-loadgen"
  out="$raw/$label-loadgen.json"
  c0=$(cpu_seconds_tree "$pid")
  client_cpu "$raw/$label-loadgen.cpu" "$LOADGEN" --port "$port" -c "$conns" -d "$secs" --warmup 1 --json "$@" > "$out"
  c1=$(cpu_seconds_tree "$pid")
  r=$(json_get "$out" "d['throughput_rps']"); rps[$label-loadgen]=$r
  # The warm-up second is in the CPU windows too: count its requests.
  n=$(calc "$(json_get "$out" "d['completed']") * ($secs + 1) / $secs")
  rows+=("| $label | loadgen -c$conns | $(fmt "$r" .0f) | $(json_get "$out" "'%.0f' % d['latency_us']['p50']") | $(json_get "$out" "'%.0f' % d['latency_us']['p99']") | $(calc "round(($c1 - $c0) * 1e6 / $n, 1)") | $(calc "round($(cat "$raw/$label-loadgen.cpu") * 1e6 / $n, 1)") |")
}

start_nginx
measure nginx "$NGINX_PID" "http://127.0.0.1:$NGINX_PORT/" "$NGINX_PORT" --route ping
stop_pid "$NGINX_PID"
start_server "$raw/modelmux.log" --store "$REF_STORE"
measure modelmux "$SERVER_PID" "http://127.0.0.1:$SERVER_PORT/ping" "$SERVER_PORT" --route ping
stop_pid "$SERVER_PID"

ratio=$(calc "round(${rps[modelmux-wrk]} / ${rps[nginx-wrk]}, 3)")
ratio_lg=$(calc "round(${rps[modelmux-loadgen]} / ${rps[nginx-loadgen]}, 3)")
cat > "$BENCH_OUT/http-ceiling.json" <<JSON
{"nginx_wrk_rps": ${rps[nginx-wrk]}, "modelmux_wrk_rps": ${rps[modelmux-wrk]},
 "nginx_loadgen_rps": ${rps[nginx-loadgen]}, "modelmux_loadgen_rps": ${rps[modelmux-loadgen]},
 "ratio_wrk": $ratio, "ratio_loadgen": $ratio_lg}
JSON
{
  echo "### HTTP ceiling: nginx \`return 200\` vs modelmux \`GET /ping\` (bench/http-ceiling.sh)"
  echo
  header_md
  echo
  echo "| server | client | req/s | p50 µs | p99 µs | server CPU µs/req | client CPU µs/req |"
  echo "| --- | --- | --- | --- | --- | --- | --- |"
  printf '%s\n' "${rows[@]}"
  echo
  echo "**modelmux / nginx throughput: $ratio under wrk, $ratio_lg under modelmux-loadgen** (target ≥ 0.8)."
  echo
  echo "nginx ${NGINX_VERSION:-$(nginx -v 2>&1 | sed 's/.*\///')}, one worker process (\`worker_processes 1\`, as modelmux has one I/O thread), access log off; modelmux \`--store <ref store>\` with default flags (\`--io-threads 1\`). Each: a 2 s wrk warm-up, then \`wrk -t$threads -c$conns -d${secs}s --latency URL\`, then \`modelmux-loadgen --route ping -c $conns -d $secs --warmup 1\`. Server CPU = utime + stime from /proc/<pid>/stat (nginx: master + worker) over the run / requests."
} > "$BENCH_OUT/http-ceiling.md"
cat "$BENCH_OUT/http-ceiling.md"
