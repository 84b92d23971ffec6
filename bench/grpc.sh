#!/usr/bin/env bash
# gRPC (issue 12): warm invoke of one loaded text model over KServe V2 gRPC
# against the same over REST and against the raw forward, in one run on one
# server (--grpc-port beside the HTTP port):
#   raw forward      modelmux-bench-raw: the model alone in libtorch
#   REST invoke      POST /models/{m}/invoke {"text", "top_k"} (modelmux-loadgen)
#   REST V2          POST /v2/models/{m}/infer, "text" BYTES [1] (modelmux-loadgen --route v2)
#   gRPC typed       ModelInfer, "text" in bytes_contents (modelmux-grpc-loadgen)
#   gRPC raw         ModelInfer, "text" in raw_input_contents, answered raw
# Every client sends the same 64-word ticket with top_k 3 and keeps
# GRPC_CONCURRENCY (32) requests in flight: REST on as many keep-alive
# connections, gRPC multiplexed on GRPC_CONNECTIONS (4) HTTP/2 connections.
# Both load generators are C++ on one thread (epoll / gRPC's completion
# queue), so the client takes little of the machine the server runs on.
# Rounds (BENCH_REPS, 3) cycle through the clients; each run is preceded by a
# second of untimed load and measured for GRPC_SECONDS (10) with the server's
# CPU time (utime + stime from /proc) over exactly that run. Reported: the
# median of the rounds per client, and its ratio to REST V2 (the same request
# over HTTP/1.1 + JSON).
# Writes $BENCH_OUT/grpc.{md,json} and raw/grpc/.
# Env: GRPC_CONCURRENCY (32), GRPC_CONNECTIONS (4), GRPC_SECONDS (10), BENCH_REPS (3),
#      BENCH_REF_TENANTS (the reference store's size, 52; any >= 1 will do here).
source "$(dirname "$0")/lib/common.sh"
need_bins modelmux modelmux-loadgen modelmux-grpc-loadgen modelmux-bench-raw
conc="${GRPC_CONCURRENCY:-32}" conns="${GRPC_CONNECTIONS:-4}" secs="${GRPC_SECONDS:-10}"
raw="$BENCH_RAW/grpc"; mkdir -p "$raw"
ref_store
model="${REF_MODELS[0]}"

log "grpc: raw forward baseline"
"$BIN/modelmux-bench-raw" --seconds 5 --json "$REF_STORE/$model" > "$raw/raw-forward.json"
raw_us=$(json_get "$raw/raw-forward.json" "d['forward']['wall_us_per_call']")
raw_cpu_us=$(json_get "$raw/raw-forward.json" "d['forward']['cpu_us_per_call']")

grpc_port_file="$(mktemp)"; _bench_tmp+=("$grpc_port_file")
start_server "$raw/modelmux.log" --store "$REF_STORE" --grpc-port 0 --grpc-port-file "$grpc_port_file"
port="$SERVER_PORT" gport="$(cat "$grpc_port_file")"
curl -sf -X POST "http://127.0.0.1:$port/v2/repository/models/$model/load" > /dev/null || die "cannot load $model"

