#!/usr/bin/env bash
# raw: the model's own cost, in-process with nothing around it.
#   forward: libtorch forward of the reference model (the default demo model,
#            64 tokens) on one thread, microseconds per call (wall and CPU);
#   load:    torch::jit::load + first forward of the same-size models, ms.
# Writes $BENCH_OUT/raw.{md,json}. Env: RAW_SECONDS (5).
source "$(dirname "$0")/lib/common.sh"
need_bins modelmux-bench-raw modelmux-make-store
ref_store
raw="$BENCH_RAW/raw"; mkdir -p "$raw"
dirs=()
for m in "${REF_MODELS[@]:0:11}"; do dirs+=("$REF_STORE/$m"); done
cmd=("$BIN/modelmux-bench-raw" --seconds "${RAW_SECONDS:-5}" --json "${dirs[@]}")
log "raw: ${cmd[*]##*/}"
"${cmd[@]}" > "$BENCH_OUT/raw.json"
cp "$BENCH_OUT/raw.json" "$raw/bench-raw.json"
j="$BENCH_OUT/raw.json"
{
  echo "### Raw libtorch (bench/raw.sh)"
  echo
  header_md
  echo
  echo "| measure | value |"
  echo "| --- | --- |"
  echo "| forward, wall µs per call (mean) | $(json_get "$j" "'%.1f' % d['forward']['wall_us_per_call']") |"
  echo "| forward, CPU µs per call | $(json_get "$j" "'%.1f' % d['forward']['cpu_us_per_call']") |"
  echo "| forward p50 / p99 µs | $(json_get "$j" "'%.1f / %.1f' % (d['forward']['p50_us'], d['forward']['p99_us'])") |"
  echo "| forward calls per second (one thread) | $(json_get "$j" "'%.0f' % d['forward']['calls_per_second']") |"
  echo "| tokens per call | $(json_get "$j" "d['forward']['tokens']") |"
  echo "| torch::jit::load, ms (mean of $(json_get "$j" "d['load']['models']")) | $(json_get "$j" "'%.1f' % d['load']['load_ms_mean']") |"
  echo "| load + first forward, ms (mean / p50 / max) | $(json_get "$j" "'%.1f / %.1f / %.1f' % (d['load']['load_first_forward_ms_mean'], d['load']['load_first_forward_ms_p50'], d['load']['load_first_forward_ms_max'])") |"
  echo
  echo "Model: the default demo tenant (\`modelmux-make-store\` defaults: vocab 32768 × dim 64, $(du -sh --apparent-size "${dirs[0]}" | cut -f1) on disk). Command: \`modelmux-bench-raw --seconds ${RAW_SECONDS:-5} --json <11 model dirs>\` (the first model is the forward one and the untimed first load)."
} > "$BENCH_OUT/raw.md"
cat "$BENCH_OUT/raw.md"
