"""Digests: changes since the last one plus effective dates and comment deadlines coming up, per channel on a schedule."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from bot.alerts import change_matches
from bot.slack.alert_blocks import digest_messages
from bot.slack.posting import post_messages
from bot.slack.store import claim_digest
from indexer.db import as_utc, utcnow
from indexer.schema import changes, channel_settings, documents, subscriptions
from indexer.settings import Settings

log = logging.getLogger(__name__)

HORIZON_DAYS = 30
PERIODS = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}


@dataclass
class Digest:
    """What happened between `since` and `now`, and what is due in the `horizon_days` after `now`."""

    since: datetime
    now: datetime
    changes: list[dict[str, Any]] = field(default_factory=list)
    upcoming: list[dict[str, Any]] = field(default_factory=list)  # {"date", "what": effective|comment_deadline, ...}
    horizon_days: int = HORIZON_DAYS

    @property
    def is_empty(self) -> bool:
        return not self.changes and not self.upcoming

    def to_json(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(),
            "now": self.now.isoformat(),
            "horizon_days": self.horizon_days,
            "changes": self.changes,
            "upcoming": self.upcoming,
        }

    def to_text(self) -> str:
        lines = [f"regwatch digest {self.since:%Y-%m-%d %H:%M} – {self.now:%Y-%m-%d %H:%M} (UTC)"]
        if self.is_empty:
            lines.append(f"Nothing new, and no effective dates or comment deadlines in the next {self.horizon_days} days.")
        for c in self.changes:
            lines.append(f"  [{c['kind']}] {c['title']}" + (f" ({c['words']})" if c.get("words") else "")
                         + (f"  {c['url']}" if c.get("url") else ""))
        if self.upcoming:
            lines.append(f"Coming up in the next {self.horizon_days} days:")
            for u in self.upcoming:
                what = "takes effect" if u["what"] == "effective" else "comments due"
                lines.append(f"  {u['date']} {what}: {u['title']}" + (f" ({u['words']})" if u.get("words") else ""))
        return "\n".join(lines)


def _iso_day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _documents(conn: Connection) -> dict[str, dict[str, Any]]:
    return {r["doc_id"]: dict(r) for r in conn.execute(select(documents)).mappings()}


def load_documents(engine: Engine) -> dict[str, dict[str, Any]]:
    """Every document row by doc_id: what render_digest reads meta and upcoming dates from."""
    with engine.connect() as conn:
        return _documents(conn)


def render_digest(
    engine: Engine,
    since: datetime,
    now: datetime,
    *,
    subscription: dict[str, Any] | None = None,
    horizon_days: int = HORIZON_DAYS,
    docs: dict[str, dict[str, Any]] | None = None,
) -> Digest:
    """The digest for one period; with a channel's subscription, only what that channel would be alerted about.

    `docs` (from load_documents) saves re-reading the documents table when rendering for several channels.
    """
    with engine.connect() as conn:
        if docs is None:
            docs = _documents(conn)  # in the same read as the changes, as before
        rows = conn.execute(
            select(changes).where(changes.c.detected_at > since, changes.c.detected_at <= now).order_by(changes.c.change_id)
        ).mappings().all()
    digest = Digest(since=since, now=now, horizon_days=horizon_days)
    words = _status_words(engine, now.date().isoformat())
    for r in rows:
        meta = (docs.get(r["doc_id"]) or {}).get("meta") or {}
        if change_matches(subscription or {}, r, meta):
            digest.changes.append(
                {**{k: r[k] for k in ("change_id", "doc_id", "kind", "title", "doc_type", "status", "url", "summary")},
                 "words": words(r["doc_id"])}
            )
    today, until = now.date(), now.date() + timedelta(days=horizon_days)
    for doc_id, d in docs.items():
        meta = d["meta"] or {}
        if d["removed"]:
            continue
        for what in ("effective", "comment_deadline"):
            day = _iso_day(meta.get(what))
            if day and today <= day <= until:
                digest.upcoming.append({"date": day.isoformat(), "what": what, "doc_id": doc_id, "title": d["title"],
                                        "url": meta.get("url"), "words": words(doc_id)})
    digest.upcoming.sort(key=lambda u: (u["date"], u["title"]))
    return digest


def _status_words(engine: Engine, day: str) -> Any:
    """doc_id -> what is current about it on `day` ("superseded by … on …", "comment period closed …"), the words
    answers and `regwatch changes` use (bot/currency.py); None when it is simply in force."""
    from bot.currency import from_ledger
    from indexer.ledger import Ledger

    cur = from_ledger(Ledger(engine))

    def words(doc_id: str) -> str | None:
        return cur.doc_words(doc_id, day) if doc_id in cur.lineage.docs else None

    return words


def last_due(freq: str, hhmm: str | None, tz: str, now: datetime) -> datetime:
    """The most recent scheduled time at or before `now` (weekly digests go out on Mondays), in UTC."""
    local = now.astimezone(ZoneInfo(tz))
    hour, minute = (int(x) for x in (hhmm or "09:00").split(":"))
    due = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if freq == "weekly":
        due -= timedelta(days=local.weekday())
    if due > local:
        due -= PERIODS[freq]
    return due.astimezone(UTC)


def run_due_digests(settings: Settings, client: WebClient, engine: Engine, now: datetime | None = None) -> list[str]:
    """Post every digest that is due; returns the channel ids posted to. Safe to run from several processes.

    A digest is due when its latest scheduled time is after both the last digest and the moment the schedule was
    set (so configuring "daily 09:00" at 10:00 waits for tomorrow). last_digest_at is claimed atomically before
    posting: a failed post is logged, not retried, since the alerts are the durable path.
    """
    now = now or utcnow()
    posted: list[str] = []
    docs: dict[str, dict[str, Any]] | None = None  # read once, when the first digest is due
    with engine.connect() as conn:
        rows = conn.execute(select(channel_settings).where(channel_settings.c.digest.is_not(None))).mappings().all()
        subs = {r["channel_id"]: dict(r) for r in conn.execute(select(subscriptions)).mappings()}
    for row in rows:
        if row["digest"] not in PERIODS:
            continue
        due = last_due(row["digest"], row["digest_time"], settings.timezone, now)
        last, updated = as_utc(row["last_digest_at"]), as_utc(row["updated_at"])
        if max(d for d in (last, updated) if d is not None) >= due:
            continue
        if not claim_digest(engine, row["channel_id"], due):
            continue  # another process took it
        if docs is None:
            docs = load_documents(engine)
        digest = render_digest(engine, last or due - PERIODS[row["digest"]], now, subscription=subs.get(row["channel_id"]),
                               docs=docs, horizon_days=settings.digest_horizon_days)
        if digest.is_empty and row["digest_skip_empty"]:
            continue
        text, messages = digest_messages(digest)
        try:
            post_messages(client, row["channel_id"], messages, text=text)
            posted.append(row["channel_id"])
        except SlackApiError as e:
            log.error("digest for %s not posted: %s", row["channel_id"], e.response.get("error"))
    return posted
