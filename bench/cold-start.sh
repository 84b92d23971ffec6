#!/usr/bin/env bash
# cold start: the first invoke of COLD_MODELS (50) distinct unloaded models,
# one at a time (modelmux-loadgen --pick sequential -c 1), against the raw
# torch::jit::load + first forward of the same files in one process
# (modelmux-bench-raw). Both first load one other model untimed, so neither
# pays libtorch's one-time start-up in the numbers.
# Writes $BENCH_OUT/cold-start.{md,json} and raw/cold-start/.
source "$(dirname "$0")/lib/common.sh"
need_bins modelmux modelmux-loadgen modelmux-bench-raw
n="${COLD_MODELS:-50}"
raw="$BENCH_OUT/raw/cold-start"; mkdir -p "$raw"
ref_store
[ "${#REF_MODELS[@]}" -gt "$n" ] || die "the reference store has ${#REF_MODELS[@]} models; cold start needs $((n + 1)) (BENCH_REF_TENANTS)"
first="${REF_MODELS[0]}"
cold=("${REF_MODELS[@]:1:$n}")
printf '%s\n' "${cold[@]}" > "$raw/models.txt"

log "cold-start: raw load + first forward of $n models"
dirs=("$REF_STORE/$first")
for m in "${cold[@]}"; do dirs+=("$REF_STORE/$m"); done
"$BIN/modelmux-bench-raw" --no-forward --json "${dirs[@]}" > "$raw/raw-load.json"

log "cold-start: modelmux first invokes"
start_server "$raw/modelmux.log" --store "$REF_STORE"
"$LOADGEN" --port "$SERVER_PORT" -m "$first" -n 1 -c 1 > /dev/null
s0=$(metric "$SERVER_PORT" modelmux_model_load_seconds_sum)
"$LOADGEN" --port "$SERVER_PORT" --models-file "$raw/models.txt" --pick sequential -n "$n" -c 1 \
  -d 600 --json > "$raw/modelmux-cold.json"
s1=$(metric "$SERVER_PORT" modelmux_model_load_seconds_sum)
loaded=$(metric "$SERVER_PORT" modelmux_loaded_models)
stop_pid "$SERVER_PID"

r="$raw/raw-load.json" s="$raw/modelmux-cold.json"
raw_mean=$(json_get "$r" "d['load']['load_first_forward_ms_mean']")
srv_mean=$(json_get "$s" "d['latency_us']['mean'] / 1e3")
srv_load=$(calc "($s1 - $s0) * 1e3 / $n")
ratio=$(calc "round($srv_mean / $raw_mean, 3)")
# Medians too: one stall of the shared machine moves a mean of 50 by a lot.
ratio_p50=$(calc "round($(json_get "$s" "d['latency_us']['p50'] / 1e3") / $(json_get "$r" "d['load']['load_first_forward_ms_p50']"), 3)")
errors=$(json_get "$s" "d['error_count']")
cat > "$BENCH_OUT/cold-start.json" <<JSON
{"models": $n, "raw_load_first_forward_ms": $raw_mean, "modelmux_first_invoke_ms": $srv_mean,
 "modelmux_load_seconds_metric_ms": $srv_load, "ratio": $ratio, "ratio_p50": $ratio_p50, "errors": $errors}
JSON
{
  echo "### Cold start (bench/cold-start.sh)"
  echo
  header_md
  echo
  echo "$n distinct models of the default demo size ($(du -sh --apparent-size "$REF_STORE/$first" | cut -f1) each), each invoked once, one at a time."
  echo
  echo "| | mean ms | p50 ms | p90 ms | max ms |"
  echo "| --- | --- | --- | --- | --- |"
  echo "| raw: torch::jit::load + first forward | $(json_get "$r" "'%.1f | %.1f | %.1f | %.1f' % (d['load']['load_first_forward_ms_mean'], d['load']['load_first_forward_ms_p50'], d['load']['load_first_forward_ms_p90'], d['load']['load_first_forward_ms_max'])") |"
  echo "| modelmux: first invoke (HTTP round trip) | $(json_get "$s" "'%.1f | %.1f | %.1f | %.1f' % (d['latency_us']['mean'] / 1e3, d['latency_us']['p50'] / 1e3, d['latency_us']['p90'] / 1e3, d['latency_us']['max'] / 1e3)") |"
  echo
  echo "**modelmux first invoke / raw load + first forward: $ratio of the means, $ratio_p50 of the medians** (target ≤ 1.25). Errors: $errors; models loaded at the end: $(fmt "$loaded" .0f). The server's own \`modelmux_model_load_seconds\` (fetch + deserialize + warm-up) averaged $(fmt "$srv_load" .1f) ms per model."
  echo
  echo "Commands: \`modelmux-bench-raw --no-forward <first> <$n models>\`; \`modelmux --store <ref store>\`, one untimed invoke of the first model, then \`modelmux-loadgen --models-file models.txt --pick sequential -n $n -c 1\`."
} > "$BENCH_OUT/cold-start.md"
cat "$BENCH_OUT/cold-start.md"
