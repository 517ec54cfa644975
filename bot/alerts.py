"""Alerts: fan new `changes` out to subscribed channels through the outbox, then deliver each exactly once.

Exactly once, across restarts, Slack errors and several bot processes:
1. Fan-out inserts (change_id, channel) into `outbox`; the unique constraint makes it idempotent.
2. A deliverer claims a row with a conditional UPDATE (state queued, or 'sending' with an expired lease) that
   only one process can win; on PostgreSQL the candidates are read with FOR UPDATE SKIP LOCKED.
3. It posts with message metadata {"event_type": "regwatch_alert", "event_payload": {"alert_id": N}} and marks
   the row sent with the message ts.
4. The window between post and mark (a crash, a timeout or 5xx whose post did land) is closed on the next
   attempt: any row that was tried before is first looked up in conversations.history by that metadata, and
   marked sent if found instead of being posted again.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import Engine

from bot.slack.alert_blocks import alert_message
from indexer.db import as_utc, dialect_insert, get_engine, utcnow
from indexer.schema import changes, documents, outbox, subscriptions
from indexer.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_EXCLUDED_KINDS = frozenset({"minor_edit"})  # noise unless a channel asks for it by kind
METADATA_EVENT = "regwatch_alert"
LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 8
RETRY_BASE_S = 30.0
RETRY_CAP_S = 3600.0
# ok:false errors worth another try; every other error is about the request or the channel and will not heal.
TRANSIENT_ERRORS = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"})


@dataclass
class DeliveryReport:
    """What one deliver_pending call did."""

    enqueued: int = 0
    claimed: int = 0
    sent: int = 0
    recovered: int = 0  # found already posted (crash between post and mark) and marked sent without a repost
    retried: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def _norm(text: str) -> str:
    return re.sub(r"[\s_\-]+", " ", text.lower()).strip()


def change_matches(sub: dict[str, Any], change: Any, meta: dict[str, Any]) -> bool:
    """Does a change pass a subscription's filters? Empty filters mean any; kinds default to all but minor edits."""
    kinds = sub.get("kinds") or []
    if (change["kind"] not in kinds) if kinds else (change["kind"] in DEFAULT_EXCLUDED_KINDS):
        return False
    topics = sub.get("topics") or []
    if topics:
        doc_topics = [_norm(str(t)) for t in meta.get("topics") or []]
        if not any(re.search(rf"\b{re.escape(_norm(t))}\b", d) for t in topics for d in doc_topics):
            return False
    issuers = sub.get("issuers") or []
    return not issuers or any(i.lower() in str(meta.get("issuer") or "").lower() for i in issuers)


def enqueue_alerts(engine: Engine) -> int:
    """Fan out changes detected after each subscription began into the outbox; returns rows added."""
    with engine.connect() as conn:
        subs = [dict(r) for r in conn.execute(select(subscriptions)).mappings()]
        if not subs:
            return 0
        oldest = min(s["since_change_id"] for s in subs)
        pending = (
            select(changes, documents.c.meta)
            .select_from(changes.outerjoin(documents, documents.c.doc_id == changes.c.doc_id))
            .where(changes.c.change_id > oldest)
            .order_by(changes.c.change_id)
        )
        rows = conn.execute(pending).mappings().all()
        queued = select(outbox.c.change_id, outbox.c.destination).where(outbox.c.change_id > oldest)
        done = {(r.change_id, r.destination) for r in conn.execute(queued)}
    now, values = utcnow(), []
    for sub in subs:
        for ch in rows:
            key = (ch["change_id"], sub["channel_id"])
            if ch["change_id"] > sub["since_change_id"] and key not in done and change_matches(sub, ch, ch["meta"] or {}):
                values.append({"change_id": key[0], "destination": key[1], "state": "queued", "created_at": now})
    if not values:
        return 0
    with engine.begin() as conn:
        # RETURNING counts the rows really added (psycopg reports no rowcount for INSERT; another replica may have won)
        res = conn.execute(dialect_insert(engine, outbox).values(values).on_conflict_do_nothing().returning(outbox.c.alert_id))
        return len(res.all())


def _claimable(now: datetime) -> Any:
    queued = and_(outbox.c.state == "queued", or_(outbox.c.next_attempt_at.is_(None), outbox.c.next_attempt_at <= now))
    return or_(queued, and_(outbox.c.state == "sending", outbox.c.claimed_until < now))


def claim(engine: Engine, worker: str, now: datetime, limit: int, lease: timedelta = LEASE) -> list[int]:
    """Atomically take up to `limit` deliverable rows for `worker`; no other process can take the same row."""
    values = {"state": "sending", "claimed_by": worker, "claimed_until": now + lease, "attempts": outbox.c.attempts + 1}
    candidates = select(outbox.c.alert_id).where(_claimable(now)).order_by(outbox.c.alert_id).limit(limit)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            ids = list(conn.execute(candidates.with_for_update(skip_locked=True)).scalars())
            if ids:
                conn.execute(update(outbox).where(outbox.c.alert_id.in_(ids)).values(**values))
        return ids
    with engine.connect() as conn:
        ids = list(conn.execute(candidates).scalars())
    won = []
    for alert_id in ids:  # one short write transaction each: SQLite serialises them, the WHERE decides the winner
        with engine.begin() as conn:
            if conn.execute(update(outbox).where(outbox.c.alert_id == alert_id, _claimable(now)).values(**values)).rowcount == 1:
                won.append(alert_id)
    return won


