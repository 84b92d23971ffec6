#!/usr/bin/env python3
"""Faults (issue 11): what each injected fault costs the requests it does not
concern, and how fast the ones it does concern are answered.

usage: bench/faults.py [--seconds S] [--rounds R] [--build DIR] [--out FILE]

A store of small generated tenants is uploaded to s3rver, which the server
reaches through the project's fault proxy (tests/integration/fault_proxy.py).
Throughout, three client threads run on keep-alive connections:
  ping   GET /ping every 10 ms
  warm   POST /models/{m}/invoke to two loaded models, closed loop
  cold   every 300 ms, DELETE a model then invoke it again (a cold load that
         needs the store), recording its status and time to answer
and a sampler reads /metrics every 250 ms for the memory charged.
For each fault (black hole, reset mid-download, 503 storm, 500 storm,
trickle at 4 KB/s) a healthy phase of S seconds is followed by a fault phase
of S seconds, then the proxy passes again. Reported per fault: /ping and warm
invoke p99 during the fault against the healthy phase just before it (goal:
<= 1.5x), cold requests by status and their slowest answer, and the bytes
charged over the budget at any sample (goal: 0).

Then a slow tenant (a model whose forward is ~100x the others', made by
modelmux-make-fault-models) on a local store with --workers 2: the other
tenants' invoke p99 while two clients keep the slow model busy, against the
same load without it (goal: <= 1.5x).

Client-side latencies on loopback; the machine is shared, so read the ratios
(healthy vs fault in the same round), not the absolute times. With --rounds R
every figure is the median over the rounds.
"""

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import harness  # noqa: E402
import s3_harness  # noqa: E402
from fault_proxy import FaultProxy  # noqa: E402

FAULTS = [
    ("black hole", "blackhole", {}),
    ("reset mid-download", "reset", {"after_bytes": 4000}),
    ("503 storm", "http_error", {"status": 503}),
    ("500 storm", "http_error", {"status": 500, "code": "InternalError"}),
    ("trickle 4 KB/s", "trickle", {"rate": 4096}),
]
STORE_FLAGS = ["--tenants", "8", "--seed", "5", "--vocab", "4096", "--dim", "32", "--hidden", "32",
               "--labels-min", "10", "--labels-max", "12", "--tickets-per-label", "20", "--epochs", "4"]
BUDGET = 64 << 20


def p99(values):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


class Recorder:
    """Latencies and statuses tagged with the phase they were measured in."""

    def __init__(self):
        self.phase = "warmup"
        self.lock = threading.Lock()
        self.samples = {}  # (kind, phase) -> [seconds]
        self.statuses = {}  # (kind, phase) -> {status: count}
        self.stop = threading.Event()

    def add(self, kind, seconds, status):
        with self.lock:
            self.samples.setdefault((kind, self.phase), []).append(seconds)
            counts = self.statuses.setdefault((kind, self.phase), {})
            counts[status] = counts.get(status, 0) + 1

    def get(self, kind, phase):
        with self.lock:
            return list(self.samples.get((kind, phase), [])), dict(self.statuses.get((kind, phase), {}))


def request(conn_holder, port, method, path, body=None, timeout=60):
    """One request on a kept-alive connection (reopened after an error)."""
    if conn_holder[0] is None:
        conn_holder[0] = http.client.HTTPConnection(harness.LOOPBACK, port, timeout=timeout)
    conn = conn_holder[0]
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data is not None else {}
    try:
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        resp.read()
        return resp.status
    except (OSError, http.client.HTTPException):
        conn.close()
        conn_holder[0] = None
        return 0


def loop(rec, kind, port, step, pause):
    holder = [None]
    while not rec.stop.is_set():
        start = time.perf_counter()
        status = step(holder, port)
        rec.add(kind, time.perf_counter() - start, status)
        if pause:
            rec.stop.wait(pause)


def memory_sampler(rec, server, over):
    while not rec.stop.is_set():
        try:
            used = harness.metric(server.metrics(), "modelmux_memory_used_bytes")
            over[0] = max(over[0], used - BUDGET)
        except (OSError, AssertionError, http.client.HTTPException):
            pass
        rec.stop.wait(0.25)


