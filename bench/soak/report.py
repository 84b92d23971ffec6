#!/usr/bin/env python3
"""The soak's report: reads what bench/soak.sh left in RAW_DIR (run.json,
events.jsonl, samples.jsonl, segments.jsonl with loadgen/*.json,
manage.jsonl), checks the goals, writes OUT_DIR/soak.md, soak.json and
soak.png (gnuplot), and prints the goal checks.

usage: report.py RAW_DIR OUT_DIR

Where a figure is cut by the fault window: the server's request counters are
read at each sample, so an interval between two samples that overlaps the
window counts as in it (a sample the server did not answer widens the
interval); a loadgen run (SOAK_SEGMENT seconds) that overlaps it counts as
in it too. Everything else is "outside".
"""

import json
import os
import statistics
import subprocess
import sys

MIB = 1048576
PHASES = ("outside", "before", "fault", "after")  # "outside": a run without a fault


def read_jsonl(path):
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


class Run:
    """The raw material of one soak, with its times (epoch seconds)."""

    def __init__(self, raw):
        self.raw = raw
        with open(os.path.join(raw, "run.json"), encoding="utf-8") as f:
            self.cfg = json.load(f)
        events = {e["event"]: e["t"] for e in read_jsonl(os.path.join(raw, "events.jsonl"))}
        self.start, self.end = events["start"], events["end"]
        self.fault = (events["fault_on"], events["fault_off"]) if "fault_on" in events else None
        self.samples = [s for s in read_jsonl(os.path.join(raw, "samples.jsonl")) if "rss_kb" in s]
        self.answered = [s for s in self.samples if "memory_used" in s]
        self.segments = []
        for seg in read_jsonl(os.path.join(raw, "segments.jsonl")):
            if seg["name"] == "warmup":
                continue
            try:
                with open(os.path.join(raw, "loadgen", seg["name"] + ".json"), encoding="utf-8") as f:
                    seg["result"] = json.load(f)
            except (OSError, ValueError):
                seg["result"] = None  # loadgen failed: its .err file says why
            self.segments.append(seg)
        self.calls = read_jsonl(os.path.join(raw, "manage.jsonl"))

    def in_fault(self, a, b=None):
        """Whether [a, b] (or the instant a) overlaps the fault window."""
        b = a if b is None else b
        return self.fault is not None and a <= self.fault[1] and b >= self.fault[0]

    def phase(self, a, b=None):
        if self.fault is None:
            return "outside"
        if self.in_fault(a, b):
            return "fault"
        return "after" if a > self.fault[1] else "before"

    def rel(self, t):
        return t - self.start


# ---------------------------------------------------------------- figures


def server_requests(run):
    """Request counts by phase and code, and the 5xx outside the window
    ([(start, end, {"route code": n})] relative to the start)."""
    by_phase, outside_5xx = {}, []
    for prev, cur in zip(run.answered, run.answered[1:]):
        phase = run.phase(prev["t"], cur["t"])
        bad = {}
        for key, value in cur["requests"].items():
            delta = value - prev["requests"].get(key, 0)
            if delta <= 0:
                continue
            code = key.rsplit(" ", 1)[1]
            counts = by_phase.setdefault(phase, {})
            counts[code] = counts.get(code, 0) + delta
            if code.startswith("5") and phase != "fault":
                bad[key] = delta
        if bad:
            outside_5xx.append((round(run.rel(prev["t"]), 1), round(run.rel(cur["t"]), 1), bad))
    return by_phase, outside_5xx


def client_results(run):
    """loadgen totals by workload ("zipf", "scan") and phase: runs,
    completed, ok, errors by kind, the worst run's p99 and the maximum."""
    out = {}
    for seg in run.segments:
        phase = run.phase(seg["start"], seg["end"])
        workload = seg["name"].split("-")[0]
        acc = out.setdefault(workload, {}).setdefault(phase, {"runs": 0, "completed": 0, "ok": 0, "errors": {},
                                                              "failed_runs": 0, "worst_p99_ms": 0.0, "max_ms": 0.0})
        acc["runs"] += 1
        r = seg["result"]
        if r is None or seg["rc"] != 0:
            acc["failed_runs"] += 1
            continue
        acc["completed"] += r["completed"]
        acc["ok"] += r["ok"]
        if r["completed"]:
            acc["worst_p99_ms"] = max(acc["worst_p99_ms"], r["latency_us"]["p99"] / 1e3)
            acc["max_ms"] = max(acc["max_ms"], r["latency_us"]["max"] / 1e3)
        for kind, n in r["errors"].items():
            acc["errors"][kind] = acc["errors"].get(kind, 0) + n
    return out


