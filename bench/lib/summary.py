#!/usr/bin/env python3
"""Writes the issue-3 targets table (summary.md) from bench/results/*.json."""
import json
import os
import sys

out = sys.argv[1]


def load(name):
    path = os.path.join(out, name + ".json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def verdict(ok):
    return "met" if ok else "**not met**"


rows = []
http, warm, cold, churn, dens = (load(n) for n in ("http-ceiling", "warm-invoke", "cold-start", "churn", "density"))
if http:
    r = http["ratio_wrk"]
    rows.append(("`/ping` throughput ≥ 0.8 × nginx", f"{r:.2f} × (wrk; {http['ratio_loadgen']:.2f} × under loadgen)", verdict(r >= 0.8)))
if warm:
    r = warm["ratio_wrk"]
    rows.append(("warm invoke ≥ 0.7 × ideal", f"{r:.2f} × of {warm['ideal_rps']:.0f} req/s (wrk; {warm['ratio_loadgen']:.2f} × under loadgen)", verdict(r >= 0.7)))
    cpu, limit = warm["server_cpu_us_per_req_wrk"], warm["raw_forward_cpu_us"] + 15
    rows.append(("server CPU per warm invoke ≤ raw forward CPU + 15 µs", f"{cpu:.0f} µs vs {limit:.0f} µs", verdict(cpu <= limit)))
    p99 = warm.get("p99_us_at_half_max")
    if p99 is not None:
        rows.append(("p99 at half the maximum throughput ≤ 1 ms", f"{p99 / 1e3:.2f} ms at {warm['max_rps'] / 2:.0f} req/s", verdict(p99 <= 1000)))
if cold:
    h, c = cold["held"], cold["recycled"]
    r = h["ratio"]
    rows.append(("cold first invoke ≤ 1.25 × (raw load + first forward)",
                 f"{r:.2f} × of the means ({h['modelmux_first_invoke_ms']:.1f} vs {h['raw_load_first_forward_ms']:.1f} ms), "
                 f"{h['ratio_p50']:.2f} × of the medians, models held; {c['ratio']:.2f} × with memory recycled",
                 verdict(r <= 1.25)))
if dens:
    first, last = dens[1], dens[-1]
    rows.append((f"threads identical at {first['loaded']} and {last['loaded']} loaded", f"{first['threads']} and {last['threads']}", verdict(first["threads"] == last["threads"])))
    rows.append((f"RSS ≤ 1.15 × artifacts + 300 MB at {last['loaded']} loaded", f"{last['rss_mb']:.0f} MiB vs {last['limit_mb']:.0f} MiB", verdict(last["rss_mb"] <= last["limit_mb"])))
if churn:
    rows.append(("churn: no errors", f"{churn['errors']} errors, hit ratio {churn['hit_ratio']:.2f}, {churn['loads_per_second']:.0f} loads/s", verdict(churn["errors"] == 0)))
    rows.append(("churn: peak RSS ≤ budget + 300 MB", f"{churn['peak_rss_mb']} MiB vs {churn['budget_mb']} + 300 MiB", verdict(churn["peak_minus_budget_mb"] <= 300)))

lines = ["| target | measured | |", "| --- | --- | --- |"]
lines += [f"| {t} | {m} | {v} |" for t, m, v in rows]
with open(os.path.join(out, "summary.md"), "w") as f:
    f.write("\n".join(lines) + "\n")
print("\n".join(lines))
