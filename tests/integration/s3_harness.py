"""Helpers for the S3 store tests: a real S3 API server on loopback (the npm
package s3rver, installed by scripts/install-deps), uploads signed with SigV4,
s3rver's request log, and a proxy that truncates or corrupts chosen downloads.

Environment (set by tests/integration/CMakeLists.txt):
  MODELMUX_S3RVER_DIR   the folder whose node_modules holds s3rver
"""

import datetime
import hashlib
import hmac
import http.client
import http.server
import io
import os
import re
import shutil
import socketserver
import subprocess
import tarfile
import tempfile
import threading
import time
import unittest
import urllib.parse

import harness

ACCESS_KEY = SECRET_KEY = "S3RVER"  # s3rver's built-in account
REGION = "us-east-1"
BUCKET = "models"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_LOGGED = re.compile(r"info: (GET|HEAD|PUT|DELETE|POST) (\S+) (\d{3})")


def s3rver_script():
    root = harness.env_path("MODELMUX_S3RVER_DIR")
    script = os.path.join(root, "node_modules", "s3rver", "bin", "s3rver.js")
    if not os.path.exists(script):
        raise AssertionError(f"{script} is missing: run scripts/install-deps (npm ci in {root})")
    return script


def server_env():
    """Environment for modelmux: s3rver's credentials."""
    env = dict(os.environ)
    env.update(AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY)
    env.pop("AWS_SESSION_TOKEN", None)
    return env


class S3rver:
    """s3rver on 127.0.0.1 with bucket `models`. stop() and start() again keep
    the port and the data (a store outage)."""

    def __init__(self):
        self.data = tempfile.mkdtemp(prefix="modelmux-s3rver-")
        self.port = 0
        self.proc = None
        self._log_lines = []
        self._reader = None

    def start(self, timeout=30.0):
        cmd = ["node", s3rver_script(), "-d", self.data, "-a", harness.LOOPBACK, "-p", str(self.port),
               "--configure-bucket", BUCKET]
        env = dict(os.environ)
        # The request log omits the method unless colours are on; s3rver's
        # continuation tokens use a cipher Node 17+ only has in the legacy provider.
        env.update(FORCE_COLOR="1", NODE_OPTIONS="--openssl-legacy-provider")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                                     stdin=subprocess.DEVNULL, preexec_fn=harness._die_with_parent)
        listening = threading.Event()

        def read():
            for raw in self.proc.stdout:
                line = _ANSI.sub("", raw.decode("utf-8", "replace"))
                self._log_lines.append(line)
                m = re.search(r"listening on \S+:(\d+)", line)
                if m:
                    self.port = int(m.group(1))
                    listening.set()

        self._reader = threading.Thread(target=read, daemon=True)
        self._reader.start()
        if not listening.wait(timeout):
            self.stop()
            raise AssertionError("s3rver did not start:\n" + "".join(self._log_lines[-30:]))
        return self

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._reader is not None:
            self._reader.join(5)
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.data, ignore_errors=True)

    @property
    def endpoint(self):
        return f"http://{harness.LOOPBACK}:{self.port}"

    # -- the request log

    def requests(self, method=None, key=None):
        """[(method, path, status)] s3rver answered, optionally filtered."""
        out = []
        for line in list(self._log_lines):
            m = _LOGGED.search(line)
            if not m:
                continue
            path = urllib.parse.unquote(m.group(2).split("?")[0])
            if method and m.group(1) != method:
                continue
            if key and path != f"/{BUCKET}/{key}":
                continue
            out.append((m.group(1), path, int(m.group(3))))
        return out

    def gets(self, key):
        return len(self.requests("GET", key))

    def wait_gets(self, key, n, timeout=10):
        """gets(key) once it reaches n, or after `timeout` s: s3rver's log
        reaches us from its stdout some time after it answered (a GET cut off
        mid-body is logged only when s3rver sees the connection close)."""
        deadline = time.monotonic() + timeout
        while self.gets(key) < n and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.gets(key)

    # -- objects

    def put(self, key, data):
        status, body = signed_request(self.endpoint, "PUT", f"/{BUCKET}/{key}", data)
        if status != 200:
            raise AssertionError(f"PUT {key} -> {status}: {body[:300]!r}")

    def delete(self, key):
        signed_request(self.endpoint, "DELETE", f"/{BUCKET}/{key}", b"")

    def put_archive(self, key, model_dir):
        self.put(key, model_archive(model_dir))

    def put_directory(self, prefix, model_dir):
        for name in sorted(os.listdir(model_dir)):
            with open(os.path.join(model_dir, name), "rb") as f:
                self.put(f"{prefix}/{name}", f.read())


