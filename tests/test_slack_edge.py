"""The Slack HTTP edge before authentication, against the real `regwatch slack serve --http` process: oversized
bodies refused unread, unsigned junk never a 500, rejections one log line without the body, idle connections
closed, a loopback bind by default, /metrics off unless a bearer token is configured."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_peer import BotProcess, SlackPeer, mention, send, send_event

pytestmark = pytest.mark.slow  # starts the bot as a process

FORGED = "\n2026-01-01 00:00:00,000 INFO regwatch.slack: admin U999 granted"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BotProcess, SlackPeer]]:
    with SlackPeer() as peer:
        bot = BotProcess(tmp_path_factory.mktemp("edge"), peer, args=["--no-jobs"],
                         env={"REGWATCH_SLACK_SOCKET_TIMEOUT_S": "1", "REGWATCH_SLACK_MAX_BODY_BYTES": "65536"}).start()
        try:
            yield bot, peer
        finally:
            bot.stop()


def _address(url: str) -> tuple[str, int]:
    parts = urllib.parse.urlsplit(url)
    return parts.hostname or "", parts.port or 80


def test_a_huge_unsigned_body_gets_413_before_it_is_read(served: tuple[BotProcess, SlackPeer]) -> None:
    bot, _ = served
    conn = http.client.HTTPConnection(*_address(bot.url), timeout=10)
    conn.putrequest("POST", "/slack/events")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(300 * 1024 * 1024))
    conn.endheaders()
    with contextlib.suppress(OSError):  # the server may close as soon as it has answered
        conn.send(b"{" + b" " * 65536)  # a start; the rest would never be read
    resp = conn.getresponse()  # the old server read all 300 MB first: no answer within the time-out
    assert resp.status == 413
    conn.close()


@pytest.mark.parametrize("body,ctype", [
    ("payload=%7Bnot%20json", "application/x-www-form-urlencoded"),
    ("{\"type\": \"event_callback\", \"event\": ", "application/json"),
    ("\xff\xfe garbage", "application/octet-stream"),
    ("", "application/json"),
])
def test_unsigned_junk_is_401_never_500(served: tuple[BotProcess, SlackPeer], body: str, ctype: str) -> None:
    bot, _ = served
    req = urllib.request.Request(bot.url, data=body.encode("utf-8", "surrogateescape"), method="POST",
                                 headers={"Content-Type": ctype})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    assert err.value.code == 401
    # a bad timestamp header must not be a 500 either
    r = send(bot.url, body, ctype, headers={"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=00"})
    assert r.status == 401


def test_a_rejected_request_is_one_log_line_without_its_body(served: tuple[BotProcess, SlackPeer]) -> None:
    bot, peer = served
    payload = mention("hello")
    payload["event"]["text"] = FORGED
    r = send_event(bot.url, payload, secret="not-the-signing-secret")
    assert r.status == 401
    time.sleep(0.5)
    log = bot.log()
    assert "granted" not in log and "admin U999" not in log  # neither the forged line nor the body
    rejected = [line for line in log.splitlines() if "rejected POST" in line]
    assert rejected and "invalid Slack signature" in rejected[-1]
    assert peer.of("chat.postMessage") == []


def test_an_idle_connection_is_closed(served: tuple[BotProcess, SlackPeer]) -> None:
    bot, _ = served
    with socket.create_connection(_address(bot.url), timeout=10) as s:
        t0 = time.monotonic()
        assert s.recv(1024) == b""  # closed by the server (REGWATCH_SLACK_SOCKET_TIMEOUT_S=1), not by our time-out
        assert time.monotonic() - t0 < 8
    with socket.create_connection(_address(bot.url), timeout=10) as s:  # headers that never finish
        s.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{")
        data = s.recv(1024)
        assert data == b"" or data.startswith(b"HTTP/1.0 408")


def test_metrics_are_off_without_a_token_and_signed_requests_still_work(served: tuple[BotProcess, SlackPeer]) -> None:
    bot, peer = served
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(bot.url.replace("/slack/events", "/metrics"), timeout=10)
    assert err.value.code == 404
    with urllib.request.urlopen(bot.url.replace("/slack/events", "/healthz"), timeout=10) as resp:
        assert json.loads(resp.read())["ok"] in (True, False)
    assert send_event(bot.url, mention("hello?")).status == 200
    peer.wait_for(lambda: peer.of("chat.postMessage"), what="the answer")


def test_metrics_need_the_bearer_token_and_the_default_bind_is_loopback(tmp_path: Path) -> None:
    with SlackPeer() as peer:
        bot = BotProcess(tmp_path / "data", peer, args=["--no-jobs"], env={"REGWATCH_METRICS_TOKEN": "s3cret-metrics"})
        bot.args.remove("--host")
        bot.args.remove("127.0.0.1")
        bot.start()
        try:
            assert bot.url.startswith("http://127.0.0.1:")
            metrics = bot.url.replace("/slack/events", "/metrics")
            for auth in (None, "Bearer wrong", "s3cret-metrics"):
                req = urllib.request.Request(metrics, headers={"Authorization": auth} if auth else {})
                with pytest.raises(urllib.error.HTTPError) as err:
                    urllib.request.urlopen(req, timeout=10)
                assert err.value.code == 401
            req = urllib.request.Request(metrics, headers={"Authorization": "Bearer s3cret-metrics"})
            with urllib.request.urlopen(req, timeout=10) as resp:
                assert b"regwatch_questions_answered_total" in resp.read()
        finally:
            bot.stop()
