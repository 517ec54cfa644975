"""One conversation: follow-ups rewritten from its stored turns, answered, and remembered (CLI and Slack alike)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from . import threads

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from bot.types import Answer, Filters
    from indexer.settings import Settings

    from .assistant import Assistant


def ask_in_thread(settings: Settings, engine: Engine, assistant: Assistant, key: str, question: str, *,
                  k: int | None = None, filters: Filters | None = None,
                  on_token: Callable[[str], None] | None = None) -> Answer:
    """Answer `question` as a turn of the conversation `key`: rewritten standalone from the earlier turns (shown
    as `asked_as`), then remembered, within REGWATCH_THREAD_MAX_TURNS."""
    earlier = threads.history(engine, key)
    asked = assistant.standalone(question, [(t.asked_as, t.answer) for t in earlier]) if earlier else question
    answer = assistant.ask(asked, k=k, filters=filters, on_token=on_token)
    answer.question = question
    answer.mode = answer.kind  # a conversation's JSON says how each turn was answered
    if asked != " ".join(question.split()):
        answer.asked_as = asked
    threads.remember(engine, key, question=question, asked_as=asked, answer=answer.answer,
                     mode=answer.kind, max_turns=settings.thread_max_turns)
    return answer