def run_store_faults(args, s3, names, work):
    warm_models, cold_models = names[:2], names[2:]
    results = {label: [] for label, _, _ in FAULTS}
    for _ in range(args.rounds):
        with FaultProxy(harness.LOOPBACK, s3.port) as proxy:
            server = harness.Server(
                f"s3://{s3_harness.BUCKET}/faults", "--s3-endpoint", proxy.endpoint, "--memory-budget",
                str(BUDGET), "--disk-cache", os.path.join(work, "cache"), "--disk-cache-budget", "0",
                "--store-timeout", "1000", "--load-timeout", "5", "--request-timeout", "10000",
                "--failure-backoff", "200", "--s3-max-attempts", "2", "--s3-request-timeout", "1500",
                "--s3-connect-timeout", "1000", "--s3-retry-backoff", "20", "--s3-low-speed-limit", "32768",
                "--s3-low-speed-time", "2")
            with server:
                for m in warm_models:
                    server.invoke(m, "hello")
                rec = Recorder()
                over = [float("-inf")]
                cold_index = [0]

                def ping(holder, port):
                    return request(holder, port, "GET", "/ping")

                warm_index = [0]

                def warm(holder, port):
                    warm_index[0] += 1
                    m = warm_models[warm_index[0] % 2]
                    return request(holder, port, "POST", f"/models/{m}/invoke", {"text": "my card was charged"})

                def cold(holder, port):
                    m = cold_models[cold_index[0] % len(cold_models)]
                    cold_index[0] += 1
                    request(holder, port, "DELETE", f"/models/{m}")
                    return request(holder, port, "POST", f"/models/{m}/invoke", {"text": "where is my order"})

                threads = [threading.Thread(target=loop, args=(rec, "ping", server.port, ping, 0.01)),
                           threading.Thread(target=loop, args=(rec, "warm", server.port, warm, 0.0)),
                           threading.Thread(target=loop, args=(rec, "cold", server.port, cold, 0.3)),
                           threading.Thread(target=memory_sampler, args=(rec, server, over))]
                for t in threads:
                    t.start()
                try:
                    for label, mode, params in FAULTS:
                        rec.phase = ("healthy", label)
                        time.sleep(args.seconds)
                        proxy.set_fault(mode, **params)
                        rec.phase = ("fault", label)
                        time.sleep(args.seconds)
                        proxy.set_fault("pass")
                        rec.phase = ("recovery", label)
                        time.sleep(3)
                finally:
                    rec.stop.set()
                    for t in threads:
                        t.join(120)
                for label, _, _ in FAULTS:
                    results[label].append(summarize(rec, label, over[0]))
    return results


def summarize(rec, label, over_budget):
    row = {}
    for kind in ("ping", "warm"):
        healthy, _ = rec.get(kind, ("healthy", label))
        fault, _ = rec.get(kind, ("fault", label))
        row[kind] = (p99(healthy), p99(fault))
    cold_times, cold_status = rec.get("cold", ("fault", label))
    row["cold_status"] = cold_status
    row["cold_max"] = max(cold_times) if cold_times else float("nan")
    row["over_budget"] = max(0, over_budget)
    return row


