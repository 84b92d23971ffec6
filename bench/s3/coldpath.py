#!/usr/bin/env python3
"""The cold path from S3 and the disk cache (issue 15), as ratios against
baselines measured in the same run, medians over fresh processes.

usage: bench/s3/coldpath.py [--rounds N] [--build DIR] [--sizes "8 MB,50 MB"]
                            [--forms tar.gz,tar,tar.zst,dir] [--out FILE]

For each model size (made as bench/s3/cold_start.py makes them) and artifact
form (.tar.gz, .tar, .tar.zst, the directory form), uploaded to s3rver on
loopback behind the project's TCP fault proxy, each round measures:

  S3 cold      a fresh modelmux on the S3 store with an empty --disk-cache, after
               a copy of the model ("primer") paid libtorch's one-time set-up:
               one POST /models/{m}/invoke (locate, ranged GETs streamed into
               the unpacker, load, inference)
  curl GET     curl fetching the same object(s) from the same s3rver, SigV4
               signed, to /dev/null (the directory form: every file, one curl)
  local cold   a fresh modelmux on a local store holding the same model (the
               directory), after the primer: one invoke
  -> cold ratio = S3 cold / (curl GET + local cold)

  disk hit     in the S3 process (--revalidate-after 4), after the cold load:
               DELETE the model from memory, wait 2.2 s, invoke again (loaded
               from the disk cache), three times: within --revalidate-after of
               the cold load (no request to the store), then past it with the
               store healthy (the hit queues a background check after its
               load), then past it again with the fault proxy black-holing
               the store (the check hangs in the background)
  local reload in the local process: DELETE, wait 2.2 s, invoke again
  -> hit ratio = disk hit / local reload

Every process is fresh per round; times are client wall time on loopback.
Raw per-round numbers go to $BENCH_RAW/coldpath/ (default bench/work/raw/),
the Markdown table to stdout (and --out).
"""

import argparse
import datetime
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, HERE)

import harness  # noqa: E402
import s3_harness  # noqa: E402
from cold_start import SIZES, make_tenant  # noqa: E402
from fault_proxy import FaultProxy  # noqa: E402

FORMS = ("tar.gz", "tar", "tar.zst", "dir")
TEXT = {"text": "my card was charged twice"}
# Every timed reload or hit comes PAUSE_S after the previous request, so an
# idle gap (cold CPU caches, sleeping workers) is the same for all of them.
PAUSE_S = 2.2
REVALIDATE_S = 4
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def tar_bytes(model_dir, mode):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode, dereference=True) as tar:
        for name in sorted(os.listdir(model_dir)):
            tar.add(os.path.join(model_dir, name), arcname=name)
    return buf.getvalue()


def upload(s3, prefix, name, model_dir, form):
    """Uploads `model_dir` as `name` in `form`; returns (keys written, bytes)."""
    if form == "dir":
        keys, total = [], 0
        for f in sorted(os.listdir(model_dir)):
            with open(os.path.join(model_dir, f), "rb") as fh:
                data = fh.read()
            s3.put(f"{prefix}/{name}/{f}", data)
            keys.append(f"{prefix}/{name}/{f}")
            total += len(data)
        return keys, total
    if form == "tar.gz":
        data = s3_harness.model_archive(model_dir)  # what the tests and cold_start.py upload
    elif form == "tar":
        data = tar_bytes(model_dir, "w")
    else:  # tar.zst: zstd's default level, as `tar --zstd` writes it
        data = subprocess.run(["zstd", "-q", "-c"], input=tar_bytes(model_dir, "w"), check=True,
                              stdout=subprocess.PIPE).stdout
    key = f"{prefix}/{name}.{form}"
    s3.put(key, data)
    return [key], len(data)


def timed_invoke(server, model):
    start = time.perf_counter()
    status, _, body = server.request("POST", f"/models/{model}/invoke", TEXT)
    elapsed = time.perf_counter() - start
    if status != 200:
        raise RuntimeError(f"invoke {model} -> {status}: {body[:300]!r}")
    return elapsed


def curl_get(endpoint, keys):
    urls = [f"{endpoint}/{s3_harness.BUCKET}/{k}" for k in keys]
    cmd = ["curl", "-sf", "--aws-sigv4", f"aws:amz:{s3_harness.REGION}:s3", "--user",
           f"{s3_harness.ACCESS_KEY}:{s3_harness.SECRET_KEY}", "-H", f"x-amz-content-sha256: {EMPTY_SHA256}"]
    for url in urls:
        cmd += ["-o", "/dev/null", url]
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - start


def unload(server, model):
    server.json("DELETE", f"/models/{model}")


def local_round(store):
    with harness.Server(store, "--memory-budget", "2G") as server:
        timed_invoke(server, "primer")
        cold = timed_invoke(server, "m")
        unload(server, "m")
        time.sleep(PAUSE_S)
        reload = timed_invoke(server, "m")
    return cold, reload


