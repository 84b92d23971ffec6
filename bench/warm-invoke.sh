#!/usr/bin/env bash
# warm invoke: one loaded model (the reference demo model, 64-token ticket)
# under wrk (Lua POST body) and under modelmux-loadgen (closed loop), with the
# server's CPU time per request, then an open-loop sweep of offered load
# (fractions of the closed-loop maximum) for latency against load, plotted
# with gnuplot. Baselines in the same run: the raw libtorch forward of the same
# model and nginx `return 200` under the same wrk, giving
#   ideal = 1 / (1/nginx_rps + raw forward seconds).
# Writes $BENCH_OUT/warm-invoke.{md,json,png} and raw/warm-invoke/.
# Closed-loop runs: BENCH_REPS rounds (3), the median-throughput one reported.
# Env: WARM_CONNECTIONS (32), WARM_SECONDS (10), WARM_SWEEP_SECONDS (8), BENCH_REPS (3),
#      WARM_SWEEP (fractions of the maximum: "0.1 0.25 0.5 0.75 0.9 1.0 1.2").
source "$(dirname "$0")/lib/common.sh"
need_bins modelmux modelmux-loadgen modelmux-bench-raw
command -v wrk > /dev/null || die "wrk is missing (scripts/install-deps)"
command -v gnuplot > /dev/null || die "gnuplot is missing (scripts/install-deps)"
conns="${WARM_CONNECTIONS:-32}" secs="${WARM_SECONDS:-10}" sweep_secs="${WARM_SWEEP_SECONDS:-8}"
fractions="${WARM_SWEEP:-0.1 0.25 0.5 0.75 0.9 1.0 1.2}"
raw="$BENCH_RAW/warm-invoke"; mkdir -p "$raw"
ref_store
model="${REF_MODELS[0]}"

log "warm-invoke: raw forward baseline"
"$BIN/modelmux-bench-raw" --seconds 5 --json "$REF_STORE/$model" > "$raw/raw-forward.json"
raw_us=$(json_get "$raw/raw-forward.json" "d['forward']['wall_us_per_call']")
raw_cpu_us=$(json_get "$raw/raw-forward.json" "d['forward']['cpu_us_per_call']")

log "warm-invoke: nginx baseline"
start_nginx
wrk -t1 -c"$conns" -d2s "http://127.0.0.1:$NGINX_PORT/" > /dev/null
nginx_all=()
for ((rep = 1; rep <= REPS; rep++)); do
  wrk -t1 -c"$conns" -d"${secs}s" --latency "http://127.0.0.1:$NGINX_PORT/" > "$raw/nginx-wrk-$rep.txt"
  nginx_all+=("$(wrk_rps "$raw/nginx-wrk-$rep.txt")")
done
nginx_rps="${nginx_all[$(median_index "${nginx_all[@]}")]}"
ideal=$(calc "1 / (1 / $nginx_rps + $raw_us / 1e6)")

start_server "$raw/modelmux.log" --store "$REF_STORE"
port="$SERVER_PORT"
# loadgen's default ticket (request_builder.h): 64 words.
body=$(python3 -c 'import json; print(json.dumps({"text": " ".join(["driver never arrived and I was still charged twice for the same ride please refund me"] * 4), "top_k": 3}))')
curl -sf "http://127.0.0.1:$port/models/$model/invoke" -H 'Content-Type: application/json' -d "$body" > "$raw/first-response.json" \
  || die "the first invoke failed"
lua="$raw/invoke.lua"
python3 - "$body" > "$lua" <<'PY'
import json, sys
print('wrk.method = "POST"')
print('wrk.headers["Content-Type"] = "application/json"')
print('wrk.body = ' + json.dumps(sys.argv[1]))
PY

declare -A R
# run_cpu NAME CMD...: runs CMD, records server CPU seconds used during it.
run_cpu() {
  local name="$1"; shift
  local c0 c1; c0=$(cpu_seconds "$SERVER_PID"); "$@"; c1=$(cpu_seconds "$SERVER_PID")
  R[$name-cpu]=$(calc "$c1 - $c0")
}
url="http://127.0.0.1:$port/models/$model/invoke"
lg=("$LOADGEN" --port "$port" -m "$model")
wrk -t1 -c"$conns" -d2s -s "$lua" "$url" > /dev/null
wrk_all=() lg_all=()
for ((rep = 1; rep <= REPS; rep++)); do
  log "warm-invoke: wrk and modelmux-loadgen, run $rep of $REPS"
  run_cpu wrk-$rep wrk -t1 -c"$conns" -d"${secs}s" --latency -s "$lua" "$url" > "$raw/modelmux-wrk-$rep.txt"
  wrk_all+=("$(wrk_rps "$raw/modelmux-wrk-$rep.txt")")
  run_cpu lg-$rep "${lg[@]}" -c "$conns" -d "$secs" --warmup 1 --json > "$raw/modelmux-loadgen-$rep.json"
  lg_all+=("$(json_get "$raw/modelmux-loadgen-$rep.json" "d['throughput_rps']")")
