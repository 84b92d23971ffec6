#!/usr/bin/env python3
"""A TCP fault proxy for an HTTP/1.1 upstream (s3rver in the tests and the soak).

It listens on a loopback port chosen at run time and forwards to the upstream,
or injects one fault, switchable at run time. A switch also applies to the
connections already open: modelmux's libcurl keeps its store connections alive
and reuses them, so a fault that only hit new connections would miss it.

Modes (parameters in brackets):
  pass       forward both ways
  blackhole  accept and read, never answer, never close. What the client sends
             is held, not lost: when the mode changes it is processed, as TCP
             would deliver it once a partition heals
  reset      [after_bytes=0, times] forward at most `after_bytes` bytes of each
             response (head included), then reset the client connection (RST,
             SO_LINGER 0): a connection reset mid-download. Shorter responses
             pass whole
  http_error [status=503 (or 500), code=SlowDown|InternalError, times] answer
             every request here with that status and an S3-style XML error
             body, keep-alive intact, without contacting the upstream
  trickle    [rate=4096] forward responses at `rate` bytes/s per connection
  refuse     close the listening socket (new connections are refused) and
             reset the open ones: the store process is gone
  delay      [seconds] hold the first byte of each response `seconds`
`times`, where accepted, ends the fault after that many resets or error
answers (the mode returns to `pass`), so a test can fail exactly the next N
requests without racing the client.

The proxy frames HTTP/1.1 messages (head, then Content-Length or chunked body)
in both directions; it has to, to answer a request itself and keep the
connection usable, to count bytes per response and to keep answers in request
order. Bytes it forwards are never rewritten.

In a test (the proxy runs its own asyncio loop in a thread, stopped on exit):

    with FaultProxy("127.0.0.1", s3.port) as proxy:
        proxy.set_fault("trickle", rate=4096)
        ... proxy.endpoint, proxy.counters()

From a shell (a tiny HTTP control endpoint on another loopback port):

    python3 fault_proxy.py --upstream 127.0.0.1:4568 --port-file F --control-port-file G
    curl -X POST -d '{"mode": "http_error", "status": 503}' http://127.0.0.1:$(cat G)/fault
    curl http://127.0.0.1:$(cat G)/fault     # mode, params and counters

Python 3 standard library only.
"""

import argparse
import asyncio
import collections
import email.utils
import fcntl
import json
import os
import signal
import socket
import struct
import sys
import termios
import threading
import time
from xml.sax.saxutils import escape

LOOPBACK = "127.0.0.1"

# Holding more than this (per connection and direction) pauses the reader
# instead: a stalled client must not make the proxy buffer a whole download.
_HOLD_LIMIT = 4 << 20
_MAX_HEAD = 64 << 10
_MAX_LINE = 8 << 10
# After a reset's last bytes are handed to the kernel, wait this long at most
# for the client to acknowledge them, so that "after N bytes" means N bytes
# reached the client rather than N bytes died in our send queue.
_DELIVERY_WAIT_S = 2.0

_DEFAULT_CODE = {500: "InternalError", 503: "SlowDown"}
_REASON = {400: "Bad Request", 403: "Forbidden", 404: "Not Found", 500: "Internal Server Error",
           501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}

COUNTER_NAMES = (
    "connections_accepted",  # client connections accepted
    "connections_open",  # client connections open now
    "connections_reset",  # client connections reset (reset and refuse modes)
    "upstream_connections",  # connections opened to the upstream
    "upstream_connect_failures",
    "requests",  # requests read from clients
    "upstream_responses",  # responses forwarded whole from the upstream
    "error_responses",  # answers made here (http_error)
    "bytes_from_clients",  # client -> proxy
    "bytes_to_upstream",  # proxy -> upstream
    "bytes_from_upstream",  # upstream -> proxy
    "bytes_to_clients",  # proxy -> client
)


# ------------------------------------------------------------------ faults


