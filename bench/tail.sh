#!/usr/bin/env bash
# tail: what moves the warm-invoke tail at a fixed open-loop rate. Each
# configuration of the server is started fresh and driven by the same Poisson
# open loop (modelmux-loadgen --rate, latency from the intended send time) on
# one loaded model; nginx `return 200` in the same loop gives this machine's
# floor. TAIL_ROUNDS rounds (3) cycle through every configuration, so a noisy
# spell of the shared machine hits all of them; each row is the median.
# Env: TAIL_RATE (12000 req/s, about half of the 2-core machine's maximum),
# TAIL_SECONDS (8), TAIL_ROUNDS (3), TAIL_CONFIGS (configurations separated by
# ';', each "label|MALLOC_CONF|flags[|server binary]"; default: the four
# below; a binary path compares another build, e.g. main's, in the same run).
# Besides latency, each run records where the server's time goes: CPU and
# context switches (voluntary: the thread slept and was woken) per request, by
# thread kind (the server names its threads: mm-http-io, mm-worker, mm-timer),
# from /proc/<pid>/task/*/{stat,status} before and after the measured run; and
# each round first times the raw forward of one text (modelmux-bench-raw, the
# same model, one thread) so CPU per request is quoted against it.
# Writes $BENCH_OUT/tail.{md,json} and raw/tail/.
source "$(dirname "$0")/lib/common.sh"
need_bins modelmux modelmux-loadgen modelmux-bench-raw
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

# thread_snapshot PID: "tid comm utime+stime(ticks) voluntary nonvoluntary" per thread.
thread_snapshot() {
  local t
  for t in /proc/"$1"/task/*; do
    printf '%s %s %s %s %s\n' "${t##*/}" "$(tr ' ' _ < "$t/comm")" "$(awk '{print $14 + $15}' "$t/stat")" \
      "$(awk '$1 == "voluntary_ctxt_switches:" {print $2}' "$t/status")" \
      "$(awk '$1 == "nonvoluntary_ctxt_switches:" {print $2}' "$t/status")"
  done 2> /dev/null || true
}

start_nginx
for round in $(seq 1 "$rounds"); do
  log "tail round $round/$rounds: raw forward"
  "$BIN/modelmux-bench-raw" --seconds "${TAIL_RAW_SECONDS:-3}" --json "$REF_STORE/$model" > "$raw/raw-$round.json"
  for i in "${!configs[@]}"; do
    IFS='|' read -r label conf flags server_bin <<< "${configs[$i]}"
    log "tail round $round/$rounds: $label"
    # shellcheck disable=SC2086  # flags are words
    MODELMUX_BIN="${server_bin:-$BIN/modelmux}" MALLOC_CONF="$conf" start_server "$raw/server-$i-$round.log" --store "$REF_STORE" $flags
    "$LOADGEN" --port "$SERVER_PORT" -m "$model" -n 2000 -c 8 > /dev/null
    c0=$(cpu_seconds "$SERVER_PID")
    thread_snapshot "$SERVER_PID" > "$raw/threads-before-$i-$round.txt"
    "$LOADGEN" --port "$SERVER_PORT" -m "$model" -c 64 -d "$secs" --warmup 1 --rate "$rate" --drain 5 --json \
      > "$raw/config-$i-$round.json"
    c1=$(cpu_seconds "$SERVER_PID")
    thread_snapshot "$SERVER_PID" > "$raw/threads-after-$i-$round.txt"
    # Server CPU per request over the run (warm-up second included on both sides).
    echo "{\"cpu_us_per_request\": $(calc "($c1 - $c0) * 1e6 / $(json_get "$raw/config-$i-$round.json" "d['arrivals']")")}" \
      > "$raw/cpu-$i-$round.json"
    stop_pid "$SERVER_PID"
  done
  log "tail round $round/$rounds: nginx"
  n0=$(cpu_seconds_tree "$NGINX_PID")
  "$LOADGEN" --port "$NGINX_PORT" --route ping -c 64 -d "$secs" --warmup 1 --rate "$rate" --drain 5 --json \
    > "$raw/nginx-$round.json"
  n1=$(cpu_seconds_tree "$NGINX_PID")
  echo "{\"cpu_us_per_request\": $(calc "($n1 - $n0) * 1e6 / $(json_get "$raw/nginx-$round.json" "d['arrivals']")")}" \
    > "$raw/nginx-cpu-$round.json"
done
stop_pid "$NGINX_PID"

labels=(); for c in "${configs[@]}"; do labels+=("${c%%|*}"); done
python3 - "$raw" "$rounds" "$BENCH_OUT/tail.json" "$CLK_TCK" "${labels[@]}" > "$raw/summary.md" <<'PY'
import json, statistics, sys
raw, rounds, out, hz, labels = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5:]
R = range(1, rounds + 1)
def runs(prefix):
    return [json.load(open(f"{raw}/{prefix}-{r}.json")) for r in R]
