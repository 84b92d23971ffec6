#!/usr/bin/env python3
"""Checks modelmux-plan against a real fleet (issue 16).

    bench/plan/validate.py [--build build] [--out bench/plan/results] [--policy adaptive-gdsf]

1. Writes a small synthetic trace in the Azure Functions 2019 per-minute format
   (modelmux-sim --write-azure: a day of Zipf traffic over --models models).
2. Replays it through a real fleet: scripts/fleet with 3 modelmux instances
   behind HAProxy 2.6 (deploy/haproxy/modelmux.cfg), driven by
   modelmux-loadgen --trace ... --time-scale (a day in --day-seconds seconds).
   Each instance has a budget of --budget-models models. Measured per instance:
   modelmux_model_cache_hits_total, _misses_total and loads
   (modelmux_model_load_seconds_count).
3. Simulates the same trace with modelmux-plan --fleet 3 (same names, each
   model's measured charged bytes, load time proportional to size with the
   measured mean, the same time scale and budget).
4. Compares hit ratio and loads per instance, and where HAProxy routed each
   model name against modelmux-plan --routes; exits 1 when a figure differs
   by more than --tolerance (relative, default 5%) or a route differs.

Models: the integration store's tiny classifiers symlinked under many names
(build/integration-store, made by `ctest -R integration_store`).
"""

import argparse
import collections
import importlib.machinery
import importlib.util
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import http.client

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
LOOPBACK = "127.0.0.1"


def load_fleet():
    loader = importlib.machinery.SourceFileLoader("modelmux_fleet", os.path.join(REPO, "scripts", "fleet"))
    spec = importlib.util.spec_from_loader("modelmux_fleet", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def tenants_of(source):
    return sorted(e for e in os.listdir(source) if not e.startswith(("_", ".")))


def make_store(source, count, root):
    tenants = tenants_of(source)
    names = []
    for i in range(count):
        name = f"m-{i:04d}"
        os.mkdir(os.path.join(root, name))
        src = os.path.join(source, tenants[i % len(tenants)])
        for f in os.listdir(src):
            os.symlink(os.path.join(src, f), os.path.join(root, name, f))
        names.append(name)
    return names


def call(port, method, path, body=None):
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=60)
    try:
        conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, resp.read().decode()
    finally:
        conn.close()


def metric(text, name):
    return sum(float(m.group(1)) for m in re.finditer(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M))


def measure_models(fleet_mod, binary, store, names, tenants):
    """Bytes the server charges for each name (names[i] is tenant i mod tenants), the mean load seconds
    (modelmux_model_load_seconds), and the spread (sigma of the log) of first-invoke times."""
    f = fleet_mod.Fleet(binary, store, 1, ["--workers", "1", "--memory-budget", "1G"],
                        haproxy=shutil.which("haproxy") or "/usr/sbin/haproxy").start()
    try:
        port = f.instances[0].port
        cold = []
        for name in names[:4 * tenants]:  # first invokes, one at a time: the spread of load times
            start = time.monotonic()
            call(port, "POST", f"/models/{name}/invoke", json.dumps({"text": "x"}))
            cold.append(time.monotonic() - start)
        _, body = call(port, "POST", "/v2/repository/index", json.dumps({"ready": True}))
        charged = {e["name"]: e["bytes"] for e in json.loads(body)}
        _, text = call(port, "GET", "/metrics")
        seconds = metric(text, "modelmux_model_load_seconds_sum") / max(1, metric(text, "modelmux_model_load_seconds_count"))
        logs = [math.log(c) for c in cold]
        mean = sum(logs) / len(logs)
        sigma = math.sqrt(sum((x - mean) ** 2 for x in logs) / (len(logs) - 1))
        return [charged[names[i % tenants]] for i in range(len(names))], seconds, sigma
    finally:
        f.stop()