def check_fault(mode, params):
    """The fault's parameters with defaults filled in; ValueError when the mode
    or a parameter is not valid."""
    allowed = {
        "pass": {}, "blackhole": {}, "refuse": {},
        "reset": {"after_bytes": 0, "times": None},
        "http_error": {"status": 503, "code": None, "times": None},
        "trickle": {"rate": 4096},
        "delay": {"seconds": None},
    }
    if mode not in allowed:
        raise ValueError(f"unknown fault mode {mode!r}; one of {', '.join(allowed)}")
    unknown = set(params) - set(allowed[mode])
    if unknown:
        raise ValueError(f"mode {mode} takes no parameter {', '.join(sorted(unknown))}")
    out = dict(allowed[mode], **params)

    def number(name, kind, low):
        v = out[name]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or (kind is int and v != int(v)) or v < low:
            raise ValueError(f"{mode}: {name} must be a{'n integer' if kind is int else ' number'} >= {low}, "
                             f"not {v!r}")
        out[name] = kind(v)

    if out.get("times") is not None:
        number("times", int, 1)
    if mode == "reset":
        number("after_bytes", int, 0)
    elif mode == "http_error":
        number("status", int, 400)
        if out["status"] > 599:
            raise ValueError(f"http_error: status must be 4xx or 5xx, not {out['status']}")
        if out["code"] is None:
            if out["status"] not in _DEFAULT_CODE:
                raise ValueError(f"http_error: give a code for status {out['status']}")
            out["code"] = _DEFAULT_CODE[out["status"]]
        if not isinstance(out["code"], str) or not out["code"].isalnum():
            raise ValueError(f"http_error: code must be a word like SlowDown, not {out['code']!r}")
    elif mode == "trickle":
        number("rate", float, 1)
    elif mode == "delay":
        if out["seconds"] is None:
            raise ValueError("delay: give seconds")
        number("seconds", float, 0)
    return out


def s3_error_response(head, status, code, request_id):
    """An S3-style XML error answer to the request `head` (no body for HEAD)."""
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{code}</Code><Message>injected by the fault proxy: {status} {code}</Message>"
            f"<Resource>{escape(head.target)}</Resource><RequestId>{request_id}</RequestId></Error>").encode()
    lines = [f"HTTP/1.1 {status} {_REASON.get(status, 'Error')}", "Content-Type: application/xml",
             f"Content-Length: {len(body)}", f"x-amz-request-id: {request_id}",
             f"Date: {email.utils.formatdate(usegmt=True)}", "Server: modelmux-fault-proxy"]
    if not head.keep_alive:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (b"" if head.method == "HEAD" else body)


# ------------------------------------------------------------ HTTP framing


class ProtocolError(Exception):
    pass


class Head:
    """A parsed request or response head."""

    def __init__(self, start, headers):
        self.start = start
        self.headers = headers  # {lower-case name: value} (last one wins)
        self.method = self.target = self.version = None
        self.status = None
        self.keep_alive = True

    @property
    def final(self):
        """Whether this is a request or a final (not 1xx) response."""
        return self.status is None or self.status >= 200 or self.status == 101


