"""A body over --max-body-bytes is a 413 the client can read (issue 13).

The server decides on the 413 as soon as it has the header (or, for a chunked
body, once the limit is passed), answers with Connection: close, and then
reads and discards what the client still sends (a lingering close, bounded
in bytes and time) before it closes. Without the drain, a client that writes
its whole body before it reads its answer, as Python's http.client and
urllib3 do, sees a broken pipe or a reset instead of the 413.
"""

import http.client
import json
import socket
import time
import unittest

import harness
from harness import LOOPBACK, Server, assert_error_json

MAX_BODY = 1 << 20  # --max-body-bytes
BIG = 20 << 20  # what the clients send: 20 times the limit
# Drain bounds of src/frontend/http/http_session.cc.
MAX_LINGER_BYTES = 64 << 20


def big_body(size):
    """A syntactically valid invoke body of `size` bytes."""
    head, tail = b'{"text": "', b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


class BodyLimitTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.model = harness.tenants()[0]
        cls.server = Server(harness.shared_store(), "--workers", "1", "--max-body-bytes", str(MAX_BODY))
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)

    def send_whole_body_then_read(self, body, **request_args):
        """http.client: request() writes headers and the whole body, then getresponse()."""
        conn = http.client.HTTPConnection(LOOPBACK, self.server.port, timeout=30)
        try:
            conn.request("POST", f"/models/{self.model}/invoke", body=body,
                         headers={"Content-Type": "application/json"}, **request_args)
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def assert_readable_413(self, status, headers, data):
        self.assertEqual(status, 413, data[:200])
        self.assertEqual(headers.get("connection", "").lower(), "close")
        self.assertEqual(headers.get("content-type"), "application/json")
        assert_error_json(self, data, "larger than the limit", str(MAX_BODY))

    def assert_still_serving(self):
        text = harness.ticket_text(self.model)
        doc = self.server.json("POST", f"/models/{self.model}/invoke", {"text": text, "top_k": 2})
        self.assertEqual(len(doc["predictions"][0]), 2)

    def test_client_that_sends_the_whole_body_first_reads_the_413(self):
        body = big_body(BIG)
        # Several times: a race between the client's writes and the server's
        # close would show as an occasional broken pipe.
        for attempt in range(5):
            with self.subTest(attempt=attempt):
                self.assert_readable_413(*self.send_whole_body_then_read(body))
        self.assert_still_serving()

    def test_chunked_body_over_the_limit_reads_the_413(self):
        chunk = b"x" * (256 << 10)
        chunks = [b'{"text": "'] + [chunk] * (BIG // len(chunk)) + [b'"}']
        self.assert_readable_413(*self.send_whole_body_then_read(iter(chunks), encode_chunked=True))
        self.assert_still_serving()

    def test_body_just_over_the_limit_is_413_and_at_the_limit_is_served(self):
        self.assert_readable_413(*self.send_whole_body_then_read(big_body(MAX_BODY + 1)))
        text = harness.ticket_text(self.model)
        body = json.dumps({"text": text}).encode()
        body = body[:-1] + b" " * (MAX_BODY - len(body)) + b"}"
        self.assertEqual(len(body), MAX_BODY)
        status, _, data = self.send_whole_body_then_read(body)
        self.assertEqual(status, 200, data[:200])

    def test_drain_is_bounded_in_bytes(self):
        # A client that keeps sending past the drain's byte bound is cut off:
        # the server does not read an unbounded upload.
        sock = socket.create_connection((LOOPBACK, self.server.port), timeout=30)
        total = 4 * MAX_LINGER_BYTES
        sent = 0
        try:
            sock.sendall(f"POST /models/{self.model}/invoke HTTP/1.1\r\nHost: x\r\n"
                         f"Content-Type: application/json\r\nContent-Length: {total}\r\n\r\n".encode())
            block = b"x" * (1 << 20)
            with self.assertRaises((BrokenPipeError, ConnectionResetError)):
                while sent < total:
                    sent += sock.send(block)
        finally:
            sock.close()
        self.assertLess(sent, total)
        self.assertGreaterEqual(sent, MAX_LINGER_BYTES)
        self.assert_still_serving()

    def test_drain_is_bounded_in_time_for_a_client_that_stops_sending(self):
        # The client announces 20 MB, sends 2 MB and then goes quiet. It reads
        # the 413 and the server's end of stream; the server keeps its side
        # open to drain only while the client sends, and closes it once the
        # client has been quiet for the linger timeout (2 s, checked every
        # second): data sent after that meets a reset.
        sock = socket.create_connection((LOOPBACK, self.server.port), timeout=30)
        try:
            sock.sendall(f"POST /models/{self.model}/invoke HTTP/1.1\r\nHost: x\r\n"
                         f"Content-Type: application/json\r\nContent-Length: {BIG}\r\n\r\n".encode())
            sock.sendall(b"x" * (2 << 20))
            received = b""
            while data := sock.recv(65536):
                received += data
            head, _, body = received.partition(b"\r\n\r\n")
            self.assertTrue(head.startswith(b"HTTP/1.1 413 "), head[:100])
            assert_error_json(self, body, "larger than the limit")
            sock.sendall(b"x" * 1024)  # still drained: the client is not quiet yet
            time.sleep(5)
            with self.assertRaises((BrokenPipeError, ConnectionResetError)):
                for _ in range(20):
                    sock.sendall(b"x" * 1024)
                    time.sleep(0.1)
        finally:
            sock.close()
        self.assert_still_serving()


if __name__ == "__main__":
    unittest.main()
