"""The fault proxy (fault_proxy.py) itself: each mode against a tiny HTTP/1.1
upstream (http.server in a thread), asserting what a client observes (a read
that times out, a reset after exactly N bytes, an S3 XML error on a connection
that stays usable, a measured trickle rate), that a switch reaches connections
already open, the CLI's control endpoint, and once through s3rver."""

import http.client
import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import xml.etree.ElementTree as ET

import harness
from fault_proxy import FaultProxy

HERE = os.path.dirname(os.path.abspath(__file__))


def pattern(n):
    return (bytes(range(256)) * (n // 256 + 1))[:n]


class Upstream:
    """GET|HEAD /bytes/N: N bytes; GET /chunked/N/K: N bytes in chunks of K;
    POST /echo: the body's length. Records (client port, method, path)."""

    def __init__(self):
        self.seen = []
        upstream = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _record(self):
                upstream.seen.append((self.client_address[1], self.command, self.path))

            def do_HEAD(self):
                self._record()
                self._send_bytes(int(self.path.split("/")[2]), body=False)

            def do_GET(self):
                self._record()
                parts = self.path.split("/")
                if parts[1] == "chunked":
                    n, k = int(parts[2]), int(parts[3])
                    self.send_response(200)
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    data = pattern(n)
                    for i in range(0, n, k):
                        piece = data[i:i + k]
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    self.wfile.write(b"0\r\n\r\n")
                else:
                    self._send_bytes(int(parts[2]), body=True)

            def do_POST(self):
                self._record()
                if "chunked" in self.headers.get("Transfer-Encoding", ""):
                    total = 0
                    while True:
                        size = int(self.rfile.readline().split(b";")[0], 16)
                        total += len(self.rfile.read(size + 2)) - 2 if size else 0
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b""):
                                pass
                            break
                else:
                    total = len(self.rfile.read(int(self.headers["Content-Length"])))
                body = str(total).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _send_bytes(self, n, body):
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(n))
                self.end_headers()
                if body:
                    self.wfile.write(pattern(n))

        self.httpd = http.server.ThreadingHTTPServer((harness.LOOPBACK, 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def raw_request(port, request, timeout=5.0):
    """A socket to the proxy with `request` sent."""
    sock = socket.create_connection((harness.LOOPBACK, port), timeout=timeout)
    sock.sendall(request)
    return sock


def read_until_error(sock, limit):
    """(bytes received, the exception that ended the reads or None at EOF)."""
    got = bytearray()
    try:
        while len(got) < limit:
            data = sock.recv(65536)
            if not data:
                return bytes(got), None
            got += data
    except OSError as e:
        return bytes(got), e
    return bytes(got), None


def get(conn, path, method="GET", body=None, headers=None):
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    return resp.status, dict(resp.getheaders()), resp.read()


class ProxyTestCase(unittest.TestCase):
    def setUp(self):
        self.upstream = Upstream().__enter__()
        self.addCleanup(self.upstream.__exit__)
        self.proxy = FaultProxy(harness.LOOPBACK, self.upstream.port).start()
        self.addCleanup(self.proxy.stop)

    def connection(self, timeout=10.0):
        conn = http.client.HTTPConnection(harness.LOOPBACK, self.proxy.port, timeout=timeout)
        self.addCleanup(conn.close)
        return conn


class PassTest(ProxyTestCase):
    def test_forwards_every_kind_of_message_on_one_keep_alive_connection(self):
        conn = self.connection()
        self.assertEqual(get(conn, "/bytes/200000")[2], pattern(200000))
        status, headers, body = get(conn, "/bytes/5000", method="HEAD")
        self.assertEqual((status, headers["Content-Length"], body), (200, "5000", b""))
        self.assertEqual(get(conn, "/echo", "POST", body=pattern(70000))[2], b"70000")
        chunks = iter([pattern(3000), pattern(5)])
        self.assertEqual(get(conn, "/echo", "POST", body=chunks)[2],
                         b"3005")
        self.assertEqual(get(conn, "/chunked/30000/999")[2], pattern(30000))
        self.assertEqual(len({port for port, _, _ in self.upstream.seen}), 1)  # one upstream connection
        c = self.proxy.counters()
        self.assertEqual((c["connections_accepted"], c["upstream_connections"], c["requests"],
                          c["upstream_responses"], c["connections_open"]), (1, 1, 5, 5, 1))
        self.assertEqual(c["bytes_from_clients"], c["bytes_to_upstream"])
        self.assertEqual(c["bytes_from_upstream"], c["bytes_to_clients"])
        self.assertGreater(c["bytes_from_clients"], 73005)
        self.assertGreater(c["bytes_to_clients"], 230000)


class BlackholeTest(ProxyTestCase):
    def test_reads_time_out_the_connection_stays_open_and_pass_delivers_the_held_request(self):
        live = self.connection()
        self.assertEqual(get(live, "/bytes/10")[0], 200)  # open before the fault
        self.proxy.set_fault("blackhole")
        sock = raw_request(self.proxy.port, b"GET /bytes/100 HTTP/1.1\r\nHost: x\r\n\r\n", timeout=0.5)
        self.addCleanup(sock.close)
        with self.assertRaises(socket.timeout):  # not b"" (closed) and not a reset
            sock.recv(1)
        live.sock.settimeout(0.5)
        live.request("GET", "/bytes/10")
        with self.assertRaises(socket.timeout):
            live.getresponse()
        self.assertEqual(len(self.upstream.seen), 1)  # nothing reached the upstream
        self.assertGreater(self.proxy.counters()["bytes_from_clients"], 0)  # but it was read

        self.proxy.set_fault("pass")
        sock.settimeout(5)
        answer, error = read_until_error(sock, 100)
        self.assertIsNone(error)
        self.assertTrue(answer.startswith(b"HTTP/1.1 200"), answer[:40])
        deadline = time.monotonic() + 5  # the live connection's held request goes too
        while len(self.upstream.seen) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertEqual(len(self.upstream.seen), 3)


class ResetTest(ProxyTestCase):
    def test_download_is_reset_after_exactly_n_bytes(self):
        self.proxy.set_fault("reset", after_bytes=10000)
        sock = raw_request(self.proxy.port, b"GET /bytes/500000 HTTP/1.1\r\nHost: x\r\n\r\n")
        self.addCleanup(sock.close)
        got, error = read_until_error(sock, 600000)
        self.assertIsInstance(error, ConnectionResetError)
        self.assertEqual(len(got), 10000)
        self.assertTrue(got.startswith(b"HTTP/1.1 200"), got[:40])
        self.assertEqual(self.proxy.counters()["connections_reset"], 1)

    def test_shorter_responses_pass_and_times_ends_the_fault(self):
        self.proxy.set_fault("reset", after_bytes=2000, times=1)
        conn = self.connection()
        self.assertEqual(get(conn, "/bytes/50000", method="HEAD")[0], 200)
        self.assertEqual(get(conn, "/bytes/1000")[2], pattern(1000))
        with self.assertRaises(ConnectionResetError):
            get(conn, "/bytes/50000")
        self.assertEqual(self.proxy.fault(), ("pass", {}))
        self.assertEqual(get(self.connection(), "/bytes/50000")[2], pattern(50000))
        self.assertEqual(self.proxy.counters()["connections_reset"], 1)


class HttpErrorTest(ProxyTestCase):
    def assert_s3_error(self, answer, status, code, body_expected=True):
        self.assertEqual(answer[0], status)
        self.assertEqual(answer[1]["Content-Type"], "application/xml")
        if not body_expected:
            self.assertEqual(answer[2], b"")
            return
        root = ET.fromstring(answer[2])
        self.assertEqual((root.tag, root.findtext("Code")), ("Error", code))
        self.assertTrue(root.findtext("RequestId"))

    def test_answers_here_keeps_the_connection_and_never_contacts_the_upstream(self):
        conn = self.connection()
        self.assertEqual(self.proxy.set_fault("http_error"), {"status": 503, "code": "SlowDown", "times": None})
        self.assert_s3_error(get(conn, "/bytes/10"), 503, "SlowDown")
        # Bodies (by length and chunked) are read to their end: the next request parses.
        self.assert_s3_error(get(conn, "/echo", "POST", body=pattern(50000)), 503, "SlowDown")
        self.assert_s3_error(get(conn, "/echo", "POST", body=iter([b"abc"])), 503, "SlowDown")
        self.assert_s3_error(get(conn, "/bytes/10", method="HEAD"), 503, "SlowDown", body_expected=False)
        self.proxy.set_fault("http_error", status=500)
        self.assert_s3_error(get(conn, "/bytes/10"), 500, "InternalError")
        self.assertEqual(self.upstream.seen, [])
        self.assertEqual(self.proxy.counters()["upstream_connections"], 0)
        self.proxy.set_fault("pass")  # the same connection goes upstream again
        self.assertEqual(get(conn, "/bytes/10")[2], pattern(10))
        c = self.proxy.counters()
        self.assertEqual((c["error_responses"], c["requests"], c["connections_accepted"]), (5, 6, 1))

    def test_times_fails_exactly_the_next_requests(self):
        self.proxy.set_fault("http_error", status=500, times=2)
        conn = self.connection()
        self.assertEqual([get(conn, "/bytes/10")[0] for _ in range(3)], [500, 500, 200])
        self.assertEqual(len(self.upstream.seen), 1)


class TrickleTest(ProxyTestCase):
    def test_measured_rate_is_near_the_set_one(self):
        rate, n = 8192, 16384
        self.proxy.set_fault("trickle", rate=rate)
        conn = self.connection()
        start = time.monotonic()
        self.assertEqual(get(conn, f"/bytes/{n}")[2], pattern(n))
        measured = n / (time.monotonic() - start)
        # Loose on purpose: this checks the shaping works, not its precision.
        self.assertGreater(measured, 0.5 * rate)
        self.assertLess(measured, 1.5 * rate)

    def test_switch_to_pass_mid_transfer_speeds_up_the_same_download(self):
        n = 1_000_000  # over four minutes at 4 KB/s
        self.proxy.set_fault("trickle", rate=4096)
        sock = raw_request(self.proxy.port, f"GET /bytes/{n} HTTP/1.1\r\nHost: x\r\n\r\n".encode(), timeout=1.0)
        self.addCleanup(sock.close)
        early = bytearray()
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            try:
                early += sock.recv(65536)
            except socket.timeout:
                break
        self.assertGreater(len(early), 0)
        self.assertLess(len(early), 16384)
        self.proxy.set_fault("pass")
        sock.settimeout(10)
        head = early.index(b"\r\n\r\n") + 4
        rest, error = read_until_error(sock, head + n - len(early))
        self.assertIsNone(error)
        self.assertEqual(bytes(early[head:] + rest), pattern(n))


class RefuseTest(ProxyTestCase):
    def test_refuses_new_connections_resets_open_ones_and_reopens_on_the_same_port(self):
        conn = self.connection()
        self.assertEqual(get(conn, "/bytes/10")[0], 200)
        port = self.proxy.port
        self.proxy.set_fault("refuse")
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection((harness.LOOPBACK, port), timeout=2).close()
        with self.assertRaises((ConnectionResetError, BrokenPipeError)):
            get(conn, "/bytes/10")
        self.proxy.set_fault("pass")
        self.assertEqual(self.proxy.port, port)
        self.assertEqual(get(self.connection(), "/bytes/10")[0], 200)


class DelayTest(ProxyTestCase):
    def test_first_byte_of_each_response_is_late(self):
        conn = self.connection()
        self.proxy.set_fault("delay", seconds=0.6)
        for _ in range(2):
            start = time.monotonic()
            self.assertEqual(get(conn, "/bytes/10")[2], pattern(10))
            self.assertGreaterEqual(time.monotonic() - start, 0.6)
        self.proxy.set_fault("pass")
        start = time.monotonic()
        get(conn, "/bytes/10")
        self.assertLess(time.monotonic() - start, 0.6)


class ControlTest(ProxyTestCase):
    def test_bad_faults_are_refused_and_change_nothing(self):
        self.proxy.set_fault("trickle", rate=1000)
        for mode, params in [("nap", {}), ("reset", {"rate": 5}), ("http_error", {"status": 200}),
                             ("http_error", {"status": 418}), ("trickle", {"rate": 0}),
                             ("reset", {"after_bytes": -1}), ("reset", {"times": 0}), ("delay", {}),
                             ("http_error", {"code": "<x>"})]:
            with self.assertRaises(ValueError, msg=(mode, params)):
                self.proxy.set_fault(mode, **params)
        self.assertEqual(self.proxy.fault(), ("trickle", {"rate": 1000.0}))

    def test_stop_closes_everything(self):
        self.proxy.set_fault("blackhole")
        sock = raw_request(self.proxy.port, b"GET /bytes/10 HTTP/1.1\r\nHost: x\r\n\r\n")
        self.addCleanup(sock.close)
        time.sleep(0.1)
        port = self.proxy.port
        self.proxy.stop()
        self.assertEqual(read_until_error(sock, 10)[0], b"")
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection((harness.LOOPBACK, port), timeout=2).close()


class CommandLineTest(unittest.TestCase):
    def test_control_endpoint_switches_faults_and_reports_counters(self):
        with Upstream() as upstream, tempfile.TemporaryDirectory() as tmp:
            port_file, control_file = os.path.join(tmp, "port"), os.path.join(tmp, "control")
            proc = subprocess.Popen([sys.executable, os.path.join(HERE, "fault_proxy.py"), "--upstream",
                                     f"{harness.LOOPBACK}:{upstream.port}", "--port-file", port_file,
                                     "--control-port-file", control_file, "--quiet"],
                                    preexec_fn=harness._die_with_parent)
            try:
                deadline = time.monotonic() + 10
                while not os.path.exists(control_file) and time.monotonic() < deadline:
                    self.assertIsNone(proc.poll())
                    time.sleep(0.02)
                with open(port_file) as f:
                    port = int(f.read())
                with open(control_file) as f:
                    control = http.client.HTTPConnection(harness.LOOPBACK, int(f.read()), timeout=10)
                through = http.client.HTTPConnection(harness.LOOPBACK, port, timeout=10)

                def post(doc):
                    status, _, body = get(control, "/fault", "POST", json.dumps(doc).encode())
                    return status, json.loads(body)

                self.assertEqual(get(through, "/bytes/10")[0], 200)
                self.assertEqual(post({"mode": "http_error", "status": 500}),
                                 (200, {"mode": "http_error", "params": {"status": 500, "code": "InternalError",
                                                                         "times": None}}))
                self.assertEqual(get(through, "/bytes/10")[0], 500)
                status, body = post({"mode": "trickle", "rate": -1})
                self.assertEqual(status, 400)
                self.assertIn("rate", body["error"])
                self.assertEqual(post({"nomode": 1})[0], 400)
                state = json.loads(get(control, "/fault")[2])
                self.assertEqual(state["mode"], "http_error")
                self.assertEqual((state["counters"]["requests"], state["counters"]["error_responses"]), (2, 1))
                self.assertEqual(state["counters"]["connections_open"], 1)
                self.assertEqual(post({"mode": "pass"})[0], 200)
                self.assertEqual(get(through, "/bytes/10")[0], 200)
                through.close()
                control.close()
                proc.send_signal(signal.SIGTERM)
                self.assertEqual(proc.wait(10), 0)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()


class ThroughS3rverTest(unittest.TestCase):
    """The faults the store tests use, in front of the real s3rver."""

    def test_s3rver_behind_the_proxy(self):
        import s3_harness  # needs MODELMUX_S3RVER_DIR, set by ctest

        s3_harness.s3rver_script()
        s3 = s3_harness.S3rver().start()
        self.addCleanup(s3.cleanup)
        data = os.urandom(300_000)
        s3.put("faults/object.bin", data)
        path = f"/{s3_harness.BUCKET}/faults/object.bin"
        with FaultProxy(harness.LOOPBACK, s3.port) as proxy:
            # Signed for the proxy's host:port, which is the Host s3rver sees.
            self.assertEqual(s3_harness.signed_request(proxy.endpoint, "GET", path, b""), (200, data))
            proxy.set_fault("reset", after_bytes=100_000)
            with self.assertRaises(ConnectionResetError):
                s3_harness.signed_request(proxy.endpoint, "GET", path, b"")
            # s3rver's log reaches us from its stdout, after the answer: wait for
            # the two GETs so far (the reset one is logged when s3rver sees the
            # connection close).
            self.assertEqual(s3.wait_gets("faults/object.bin", 2), 2)
            proxy.set_fault("http_error", status=503)
            status, body = s3_harness.signed_request(proxy.endpoint, "GET", path, b"")
            self.assertEqual((status, ET.fromstring(body).findtext("Code")), (503, "SlowDown"))
            proxy.set_fault("pass")
            self.assertEqual(s3_harness.signed_request(proxy.endpoint, "GET", path, b""), (200, data))
            # The log is in order: once the last GET is there, a 503 that had
            # reached s3rver would be there too. It did not.
            self.assertEqual(s3.wait_gets("faults/object.bin", 3), 3)


if __name__ == "__main__":
    unittest.main()
