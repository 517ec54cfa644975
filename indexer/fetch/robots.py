"""robots.txt per host (protego), fetched once per Fetcher and read as RFC 9309 says."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from protego import Protego

MAX_ROBOTS_BYTES = 512 * 1024  # RFC 9309: crawlers must read at least 500 KiB; we read no more
MAX_CRAWL_DELAY_S = 60.0  # a Crawl-delay beyond this is a typo or a wish to be left alone; cap it


@dataclass
class RobotsFile:
    """A robots.txt response (after redirects); a host that cannot be reached raises FetchError instead."""

    status: int
    text: str = ""


@dataclass
class _Rules:
    parser: Protego | None  # None: everything allowed
    deny_reason: str | None = None  # set: everything disallowed, and why


class RobotsCache:
    """Answers "may I fetch this URL?" per host; `load(root_url)` is called once per host to get its robots.txt."""

    def __init__(self, user_agent: str, load: Callable[[str], RobotsFile]) -> None:
        self._ua = user_agent
        self._load = load
        self._hosts: dict[str, _Rules] = {}

    def check(self, url: str) -> str | None:
        """None when allowed, else the reason it is not."""
        parts = urlsplit(url)
        if parts.path == "/robots.txt":
            return None
        rules = self._rules(f"{parts.scheme}://{parts.netloc}")
        if rules.deny_reason:
            return rules.deny_reason
        if rules.parser is not None and not rules.parser.can_fetch(url, self._ua):
            return f"robots.txt of {parts.netloc} disallows {parts.path or '/'} for {self._ua.split()[0]}"
        return None

    def crawl_delay(self, url: str) -> float:
        parts = urlsplit(url)
        rules = self._hosts.get(f"{parts.scheme}://{parts.netloc}")
        delay = rules.parser.crawl_delay(self._ua) if rules and rules.parser else None
        return min(float(delay or 0.0), MAX_CRAWL_DELAY_S)

    def _rules(self, root: str) -> _Rules:
        if root not in self._hosts:
            got = self._load(root)
            if 200 <= got.status < 300:
                self._hosts[root] = _Rules(Protego.parse(got.text))
            elif 400 <= got.status < 500:
                self._hosts[root] = _Rules(None)  # no robots.txt: everything allowed
            else:
                # RFC 9309 2.3.1.4: an unreachable robots.txt (5xx) means full disallow until it answers again.
                self._hosts[root] = _Rules(None, f"robots.txt of {urlsplit(root).netloc} unavailable (HTTP {got.status})")
        return self._hosts[root]
