#!/usr/bin/env python3
"""Fleet benchmark (issue 5): real modelmux instances behind real HAProxy on loopback.

    bench/fleet/run_fleet_bench.py [--build build] [--out bench/fleet/results]

Prints (and writes to OUT/fleet.md) three tables:

1. Throughput with wrk (keep-alive, uniform over 60 warm models): one instance
   direct, one instance behind HAProxy, three instances behind HAProxy.
2. Hit ratio on one seeded Zipf(1.0) trace over 300 models: three instances
   with budget B each behind HAProxy against one instance with 3B. The hit ratio
   is modelmux_model_cache_hits_total / (hits + misses) summed over instances.
3. Copies per model under uniform traffic over 300 models (each instance's
   /v2/repository/index).

The models are the tiny ones of the integration test store (build/integration-store,
made by ctest's integration_store fixture), symlinked under many names.
"""

import argparse
import collections
import http.client
import importlib.machinery
import importlib.util
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
LOOPBACK = "127.0.0.1"


def load_fleet():
    loader = importlib.machinery.SourceFileLoader("modelmux_fleet", os.path.join(REPO, "scripts", "fleet"))
    spec = importlib.util.spec_from_loader("modelmux_fleet", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


fleet_mod = load_fleet()


def make_store(source, count, root):
    tenants = sorted(e for e in os.listdir(source) if not e.startswith(("_", ".")))
    names = []
    for i in range(count):
        name = f"m-{i:03d}"
        os.mkdir(os.path.join(root, name))
        src = os.path.join(source, tenants[i % len(tenants)])
        for f in os.listdir(src):
            os.symlink(os.path.join(src, f), os.path.join(root, name, f))
        names.append(name)
    return names


def post(port, path, body):
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=60)
    try:
        conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def get(port, path):
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=30)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.read().decode()
    finally:
        conn.close()


def metric(text, name):
    return sum(float(m.group(1)) for m in re.finditer(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M))


def replay(port, trace, threads):
    """Sends the trace (model names, in order, split round-robin over threads)."""
    errors = [0]

    def worker(part):
        conn = http.client.HTTPConnection(LOOPBACK, port, timeout=60)
        body = json.dumps({"text": "where is my refund", "top_k": 1})
        for m in part:
            conn.request("POST", f"/models/{m}/invoke", body=body, headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                errors[0] += 1
        conn.close()

    ts = [threading.Thread(target=worker, args=(trace[k::threads],)) for k in range(threads)]
    start = time.monotonic()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return time.monotonic() - start, errors[0]


def wrk(port, models, seconds, connections):
    script = os.path.join(tempfile.gettempdir(), f"modelmux-fleet-wrk-{os.getpid()}.lua")
    with open(script, "w", encoding="utf-8") as f:
        f.write("local models = {" + ",".join(f'"{m}"' for m in models) + "}\n"
                'wrk.method = "POST"\n'
                'wrk.headers["Content-Type"] = "application/json"\n'
                'wrk.body = \'{"text": "where is my refund", "top_k": 1}\'\n'
                "request = function()\n"
                '  return wrk.format(nil, "/models/" .. models[math.random(#models)] .. "/invoke")\n'
                "end\n")
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script,
                          f"http://{LOOPBACK}:{port}"], capture_output=True, text=True, check=True).stdout
    os.unlink(script)
    rps = float(re.search(r"Requests/sec:\s+(\S+)", out).group(1))
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, p99, int(non2xx.group(1)) if non2xx else 0


def zipf_trace(names, length, s, seed):
    rnd = random.Random(seed)
    order = names[:]
    rnd.shuffle(order)  # popularity rank independent of the name (and so of the hash)
    weights = [1.0 / (r + 1) ** s for r in range(len(order))]
    return rnd.choices(order, weights=weights, k=length)


def run_fleet(binary, store, n, args, hot_rate=100):
    return fleet_mod.Fleet(binary, store, n, args, hot_rate=hot_rate,
                           haproxy=shutil.which("haproxy") or "/usr/sbin/haproxy").start()


