"""A fault-injecting HTTP proxy in front of the S3 endpoint, for tests.

    with FaultProxy(s3_endpoint, error_rate=0.3, reset_rate=0.1, seed=1) as proxy:
        credential = make_credential(proxy.url)

For a configurable share of requests it answers 500 InternalError / 503 SlowDown /
503 ServiceUnavailable, resets the connection before answering, or sends the headers and
part of the body and then resets (a streamed GET cut mid-way). ``forbid`` answers every
request 403 AccessDenied; ``delay`` slows the object GETs down (a slow endpoint, to make a
small load long). Decisions come from ``random.Random(seed)`` in request order, so a run
against the same requests sees the same faults. The settings may be changed while it runs.
"""

from __future__ import annotations

import http.client
import random
import socket
import struct
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

ERRORS = [
    (500, "InternalError", "We encountered an internal error. Please try again."),
    (503, "SlowDown", "Please reduce your request rate."),
    (503, "ServiceUnavailable", "Service is unable to handle request."),
]
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "expect", "proxy-connection"}


class _Reset(Exception):
    """The handler reset the connection: nothing more to write."""


class FaultProxy:
    def __init__(
        self,
        upstream: str,
        *,
        error_rate: float = 0.0,
        reset_rate: float = 0.0,
        cut_rate: float = 0.0,
        forbid: bool = False,
        delay: float = 0.0,
        seed: int = 0,
    ) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname, parts.port or 80)
        self.error_rate = error_rate
        self.reset_rate = reset_rate
        self.cut_rate = cut_rate
        self.forbid = forbid
        self.delay = delay
        self.stats: Counter[str] = Counter()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def calm(self) -> None:
        """No more faults or delay from now on."""
        self.error_rate = self.reset_rate = self.cut_rate = self.delay = 0.0
        self.forbid = False

    # ------------------------------------------------------------ decisions
    def _decide(self, is_object_get: bool) -> str:
        """One fault (or "pass") per request, drawn in request order."""
        with self._lock:
            self.stats["requests"] += 1
            draw = self._rng.random()
            kind = self._rng.randrange(len(ERRORS))
            if self.forbid:
                fault = "forbid"
            elif draw < self.error_rate:
                fault = f"error:{kind}"
            elif draw < self.error_rate + self.reset_rate:
                fault = "reset"
            elif is_object_get and draw < self.error_rate + self.reset_rate + self.cut_rate:
                fault = "cut"
            else:
                fault = "pass"
            self.stats[fault.split(":")[0]] += 1
            return fault

    def _handler_class(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def handle_one_request(self) -> None:
                try:
                    super().handle_one_request()
                except _Reset:
                    self.close_connection = True
                except (ConnectionError, OSError):
                    self.close_connection = True

            def finish(self) -> None:
                try:
                    super().finish()
                except OSError:
                    pass

            def do_GET(self) -> None:
                self._proxy()

            do_HEAD = do_PUT = do_POST = do_DELETE = do_GET

            # -------------------------------------------------------- one request
            def _proxy(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path, _, query = self.path.partition("?")
                # /bucket/key is an object; /bucket?list-type=2 is a listing.
                is_object_get = self.command == "GET" and path.strip("/").count("/") >= 1
                fault = proxy._decide(is_object_get)
                if fault == "forbid":
                    return self._error(403, "AccessDenied", "Access Denied")
                if fault.startswith("error:"):
                    return self._error(*ERRORS[int(fault.split(":")[1])])
                if fault == "reset":
                    return self._reset()
                if is_object_get and proxy.delay:
                    time.sleep(proxy.delay)
                status, reason, headers, content = self._forward(body)
                self.send_response(status, reason)
                for name, value in headers:
                    if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                if self.command == "HEAD":
                    return
                if fault == "cut" and len(content) > 1 and 200 <= status < 300:
                    self.wfile.write(content[: len(content) // 2])
                    self.wfile.flush()
                    return self._reset()
                self.wfile.write(content)

            def _forward(self, body: bytes):
                conn = http.client.HTTPConnection(*proxy.upstream, timeout=60)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                    conn.request(self.command, self.path, body=body or None, headers=headers)
                    response = conn.getresponse()
                    content = response.read()
                    return response.status, response.reason, response.getheaders(), content
                finally:
                    conn.close()

            def _error(self, status: int, code: str, message: str) -> None:
                body = (
                    '<?xml version="1.0" encoding="UTF-8"?>\n'
                    f"<Error><Code>{code}</Code><Message>{message}</Message>"
                    "<RequestId>fault-proxy</RequestId></Error>"
                ).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _reset(self) -> None:
                """Close with RST (SO_LINGER 0), as a dropped connection looks to the client."""
                try:
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                    self.connection.close()
                finally:
                    raise _Reset()

        return Handler
