"""Digests: what goes in, when they are due (in the configured timezone), posting once, the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import typer
from slack_peer import SlackPeer, add_change, add_doc
from sqlalchemy import select, update
from typer.testing import CliRunner

from bot.digest import last_due, render_digest, run_due_digests
from bot.slack import store
from bot.slack.alert_blocks import digest_messages
from bot.slack.cli import register
from bot.slack.posting import make_client
from indexer.db import as_utc, utcnow
from indexer.schema import changes, channel_settings

NOW = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai, a Tuesday


def _at(engine, change_id: int, when: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(update(changes).where(changes.c.change_id == change_id).values(detected_at=when))


def test_digest_content(env) -> None:
    _, engine = env
    add_doc(engine, "draft", title="CSL amendment draft", comment_deadline="2026-03-25", effective="2026-09-01")
    add_doc(engine, "std", title="GB/T 45438", effective="2026-04-01")  # 22 days ahead: in
    add_doc(engine, "far", title="Far away", effective="2026-06-01")  # beyond 30 days: out
    add_doc(engine, "past", title="Past", effective="2026-03-01")  # already in force: out
    _at(engine, add_change(engine, "draft", "new_draft", title="CSL amendment draft"), NOW - timedelta(days=2))
    _at(engine, add_change(engine, "std", "minor_edit"), NOW - timedelta(days=1))  # noise: out
    _at(engine, add_change(engine, "std", "new_standard", title="GB/T 45438"), NOW - timedelta(days=9))  # before: out
    digest = render_digest(engine, NOW - timedelta(days=7), NOW)
    assert [c["title"] for c in digest.changes] == ["CSL amendment draft"]
    assert [(u["date"], u["what"]) for u in digest.upcoming] == [("2026-03-25", "comment_deadline"), ("2026-04-01", "effective")]
    text, messages = digest_messages(digest)
    blocks = json.dumps(messages)
    assert "comments due" in blocks and "takes effect" in blocks and "1 change(s)" in text
    assert "comments due" in digest.to_text()


def test_digest_follows_the_channel_subscription(env) -> None:
    _, engine = env
    add_doc(engine, "ai", topics=["AI"])
    add_doc(engine, "pi", topics=["personal-information"])
    for doc in ("ai", "pi"):
        _at(engine, add_change(engine, doc, "new_draft", title=doc), NOW - timedelta(hours=1))
    digest = render_digest(engine, NOW - timedelta(days=1), NOW, subscription={"topics": ["ai"], "issuers": [], "kinds": []})
    assert [c["title"] for c in digest.changes] == ["ai"]


def test_empty_period_says_so_briefly(env) -> None:
    _, engine = env
    digest = render_digest(engine, NOW - timedelta(days=1), NOW)
    assert digest.is_empty
    text, messages = digest_messages(digest)
    assert len(messages) == 1 and len(messages[0]) == 2
    assert "Nothing new since 2026-03-09" in json.dumps(messages)


@pytest.mark.parametrize(
    "freq,hhmm,now,expected",
    [
        ("daily", "09:00", NOW, datetime(2026, 3, 10, 1, 0, tzinfo=UTC)),  # exactly at 09:00 Shanghai
        ("daily", "09:30", NOW, datetime(2026, 3, 9, 1, 30, tzinfo=UTC)),  # not yet today: yesterday's
        # 07:30 on the 10th in Shanghai while UTC is still on the 9th: today's (local) 07:00 is due
        ("daily", "07:00", datetime(2026, 3, 9, 23, 30, tzinfo=UTC), datetime(2026, 3, 9, 23, 0, tzinfo=UTC)),
        ("weekly", "09:00", NOW, datetime(2026, 3, 9, 1, 0, tzinfo=UTC)),  # Monday
        ("weekly", "10:00", datetime(2026, 3, 9, 1, 0, tzinfo=UTC), datetime(2026, 3, 2, 2, 0, tzinfo=UTC)),
    ],
)
def test_last_due_in_the_configured_timezone(freq: str, hhmm: str, now: datetime, expected: datetime) -> None:
    assert last_due(freq, hhmm, "Asia/Shanghai", now) == expected


def _configure(engine, channel: str, freq: str = "daily", time: str = "09:00", skip: bool = False,
               set_at: datetime = NOW - timedelta(days=3)) -> None:  # fmt: skip
    store.set_digest(engine, channel, freq=freq, time=time, skip_empty=skip)
    with engine.begin() as conn:
        conn.execute(update(channel_settings).where(channel_settings.c.channel_id == channel).values(updated_at=set_at))


def _last(engine, channel: str) -> datetime | None:
    with engine.connect() as conn:
        value = conn.execute(select(channel_settings.c.last_digest_at).where(channel_settings.c.channel_id == channel)).scalar()
    return as_utc(value)


def test_due_digests_post_once_and_record_last_digest_at(env, peer: SlackPeer) -> None:
    settings, engine = env
    client = make_client(settings)
    _configure(engine, "CDAILY")
    _configure(engine, "CSKIP", skip=True)
    _configure(engine, "CLATE", set_at=NOW + timedelta(minutes=10))  # set after 09:00 today: waits for tomorrow
    _configure(engine, "CWEEK", freq="weekly", time="10:00")  # Monday 10:00 already passed: due
    posted = run_due_digests(settings, client, engine, now=NOW + timedelta(minutes=30))
    assert sorted(posted) == ["CDAILY", "CWEEK"]
    assert _last(engine, "CDAILY") == NOW and _last(engine, "CSKIP") == NOW  # skipped, but recorded
    assert _last(engine, "CLATE") is None
    assert "Nothing new" in json.dumps(peer.posts("CDAILY")[0].args["blocks"])
    assert run_due_digests(settings, client, engine, now=NOW + timedelta(minutes=31)) == []  # once per period
    assert sorted(run_due_digests(settings, client, engine, now=NOW + timedelta(days=1))) == ["CDAILY", "CLATE"]
    assert len(peer.posts("CDAILY")) == 2


def test_next_digest_covers_changes_since_the_last_one(env, peer: SlackPeer) -> None:
    settings, engine = env
    _configure(engine, "C1")
    run_due_digests(settings, make_client(settings), engine, now=NOW)
    add_doc(engine, "d", title="New draft")
    _at(engine, add_change(engine, "d", "new_draft", title="New draft"), NOW + timedelta(hours=3))
    run_due_digests(settings, make_client(settings), engine, now=NOW + timedelta(days=1))
    assert "New draft" in json.dumps(peer.posts("C1")[1].args["blocks"])


def test_digest_cli_prints_json_and_posts(env, peer: SlackPeer, monkeypatch: pytest.MonkeyPatch) -> None:
    settings, engine = env
    add_doc(engine, "d", title="Recent draft")
    add_change(engine, "d", "new_draft", title="Recent draft")
    for key, value in {"REGWATCH_DATA_DIR": str(settings.data_dir), "SLACK_BOT_TOKEN": settings.slack_bot_token.get_secret_value(),
                       "REGWATCH_SLACK_API_URL": peer.api_url}.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)  # a second command keeps `digest` a sub-command
    runner = CliRunner()
    result = runner.invoke(app, ["digest", "--since", "2d", "--json"])
    assert result.exit_code == 0, result.output
    assert [c["title"] for c in json.loads(result.output)["changes"]] == ["Recent draft"]
    assert "Recent draft" in runner.invoke(app, ["digest"]).output
    result = runner.invoke(app, ["digest", "--post", "CDIGEST"])
    assert result.exit_code == 0 and "posted" in result.output
    assert "Recent draft" in json.dumps(peer.posts("CDIGEST")[0].args["blocks"])
    peer.missing_channels.add("CNOPE")
    refused = runner.invoke(app, ["digest", "--post", "CNOPE"])
    assert refused.exit_code == 2 and "channel_not_found" in refused.output
    bad = runner.invoke(app, ["digest", "--since", "last tuesday"])
    assert bad.exit_code == 2 and "neither a duration nor a date" in bad.output


def test_utcnow_is_aware() -> None:
    assert utcnow().tzinfo is not None