class Framer:
    """Splits one direction of an HTTP/1.1 stream into messages.

    feed(data) returns events whose raw bytes add up exactly to `data`:
      ("head", Head, raw)   a message starts
      ("body", raw)         bytes of its body (chunk framing included)
      ("end", Head)         it is complete
    A response framer needs the method of each request it answers (a HEAD's
    response has no body): expect(method) in request order. A response with
    neither length nor chunking lasts until the upstream closes: eof() ends it.
    """

    def __init__(self, requests):
        self.requests = requests
        self.methods = collections.deque()
        self.state = "head"
        self.buf = bytearray()
        self.remaining = 0
        self.head = None

    def expect(self, method):
        self.methods.append(method)

    def feed(self, data):
        events, view = [], memoryview(data)
        while view:
            view = getattr(self, "_" + self.state)(view, events)
        return events

    def eof(self):
        if self.state == "close":
            self.state = "head"
            return [("end", self.head)]
        return []

    # -- states: each takes what it can from `view` and returns the rest

    def _line(self, view, limit):
        """Accumulates up to a CRLF; (line or None, rest of view)."""
        i = bytes(view[:limit]).find(b"\n")
        if i < 0:
            self.buf += view
            if len(self.buf) > limit:
                raise ProtocolError("line too long")
            return None, view[len(view):]
        self.buf += view[: i + 1]
        line = bytes(self.buf)
        self.buf.clear()
        return line, view[i + 1:]

    def _head(self, view, events):
        start = max(0, len(self.buf) - 3)
        self.buf += view
        end = self.buf.find(b"\r\n\r\n", start)
        if end < 0:
            if len(self.buf) > _MAX_HEAD:
                raise ProtocolError("message head over 64 KiB")
            return view[len(view):]
        end += 4
        raw = bytes(self.buf[:end])
        rest = view[len(view) - (len(self.buf) - end):]
        self.buf.clear()
        self.head = self._parse(raw)
        events.append(("head", self.head, raw))
        self._start_body(events)
        return rest

    def _parse(self, raw):
        lines = raw[:-4].decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep or not name or name != name.strip():
                raise ProtocolError(f"bad header line {line!r}")
            headers[name.lower()] = value.strip()
        head = Head(lines[0], headers)
        parts = lines[0].split(" ", 2)
        if self.requests:
            if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
                raise ProtocolError(f"bad request line {lines[0]!r}")
            head.method, head.target, head.version = parts
        else:
            if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
                raise ProtocolError(f"bad status line {lines[0]!r}")
            head.version, head.status = parts[0], int(parts[1])
        tokens = {t.strip().lower() for t in headers.get("connection", "").split(",")}
        head.keep_alive = "keep-alive" in tokens if head.version == "HTTP/1.0" else "close" not in tokens
        return head

    def _start_body(self, events):
        h = self.head
        if not self.requests:
            if not h.final:
                return self._end(events)  # 100 Continue and friends: the real answer follows
            method = self.methods.popleft() if self.methods else "GET"
            if h.status == 101:
                self.state = "close"  # a tunnel now: everything until close
                return None
            if method == "HEAD" or h.status in (204, 304):
                return self._end(events)
        if "chunked" in h.headers.get("transfer-encoding", "").lower():
            self.state = "chunk_size"
        elif "content-length" in h.headers:
            length = h.headers["content-length"]
            if not length.isdigit():
                raise ProtocolError(f"bad Content-Length {length!r}")
            self.remaining = int(length)
            self.state = "length"
            if self.remaining == 0:
                self._end(events)
        elif self.requests:
            self._end(events)
        else:
            self.state = "close"
        return None

    def _end(self, events):
        events.append(("end", self.head))
        self.state = "head"

    def _length(self, view, events):
        n = min(self.remaining, len(view))
        events.append(("body", bytes(view[:n])))
        self.remaining -= n
        if self.remaining == 0:
            self._end(events)
        return view[n:]

    def _chunk_size(self, view, events):
        line, rest = self._line(view, _MAX_LINE)
        if line is not None:
            events.append(("body", line))
            size = line.split(b";")[0].strip()
            try:
                self.remaining = int(size, 16)
            except ValueError:
                raise ProtocolError(f"bad chunk size {size!r}") from None
            # The CRLF after a chunk's data travels with the data.
            self.state = "chunk_data" if self.remaining else "trailer"
            self.remaining += 2
        return rest

    def _chunk_data(self, view, events):
        n = min(self.remaining, len(view))
        events.append(("body", bytes(view[:n])))
        self.remaining -= n
        if self.remaining == 0:
            self.state = "chunk_size"
        return view[n:]

    def _trailer(self, view, events):
        line, rest = self._line(view, _MAX_LINE)
        if line is not None:
            events.append(("body", line))
            if line in (b"\r\n", b"\n"):
                self._end(events)
        return rest

    def _close(self, view, events):
        events.append(("body", bytes(view)))
        return view[len(view):]


# ------------------------------------------------------------- connection

_UPSTREAM = object()  # a pending answer that the upstream will send


class _LocalAnswer:
    def __init__(self, data, close):
        self.data, self.close = data, close


