"""The bot's reads and writes to the state store: answers, threads, event de-dup, feedback, channel settings."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.types import Answer, Citation
from indexer.db import dialect_insert, utcnow
from indexer.schema import answers, changes, channel_settings, feedback, slack_events, subscriptions, threads


def upsert(engine: Engine, table: Any, values: dict[str, Any], keys: list[str]) -> None:
    """INSERT ... ON CONFLICT DO UPDATE in whichever dialect the store speaks (SQLite or PostgreSQL)."""
    stmt = dialect_insert(engine, table).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=keys, set_={k: v for k, v in values.items() if k not in keys}
    )
    with engine.begin() as conn:
        conn.execute(stmt)


def claim_event(engine: Engine, event_id: str) -> bool:
    """True for the first delivery of an event, in any process; False for Slack's retries of it."""
    try:
        with engine.begin() as conn:
            conn.execute(slack_events.insert().values(event_id=event_id, received_at=utcnow()))
        return True
    except IntegrityError:
        return False


def prune_events(engine: Engine, older_than: timedelta = timedelta(days=1)) -> int:
    """Slack retries for at most about an hour; a day of event ids is plenty."""
    with engine.begin() as conn:
        return conn.execute(delete(slack_events).where(slack_events.c.received_at < utcnow() - older_than)).rowcount


def save_answer(engine: Engine, answer: Answer, *, channel_id: str | None, user_id: str | None) -> str:
    answer_id = uuid.uuid4().hex
    with engine.begin() as conn:
        conn.execute(
            answers.insert().values(
                answer_id=answer_id,
                channel_id=channel_id,
                user_id=user_id,
                question=answer.question,
                answer=answer.to_json(),
                created_at=utcnow(),
            )
        )
    return answer_id


def load_answer(engine: Engine, answer_id: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(answers).where(answers.c.answer_id == answer_id)).mappings().first()
    return dict(row) if row else None


def answer_from_json(data: dict[str, Any]) -> Answer:
    """The Answer a stored answers.answer row holds (unknown keys from a newer contract are dropped)."""
    fields = set(Citation.__dataclass_fields__)
    cites = [Citation(**{k: v for k, v in c.items() if k in fields}) for c in data.get("citations", [])]
    return Answer(
        question=data.get("question", ""),
        answer=data.get("answer", ""),
        abstained=bool(data.get("abstained")),
        citations=cites,
        timings_ms=data.get("timings_ms") or {},
        mode=data.get("mode"),
        dropped_sentences=list(data.get("dropped_sentences") or []),
        notice=data.get("notice"),
        asked_as=data.get("asked_as"),
    )


def thread_question(engine: Engine, channel_id: str, thread_ts: str) -> str | None:
    with engine.connect() as conn:
        return conn.execute(
            select(threads.c.question).where(threads.c.channel_id == channel_id, threads.c.thread_ts == thread_ts)
        ).scalar()


def remember_thread(engine: Engine, channel_id: str, thread_ts: str, question: str) -> None:
    """The thread's first question stays its context; follow-ups do not overwrite it."""
    try:
        with engine.begin() as conn:
            conn.execute(
                threads.insert().values(
                    channel_id=channel_id, thread_ts=thread_ts, question=question, updated_at=utcnow()
                )
            )
    except IntegrityError:
        pass


def record_feedback(
    engine: Engine, stored: dict[str, Any], *, vote: str, user_id: str | None, channel_id: str | None, message_ts: str | None
) -> None:
    body = stored["answer"]
    cites = [
        {k: c.get(k) for k in ("n", "doc_id", "passage_id", "title", "section", "status", "score")}
        for c in body.get("citations", [])
    ]
    top = max((c.get("score") or 0.0 for c in body.get("citations", [])), default=None)
    with engine.begin() as conn:
        conn.execute(
            feedback.insert().values(
                channel_id=channel_id,
                user_id=user_id,
                message_ts=message_ts,
                question=stored["question"],
                citations=cites,
                vote=vote,
                score=top,
                created_at=utcnow(),
            )
        )


# --- subscriptions and channel settings ------------------------------------------------------------------


def subscribe(engine: Engine, channel_id: str, *, topics: list[str], issuers: list[str], kinds: list[str], user_id: str | None) -> None:
    """Replace the channel's subscription; only changes detected from now on are alerted."""
    with engine.connect() as conn:
        latest = conn.execute(select(func.max(changes.c.change_id))).scalar() or 0
    upsert(
        engine,
        subscriptions,
        {
            "channel_id": channel_id,
            "topics": topics,
            "issuers": issuers,
            "kinds": kinds,
            "created_by": user_id,
            "created_at": utcnow(),
            "since_change_id": latest,
        },
        ["channel_id"],
    )


def unsubscribe(engine: Engine, channel_id: str) -> bool:
    with engine.begin() as conn:
        return conn.execute(delete(subscriptions).where(subscriptions.c.channel_id == channel_id)).rowcount > 0


def get_subscription(engine: Engine, channel_id: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(subscriptions).where(subscriptions.c.channel_id == channel_id)).mappings().first()
    return dict(row) if row else None


def get_change(engine: Engine, change_id: int) -> dict[str, Any] | None:
    """The `changes` row of one detected change (an alert's button carries its id), or None."""
    with engine.connect() as conn:
        row = conn.execute(select(changes).where(changes.c.change_id == change_id)).mappings().first()
    return dict(row) if row else None


def get_channel_settings(engine: Engine, channel_id: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(channel_settings).where(channel_settings.c.channel_id == channel_id)).mappings().first()
    return dict(row) if row else None


def set_digest(engine: Engine, channel_id: str, *, freq: str | None, time: str | None, skip_empty: bool) -> None:
    upsert(
        engine,
        channel_settings,
        {
            "channel_id": channel_id,
            "digest": freq,
            "digest_time": time,
            "digest_skip_empty": skip_empty,
            "updated_at": utcnow(),
        },
        ["channel_id"],
    )


def claim_digest(engine: Engine, channel_id: str, due: datetime) -> bool:
    """Move last_digest_at up to `due` atomically: of several processes (or a restart), exactly one posts it."""
    older = or_(channel_settings.c.last_digest_at.is_(None), channel_settings.c.last_digest_at < due)
    with engine.begin() as conn:
        res = conn.execute(
            update(channel_settings).where(channel_settings.c.channel_id == channel_id, older).values(last_digest_at=due)
        )
    return res.rowcount == 1
