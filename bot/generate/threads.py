"""Conversation history in the state store: the turns follow-ups are rewritten from, bounded per thread."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine

from indexer.db import utcnow
from indexer.schema import conversation_turns as turns

HISTORY_TURNS = 3  # what a rewrite reads: the last few turns carry what a follow-up leaves out
MAX_ANSWER_CHARS = 2000


@dataclass
class Turn:
    question: str
    asked_as: str
    answer: str
    mode: str


def slack_key(channel: str, thread_ts: str) -> str:
    return f"slack:{channel}:{thread_ts}"


def cli_key(thread_id: str) -> str:
    return f"cli:{thread_id}"


def history(engine: Engine, key: str, limit: int = HISTORY_TURNS) -> list[Turn]:
    """The thread's last `limit` turns, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(turns.c.question, turns.c.asked_as, turns.c.answer, turns.c.mode)
            .where(turns.c.thread_key == key).order_by(turns.c.turn_id.desc()).limit(limit)
        ).all()
    return [Turn(*r) for r in reversed(rows)]


def remember(engine: Engine, key: str, *, question: str, asked_as: str, answer: str, mode: str,
             max_turns: int) -> None:
    """Add a turn and forget the thread's turns beyond its newest `max_turns`."""
    with engine.begin() as conn:
        conn.execute(turns.insert().values(thread_key=key, question=question, asked_as=asked_as,
                                           answer=answer[:MAX_ANSWER_CHARS], mode=mode, created_at=utcnow()))
        keep = select(turns.c.turn_id).where(turns.c.thread_key == key).order_by(
            turns.c.turn_id.desc()).limit(max_turns).scalar_subquery()
        conn.execute(delete(turns).where(turns.c.thread_key == key, turns.c.turn_id.not_in(keep)))
