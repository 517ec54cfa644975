"""`/regwatch` sub-commands: parsing (pure) and the quick ones that answer inside the 3-second ack."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from bot.slack import messages as msg
from bot.slack import security, store
from bot.slack.blocks import esc, link
from indexer.changes import CHANGE_KINDS
from indexer.db import as_utc
from indexer.errors import RegwatchError
from indexer.settings import Settings
from indexer.sources import load_sources

ADMIN_ONLY = {"subscribe": "subscription", "unsubscribe": "subscription", "digest": "digest"}
_KEYS = {"topic": "topics", "topics": "topics", "issuer": "issuers", "issuers": "issuers", "kind": "kinds", "kinds": "kinds"}
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class UsageError(ValueError):
    """The sub-command's arguments could not be read; the message says why."""


@dataclass
class SubscriptionSpec:
    topics: list[str] = field(default_factory=list)
    issuers: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)

    def describe(self) -> str:
        parts = [f"{name}: {', '.join(vals)}" for name, vals in (("topics", self.topics), ("issuers", self.issuers), ("kinds", self.kinds)) if vals]
        return esc("; ".join(parts)) if parts else msg.SUBSCRIPTION_ALL


def split_command(text: str) -> tuple[str, str]:
    """('ask', 'what is …') from 'ask what is …'; an empty text is 'help'."""
    head, _, rest = (text or "").strip().partition(" ")
    return (head.lower() or "help"), rest.strip()


def parse_subscription(args: str) -> SubscriptionSpec:
    """`topics:cross-border,ai issuers:TC260 kinds:new_draft`; bare words count as topics."""
    spec = SubscriptionSpec()
    for token in args.replace("，", ",").split():
        key, sep, value = token.partition(":")
        if not sep:
            key, value = "topics", token
        name = _KEYS.get(key.lower())
        if name is None:
            raise UsageError(f"unknown filter '{key}' (use topics:, issuers: or kinds:)")
        values = [v.strip() for v in value.split(",") if v.strip()]
        if name == "kinds":
            values = [v.lower() for v in values]
            bad = [v for v in values if v not in CHANGE_KINDS]
            if bad:
                raise UsageError(f"unknown kind {', '.join(bad)} (kinds: {', '.join(CHANGE_KINDS)})")
        getattr(spec, name).extend(v for v in values if v not in getattr(spec, name))
    return spec


_AS_OF = re.compile(r"(?:^|\s)--as-of[=\s]+(\S+)")


def parse_ask(args: str) -> tuple[str, str | None]:
    """('what did the CSL require?', '2025-06-01') from '--as-of 2025-06-01 what did the CSL require?'."""
    import datetime as dt

    m = _AS_OF.search(args)
    if not m:
        return args.strip(), None
    try:
        day = dt.date.fromisoformat(m.group(1)).isoformat()
    except ValueError as e:
        raise UsageError(msg.AS_OF_BAD.format(value=esc(m.group(1)))) from e
    return (args[: m.start()] + " " + args[m.end():]).strip(), day


def calendar_text(settings: Settings, engine: Engine, *, days: int | None = None) -> str:
    """The comment deadlines and effective dates of the next `days` days (default: a quarter), for Slack."""
    import datetime as dt

    from bot.calendar import SLACK_DAYS, calendar_entries
    from bot.calendar import calendar_text as lines
    from bot.currency import from_ledger
    from indexer.glossary import load_glossary
    from indexer.ledger import Ledger

    days = days or SLACK_DAYS
    today = dt.date.today()
    cur = from_ledger(Ledger(engine), load_glossary(settings.resolved_glossary))
    entries = calendar_entries(cur, start=today.isoformat(), end=(today + dt.timedelta(days=days)).isoformat())
    if not entries:
        return msg.CALENDAR_EMPTY.format(days=days)
    return msg.CALENDAR_HEADER.format(days=days) + "\n" + lines(entries, markup="slack")


def parse_digest(args: str) -> tuple[str | None, str | None, bool]:
    """(freq, HH:MM, skip_empty) from 'daily 09:00 skip-empty'; (None, None, False) for 'off'."""
    words = args.lower().split()
    if words == ["off"]:
        return None, None, False
    if not words or words[0] not in ("daily", "weekly"):
        raise UsageError(msg.DIGEST_BAD)
    freq, time, skip = words[0], "09:00", False
    for w in words[1:]:
        m = _TIME.match(w)
        if m:
            time = f"{int(m.group(1)):02d}:{m.group(2)}"
        elif w in ("skip-empty", "skip_empty", "skipempty"):
            skip = True
        else:
            raise UsageError(msg.DIGEST_BAD)
    return freq, time, skip


