"""The deadline calendar: every comment deadline and effective date the ledger knows, past and future, each with
its instrument, status and link; as a list, JSON, or an iCalendar file a calendar app can subscribe to.

Event UIDs are made from the document and the kind of date ("deadline.tc260_2025-01_…@regwatch"), never from the
date or the export: when a deadline moves, the next export updates the event instead of adding a second one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .currency import Currency

KINDS = ("deadline", "effective")
SLACK_DAYS = 90  # what `/regwatch calendar` lists: the next quarter
UID_DOMAIN = "regwatch"


@dataclass
class Entry:
    date: str  # ISO day
    kind: str  # deadline | effective
    doc_id: str
    instrument: str  # short title, else title
    title: str
    doc_type: str
    status: str  # the document's status in the ledger
    words: str  # what the date means today: "comments due", "comment period closed 2025-02-21; finalised as …"
    url: str | None

    @property
    def uid(self) -> str:
        return f"{self.kind}.{self.doc_id}@{UID_DOMAIN}"

    @property
    def what(self) -> str:
        return "Comments due" if self.kind == "deadline" else "Takes effect"

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "uid": self.uid}


def calendar_entries(cur: Currency, *, start: str | None = None, end: str | None = None, kind: str | None = None,
                     today: str | None = None) -> list[Entry]:
    """Entries between `start` and `end` (ISO days, inclusive; open when None), oldest first."""
    today = today or dt.date.today().isoformat()
    out: list[Entry] = []
    for d in cur.lineage.docs.values():
        if d.doc_type in ("commentary", "news"):
            continue  # their dates are of the rules they discuss, which have entries of their own
        dates = []
        if d.date("comment_deadline"):
            dates.append(("deadline", str(d.date("comment_deadline"))))
        if d.date("effective") and not d.is_draft:
            dates.append(("effective", str(d.date("effective"))))
        for k, day in dates:
            if (kind and k != kind) or (start and day < start) or (end and day > end):
                continue
            out.append(Entry(day, k, d.doc_id, d.name, d.title, d.doc_type, d.status,
                             _words(cur, d.doc_id, k, day, today), d.meta.get("url")))
    out.sort(key=lambda e: (e.date, e.kind, e.doc_id))
    return out


def _words(cur: Currency, doc_id: str, kind: str, day: str, today: str) -> str:
    if kind == "deadline":
        return cur.draft_words(doc_id, today) or ("comments due" if day >= today else f"comment period closed {day}")
    later = cur.doc_words(doc_id, today)
    if day > today:
        return "takes effect" + (f"; {later}" if later else "")
    return later or "in force"


def to_ics(entries: list[Entry], *, stamp: dt.datetime | None = None) -> bytes:
    """An iCalendar (RFC 5545) file of all-day events, one per entry."""
    from icalendar import Calendar, Event

    stamp = stamp or dt.datetime.now(dt.UTC).replace(microsecond=0)
    cal = Calendar()
    cal.add("prodid", "-//regwatch//regulatory deadlines//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", "regwatch: comment deadlines and effective dates")
    for e in entries:
        day = dt.date.fromisoformat(e.date)
        ev = Event()
        ev.add("uid", e.uid)
        ev.add("dtstamp", stamp)
        ev.add("dtstart", day)
        ev.add("dtend", day + dt.timedelta(days=1))
        ev.add("summary", f"{e.what}: {e.instrument}")
        ev.add("description", "\n".join(x for x in (e.title, f"Status: {e.status.replace('_', ' ')}; {e.words}",
                                                    f"regwatch document: {e.doc_id}", e.url or "") if x))
        ev.add("categories", [e.kind])
        ev.add("transp", "TRANSPARENT")  # a deadline does not make anyone busy
        if e.url:
            ev.add("url", e.url)
        cal.add_component(ev)
    return bytes(cal.to_ical())


def calendar_text(entries: list[Entry], *, markup: str = "plain") -> str:
    """One line per entry; markup 'slack' links the instrument."""
    lines = []
    for e in entries:
        name = e.instrument
        if markup == "slack":
            from .slack.blocks import esc, link

            name = link(e.url, e.instrument) if e.url else esc(e.instrument)
            lines.append(f"• *{e.date}* {e.what.lower()}: {name} _({esc(e.words)})_")
        else:
            lines.append(f"{e.date}  {e.what.lower():13} {name}  ({e.words}; {e.doc_id})" + (f"  {e.url}" if e.url else ""))
    return "\n".join(lines)


def calendar_ics_for(settings: Any, engine: Any) -> bytes:
    """The whole calendar as ICS, read from the ledger now (what /calendar.ics serves)."""
    from indexer.glossary import load_glossary
    from indexer.ledger import Ledger

    from .currency import from_ledger

    cur = from_ledger(Ledger(engine), load_glossary(settings.resolved_glossary))
    return to_ics(calendar_entries(cur))


def calendar_endpoint(settings: Any, engine: Any) -> Any:
    """The /calendar.ics handler (environ -> status, headers, body), or None when REGWATCH_CALENDAR_TOKEN is unset:
    a calendar app cannot sign its requests the way Slack does, so a secret in the URL is what guards the feed."""
    import hmac
    from urllib.parse import parse_qs

    secret = settings.calendar_token.get_secret_value() if settings.calendar_token else ""
    if not secret:
        return None

    def handle(environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        given = (parse_qs(environ.get("QUERY_STRING") or "").get("token") or [""])[0]
        if not hmac.compare_digest(given.encode(), secret.encode()):
            return "403 Forbidden", [("Content-Type", "text/plain; charset=utf-8")], \
                b"wrong or missing token: subscribe to /calendar.ics?token=<REGWATCH_CALENDAR_TOKEN>\n"
        body = calendar_ics_for(settings, engine)
        return "200 OK", [("Content-Type", "text/calendar; charset=utf-8"),
                          ("Content-Disposition", 'inline; filename="regwatch.ics"')], body

    return handle
