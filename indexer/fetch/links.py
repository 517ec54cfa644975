"""Links on a listing page: absolute, de-duplicated, same site by default, filtered by include / exclude regexes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin, urlsplit

_SKIP_SCHEMES = ("mailto:", "javascript:", "tel:", "data:")


@dataclass(frozen=True)
class Link:
    url: str
    text: str


def extract_links(
    html: str, base_url: str, include: list[str] | None = None, exclude: list[str] | None = None, *,
    same_site: bool = True,
) -> list[Link]:
    """`<a href>` targets in page order. Patterns are searched in the URL and the link text; include empty = all."""
    collector = _Anchors()
    collector.feed(html)
    collector.close()
    base = urljoin(base_url, collector.base) if collector.base else base_url
    site = _site(base_url)
    found: dict[str, Link] = {}
    for href, text in collector.anchors:
        href = href.strip()
        if not href or href.startswith("#") or href.lower().startswith(_SKIP_SCHEMES):
            continue
        url = urldefrag(urljoin(base, href)).url
        if urlsplit(url).scheme not in ("http", "https") or (same_site and _site(url) != site):
            continue
        if include and not any(re.search(p, url) or re.search(p, text) for p in include):
            continue
        if exclude and any(re.search(p, url) or re.search(p, text) for p in exclude):
            continue
        if url not in found or (text and not found[url].text):  # keep the first link text that says something
            found[url] = Link(url, text)
    return list(found.values())


def _site(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[tuple[str, str]] = []
        self.base: str | None = None
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        if tag == "base" and attr.get("href") and self.base is None:
            self.base = attr["href"]
        elif tag == "a":
            self._finish()
            self._href = attr.get("href")
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._finish()

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def close(self) -> None:
        super().close()
        self._finish()

    def _finish(self) -> None:
        if self._href is not None:
            self.anchors.append((self._href, " ".join("".join(self._text).split())))
        self._href = None
