"""Slack with a model configured: a "working" message first, replaced by the verified answer (chat.update), and a
follow-up in a thread rewritten into a standalone question that the answer shows. The answerer is the test double
of tests/slack_peer.py (what it answers is not under test here; the real answer path is in test_generate_*.py)."""

from __future__ import annotations

import json
from typing import Any

from slack_peer import FakeAsker, InProcessBot, SlackPeer, mention, send_event

from bot.generate import threads
from bot.slack import messages as msg

LLM = {"llm_base_url": "http://127.0.0.1:9/v1", "llm_model": "stub"}  # never called: the answerer is a double


class RewritingAsker(FakeAsker):
    def __init__(self) -> None:
        super().__init__()
        self.rewrites: list[tuple[str, list[tuple[str, str]]]] = []

    def standalone(self, question: str, history: Any) -> str:
        self.rewrites.append((question, list(history)))
        return "PIPL Article 39"


def test_a_working_message_is_replaced_by_the_answer(tmp_path, peer: SlackPeer) -> None:  # type: ignore[no-untyped-def]
    with InProcessBot(tmp_path / "data", peer, **LLM) as bot:
        send_event(bot.url, mention("Which article covers cross-border transfers?", ts="1700000000.000100"))
        update = peer.wait_for(lambda: peer.of("chat.update"), what="the answer replacing the working message")[0]
        [working] = peer.posts()
        assert working.args["text"] == msg.WORKING and working.args["thread_ts"] == "1700000000.000100"
        assert update.args["channel"] == "C111" and update.args["ts"] == peer.messages["C111"][0]["ts"]
        assert "Article 38" in json.dumps(update.args["blocks"])


def test_without_a_model_the_answer_is_posted_directly(bot) -> None:  # type: ignore[no-untyped-def]
    send_event(bot.url, mention("Which article covers cross-border transfers?", ts="1700000000.000100"))
    post = bot.peer.wait_for(bot.peer.posts, what="an answer")[0]
    assert post.args["text"] != msg.WORKING and bot.peer.of("chat.update") == []


def test_a_follow_up_is_rewritten_from_the_thread_and_shown(tmp_path, peer: SlackPeer) -> None:  # type: ignore[no-untyped-def]
    asker = RewritingAsker()
    with InProcessBot(tmp_path / "data", peer, asker=asker) as bot:
        send_event(bot.url, mention("What does PIPL Article 38 say?", ts="1700000001.000100"))
        peer.wait_for(lambda: len(peer.posts()) == 1, what="first answer")
        send_event(bot.url, mention("and Article 39?", ts="1700000002.000100", thread_ts="1700000001.000100"))
        posts = peer.wait_for(lambda: len(peer.posts()) == 2 and peer.posts(), what="follow-up answer")
        assert asker.questions == ["What does PIPL Article 38 say?", "PIPL Article 39"]
        assert asker.rewrites[0][0] == "and Article 39?"
        assert asker.rewrites[0][1][0][0] == "What does PIPL Article 38 say?"  # the earlier turn, as asked
        shown = json.dumps(posts[1].args["blocks"], ensure_ascii=False)
        assert "asked as:_ PIPL Article 39" in shown
        key = threads.slack_key("C111", "1700000001.000100")
        # The turn is stored just after the answer is posted: wait for it rather than race it.
        turns = peer.wait_for(lambda: len(threads.history(bot.engine, key)) == 2 and threads.history(bot.engine, key),
                              what="the follow-up's turn stored")
        assert [(t.question, t.asked_as) for t in turns] == [
            ("What does PIPL Article 38 say?", "What does PIPL Article 38 say?"), ("and Article 39?", "PIPL Article 39")]
