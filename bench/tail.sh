#!/usr/bin/env bash
# tail: what moves the warm-invoke tail at a fixed open-loop rate. Each
# configuration of the server is started fresh and driven by the same Poisson
# open loop (modelmux-loadgen --rate, latency from the intended send time) on
# one loaded model; nginx `return 200` in the same loop gives this machine's
# floor. TAIL_ROUNDS rounds (3) cycle through every configuration, so a noisy
# spell of the shared machine hits all of them; each row is the median.
# Env: TAIL_RATE (12000 req/s, about half of the 2-core machine's maximum),
# TAIL_SECONDS (8), TAIL_ROUNDS (3), TAIL_CONFIGS (configurations separated by
# ';', each "label|MALLOC_CONF|flags"; default: the four below).
# Writes $BENCH_OUT/tail.{md,json} and raw/tail/.
source "$(dirname "$0")/lib/common.sh"
need_bins modelmux modelmux-loadgen
rate="${TAIL_RATE:-12000}" secs="${TAIL_SECONDS:-8}" rounds="${TAIL_ROUNDS:-3}"
raw="$BENCH_RAW/tail"; mkdir -p "$raw"
ref_store
model="${REF_MODELS[0]}"

# label | MALLOC_CONF added to the binary's own | extra server flags
if [ -n "${TAIL_CONFIGS:-}" ]; then
  mapfile -t configs < <(printf '%s\n' "$TAIL_CONFIGS" | tr ';' '\n')
else
  configs=(
    "default||"
    "--workers 1||--workers 1"
    "jemalloc background purging|background_thread:true,max_background_threads:1|"
    "jemalloc never purges|dirty_decay_ms:-1,muzzy_decay_ms:-1|"
  )
fi

start_nginx
for round in $(seq 1 "$rounds"); do
  for i in "${!configs[@]}"; do
    IFS='|' read -r label conf flags <<< "${configs[$i]}"
    log "tail round $round/$rounds: $label"
    # shellcheck disable=SC2086  # flags are words
    MALLOC_CONF="$conf" start_server "$raw/server-$i-$round.log" --store "$REF_STORE" $flags
    "$LOADGEN" --port "$SERVER_PORT" -m "$model" -n 2000 -c 8 > /dev/null
    c0=$(cpu_seconds "$SERVER_PID")
    "$LOADGEN" --port "$SERVER_PORT" -m "$model" -c 64 -d "$secs" --warmup 1 --rate "$rate" --drain 5 --json \
      > "$raw/config-$i-$round.json"
    c1=$(cpu_seconds "$SERVER_PID")
    # Server CPU per request over the run (warm-up second included on both sides).
    echo "{\"cpu_us_per_request\": $(calc "($c1 - $c0) * 1e6 / $(json_get "$raw/config-$i-$round.json" "d['arrivals']")")}" \
      > "$raw/cpu-$i-$round.json"
    stop_pid "$SERVER_PID"
  done
  log "tail round $round/$rounds: nginx"
  "$LOADGEN" --port "$NGINX_PORT" --route ping -c 64 -d "$secs" --warmup 1 --rate "$rate" --drain 5 --json \
    > "$raw/nginx-$round.json"
done
stop_pid "$NGINX_PID"

labels=(); for c in "${configs[@]}"; do labels+=("${c%%|*}"); done
python3 - "$raw" "$rounds" "$BENCH_OUT/tail.json" "${labels[@]}" > "$raw/summary.md" <<'PY'
import json, statistics, sys
raw, rounds, out, labels = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
def runs(prefix):
    return [json.load(open(f"{raw}/{prefix}-{r}.json")) for r in range(1, rounds + 1)]
rows, result = [], {}
for name, data in [(l, runs(f"config-{i}")) for i, l in enumerate(labels)] + [("nginx `/ping` (the floor)", runs("nginx"))]:
    med = lambda k: statistics.median(d["latency_us"][k] for d in data)
    errors = sum(d["error_count"] for d in data)
    achieved = statistics.median(d["throughput_rps"] for d in data) if "throughput_rps" in data[0] else float("nan")
    p99s = [d["latency_us"]["p99"] for d in data]
    cpu = (statistics.median(json.load(open(f"{raw}/cpu-{labels.index(name)}-{r}.json"))["cpu_us_per_request"]
                             for r in range(1, rounds + 1)) if name in labels else float("nan"))
    result[name] = {"p50_us": med("p50"), "p99_us": med("p99"), "p999_us": med("p99.9"), "errors": errors,
                    "p99_us_every_round": p99s, "server_cpu_us_per_request": cpu}
    rows.append(f"| {name} | {med('p50'):.0f} | {med('p99'):.0f} | {med('p99.9'):.0f} | "
                f"{' / '.join(f'{x:.0f}' for x in p99s)} | {'-' if cpu != cpu else f'{cpu:.0f}'} | {errors} |")
json.dump(result, open(out, "w"), indent=1)
print("| server | p50 µs | p99 µs | p99.9 µs | p99 µs of every round | server CPU µs per request | errors |")
print("| --- | --- | --- | --- | --- | --- | --- |")
print("\n".join(rows))
PY
{
  echo "### Warm-invoke tail at a fixed rate (bench/tail.sh)"
  echo
  header_md
  echo
  echo "One loaded model (\`$model\`), Poisson open loop at $rate req/s, 64 connections, $secs s per run, $rounds rounds cycling through the configurations; medians over the rounds."
  echo
  cat "$raw/summary.md"
  echo
  echo "Commands: \`MALLOC_CONF=<conf> modelmux --store <ref store> [--workers 1]\`; \`modelmux-loadgen -m $model -c 64 -d $secs --warmup 1 --rate $rate --drain 5\`; nginx: the same with \`--route ping\`."
} > "$BENCH_OUT/tail.md"
cat "$BENCH_OUT/tail.md"
