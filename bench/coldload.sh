#!/usr/bin/env bash
# coldload: a local cold load of a TorchScript model against the cost of its
# bytes (issue 15), for the 8 MB and 50 MB demo artifacts (the sizes of
# bench/s3/cold_start.py), in one process per size: the byte floor (model.pt
# read from the page cache into memory already faulted in), torch::jit::load,
# the backend's module loader, the loader with freezing, the backend's whole
# Load, and the warm forward of one text before and after freezing. See
# bench/coldload/coldload.cc for what each step times.
# Runs the tool COLDLOAD_RUNS times (fresh processes) and reports, per step,
# the median of the runs' medians. Writes $BENCH_OUT/coldload.{md,json}.
# Env: COLDLOAD_RUNS (3), COLDLOAD_ROUNDS (60), COLDLOAD_FORWARD_CALLS (50000).
source "$(dirname "$0")/lib/common.sh"
need_bins modelmux-bench-coldload modelmux-make-store
raw="$BENCH_RAW/coldload"; mkdir -p "$raw"
rounds="${COLDLOAD_ROUNDS:-60}"
calls="${COLDLOAD_FORWARD_CALLS:-50000}"
runs="${COLDLOAD_RUNS:-3}"

declare -A flags=([8MB]="--vocab 32768 --dim 64" [50MB]="--vocab 131072 --dim 96")
dirs=()
for size in 8MB 50MB; do
  store="$BENCH_WORK/coldload-$size"
  if [ ! -f "$store/.complete" ]; then
    rm -rf "$store"
    log "coldload: generating the $size demo tenant"
    # shellcheck disable=SC2086
    "$BIN/modelmux-make-store" --tenants 1 --seed 42 --out "$store" ${flags[$size]} > "$raw/make-store-$size.log" 2>&1
    touch "$store/.complete"
  fi
  dirs+=("$(find "$store" -mindepth 1 -maxdepth 1 -type d ! -name '_*' | head -1)")
done

cmd=("$BIN/modelmux-bench-coldload" --rounds "$rounds" --forward-calls "$calls" "${dirs[@]}")
for ((run = 1; run <= runs; run++)); do
  log "coldload: run $run of $runs: ${cmd[*]##*/}"
  "${cmd[@]}" > "$raw/bench-coldload-$run.json"
done

# Per model and step: the median of the runs' medians.
python3 - "$raw" "$runs" > "$BENCH_OUT/coldload.json" <<'PY'
import json, statistics, sys
raw, n = sys.argv[1], int(sys.argv[2])
runs = [json.load(open(f"{raw}/bench-coldload-{i}.json")) for i in range(1, n + 1)]
merged = []
for models in zip(*runs):
    m = dict(models[0])
    for key in ("median_us", "forward_us"):
        m[key] = {k: statistics.median(r[key][k] for r in models) for k in models[0][key]}
    m["max_abs_diff_in_place"] = max(r["max_abs_diff_in_place"] for r in models)
    m["max_abs_diff_frozen"] = max(r["max_abs_diff_frozen"] for r in models)
    m["ratio_to_floor"] = {k: v / m["median_us"]["floor_all_files" if k.startswith("backend") else "floor"]
                           for k, v in m["median_us"].items()}
    m["runs"] = n
    merged.append(m)
print(json.dumps(merged, indent=2))
PY

python3 - "$BENCH_OUT/coldload.json" "$rounds" "$calls" > "$raw/tables.md" <<'PY'
import json, sys
runs = json.load(open(sys.argv[1]))
rounds, calls = sys.argv[2], sys.argv[3]
rows = [
    ("floor: model.pt from the page cache into memory already faulted in", "floor", None),
    ("floor, fresh memory: the same into new memory (malloc, read, free)", "floor_fresh", None),
    ("floor, fresh huge pages: the same into a new mapping advised MADV_HUGEPAGE", "floor_huge_pages", None),
    ("(b) torch::jit::load + eval (the backend before)", "jit_load", "jit_load_forward"),
    ("(c) module loader, code shared: one read into a huge-page buffer, tensors in place", "loader", "loader_forward"),
    ("(c') module loader, first model of its code: the same, its code compiled", "loader_first", None),
    ("(d) (c') + torch::jit::freeze + optimize_for_inference (each model compiled for itself)", "freeze", "freeze_forward"),
]
sizes = [f"{r['model_pt_bytes'] / 1e6:.1f} MB" for r in runs]
print("| step | " + " | ".join(f"{s}: median | × floor | with 1st forward" for s in sizes) + " |")
print("| --- |" + " --- | --- | --- |" * len(runs))
for label, key, fwd in rows:
    cells = []
    for r in runs:
        m, q = r["median_us"], r["ratio_to_floor"]
        cells += [f"{m[key] / 1e3:.2f} ms", f"{q[key]:.2f} ×", f"{m[fwd] / 1e3:.2f} ms ({q[fwd]:.2f} ×)" if fwd else ""]
    print(f"| {label} | " + " | ".join(cells) + " |")
print()
print("| backend Load (module + vocabulary + labels + warm-up) | " +
      " | ".join(f"{s}: median | × all files' floor" for s in sizes) + " |")
print("| --- |" + " --- | --- |" * len(runs))
for label, key in [("floor: all of the artifact's files from the page cache", "floor_all_files"),
                   ("default (code shared with a live model of the same code)", "backend_load"),
                   ("with freezing (`--torchscript-freeze`)", "backend_load_freeze"),
                   ("of which outside libtorch: the tokenizer built from vocab.txt (on a thread of its own)", "tokenizer")]:
    cells = []
    for r in runs:
        m = r["median_us"]
        cells += [f"{m[key] / 1e3:.2f} ms", f"{m[key] / m['floor_all_files']:.2f} ×"]
    print(f"| {label} | " + " | ".join(cells) + " |")
print()
print("| warm forward of one text, median µs | " + " | ".join(sizes) + " |")
print("| --- |" + " --- |" * len(runs))
print("| unfrozen | " + " | ".join(f"{r['forward_us']['plain']:.1f}" for r in runs) + " |")
print("| frozen + optimised | " + " | ".join(f"{r['forward_us']['frozen']:.1f}" for r in runs) + " |")
print("| saved per call | " + " | ".join(f"{r['forward_us']['plain'] - r['forward_us']['frozen']:.1f}" for r in runs) + " |")
print()
print("Outputs against torch::jit::load's, largest absolute difference: in place " +
      ", ".join(f"{r['max_abs_diff_in_place']:g}" for r in runs) + "; frozen " +
      ", ".join(f"{r['max_abs_diff_frozen']:g}" for r in runs) + f". Tokens per text: {runs[0]['tokens']}.")
PY
{
  echo "### Local loads against the byte floor (bench/coldload.sh)"
  echo
  header_md
  echo
  cat "$raw/tables.md"
  echo
  echo "Command: \`bench/coldload.sh\` (\`modelmux-bench-coldload --rounds $rounds --forward-calls $calls <8 MB dir> <50 MB dir>\`, $runs processes; per step the median of the processes' medians of $rounds rounds, steps interleaved within a round)."
} > "$BENCH_OUT/coldload.md"
cat "$BENCH_OUT/coldload.md"