def run_slow_tenant(args, generator_dir, source_store, names, work):
    store = os.path.join(work, "slow-store")
    os.makedirs(store, exist_ok=True)
    for t in names[:4]:
        shutil.copytree(os.path.join(source_store, t), os.path.join(store, t))
    subprocess.run([os.path.join(generator_dir, "modelmux-make-fault-models"), "--source",
                    os.path.join(source_store, names[0]), "--out", store, "--slow-rounds", "3000"],
                   check=True, stdout=subprocess.DEVNULL)
    ratios, rows = [], []
    for _ in range(args.rounds):
        with harness.Server(store, "--workers", "2") as server:
            others = names[1:4]
            for m in [*others, "slow-tenant"]:
                server.invoke(m, "hello")
            rec = Recorder()

            other_index = [0]

            def other(holder, port):
                other_index[0] += 1
                m = others[other_index[0] % len(others)]
                return request(holder, port, "POST", f"/models/{m}/invoke", {"text": "refund"})

            def slow(holder, port):
                return request(holder, port, "POST", "/models/slow-tenant/invoke", {"text": "refund"})

            threads = [threading.Thread(target=loop, args=(rec, "other", server.port, other, 0.002))
                       for _ in range(2)]
            for t in threads:
                t.start()
            rec.phase = "alone"
            time.sleep(args.seconds)
            slow_threads = [threading.Thread(target=loop, args=(rec, "slow", server.port, slow, 0.0))
                            for _ in range(2)]
            rec.phase = "with slow"
            for t in slow_threads:
                t.start()
            time.sleep(args.seconds)
            rec.stop.set()
            for t in threads + slow_threads:
                t.join(120)
            alone, _ = rec.get("other", "alone")
            with_slow, _ = rec.get("other", "with slow")
            slow_times, _ = rec.get("slow", "with slow")
            rows.append((p99(alone), p99(with_slow), statistics.median(slow_times) if slow_times else 0))
            ratios.append(p99(with_slow) / p99(alone))
    return rows, ratios


def ms(x):
    return f"{x * 1e3:.1f}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--out", help="also write the tables here")
    args = parser.parse_args()
    bin_dir = os.path.join(args.build, "bin")
    os.environ.setdefault("MODELMUX_BIN", os.path.join(bin_dir, "modelmux"))
    os.environ.setdefault("MODELMUX_S3RVER_DIR", os.path.join(ROOT, "tests", "integration", "s3rver"))
    os.environ.update(s3_harness.server_env())

    work = tempfile.mkdtemp(prefix="modelmux-bench-faults-")
    s3 = s3_harness.S3rver().start()
    try:
        source = os.path.join(work, "store")
        subprocess.run([os.path.join(bin_dir, "modelmux-make-store"), "--out", source, *STORE_FLAGS],
                       check=True, stdout=subprocess.DEVNULL)
        names = sorted(e for e in os.listdir(source) if not e.startswith(("_", ".")))
        for n in names:
            s3.put(f"faults/{n}.tar.gz", s3_harness.model_archive(os.path.join(source, n)))
        store_rows = run_store_faults(args, s3, names, work)
        slow_rows, slow_ratios = run_slow_tenant(args, bin_dir, source, names, work)
    finally:
        s3.cleanup()
        shutil.rmtree(work, ignore_errors=True)

    med = statistics.median
    lines = [f"{args.rounds} round(s) of {args.seconds:.0f} s healthy + {args.seconds:.0f} s fault each; "
             "p99 in ms, client side on loopback",
             "",
             "| fault | /ping p99 healthy → fault | ratio | warm invoke p99 healthy → fault | ratio | "
             "cold requests in the fault (status: count) | slowest cold answer | bytes over budget |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for label, _, _ in FAULTS:
        rows = store_rows[label]
        ph, pf = med(r["ping"][0] for r in rows), med(r["ping"][1] for r in rows)
        wh, wf = med(r["warm"][0] for r in rows), med(r["warm"][1] for r in rows)
        statuses = {}
        for r in rows:
            for k, v in r["cold_status"].items():
                statuses[k] = statuses.get(k, 0) + v
        status_text = ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items()))
        lines.append(f"| {label} | {ms(ph)} → {ms(pf)} | {pf / ph:.2f} × | {ms(wh)} → {ms(wf)} | {wf / wh:.2f} × | "
                     f"{status_text} | {med(r['cold_max'] for r in rows):.2f} s | "
                     f"{max(r['over_budget'] for r in rows):.0f} |")
    lines += ["", "| slow tenant (other tenants' invoke p99) | alone | with the slow tenant busy | ratio | "
              "slow model's median answer |", "| --- | --- | --- | --- | --- |"]
    lines.append(f"| --workers 2 (cap 1 per model) | {ms(med(r[0] for r in slow_rows))} ms | "
                 f"{ms(med(r[1] for r in slow_rows))} ms | {med(slow_ratios):.2f} × | "
                 f"{ms(med(r[2] for r in slow_rows))} ms |")
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