def routes(port, names, probes=3):
    """The instance HAProxy sends each name to (GET /models/{name} loads
    nothing): the one most of `probes` probes reach, since a probe that meets
    a connection the instance is closing is retried, redispatched, elsewhere."""
    out = {}
    for name in names:
        seen = collections.Counter()
        for _ in range(probes):
            conn = http.client.HTTPConnection(LOOPBACK, port, timeout=30)
            try:
                conn.request("GET", f"/models/{name}")
                resp = conn.getresponse()
                resp.read()
                seen[resp.getheader("X-Modelmux-Instance")] += 1
            finally:
                conn.close()
        out[name] = seen.most_common(1)[0][0]
    return out


def replay(fleet_mod, args, binary, store, names_file, names, trace, budget):
    f = fleet_mod.Fleet(binary, store, 3, ["--workers", "1", "--memory-budget", str(budget),
                                           "--eviction-policy", args.policy],
                        hot_rate=args.hot_rate, haproxy=shutil.which("haproxy") or "/usr/sbin/haproxy").start()
    try:
        loadgen = [os.path.join(args.build, "bin", "modelmux-loadgen"), "--port", str(f.front_port),
                   "--trace", trace, "--time-scale", str(86400 / args.day_seconds), "--models-file", names_file,
                   "-c", "32", "-d", str(args.day_seconds + 5), "--drain", "20", "--json"]
        run = json.loads(subprocess.run(loadgen, capture_output=True, text=True, check=True).stdout)
        # The ring's choice, not the hot gate's: a model hotter than --hot-rate
        # in the last second goes through the bounded-load backend, which may
        # send a probe elsewhere while the replay's last requests are still
        # counted. Probe once the stick table's rates (per 1 s) have fallen.
        time.sleep(3)
        real_routes = routes(f.front_port, names)
        per = []
        for inst in f.instances:
            _, text = call(inst.port, "GET", "/metrics")
            per.append({"hits": metric(text, "modelmux_model_cache_hits_total"),
                        "misses": metric(text, "modelmux_model_cache_misses_total"),
                        "loads": metric(text, "modelmux_model_load_seconds_count")})
        return run, per, real_routes
    finally:
        f.stop()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--build", default=os.path.join(REPO, "build"))
    p.add_argument("--out", default=os.path.join(HERE, "results"))
    p.add_argument("--models", type=int, default=300)
    p.add_argument("--requests", type=int, default=24000, help="of the two-day trace; the day replayed has half")
    p.add_argument("--budget-models", type=int, default=25, help="per instance")
    p.add_argument("--day-seconds", type=float, default=60, help="the day is replayed in this many seconds")
    p.add_argument("--policy", default="adaptive-gdsf")
    p.add_argument("--hot-rate", type=int, default=100)
    p.add_argument("--tolerance", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=11)
    args = p.parse_args()
    bins = {n: os.path.join(args.build, "bin", n) for n in ("modelmux", "modelmux-sim", "modelmux-plan", "modelmux-loadgen")}
    source = os.path.join(args.build, "integration-store")
    for path in list(bins.values()) + [source]:
        if not os.path.exists(path):
            sys.exit(f"{path} is missing: build modelmux, modelmux-sim, modelmux-plan, modelmux-loadgen and run "
                     f"`ctest --test-dir {args.build} -R integration_store`")
    fleet_mod = load_fleet()
    work = tempfile.mkdtemp(prefix="modelmux-plan-validate-")
    try:
        store = os.path.join(work, "store")
        os.mkdir(store)
        names = make_store(source, args.models, store)
        names_file = os.path.join(work, "models.txt")
        with open(names_file, "w", encoding="utf-8") as f:
            f.write("\n".join(names) + "\n")
        subprocess.run([bins["modelmux-sim"], "--seed", str(args.seed), "--models", str(args.models), "--requests",
                        str(args.requests), "--traces", "zipf", "--write-azure", os.path.join(work, "day"),
                        "--write-azure-day", "0"], check=True, capture_output=True)
        trace = os.path.join(work, "day-zipf.csv")
        sizes, load_seconds, load_sigma = measure_models(fleet_mod, bins["modelmux"], store, names, len(tenants_of(source)))
        model_bytes = sum(sizes) // len(sizes)
        budget = args.budget_models * model_bytes
        sizes_file = os.path.join(work, "sizes.csv")
        with open(sizes_file, "w", encoding="utf-8") as f:
            f.write("".join(f"{n},{b}\n" for n, b in zip(names, sizes)))
        started = time.monotonic()
        run, measured, real_routes = replay(fleet_mod, args, bins["modelmux"], store, names_file, names, trace,
                                            budget)
        replay_seconds = time.monotonic() - started
        plan_cmd = [bins["modelmux-plan"], "--azure", trace, "--model-names", names_file, "--model-sizes",
                    sizes_file, "--load-fixed-seconds", "0", "--load-mib-per-second",
                    f"{model_bytes / load_seconds / 2**20:.6f}", "--load-jitter", "0", "--load-noise", f"{load_sigma:.3f}", "--budget", str(budget), "--cores", "1", "--policy", args.policy,
                    "--hot-rate", str(args.hot_rate), "--time-scale", str(86400 / args.day_seconds), "--fleet", "3",
                    "--json"]
        sim = json.loads(subprocess.run(plan_cmd, capture_output=True, text=True, check=True).stdout)
        ring_cmd = [bins["modelmux-plan"], "--azure", trace, "--model-names", names_file, "--routes", "3"]
        sim_routes = dict(line.split() for line in
                          subprocess.run(ring_cmd, capture_output=True, text=True, check=True).stdout.splitlines())
    finally:
        shutil.rmtree(work, ignore_errors=True)

    hits = sum(m["hits"] for m in measured)
    misses = sum(m["misses"] for m in measured)
    real_ratio = hits / max(1.0, hits + misses)
    rows, ok = [], True

    def compare(what, real, simulated):
        nonlocal ok
        diff = abs(simulated - real) / real if real else (0.0 if simulated == 0 else 1.0)
        good = diff <= args.tolerance
        ok = ok and good
        rows.append(f"| {what} | {real:.4g} | {simulated:.4g} | {100 * diff:.1f}% | {'yes' if good else 'no'} |")

    agree = sum(1 for n, i in sim_routes.items() if real_routes.get(n) == i)
    ok = agree == len(sim_routes)
    rows.append(f"| models routed to the same instance | {len(sim_routes)} | {agree} | - | {'yes' if ok else 'no'} |")
    compare("hit ratio", real_ratio, sim["hit_ratio"])
    for i, (m, s) in enumerate(zip(measured, sim["instances"])):
        compare(f"loads on mm{i}", m["loads"], s["loads"])
    compare("loads, all instances", sum(m["loads"] for m in measured), sim["loads"])
    lines = [f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} cores; load average "
             f"{os.getloadavg()[0]:.1f}; policy {args.policy}; {args.models} models of {min(sizes)}-{max(sizes)} bytes charged (mean {model_bytes}), "
             f"mean load {1e3 * load_seconds:.1f} ms (log sigma {load_sigma:.2f}); budget {args.budget_models} x the mean per instance; "
             f"{sim['requests']} requests (a day of Zipf traffic, seed {args.seed}) replayed in {args.day_seconds:.0f} s "
             f"({replay_seconds:.0f} s with start-up); loadgen: {run['ok']} ok of {run['completed']}, "
             f"errors {run.get('errors', {})}", "",
             "| measure | real fleet | modelmux-plan | difference | within tolerance |",
             "| --- | ---: | ---: | ---: | --- |"] + rows
    text = "\n".join(lines) + "\n"
    print(text)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, f"validate-{args.policy}.md"), "w", encoding="utf-8") as f:
        f.write(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
