"""Server side of bench/backends.sh: one store of one framework served by
modelmux, measured the way the raw baseline measures the library alone.

  cold load   POST /v2/repository/models/{m}/load of every model, each
              unloaded before the next load, as the raw baseline frees each
              (client wall ms; the server's own load seconds)
  warm        modelmux-loadgen, one connection, one text (or one row) per
              request: requests/s, latency, server CPU µs per request (its
              /proc CPU time over the requests answered) and the worker's
              inference µs (modelmux_inference_duration_seconds)
  batch       tabular only: rows of --batch-rows per request, two connections:
              rows per second and rows per server CPU second
  quality     every held-out example through the server: top-1 or ROC AUC
  density     --density-copies names of the first model (symlinked copies),
              all loaded: resident bytes per model (VmRSS delta) and the bytes
              the server charges against its budget

Prints JSON. Standard library only.
"""

import argparse
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import tempfile
import threading
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


class Server:
    def __init__(self, binary, store, *args):
        self.tmp = tempfile.mkdtemp(prefix="bench-backends-")
        port_file = os.path.join(self.tmp, "port")
        self.log = open(os.path.join(self.tmp, "log"), "wb")
        self.proc = subprocess.Popen([binary, "--store", store, "--address", "127.0.0.1", "--port", "0",
                                      "--port-file", port_file, "--log-level", "warn", *args],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(600):
            if os.path.exists(port_file) and open(port_file).read().strip():
                self.port = int(open(port_file).read())
                break
            if self.proc.poll() is not None:
                raise RuntimeError("modelmux exited: " + open(os.path.join(self.tmp, "log")).read()[-2000:])
            time.sleep(0.05)
        while self.request("GET", "/ping")[0] != 200:
            time.sleep(0.05)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(30)
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def request(self, method, path, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            data = json.dumps(body).encode() if body is not None else None
            conn.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
            resp = conn.getresponse()
            return resp.status, resp.read()
        except (ConnectionError, OSError):
            return 0, b""
        finally:
            conn.close()

    def ok(self, method, path, body=None):
        status, data = self.request(method, path, body)
        if status != 200:
            raise RuntimeError(f"{method} {path} -> {status}: {data[:300]!r}")
        return json.loads(data) if data else None

    def cpu_seconds(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def rss_bytes(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    def metric(self, name):
        status, data = self.request("GET", "/metrics")
        total = 0.0
        for line in data.decode().splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                total += float(line.rsplit(" ", 1)[1])
        return total


def heldout(store, model):
    with open(os.path.join(store, "_heldout", model + ".jsonl")) as f:
        return [json.loads(line) for line in f if line.strip()]


def models_of(store):
    return sorted(d for d in os.listdir(store) if not d.startswith(("_", ".")))


def cold_loads(s, models, rounds):
    """Each model loaded, then unloaded before the next load, as the raw
    baseline frees each model before its next load: both reuse the memory of
    the model before (bench/cold-start.sh measures loads into fresh memory)."""
    client_ms, server_ms = [], []
    for _ in range(rounds):
        for m in models:
            before_sum, before_count = s.metric("modelmux_model_load_seconds_sum"), s.metric("modelmux_model_load_seconds_count")
            t0 = time.perf_counter()
            s.ok("POST", f"/v2/repository/models/{m}/load", {})
            client_ms.append((time.perf_counter() - t0) * 1e3)
            server_ms.append((s.metric("modelmux_model_load_seconds_sum") - before_sum)
                             / max(1, s.metric("modelmux_model_load_seconds_count") - before_count) * 1e3)
            s.ok("DELETE", f"/models/{m}")
    return {"client_ms_p50": statistics.median(client_ms), "server_ms_p50": statistics.median(server_ms),
            "loads": len(client_ms)}


def loadgen(args, s, model, body, connections, seconds):
    cmd = [os.path.join(args.bin, "modelmux-loadgen"), "--port", str(s.port), "-m", model, "--route", "invoke",
           "-c", str(connections), "-d", str(seconds), "--warmup", "0.5", "--json", "--body", json.dumps(body)]
    cpu0, sum0, count0 = s.cpu_seconds(), s.metric("modelmux_inference_duration_seconds_sum"), s.metric(
        "modelmux_inference_duration_seconds_count")
    out = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    cpu = s.cpu_seconds() - cpu0
    inferences = s.metric("modelmux_inference_duration_seconds_count") - count0
    infer_us = (s.metric("modelmux_inference_duration_seconds_sum") - sum0) / max(1, inferences) * 1e6
    # The server's CPU also covers the warm-up requests: divide by all it answered.
    return {"rps": out["throughput_rps"], "p50_us": out["latency_us"]["p50"], "errors": out["error_count"],
            "server_cpu_us_per_request": cpu / max(1, inferences) * 1e6, "server_cpu_s": cpu,
            "inference_us": infer_us, "requests": inferences}


def median_run(runs, *keys):
    out = {}
    for key in runs[0]:
        out[key] = statistics.median(r[key] for r in runs)
    return out


def quality(s, store, models, backend):
    scores = []
    for m in models:
        rows = heldout(store, m)
        if backend == "xgboost":
            got = []
            for i in range(0, len(rows), 256):
                got += s.ok("POST", f"/models/{m}/invoke", {"instances": [r["features"] for r in rows[i:i + 256]]})["predictions"]
            scores.append(auc(got, [r["label"] for r in rows]))
        else:
            right = 0
            for i in range(0, len(rows), 64):
                batch = rows[i:i + 64]
                preds = s.ok("POST", f"/models/{m}/invoke", {"instances": [r["text"] for r in batch], "top_k": 1})["predictions"]
                right += sum(p[0]["label"] == r["label"] for p, r in zip(preds, batch))
            scores.append(right / len(rows))
    return statistics.mean(scores)


def auc(scores, labels):
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    rank_sum, positives, i = 0.0, 0, 0
    while i < len(order):
        j = i
        while j < len(order) and scores[order[j]] == scores[order[i]]:
            j += 1
        for k in range(i, j):
            if labels[order[k]]:
                rank_sum += (i + 1 + j) / 2
                positives += 1
        i = j
    negatives = len(scores) - positives
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def density(args, model_dir):
    tmp = tempfile.mkdtemp(prefix="bench-density-")
    try:
        names = []
        for i in range(args.density_copies + 1):
            name = f"copy-{i:04d}"
            os.mkdir(os.path.join(tmp, name))
            for f in os.listdir(model_dir):
                os.symlink(os.path.join(model_dir, f), os.path.join(tmp, name, f))
            names.append(name)
        s = Server(os.path.join(args.bin, "modelmux"), tmp)
        try:
            s.ok("POST", f"/v2/repository/models/{names[0]}/load", {})  # libraries' one-time state
            time.sleep(0.3)
            rss0, charged0 = s.rss_bytes(), s.metric("modelmux_memory_used_bytes")
            pending, lock = list(names[1:]), threading.Lock()

            def client():
                while True:
                    with lock:
                        if not pending:
                            return
                        name = pending.pop()
                    s.ok("POST", f"/v2/repository/models/{name}/load", {})

            threads = [threading.Thread(target=client) for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            time.sleep(0.3)
            per_model = (s.rss_bytes() - rss0) / args.density_copies
            charged = (s.metric("modelmux_memory_used_bytes") - charged0) / args.density_copies
        finally:
            s.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"models": args.density_copies, "rss_bytes_per_model": per_model, "charged_bytes_per_model": charged,
            "models_per_gib": (1 << 30) / per_model if per_model > 0 else 0}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--store", required=True)
    p.add_argument("--backend", required=True)
    p.add_argument("--text", required=True)
    p.add_argument("--seconds", type=float, default=4)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--batch-rows", type=int, default=256)
    p.add_argument("--density-copies", type=int, default=100)
    args = p.parse_args()
    models = models_of(args.store)
    first = models[0]
    row = heldout(args.store, first)[0]
    one = {"instances": [row["features"]]} if args.backend == "xgboost" else {"text": args.text, "top_k": 3}
    out = {"backend": args.backend, "models": len(models),
           "artifact_bytes": statistics.median(
               sum(os.path.getsize(os.path.join(args.store, m, f)) for f in os.listdir(os.path.join(args.store, m)))
               for m in models)}
    s = Server(os.path.join(args.bin, "modelmux"), args.store)
    try:
        out["cold_load"] = cold_loads(s, models, args.rounds)
        s.ok("POST", f"/models/{first}/invoke", one)
        out["warm"] = median_run([loadgen(args, s, first, one, 1, args.seconds) for _ in range(args.rounds)])
        if args.backend == "xgboost":
            rows = heldout(args.store, first)
            batch = {"instances": [rows[i % len(rows)]["features"] for i in range(args.batch_rows)]}
            runs = [loadgen(args, s, first, batch, 2, args.seconds) for _ in range(args.rounds)]
            for r in runs:
                r["rows_per_second"] = r["rps"] * args.batch_rows
                r["rows_per_cpu_second"] = r["requests"] * args.batch_rows / r["server_cpu_s"]
            out["batch"] = median_run(runs)
            out["batch"]["rows_per_request"] = args.batch_rows
        out["quality"] = quality(s, args.store, models, args.backend)
    finally:
        s.stop()
    out["density"] = density(args, os.path.join(args.store, first))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