done
w=$(( $(median_index "${wrk_all[@]}") + 1 )) g=$(( $(median_index "${lg_all[@]}") + 1 ))
cp "$raw/modelmux-wrk-$w.txt" "$raw/modelmux-wrk.txt"; cp "$raw/modelmux-loadgen-$g.json" "$raw/modelmux-loadgen.json"
R[wrk-cpu]=${R[wrk-$w-cpu]} R[lg-cpu]=${R[lg-$g-cpu]}
R[wrk-n]=$(awk '/requests in/ {print $1}' "$raw/modelmux-wrk.txt")
R[wrk-rps]=$(wrk_rps "$raw/modelmux-wrk.txt")
R[wrk-err]=$(wrk_non2xx "$raw/modelmux-wrk.txt")
# The warm-up second is in the CPU window too: count its requests.
R[lg-rps]=$(json_get "$raw/modelmux-loadgen.json" "d['throughput_rps']")
R[lg-n]=$(calc "$(json_get "$raw/modelmux-loadgen.json" "d['completed']") * ($secs + 1) / $secs")
R[lg-err]=$(json_get "$raw/modelmux-loadgen.json" "d['error_count']")
max_rps="${R[lg-rps]}"

log "warm-invoke: open-loop sweep up to $(fmt "$max_rps" .0f) req/s"
dat="$raw/sweep.dat"
echo "# fraction offered_rps achieved_rps p50_us p90_us p99_us p999_us errors nginx_p50_us nginx_p99_us" > "$dat"
sweep_rows=()
for f in $fractions; do
  rate=$(calc "round($max_rps * $f, 1)")
  out="$raw/sweep-$f.json"
  "${lg[@]}" -c 64 -d "$sweep_secs" --warmup 1 --rate "$rate" --drain 5 --json > "$out"
  # The same open loop against nginx: the floor of this machine and client.
  "$LOADGEN" --port "$NGINX_PORT" --route ping -c 64 -d "$sweep_secs" --warmup 1 --rate "$rate" --drain 5 --json > "$raw/sweep-nginx-$f.json"
  line=$(json_get "$out" "'%s %.1f %.1f %.1f %.1f %.1f %.1f %d' % ('$f', d['offered_rps'], d['throughput_rps'], d['latency_us']['p50'], d['latency_us']['p90'], d['latency_us']['p99'], d['latency_us']['p99.9'], d['error_count'])")
  line="$line $(json_get "$raw/sweep-nginx-$f.json" "'%.1f %.1f' % (d['latency_us']['p50'], d['latency_us']['p99'])")"
  echo "$line" >> "$dat"
  read -r _ off ach p50 p90 p99 p999 err np50 np99 <<< "$line"
  sweep_rows+=("| $f | $(fmt "$off" .0f) | $(fmt "$ach" .0f) | $(fmt "$p50" .0f) | $(fmt "$p90" .0f) | $(fmt "$p99" .0f) | $(fmt "$p999" .0f) | $err | $(fmt "$np50" .0f) / $(fmt "$np99" .0f) |")
  [ "$f" = 0.5 ] && R[half-p99]=$p99 && R[half-nginx-p99]=$np99
done
stop_pid "$SERVER_PID"; stop_pid "$NGINX_PID"

gnuplot <<GNUPLOT
set terminal pngcairo size 900,560 font "sans,11"
set output "$BENCH_OUT/warm-invoke.png"
set title "modelmux warm invoke: latency against offered load (open loop, Poisson; one model, 64 tokens)"
set xlabel "offered load (requests/s)"
set ylabel "latency from intended send time (µs)"
set logscale y
set grid
set key top left
plot "$dat" using 2:4 with linespoints lw 2 title "p50", \
     "$dat" using 2:5 with linespoints lw 2 title "p90", \
     "$dat" using 2:6 with linespoints lw 2 title "p99", \
     "$dat" using 2:7 with linespoints lw 2 title "p99.9", \
     "$dat" using 2:10 with linespoints lw 1 dt 2 title "nginx /ping p99, same open loop"
GNUPLOT

