"""The bot with the real Asker over an index of ../shared/regulations: cited answers, abstention, a fast ack."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from slack_peer import BotProcess, InProcessBot, SlackPeer, mention, send_event

from bot.slack import messages as msg

pytestmark = [pytest.mark.slow, pytest.mark.integration]


@pytest.fixture(scope="module")
def index(shared_index: Any) -> Any:
    """conftest's session index of the shared regulations (built once, skipped where ../shared is absent)."""
    try:
        import bot.answer  # noqa: F401
    except ImportError as e:
        pytest.skip(f"bot.answer (the Asker) is not importable yet: {e}")
    return shared_index


def _text(post: Any) -> str:
    return json.dumps(post.args["blocks"], ensure_ascii=False)


def test_real_answer_in_thread_with_cited_articles(index: Any, peer: SlackPeer) -> None:
    with InProcessBot(index.data_dir, peer, real_asker=True) as bot:
        question = "Which article of the Personal Information Protection Law covers providing personal information outside China?"
        send_event(bot.url, mention(question, ts="1700000200.000100"))
        posts = peer.wait_for(peer.posts, timeout=180, what="the real answer")
        assert posts[0].args["thread_ts"] == "1700000200.000100"
        text = _text(posts[0])
        assert "Sources" in text and "Article" in text
        assert "PIPL" in text or "Personal Information Protection" in text or "个人信息保护法" in text


def test_real_abstention_is_clear(index: Any, peer: SlackPeer) -> None:
    with InProcessBot(index.data_dir, peer, real_asker=True) as bot:
        send_event(bot.url, mention("What is the boiling point of liquid nitrogen on Mars in kelvin?"))
        post = peer.wait_for(peer.posts, timeout=180, what="the abstention")[0]
        assert "No indexed passage answers this" in _text(post)
        assert "Sources" not in _text(post)


def test_served_process_acks_fast_while_the_asker_loads(index: Any, peer: SlackPeer) -> None:
    # The first question builds the Asker (model, stores) after the ack: Slack still gets its 200 in time.
    bot = BotProcess(index.data_dir, peer, args=["--no-jobs"]).start()
    try:
        started = time.monotonic()
        reply = send_event(bot.url, mention("数据出境安全评估适用于哪些情形？", ts="1700000300.000100"))
        assert reply.status == 200 and reply.elapsed < 3.0
        post = peer.wait_for(peer.posts, timeout=240, what="the answer from the served process")[0]
        assert post.args["thread_ts"] == "1700000300.000100"
        text = _text(post)
        assert "Sources" in text or msg.ABSTAINED in text
        assert post.at >= started + reply.elapsed  # the peer got the answer after the ack had returned
    finally:
        bot.stop()
