"""Asking the answerer on Slack's behalf: the lazily built Asker, questions from mentions, thread context."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from slack_sdk import WebClient
from sqlalchemy.engine import Engine

from bot.slack import messages as msg
from bot.slack import posting, store
from bot.slack.blocks import esc
from bot.types import Answer, Filters
from indexer.errors import RegwatchError
from indexer.settings import Settings

log = logging.getLogger(__name__)

_LEADING_MENTIONS = re.compile(r"^(?:\s*<@[A-Z0-9]+(?:\|[^>]*)?>[\s,:]*)+")


class AskerLike(Protocol):
    """What the bot needs from bot.answer.Asker."""

    def ask(self, question: str, *, k: int | None = None, filters: Filters | None = None) -> Answer: ...


class LazyAsker:
    """Builds the real Asker on the first question, so `serve` is up (and acking) before any model loads."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._asker: AskerLike | None = None
        self._lock = threading.Lock()

    def ask(self, question: str, *, k: int | None = None, filters: Filters | None = None) -> Answer:
        with self._lock:
            if self._asker is None:
                from bot.answer import Asker  # heavy: embeddings, vector store

                self._asker = Asker(self._settings)
        return self._asker.ask(question, k=k, filters=filters)


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
    """(what to ask, the thread's earlier question or None).

    A follow-up like "and the penalties?" means nothing alone, so the earlier question and the follow-up are asked
    together; the retriever then finds passages about both, and the answer shows which question it followed.
    """
    earlier = store.thread_question(ctx.engine, channel, thread_ts) if thread_ts else None
    if earlier and earlier.strip() != question.strip():
        return f"{earlier}\n{question}", earlier
    return question, None


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
    """Answer `text` in the thread it belongs to (or start one under it) and remember the thread's question."""
    root = thread_ts or ts
    question = question_from(text)
    if not question:
        client.chat_postMessage(channel=channel, thread_ts=root, text=msg.EMPTY_QUESTION)
        return
    asked, earlier = contextual_question(ctx, channel, thread_ts, question)
    asked_and_saved = ask_and_save(
        ctx, asked, channel=channel, user=user, filters=filters,
        reply_failure=lambda text: client.chat_postMessage(channel=channel, thread_ts=root, text=text),
    )  # fmt: skip
    if asked_and_saved is None:
        return
    answer, answer_id = asked_and_saved
    posting.post_answer(client, channel, root, answer, answer_id=answer_id, context_question=earlier)
    if earlier is None:
        store.remember_thread(ctx.engine, channel, root, question)