def throughput(binary, store, names, seconds, repeat):
    """Each setup `repeat` times, interleaved (so drift in the machine's load
    hits every setup alike); reports the median run by requests/s."""
    models = names[:60]
    setups = [("1 instance, direct (2 workers)", 1, ["--workers", "2"], True),
              ("1 instance behind HAProxy (2 workers)", 1, ["--workers", "2"], False),
              ("3 instances behind HAProxy (1 worker each)", 3, ["--workers", "1"], False)]
    runs = collections.defaultdict(list)
    for _ in range(repeat):
        for label, n, args, direct in setups:
            # hot_rate out of reach: this measures affinity routing, not copies.
            f = run_fleet(binary, store, n, args + ["--memory-budget", "1G"], hot_rate=10 ** 6)
            try:
                port = f.instances[0].port if direct else f.front_port
                replay(port, models, 1)  # warm
                runs[label].append(wrk(port, models, seconds, 32))
            finally:
                f.stop()
    rows = []
    for label, _, _, _ in setups:
        ordered = sorted(runs[label])
        rps, p99, bad = ordered[len(ordered) // 2]
        rows.append((label, rps, p99, bad, [r[0] for r in runs[label]]))
    return rows


def hit_ratio(binary, store, names, budget_models, model_bytes, trace):
    budget = budget_models * model_bytes
    rows = []
    for label, n, b in [(f"3 instances x B (B = {budget_models} models)", 3, budget),
                        (f"1 instance x 3B ({3 * budget_models} models)", 1, 3 * budget)]:
        f = run_fleet(binary, store, n, ["--workers", "1", "--memory-budget", str(b)])
        try:
            port = f.front_port
            elapsed, errors = replay(port, trace, 4)
            hits = misses = loads = 0.0
            for inst in f.instances:
                text = get(inst.port, "/metrics")
                hits += metric(text, "modelmux_model_cache_hits_total")
                misses += metric(text, "modelmux_model_cache_misses_total")
                loads += metric(text, "modelmux_model_load_seconds_count")
            rows.append((label, hits / max(1.0, hits + misses), int(loads), errors, elapsed))
        finally:
            f.stop()
    return rows


def copies(binary, store, names, rounds):
    f = run_fleet(binary, store, 3, ["--workers", "1", "--memory-budget", "1G"])
    try:
        trace = names * rounds
        random.Random(3).shuffle(trace)
        elapsed, errors = replay(f.front_port, trace, 4)
        where = {}
        for inst in f.instances:
            status, body = post(inst.port, "/v2/repository/index", {"ready": True})
            where[inst.name] = {e["name"] for e in json.loads(body)}
        hist = collections.Counter(sum(m in v for v in where.values()) for m in names)
        return hist, {k: len(v) for k, v in where.items()}, len(trace) / elapsed, errors
    finally:
        f.stop()


def measure_model_bytes(binary, store, name):
    f = run_fleet(binary, store, 1, ["--workers", "1", "--memory-budget", "1G"])
    try:
        post(f.instances[0].port, f"/models/{name}/invoke", {"text": "x"})
        status, body = post(f.instances[0].port, "/v2/repository/index", {"ready": True})
        return max(e["bytes"] for e in json.loads(body))
    finally:
        f.stop()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default=os.path.join(REPO, "build"))
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration per setup")
    parser.add_argument("--repeat", type=int, default=3, help="throughput runs per setup (median reported)")
    parser.add_argument("--trace", type=int, default=6000, help="Zipf trace length")
    parser.add_argument("--budget-models", type=int, default=25, help="B, in models")
    args = parser.parse_args()
    binary = os.path.join(args.build, "bin", "modelmux")
    source = os.path.join(args.build, "integration-store")
    for path in (binary, source):
        if not os.path.exists(path):
            sys.exit(f"{path} is missing: build modelmux and run `ctest --test-dir {args.build} -R integration_store`")
    store = tempfile.mkdtemp(prefix="modelmux-fleet-bench-")
    try:
        names = make_store(source, 300, store)
        model_bytes = measure_model_bytes(binary, store, names[0])
        tp = throughput(binary, store, names, args.seconds, args.repeat)
        trace = zipf_trace(names, args.trace, 1.0, seed=11)
        hr = hit_ratio(binary, store, names, args.budget_models, model_bytes, trace)
        hist, per_instance, rate, copy_errors = copies(binary, store, names, 3)
    finally:
        shutil.rmtree(store, ignore_errors=True)

    lines = [f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average "
             f"{os.getloadavg()[0]:.1f} at the end; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
             f"models of {model_bytes / 1e6:.2f} MB", "",
             f"| setup (wrk -t2 -c32 -d{args.seconds}s, 60 warm models, uniform) | requests/s (median) | p99 | "
             f"non-2xx | all runs |",
             "| --- | ---: | ---: | ---: | --- |"]
    lines += [f"| {label} | {rps:.0f} | {p99} | {bad} | {', '.join(f'{r:.0f}' for r in all_rps)} |"
              for label, rps, p99, bad, all_rps in tp]
    lines += ["", f"| Zipf(1.0), {len(trace)} requests over 300 models, 4 clients | hit ratio | loads | errors | seconds |",
              "| --- | ---: | ---: | ---: | ---: |"]
    lines += [f"| {label} | {ratio:.3f} | {loads} | {errors} | {secs:.1f} |" for label, ratio, loads, errors, secs in hr]
    fleet_ratio, single_ratio = hr[0][1], hr[1][1]
    lines += ["", f"fleet hit ratio / single-instance hit ratio: {fleet_ratio / single_ratio:.3f} "
              f"({(1 - fleet_ratio / single_ratio) * 100:.1f}% lower)", "",
              "| uniform, 900 requests over 300 models, 3 instances | models |", "| --- | ---: |"]
    lines += [f"| on exactly {k} instance{'s' if k != 1 else ''} | {hist[k]} |" for k in sorted(hist)]
    lines += [f"| per instance | {', '.join(f'{k} {v}' for k, v in sorted(per_instance.items()))} |",
              f"| request rate, errors | {rate:.0f}/s, {copy_errors} |"]
    text = "\n".join(lines) + "\n"
    print(text)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "fleet.md"), "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main()
