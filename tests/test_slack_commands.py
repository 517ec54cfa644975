"""`/regwatch` and the answer buttons through the real Bolt app over HTTP; the parsers on their own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from slack_peer import (
    InProcessBot,
    SlackPeer,
    add_change,
    add_doc,
    block_action,
    command,
    send_action,
    send_form,
)
from sqlalchemy import select

from bot.slack import blocks as bk
from bot.slack import messages as msg
from bot.slack.alert_blocks import ACTION_ALERT_ASK
from bot.slack.commands import UsageError, parse_digest, parse_subscription, split_command
from indexer.schema import answers, channel_settings, feedback, subscriptions, threads


@pytest.fixture
def peer(peer):
    peer.set_user("W111", is_admin=True)  # the commands' user is a workspace admin (no regwatch admin list is set)
    return peer


def _cmd(bot, text: str, **kw) -> str:
    reply = send_form(bot.url, command(text, **kw))
    assert reply.status == 200
    body = reply.json()
    assert body["response_type"] == "ephemeral"
    return body["text"]


# --- parsing ---------------------------------------------------------------------------------------------


def test_parse_subscription_filters() -> None:
    spec = parse_subscription("topics:cross-border,ai issuers:TC260 kinds:new_draft,new_standard")
    assert spec.topics == ["cross-border", "ai"]
    assert spec.issuers == ["TC260"]
    assert spec.kinds == ["new_draft", "new_standard"]
    assert parse_subscription("") == type(spec)()
    assert parse_subscription("privacy topic:AI").topics == ["privacy", "AI"]


@pytest.mark.parametrize("bad", ["kinds:new_law", "colour:red"])
def test_parse_subscription_rejects_unknown_input(bad: str) -> None:
    with pytest.raises(UsageError):
        parse_subscription(bad)


def test_parse_digest() -> None:
    assert parse_digest("daily") == ("daily", "09:00", False)
    assert parse_digest("weekly 8:05 skip-empty") == ("weekly", "08:05", True)
    assert parse_digest("off") == (None, None, False)
    for bad in ("hourly", "daily 25:00", "daily soon"):
        with pytest.raises(UsageError):
            parse_digest(bad)


def test_split_command() -> None:
    assert split_command("ASK what is PIPL?") == ("ask", "what is PIPL?")
    assert split_command("  ") == ("help", "")


# --- sub-commands ----------------------------------------------------------------------------------------


def test_help_lists_every_subcommand(bot) -> None:
    text = _cmd(bot, "help")
    for sub in ("ask", "subscribe", "unsubscribe", "subscriptions", "digest", "sources", "help"):
        assert f"/regwatch {sub}" in text
    assert _cmd(bot, "") == text
    assert "don't know `frobnicate`" in _cmd(bot, "frobnicate")


def test_subscriptions_persist_per_channel(bot) -> None:
    text = _cmd(bot, "subscribe topics:cross-border,ai issuers:TC260 kinds:new_draft,new_standard", channel="CA")
    assert "now gets alerts" in text and "TC260" in text
    _cmd(bot, "subscribe", channel="CB")
    with bot.engine.connect() as conn:
        rows = {r.channel_id: r for r in conn.execute(select(subscriptions))}
    assert rows["CA"].topics == ["cross-border", "ai"] and rows["CA"].kinds == ["new_draft", "new_standard"]
    assert rows["CB"].topics == [] and rows["CB"].created_by == "W111"
    assert "TC260" in _cmd(bot, "subscriptions", channel="CA")
    assert "except minor edits" in _cmd(bot, "subscriptions", channel="CB")
    assert "could not read" in _cmd(bot, "subscribe kinds:bogus", channel="CA")
    assert _cmd(bot, "unsubscribe", channel="CA") == msg.UNSUBSCRIBED
    assert _cmd(bot, "unsubscribe", channel="CA") == msg.NOT_SUBSCRIBED
    with bot.engine.connect() as conn:
        assert conn.execute(select(subscriptions.c.channel_id)).scalars().all() == ["CB"]


def test_digest_schedule_persists(bot) -> None:
    assert "weekly digest at 08:30 (Asia/Shanghai)" in _cmd(bot, "digest weekly 08:30 skip-empty")
    with bot.engine.connect() as conn:
        row = conn.execute(select(channel_settings)).one()
    assert (row.digest, row.digest_time, row.digest_skip_empty) == ("weekly", "08:30", True)
    assert "weekly at 08:30" in _cmd(bot, "digest")
    assert _cmd(bot, "digest off") == msg.DIGEST_OFF
    assert "Usage" in _cmd(bot, "digest monthly")


def test_sources_are_listed(tmp_path: Path, peer: SlackPeer) -> None:
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        "version: 1\nsources:\n"
        "  - {name: tc260-drafts, kind: listing, url: 'https://www.tc260.org.cn/front/bzzqyjList.html', issuer: TC260}\n"
        "  - {name: local, kind: folder, path: corpus/briefs}\n",
        encoding="utf-8",
    )
    with InProcessBot(tmp_path / "data", peer, sources_file=sources) as bot:
        text = _cmd(bot, "sources")
    assert "(2)" in text and "tc260-drafts" in text and "https://www.tc260.org.cn" in text and "TC260" in text


def test_commands_outside_the_allowlist_are_refused(tmp_path: Path, peer: SlackPeer) -> None:
    with InProcessBot(tmp_path / "data", peer, slack_channel_allowlist=["CALLOWED"]) as bot:
        assert _cmd(bot, "subscribe", channel="COTHER") == msg.CHANNEL_NOT_ALLOWED
        assert _cmd(bot, "ask what?", channel="COTHER") == msg.CHANNEL_NOT_ALLOWED
        assert "now gets alerts" in _cmd(bot, "subscribe", channel="CALLOWED")
        assert bot.asker.questions == []


# --- ask, share, feedback --------------------------------------------------------------------------------


def _ask(bot, question: str) -> dict:
    """/regwatch ask: the ack says it is working, the answer arrives on the response_url with its buttons."""
    assert _cmd(bot, f"ask {question}", response_url=bot.peer.response_url("cmd")) == msg.THINKING
    call = bot.peer.wait_for(lambda: bot.peer.of("response_url"), what="the ephemeral answer")[0]
    return call.args


def test_ask_answers_ephemerally_with_a_share_button(bot) -> None:
    body = _ask(bot, "Which article covers cross-border transfers?")
    assert body["response_type"] == "ephemeral"
    assert bot.asker.questions == ["Which article covers cross-border transfers?"]
    actions = body["blocks"][-1]["elements"]
    assert [a["action_id"] for a in actions] == [bk.ACTION_FEEDBACK_UP, bk.ACTION_FEEDBACK_DOWN, bk.ACTION_SHARE]
    assert bot.peer.posts() == []  # nothing public yet


def test_share_in_channel_posts_publicly_and_removes_the_ephemeral(bot) -> None:
    answer_id = _ask(bot, "What is a CIIO?")["blocks"][-1]["elements"][2]["value"]
    bot.peer.reset()
    click = block_action(bk.ACTION_SHARE, answer_id, channel="C111", user="W111", ephemeral=True,
                         response_url=bot.peer.response_url("share"))  # fmt: skip
    assert send_action(bot.url, click).status == 200
    post = bot.peer.wait_for(bot.peer.posts, what="the public post")[0]
    assert post.args["channel"] == "C111" and "thread_ts" not in post.args
    text = json.dumps(post.args["blocks"])
    assert "Shared by <@W111>" in text and "What is a CIIO?" in text and "Article 38" in text
    assert bk.ACTION_SHARE not in text  # the public copy keeps feedback buttons only
    deleted = bot.peer.wait_for(lambda: bot.peer.of("response_url"), what="delete_original")[0]
    assert deleted.args.get("delete_original") is True


@pytest.mark.parametrize("action_id,vote", [(bk.ACTION_FEEDBACK_UP, "up"), (bk.ACTION_FEEDBACK_DOWN, "down")])
def test_feedback_is_recorded_with_question_and_citations(bot, action_id: str, vote: str) -> None:
    answer_id = _ask(bot, "Is a security assessment needed?")["blocks"][-1]["elements"][0]["value"]
    bot.peer.reset()
    click = block_action(action_id, answer_id, user="U42", message_ts="1700000000.000900",
                         response_url=bot.peer.response_url("fb"))  # fmt: skip
    assert send_action(bot.url, click).status == 200
    thanks = bot.peer.wait_for(lambda: bot.peer.of("response_url"), what="thanks")[0]
    assert thanks.args["text"] == msg.FEEDBACK_THANKS and thanks.args["response_type"] == "ephemeral"
    with bot.engine.connect() as conn:
        row = conn.execute(select(feedback)).one()
    assert (row.vote, row.user_id, row.channel_id, row.message_ts) == (vote, "U42", "C111", "1700000000.000900")
    assert row.question == "Is a security assessment needed?"
    assert [c["section"] for c in row.citations] == ["Article 38", "4.2"]
    assert row.citations[0]["passage_id"] == "doc-0::p0" and row.score == pytest.approx(0.8)


def test_feedback_on_an_unknown_answer_says_so(bot) -> None:
    bot.peer.reset()
    send_action(bot.url, block_action(bk.ACTION_FEEDBACK_UP, "missing", response_url=bot.peer.response_url("x")))
    reply = bot.peer.wait_for(lambda: bot.peer.of("response_url"), what="a reply")[0]
    assert reply.args["text"] == msg.FEEDBACK_UNKNOWN
    with bot.engine.connect() as conn:
        assert conn.execute(select(feedback)).all() == []
        assert conn.execute(select(answers)).all() == []


def test_ask_about_an_alert_answers_in_the_alert_thread(bot) -> None:
    add_doc(bot.engine, "csl-draft", title="CSL amendment draft <!channel>")
    change_id = add_change(bot.engine, "csl-draft", "new_draft", title="CSL amendment draft <!channel>")
    click = block_action(ACTION_ALERT_ASK, str(change_id), channel="CALERTS", message_ts="1700000050.000100")
    assert send_action(bot.url, click).status == 200
    post = bot.peer.wait_for(bot.peer.posts, what="the answer in the alert's thread")[0]
    assert (post.args["channel"], post.args["thread_ts"]) == ("CALERTS", "1700000050.000100")
    assert bot.asker.questions == ["What does CSL amendment draft <!channel> require?"]
    assert bot.asker.filters[0].doc_id == ["csl-draft"]  # answered from that document
    assert "<!channel>" not in json.dumps(post.args["blocks"])
    with bot.engine.connect() as conn:  # a follow-up in the alert's thread has this question as context
        assert conn.execute(select(threads.c.thread_ts)).scalars().all() == ["1700000050.000100"]
