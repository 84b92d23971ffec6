#!/usr/bin/env bash
# access control: what checking credentials costs the server per request.
# One demo tenant, warm; wrk drives POST /models/{m}/invoke (a warm invoke)
# and GET /v2 (server metadata: an API route with almost no work of its own,
# so the check's own cost shows) against three configurations, restarted in
# turn each round so that machine noise spreads over all three:
#   off     no credentials flags (every route open: the check is skipped)
#   bearer  --api-token-file, every request with `Authorization: Bearer`
#   sigv4   --sigv4-credentials, every request signed by botocore (SigV4Auth,
#           service sagemaker; one signature replayed for the round, which
#           the 5-minute skew allows)
# Server CPU per request = the server's CPU time over the run / requests.
# Writes $BENCH_OUT/auth.{md,json} and raw/auth/. Medians over AUTH_REPS (3).
# Env: AUTH_REPS (3), AUTH_SECONDS (10), AUTH_CONNECTIONS (16).
source "$(dirname "$0")/lib/common.sh"
need_bins modelmux modelmux-make-store
command -v wrk > /dev/null || die "wrk is missing (scripts/install-deps)"
reps="${AUTH_REPS:-3}" secs="${AUTH_SECONDS:-10}" conns="${AUTH_CONNECTIONS:-16}"
raw="$BENCH_RAW/auth"; mkdir -p "$raw"

store="$BENCH_WORK/auth-store"
if [ ! -f "$store/.complete" ]; then
  rm -rf "$store"
  log "auth: generating one demo tenant"
  "$BIN/modelmux-make-store" --tenants 1 --out "$store" --seed 42 > "$BENCH_WORK/auth-store.log" 2>&1
  touch "$store/.complete"
fi
model=$(cd "$store" && ls -d [A-Za-z0-9]* | head -1)
secrets="$raw/secrets"; mkdir -p "$secrets"
api_token="bench-$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')"
admin_token="bench-admin-$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')"
echo "$api_token" > "$secrets/api"; echo "$admin_token" > "$secrets/admin"
echo "AKIDBENCH bench-secret-key admin" > "$secrets/sigv4"
body=$(python3 -c 'import json; print(json.dumps({"text": " ".join(["driver never arrived and I was still charged twice for the same ride please refund me"] * 4), "top_k": 3}))')

# lua METHOD PATH BODY CONFIG > file: a wrk script carrying the config's credentials.
lua() {
  python3 - "$@" "$SERVER_PORT" "$api_token" <<'PY'
import json, sys
method, path, body, config, port, token = sys.argv[1:7]
headers = {"Content-Type": "application/json"} if body else {}
if config == "bearer":
    headers["Authorization"] = "Bearer " + token
elif config == "sigv4":
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    r = AWSRequest(method=method, url=f"http://127.0.0.1:{port}{path}", data=body.encode(), headers=headers)
    SigV4Auth(Credentials("AKIDBENCH", "bench-secret-key"), "sagemaker", "us-east-1").add_auth(r)
    headers = dict(r.headers.items())
print(f"wrk.method = {json.dumps(method)}")
for k, v in headers.items():
    print(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}")
if body:
    print(f"wrk.body = {json.dumps(body)}")
PY
}

flags_of() {
  case "$1" in
    off) ;;
    bearer) echo "--admin-token-file $secrets/admin --api-token-file $secrets/api" ;;
    sigv4) echo "--admin-token-file $secrets/admin --sigv4-credentials $secrets/sigv4" ;;
  esac
}

declare -A CPU RPS
configs=(off bearer sigv4)
for ((rep = 1; rep <= reps; rep++)); do
  for config in "${configs[@]}"; do
    log "auth: round $rep of $reps, $config"
    # shellcheck disable=SC2046
    start_server "$raw/modelmux-$config-$rep.log" --store "$store" --workers 1 $(flags_of "$config")
    for route in invoke meta; do
      if [ "$route" = invoke ]; then
        lua POST "/models/$model/invoke" "$body" "$config" > "$raw/$route-$config.lua"
        url="http://127.0.0.1:$SERVER_PORT/models/$model/invoke"
      else
        lua GET /v2 "" "$config" > "$raw/$route-$config.lua"
        url="http://127.0.0.1:$SERVER_PORT/v2"
      fi
      wrk -t1 -c"$conns" -d2s -s "$raw/$route-$config.lua" "$url" > "$raw/warmup.txt"
      out="$raw/$route-$config-$rep.txt"
      c0=$(cpu_seconds "$SERVER_PID")
      wrk -t1 -c"$conns" -d"${secs}s" -s "$raw/$route-$config.lua" "$url" > "$out"
      c1=$(cpu_seconds "$SERVER_PID")
      n=$(awk '/requests in/ {print $1}' "$out")
      bad=$(awk '/Non-2xx/ {print $NF}' "$out"); [ -z "$bad" ] || die "$config $route: $bad non-2xx answers (see $out)"
      CPU[$route-$config-$rep]=$(calc "($c1 - $c0) / $n * 1e6")
      RPS[$route-$config-$rep]=$(wrk_rps "$out")
    done
    stop_pid "$SERVER_PID"
  done
done

median() { python3 -c 'import statistics, sys; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }
declare -A MED
for route in invoke meta; do
  for config in "${configs[@]}"; do
    cpus=() rpss=()
    for ((rep = 1; rep <= reps; rep++)); do cpus+=("${CPU[$route-$config-$rep]}"); rpss+=("${RPS[$route-$config-$rep]}"); done
    MED[$route-$config-cpu]=$(median "${cpus[@]}")
    MED[$route-$config-rps]=$(median "${rpss[@]}")
    MED[$route-$config-all]="${cpus[*]}"
  done
done

{
  echo "# Access control: server CPU per request"
  echo
  header_md
  echo
  echo "command: \`AUTH_REPS=$reps AUTH_SECONDS=$secs AUTH_CONNECTIONS=$conns bench/auth.sh\`; one io thread, one worker"
  echo
  echo "| route | config | server CPU µs/request (median) | vs off | rounds (µs) | requests/s (median) |"
  echo "| --- | --- | ---: | ---: | --- | ---: |"
  for route in invoke meta; do
    name=$([ "$route" = invoke ] && echo "POST /models/{m}/invoke" || echo "GET /v2")
    for config in "${configs[@]}"; do
      printf '| %s | %s | %.1f | %+.1f | %s | %.0f |\n' "$name" "$config" "${MED[$route-$config-cpu]}" \
        "$(calc "${MED[$route-$config-cpu]} - ${MED[$route-off-cpu]}")" \
        "$(python3 -c 'import sys; print(", ".join(format(float(x), ".1f") for x in sys.argv[1:]))' ${MED[$route-$config-all]})" \
        "${MED[$route-$config-rps]}"
    done
  done
} > "$BENCH_OUT/auth.md"
python3 - "$BENCH_OUT/auth.json" <<PY
import json, sys
json.dump({"reps": $reps, "seconds": $secs, "connections": $conns,
           "cpu_us_per_request": {k: float(v) for k, v in {
$(for k in "${!MED[@]}"; do case "$k" in *-cpu) echo "  \"$k\": \"${MED[$k]}\","; esac; done)
           }.items()}}, open(sys.argv[1], "w"), indent=1)
PY
# The wrk scripts and the key files hold this run's credentials: not kept.
rm -rf "$secrets" "$raw"/*.lua "$raw/warmup.txt"
cat "$BENCH_OUT/auth.md"
