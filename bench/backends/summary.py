"""Writes the markdown table of bench/backends.sh from its raw JSON files.

usage: summary.py RAW_DIR TENANTS SECONDS ROUNDS COPIES HEADER OUT_JSON > backends.md
"""

import json
import os
import sys

KINDS = [("torchscript", "TorchScript"), ("fasttext-bin", "fastText .bin"), ("fasttext-ftz", "fastText .ftz"),
         ("xgboost", "XGBoost")]


def load(raw, kind, side):
    with open(os.path.join(raw, f"{kind}-{side}.json")) as f:
        return json.load(f)


def main():
    raw, tenants, seconds, rounds, copies, header, out_json = sys.argv[1:8]
    data = {kind: {"raw": load(raw, kind, "raw"), "server": load(raw, kind, "server")} for kind, _ in KINDS}
    with open(out_json, "w") as f:
        json.dump(data, f, indent=2)
    p = print
    p("### Backends (bench/backends.sh)\n")
    p(header + "\n")
    p("| | " + " | ".join(name for _, name in KINDS) + " |")
    p("| --- |" + " --- |" * len(KINDS))

    def row(label, fn):
        cells = []
        for kind, _ in KINDS:
            try:
                cells.append(fn(data[kind]["raw"], data[kind]["server"]))
            except (KeyError, TypeError, ZeroDivisionError):
                cells.append("")
        p(f"| {label} | " + " | ".join(cells) + " |")

    row("artifact, median", lambda r, s: f"{s['artifact_bytes'] / 1e6:.2f} MB")
    row("quality: raw library", lambda r, s: f"{100 * r['accuracy']:.1f}% top-1" if "accuracy" in r else f"AUC {r['auc']:.3f}")
    row("quality: through modelmux", lambda r, s: f"{100 * s['quality']:.1f}% top-1" if "accuracy" in r else f"AUC {s['quality']:.3f}")
    row("cold load: raw (load + first call), ms p50", lambda r, s: f"{r['load']['load_ms_p50']:.2f}")
    row("cold load: modelmux (server's own), ms p50", lambda r, s: f"{s['cold_load']['server_ms_p50']:.2f}")
    row("cold load: modelmux, client, ms p50", lambda r, s: f"{s['cold_load']['client_ms_p50']:.2f}")
    row("cold load: modelmux / raw", lambda r, s: f"{s['cold_load']['server_ms_p50'] / r['load']['load_ms_p50']:.2f} ×")
    row("forward: raw, CPU µs per call", lambda r, s: f"{r['forward']['cpu_us_per_call']:.1f}")
    row("forward: raw, wall µs per call (p50)", lambda r, s: f"{r['forward']['p50_us']:.1f}")
    row("forward: modelmux worker, wall µs per request (mean)", lambda r, s: f"{s['warm']['inference_us']:.1f}")
    row("server CPU µs per request", lambda r, s: f"{s['warm']['server_cpu_us_per_request']:.1f}")
    row("server CPU − raw forward, µs", lambda r, s: f"{s['warm']['server_cpu_us_per_request'] - r['forward']['cpu_us_per_call']:.1f}")
    row("warm request p50 µs (one connection)", lambda r, s: f"{s['warm']['p50_us']:.0f}")
    torch = data["torchscript"]
    row("server CPU per request / TorchScript's",
        lambda r, s: f"{s['warm']['server_cpu_us_per_request'] / torch['server']['warm']['server_cpu_us_per_request']:.2f} ×")
    row("rows per CPU second: raw (batches of 256)", lambda r, s: f"{r['extra']['rows_per_cpu_second'] / 1e6:.2f} M")
    row("rows per CPU second: modelmux (batches of 256)", lambda r, s: f"{s['batch']['rows_per_cpu_second'] / 1e6:.2f} M")
    row("rows per second: modelmux, 2 connections", lambda r, s: f"{s['batch']['rows_per_second'] / 1e6:.2f} M")
    row("modelmux / raw rows per CPU second", lambda r, s: f"{s['batch']['rows_per_cpu_second'] / r['extra']['rows_per_cpu_second']:.2f} ×")
    row("density: raw, resident per model", lambda r, s: f"{r['density']['rss_bytes_per_model'] / 1e6:.2f} MB")
    row("density: modelmux, resident per model", lambda r, s: f"{s['density']['rss_bytes_per_model'] / 1e6:.2f} MB")
    row("density: modelmux, charged per model", lambda r, s: f"{s['density']['charged_bytes_per_model'] / 1e6:.2f} MB")
    row("models per GiB: raw / modelmux", lambda r, s: f"{r['density']['models_per_gib']:.0f} / {s['density']['models_per_gib']:.0f}")
    row("models per GiB: modelmux / raw", lambda r, s: f"{s['density']['models_per_gib'] / r['density']['models_per_gib']:.2f} ×")
    row("models per GiB in modelmux / TorchScript's",
        lambda r, s: f"{s['density']['models_per_gib'] / torch['server']['density']['models_per_gib']:.1f} ×")
    p()
    p(f"{tenants} tenants per kind (`modelmux-make-store --tenants {tenants} --seed 42 --backends <kind>`, "
      "fastText .ftz with `--fasttext-quantize`): the TorchScript and fastText tenants are the same tenants with "
      "the same tickets. A text request is the loadgen's 64-word ticket; an XGBoost request one held-out row. "
      f"Timed phases run {seconds} s, {rounds} rounds, medians (cold loads: every model loaded {rounds} times, "
      f"raw and served); density loads {copies} copies of one model "
      f"({4 * int(copies)} for XGBoost). Raw: `modelmux-bench-backends-raw` (one thread, the library's own "
      "calls: `torch::jit::load` + forward, `FastText::loadModel` + `predictLine`, XGBoost's C API with "
      "`XGBoosterPredictFromDense`). Server: `bench/backends/server_bench.py` (cold loads through "
      "`/v2/repository/models/{m}/load`; warm requests with `modelmux-loadgen -c 1`; server CPU from "
      "/proc over the requests answered). Command: `bench/backends.sh`.")


if __name__ == "__main__":
    main()