def sources_text(settings: Settings) -> str:
    path = settings.resolved_sources_file
    if not path.exists():
        return msg.SOURCES_NONE.format(path=esc(str(path)))
    try:
        sources = load_sources(path)
    except RegwatchError as e:
        return msg.SOURCES_BAD.format(path=esc(str(path)), error=esc(str(e)))
    lines = [msg.SOURCES_HEADER_LINE.format(n=len(sources))]
    for s in sources:
        where = link(s.url, s.url) if s.url else f"`{esc(s.path or '')}`"
        extra = " · ".join(esc(v) for v in (s.kind, s.issuer, None if s.enabled else "disabled") if v)
        lines.append(msg.SOURCE_LINE.format(name=esc(s.name), url=where, extra=extra).rstrip())
    return "\n".join(lines)


def _digest_text(settings: Settings, cs: dict[str, Any] | None) -> str:
    if not cs or not cs.get("digest"):
        return msg.DIGEST_NONE
    skip = msg.DIGEST_SKIP_NOTE if cs.get("digest_skip_empty") else ""
    return msg.DIGEST_SCHEDULE.format(freq=cs["digest"], time=cs.get("digest_time") or "09:00", tz=settings.timezone, skip=skip)


def run_quick(settings: Settings, engine: Engine, *, sub: str, args: str, channel_id: str, user_id: str,
              admin: Callable[[str], bool] | None = None) -> str:
    """Every sub-command except `ask`: a DB read or write and a one-message reply. `admin` says who may change
    channel settings (security.AdminCheck; default: the configured admin list only)."""
    if sub in ADMIN_ONLY and not (sub == "digest" and not args) and not (admin or security.AdminCheck(settings))(user_id):
        if not settings.slack_admins:
            return msg.NOT_WORKSPACE_ADMIN.format(what=ADMIN_ONLY[sub])
        admins = ", ".join(f"<@{a}>" for a in settings.slack_admins)
        return msg.NOT_ADMIN.format(what=ADMIN_ONLY[sub], admins=admins)
    if sub == "help":
        return msg.HELP
    if sub == "subscribe":
        try:
            spec = parse_subscription(args)
        except UsageError as e:
            return msg.SUBSCRIBE_BAD.format(error=esc(str(e)))
        store.subscribe(engine, channel_id, topics=spec.topics, issuers=spec.issuers, kinds=spec.kinds, user_id=user_id)
        return msg.SUBSCRIBED.format(what=spec.describe())
    if sub == "unsubscribe":
        return msg.UNSUBSCRIBED if store.unsubscribe(engine, channel_id) else msg.NOT_SUBSCRIBED
    if sub in ("subscriptions", "subscription", "status"):
        row = store.get_subscription(engine, channel_id)
        digest = _digest_text(settings, store.get_channel_settings(engine, channel_id))
        if not row:
            return f"{msg.NOT_SUBSCRIBED}\n{digest}"
        spec = SubscriptionSpec(row["topics"] or [], row["issuers"] or [], row["kinds"] or [])
        since = as_utc(row["created_at"])
        return msg.SUBSCRIPTION.format(what=spec.describe(), since=f"{since:%Y-%m-%d}" if since else "?") + "\n" + digest
    if sub == "digest":
        if not args:
            return _digest_text(settings, store.get_channel_settings(engine, channel_id))
        try:
            freq, time, skip = parse_digest(args)
        except UsageError as e:
            return str(e)
        store.set_digest(engine, channel_id, freq=freq, time=time, skip_empty=skip)
        if freq is None:
            return msg.DIGEST_OFF
        return msg.DIGEST_SET.format(freq=freq, time=time, tz=settings.timezone, skip=msg.DIGEST_SKIP_NOTE if skip else "")
    if sub == "sources":
        return sources_text(settings)
    if sub == "calendar":
        return calendar_text(settings, engine)
    return msg.UNKNOWN_SUBCOMMAND.format(sub=esc(sub))