cpu_wrk=$(calc "${R[wrk-cpu]} * 1e6 / ${R[wrk-n]}")
cpu_lg=$(calc "${R[lg-cpu]} * 1e6 / ${R[lg-n]}")
ratio_wrk=$(calc "round(${R[wrk-rps]} / $ideal, 3)")
ratio_lg=$(calc "round(${R[lg-rps]} / $ideal, 3)")
cat > "$BENCH_OUT/warm-invoke.json" <<JSON
{"raw_forward_us": $raw_us, "raw_forward_cpu_us": $raw_cpu_us, "nginx_rps": $nginx_rps, "ideal_rps": $ideal,
 "wrk_rps": ${R[wrk-rps]}, "loadgen_rps": ${R[lg-rps]}, "ratio_wrk": $ratio_wrk, "ratio_loadgen": $ratio_lg,
 "server_cpu_us_per_req_wrk": $cpu_wrk, "server_cpu_us_per_req_loadgen": $cpu_lg,
 "p99_us_at_half_max": ${R[half-p99]:-null}, "nginx_p99_us_at_half_max": ${R[half-nginx-p99]:-null}, "max_rps": $max_rps}
JSON
{
  echo "### Warm invoke (bench/warm-invoke.sh)"
  echo
  header_md
  echo
  echo "One loaded model (\`$model\`, the default demo size), \`POST /models/{m}/invoke\` with a 64-word ticket, $conns keep-alive connections."
  echo
  echo "| measure | value |"
  echo "| --- | --- |"
  echo "| raw forward, µs per call (wall / CPU) | $(fmt "$raw_us" .1f) / $(fmt "$raw_cpu_us" .1f) |"
  echo "| nginx \`return 200\`, wrk req/s (median; every run) | $(fmt "$nginx_rps" .0f); $(printf '%.0f/' "${nginx_all[@]}" | sed 's:/$::') |"
  echo "| ideal = 1 / (1/nginx + raw forward), req/s | $(fmt "$ideal" .0f) |"
  echo "| modelmux under wrk: req/s (non-2xx); every run | $(fmt "${R[wrk-rps]}" .0f) (${R[wrk-err]}); $(printf '%.0f/' "${wrk_all[@]}" | sed 's:/$::') |"
  echo "| modelmux under wrk: p50 / p99 µs | $(wrk_latency_us "$raw/modelmux-wrk.txt" 50) / $(wrk_latency_us "$raw/modelmux-wrk.txt" 99) |"
  echo "| modelmux under loadgen: req/s (errors); every run | $(fmt "${R[lg-rps]}" .0f) (${R[lg-err]}); $(printf '%.0f/' "${lg_all[@]}" | sed 's:/$::') |"
  echo "| modelmux under loadgen: p50 / p99 µs | $(json_get "$raw/modelmux-loadgen.json" "'%.0f / %.0f' % (d['latency_us']['p50'], d['latency_us']['p99'])") |"
  echo "| **throughput / ideal** (target ≥ 0.7) | **$ratio_wrk** (wrk), **$ratio_lg** (loadgen) |"
  echo "| **server CPU µs per request** (target ≤ raw CPU + 15 = $(fmt "$raw_cpu_us + 15" .1f)) | **$(fmt "$cpu_wrk" .1f)** (wrk), **$(fmt "$cpu_lg" .1f)** (loadgen) |"
  echo "| **p99 at half the maximum throughput** (target ≤ 1,000 µs) | **$(fmt "${R[half-p99]:-0}" .0f) µs** (nginx \`/ping\` in the same open loop: $(fmt "${R[half-nginx-p99]:-0}" .0f) µs) |"
  echo
  echo "Open-loop sweep (\`modelmux-loadgen --rate R -c 64 -d $sweep_secs --warmup 1\`, Poisson arrivals, latency from the intended send time; maximum = the closed-loop loadgen throughput):"
  echo
  echo "| fraction of max | offered req/s | achieved req/s | p50 µs | p90 µs | p99 µs | p99.9 µs | errors | nginx p50 / p99 µs at the same rate |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  printf '%s\n' "${sweep_rows[@]}"
  echo
  echo "![latency against offered load](warm-invoke.png)"
  echo
  echo "Each closed-loop figure is the median-throughput run of $REPS (BENCH_REPS). Commands: \`modelmux-bench-raw --seconds 5 <model dir>\`; \`wrk -t1 -c$conns -d${secs}s --latency\` on nginx and on modelmux with \`-s invoke.lua\` (POST body); \`modelmux-loadgen -m $model -c $conns -d $secs --warmup 1\`. Server CPU = utime + stime of the server pid from /proc over each run / requests in it."
} > "$BENCH_OUT/warm-invoke.md"
cat "$BENCH_OUT/warm-invoke.md"
