#!/usr/bin/env bash
# density: load 2,000 models (lazily, by invoking each once, two connections
# so two loads run at a time) and record the server's thread count and RSS at
# 0, 1, 100, 1,000 and 2,000 loaded, against the sum of the loaded artifacts'
# sizes (the baseline: target RSS <= 1.15 x artifacts + 300 MB, and the same
# thread count at 1 and 2,000).
# The store: bench/lib/common.sh many_store (2,000 hard-linked copies of 8
# small generated tenants). Writes $BENCH_OUT/density.{md,json} and raw/density/.
# Env: DENSITY_STEPS ("1 100 1000 2000"), DENSITY_BUDGET (20G).
source "$(dirname "$0")/lib/common.sh"
need_bins modelmux modelmux-loadgen modelmux-make-store
steps="${DENSITY_STEPS:-1 100 1000 2000}"
raw="$BENCH_RAW/density"; mkdir -p "$raw"
many_store

start_server "$raw/modelmux.log" --store "$MANY_STORE" --memory-budget "${DENSITY_BUDGET:-20G}"
port="$SERVER_PORT"
rows=()
json="["
row() {  # row LOADED SECONDS
  local art rss thr used limit ok
  sleep 1  # let the last loads' buffers settle
  art=$(many_bytes "$1"); rss=$(status_kb "$SERVER_PID" VmRSS); thr=$(threads_of "$SERVER_PID")
  used=$(metric "$port" modelmux_memory_used_bytes)
  limit=$(calc "1.15 * $art / 1048576 + 300")
  ok=$(calc "'yes' if $rss / 1024 <= $limit else 'no'")
  rows+=("| $1 | $(fmt "$(metric "$port" modelmux_loaded_models)" .0f) | $thr | $(calc "round($rss / 1024)") | $(calc "round($art / 1048576)") | $(calc "round($used / 1048576)") | $(fmt "$limit" .0f) | $ok | $2 |")
  json+="{\"loaded\": $1, \"threads\": $thr, \"rss_mb\": $(calc "round($rss / 1024, 1)"), \"artifacts_mb\": $(calc "round($art / 1048576, 1)"), \"limit_mb\": $(fmt "$limit" .1f)},"
  eval "threads_at_$1=$thr"
}
row 0 -
done_n=0
for k in $steps; do
  log "density: loading models $done_n..$((k - 1))"
  models_file "$done_n" "$((k - done_n))" "$raw/batch.txt"
  t0=$(date +%s.%N)
  "$LOADGEN" --port "$port" --models-file "$raw/batch.txt" --pick sequential -n "$((k - done_n))" -c 2 \
    -d 3600 --json > "$raw/load-to-$k.json"
  t1=$(date +%s.%N)
  [ "$(json_get "$raw/load-to-$k.json" "d['error_count']")" = 0 ] || die "errors while loading (see $raw/load-to-$k.json)"
  done_n=$k
  row "$k" "$(calc "round($t1 - $t0, 1)")"
done
stop_pid "$SERVER_PID"
echo "${json%,}]" > "$BENCH_OUT/density.json"
first_step=${steps%% *}; last_step=${steps##* }
t_first=$(eval echo "\$threads_at_$first_step"); t_last=$(eval echo "\$threads_at_$last_step")
{
  echo "### Density (bench/density.sh)"
  echo
  header_md
  echo
  echo "| models invoked | loaded | threads | RSS MiB | artifacts MiB | charged MiB | limit MiB (1.15 × artifacts + 300) | RSS within limit | seconds to load this step |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  printf '%s\n' "${rows[@]}"
  echo
  echo "**Threads at $first_step loaded: $t_first; at $last_step: $t_last** (target: identical)."
  echo
  echo "Models: $MANY_DISTINCT generated tenants (\`modelmux-make-store --vocab 8192 --dim 64\`, $(awk 'NR == 1 || $2 < lo {lo = $2} $2 > hi {hi = $2} END {printf "%.2f-%.2f", lo / 1048576, hi / 1048576}' "$BENCH_WORK/many-sizes.txt") MiB each) hard-linked under the names m0000..m$(printf '%04d' $((${BENCH_MANY_MODELS:-2000} - 1))). Artifacts = the sum of the loaded models' file sizes; charged = \`modelmux_memory_used_bytes\`. Commands: \`modelmux --store <many store> --memory-budget ${DENSITY_BUDGET:-20G}\`; per step \`modelmux-loadgen --models-file <next names> --pick sequential -n <count> -c 2\`; threads and RSS from /proc/<pid>/status."
} > "$BENCH_OUT/density.md"
cat "$BENCH_OUT/density.md"
