"""HTTP serving: Bolt's WSGI adapter on a threaded stdlib WSGI server, with /healthz and /metrics beside /slack/events.

Why this server: it ships with Python (no new dependency), serves each request on its own thread (a slow request
never delays another's ack), and Bolt's WSGI adapter is its supported production path. `App.start()` is Bolt's
single-threaded development server, which the Bolt docs say not to use in production.
"""

from __future__ import annotations

import hmac
import io
import json
import logging
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk.signature import SignatureVerifier

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
CALENDAR_PATH = "/calendar.ics"
MAX_BODY_BYTES = 1024 * 1024  # Slack's own requests are a few KB
SOCKET_TIMEOUT_S = 10.0


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    """One thread per request; daemon threads so a stop never waits on a hung client."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went quiet or away is one line, not a traceback on stderr."""
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, (TimeoutError, ConnectionError)):
            log.info("closed the connection of %s: %s", client_address[0], type(exc).__name__)
            return
        log.exception("HTTP server error for %s", client_address[0])


class _LoggingHandler(WSGIRequestHandler):
    timeout = SOCKET_TIMEOUT_S  # socketserver applies it to the connection: idle clients are dropped

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        log.debug("%s %s", self.address_string(), format % args)


def _reply(start_response: Callable[..., Any], status: str, body: bytes = b"", content_type: str = "text/plain",
           extra: list[tuple[str, str]] | None = None) -> list[bytes]:
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body))), *(extra or [])])
    return [body]


def _reject(environ: dict[str, Any], start_response: Callable[..., Any], status: str, reason: str) -> list[bytes]:
    """Refuse before any work: one log line, never the body (a forged body must not forge log lines)."""
    log.warning("rejected %s %r from %s: %s (Content-Length %r)", environ.get("REQUEST_METHOD"),
                environ.get("PATH_INFO"), environ.get("REMOTE_ADDR"), reason, environ.get("CONTENT_LENGTH"))
    return _reply(start_response, status, status.encode())  # wsgiref closes the connection after it


def make_wsgi_app(app: App, health: Callable[[], dict[str, Any]] | None = None, ops: Any = None, *,
                  signing_secret: str | None = None, max_body_bytes: int = MAX_BODY_BYTES,
                  metrics_token: str | None = None,
                  calendar: Callable[[dict[str, Any]], tuple[str, list[tuple[str, str]], bytes]] | None = None,
                  ) -> Callable[..., Iterable[bytes]]:
    """The WSGI callable: Slack's requests to Bolt, GET /healthz to a health answer, anything else 404.

    Before Bolt sees a request: a body over `max_body_bytes` gets 413 unread, and the signature is checked with
    `signing_secret` on the raw bytes (401 when it fails), so an unsigned request is never parsed, logged or
    answered with a 500. With `ops` (bot.health.Ops): /healthz checks the state store and Chroma (200, or 503
    naming what failed), and GET /metrics serves Prometheus metrics to `Authorization: Bearer <metrics_token>`
    (no token configured: /metrics is off, 404). With `calendar` (bot.calendar.calendar_endpoint): GET
    /calendar.ics, which checks its own token.
    """
    bolt = SlackRequestHandler(app, path=EVENTS_PATH)
    verifier = SignatureVerifier(signing_secret) if signing_secret else None

    def events(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        declared = environ.get("CONTENT_LENGTH") or "0"
        if not declared.isdigit():
            return _reject(environ, start_response, "400 Bad Request", "bad Content-Length")
        if int(declared) > max_body_bytes:
            return _reject(environ, start_response, "413 Content Too Large", f"body over {max_body_bytes:,} bytes")
        try:
            body = environ["wsgi.input"].read(int(declared)) if int(declared) else b""
        except (TimeoutError, OSError):
            return _reject(environ, start_response, "408 Request Timeout", "the body did not arrive in time")
        if verifier is not None and not _signed(verifier, body, environ):
            return _reject(environ, start_response, "401 Unauthorized", "missing or invalid Slack signature")
        environ = {**environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
        try:
            return bolt(environ, start_response)
        except Exception:  # a signed but unreadable body (Slack would not send one): 400, one line
            log.warning("a signed request to %s could not be handled", EVENTS_PATH, exc_info=True)
            return _reply(start_response, "400 Bad Request", b"400 Bad Request")

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path, is_get = environ.get("PATH_INFO"), environ.get("REQUEST_METHOD") in ("GET", "HEAD")
        if path == HEALTH_PATH and is_get:
            ok, result = ops.health() if ops is not None else (True, {"ok": True})
            body = json.dumps({**result, **(health() if health else {})}).encode()
            return _reply(start_response, "200 OK" if ok else "503 Service Unavailable", body, "application/json")
        if path == METRICS_PATH and is_get and ops is not None and metrics_token:
            given = environ.get("HTTP_AUTHORIZATION", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {metrics_token}".encode()):
                return _reject(environ, start_response, "401 Unauthorized", "metrics without the bearer token")
            body, content_type = ops.metrics()
            return _reply(start_response, "200 OK", body, content_type)
        if path == CALENDAR_PATH and is_get and calendar is not None:
            status, headers, body = calendar(environ)
            start_response(status, [*headers, ("Content-Length", str(len(body)))])
            return [body]
        if path == EVENTS_PATH and environ.get("REQUEST_METHOD") == "POST":
            return events(environ, start_response)
        return _reply(start_response, "404 Not Found", b"Not Found")

    return wsgi


def _signed(verifier: SignatureVerifier, body: bytes, environ: dict[str, Any]) -> bool:
    timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP")
    signature = environ.get("HTTP_X_SLACK_SIGNATURE")
    if not timestamp or not signature or not timestamp.isdigit():
        return False
    try:
        return verifier.is_valid(body=body, timestamp=timestamp, signature=signature)
    except (ValueError, TypeError):
        return False


def make_http_server(app: App, host: str, port: int, health: Callable[[], dict[str, Any]] | None = None,
                     ops: Any = None, *, settings: Any = None, calendar: Any = None) -> WSGIServer:
    """A bound, not yet serving, server; port 0 picks a free port (see `server.server_port`). `settings` gives the
    signing secret, body limit, socket time-out and metrics token (indexer.settings.Settings)."""
    secret = settings.slack_signing_secret.get_secret_value() if settings and settings.slack_signing_secret else None
    token = settings.metrics_token.get_secret_value() if settings and settings.metrics_token else None
    wsgi = make_wsgi_app(app, health, ops, signing_secret=secret or None,
                         max_body_bytes=settings.slack_max_body_bytes if settings else MAX_BODY_BYTES,
                         metrics_token=token or None, calendar=calendar)
    handler = type("_Handler", (_LoggingHandler,), {"timeout": settings.slack_socket_timeout_s if settings else SOCKET_TIMEOUT_S})
    server = ThreadingWSGIServer((host, port), handler)
    server.set_app(wsgi)
    return server