# client NAME SECONDS WARMUP: the load generator command of one client.
client() {
  case "$1" in
    rest-invoke) echo "$LOADGEN --port $port -m $model -c $conc -d $2 --warmup $3 --route invoke --json" ;;
    rest-v2) echo "$LOADGEN --port $port -m $model -c $conc -d $2 --warmup $3 --route v2 --json" ;;
    grpc-typed) echo "$BIN/modelmux-grpc-loadgen --port $gport -m $model -c $conc --connections $conns -d $2 --warmup $3 --json" ;;
    grpc-raw) echo "$BIN/modelmux-grpc-loadgen --port $gport -m $model -c $conc --connections $conns -d $2 --warmup $3 --raw --json" ;;
  esac
}
clients=(rest-invoke rest-v2 grpc-typed grpc-raw)
# Context switches of every server thread: a cost that a busy, shared machine
# inflates less than CPU time.
switches() { cat /proc/"$1"/task/*/status 2> /dev/null | awk '/ctxt_switches/ {s += $2} END {print s + 0}'; }
declare -A RPS CPU CLIENT_CPU CSW
for ((rep = 1; rep <= REPS; rep++)); do
  for c in "${clients[@]}"; do
    log "grpc: round $rep of $REPS, $c"
    $(client "$c" 1 0) > /dev/null  # untimed: connections up, caches warm
    out="$raw/$c-$rep.json"
    c0=$(cpu_seconds "$SERVER_PID") s0=$(switches "$SERVER_PID")
    client_cpu "$raw/$c-$rep.client-cpu" $(client "$c" "$secs" 0) > "$out"
    c1=$(cpu_seconds "$SERVER_PID") s1=$(switches "$SERVER_PID")
    n=$(json_get "$out" "d['completed']")
    errors=$(json_get "$out" "d['error_count']")
    [ "$errors" = 0 ] || die "$c: $errors errors (see $out)"
    RPS[$c-$rep]=$(json_get "$out" "d['throughput_rps']")
    CPU[$c-$rep]=$(calc "($c1 - $c0) * 1e6 / $n")
    CLIENT_CPU[$c-$rep]=$(calc "$(cat "$raw/$c-$rep.client-cpu") * 1e6 / $n")
    CSW[$c-$rep]=$(calc "($s1 - $s0) / $n")
  done
done
stop_pid "$SERVER_PID"

# median NAME MAP: the median over the rounds of one client's values.
median_of() {
  local -n map="$2"; local values=() rep
  for ((rep = 1; rep <= REPS; rep++)); do values+=("${map[$1-$rep]}"); done
  python3 -c 'import statistics, sys; print(statistics.median(float(x) for x in sys.argv[1:]))' "${values[@]}"
}
every() {
  local -n map="$2"; local values=() rep
  for ((rep = 1; rep <= REPS; rep++)); do values+=("$(fmt "${map[$1-$rep]}" "$3")"); done
  (IFS=/; echo "${values[*]}")
}
declare -A M
for c in "${clients[@]}"; do
  M[$c-rps]=$(median_of "$c" RPS) M[$c-cpu]=$(median_of "$c" CPU) M[$c-client]=$(median_of "$c" CLIENT_CPU)
  M[$c-csw]=$(median_of "$c" CSW)
  # Latency of the median-throughput round.
  best=1
  for ((rep = 1; rep <= REPS; rep++)); do
    [ "$(calc "${RPS[$c-$rep]} == ${M[$c-rps]}")" = True ] && best=$rep
  done
  M[$c-lat]=$(json_get "$raw/$c-$best.json" "'%.0f / %.0f' % (d['latency_us']['p50'], d['latency_us']['p99'])")
done
base_rps="${M[rest-v2-rps]}" base_cpu="${M[rest-v2-cpu]}"

{
  echo "{\"raw_forward_us\": $raw_us, \"raw_forward_cpu_us\": $raw_cpu_us, \"concurrency\": $conc, \"grpc_connections\": $conns,"
  sep=""
  for c in "${clients[@]}"; do
    echo "$sep \"$c\": {\"rps\": ${M[$c-rps]}, \"server_cpu_us_per_req\": ${M[$c-cpu]}, \"client_cpu_us_per_req\": ${M[$c-client]}, \"server_switches_per_req\": ${M[$c-csw]}}"
    sep=","
  done
  echo "}"
} > "$BENCH_OUT/grpc.json"

{
  echo "### gRPC against REST and the raw forward (bench/grpc.sh)"
  echo
  header_md
  echo
  echo "One loaded model (\`$model\`, the default demo size), the 64-word ticket with top_k 3, $conc requests in flight (REST: $conc keep-alive connections; gRPC: $conns HTTP/2 connections), default threads (\`--io-threads 1\`, \`--grpc-threads 1\`, \`--workers $(nproc)\`). Medians of $REPS rounds that cycle through the clients, ${secs} s each."
  echo
  echo "| client | req/s (every round) | × REST V2 | p50 / p99 µs | server CPU µs / req (every round) | × REST V2 | server context switches / req | client CPU µs / req |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
  echo "| raw forward (libtorch alone, one thread) | $(fmt "1e6 / $raw_us" .0f) | | $(fmt "$raw_us" .0f) (one call) | $(fmt "$raw_cpu_us" .1f) | | | |"
  for c in "${clients[@]}"; do
    echo "| $c | $(fmt "${M[$c-rps]}" .0f) ($(every "$c" RPS .0f)) | $(fmt "${M[$c-rps]} / $base_rps" .2f) | ${M[$c-lat]} | $(fmt "${M[$c-cpu]}" .1f) ($(every "$c" CPU .1f)) | $(fmt "${M[$c-cpu]} / $base_cpu" .2f) | $(fmt "${M[$c-csw]}" .2f) | $(fmt "${M[$c-client]}" .1f) |"
  done
  echo
  echo "Commands: \`$(client grpc-typed "$secs" 0 | sed "s|$BIN/||")\` (and \`--raw\`); \`$(client rest-v2 "$secs" 0 | sed "s|$LOADGEN|modelmux-loadgen|")\` (and \`--route invoke\`); \`modelmux-bench-raw --seconds 5 <model dir>\`. Server CPU = utime + stime of the server over the run / requests completed in it."
} > "$BENCH_OUT/grpc.md"
cat "$BENCH_OUT/grpc.md"