class _Connection:
    """One client connection and, once a request goes upstream, its upstream
    connection. Four tasks: read the client, send to the upstream, read the
    upstream, write to the client. Answers reach the client in request order
    (`pending`), whether the upstream or the proxy makes them. All of it runs
    on the proxy's loop; the tasks share one wake-up event and each checks its
    own condition before waiting on it."""

    def __init__(self, proxy, reader, writer):
        self.proxy = proxy
        self.creader, self.cwriter = reader, writer
        self.ureader = self.uwriter = None
        self.requests, self.responses = Framer(requests=True), Framer(requests=False)
        self.pending = collections.deque()  # _UPSTREAM or _LocalAnswer, in request order
        self.outbox = collections.deque()  # bytes for the upstream
        self.held = bytearray()  # client bytes read during a black hole
        self.held_eof = False
        self.client_eof = False
        self.inbox = collections.deque()  # bytes read from the upstream, not yet sent on
        self.inbox_bytes = 0
        self.upstream_eof = False
        self.route_here = False  # the request being read is answered by the proxy
        self.request_head = None
        self.local_error = None
        self.response_sent = 0  # bytes of the current upstream response sent on
        self.next_send = None  # trickle: when the next slice may go
        self.event = asyncio.Event()
        self.done = asyncio.Event()
        self.rst = False
        self.tasks = []
        # drain() then means "in the kernel", which a reset's byte count relies on.
        writer.transport.set_write_buffer_limits(high=0)

    async def run(self):
        self.tasks = [asyncio.create_task(c) for c in (self._read_client(), self._send_upstream(),
                                                       self._write_client())]
        await self.done.wait()
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self._close_sockets()

    def finish(self, rst=False):
        self.rst = self.rst or rst
        self.done.set()

    def wake(self):
        self.event.set()

    async def _wait(self):
        self.event.clear()
        await self.event.wait()

    async def _nap(self, seconds):
        """Sleeps up to `seconds`; returns early on any wake-up (a mode change)."""
        self.event.clear()
        try:
            await asyncio.wait_for(self.event.wait(), max(0.0, seconds))
        except asyncio.TimeoutError:
            pass

    def _close_sockets(self):
        if self.rst:
            sock = self.cwriter.get_extra_info("socket")
            if sock is not None:
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                except OSError:
                    pass
            self.cwriter.transport.abort()
        else:
            self.cwriter.close()
        if self.uwriter is not None:
            self.uwriter.transport.abort()

    # -- client -> proxy

    async def _read_client(self):
        try:
            while True:
                while self.proxy.mode == "blackhole" and len(self.held) > _HOLD_LIMIT:
                    await self._wait()
                data = await self.creader.read(65536)
                self.proxy.count("bytes_from_clients", len(data))
                self.take(data)
                if not data:
                    return
        except (ConnectionError, OSError):
            self.finish()
        except ProtocolError as e:
            self.proxy.log(f"closing a client connection: {e}")
            self.finish()

    def take(self, data):
        """Client bytes (b"" at EOF): held in a black hole, else framed."""
        if self.proxy.mode == "blackhole":
            self.held += data
            self.held_eof = self.held_eof or not data
            return
        self._release_held()
        self._frame(data)

    def _release_held(self):
        held, eof = bytes(self.held), self.held_eof
        self.held.clear()
        self.held_eof = False
        if held:
            self._frame(held)
        if eof:
            self._frame(b"")

    def mode_changed(self):
        if self.proxy.mode != "blackhole" and (self.held or self.held_eof):
            try:
                self._release_held()
            except ProtocolError as e:
                self.proxy.log(f"closing a client connection: {e}")
                self.finish()
        self.wake()

    def _frame(self, data):
        if not data:
            self.client_eof = True
        for event in self.requests.feed(data) if data else ():
            if event[0] == "head":
                self._route(event[1], event[2])
            elif event[0] == "body":
                if not self.route_here:
                    self.outbox.append(event[1])
            elif self.route_here:
                status, code = self.local_error
                answer = s3_error_response(self.request_head, status, code, self.proxy.request_id())
                self.pending.append(_LocalAnswer(answer, close=not self.request_head.keep_alive))
        self.wake()

    def _route(self, head, raw):
        """Decides, when a request starts, who answers it."""
        self.proxy.count("requests")
        self.route_here = self.proxy.mode == "http_error"
        if self.route_here:
            # Kept now: the fault may end (times) before the request is read.
            self.request_head = head
            self.local_error = (self.proxy.params["status"], self.proxy.params["code"])
            self.proxy.count("error_responses")
            self.proxy.spend_one()
        else:
            self.pending.append(_UPSTREAM)
            self.responses.expect(head.method)
            self.outbox.append(raw)

    # -- proxy -> upstream

    async def _send_upstream(self):
        try:
            while True:
                while not self.outbox and not self.client_eof:
                    await self._wait()
                if self.outbox and self.uwriter is None and not await self._connect():
                    return
                while self.outbox:
                    data = self.outbox.popleft()
                    self.uwriter.write(data)
                    self.proxy.count("bytes_to_upstream", len(data))
                    await self.uwriter.drain()
                if self.client_eof and not self.outbox:
                    if self.uwriter is not None and self.uwriter.can_write_eof():
                        self.uwriter.write_eof()
                    return
        except (ConnectionError, OSError):
            self.upstream_eof = True
            self.wake()

    async def _connect(self):
        try:
            self.ureader, self.uwriter = await asyncio.open_connection(*self.proxy.upstream)
        except OSError as e:
            # Nothing to forward to: the client sees its connection reset.
            self.proxy.count("upstream_connect_failures")
            self.proxy.log(f"cannot connect to the upstream {self.proxy.upstream}: {e}")
            self.finish(rst=True)
            return False
        self.proxy.count("upstream_connections")
        self.tasks.append(asyncio.create_task(self._read_upstream()))
        return True

    # -- upstream -> proxy

    async def _read_upstream(self):
        try:
            while True:
                while self.inbox_bytes > _HOLD_LIMIT:
                    await self._wait()
                data = await self.ureader.read(65536)
                if not data:
                    break
                self.proxy.count("bytes_from_upstream", len(data))
                self.inbox.append(data)
                self.inbox_bytes += len(data)
                self.wake()
        except (ConnectionError, OSError):
            pass
        self.upstream_eof = True
        self.wake()

    # -- proxy -> client

    async def _write_client(self):
        try:
            while not await self._write_step():
                pass
        except (ConnectionError, OSError):
            self.finish()

    async def _write_step(self):
        """Sends what can be sent now, or waits; True when the connection is over."""
        while self.proxy.mode == "blackhole":
            await self._wait()
        if self.pending and self.pending[0] is not _UPSTREAM:
            answer = self.pending.popleft()
            await self._write(answer.data)
            if answer.close:
                self.finish()
            return answer.close
        if self.inbox:
            data = self.inbox.popleft()
            self.inbox_bytes -= len(data)
            self.wake()  # the upstream reader may be waiting for room
            try:
                events = self.responses.feed(data)
            except ProtocolError as e:
                self.proxy.log(f"closing a connection, bad response from the upstream: {e}")
                self.finish()
                return True
            return not await self._forward(events)
        if self.upstream_eof:
            await self._forward(self.responses.eof())
            while self.pending and self.pending[0] is not _UPSTREAM:
                await self._write(self.pending.popleft().data)
            self.finish()
            return True
        if self.client_eof and not self.pending and not self.outbox:
            self.finish()
            return True
        await self._wait()
        return False

    async def _forward(self, events):
        """Sends upstream response events on; False once the connection was reset."""
        for event in events:
            if event[0] == "end":
                if event[1].final:
                    self.proxy.count("upstream_responses")
                    if self.pending and self.pending[0] is _UPSTREAM:
                        self.pending.popleft()
                continue
            if event[0] == "head":
                self.response_sent = 0
                await self._delay_first_byte()
            if not await self._send_response_bytes(event[-1]):
                return False
        return True

    async def _delay_first_byte(self):
        if self.proxy.mode != "delay":
            return
        until = time.monotonic() + self.proxy.params["seconds"]
        while self.proxy.mode == "delay" and time.monotonic() < until:
            await self._nap(until - time.monotonic())

    async def _send_response_bytes(self, data):
        """Writes part of an upstream response under the current fault; the
        mode is read again before every slice, so a switch takes effect
        mid-response. False once the connection was reset."""
        view = memoryview(data)
        while view:
            while self.proxy.mode == "blackhole":
                await self._wait()
            mode, params = self.proxy.mode, self.proxy.params
            if mode == "reset" and len(view) > params["after_bytes"] - self.response_sent:
                await self._reset_after(view[: max(0, params["after_bytes"] - self.response_sent)])
                return False
            n = len(view)
            if mode == "trickle":
                wait, n = self._trickle_slice(len(view), params["rate"])
                if wait > 0:
                    await self._nap(wait)
                    continue
            else:
                self.next_send = None
            await self._write(view[:n])
            self.response_sent += n
            view = view[n:]
        return True

    def _trickle_slice(self, available, rate):
        """(seconds to wait, bytes to send): slices of 1/16 s at `rate`, each
        due at a fixed step after the previous one so sleep overshoot does not
        lower the rate; an idle connection gets no burst credit."""
        now = time.monotonic()
        if self.next_send is None or now - self.next_send > 0.25:
            self.next_send = now
        if now < self.next_send:
            return self.next_send - now, 0
        n = min(available, max(1, min(16384, int(rate / 16))))
        self.next_send += n / rate
        return 0, n

    async def _reset_after(self, last):
        if last:
            await self._write(last)
        await self._delivered()
        self.proxy.count("connections_reset")
        self.proxy.spend_one()
        self.finish(rst=True)

    async def _delivered(self):
        """Waits (bounded) until the client's kernel acknowledged every byte sent."""
        sock = self.cwriter.get_extra_info("socket")
        deadline = time.monotonic() + _DELIVERY_WAIT_S
        buf = bytearray(4)
        while sock is not None and time.monotonic() < deadline:
            try:
                fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, buf)
            except OSError:
                return
            if struct.unpack("i", buf)[0] == 0:
                return
            await asyncio.sleep(0.005)

    async def _write(self, data):
        if not data:
            return
        self.cwriter.write(data)
        self.proxy.count("bytes_to_clients", len(data))
        await self.cwriter.drain()


