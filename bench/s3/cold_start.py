#!/usr/bin/env python3
"""Cold start from the S3 store vs from the disk cache vs warm in memory
(issue 4), for 8 MB and 50 MB artifacts, against s3rver on loopback.

usage: bench/s3/cold_start.py [--rounds N] [--build DIR] [--out FILE]

For each model size it generates one tenant with modelmux-make-store, uploads
its .tar.gz to s3rver, and per round:
  store  a fresh modelmux with an empty --disk-cache, after one other model
         (a copy) has paid libtorch's one-time set-up: invoke (HEAD, GET, MD5
         check, unpack, deserialize, warm-up, inference)
  disk   DELETE the model from memory, invoke again (HEAD, hard-linked copy
         from the disk cache, deserialize, warm-up, inference)
  warm   invoke the loaded model (inference only)
and prints the median and min over the rounds as a Markdown table. Client-side
wall time of one POST /models/{m}/invoke on loopback.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import harness  # noqa: E402
import s3_harness  # noqa: E402

SIZES = {  # label -> modelmux-make-store flags
    "8 MB": ["--vocab", "32768", "--dim", "64"],
    "50 MB": ["--vocab", "131072", "--dim", "96"],
}


def make_tenant(generator, out, flags):
    subprocess.run([generator, "--tenants", "1", "--out", out, "--seed", "11", "--labels-min", "10",
                    "--labels-max", "10", "--tickets-per-label", "5", "--epochs", "1", *flags],
                   check=True, stdout=subprocess.DEVNULL)
    return next(e for e in os.listdir(out) if not e.startswith(("_", ".")))


def timed_invoke(server, model):
    start = time.perf_counter()
    status, _, body = server.request("POST", f"/models/{model}/invoke", {"text": "my card was charged twice"})
    elapsed = time.perf_counter() - start
    if status != 200:
        raise RuntimeError(f"invoke {model} -> {status}: {body[:300]!r}")
    return elapsed


_LOADED = re.compile(r"\bloaded model (\S+) \(.*\) in ([0-9.]+) ms")


def load_times(log):
    """Server-side load times (fetch + deserialize + warm-up) in log order, seconds."""
    return [float(m.group(2)) / 1e3 for m in _LOADED.finditer(log)]


def measure(s3, prefix, model, rounds, work):
    times = {"store": [], "disk": [], "warm": [], "load_store": [], "load_disk": []}
    download = []
    for r in range(rounds):
        cache = os.path.join(work, f"cache-{prefix}-{r}")
        with harness.Server(f"s3://{s3_harness.BUCKET}/{prefix}", "--s3-endpoint", s3.endpoint,
                            "--disk-cache", cache, "--memory-budget", "2G") as server:
            # The first load in a process pays libtorch's one-time set-up: not a cold start's cost.
            timed_invoke(server, "primer")
            times["store"].append(timed_invoke(server, model))
            download.append(harness.metric(server.metrics(), "modelmux_model_download_seconds_sum") / 2)
            server.json("DELETE", f"/models/{model}")
            times["disk"].append(timed_invoke(server, model))
            timed_invoke(server, model)
            times["warm"].append(min(timed_invoke(server, model) for _ in range(5)))
            loads = load_times(server.log())
            times["load_store"].append(loads[1])
            times["load_disk"].append(loads[2])
        shutil.rmtree(cache, ignore_errors=True)
    return times, download


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--out", help="also write the table here")
    args = parser.parse_args()
    os.environ.setdefault("MODELMUX_BIN", os.path.join(args.build, "bin", "modelmux"))
    os.environ.setdefault("MODELMUX_S3RVER_DIR", os.path.join(ROOT, "tests", "integration", "s3rver"))
    os.environ.update(s3_harness.server_env())
    generator = os.path.join(args.build, "bin", "modelmux-make-store")

    work = tempfile.mkdtemp(prefix="modelmux-bench-s3-")
    s3 = s3_harness.S3rver().start()
    rows = []
    try:
        for label, flags in SIZES.items():
            store = os.path.join(work, label.replace(" ", ""))
            model = make_tenant(generator, store, flags)
            archive = s3_harness.model_archive(os.path.join(store, model))
            prefix = label.replace(" ", "").lower()
            s3.put(f"{prefix}/{model}.tar.gz", archive)
            s3.put(f"{prefix}/primer.tar.gz", archive)
            times, download = measure(s3, prefix, model, args.rounds, work)
            rows.append((label, len(archive), times, download))
    finally:
        s3.cleanup()
        shutil.rmtree(work, ignore_errors=True)

    ms = lambda xs: f"{statistics.median(xs) * 1e3:.0f}"  # noqa: E731
    lines = [
        "| artifact | .tar.gz | from the store | (server load; of which GET) | from the disk cache | "
        "(server load) | warm in memory |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for label, size, times, download in rows:
        lines.append(f"| {label} | {size / 1e6:.1f} MB | {ms(times['store'])} ms | "
                     f"({ms(times['load_store'])} ms; {ms(download)} ms) | {ms(times['disk'])} ms | "
                     f"({ms(times['load_disk'])} ms) | {statistics.median(times['warm']) * 1e3:.1f} ms |")
    table = "\n".join(lines)
    print(f"median of {args.rounds} rounds; one invoke, client wall time on loopback\n")
    print(table)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(table + "\n")


if __name__ == "__main__":
    main()
