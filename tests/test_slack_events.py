"""Mentions and DMs through the real Bolt app over HTTP: threads, follow-ups, de-dup, bots, allowlist, limits."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from slack_peer import (
    BOT_ID,
    BOT_USER,
    FakeAsker,
    InProcessBot,
    SlackPeer,
    block_problem,
    dm,
    mention,
    sample_answer,
    send_event,
)
from sqlalchemy import func, select

from bot.slack import messages as msg
from bot.types import Answer, Citation
from indexer.errors import NotIndexedError
from indexer.schema import answers, slack_events, threads


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_mention_is_answered_in_its_thread(bot) -> None:
    event = mention("Which article covers cross-border transfers?", ts="1700000000.000100")
    assert send_event(bot.url, event).status == 200
    post = bot.peer.wait_for(bot.peer.posts, what="an answer")[0]
    assert post.args["thread_ts"] == "1700000000.000100"
    assert post.args["channel"] == "C111"
    assert bot.asker.questions == ["Which article covers cross-border transfers?"]  # the @-mention is not asked
    text = json.dumps(post.args["blocks"])
    assert "Article 38" in text and "Personal Information Protection Law" in text
    assert msg.CAVEAT_DRAFT in text  # the draft citation is flagged
    assert "open source" in text and "http://en.npc.gov.cn/pipl.htm" in text


def test_mention_inside_a_thread_answers_in_that_thread(bot) -> None:
    send_event(bot.url, mention("what is PIPL?", ts="1700000000.000300", thread_ts="1700000000.000200"))
    post = bot.peer.wait_for(bot.peer.posts, what="an answer")[0]
    assert post.args["thread_ts"] == "1700000000.000200"


def test_follow_up_in_a_thread_uses_the_earlier_question(bot) -> None:
    send_event(bot.url, mention("What does PIPL require for cross-border transfers?", ts="1700000001.000100"))
    bot.peer.wait_for(lambda: len(bot.peer.posts()) == 1, what="first answer")
    send_event(bot.url, mention("and the penalties?", ts="1700000002.000100", thread_ts="1700000001.000100"))
    posts = bot.peer.wait_for(lambda: len(bot.peer.posts()) == 2 and bot.peer.posts(), what="follow-up answer")
    assert bot.asker.questions[1] == "What does PIPL require for cross-border transfers?\nand the penalties?"
    assert posts[1].args["thread_ts"] == "1700000001.000100"
    assert "Follow-up, asked as" in json.dumps(posts[1].args["blocks"])
    with bot.engine.connect() as conn:  # the thread keeps its first question as context
        assert conn.execute(select(threads.c.question)).scalars().all() == [
            "What does PIPL require for cross-border transfers?"
        ]


def test_dm_is_answered_in_thread_once_even_with_a_mention(bot) -> None:
    send_event(bot.url, dm(f"<@{BOT_USER}> do I need a security assessment?", ts="1700000003.000100"))
    send_event(bot.url, mention("do I need a security assessment?", channel="D024BE91L", ts="1700000003.000100"))
    post = bot.peer.wait_for(bot.peer.posts, what="an answer")[0]
    assert post.args["channel"] == "D024BE91L" and post.args["thread_ts"] == "1700000003.000100"
    time.sleep(0.3)
    assert bot.asker.questions == ["do I need a security assessment?"]


@pytest.mark.parametrize(
    "event",
    [
        {"bot_id": "B999"},  # another bot
        {"subtype": "bot_message", "bot_id": "B999"},
        {"user": BOT_USER},  # the bot itself
        {"bot_id": BOT_ID, "user": BOT_USER},
        {"subtype": "message_changed"},  # an edit, not a new question
    ],
)
def test_bots_self_and_edits_are_ignored(bot, event: dict) -> None:
    assert send_event(bot.url, dm("loop?", **event)).status == 200
    send_event(bot.url, dm("a real question", ts="1700000009.000100"))  # processed after: proves the first was seen
    bot.peer.wait_for(bot.peer.posts, what="the real answer")
    time.sleep(0.3)
    assert bot.asker.questions == ["a real question"]
    assert len(bot.peer.posts()) == 1


def test_retried_event_is_answered_once(bot) -> None:
    event = mention("retry me", event_id="EvRETRY1")
    assert send_event(bot.url, event).status == 200
    assert send_event(bot.url, event, retry_num=1).status == 200
    assert send_event(bot.url, event, retry_num=2).status == 200
    bot.peer.wait_for(bot.peer.posts, what="the answer")
    time.sleep(0.5)
    assert len(bot.peer.posts()) == 1
    assert bot.asker.questions == ["retry me"]
    assert _count(bot.engine, slack_events) == 1


def test_retries_are_deduplicated_across_processes(tmp_path: Path, peer: SlackPeer) -> None:
    # Two bot instances on one state store: Slack's retry may reach another replica than the first delivery.
    with InProcessBot(tmp_path / "data", peer) as a, InProcessBot(tmp_path / "data", peer) as b:
        event = mention("only once", event_id="EvSHARED")
        send_event(a.url, event)
        send_event(b.url, event, retry_num=1)
        peer.wait_for(peer.posts, what="the answer")
        time.sleep(0.5)
        assert len(peer.posts()) == 1
        assert len(a.asker.questions) + len(b.asker.questions) == 1


def test_allowlist_limits_channels_but_not_dms(tmp_path: Path, peer: SlackPeer) -> None:
    with InProcessBot(tmp_path / "data", peer, slack_channel_allowlist=["CALLOWED"]) as bot:
        send_event(bot.url, mention("outside?", channel="COTHER"))
        send_event(bot.url, mention("inside?", channel="CALLOWED"))
        send_event(bot.url, dm("private?"))
        peer.wait_for(lambda: len(peer.posts()) == 2, what="two answers")
        time.sleep(0.3)
        assert sorted(c.args["channel"] for c in peer.posts()) == ["CALLOWED", "D024BE91L"]
        assert "outside?" not in bot.asker.questions


def test_long_answer_continues_in_the_thread_within_limits(tmp_path: Path, peer: SlackPeer) -> None:
    def huge(question: str) -> Answer:
        cites = [
            Citation(n=i, doc_id="d", title="PIPL", source_path="p", url=None, section=f"Article {i}",
                     section_number=i, status="in_force", doc_type="law", effective=None, quote="数据" * 2500,
                     score=0.9)  # fmt: skip
            for i in range(1, 25)
        ]
        return Answer(question=question, answer="Long answer. " * 1500, abstained=False, citations=cites)

    with InProcessBot(tmp_path / "data", peer, asker=FakeAsker(answer_for=huge)) as bot:
        send_event(bot.url, mention("everything?", ts="1700000005.000100"))
        peer.wait_for(lambda: len(peer.posts()) >= 2 and peer.of("chat.postMessage")[-1].args["blocks"][-1]["type"] == "actions",
                      what="the whole answer")  # fmt: skip
        posts = peer.posts()
        assert all(p.args["thread_ts"] == "1700000005.000100" for p in posts)
        assert all(len(p.args["blocks"]) <= 50 and block_problem(p.args["blocks"]) is None for p in posts)
        assert len(peer.messages["C111"]) == len(posts)  # the peer (enforcing Slack's limits) accepted every one


def test_answer_failure_is_reported_in_thread(tmp_path: Path, peer: SlackPeer) -> None:
    def broken(question: str) -> Answer:
        raise NotIndexedError("no index yet", hint="run regwatch index first")

    with InProcessBot(tmp_path / "data", peer, asker=FakeAsker(answer_for=broken)) as bot:
        send_event(bot.url, mention("anything?"))
        post = peer.wait_for(peer.posts, what="the error reply")[0]
        assert "no index yet" in post.args["text"]
        assert _count(bot.engine, answers) == 0


def test_hostile_question_is_escaped_in_the_follow_up_context(bot) -> None:
    bot.asker.answer_for = lambda q: sample_answer(q, quote="Quote <!channel> <@U123> <http://evil|click>")
    send_event(bot.url, mention("first <!channel> <@U999>", ts="1700000006.000100"))
    bot.peer.wait_for(bot.peer.posts, what="first answer")
    send_event(bot.url, mention("next", ts="1700000007.000100", thread_ts="1700000006.000100"))
    bot.peer.wait_for(lambda: len(bot.peer.posts()) == 2, what="follow-up")
    for post in bot.peer.posts():
        text = json.dumps(post.args["blocks"]) + post.args["text"]
        for bad in ("<!channel>", "<@U123>", "<@U999>", "<http://evil"):
            assert bad not in text
