#!/usr/bin/env bash
# AWS SDK path vs /invocations (issue 12): the same warm invoke of the
# reference demo model through SageMaker Runtime's InvokeEndpoint route,
# POST /endpoints/{name}/invocations, with the headers boto3 sends (SigV4
# Authorization, X-Amz-Date, User-Agent, amz-sdk-*: captured from Debian's
# boto3 signing a real call, see below), and through the container route
# POST /invocations with only its target-model header. Same server, same
# body, same modelmux-loadgen closed loop. SDK_ROUNDS rounds, each a pair of
# runs in alternating order (invocations then sdk, then sdk then invocations,
# ...) so that a drift in the machine's other load falls on both routes; each
# run reports the server's CPU time per request (from /proc/<pid>/stat before
# and after the run) and the throughput, each round the ratio of the two.
# The goal: server CPU per request on the SDK path within 5% of /invocations
# (the median of the rounds' ratios).
# Writes $BENCH_OUT/sdk-path.{md,json} and $BENCH_RAW/sdk-path/.
# Env: SDK_CONNECTIONS (32, as bench/warm-invoke.sh), SDK_SECONDS (5), SDK_ROUNDS (15).
source "$(dirname "$0")/lib/common.sh"
need_bins modelmux modelmux-loadgen
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import boto3' 2> /dev/null \
  || die "Debian's python3-boto3 is missing (scripts/install-deps)"
conns="${SDK_CONNECTIONS:-32}" secs="${SDK_SECONDS:-5}" rounds="${SDK_ROUNDS:-15}"
raw="$BENCH_RAW/sdk-path"; mkdir -p "$raw"
ref_store
model="${REF_MODELS[0]}"
endpoint="tickets"

# The headers boto3 sends for this call: a throwaway HTTP server on loopback
# records one invoke_endpoint and prints each header as "Name: value", less
# those modelmux-loadgen writes itself (Host, Content-Type, Content-Length,
# the target model). The signature is real; the server does not verify it.
/usr/bin/python3 - "$endpoint" "$model" > "$raw/boto3-headers.txt" <<'PY'
import http.server, sys, threading
import boto3
endpoint, model = sys.argv[1], sys.argv[2]
seen = []
class Recorder(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        seen.extend(self.headers.items())
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Recorder)
threading.Thread(target=server.serve_forever, daemon=True).start()
client = boto3.client("sagemaker-runtime", endpoint_url=f"http://127.0.0.1:{server.server_address[1]}",
                      region_name="us-east-1", aws_access_key_id="AKIDBENCHMARK", aws_secret_access_key="x")
client.invoke_endpoint(EndpointName=endpoint, TargetModel=model, ContentType="application/json", Body=b"{}")
server.shutdown()
skip = {"host", "content-type", "content-length", "x-amzn-sagemaker-target-model"}
for name, value in seen:
    if name.lower() not in skip:
        print(f"{name}: {value}")
PY
grep -q '^Authorization: AWS4-HMAC-SHA256' "$raw/boto3-headers.txt" || die "no SigV4 header captured from boto3"
sdk_args=(--route sdk --endpoint "$endpoint")
while IFS= read -r h; do sdk_args+=(-H "$h"); done < "$raw/boto3-headers.txt"

start_server "$raw/modelmux.log" --store "$REF_STORE" --endpoint-name "$endpoint"
port="$SERVER_PORT"
declare -A args=([invocations]="--route invocations" [sdk]="")

# run ROUTE LABEL SECONDS: one closed-loop run; prints "rps cpu_us_per_request p50_us".
run() {
  local out="$raw/$2.json" c0 c1 extra=()
  [ "$1" = sdk ] && extra=("${sdk_args[@]}")
  # shellcheck disable=SC2086
  c0=$(cpu_seconds "$SERVER_PID")
  "$LOADGEN" --port "$port" -m "$model" -c "$conns" -d "$3" --warmup 0 --json ${args[$1]} "${extra[@]}" > "$out"
  c1=$(cpu_seconds "$SERVER_PID")
  [ "$(json_get "$out" "d['error_count']")" = 0 ] || die "$2: errors in $out"
  echo "$(json_get "$out" "'%.1f' % d['throughput_rps']") $(calc "round(($c1 - $c0) * 1e6 / $(json_get "$out" "d['completed']"), 2)") $(json_get "$out" "'%.0f' % d['latency_us']['p50']")"
}

