"""A real HTTP server on 127.0.0.1 for tests: scripted routes, a request log, conditional GET, delays, chunked bodies."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    """One scripted response. `delay_s` sleeps before the headers (to trip read timeouts)."""

    status: int = 200
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = "text/html; charset=utf-8"
    delay_s: float = 0.0
    chunked: bool = False  # no Content-Length: the client must count bytes while streaming
    etag: str | None = None  # when set, a matching If-None-Match gets 304
    last_modified: str | None = None  # when set, a matching If-Modified-Since gets 304
    drip_s: float = 0.0  # a hostile server: the body one byte at a time, this many seconds apart

    def payload(self) -> bytes:
        return self.body.encode("utf-8") if isinstance(self.body, str) else self.body


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]


Handler = Callable[[Request], Reply]
Route = Reply | Handler | list[Reply]


class LoopbackServer:
    """Serve scripted routes on an ephemeral port; unknown paths get 404. Use as a context manager."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        # A short poll interval: shutdown() waits up to one interval, once per test.
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def route(self, path: str, route: Route) -> None:
        """Script `path` (with query string if any). A list is served in order, its last reply repeating."""
        self.routes[path] = list(route) if isinstance(route, list) else route

    def hits(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def start(self) -> LoopbackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _reply_for(self, req: Request) -> Reply:
        with self._lock:
            self.requests.append(req)
            route = self.routes.get(req.path)
            if isinstance(route, list):
                return route.pop(0) if len(route) > 1 else route[0]
        if route is None:
            return Reply(404, "not found", content_type="text/plain")
        return route if isinstance(route, Reply) else route(req)


def _make_handler(server: LoopbackServer) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            req = Request("GET", self.path, {k.lower(): v for k, v in self.headers.items()})
            reply = server._reply_for(req)
            if reply.delay_s:
                time.sleep(reply.delay_s)
            status, body = reply.status, reply.payload()
            if _not_modified(reply, req.headers):
                status, body = 304, b""
            try:
                self.send_response(status)
                if reply.content_type and status != 304:
                    self.send_header("Content-Type", reply.content_type)
                if reply.etag:
                    self.send_header("ETag", reply.etag)
                if reply.last_modified:
                    self.send_header("Last-Modified", reply.last_modified)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                if reply.chunked and status != 304:
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for chunk in _chunks(body, 16 * 1024):
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.write(b"0\r\n\r\n")
                elif reply.drip_s:
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    for i in range(len(body)):
                        self.wfile.write(body[i : i + 1])
                        self.wfile.flush()
                        time.sleep(reply.drip_s)
                else:
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up on purpose (size limit, timeout)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - signature from the base class
            pass

    return _Handler


def _not_modified(reply: Reply, headers: dict[str, str]) -> bool:
    if reply.status != 200:
        return False
    if reply.etag and headers.get("if-none-match") == reply.etag:
        return True
    return bool(reply.last_modified and headers.get("if-modified-since") == reply.last_modified)


def _chunks(data: bytes, size: int) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]

