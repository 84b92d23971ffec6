#!/usr/bin/env bash
# churn: 2,000 models in the store, a memory budget that holds 200 of them,
# Zipf(1.0) popularity (m0000 the most popular) in an open loop (Poisson) at
# CHURN_RATE: cache hit ratio, loads per second, latency, errors, and the
# server's peak RSS (VmHWM) against the budget.
# The store: bench/lib/common.sh many_store (hard-linked copies of 8 small
# generated tenants under 2,000 names). The budget is 200 x the bytes the
# server charges per model, measured by loading the 8 distinct ones first.
# Writes $BENCH_OUT/churn.{md,json} and raw/churn/.
# Env: CHURN_RATE (200 req/s), CHURN_WARMUP (30 s), CHURN_SECONDS (90 s),
#      CHURN_RESIDENT (200), BENCH_MANY_MODELS (2000).
source "$(dirname "$0")/lib/common.sh"
need_bins modelmux modelmux-loadgen modelmux-make-store
rate="${CHURN_RATE:-200}" warm="${CHURN_WARMUP:-30}" secs="${CHURN_SECONDS:-90}" resident="${CHURN_RESIDENT:-200}"
raw="$BENCH_RAW/churn"; mkdir -p "$raw"
many_store
total="${BENCH_MANY_MODELS:-2000}"
models_file 0 "$total" "$raw/models.txt"

log "churn: measuring the bytes charged per model"
start_server "$raw/modelmux-probe.log" --store "$MANY_STORE"
models_file 0 "$MANY_DISTINCT" "$raw/distinct.txt"
"$LOADGEN" --port "$SERVER_PORT" --models-file "$raw/distinct.txt" --pick sequential -n "$MANY_DISTINCT" -c 1 > /dev/null
per_model=$(calc "int($(metric "$SERVER_PORT" modelmux_memory_used_bytes) / $MANY_DISTINCT)")
stop_pid "$SERVER_PID"
budget=$(calc "int($per_model * ($resident + 0.5))")

log "churn: budget $budget bytes ($resident x $per_model), Zipf(1.0) over $total models at $rate req/s"
start_server "$raw/modelmux.log" --store "$MANY_STORE" --memory-budget "$budget"
port="$SERVER_PORT"
lg=("$LOADGEN" --port "$port" --models-file "$raw/models.txt" --pick zipf --zipf-s 1.0 --rate "$rate" -c 64 --json)
"${lg[@]}" -d "$warm" --seed 1 > "$raw/warmup.json"
h0=$(metric "$port" modelmux_model_cache_hits_total); m0=$(metric "$port" modelmux_model_cache_misses_total)
l0=$(metric "$port" modelmux_model_load_seconds_count); e0=$(metric "$port" modelmux_evictions_total)
"${lg[@]}" -d "$secs" --seed 2 > "$raw/measured.json"
h1=$(metric "$port" modelmux_model_cache_hits_total); m1=$(metric "$port" modelmux_model_cache_misses_total)
l1=$(metric "$port" modelmux_model_load_seconds_count); e1=$(metric "$port" modelmux_evictions_total)
loaded=$(metric "$port" modelmux_loaded_models); used=$(metric "$port" modelmux_memory_used_bytes)
hwm_kb=$(status_kb "$SERVER_PID" VmHWM); rss_kb=$(status_kb "$SERVER_PID" VmRSS); threads=$(threads_of "$SERVER_PID")
stop_pid "$SERVER_PID"

j="$raw/measured.json"
hit=$(calc "round(($h1 - $h0) / max(1, ($h1 - $h0) + ($m1 - $m0)), 4)")
loads_ps=$(calc "round(($l1 - $l0) / $secs, 1)")
evict_ps=$(calc "round(($e1 - $e0) / $secs, 1)")
errors=$(json_get "$j" "d['error_count']")
peak_mb=$(calc "round($hwm_kb / 1024)")
budget_mb=$(calc "round($budget / 1048576)")
margin_mb=$(calc "round($hwm_kb / 1024 - $budget / 1048576)")
cat > "$BENCH_OUT/churn.json" <<JSON
{"models": $total, "budget_bytes": $budget, "per_model_bytes": $per_model, "rate": $rate,
 "hit_ratio": $hit, "loads_per_second": $loads_ps, "evictions_per_second": $evict_ps,
 "errors": $errors, "peak_rss_mb": $peak_mb, "budget_mb": $budget_mb, "peak_minus_budget_mb": $margin_mb,
 "p50_us": $(json_get "$j" "d['latency_us']['p50']"), "p99_us": $(json_get "$j" "d['latency_us']['p99']")}
JSON
{
  echo "### Churn (bench/churn.sh)"
  echo
  header_md
  echo
  echo "$total models in the store, budget $budget_mb MiB = $resident × $(calc "round($per_model / 1048576, 2)") MiB (the bytes the server charges per model), Zipf(1.0) over the models, Poisson arrivals at $rate req/s, $warm s warm-up then $secs s measured."
  echo
  echo "| measure | value |"
  echo "| --- | --- |"
  echo "| requests ok / errors | $(json_get "$j" "d['ok']") / $errors $(json_get "$j" "'' if not d['errors'] else str(d['errors'])") |"
  echo "| throughput, req/s | $(json_get "$j" "'%.1f' % d['throughput_rps']") |"
  echo "| cache hit ratio | $hit |"
  echo "| loads per second / evictions per second | $loads_ps / $evict_ps |"
  echo "| latency p50 / p90 / p99 / max ms | $(json_get "$j" "'%.2f / %.2f / %.2f / %.1f' % (d['latency_us']['p50'] / 1e3, d['latency_us']['p90'] / 1e3, d['latency_us']['p99'] / 1e3, d['latency_us']['max'] / 1e3)") |"
  echo "| loaded models at the end / memory charged | $(fmt "$loaded" .0f) / $(calc "round($used / 1048576)") MiB |"
  echo "| **peak RSS (VmHWM) vs budget** (target ≤ budget + 300 MB) | **$peak_mb MiB vs $budget_mb MiB: $margin_mb MiB over** |"
  echo "| RSS at the end / threads | $(calc "round($rss_kb / 1024)") MiB / $threads |"
  echo
  echo "Commands: \`modelmux --store <many store> --memory-budget $budget\`; \`modelmux-loadgen --models-file models.txt --pick zipf --zipf-s 1.0 --rate $rate -c 64 -d $warm --seed 1\` (warm-up), then the same with \`-d $secs --seed 2\` (measured). Hit ratio, loads and evictions: deltas of \`modelmux_model_cache_{hits,misses}_total\`, \`modelmux_model_load_seconds_count\` and \`modelmux_evictions_total\` over the measured run."
} > "$BENCH_OUT/churn.md"
cat "$BENCH_OUT/churn.md"