# ------------------------------------------------------------------ proxy


class FaultProxy:
    """The proxy, on its own asyncio loop in a daemon thread.

    Thread-safe: set_fault(), fault(), counters() may be called from any
    thread but the proxy's own. stop() (or leaving the `with` block) closes
    every socket and joins the thread.
    """

    def __init__(self, upstream_host, upstream_port, listen_host=LOOPBACK, port=0, log=None):
        self.upstream = (upstream_host, int(upstream_port))
        self.listen_host = listen_host
        self.port = port
        self.mode, self.params = "pass", {}
        self._log = log
        self._counters = dict.fromkeys(COUNTER_NAMES, 0)
        self._connections = set()
        self._server = None
        self._loop = None
        self._thread = None
        self._request_ids = 0

    # -- lifecycle

    def start(self):
        self._loop = asyncio.new_event_loop()
        started = threading.Event()
        failure = []

        def run():
            asyncio.set_event_loop(self._loop)
            try:
                self._loop.run_until_complete(self._listen())
            except BaseException as e:  # reported to start()'s caller
                failure.append(e)
                started.set()
                return
            started.set()
            self._loop.run_forever()
            self._loop.close()

        self._thread = threading.Thread(target=run, name="fault-proxy", daemon=True)
        self._thread.start()
        started.wait()
        if failure:
            self._thread.join()
            raise failure[0]
        return self

    def stop(self):
        if self._thread is None:
            return
        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    @property
    def endpoint(self):
        return f"http://{self.listen_host}:{self.port}"

    # -- control (any thread)

    def set_fault(self, mode, **params):
        """Switches every connection, open or new, to `mode`; returns the
        parameters in effect. ValueError for an unknown mode or parameter."""
        checked = check_fault(mode, params)
        return self._call(self._apply(mode, checked))

    def fault(self):
        """(mode, params) in effect; `times` counts down."""
        return self._call(self._snapshot())[:2]

    def counters(self):
        return self._call(self._snapshot())[2]

    def state(self):
        mode, params, counters = self._call(self._snapshot())
        return {"mode": mode, "params": params, "counters": counters, "port": self.port,
                "upstream": f"{self.upstream[0]}:{self.upstream[1]}"}

    def _call(self, coro):
        if self._thread is None:
            coro.close()
            raise RuntimeError("the fault proxy is not running")
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("call the fault proxy's control methods from another thread")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    # -- on the loop

    def count(self, name, n=1):
        self._counters[name] += n

    def log(self, message):
        if self._log:
            self._log(message)

    def request_id(self):
        self._request_ids += 1
        return f"FAULTPROXY{self._request_ids:08d}"

    def spend_one(self):
        """One fault injected; a fault with `times` ends when they are spent."""
        if self.params.get("times") is None:
            return
        self.params["times"] -= 1
        if self.params["times"] <= 0:
            self.log(f"{self.mode}: done, back to pass")
            self._switch("pass", {})

    async def _snapshot(self):
        counters = dict(self._counters, connections_open=len(self._connections))
        return self.mode, dict(self.params), counters

    async def _listen(self):
        self._server = await asyncio.start_server(self._accept, self.listen_host, self.port,
                                                  reuse_address=True, backlog=256)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _apply(self, mode, params):
        was = self.mode
        if mode == "refuse" and was != "refuse":
            self._server.close()  # the listening socket is closed here, synchronously
            for conn in list(self._connections):
                self.count("connections_reset")
                conn.finish(rst=True)
        elif was == "refuse" and mode != "refuse":
            await self._listen()
        self._switch(mode, params)
        self.log(f"fault: {mode} {params if params else ''}".rstrip())
        return dict(params)

    def _switch(self, mode, params):
        self.mode, self.params = mode, dict(params)
        for conn in list(self._connections):
            conn.mode_changed()

    async def _accept(self, reader, writer):
        if self.mode == "refuse":  # accepted just before the listener closed
            writer.transport.abort()
            return
        conn = _Connection(self, reader, writer)
        self._connections.add(conn)
        self.count("connections_accepted")
        try:
            await conn.run()
        finally:
            self._connections.discard(conn)

    async def _shutdown(self):
        if self._server is not None:
            self._server.close()
        for conn in list(self._connections):
            conn.finish()
        deadline = time.monotonic() + 5
        while self._connections and time.monotonic() < deadline:
            await asyncio.sleep(0.01)


