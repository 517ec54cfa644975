"""RSS 2.0 / Atom / RDF feeds to a list of items, with feedparser."""

from __future__ import annotations

import io
import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from ..errors import FetchError

log = logging.getLogger(__name__)


@dataclass
class FeedItem:
    """One feed entry. `published` is an ISO date (the entry's published, else updated, date)."""

    title: str
    link: str | None
    published: str | None
    summary: str
    guid: str
    content: str = ""  # the entry's full content (content:encoded / atom:content) when the feed carries it


def parse_feed(data: bytes, base_url: str) -> list[FeedItem]:
    """Items in feed order; relative links resolved against `base_url`. FetchError when nothing usable is there."""
    import feedparser  # imported here: only watch runs with feeds need it

    # A stream, not bytes: feedparser treats a bytes argument as a possible file name first.
    # A generic XML type: the body's own declaration decides the encoding, and a server's text/html label for a
    # feed does not make feedparser flag a good feed as broken.
    headers = {"content-location": base_url, "content-type": "application/xml"}
    parsed = feedparser.parse(io.BytesIO(data), response_headers=headers)
    entries = parsed.get("entries") or []
    if parsed.get("bozo") and not entries:
        raise FetchError(
            f"{base_url}: not a readable RSS or Atom feed: {parsed.get('bozo_exception')}",
            hint="check that the source's url points at the feed itself, not at the page that links to it",
        )
    if not entries and not parsed.get("version"):
        raise FetchError(f"{base_url}: no RSS or Atom feed found in the response")
    if parsed.get("bozo"):
        log.warning("feed %s is malformed (%s); using the %d entries that could be read",
                    base_url, parsed.get("bozo_exception"), len(entries))
    return [_item(e, base_url) for e in entries]


def _item(entry: Any, base_url: str) -> FeedItem:
    link = entry.get("link") or None
    if link:
        link = urljoin(base_url, link)
    content = ""
    if entry.get("content"):
        content = "\n".join(c.get("value", "") for c in entry["content"])
    summary = entry.get("summary") or ""
    stamp = entry.get("published_parsed") or entry.get("updated_parsed")
    published = time.strftime("%Y-%m-%d", stamp) if stamp else None
    guid = entry.get("id") or link or entry.get("title") or ""
    return FeedItem(entry.get("title") or "", link, published, summary, guid, content or summary)