def s3_round(proxy, prefix, cache, hits):
    """A fresh S3-store process: the cold invoke and, when `hits`, the disk-cache
    hits with the store healthy and black-holed."""
    out = {}
    with harness.Server(f"s3://{s3_harness.BUCKET}/{prefix}", "--s3-endpoint", proxy.endpoint,
                        "--disk-cache", cache, "--memory-budget", "2G", "--revalidate-after", str(REVALIDATE_S),
                        "--store-timeout", "30000", "--s3-request-timeout", "30000") as server:
        timed_invoke(server, "primer")
        out["cold"] = timed_invoke(server, "m")
        if hits:
            # Confirmed by the cold load at t0: the first hit (t0 + 2.2 s) is
            # within --revalidate-after, the second (t0 + 4.4 s) is not and
            # checks (confirming again at t1), the third (t1 + 4.4 s) checks
            # against the black hole.
            unload(server, "m")
            time.sleep(PAUSE_S)
            out["hit_fresh"] = timed_invoke(server, "m")
            unload(server, "m")
            time.sleep(PAUSE_S)
            out["hit"] = timed_invoke(server, "m")
            unload(server, "m")
            time.sleep(2 * PAUSE_S)
            proxy.set_fault("blackhole")
            try:
                out["hit_down"] = timed_invoke(server, "m")
            finally:
                proxy.set_fault("pass")
    shutil.rmtree(cache, ignore_errors=True)
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--sizes", default=",".join(SIZES))
    parser.add_argument("--forms", default=",".join(FORMS))
    parser.add_argument("--out", help="also write the table here")
    args = parser.parse_args()
    sizes = [s.strip() for s in args.sizes.split(",")]
    forms = [f.strip() for f in args.forms.split(",")]
    os.environ.setdefault("MODELMUX_BIN", os.path.join(args.build, "bin", "modelmux"))
    os.environ.setdefault("MODELMUX_S3RVER_DIR", os.path.join(ROOT, "tests", "integration", "s3rver"))
    os.environ.update(s3_harness.server_env())
    generator = os.path.join(args.build, "bin", "modelmux-make-store")
    raw_dir = os.path.join(os.environ.get("BENCH_RAW", os.path.join(ROOT, "bench", "work", "raw")), "coldpath")
    os.makedirs(raw_dir, exist_ok=True)

    work = tempfile.mkdtemp(prefix="modelmux-bench-coldpath-")
    s3 = s3_harness.S3rver().start()
    raw = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "rounds": args.rounds, "results": {}}
    try:
        with FaultProxy(harness.LOOPBACK, s3.port) as proxy:
            for label in sizes:
                gen = os.path.join(work, label.replace(" ", ""))
                tenant = make_tenant(generator, gen, SIZES[label])
                model_dir = os.path.join(gen, tenant)
                local = os.path.join(work, f"local-{label.replace(' ', '')}")
                os.makedirs(local)
                for name in ("m", "primer"):
                    shutil.copytree(model_dir, os.path.join(local, name))
                keys, object_bytes = {}, {}
                for form in forms:
                    prefix = f"{label.replace(' ', '').lower()}-{form.replace('.', '')}"
                    form_keys, size = upload(s3, prefix, "m", model_dir, form)
                    keys[form] = (prefix, form_keys)
                    object_bytes[form] = size
                    upload(s3, prefix, "primer", model_dir, form)
                per = {"local_cold": [], "local_reload": [], "bytes": object_bytes}
                for form in forms:
                    per[form] = {"cold": [], "curl": [], "hit_fresh": [], "hit": [], "hit_down": []}
                for r in range(args.rounds):
                    cold, reload = local_round(local)
                    per["local_cold"].append(cold)
                    per["local_reload"].append(reload)
                    for form in forms:
                        prefix, form_keys = keys[form]
                        per[form]["curl"].append(curl_get(s3.endpoint, form_keys))
                        got = s3_round(proxy, prefix, os.path.join(work, f"cache-{prefix}-{r}"),
                                       hits=(form == forms[0]))
                        for k, v in got.items():
                            per[form][k].append(v)
                    print(f"{label} round {r + 1}/{args.rounds} done", file=sys.stderr, flush=True)
                raw["results"][label] = per
    finally:
        s3.cleanup()
        shutil.rmtree(work, ignore_errors=True)

    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    with open(os.path.join(raw_dir, f"coldpath-{stamp}.json"), "w", encoding="utf-8") as f:
        json.dump(raw, f, indent=1)

    med = statistics.median
    ms = lambda xs: f"{med(xs) * 1e3:.0f}"  # noqa: E731
    lines = ["| model | form | bytes in S3 | S3 cold | curl GET | local cold | **cold ratio** |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for label, per in raw["results"].items():
        for form in forms:
            p = per[form]
            # The ratio of medians of per-round ratios would pair rounds that
            # ran at different moments; each round's ratio pairs what ran
            # together.
            ratios = [c / (g + l) for c, g, l in zip(p["cold"], p["curl"], per["local_cold"])]
            lines.append(f"| {label} | {form} | {per['bytes'][form] / 1e6:.1f} MB | {ms(p['cold'])} ms | {ms(p['curl'])} ms | "
                         f"{ms(per['local_cold'])} ms | **{med(ratios):.2f} ×** |")
    lines += ["", "| model | local reload | disk hit, no check | + check, store healthy | "
              "+ check, store black-holed | **ratios to local reload** |",
              "| --- | --- | --- | --- | --- | --- |"]
    for label, per in raw["results"].items():
        p = per[forms[0]]
        ratios = [med([h / l for h, l in zip(p[k], per["local_reload"])]) for k in ("hit_fresh", "hit", "hit_down")]
        lines.append(f"| {label} | {ms(per['local_reload'])} ms | {ms(p['hit_fresh'])} ms | {ms(p['hit'])} ms | "
                     f"{ms(p['hit_down'])} ms | **{' / '.join(f'{r:.2f}' for r in ratios)} ×** |")
    table = "\n".join(lines)
    print(f"median of {args.rounds} rounds (fresh processes); ratios: median of per-round ratios\n")
    print(table)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(table + "\n")


if __name__ == "__main__":
    main()