def model_archive(model_dir):
    """A .tar.gz of a model directory's files (symlinks followed)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", dereference=True) as tar:
        for name in sorted(os.listdir(model_dir)):
            tar.add(os.path.join(model_dir, name), arcname=name)
    return buf.getvalue()


def signed_request(endpoint, method, path, body):
    """One SigV4-signed request (as the AWS CLI would send it): (status, body)."""
    host = urllib.parse.urlparse(endpoint).netloc
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date, date = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    payload_hash = hashlib.sha256(body).hexdigest()
    headers = {"host": host, "x-amz-content-sha256": payload_hash, "x-amz-date": amz_date}
    signed = ";".join(sorted(headers))
    canonical = "\n".join([method, urllib.parse.quote(path), "",
                           "".join(f"{k}:{headers[k]}\n" for k in sorted(headers)), signed, payload_hash])
    scope = f"{date}/{REGION}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + SECRET_KEY).encode()
    for part in (date, REGION, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/{scope}, "
                                f"SignedHeaders={signed}, Signature={signature}")
    headers["content-length"] = str(len(body))
    del headers["host"]
    conn = http.client.HTTPConnection(host, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


class FaultyProxy:
    """An HTTP proxy in front of s3rver that damages chosen GET responses:
    fail_next(key, "truncate" | "corrupt" | "stall", times). A truncated body
    is cut in half under the full Content-Length; a corrupt one has a byte
    flipped; a stalled one sends half its body, then nothing more until the
    proxy stops."""

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.faults = {}  # key -> [mode, remaining]
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_HEAD(self):
                self.forward(send_body=False)

            def do_GET(self):
                self.forward(send_body=True)

            def forward(self, send_body):
                conn = http.client.HTTPConnection(harness.LOOPBACK, proxy.upstream_port, timeout=30)
                try:
                    conn.request(self.command, self.path, headers={k: v for k, v in self.headers.items()})
                    resp = conn.getresponse()
                    body = resp.read()
                    headers = resp.getheaders()
                finally:
                    conn.close()
                mode = proxy.take_fault(self.command, self.path) if resp.status == 200 else None
                if mode == "corrupt" and body:
                    i = len(body) // 2
                    body = body[:i] + bytes([body[i] ^ 0xFF]) + body[i + 1:]
                self.send_response(resp.status)
                for k, v in headers:
                    if k.lower() not in ("connection", "transfer-encoding", "keep-alive"):
                        self.send_header(k, v)
                if mode == "truncate":
                    self.send_header("Connection", "close")
                self.end_headers()
                if not send_body:
                    return
                if mode in ("truncate", "stall"):
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    if mode == "stall":
                        proxy.stopping.wait()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        class ThreadingServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

        self.httpd = ThreadingServer((harness.LOOPBACK, 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def endpoint(self):
        return f"http://{harness.LOOPBACK}:{self.port}"

    def fail_next(self, key, mode, times=1):
        with self.lock:
            self.faults[f"/{BUCKET}/{key}"] = [mode, times]

    def take_fault(self, method, path):
        if method != "GET":
            return None
        with self.lock:
            fault = self.faults.get(urllib.parse.unquote(path.split("?")[0]))
            if not fault or fault[1] <= 0:
                return None
            fault[1] -= 1
            return fault[0]

    def stop(self):
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class S3TestCase(unittest.TestCase):
    """One s3rver for the test class; each test uses its own key prefix."""

    @classmethod
    def setUpClass(cls):
        shutil.which("node") or cls.fail(cls, "node is not installed (scripts/install-deps)")
        cls.s3 = S3rver().start()

    @classmethod
    def tearDownClass(cls):
        cls.s3.cleanup()

    def setUp(self):
        self._saved_env = dict(os.environ)
        os.environ.update(server_env())
        self._tmp = tempfile.mkdtemp(prefix="modelmux-s3-test-")

    def tearDown(self):
        os.environ.clear()
        os.environ.update(self._saved_env)
        shutil.rmtree(self._tmp, ignore_errors=True)

    def reference(self, tenants):
        """Each tenant's answer and measured bytes, from the local store."""
        answers, sizes = {}, {}
        with harness.Server(harness.shared_store()) as s:
            for t in tenants:
                answers[t] = s.invoke(t, harness.ticket_text(t))
                sizes[t] = s.index()[t]["bytes"]
        return answers, sizes

    def temp_dir(self, name):
        path = os.path.join(self._tmp, name)
        os.makedirs(path, exist_ok=True)
        return path

    def upload_tenant(self, prefix, name, source, form="archive"):
        src = os.path.join(harness.shared_store(), source)
        if form == "archive":
            self.s3.put_archive(f"{prefix}/{name}.tar.gz", src)
        else:
            self.s3.put_directory(f"{prefix}/{name}", src)
        return name

    def server(self, prefix, *args, endpoint=None):
        return harness.Server(f"s3://{BUCKET}/{prefix}", "--s3-endpoint", endpoint or self.s3.endpoint,
                              "--s3-retry-backoff", "20", "--s3-connect-timeout", "1000",
                              "--s3-request-timeout", "5000", *args)
