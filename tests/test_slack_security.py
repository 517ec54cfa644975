"""Request signatures, admin-only settings and secrets kept out of logs."""

from __future__ import annotations

import io
import json
import logging
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from slack_peer import (
    BOT_TOKEN,
    SIGNING_SECRET,
    InProcessBot,
    SlackPeer,
    block_action,
    bot_settings,
    command,
    mention,
    send_event,
    send_form,
)
from sqlalchemy import func, select

from bot.slack.security import SecretMaskingFilter, install_log_masking
from indexer.schema import answers, feedback, slack_events, subscriptions


@pytest.fixture
def bot(bot):
    bot.peer.reset()  # auth.test at start-up is expected; count from here
    return bot


def _rows(engine) -> int:
    with engine.connect() as conn:
        return sum(
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (slack_events, answers, feedback, subscriptions)
        )


@pytest.mark.parametrize(
    "secret,skew_s",
    [
        ("not-the-signing-secret", 0),  # forged
        (SIGNING_SECRET, -6 * 60),  # stale: valid HMAC, older than 5 minutes (a replay)
        (SIGNING_SECRET, 6 * 60),  # from the future
    ],
    ids=["forged", "stale", "future"],
)
def test_bad_signatures_get_401_and_cause_nothing(bot, secret: str, skew_s: int) -> None:
    sign_kw: dict[str, Any] = {"secret": secret, "timestamp": int(time.time()) + skew_s}  # at run time
    replies = [
        send_event(bot.url, mention("hello?"), **sign_kw),
        send_form(bot.url, command("subscribe topics:ai"), **sign_kw),
        send_form(bot.url, {"payload": json.dumps(block_action("regwatch_feedback_up", "x"))}, **sign_kw),
    ]
    assert [r.status for r in replies] == [401, 401, 401]
    time.sleep(0.3)
    assert bot.peer.calls == []  # no Web API call at all
    assert _rows(bot.engine) == 0  # and nothing written
    assert bot.asker.questions == []


def test_unsigned_request_is_refused(bot) -> None:
    req = urllib.request.Request(bot.url, data=json.dumps(mention("hi")).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})  # fmt: skip
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    assert err.value.code == 401
    assert _rows(bot.engine) == 0


def test_url_verification_echoes_the_challenge(bot) -> None:
    body = {"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            "type": "url_verification"}  # fmt: skip
    reply = send_event(bot.url, body)
    assert reply.status == 200 and body["challenge"] in reply.body


def test_health_endpoint(bot) -> None:
    with urllib.request.urlopen(bot.url.replace("/slack/events", "/healthz"), timeout=10) as resp:
        assert resp.status == 200 and json.loads(resp.read())["ok"] is True


def test_channel_settings_are_admin_only_when_admins_are_set(tmp_path: Path, peer: SlackPeer) -> None:
    with InProcessBot(tmp_path / "data", peer, slack_admins=["UADMIN"]) as bot:
        for text in ("subscribe topics:ai", "unsubscribe", "digest daily 09:00", "digest off"):
            reply = send_form(bot.url, command(text, user="W111"))
            assert reply.status == 200
            assert "only regwatch admins" in reply.json()["text"], text
        assert _rows(bot.engine) == 0
        # Reading is open to everyone; changing is open to admins.
        assert "no subscription" in send_form(bot.url, command("subscriptions", user="W111")).json()["text"]
        assert "No digest" in send_form(bot.url, command("digest", user="W111")).json()["text"]
        assert "now gets alerts" in send_form(bot.url, command("subscribe topics:ai", user="UADMIN")).json()["text"]
        with bot.engine.connect() as conn:
            assert conn.execute(select(subscriptions.c.created_by)).scalar_one() == "UADMIN"


def test_without_an_admin_list_only_workspace_admins_and_owners_change_settings(tmp_path: Path, peer: SlackPeer) -> None:
    peer.set_user("UADMIN", is_admin=True)
    peer.set_user("UOWNER", is_owner=True)
    with InProcessBot(tmp_path / "data", peer) as bot:  # REGWATCH_SLACK_ADMINS empty: the default
        for text in ("subscribe topics:ai", "unsubscribe", "digest daily 09:00", "digest off"):
            reply = send_form(bot.url, command(text, user="W111", channel="CX"))
            assert "only Slack workspace admins and owners" in reply.json()["text"], text
            assert "REGWATCH_SLACK_ADMINS" in reply.json()["text"]
        assert _rows(bot.engine) == 0
        assert "No digest" in send_form(bot.url, command("digest", user="W111")).json()["text"]  # reading is open
        assert "now gets alerts" in send_form(bot.url, command("subscribe topics:ai", user="UADMIN", channel="CX")).json()["text"]
        assert "weekly digest" in send_form(bot.url, command("digest weekly 08:00", user="UOWNER", channel="CX")).json()["text"]
        asked = [c.args.get("user") for c in peer.of("users.info")]
        assert sorted(set(asked)) == ["UADMIN", "UOWNER", "W111"]
        n = len(asked)
        send_form(bot.url, command("unsubscribe", user="W111", channel="CX"))
        assert len(peer.of("users.info")) == n  # cached
        # Slack cannot answer: refused (fail closed), and asked again next time.
        peer.fail("users.info", error="ratelimited", status=429, retry_after=0)
        assert "only Slack workspace admins" in send_form(bot.url, command("unsubscribe", user="UNEW", channel="CX")).json()["text"]
    with InProcessBot(tmp_path / "data2", peer, slack_admins=["W111"]) as bot:  # the list overrides roles
        assert "only regwatch admins" in send_form(bot.url, command("unsubscribe", user="UADMIN")).json()["text"]
        assert "no subscription" in send_form(bot.url, command("unsubscribe", user="W111")).json()["text"].lower()


def test_masking_filter_hides_tokens_secrets_and_tracebacks(tmp_path: Path, peer: SlackPeer) -> None:
    settings = bot_settings(tmp_path, peer)
    stream = io.StringIO()
    root = logging.getLogger("masking-test")
    root.propagate = False
    handler = logging.StreamHandler(stream)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        install_log_masking(settings, root)
        child = logging.getLogger("masking-test.child")  # propagated records pass the handler's filter
        child.info("token %s secret %s", BOT_TOKEN, SIGNING_SECRET)
        child.info("other tokens xoxp-1234567890-abcdef and xapp-1-A1-2-deadbeef")
        try:
            raise RuntimeError(f"auth failed for {BOT_TOKEN}")
        except RuntimeError:
            child.exception("boom")
    finally:
        root.removeHandler(handler)
    out = stream.getvalue()
    for secret in (BOT_TOKEN, SIGNING_SECRET, "xoxp-1234567890-abcdef", "xapp-1-A1-2-deadbeef"):
        assert secret not in out
    assert out.count("[redacted]") >= 5 and "RuntimeError" in out


def test_masking_filter_leaves_ordinary_text_alone() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "posted %s to %s", ("alert 7", "C111"), None)
    SecretMaskingFilter(["s3cr3t-value"]).filter(record)
    assert record.getMessage() == "posted alert 7 to C111"