def is_failure(kind):
    """A loadgen error kind that is a failure of the server: a 5xx or a
    transport error (timeout, closed, connect, ...); "unsent" arrivals are
    the generator's own backlog, not answers."""
    return kind.startswith("5") or (not kind.isdigit() and kind != "unsent")


def window_means(run, key):
    """Mean of `key` over the first and the last window: 5 minutes, or a
    fifth of the run when it is shorter than 25 minutes."""
    span = run.end - run.start
    w = 300.0 if span >= 1500 else span / 5
    first = [s[key] for s in run.samples if s["t"] < run.start + w]
    last = [s[key] for s in run.samples if s["t"] >= run.end - w]
    return w, first, last


def percentile(values, q):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def latency_summary(samples, key, answered_ok):
    """{"n", "unanswered", "p50_ms", "max_ms"} of /ping or /metrics."""
    answered = [s[key] for s in samples if answered_ok(s)]
    unanswered = len(samples) - len(answered)
    return {"n": len(samples), "unanswered": unanswered, "p50_ms": percentile(answered, 0.5),
            "max_ms": max(answered) if answered else None}


def hit_ratio_series(run):
    out = []
    for prev, cur in zip(run.answered, run.answered[1:]):
        hits, misses = cur["cache_hits"] - prev["cache_hits"], cur["cache_misses"] - prev["cache_misses"]
        out.append((cur["t"], hits / (hits + misses) if hits + misses > 0 else None))
    return out


def figures(run):
    cfg, f = run.cfg, {}
    budget = cfg["budget_bytes"]
    f["requests_by_phase"], f["server_5xx_outside"] = server_requests(run)
    f["loadgen_by_phase"] = client_results(run)
    client_fail = {}
    for phases in f["loadgen_by_phase"].values():
        for phase, acc in phases.items():
            if phase != "fault":
                for kind, n in acc["errors"].items():
                    if is_failure(kind):
                        client_fail[kind] = client_fail.get(kind, 0) + n
    f["loadgen_failures_outside"] = client_fail

    used = [s["memory_used"] for s in run.answered]
    f["budget"] = {"budget_bytes": budget, "max_used_bytes": max(used) if used else None,
                   "samples": len(run.samples), "samples_with_metrics": len(run.answered),
                   "samples_over_budget": sum(1 for u in used if u > budget),
                   "samples_without_metrics_in_fault": sum(1 for s in run.samples
                                                           if "memory_used" not in s and run.in_fault(s["t"])),
                   "samples_without_metrics_outside": sum(1 for s in run.samples
                                                          if "memory_used" not in s and not run.in_fault(s["t"]))}
    w, first, last = window_means(run, "rss_kb")
    f["rss"] = {"window_s": round(w), "first_mib": statistics.mean(first) / 1024 if first else None,
                "last_mib": statistics.mean(last) / 1024 if last else None,
                "max_hwm_mib": max(s["hwm_kb"] for s in run.samples) / 1024 if run.samples else None}
    if first and last:
        f["rss"]["drift"] = statistics.mean(last) / statistics.mean(first) - 1
    for key in ("fds", "threads"):
        _, first, last = window_means(run, key)
        values = [s[key] for s in run.samples]
        f[key] = {"first_max": max(first) if first else None, "last_max": max(last) if last else None,
                  "min": min(values) if values else None, "max": max(values) if values else None}
    # fds move with the clients' connections (each one an fd in the server) and
    # libcurl's pool; a leak grows past that, run after run.
    f["fds"]["slack"] = cfg["connections"] + 2 + 2 + 4

    inside = [s for s in run.samples if run.in_fault(s["t"])]
    outside = [s for s in run.samples if not run.in_fault(s["t"])]
    ping_ok, metrics_ok = (lambda s: s.get("ping_status") == 200), (lambda s: "metrics_error" not in s)
    f["ping"] = {"outside": latency_summary(outside, "ping_ms", ping_ok),
                 "fault": latency_summary(inside, "ping_ms", ping_ok)}
    f["metrics_endpoint"] = {"outside": latency_summary(outside, "metrics_ms", metrics_ok),
                             "fault": latency_summary(inside, "metrics_ms", metrics_ok)}
    f["management"] = management(run)
    if run.answered:
        a, b = run.answered[0], run.answered[-1]
        hits, misses = b["cache_hits"] - a["cache_hits"], b["cache_misses"] - a["cache_misses"]
        f["hit_ratio"] = hits / (hits + misses) if hits + misses else None
        f["evictions"] = b["evictions"] - a["evictions"]
        f["load_failures"] = b["load_failures"] - a["load_failures"]
        f["store_errors"] = {k: v - a["store_errors"].get(k, 0) for k, v in b["store_errors"].items()
                             if v - a["store_errors"].get(k, 0) > 0}
    last_proxy = next((s for s in reversed(run.samples) if "proxy" in s), None)
    f["proxy"] = last_proxy["proxy"] if last_proxy else None
    return f