log "sdk-path: warm-up (both routes, untimed)"
run invocations warmup-invocations 2 > /dev/null
run sdk warmup-sdk 2 > /dev/null
# The SDK path must answer exactly what /invocations answers.
body=$(python3 -c 'import json; print(json.dumps({"text": " ".join(["driver never arrived and I was still charged twice for the same ride please refund me"] * 4), "top_k": 3}))')
a=$(curl -sf "http://127.0.0.1:$port/invocations" -H "X-Amzn-SageMaker-Target-Model: $model" -H 'Content-Type: application/json' -d "$body")
b=$(curl -sf "http://127.0.0.1:$port/endpoints/$endpoint/invocations" -H "X-Amzn-SageMaker-Target-Model: $model" -H 'Content-Type: application/json' -d "$body")
[ "$a" = "$b" ] || die "the two routes answer differently"

declare -A runs
for ((r = 1; r <= rounds; r++)); do
  order="invocations sdk"; ((r % 2 == 0)) && order="sdk invocations"
  for route in $order; do
    log "sdk-path: $route, round $r of $rounds"
    runs[$route]+="$(run "$route" "$route-$r" "$secs");"
  done
done
stop_pid "$SERVER_PID"

# Medians over the rounds, and the per-round ratio of CPU per request.
read -r -d '' summary <<PY || true
import json, statistics, sys
runs = {k: [list(map(float, r.split())) for r in v.strip(';').split(';')] for k, v in
        (a.split('=', 1) for a in sys.argv[1:])}
inv, sdk = runs['invocations'], runs['sdk']
ratios = [s[1] / i[1] for i, s in zip(inv, sdk)]
out = {'rounds': len(inv), 'connections': $conns, 'seconds': $secs,
       'invocations': {'rps': statistics.median(r[0] for r in inv), 'cpu_us': statistics.median(r[1] for r in inv),
                       'p50_us': statistics.median(r[2] for r in inv), 'runs': inv},
       'sdk': {'rps': statistics.median(r[0] for r in sdk), 'cpu_us': statistics.median(r[1] for r in sdk),
               'p50_us': statistics.median(r[2] for r in sdk), 'runs': sdk},
       'cpu_ratio_per_round': ratios, 'cpu_ratio_median': statistics.median(ratios)}
out['cpu_ratio_of_medians'] = out['sdk']['cpu_us'] / out['invocations']['cpu_us']
print(json.dumps(out))
PY
python3 -c "$summary" "invocations=${runs[invocations]}" "sdk=${runs[sdk]}" > "$BENCH_OUT/sdk-path.json"
j="$BENCH_OUT/sdk-path.json"
ratio=$(json_get "$j" "'%.3f' % d['cpu_ratio_median']")
verdict=$(json_get "$j" "'met' if d['cpu_ratio_median'] <= 1.05 else 'not met'")
{
  echo "### AWS SDK path vs /invocations (bench/sdk-path.sh)"
  echo
  header_md
  echo
  echo "Model ${model} (reference store), 64-word ticket, top_k 3; modelmux-loadgen closed loop, $conns connections, $secs s per run, $rounds rounds of one run per route (in alternating order)."
  echo "SDK path: \`POST /endpoints/$endpoint/invocations\` with the $(wc -l < "$raw/boto3-headers.txt") headers boto3 adds ($raw/boto3-headers.txt) besides the target model."
  echo
  echo "| route | req/s (median) | server CPU µs/req (median) | p50 µs (median) | CPU µs/req of every round |"
  echo "| --- | --- | --- | --- | --- |"
  for route in invocations sdk; do
    echo "| $([ $route = sdk ] && echo "SDK path" || echo "/invocations") | $(json_get "$j" "'%.0f' % d['$route']['rps']") | $(json_get "$j" "'%.1f' % d['$route']['cpu_us']") | $(json_get "$j" "'%.0f' % d['$route']['p50_us']") | $(json_get "$j" "' / '.join('%.1f' % r[1] for r in d['$route']['runs'])") |"
  done
  echo
  echo "**SDK path / /invocations server CPU per request: $ratio** (median of the per-round ratios; $(json_get "$j" "' '.join('%.3f' % x for x in d['cpu_ratio_per_round'])")); target ≤ 1.05: $verdict."
} > "$BENCH_OUT/sdk-path.md"
cat "$BENCH_OUT/sdk-path.md"