def _finish(engine: Engine, alert_id: int, worker: str, **values: Any) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(outbox)
            .where(outbox.c.alert_id == alert_id, outbox.c.claimed_by == worker, outbox.c.state == "sending")
            .values(claimed_by=None, claimed_until=None, **values)
        )


def find_posted(client: WebClient, channel: str, alert_id: int, oldest: datetime) -> str | None:
    """The ts of a message in `channel` carrying this alert's metadata, if one was posted after `oldest`."""
    cursor = None
    while True:
        resp = client.conversations_history(
            channel=channel, oldest=f"{oldest.timestamp() - 60:.6f}", include_all_metadata=True, limit=200, cursor=cursor
        )
        for m in resp.get("messages") or []:
            md = m.get("metadata") or {}
            if md.get("event_type") == METADATA_EVENT and str((md.get("event_payload") or {}).get("alert_id")) == str(alert_id):
                return str(m["ts"])
        cursor = (resp.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return None


def _is_transient(exc: Exception) -> bool:
    if isinstance(exc, SlackApiError):
        status = getattr(exc.response, "status_code", 200)
        return status == 429 or status >= 500 or exc.response.get("error") in TRANSIENT_ERRORS
    return True  # timeouts, refused or reset connections


def _retry_after(exc: Exception) -> float | None:
    if isinstance(exc, SlackApiError) and getattr(exc.response, "status_code", 200) == 429:
        value = (exc.response.headers or {}).get("Retry-After") or (exc.response.headers or {}).get("retry-after")
        return float(value[0] if isinstance(value, list) else value or 1)
    return None


def _describe(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return f"{exc.response.get('error') or 'http_' + str(getattr(exc.response, 'status_code', '?'))}"
    return f"{type(exc).__name__}: {exc}"[:500]


def _failed_attempt(engine: Engine, row: Any, worker: str, exc: Exception, retry_base_s: float, report: DeliveryReport) -> None:
    error = _describe(exc)
    report.errors.append(f"alert {row.alert_id} -> {row.destination}: {error}")
    if _is_transient(exc) and row.attempts < MAX_ATTEMPTS:
        retry_after = _retry_after(exc)
        delay = retry_after if retry_after is not None else min(retry_base_s * 2 ** (row.attempts - 1), RETRY_CAP_S)
        _finish(engine, row.alert_id, worker, state="queued", last_error=error, next_attempt_at=utcnow() + timedelta(seconds=delay))
        report.retried += 1
    else:
        log.warning("alert %s to %s failed for good: %s", row.alert_id, row.destination, error)
        _finish(engine, row.alert_id, worker, state="failed", last_error=error)
        report.failed += 1


def _deliver_one(engine: Engine, client: WebClient, row: Any, worker: str, retry_base_s: float, report: DeliveryReport) -> None:
    created = as_utc(row.created_at) or utcnow()
    if row.attempts > 1:  # tried before: the post may have landed even though the row never learned its ts
        try:
            ts = find_posted(client, row.destination, row.alert_id, created)
        except Exception as exc:
            if _is_transient(exc):
                _failed_attempt(engine, row, worker, exc, retry_base_s, report)
                return
            # History unreadable for good (missing scope, left the channel): post rather than never alert.
            log.warning("alert %s: cannot check %s history (%s); posting", row.alert_id, row.destination, _describe(exc))
            ts = None
        if ts:
            _finish(engine, row.alert_id, worker, state="sent", sent_at=utcnow(), message_ts=ts, last_error=None)
            report.recovered += 1
            return
    text, blocks = alert_message(dict(row._mapping), row.meta or {})
    try:
        resp = client.chat_postMessage(
            channel=row.destination,
            text=text,
            blocks=blocks,
            metadata={"event_type": METADATA_EVENT, "event_payload": {"alert_id": row.alert_id}},
            unfurl_links=False,
            unfurl_media=False,
        )
    except Exception as exc:
        _failed_attempt(engine, row, worker, exc, retry_base_s, report)
        return
    _finish(engine, row.alert_id, worker, state="sent", sent_at=utcnow(), message_ts=str(resp.get("ts")), last_error=None)
    report.sent += 1


def deliver_pending(
    settings: Settings,
    client: WebClient,
    *,
    engine: Engine | None = None,
    worker: str | None = None,
    limit: int = 100,
    retry_base_s: float = RETRY_BASE_S,
) -> DeliveryReport:
    """Fan out new changes, then deliver every due outbox row this process can claim."""
    engine = engine or get_engine(settings)
    worker = worker or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
    report = DeliveryReport(enqueued=enqueue_alerts(engine))
    ids = claim(engine, worker, utcnow(), limit)
    report.claimed = len(ids)
    if not ids:
        return report
    query = (
        select(*outbox.c, *(c for c in changes.c if c.name != "change_id"), documents.c.meta)
        .select_from(outbox.join(changes, changes.c.change_id == outbox.c.change_id).outerjoin(documents, documents.c.doc_id == changes.c.doc_id))
        .where(outbox.c.alert_id.in_(ids), outbox.c.claimed_by == worker)
        .order_by(outbox.c.alert_id)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    for row in rows:
        _deliver_one(engine, client, row, worker, retry_base_s, report)
    return report

