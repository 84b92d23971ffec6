#!/usr/bin/env bash
# backends (issue 14): TorchScript, fastText (.bin and quantized .ftz) and
# XGBoost tenants, each served by modelmux and each against its raw library in
# the same run. The ticket classifiers are trained on the same tenants'
# tickets (same seed, same tenant indexes), so they compare on the same data.
#   raw     modelmux-bench-backends-raw: the library alone, one thread
#   server  bench/backends/server_bench.py: the same models through modelmux
# Per kind: artifact size, cold load, warm request (one text of 64 words, or
# one row) with the server's CPU per request, held-out accuracy or AUC,
# density (models per GiB); XGBoost also rows per second in batches.
# Writes $BENCH_OUT/backends.{md,json} and raw/backends/.
# Env: BACKENDS_TENANTS (6), BACKENDS_SECONDS (4), BACKENDS_ROUNDS (3),
#      BACKENDS_DENSITY (100 copies; XGBoost 4x as many).
source "$(dirname "$0")/lib/common.sh"
need_bins modelmux modelmux-make-store modelmux-loadgen modelmux-bench-backends-raw
tenants="${BACKENDS_TENANTS:-6}"
seconds="${BACKENDS_SECONDS:-4}"
rounds="${BACKENDS_ROUNDS:-3}"
copies="${BACKENDS_DENSITY:-100}"
raw="$BENCH_RAW/backends"; mkdir -p "$raw"
work="$BENCH_WORK/backends-$tenants"
# The loadgen's default ticket (tools/loadgen/request_builder.h): 64 words.
text="$(printf 'driver never arrived and I was still charged twice for the same ride please refund me %.0s' 1 2 3 4)"
text="${text% }"

# make_store KIND FLAGS...: the store of one kind, generated once.
make_store() {
  local kind=$1; shift
  if [ ! -f "$work/$kind/.complete" ]; then
    rm -rf "$work/$kind"
    log "generating $tenants $kind tenants"
    "$BIN/modelmux-make-store" --tenants "$tenants" --seed 42 --out "$work/$kind" "$@" > "$work/$kind.log" 2>&1
    touch "$work/$kind/.complete"
  fi
}
mkdir -p "$work"
make_store torchscript --backends torchscript
make_store fasttext-bin --backends fasttext
make_store fasttext-ftz --backends fasttext --fasttext-quantize
make_store xgboost --backends xgboost

for kind in torchscript fasttext-bin fasttext-ftz xgboost; do
  backend="${kind%%-*}"
  store="$work/$kind"
  dirs=($(cd "$store" && ls -d [A-Za-z0-9]* | sort))
  n="$copies"; [ "$backend" = xgboost ] && n=$((copies * 4))
  log "$kind: raw library"
  "$BIN/modelmux-bench-backends-raw" --backend "$backend" --heldout-dir "$store/_heldout" --text "$text" \
    --seconds "$seconds" --rounds "$rounds" --density-copies "$n" "${dirs[@]/#/$store/}" > "$raw/$kind-raw.json"
  log "$kind: server"
  python3 "$BENCH_DIR/backends/server_bench.py" --bin "$BIN" --store "$store" --backend "$backend" --text "$text" \
    --seconds "$seconds" --rounds "$rounds" --density-copies "$n" > "$raw/$kind-server.json"
done

python3 "$BENCH_DIR/backends/summary.py" "$raw" "$tenants" "$seconds" "$rounds" "$copies" "$(header_md)" \
  "$BENCH_OUT/backends.json" > "$BENCH_OUT/backends.md"
cat "$BENCH_OUT/backends.md"