def management(run):
    by = {}
    for c in run.calls:
        key = (c["action"], str(c["status"]), run.phase(c["t"], c["t"] + c["seconds"]))
        entry = by.setdefault(key, {"n": 0, "max_s": 0.0})
        entry["n"] += 1
        entry["max_s"] = max(entry["max_s"], c["seconds"])
    return [{"action": a, "status": s, "phase": p, **v} for (a, s, p), v in sorted(by.items())]


def goals(run, f):
    """[(goal, measured text, met)]."""
    out = []
    bad_server = sum(n for _, _, d in f["server_5xx_outside"] for n in d.values())
    bad_client = sum(f["loadgen_failures_outside"].values())
    tail = ""
    after = [b for a, b, _ in f["server_5xx_outside"] if run.fault and a >= run.rel(run.fault[1]) - 0.5]
    if after:
        tail = f"; the last ones within {max(after) - run.rel(run.fault[1]):.0f} s after the fault ended"
    out.append(("no 5xx outside the fault window",
                f"{bad_server:g} 5xx answered by the server{tail}, {bad_client} failed requests at the clients "
                f"({fmt_counts(f['loadgen_failures_outside']) or 'none'})", bad_server == 0 and bad_client == 0))
    b = f["budget"]
    held = b["samples_over_budget"] == 0 and b["samples_with_metrics"] > 0
    out.append(("budget held at every sample",
                f"max {mib(b['max_used_bytes'])} of {mib(b['budget_bytes'])} MiB; {b['samples_over_budget']} of "
                f"{b['samples_with_metrics']} samples over; {b['samples_without_metrics_in_fault']} in the fault "
                f"window and {b['samples_without_metrics_outside']} outside it without an answer from /metrics",
                held))
    r = f["rss"]
    drift = r.get("drift")
    out.append(("RSS drift ≤ 5%",
                f"{r['first_mib']:.1f} MiB (first {r['window_s']} s) → {r['last_mib']:.1f} MiB "
                f"(last {r['window_s']} s): {drift * 100:+.1f}%" if drift is not None else "not enough samples",
                drift is not None and drift <= 0.05))
    fd = f["fds"]
    out.append(("fds flat", f"max {fd['first_max']} in the first window, {fd['last_max']} in the last "
                f"(range {fd['min']}–{fd['max']}; allowed growth {fd['slack']}: the clients' connections)",
                fd["last_max"] is not None and fd["last_max"] <= fd["first_max"] + fd["slack"]))
    th = f["threads"]
    out.append(("threads flat", f"max {th['first_max']} in the first window, {th['last_max']} in the last "
                f"(range {th['min']}–{th['max']})",
                th["last_max"] is not None and th["last_max"] <= th["first_max"]))
    return out


# ---------------------------------------------------------------- output


def mib(b):
    return "?" if b is None else f"{b / MIB:.1f}"


def fmt_counts(d):
    return ", ".join(f"{k}: {v:g}" for k, v in sorted(d.items()))


def ms(v):
    return "–" if v is None else f"{v:.1f}"


