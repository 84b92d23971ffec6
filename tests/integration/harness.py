"""Shared helpers for the integration tests: start the real modelmux binary on a
loopback port, talk HTTP to it, build per-test model stores, read /metrics.

Environment (set by tests/integration/CMakeLists.txt):
  MODELMUX_BIN          the server binary
  MODELMUX_MAKE_STORE   the store generator
  MODELMUX_TEST_STORE   the shared store generated once by the ctest fixture
  MODELMUX_PROMTOOL     promtool, when installed

A Server is a context manager and always stops its process: SIGTERM, then
SIGKILL after a timeout, also when the test fails; the child also gets SIGKILL
if the test process itself dies (PR_SET_PDEATHSIG), so no server outlives a test.
"""

import atexit
import contextlib
import ctypes
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

LOOPBACK = "127.0.0.1"
_live_servers = set()


def env_path(name):
    value = os.environ.get(name)
    if not value:
        raise unittest.SkipTest(f"{name} is not set (run the tests through ctest)")
    return value


def server_binary():
    path = env_path("MODELMUX_BIN")
    if not os.access(path, os.X_OK):
        raise AssertionError(f"MODELMUX_BIN={path} is not an executable")
    return path


def shared_store():
    path = env_path("MODELMUX_TEST_STORE")
    if not os.path.isdir(path):
        raise AssertionError(f"MODELMUX_TEST_STORE={path} does not exist (fixture not run?)")
    return path


def tenants(store=None):
    """Model names in a store directory, sorted (directories not starting with '_')."""
    store = store or shared_store()
    return sorted(
        e for e in os.listdir(store) if not e.startswith(("_", ".")) and os.path.isdir(os.path.join(store, e))
    )


