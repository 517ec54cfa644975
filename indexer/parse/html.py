"""HTML: the main text via trafilatura (no navigation or footers), title and date hints from the head."""

from __future__ import annotations

import re
from typing import Any

# Blocks that start a new line in the fallback extractor, and boilerplate containers it drops.
_BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "table",
           "blockquote", "pre", "dd", "dt", "ul", "ol", "hr", "td", "th"}
_JUNK = ("script", "style", "noscript", "nav", "header", "footer", "aside", "form", "iframe", "template", "svg")
_TITLE_META = ("og:title", "articletitle", "dc.title", "citation_title", "twitter:title")
_DATE_META = ("pubdate", "publishdate", "article:published_time", "dc.date", "dc.date.issued", "citation_date",
              "citation_publication_date", "firstpublishedtime", "date")


def extract_html(html: str, *, url: str | None = None) -> tuple[str, dict[str, Any], list[str]]:
    """(main text, metadata hints {title, published}, warnings). Headings and paragraphs each keep their own line."""
    import trafilatura

    warnings: list[str] = []
    text = trafilatura.extract(
        html, url=url, output_format="txt", include_comments=False, include_tables=True, include_links=False,
        include_images=False, favor_recall=True, deduplicate=False,
    ) or ""
    if not text.strip():
        text = _fallback_text(html)
        if text.strip():
            warnings.append("no main text found by trafilatura; used plain HTML text extraction")
    return text, _hints(html), warnings


def _tree(html: str) -> Any:
    import lxml.html

    # lxml refuses str input that carries an XML encoding declaration; the text is already decoded.
    html = re.sub(r"^\s*<\?xml[^>]*>", "", html)
    return lxml.html.document_fromstring(html) if html.strip() else None


def _fallback_text(html: str) -> str:
    """Text of the page minus scripts and boilerplate containers, one line per block element."""
    try:
        root = _tree(html)
    except Exception:  # lxml raises a zoo of errors on broken markup; fall back to stripping tags
        return re.sub(r"<[^>]+>", " ", html)
    if root is None:
        return ""
    for el in root.xpath("|".join(f"//{t}" for t in _JUNK)):
        el.drop_tree()
    lines: list[str] = []
    current: list[str] = []

    def walk(el: Any) -> None:
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag in _BLOCKS:
            flush()
        if el.text and tag:
            current.append(el.text)
        for child in el:
            walk(child)
            if child.tail:
                current.append(child.tail)
        if tag in _BLOCKS:
            flush()

    def flush() -> None:
        line = re.sub(r"\s+", " ", "".join(current)).strip()
        if line:
            lines.append(line)
        current.clear()

    body = root.find("body")
    walk(body if body is not None else root)
    flush()
    return "\n".join(lines)


def _hints(html: str) -> dict[str, Any]:
    """Title (meta og:title / ArticleTitle, else <h1>, else <title> without the site suffix) and published date."""
    try:
        root = _tree(html)
    except Exception:
        return {}
    if root is None:
        return {}
    metas: dict[str, str] = {}
    for el in root.iter("meta"):
        key = (el.get("property") or el.get("name") or el.get("itemprop") or "").strip().lower()
        if key and el.get("content") and key not in metas:
            metas[key] = el.get("content").strip()
    hints: dict[str, Any] = {}
    title = next((metas[k] for k in _TITLE_META if metas.get(k)), None)
    if not title:
        h1 = root.find(".//h1")
        title = h1.text_content().strip() if h1 is not None else None
    if not title:
        t = root.find(".//title")
        title = _strip_site_suffix(t.text_content()) if t is not None else None
    if title:
        hints["title"] = re.sub(r"\s+", " ", title).strip()
    date = next((metas[k] for k in _DATE_META if metas.get(k)), None)
    if date:
        hints["published"] = date
    return hints


def _strip_site_suffix(title: str) -> str:
    """'中华人民共和国个人信息保护法_中国人大网' -> the part before the last separator, when that part is substantial."""
    title = title.strip()
    parts = re.split(r"\s*(?:_|\s[-|–—]\s|\|)\s*", title)
    return parts[0] if len(parts) > 1 and len(parts[0]) >= 4 else title
