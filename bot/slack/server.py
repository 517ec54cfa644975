"""HTTP serving: Bolt's WSGI adapter on a threaded stdlib WSGI server, with /healthz and /metrics beside /slack/events.

Why this server: it ships with Python (no new dependency), serves each request on its own thread (a slow request
never delays another's ack), and Bolt's WSGI adapter is its supported production path. `App.start()` is Bolt's
single-threaded development server, which the Bolt docs say not to use in production.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
CALENDAR_PATH = "/calendar.ics"


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    """One thread per request; daemon threads so a stop never waits on a hung client."""

    daemon_threads = True


class _LoggingHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        log.debug("%s %s", self.address_string(), format % args)


def make_wsgi_app(app: App, health: Callable[[], dict[str, Any]] | None = None, ops: Any = None,
                  calendar: Callable[[dict[str, Any]], tuple[str, list[tuple[str, str]], bytes]] | None = None,
                  ) -> Callable[..., Iterable[bytes]]:
    """The WSGI callable: Slack's requests to Bolt, GET /healthz to a health answer, anything else 404.

    With `ops` (bot.health.Ops): /healthz checks the state store and Chroma (200, or 503 naming what failed) and
    GET /metrics serves Prometheus metrics. With `calendar` (bot.calendar.calendar_endpoint): GET /calendar.ics.
    """
    bolt = SlackRequestHandler(app, path=EVENTS_PATH)

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path, is_get = environ.get("PATH_INFO"), environ.get("REQUEST_METHOD") in ("GET", "HEAD")
        if path == HEALTH_PATH and is_get:
            ok, result = ops.health() if ops is not None else (True, {"ok": True})
            body = json.dumps({**result, **(health() if health else {})}).encode()
            start_response("200 OK" if ok else "503 Service Unavailable",
                           [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        if path == METRICS_PATH and is_get and ops is not None:
            body, content_type = ops.metrics()
            start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
            return [body]
        if path == CALENDAR_PATH and is_get and calendar is not None:
            status, headers, body = calendar(environ)
            start_response(status, [*headers, ("Content-Length", str(len(body)))])
            return [body]
        return bolt(environ, start_response)

    return wsgi


def make_http_server(app: App, host: str, port: int, health: Callable[[], dict[str, Any]] | None = None,
                     ops: Any = None, calendar: Any = None) -> WSGIServer:
    """A bound, not yet serving, server; port 0 picks a free port (see `server.server_port`)."""
    return make_server(host, port, make_wsgi_app(app, health, ops, calendar), server_class=ThreadingWSGIServer,
                       handler_class=_LoggingHandler)