def snapshot(path):
    rows = {}
    for line in open(path):
        f = line.split()
        if len(f) == 5:
            rows[f[0]] = (f[1], int(f[2]), int(f[3]), int(f[4]))
    return rows
KINDS = ["mm-http-io", "mm-worker", "mm-timer"]
def per_thread(i, r, arrivals):
    """CPU µs, voluntary and involuntary switches per request, by thread kind."""
    before, after = snapshot(f"{raw}/threads-before-{i}-{r}.txt"), snapshot(f"{raw}/threads-after-{i}-{r}.txt")
    acc = {}
    for tid, (comm, ticks, vol, nonvol) in after.items():
        b = before.get(tid, (comm, 0, 0, 0))
        kind = comm if comm in KINDS else "other"
        a = acc.setdefault(kind, [0.0, 0.0, 0.0])
        a[0] += (ticks - b[1]) / hz * 1e6 / arrivals
        a[1] += (vol - b[2]) / arrivals
        a[2] += (nonvol - b[3]) / arrivals
    return acc
raw_fwd = [json.load(open(f"{raw}/raw-{r}.json"))["forward"] for r in R]
fwd_cpu = statistics.median(f["cpu_us_per_call"] for f in raw_fwd)
fwd_wall = statistics.median(f["wall_us_per_call"] for f in raw_fwd)
rows, threads, result = [], [], {"raw_forward_cpu_us": fwd_cpu, "raw_forward_wall_us": fwd_wall}
for name, data in [(l, runs(f"config-{i}")) for i, l in enumerate(labels)] + [("nginx `/ping` (the floor)", runs("nginx"))]:
    med = lambda k: statistics.median(d["latency_us"][k] for d in data)
    errors = sum(d["error_count"] for d in data)
    p99s = [d["latency_us"]["p99"] for d in data]
    entry = {"p50_us": med("p50"), "p99_us": med("p99"), "p999_us": med("p99.9"), "errors": errors,
             "p99_us_every_round": p99s}
    cpu_cell = ratio_cell = "-"
    if name not in labels:  # nginx: its CPU per `return 200`, the HTTP floor
        cpu = statistics.median(json.load(open(f"{raw}/nginx-cpu-{r}.json"))["cpu_us_per_request"] for r in R)
        entry["server_cpu_us_per_request"] = cpu
        cpu_cell = f"{cpu:.0f}"
    if name in labels:
        i = labels.index(name)
        cpu = statistics.median(json.load(open(f"{raw}/cpu-{i}-{r}.json"))["cpu_us_per_request"] for r in R)
        entry["server_cpu_us_per_request"] = cpu
        entry["cpu_over_raw_forward"] = cpu / fwd_cpu
        cpu_cell, ratio_cell = f"{cpu:.0f}", f"{cpu / fwd_cpu:.2f} ×"
        accs = [per_thread(i, r, data[r - 1]["arrivals"]) for r in R]
        kinds = KINDS + ["other"]
        m = {k: [statistics.median(a.get(k, [0, 0, 0])[j] for a in accs) for j in range(3)] for k in kinds}
        entry["per_request_by_thread"] = {k: {"cpu_us": v[0], "voluntary_switches": v[1],
                                              "involuntary_switches": v[2]} for k, v in m.items()}
        threads.append(f"| {name} | " + " | ".join(f"{m[k][0]:.0f}" for k in kinds) + " | " +
                       " | ".join(f"{m[k][1]:.2f}" for k in kinds) + f" | {sum(m[k][2] for k in kinds):.2f} |")
    result[name] = entry
    rows.append(f"| {name} | {med('p50'):.0f} | {med('p99'):.0f} | {med('p99.9'):.0f} | "
                f"{' / '.join(f'{x:.0f}' for x in p99s)} | {cpu_cell} | {ratio_cell} | {errors} |")
json.dump(result, open(out, "w"), indent=1)
print("| server | p50 µs | p99 µs | p99.9 µs | p99 µs of every round | server CPU µs per request | ÷ raw forward CPU | errors |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
print("\n".join(rows))
print()
print(f"Raw forward of one text (modelmux-bench-raw, same model, one thread), median of the rounds: "
      f"{fwd_cpu:.1f} µs CPU, {fwd_wall:.1f} µs wall per call.")
print()
print("Per request, by server thread (medians over the rounds): CPU µs | voluntary context switches (sleeps that needed a wake-up) | involuntary switches (all threads).")
print()
print("| server | CPU io | CPU workers | CPU timer | CPU other | wake-ups io | wake-ups workers | wake-ups timer | wake-ups other | involuntary |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
print("\n".join(threads))
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
