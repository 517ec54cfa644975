"""End to end: a real `serve --http` process, signed requests over HTTP, the peer as Slack's Web API."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from slack_peer import (
    APP_TOKEN,
    BOT_TOKEN,
    REPO,
    SIGNING_SECRET,
    BotProcess,
    SlackPeer,
    add_change,
    add_doc,
    mention,
    send_event,
)
from sqlalchemy import select, update

from bot.alerts import enqueue_alerts
from bot.slack import store
from indexer.db import init_schema, make_engine, utcnow
from indexer.schema import outbox

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FAKE = ["--asker", "slack_peer:make_asker"]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "data"


def _engine(data: Path):
    data.mkdir(parents=True, exist_ok=True)
    engine = make_engine(f"sqlite:///{data / 'state.sqlite'}")
    init_schema(engine)
    return engine


def test_ack_within_three_seconds_while_the_answer_takes_longer(data: Path, peer: SlackPeer) -> None:
    bot = BotProcess(data, peer, args=[*FAKE, "--no-jobs"], env={"SLACK_PEER_ASK_DELAY": "5"}).start()
    try:
        reply = send_event(bot.url, mention("slow question?", ts="1700000100.000100"))
        assert reply.status == 200
        assert reply.elapsed < 3.0  # Slack's protocol limit; the answer itself takes 5 s
        assert peer.posts() == []  # the answer has not been posted yet: it really is slow
        post = peer.wait_for(peer.posts, timeout=30, what="the slow answer")[0]
        assert post.args["thread_ts"] == "1700000100.000100"
    finally:
        bot.stop()
    assert BOT_TOKEN not in bot.log() and SIGNING_SECRET not in bot.log()


def test_retries_forgeries_and_health_against_a_real_process(data: Path, peer: SlackPeer) -> None:
    bot = BotProcess(data, peer, args=[*FAKE, "--no-jobs"]).start()
    try:
        peer.reset()
        assert send_event(bot.url, mention("forged"), secret="wrong").status == 401
        assert send_event(bot.url, mention("stale"), timestamp=int(time.time()) - 301).status == 401
        event = mention("once please", event_id="EvE2E")
        assert [send_event(bot.url, event, retry_num=n).status for n in (None, 1, 2)] == [200, 200, 200]
        peer.wait_for(peer.posts, what="the answer")
        time.sleep(0.5)
        assert [c.method for c in peer.calls] == ["chat.postMessage"]  # one answer; the forgeries caused nothing
        health = __import__("urllib.request").request.urlopen(bot.url.replace("/slack/events", "/healthz"), timeout=5)
        assert json.loads(health.read())["ok"] is True
    finally:
        bot.stop()


def test_missing_tokens_name_the_variable(data: Path, peer: SlackPeer) -> None:
    bot = BotProcess(data, peer, env={"SLACK_SIGNING_SECRET": ""})
    run = subprocess.run([sys.executable, "-m", "bot.slack.cli", *bot.args], cwd=REPO, env=bot.env,
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert run.returncode == 2 and "SLACK_SIGNING_SECRET is not set" in run.stderr
    socket = subprocess.run([sys.executable, "-m", "bot.slack.cli", "serve", "--socket"], cwd=REPO, env=bot.env,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert socket.returncode == 2 and "SLACK_APP_TOKEN is not set" in socket.stderr


def _queued_alert(data: Path, channel: str = "CALERTS") -> int:
    engine = _engine(data)
    store.subscribe(engine, channel, topics=[], issuers=[], kinds=[], user_id="U1")
    add_doc(engine, "draft", comment_deadline="2026-12-31")
    add_change(engine, "draft", "new_draft", title="Draft measures")
    assert enqueue_alerts(engine) == 1
    alert_id = engine.connect().execute(select(outbox.c.alert_id)).scalar_one()
    engine.dispose()
    return alert_id


def _expire_lease(data: Path) -> None:
    """What five minutes of waiting would do: the dead process's claim lapses."""
    engine = _engine(data)
    with engine.begin() as conn:
        conn.execute(update(outbox).values(claimed_until=utcnow() - timedelta(seconds=1)))
    engine.dispose()


def _outbox(data: Path):
    engine = _engine(data)
    rows = engine.connect().execute(select(outbox)).all()
    engine.dispose()
    return rows


@pytest.mark.parametrize("landed", [False, True], ids=["killed-before-post-landed", "killed-after-post-landed"])
def test_restart_delivers_a_queued_alert_exactly_once(data: Path, peer: SlackPeer, landed: bool) -> None:
    alert_id = _queued_alert(data)
    # First process: claims the alert, then dies while chat.postMessage hangs (before or after Slack stored it).
    peer.fail("chat.postMessage", delay=60, record=landed)
    first = BotProcess(data, peer, args=[*FAKE, "--deliver-every", "0.5"]).start()
    peer.wait_for(lambda: peer.of("chat.postMessage"), what="the first delivery attempt")
    first.kill()
    assert [r.state for r in _outbox(data)] == ["sending"]
    _expire_lease(data)
    # Second process: recovers the row; checks the channel's history before posting again.
    second = BotProcess(data, peer, args=[*FAKE, "--deliver-every", "0.5"]).start()
    try:
        peer.wait_for(lambda: _outbox(data)[0].state == "sent", what="the alert marked sent")
    finally:
        second.stop()
    third = BotProcess(data, peer, args=[*FAKE, "--deliver-every", "0.5"]).start()  # and a restart after that
    time.sleep(2)
    third.stop()
    messages = peer.messages.get("CALERTS", [])
    assert [m["metadata"]["event_payload"]["alert_id"] for m in messages] == [alert_id]
    assert len(peer.of("chat.postMessage")) == (1 if landed else 2)
    assert _outbox(data)[0].message_ts == messages[0]["ts"]
    assert len(peer.of("conversations.history")) >= 1


def test_socket_mode_opens_a_connection_with_the_app_token(data: Path, peer: SlackPeer) -> None:
    bot = BotProcess(data, peer, env={"SLACK_APP_TOKEN": APP_TOKEN})
    bot.args = ["serve", "--socket", *FAKE, "--no-jobs"]
    data.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([sys.executable, "-m", "bot.slack.cli", *bot.args], cwd=REPO, env=bot.env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        peer.wait_for(lambda: peer.of("apps.connections.open"), timeout=60, what="apps.connections.open")
        assert peer.of("apps.connections.open")[0].headers["Authorization"] == f"Bearer {APP_TOKEN}"
        assert [c.method for c in peer.calls][0] == "auth.test"  # the bot token was checked first
        assert proc.poll() is None  # still running: it keeps reconnecting instead of dying
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert APP_TOKEN not in err and BOT_TOKEN not in err
