"""Helpers for the fleet tests: a store of many models, the Fleet of scripts/fleet
(N real modelmux instances + real HAProxy on loopback), and load generators.

The Fleet class is imported from scripts/fleet itself, so the tests exercise the
launcher users run.
"""

import http.client
import importlib.machinery
import importlib.util
import json
import multiprocessing
import os
import random
import shutil
import threading
import time

import harness

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FLEET_SCRIPT = os.path.join(REPO, "scripts", "fleet")
LOOPBACK = "127.0.0.1"


def load_fleet_module():
    loader = importlib.machinery.SourceFileLoader("modelmux_fleet", FLEET_SCRIPT)
    spec = importlib.util.spec_from_loader("modelmux_fleet", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


fleet = load_fleet_module()


def haproxy_binary():
    path = shutil.which("haproxy") or ("/usr/sbin/haproxy" if os.access("/usr/sbin/haproxy", os.X_OK) else None)
    if not path:
        raise AssertionError("haproxy is not installed (scripts/install-deps installs it)")
    return path


def many_models_store(count, prefix="m"):
    """A TempStore with `count` models named <prefix>-NNN: copies (symlinks) of the shared tenants."""
    store = harness.TempStore()
    sources = harness.tenants()
    names = [store.add(f"{prefix}-{i:03d}", sources[i % len(sources)]) for i in range(count)]
    return store, names


def make_fleet(store, instances=3, instance_args=("--workers", "1", "--memory-budget", "1G"), **kwargs):
    return fleet.Fleet(harness.server_binary(), store, instances, instance_args, haproxy=haproxy_binary(), **kwargs)


def loaded_models(port):
    """Names of READY models on one instance (POST /v2/repository/index {"ready": true})."""
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=30)
    try:
        conn.request("POST", "/v2/repository/index", body=json.dumps({"ready": True}),
                     headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        data = resp.read()
        if resp.status != 200:
            raise AssertionError(f"index on port {port} -> {resp.status}: {data[:200]!r}")
        return {e["name"] for e in json.loads(data) if e.get("state") == "READY"}
    finally:
        conn.close()


def placement(the_fleet):
    """{instance name: set of READY models} over the fleet's live instances."""
    return {i.name: loaded_models(i.port) for i in the_fleet.instances if i.alive()}


def front_request(port, method, path, body=None, headers=None):
    """One request on a fresh connection: (status, lower-case headers, body bytes)."""
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=60)
    try:
        data = json.dumps(body) if body is not None else None
        hdrs = {"Content-Type": "application/json"} if body is not None else {}
        hdrs.update(headers or {})
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def request(port, method, path, headers=None, body=None):
    """One request on a fresh connection: (status, lower-case headers, body)."""
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


class Client:
    """One keep-alive connection to the front end; reconnects after an error."""

    def __init__(self, port, timeout=60.0):
        self.port = port
        self.timeout = timeout
        self.conn = None

    def invoke(self, model, text="where is my refund"):
        """(status or None on a connection error, instance header, seconds)."""
        body = json.dumps({"text": text, "top_k": 1})
        start = time.monotonic()
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(LOOPBACK, self.port, timeout=self.timeout)
            self.conn.request("POST", f"/models/{model}/invoke", body=body,
                              headers={"Content-Type": "application/json"})
            resp = self.conn.getresponse()
            resp.read()
            return resp.status, resp.getheader("X-Modelmux-Instance"), time.monotonic() - start
        except (OSError, http.client.HTTPException):
            self.close()
            return None, None, time.monotonic() - start

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class Recorder:
    """Thread-safe list of (time, model, status, instance, seconds)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.rows = []

    def add(self, model, result):
        with self.lock:
            self.rows.append((time.monotonic(), model, *result))

    def snapshot(self):
        with self.lock:
            return list(self.rows)


def drive(port, models, threads, think, stop, recorder, seed=0):
    """Threads each sending requests for random `models` (one at a time, `think`
    seconds apart) until `stop` is set. Returns the started threads."""

    def worker(k):
        rnd = random.Random(seed * 1000 + k)
        client = Client(port)
        while not stop.is_set():
            model = rnd.choice(models)
            recorder.add(model, client.invoke(model))
            if think:
                time.sleep(think)
        client.close()

    started = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(threads)]
    for t in started:
        t.start()
    return started


def _hot_worker(port, model, connections, think, running, stop, counts):
    def one():
        client = Client(port)
        while not stop.is_set():
            if not running.is_set():
                running.wait(0.05)
                continue
            status, _, _ = client.invoke(model)
            with counts.get_lock():
                counts[0 if status == 200 else 1] += 1
            if think:
                time.sleep(think)
        client.close()

    workers = [threading.Thread(target=one) for _ in range(connections)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


class HotLoad:
    """One model driven over many keep-alive connections from a separate process
    (so its Python work does not contend for the measuring threads' GIL);
    resume()/pause() switch it on and off."""

    def __init__(self, port, model, connections, think):
        ctx = multiprocessing.get_context("fork")
        self.running = ctx.Event()
        self.stop_event = ctx.Event()
        self.counts = ctx.Array("l", 2)  # [ok, failed]
        self.proc = ctx.Process(target=_hot_worker, daemon=True,
                                args=(port, model, connections, think, self.running, self.stop_event, self.counts))

    def __enter__(self):
        self.proc.start()
        return self

    def resume(self):
        self.running.set()

    def pause(self):
        self.running.clear()

    def __exit__(self, *exc):
        self.stop_event.set()
        self.running.set()
        self.proc.join(30)
        if self.proc.is_alive():
            self.proc.kill()
        return False


def percentile(values, p):
    if not values:
        raise AssertionError("no samples to take a percentile of")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100.0 * (len(ordered) - 1))))]
