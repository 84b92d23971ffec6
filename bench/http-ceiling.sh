#!/usr/bin/env bash
# http ceiling: nginx answering `return 200` vs modelmux `GET /ping`, each
# under wrk with the same threads and connections (and under modelmux-loadgen),
# with the server's CPU time per request from /proc and the client's own.
# Both servers run side by side; the runs alternate (nginx, modelmux, ...)
# BENCH_REPS times (3) and each row is the run with the median throughput, so
# a burst of other work on the machine does not decide the ratio.
# Writes $BENCH_OUT/http-ceiling.{md,json} and raw/http-ceiling/.
# Env: HTTP_THREADS (1), HTTP_CONNECTIONS (32), HTTP_SECONDS (10), BENCH_REPS (3).
source "$(dirname "$0")/lib/common.sh"
need_bins modelmux modelmux-loadgen
command -v wrk > /dev/null || die "wrk is missing (scripts/install-deps)"
threads="${HTTP_THREADS:-1}" conns="${HTTP_CONNECTIONS:-32}" secs="${HTTP_SECONDS:-10}"
raw="$BENCH_RAW/http-ceiling"; mkdir -p "$raw"
ref_store

# One run: sets RUN_RPS, RUN_P50, RUN_P99 (µs), RUN_SCPU, RUN_CCPU (µs/request).
run_wrk() {  # LABEL-REP PID URL
  local out="$raw/$1-wrk.txt" c0 c1 n
  c0=$(cpu_seconds_tree "$2")
  client_cpu "$raw/$1-wrk.cpu" wrk -t"$threads" -c"$conns" -d"${secs}s" --latency "$3" > "$out"
  c1=$(cpu_seconds_tree "$2")
  n=$(awk '/requests in/ {print $1}' "$out")
  echo "$(wrk_rps "$out") $(wrk_latency_us "$out" 50) $(wrk_latency_us "$out" 99) $(calc "round(($c1 - $c0) * 1e6 / $n, 1)") $(calc "round($(cat "$raw/$1-wrk.cpu") * 1e6 / $n, 1)")"
}
run_loadgen() {  # LABEL-REP PID PORT
  local out="$raw/$1-loadgen.json" c0 c1 n
  c0=$(cpu_seconds_tree "$2")
  client_cpu "$raw/$1-loadgen.cpu" "$LOADGEN" --port "$3" --route ping -c "$conns" -d "$secs" --warmup 1 --json > "$out"
  c1=$(cpu_seconds_tree "$2")
  # The warm-up second is in the CPU windows too: count its requests.
  n=$(calc "$(json_get "$out" "d['completed']") * ($secs + 1) / $secs")
  echo "$(json_get "$out" "'%.1f %.0f %.0f' % (d['throughput_rps'], d['latency_us']['p50'], d['latency_us']['p99'])") $(calc "round(($c1 - $c0) * 1e6 / $n, 1)") $(calc "round($(cat "$raw/$1-loadgen.cpu") * 1e6 / $n, 1)")"
}

start_nginx
start_server "$raw/modelmux.log" --store "$REF_STORE"
declare -A url=([nginx]="http://127.0.0.1:$NGINX_PORT/" [modelmux]="http://127.0.0.1:$SERVER_PORT/ping")
declare -A port=([nginx]="$NGINX_PORT" [modelmux]="$SERVER_PORT")
declare -A pid=([nginx]="$NGINX_PID" [modelmux]="$SERVER_PID")
declare -A runs
for s in nginx modelmux; do wrk -t1 -c"$conns" -d2s "${url[$s]}" > /dev/null; done  # warm-up
for ((rep = 1; rep <= REPS; rep++)); do
  for s in nginx modelmux; do
    log "http-ceiling: $s, run $rep of $REPS"
    runs[$s-wrk]+="$(run_wrk "$s-$rep" "${pid[$s]}" "${url[$s]}");"
    runs[$s-loadgen]+="$(run_loadgen "$s-$rep" "${pid[$s]}" "${port[$s]}");"
  done
done
stop_pid "$SERVER_PID"; stop_pid "$NGINX_PID"

declare -A rps
rows=()
for key in nginx-wrk modelmux-wrk nginx-loadgen modelmux-loadgen; do
  IFS=';' read -r -a list <<< "${runs[$key]%;}"
  all_rps=(); for r in "${list[@]}"; do all_rps+=("${r%% *}"); done
  read -r r p50 p99 scpu ccpu <<< "${list[$(median_index "${all_rps[@]}")]}"
  rps[$key]=$r
  client="wrk -t$threads -c$conns"; [ "${key#*-}" = loadgen ] && client="loadgen -c$conns"
  rows+=("| ${key%-*} | $client | $(fmt "$r" .0f) | $(printf '%s ' "${all_rps[@]}" | xargs -n1 python3 -c 'import sys; print(round(float(sys.argv[1])))' | paste -sd/) | $(fmt "$p50" .0f) | $(fmt "$p99" .0f) | $scpu | $ccpu |")
done

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
  echo "| server | client | req/s (median run) | req/s of every run | p50 µs | p99 µs | server CPU µs/req | client CPU µs/req |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
  printf '%s\n' "${rows[@]}"
  echo
  echo "**modelmux / nginx throughput: $ratio under wrk, $ratio_lg under modelmux-loadgen** (target ≥ 0.8)."
  echo
  echo "nginx $(nginx -v 2>&1 | sed 's/.*\///'), one worker process (\`worker_processes 1\`, as modelmux has one I/O thread), access log off; modelmux \`--store <ref store>\` with default flags (\`--io-threads 1\`). A 2 s wrk warm-up of each, then $REPS rounds of \`wrk -t$threads -c$conns -d${secs}s --latency URL\` and \`modelmux-loadgen --route ping -c $conns -d $secs --warmup 1\` on nginx then modelmux; each row is the median-throughput round. Server CPU = utime + stime from /proc/<pid>/stat (nginx: master + worker) over the run / requests; client CPU = the client's user + system time / requests."
} > "$BENCH_OUT/http-ceiling.md"
cat "$BENCH_OUT/http-ceiling.md"
