"""Asking the answerer on Slack's behalf: the lazily built Asker, questions from mentions, thread context."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from slack_sdk import WebClient
from sqlalchemy.engine import Engine

from bot.generate import threads
from bot.slack import messages as msg
from bot.slack import posting, store
from bot.slack.blocks import esc
from bot.types import Answer, Filters
from indexer.errors import RegwatchError
from indexer.settings import Settings

log = logging.getLogger(__name__)

_LEADING_MENTIONS = re.compile(r"^(?:\s*<@[A-Z0-9]+(?:\|[^>]*)?>[\s,:]*)+")


class AskerLike(Protocol):
    """What the bot needs from bot.answer.Asker (bot.generate.assistant.Assistant also rewrites follow-ups:
    `standalone(question, history)`)."""

    def ask(self, question: str, *, k: int | None = None, filters: Filters | None = None) -> Answer: ...


class LazyAsker:
    """Builds the real answerer on the first question, so `serve` is up (and acking) before any model loads: the
    Assistant, which is the extractive Asker exactly unless a language model is configured."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._asker: Any = None
        self._lock = threading.Lock()

    def _built(self) -> Any:
        with self._lock:
            if self._asker is None:
                from bot.generate.assistant import Assistant  # heavy: embeddings, vector store

                self._asker = Assistant(self._settings)
        return self._asker

    def ask(self, question: str, *, k: int | None = None, filters: Filters | None = None) -> Answer:
        return self._built().ask(question, k=k, filters=filters)  # type: ignore[no-any-return]

    def standalone(self, question: str, history: Sequence[tuple[str, str]]) -> str:
        return self._built().standalone(question, history)  # type: ignore[no-any-return]


@dataclass
class BotContext:
    """What every listener needs, built once in create_app."""

    settings: Settings
    engine: Engine
    asker: AskerLike
    admin: Any = None  # security.AdminCheck: who may change channel settings


def question_from(text: str) -> str:
    """The question in a message: leading @-mentions of the bot removed, whitespace tidied."""
    return _LEADING_MENTIONS.sub("", text or "").strip()


def failure_text(exc: Exception) -> str:
    reason = str(exc) if isinstance(exc, RegwatchError) else msg.ANSWER_FAILED_GENERIC
    return msg.ANSWER_FAILED.format(reason=esc(reason))


def ask_and_save(
    ctx: BotContext,
    question: str,
    *,
    channel: str | None,
    user: str | None,
    reply_failure: Callable[[str], object],
    filters: Filters | None = None,
    what: str = "answering",
) -> tuple[Answer, str] | None:
    """(answer, stored answer_id); or, when asking fails, log it, tell the user through `reply_failure` and None."""
    try:
        answer = ctx.asker.ask(question, filters=filters)
    except Exception as exc:  # the user must hear back whatever broke; the log has the details
        log.exception("%s failed", what)
        reply_failure(failure_text(exc))
        return None
    return answer, store.save_answer(ctx.engine, answer, channel_id=channel, user_id=user)


def contextual_question(ctx: BotContext, channel: str, thread_ts: str | None, question: str) -> tuple[str, str | None]:
    """(what to ask, the rewritten question to show, or None when it is asked as it is).

    A follow-up like "and the penalties?" means nothing alone, so it is rewritten into a standalone question from
    the thread's earlier turns (bot/generate/followup.py: by the configured model, else by carrying over the laws
    and articles asked about). A thread another part of the bot started (an alert's "ask" button) has only its
    first question, which then is the earlier turn.
    """
    if not thread_ts:
        return question, None
    earlier = [(t.asked_as, t.answer) for t in threads.history(ctx.engine, threads.slack_key(channel, thread_ts))]
    if not earlier:
        first = store.thread_question(ctx.engine, channel, thread_ts)
        earlier = [(first, "")] if first and first.strip() != question.strip() else []
    if not earlier:
        return question, None
    rewrite = getattr(ctx.asker, "standalone", None)
    # An answerer that cannot rewrite (a test double) gets the old context: both questions together.
    asked = rewrite(question, earlier) if rewrite is not None else f"{earlier[-1][0]}\n{question}"
    return asked, (asked if asked.strip() != question.strip() else None)


def answer_in_thread(
    ctx: BotContext,
    client: WebClient,
    *,
    channel: str,
    user: str | None,
    text: str,
    ts: str,
    thread_ts: str | None,
    filters: Filters | None = None,
) -> None:
    """Answer `text` in the thread it belongs to (or start one under it) and remember the turn for follow-ups.

    With a model configured, a "working" message comes first and is replaced by the answer once it is verified.
    """
    root = thread_ts or ts
    question = question_from(text)
    if not question:
        client.chat_postMessage(channel=channel, thread_ts=root, text=msg.EMPTY_QUESTION)
        return
    asked, shown = contextual_question(ctx, channel, thread_ts, question)
    working = None
    if ctx.settings.llm_configured:
        working = str(client.chat_postMessage(channel=channel, thread_ts=root, text=msg.WORKING).get("ts"))

    def reply_failure(text: str) -> object:
        if working is not None:
            return client.chat_update(channel=channel, ts=working, text=text, blocks=[])
        return client.chat_postMessage(channel=channel, thread_ts=root, text=text)

    asked_and_saved = ask_and_save(ctx, asked, channel=channel, user=user, filters=filters, reply_failure=reply_failure)
    if asked_and_saved is None:
        return
    answer, answer_id = asked_and_saved
    # Remembered before posting: a follow-up sent as soon as the answer shows must find this turn.
    threads.remember(ctx.engine, threads.slack_key(channel, root), question=question, asked_as=asked,
                     answer=answer.answer, mode=answer.kind, max_turns=ctx.settings.thread_max_turns)
    store.remember_thread(ctx.engine, channel, root, question)  # the thread's first question; kept if there is one
    if working is not None:
        posting.update_answer(client, channel, root, working, answer, answer_id=answer_id, context_question=shown)
    else:
        posting.post_answer(client, channel, root, answer, answer_id=answer_id, context_question=shown)