def heldout(tenant, store=None):
    """The held-out tickets of a tenant of the shared store: [{"text", "label"}]."""
    store = store or shared_store()
    with open(os.path.join(store, "_heldout", tenant + ".jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def ticket_text(tenant, index=0):
    rows = heldout(tenant)
    return rows[index % len(rows)]["text"]


# ---------------------------------------------------------------- model stores


class TempStore:
    """A store directory in a temp dir built from models of the shared store.

    add(new_name, source) makes <dir>/<new_name>/ whose files are symlinks to the
    shared model's files (cheap, so 300 copies cost nothing); corrupt(name) then
    replaces its model.pt with bytes that are not a TorchScript archive.
    """

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="modelmux-store-")

    def add(self, new_name, source):
        src = os.path.join(shared_store(), source)
        dst = os.path.join(self.dir, new_name)
        os.mkdir(dst)
        for f in os.listdir(src):
            os.symlink(os.path.join(src, f), os.path.join(dst, f))
        return new_name

    def corrupt(self, name):
        path = os.path.join(self.dir, name, "model.pt")
        os.unlink(path)
        with open(path, "wb") as f:
            f.write(b"this is not a TorchScript archive\n" * 64)

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()


# ---------------------------------------------------------------------- server


def _die_with_parent():
    # Runs in the child between fork and exec: SIGKILL it if the test dies.
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


@atexit.register
def _kill_leftovers():
    for server in list(_live_servers):
        server.kill()


class Server:
    """The modelmux binary on 127.0.0.1 with --port 0 --port-file.

    with Server(store, "--workers", "1") as s:
        status, headers, body = s.request("GET", "/ping")
    """

    def __init__(self, store, *args, wait_live=True, start_timeout=60.0, stop_timeout=20.0):
        self.store = store
        self.args = [str(a) for a in args]
        self.wait_live = wait_live
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.proc = None
        self.port = None
        self.returncode = None
        self._tmp = tempfile.mkdtemp(prefix="modelmux-server-")
        self.log_path = os.path.join(self._tmp, "server.log")

    # -- lifecycle

    def start(self):
        port_file = os.path.join(self._tmp, "port")
        cmd = [server_binary(), "--store", self.store, "--address", LOOPBACK, "--port", "0",
               "--port-file", port_file, *self.args]
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        _live_servers.add(self)
        try:
            self.port = self._wait_port_file(port_file)
            if self.wait_live:
                self.wait_until(lambda: self.status("GET", "/v2/health/live") == 200,
                                self.start_timeout, "/v2/health/live to answer 200")
        except BaseException:
            self.kill()
            self.cleanup()
            raise
        return self

    def _wait_port_file(self, port_file):
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"modelmux exited with {self.proc.returncode} before listening\n"
                                     + self.log_tail())
            try:
                with open(port_file, encoding="ascii") as f:
                    text = f.read().strip()
                if text:
                    return int(text)
            except (FileNotFoundError, ValueError):
                pass
            time.sleep(0.02)
        raise AssertionError(f"no port file after {self.start_timeout}s\n" + self.log_tail())

    def terminate(self):
        """SIGTERM, wait; SIGKILL after stop_timeout. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self._finish()

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._finish()

    def _finish(self):
        _live_servers.discard(self)
        self.returncode = self.proc.returncode
        if not self._log.closed:
            self._log.close()
        return self.returncode

    def cleanup(self):
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        self.terminate()
        if exc_type is not None and not issubclass(exc_type, unittest.SkipTest):
            print(f"\n--- modelmux log ({' '.join(self.args)}) ---\n{self.log_tail()}", flush=True)
        self.cleanup()
        return False

    @property
    def pid(self):
        return self.proc.pid

    def log(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def log_tail(self, lines=60):
        return "\n".join(self.log().splitlines()[-lines:])

    def wait_until(self, predicate, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"modelmux exited with {self.proc.returncode} waiting for {what}\n"
                                     + self.log_tail())
            try:
                if predicate():
                    return
            except (ConnectionError, OSError, http.client.HTTPException):
                pass
            time.sleep(0.05)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}\n" + self.log_tail())

    # -- HTTP

    def connection(self, timeout=60.0):
        return http.client.HTTPConnection(LOOPBACK, self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, timeout=60.0):
        """One request on a fresh connection: (status, headers dict lower-case, body bytes)."""
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        hdrs = {"Content-Type": "application/json"} if body is not None else {}
        hdrs.update(headers or {})
        conn = self.connection(timeout)
        try:
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
        finally:
            conn.close()

    def status(self, method, path, body=None, headers=None):
        return self.request(method, path, body, headers)[0]

    def json(self, method, path, body=None, headers=None, expect=200):
        """Request, check the status, return the decoded JSON body."""
        status, _, data = self.request(method, path, body, headers)
        if expect is not None and status != expect:
            raise AssertionError(f"{method} {path} -> {status} (expected {expect}): {data[:500]!r}")
        return json.loads(data) if data else None

    def invoke(self, model, text, top_k=3):
        return self.json("POST", f"/models/{model}/invoke", {"text": text, "top_k": top_k})

    def metrics(self):
        status, _, data = self.request("GET", "/metrics")
        if status != 200:
            raise AssertionError(f"/metrics -> {status}")
        return data.decode()

    def index(self):
        """POST /v2/repository/index as {name: entry}."""
        return {e["name"]: e for e in self.json("POST", "/v2/repository/index", {})}

    def thread_count(self):
        with open(f"/proc/{self.pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Threads:"):
                    return int(line.split()[1])
        raise AssertionError("no Threads: line in /proc/PID/status")


# --------------------------------------------------------------------- metrics

_SAMPLE = re.compile(r"^([A-Za-z_:][A-Za-z0-9_:]*)(\{[^}]*\})?\s+(\S+)")


def metric_samples(text, name):
    """[(labels string, value)] of every sample named exactly `name`."""
    out = []
    for line in text.splitlines():
        m = _SAMPLE.match(line)
        if m and m.group(1) == name:
            out.append((m.group(2) or "", float(m.group(3))))
    return out


def metric(text, name):
    """Sum of every sample named `name`; AssertionError when there is none."""
    samples = metric_samples(text, name)
    if not samples:
        raise AssertionError(f"metric {name} not in /metrics output")
    return sum(v for _, v in samples)


# ------------------------------------------------------------------ assertions


def top(prediction):
    """The first (best) {"label","score"} of one prediction list."""
    return prediction[0]


def assert_same_prediction(test, got, want, msg=""):
    """Same labels in the same order and scores within 1e-5."""
    test.assertEqual([p["label"] for p in got], [p["label"] for p in want], msg)
    for g, w in zip(got, want):
        test.assertAlmostEqual(g["score"], w["score"], delta=1e-5, msg=msg)


def mentions(text, name):
    """Whether `text` names the model `name` (not just a longer name containing it)."""
    return re.search(rf"(?<![A-Za-z0-9._-]){re.escape(name)}(?![A-Za-z0-9._-])", text) is not None


def assert_error_json(test, body, *needles):
    """The body is {"error": "<non-empty>"}; the message contains each needle (any case)."""
    doc = json.loads(body)
    test.assertIsInstance(doc, dict)
    test.assertIn("error", doc)
    test.assertIsInstance(doc["error"], str)
    test.assertTrue(doc["error"].strip(), "empty error message")
    for needle in needles:
        test.assertIn(needle.lower(), doc["error"].lower(), f"error message: {doc['error']!r}")
    return doc["error"]


@contextlib.contextmanager
def temp_file(text, suffix=".txt"):
    fd, path = tempfile.mkstemp(suffix=suffix, prefix="modelmux-")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    try:
        yield path
    finally:
        os.unlink(path)