# -------------------------------------------------------------------- CLI


def _write_atomically(path, text):
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="ascii") as f:
        f.write(text + "\n")
    os.replace(tmp, path)


def _control_server(proxy, port):
    """GET /fault: mode, params and counters; POST /fault {"mode": ..., params}."""
    import http.server

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def _answer(self, status, doc):
            body = (json.dumps(doc, sort_keys=True) + "\n").encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path != "/fault":
                return self._answer(404, {"error": f"no route {self.path}; GET or POST /fault"})
            return self._answer(200, proxy.state())

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if self.path != "/fault":
                return self._answer(404, {"error": f"no route {self.path}; GET or POST /fault"})
            try:
                doc = json.loads(raw or b"null")
                if not isinstance(doc, dict) or not isinstance(doc.get("mode"), str):
                    raise ValueError('the body must be a JSON object with "mode", e.g. {"mode": "pass"}')
                mode = doc.pop("mode")
                params = proxy.set_fault(mode, **doc)
            except ValueError as e:  # json.JSONDecodeError is one too
                return self._answer(400, {"error": str(e)})
            return self._answer(200, {"mode": mode, "params": params})

    server = http.server.ThreadingHTTPServer((LOOPBACK, port), Handler)
    server.daemon_threads = True
    return server


def _parse_host_port(text):
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, not {text!r}")
    return host, int(port)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--upstream", required=True, type=_parse_host_port, help="HOST:PORT to forward to")
    parser.add_argument("--listen", default=LOOPBACK, help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default 0: chosen at run time)")
    parser.add_argument("--port-file", help="write the port chosen here")
    parser.add_argument("--control-port", type=int, default=0, help="control endpoint port (default 0)")
    parser.add_argument("--control-port-file", help="write the control endpoint's port here")
    parser.add_argument("--mode", default="pass", help="initial fault mode (no parameters)")
    parser.add_argument("--quiet", action="store_true", help="do not log fault changes to stderr")
    args = parser.parse_args(argv)

    def log(message):
        if not args.quiet:
            print(f"[fault-proxy {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    with FaultProxy(*args.upstream, listen_host=args.listen, port=args.port, log=log) as proxy:
        if args.mode != "pass":
            proxy.set_fault(args.mode)
        control = _control_server(proxy, args.control_port)
        threading.Thread(target=control.serve_forever, name="fault-proxy-control", daemon=True).start()
        try:
            if args.port_file:
                _write_atomically(args.port_file, str(proxy.port))
            if args.control_port_file:
                _write_atomically(args.control_port_file, str(control.server_address[1]))
            log(f"listening on {args.listen}:{proxy.port} -> {args.upstream[0]}:{args.upstream[1]}, "
                f"control on {LOOPBACK}:{control.server_address[1]}")
            while not stop.wait(0.5):
                pass
        finally:
            control.shutdown()
            control.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
