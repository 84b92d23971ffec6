#!/usr/bin/env python3
"""The soak's sampler: every --interval seconds, one JSON line with what the
process uses (/proc: RSS, fds, threads), what the server reports (/metrics:
memory charged, budget, cache hits, requests by route and status, store
errors), how long /ping and /metrics took to answer, and the fault proxy's
mode and counters.

usage: sampler.py --port P --pid PID --control-port C --out FILE [--interval 5]
                  [--until EPOCH]

Samples keep a fixed cadence (start + k x interval) and each HTTP call has a
short timeout: when the server stops answering (a stalled I/O thread) the
sample still records /proc and says the call timed out, instead of the
sampler stalling with it. Ends at --until, SIGTERM, or when PID exits.
"""

import argparse
import http.client
import json
import os
import re
import signal
import time

_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """{name: [(labels dict, value)]}. Label values may hold braces (route
    templates like /models/{name}/invoke), so the value is split off the
    right and labels are matched pairwise."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        head, _, value = line.rpartition(" ")
        name, _, labels = head.partition("{")
        try:
            out.setdefault(name, []).append((dict(_LABEL.findall(labels)), float(value)))
        except ValueError:
            continue
    return out


def total(metrics, name):
    return sum(v for _, v in metrics.get(name, [])) if name in metrics else None


def by_label(metrics, name, *labels):
    """{"label1 label2": value} of one metric."""
    return {" ".join(l.get(k, "") for k in labels): v for l, v in metrics.get(name, [])}


def timed_get(port, path, timeout):
    """(status, body, milliseconds) or (None, error text, milliseconds)."""
    start = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, body, (time.monotonic() - start) * 1e3
    except (OSError, http.client.HTTPException) as e:
        return None, type(e).__name__, (time.monotonic() - start) * 1e3
    finally:
        conn.close()


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "Threads"):
                out[key] = int(value.split()[0])
    return {"rss_kb": out.get("VmRSS"), "hwm_kb": out.get("VmHWM"), "threads": out.get("Threads"),
            "fds": len(os.listdir(f"/proc/{pid}/fd"))}


def server_sample(port, timeout):
    status, body, ms = timed_get(port, "/ping", timeout)
    sample = {"ping_status": status, "ping_ms": round(ms, 2)}
    status, body, ms = timed_get(port, "/metrics", timeout)
    sample["metrics_ms"] = round(ms, 2)
    if status != 200:
        sample["metrics_error"] = body if status is None else f"HTTP {status}"
        return sample
    m = parse_metrics(body.decode("utf-8", "replace"))
    sample.update(
        memory_used=total(m, "modelmux_memory_used_bytes"),
        memory_budget=total(m, "modelmux_memory_budget_bytes"),
        loaded_models=total(m, "modelmux_loaded_models"),
        cache_hits=total(m, "modelmux_model_cache_hits_total"),
        cache_misses=total(m, "modelmux_model_cache_misses_total"),
        evictions=total(m, "modelmux_evictions_total"),
        load_failures=total(m, "modelmux_model_load_failures_total"),
        requests=by_label(m, "modelmux_requests_total", "route", "code"),
        store_errors=by_label(m, "modelmux_store_errors_total", "kind"),
    )
    return sample


def proxy_sample(control_port, timeout):
    status, body, _ = timed_get(control_port, "/fault", timeout)
    if status != 200:
        return {"proxy_error": body if status is None else f"HTTP {status}"}
    state = json.loads(body)
    return {"proxy_mode": state["mode"], "proxy": state["counters"]}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True, help="modelmux's port")
    parser.add_argument("--pid", type=int, required=True, help="modelmux's pid")
    parser.add_argument("--control-port", type=int, help="the fault proxy's control port")
    parser.add_argument("--out", required=True)
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--until", type=float, default=float("inf"), help="stop at this epoch time")
    args = parser.parse_args()
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    timeout = min(2.0, args.interval / 2)
    start = time.monotonic()
    with open(args.out, "a", encoding="utf-8") as out:
        k = 0
        while not stopping and time.time() < args.until:
            sample = {"t": round(time.time(), 3)}
            try:
                sample.update(proc_status(args.pid))
            except FileNotFoundError:
                sample["exited"] = True
                out.write(json.dumps(sample) + "\n")
                return
            sample.update(server_sample(args.port, timeout))
            if args.control_port:
                sample.update(proxy_sample(args.control_port, timeout))
            out.write(json.dumps(sample, sort_keys=True) + "\n")
            out.flush()
            k += 1
            while not stopping and time.monotonic() < start + k * args.interval:
                time.sleep(min(0.2, max(0.0, start + k * args.interval - time.monotonic())))


if __name__ == "__main__":
    main()
