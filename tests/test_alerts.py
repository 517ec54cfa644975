"""Alerts: fan-out to matching subscriptions, rendering, and exactly-once delivery through Slack's failures."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

import pytest
from slack_peer import SlackPeer, add_change, add_doc
from sqlalchemy import select, update

from bot.alerts import change_matches, deliver_pending, enqueue_alerts
from bot.slack import store
from bot.slack.alert_blocks import ACTION_ALERT_ASK, alert_message
from bot.slack.posting import make_client
from indexer.db import as_utc, make_engine, utcnow
from indexer.schema import outbox


@pytest.fixture
def env(env):
    """The shared `(settings, engine)` plus a Slack client: `(settings, engine, client)`."""
    settings, engine = env
    return settings, engine, make_client(settings)


def outbox_rows(engine) -> list[Any]:
    with engine.connect() as conn:
        return conn.execute(select(outbox).order_by(outbox.c.alert_id)).all()


def alert_ids_posted(peer: SlackPeer, channel: str) -> list[int]:
    return [m["metadata"]["event_payload"]["alert_id"] for m in peer.messages.get(channel, []) if m.get("metadata")]


# --- matching and fan-out --------------------------------------------------------------------------------


def test_change_matches_topics_issuers_kinds() -> None:
    meta = {"topics": ["cross-border data transfer", "personal-information"], "issuer": "全国网络安全标准化技术委员会 (TC260)"}
    change = {"kind": "new_draft"}
    assert change_matches({}, change, meta)
    assert change_matches({"topics": ["cross-border"], "issuers": ["tc260"], "kinds": ["new_draft"]}, change, meta)
    assert change_matches({"topics": ["personal information"]}, change, meta)
    assert not change_matches({"topics": ["ai"]}, change, meta)  # 'ai' is not a word in these topics
    assert not change_matches({"issuers": ["CAC"]}, change, meta)
    assert not change_matches({"kinds": ["amendment"]}, change, meta)
    assert not change_matches({}, {"kind": "minor_edit"}, meta)  # noise unless asked for
    assert change_matches({"kinds": ["minor_edit"]}, {"kind": "minor_edit"}, meta)


def test_fan_out_is_filtered_idempotent_and_starts_at_subscription(env) -> None:
    settings, engine, _ = env
    add_doc(engine, "old", topics=["ai"])
    add_change(engine, "old", "new_draft")  # before anyone subscribed: never alerted
    store.subscribe(engine, "CAI", topics=["ai"], issuers=[], kinds=[], user_id="U1")
    store.subscribe(engine, "CALL", topics=[], issuers=[], kinds=[], user_id="U1")
    store.subscribe(engine, "CTC", topics=[], issuers=["TC260"], kinds=["new_standard"], user_id="U1")
    add_doc(engine, "gen-ai", topics=["generative AI"], issuer="TC260")
    add_doc(engine, "pipl", topics=["personal-information"], issuer="NPC")
    a = add_change(engine, "gen-ai", "new_draft")
    b = add_change(engine, "pipl", "amendment")
    add_change(engine, "pipl", "minor_edit")
    assert enqueue_alerts(engine) == 3
    assert enqueue_alerts(engine) == 0  # idempotent
    assert sorted((r.change_id, r.destination) for r in outbox_rows(engine)) == sorted(
        [(a, "CAI"), (a, "CALL"), (b, "CALL")]
    )


# --- rendering -------------------------------------------------------------------------------------------


def _render(kind: str, meta: dict, **change: Any) -> str:
    text, blocks = alert_message({"change_id": 7, "kind": kind, "title": "T <!channel>", **change}, meta)
    assert "<!channel>" not in text
    assert blocks[-1]["elements"][0]["action_id"] == ACTION_ALERT_ASK and blocks[-1]["elements"][0]["value"] == "7"
    return json.dumps(blocks, ensure_ascii=False)


def test_alert_rendering_per_kind() -> None:
    draft = _render("new_draft", {"comment_deadline": "2026-12-15", "issuer": "CAC"}, url="https://www.cac.gov.cn/x")
    assert "Comment deadline:* 2026-12-15" in draft and "<https://www.cac.gov.cn/x|T &lt;!channel&gt;>" in draft
    assert "not stated" in _render("new_draft", {})
    std = _render("new_standard", {"standard_number": "GB 45438-2025", "effective": "2025-09-01"})
    assert "GB 45438-2025" in std and "Effective:* 2025-09-01" in std
    amend = _render("amendment", {"effective": "2026-01-01"}, summary="Art. 1 <@U1> fines raised",
                    changed_sections={"added": ["Article 20"], "removed": [], "changed": ["Article 38", "Article 66"]})  # fmt: skip
    assert "Changed:* Article 38, Article 66" in amend and "Added:* Article 20" in amend
    assert "What changed" in amend and "&lt;@U1&gt; fines raised" in amend and "<@U1>" not in amend


# --- delivery --------------------------------------------------------------------------------------------


def _queue(engine, n: int = 1, channel: str = "C111") -> list[int]:
    store.subscribe(engine, channel, topics=[], issuers=[], kinds=[], user_id="U1")
    add_doc(engine, f"doc-{channel}", comment_deadline="2026-12-31")
    for i in range(n):
        add_change(engine, f"doc-{channel}", "new_draft", title=f"Draft {i}")
    enqueue_alerts(engine)
    return [r.alert_id for r in outbox_rows(engine) if r.destination == channel]


def test_delivery_posts_once_with_metadata_and_marks_sent(env, peer: SlackPeer) -> None:
    settings, engine, client = env
    ids = _queue(engine, 2)
    report = deliver_pending(settings, client, engine=engine)
    assert (report.sent, report.failed, report.claimed) == (2, 0, 2)
    assert alert_ids_posted(peer, "C111") == ids
    rows = outbox_rows(engine)
    assert [r.state for r in rows] == ["sent", "sent"]
    assert [r.message_ts for r in rows] == [m["ts"] for m in peer.messages["C111"]]
    assert deliver_pending(settings, client, engine=engine).claimed == 0  # nothing left to do
    assert len(peer.posts()) == 2


def test_rate_limit_then_success(env, peer: SlackPeer) -> None:
    settings, engine, client = env
    ids = _queue(engine)
    peer.fail("chat.postMessage", status=429, retry_after=1)
    report = deliver_pending(settings, client, engine=engine)
    assert report.sent == 1
    posts = peer.posts()
    assert len(posts) == 2 and posts[1].at - posts[0].at >= 0.9  # the retry waited for Retry-After
    assert alert_ids_posted(peer, "C111") == ids


def test_rate_limit_beyond_sdk_retries_requeues_after_retry_after(env, peer: SlackPeer) -> None:
    settings, engine, client = env
    _queue(engine)
    peer.fail("chat.postMessage", status=429, retry_after=0, times=3)  # the SDK retries twice, then gives up
    report = deliver_pending(settings, client, engine=engine)
    assert report.retried == 1 and report.sent == 0
    row = outbox_rows(engine)[0]
    assert (row.state, row.attempts, row.last_error) == ("queued", 1, "ratelimited")
    assert deliver_pending(settings, client, engine=engine).sent == 1
    assert len(peer.messages["C111"]) == 1


def test_server_error_is_retried_with_backoff_and_checked_before_reposting(env, peer: SlackPeer) -> None:
    settings, engine, client = env
    _queue(engine)
    peer.fail("chat.postMessage", status=500)
    report = deliver_pending(settings, client, engine=engine, retry_base_s=3600)
    assert report.retried == 1
    row = outbox_rows(engine)[0]
    assert (row.state, row.attempts) == ("queued", 1) and row.last_error
    next_attempt = as_utc(row.next_attempt_at)
    assert next_attempt is not None and next_attempt > utcnow() + timedelta(minutes=50)  # backoff honoured
    assert deliver_pending(settings, client, engine=engine).claimed == 0
    with engine.begin() as conn:
        conn.execute(update(outbox).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    assert deliver_pending(settings, client, engine=engine).sent == 1
    assert len(peer.of("conversations.history")) == 1  # looked for an earlier post before posting again
    assert len(peer.messages["C111"]) == 1 and outbox_rows(engine)[0].attempts == 2


def test_timeout_after_the_post_landed_is_recovered_without_a_second_post(env, peer: SlackPeer) -> None:
    settings, engine, client = env
    client.timeout = 1
    _queue(engine)
    peer.fail("chat.postMessage", record=True, delay=3)  # posted, but the reply never arrives in time
    report = deliver_pending(settings, client, engine=engine, retry_base_s=0)
    assert report.retried == 1 and len(peer.messages["C111"]) == 1
    report = deliver_pending(settings, client, engine=engine, retry_base_s=0)
    assert report.recovered == 1 and report.sent == 0
    assert len(peer.messages["C111"]) == 1
    row = outbox_rows(engine)[0]
    assert row.state == "sent" and row.message_ts == peer.messages["C111"][0]["ts"]


def test_permanent_failure_is_recorded_and_delivery_goes_on(env, peer: SlackPeer) -> None:
    settings, engine, client = env
    _queue(engine, channel="CGONE")
    _queue(engine, channel="C111")
    peer.missing_channels.add("CGONE")
    report = deliver_pending(settings, client, engine=engine)
    assert (report.failed, report.sent) == (2, 1)  # CGONE subscribed first, so it has both changes
    states = {(r.destination, r.state, r.last_error) for r in outbox_rows(engine)}
    assert states == {("CGONE", "failed", "channel_not_found"), ("C111", "sent", None)}
    assert deliver_pending(settings, client, engine=engine).claimed == 0  # failed rows are not retried


def test_two_concurrent_deliverers_post_each_alert_once(env, peer: SlackPeer) -> None:
    settings, engine, _ = env
    ids = _queue(engine, 12)
    for _ in range(12):
        peer.fail("chat.postMessage", record=True, delay=0.05)  # slow enough for the two to overlap
    reports = []

    def run(name: str) -> None:
        own_engine = make_engine(settings.resolved_state_url)  # a separate pool, as another process would have
        reports.append(deliver_pending(settings, make_client(settings), engine=own_engine, worker=name, limit=3))
        reports.append(deliver_pending(settings, make_client(settings), engine=own_engine, worker=name))
        own_engine.dispose()

    threads = [threading.Thread(target=run, args=(f"w{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(alert_ids_posted(peer, "C111")) == ids
    assert sum(r.sent for r in reports) == 12 and sum(r.claimed for r in reports) == 12
    assert {r.state for r in outbox_rows(engine)} == {"sent"}