def plot(run, out_dir):
    """soak.png: RSS, memory charged and the budget (MiB, left) and the hit
    ratio per sample interval (right) over the run, the fault window shaded."""
    data = os.path.join(run.raw, "plot.dat")
    ratio = dict(hit_ratio_series(run))
    with open(data, "w", encoding="ascii") as f:
        f.write("# minutes rss_mib used_mib hit_ratio\n")
        for s in run.samples:
            used = s.get("memory_used")
            hr = ratio.get(s["t"])
            f.write(f"{run.rel(s['t']) / 60:.4f} {s['rss_kb'] / 1024:.2f} "
                    f"{'NaN' if used is None else f'{used / MIB:.2f}'} {'NaN' if hr is None else f'{hr:.4f}'}\n")
    shade = ""
    if run.fault:
        a, b = (run.rel(t) / 60 for t in run.fault)
        shade = (f'set object 1 rect from {a:.3f}, graph 0 to {b:.3f}, graph 1 fc rgb "#f4cccc" fs solid 0.5 '
                 f'noborder behind\nset label 1 "fault: {run.cfg["fault"]}" at {a:.3f}, graph 0.96 offset 0.5,0\n')
    c = run.cfg
    budget = c["budget_bytes"] / MIB
    script = f"""
set terminal pngcairo size 1100,560 noenhanced
set output "{os.path.join(out_dir, 'soak.png')}"
set datafile missing "NaN"
set title "modelmux soak: {c['minutes']} min, {c['models']} models at {c['oversubscription']}x the budget"
set xlabel "minutes since the start (after {c['warmup_s']} s warm-up)"
set ylabel "MiB"
set y2label "hit ratio (per sample interval)"
set yrange [0:*]
set y2range [0:1.05]
set y2tics
set ytics nomirror
set key bottom right
set grid
{shade}
plot "{data}" using 1:2 with lines lw 2 title "RSS", \\
     "{data}" using 1:3 with lines lw 2 title "memory charged (modelmux_memory_used_bytes)", \\
     {budget:.2f} with lines dt 2 lc rgb "black" title "budget", \\
     "{data}" using 1:4 axes x1y2 with points pt 7 ps 0.5 title "hit ratio"
"""
    subprocess.run(["gnuplot"], input=script.encode(), check=True)


def markdown(run, f, checks):
    c = run.cfg
    lines = ["### Soak (bench/soak.sh)", "", c["header"], ""]
    doing = ("swallowing every byte (blackhole)" if c["fault"] == "blackhole"
             else f"answering every request {c['fault']} (S3 XML error)")
    fault = ("no fault" if not run.fault else
             f"the fault proxy {doing} from +{run.rel(run.fault[0]):.0f} s to +{run.rel(run.fault[1]):.0f} s")
    lines += [
        f"One instance, {c['models']} models in an S3 store (s3rver behind the fault proxy; copies of "
        f"{c['distinct']} generated tenants) charging {mib(c['store_bytes'])} MiB in all against a budget of "
        f"{mib(c['budget_bytes'])} MiB ({c['oversubscription']}× oversubscribed), "
        f"{'with' if c['disk_cache'] else 'no'} disk cache. {c['minutes']} min after a {c['warmup_s']} s warm-up: "
        f"Zipf({c['zipf_s']}) Poisson arrivals at {c['rate']} req/s over {c['connections']} connections, a scan of "
        f"{c['scan_models']} models in a row every {c['scan_every_s']} s, a management call every "
        f"{c['manage_every_s']} s{' (with an admin token)' if c['admin_token'] else ''}, {fault}; a sample every "
        f"{c['sample_s']} s.", "",
        "| goal | measured | met |", "| --- | --- | --- |"]
    lines += [f"| {g} | {m} | {'yes' if ok else '**no**'} |" for g, m, ok in checks]
    lines += ["", "Requests answered by the server (`modelmux_requests_total`, every route), by status:", "",
              "| phase | " + " | ".join(sorted({k for d in f["requests_by_phase"].values() for k in d})) + " |"]
    codes = sorted({k for d in f["requests_by_phase"].values() for k in d})
    lines.append("| --- |" + " --- |" * len(codes))
    for phase in PHASES:
        if phase in f["requests_by_phase"]:
            d = f["requests_by_phase"][phase]
            lines.append(f"| {phase_name(phase)} | " + " | ".join(f"{d.get(k, 0):g}" for k in codes) + " |")
    if f["server_5xx_outside"]:
        lines += ["", "5xx outside the fault window, by sample interval (seconds since the start):", ""]
        lines += [f"- +{a}–{b} s: {fmt_counts(d)}" for a, b, d in f["server_5xx_outside"][:20]]
        if len(f["server_5xx_outside"]) > 20:
            lines.append(f"- … {len(f['server_5xx_outside']) - 20} more intervals (soak.json)")
    lines += ["", "At the clients (modelmux-loadgen runs; a run that overlaps the window counts as in it; "
              "\"unsent\": arrivals still waiting for a free connection when a run ended, \"timeout\": "
              "requests unanswered 10 s after it ended):", "",
              "| workload | phase | runs | requests | ok | errors | worst run's p99 ms | max ms |",
              "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for workload in ("zipf", "scan"):
        for phase in PHASES:
            a = f["loadgen_by_phase"].get(workload, {}).get(phase)
            if a is None:
                continue
            failed = f" ({a['failed_runs']} failed)" if a["failed_runs"] else ""
            lines.append(f"| {workload} | {phase_name(phase)} | {a['runs']}{failed} | {a['completed']} | {a['ok']} | "
                         f"{fmt_counts(a['errors']) or 'none'} | {a['worst_p99_ms']:.1f} | {a['max_ms']:.1f} |")
    p, m = f["ping"], f["metrics_endpoint"]
    lines += ["", "Liveness as the sampler saw it (2 s timeout):", "",
              "| | /ping p50 ms | /ping max ms | /ping unanswered | /metrics p50 ms | /metrics unanswered |",
              "| --- | --- | --- | --- | --- | --- |"]
    for phase in ("outside", "fault"):
        if p[phase]["n"]:
            # An unanswered /ping took longer than the timeout: its max is that, not the answered ones' max.
            worst = "> 2000 (timeout)" if p[phase]["unanswered"] else ms(p[phase]["max_ms"])
            lines.append(f"| {'fault window' if phase == 'fault' else 'outside it'} ({p[phase]['n']} samples) | "
                         f"{ms(p[phase]['p50_ms'])} | {worst} | {p[phase]['unanswered']} | "
                         f"{ms(m[phase]['p50_ms'])} | {m[phase]['unanswered']} |")
    lines += ["", "Management calls (action, status, phase: count, slowest):", ""]
    lines += [f"- {e['action']} → {e['status']} ({phase_name(e['phase'])}): {e['n']}, slowest {e['max_s']:.2f} s"
              for e in f["management"]]
    extra = [f"hit ratio {f['hit_ratio']:.3f}" if f.get("hit_ratio") is not None else None,
             f"evictions {f['evictions']:g}" if "evictions" in f else None,
             f"failed loads {f['load_failures']:g}" if "load_failures" in f else None,
             f"store errors: {fmt_counts(f['store_errors']) or 'none'}" if "store_errors" in f else None,
             f"peak RSS (VmHWM) {f['rss']['max_hwm_mib']:.0f} MiB" if f["rss"]["max_hwm_mib"] else None]
    lines += ["", "Over the run: " + "; ".join(x for x in extra if x) + "."]
    if f["proxy"]:
        pr = f["proxy"]
        lines.append(f"The proxy forwarded {pr['requests']} requests on {pr['connections_accepted']} client "
                     f"connections ({pr['upstream_connections']} upstream), answered {pr['error_responses']} "
                     f"itself, reset {pr['connections_reset']}; {mib(pr['bytes_to_clients'])} MiB to the server.")
    cpu = c.get("cpu_seconds")
    if cpu:
        lines.append(f"CPU seconds over the whole run, warm-up included: modelmux {cpu['modelmux']:.0f}, "
                     f"fault proxy {cpu['fault_proxy']:.0f}, s3rver {cpu['s3rver']:.0f}.")
    lines += ["", "![soak: RSS, memory charged, hit ratio](soak.png)", "",
              f"Command: `{c['env'] + ' ' if c.get('env') else ''}bench/soak.sh`; modelmux flags: "
              f"`--store s3://models/soak --s3-endpoint <proxy> {c['server_flags']}`. Raw samples: "
              "bench/work/raw/soak/ (not kept in git)."]
    return "\n".join(lines) + "\n"


def phase_name(phase):
    return {"before": "before the fault", "fault": "fault window", "after": "after the fault",
            "outside": "whole run"}.get(phase, phase)


def main():
    raw, out_dir = sys.argv[1], sys.argv[2]
    run = Run(raw)
    if not run.samples:
        sys.exit("report.py: no samples")
    f = figures(run)
    checks = goals(run, f)
    plot(run, out_dir)
    with open(os.path.join(out_dir, "soak.md"), "w", encoding="utf-8") as out:
        out.write(markdown(run, f, checks))
    doc = {"config": run.cfg, "fault_window_s": [run.rel(t) for t in run.fault] if run.fault else None,
           "duration_s": run.end - run.start, "figures": f,
           "goals": [{"goal": g, "measured": m, "met": ok} for g, m, ok in checks]}
    with open(os.path.join(out_dir, "soak.json"), "w", encoding="utf-8") as out:
        json.dump(doc, out, indent=1, sort_keys=True)
    for g, m, ok in checks:
        print(f"{'MET    ' if ok else 'NOT MET'}  {g}: {m}")


if __name__ == "__main__":
    main()
