"""Split a document at its own structure: articles (Article N / 第N条), chapters and sections, numbered headings.

Documents without articles (standards' fact records, commentary, briefs) are split at their headings, and sections
longer than the passage budget are split by paragraphs. Long articles are split with overlap but keep their locator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .models import Passage
from .numerals import ZH_NUMERAL_CHARS, roman_to_int, zh_to_int

_ZH_NUM = f"[{ZH_NUMERAL_CHARS}0-9０-９]+"
ARTICLE_EN = re.compile(r"^\s*(?:\*\*)?Article\s+(\d+)\b\.?(?:\*\*)?[\s:：.]*", re.IGNORECASE)
ARTICLE_ZH = re.compile(rf"^\s*(?:\*\*)?第({_ZH_NUM})条(?:\*\*)?(?:[\s\u3000:：]+|(?=[^\s]))")
CHAPTER_ZH = re.compile(rf"^\s*第({_ZH_NUM})([章编节])(?:\s|\u3000|$)")
CHAPTER_EN = re.compile(r"^\s*(Part|Chapter|Section)\s+([IVXLC]+|\d+)\b(.*)$", re.IGNORECASE)
MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
NUMBERED_HEADING = re.compile(r"^\s*(\d+(?:\.\d+){0,3})\.?\s+(\S.{0,120})$")
ZH_ENUM_HEADING = re.compile(rf"^\s*([{ZH_NUMERAL_CHARS}]+)、\s*(\S.{{0,60}})$")
CAPS_HEADING = re.compile(r"^[A-Z][A-Z0-9 &/,'\-]{2,60}(?:\s*\([^)]{0,30}\))?$")
ROMAN_OR_PAREN_HEADING = re.compile(r"^\s*(?:[IVX]{1,5}\.|\d{1,2}\)|Part\s+\w+:?)\s+\S.{0,100}$")
_SENTENCE_END = re.compile(r"(?<=[。！？；;.!?])\s*")
# A numbered or bulleted item of a list: (一) / （1） / 1. / 1、 / 一、 / (a) / - / •
LIST_ITEM = re.compile(r"^\s*(?:[(（](?:[0-9０-９]{1,3}|[一二三四五六七八九十]{1,3}|[a-zA-Z])[)）]|[0-9]{1,3}[.、)](?!\d)|"
                       r"[一二三四五六七八九十]{1,3}、|[-•*·]\s)")
LEAD_IN_END = (":", "：")


@dataclass
class _Unit:
    kind: str  # article | heading | paragraph | preamble
    label: str
    number: int | None
    chapter_path: list[str]
    lines: list[str]


def _article_match(line: str) -> tuple[int, str] | None:
    m = ARTICLE_EN.match(line)
    if m:
        return int(m.group(1)), f"Article {int(m.group(1))}"
    m = ARTICLE_ZH.match(line)
    if m:
        n = zh_to_int(m.group(1))
        if n is not None:
            return n, f"第{m.group(1)}条"
    return None


def _chapter_match(line: str) -> tuple[int, str] | None:
    """Returns (level, label): level 0 for parts/编, 1 for chapters, 2 for sections."""
    if len(line) > 80:
        return None
    m = CHAPTER_ZH.match(line)
    if m:
        return {"编": 0, "章": 1, "节": 2}[m.group(2)], line.strip()
    m = CHAPTER_EN.match(line)
    if m and (roman_to_int(m.group(2)) is not None or m.group(2).isdigit()):
        level = {"part": 0, "chapter": 1, "section": 2}[m.group(1).lower()]
        return level, line.strip()
    return None


def _is_plausible_next(n: int, prev: int | None) -> bool:
    """Article headings run in order; a '第十三条' that starts a line out of order is a cross-reference, not a heading."""
    if prev is None:
        return n <= 5
    return prev < n <= prev + 5 or n == 1


def _scan(text: str) -> tuple[list[_Unit], int]:
    lines = text.split("\n")
    units: list[_Unit] = []
    chapters: dict[int, str] = {}
    prev_article: int | None = None
    articles = 0
    current = _Unit("preamble", "Preamble", None, [], [])
    title_for: int | None = None  # a chapter label alone on its line takes its title from the next line

    def path() -> list[str]:
        return [chapters[k] for k in sorted(chapters)]

    def flush() -> None:
        nonlocal current
        if any(ln.strip() for ln in current.lines):
            units.append(current)

    for line in lines:
        if title_for is not None and line.strip():
            level, title_for = title_for, None
            if len(line.strip()) <= 60 and not _article_match(line) and not _chapter_match(line):
                chapters[level] = f"{chapters[level]} {line.strip()}"
                current.label = chapters[level]
                current.chapter_path = path()
                continue
        art = _article_match(line)
        if art and _is_plausible_next(art[0], prev_article):
            flush()
            prev_article = art[0]
            articles += 1
            current = _Unit("article", art[1], art[0], path(), [line])
            continue
        chap = _chapter_match(line)
        if chap:
            flush()
            level, label = chap
            for k in [k for k in chapters if k >= level]:
                del chapters[k]
            chapters[level] = label
            if label == line.strip() and len(label.split()) <= 2 and len(label) <= 16:
                title_for = level
            current = _Unit("preamble" if not units else "heading", label, None, path(), [])
            continue
        heading = _heading_label(line)
        if heading and current.kind != "article":
            flush()
            current = _Unit("heading", heading, None, path(), [line])
            continue
        current.lines.append(line)
    flush()
    return units, articles


def _heading_label(line: str) -> str | None:
    s = line.strip()
    if not s or len(s) > 120:
        return None
    m = MD_HEADING.match(s)
    if m:
        return m.group(2).strip("* ")
    m = ZH_ENUM_HEADING.match(s)
    if m and not s.endswith(("。", "；")):
        return s
    m = NUMBERED_HEADING.match(s)
    if m and not s.endswith((".", "。", ";", "；", ",")) and len(s) < 90:
        return s
    if CAPS_HEADING.match(s) and len(s.split()) <= 6:
        return s
    if ROMAN_OR_PAREN_HEADING.match(s) and not s.endswith((".", "。", ";", "；", ",", ":")) and len(s) < 100:
        return s
    return None


def blocks(text: str) -> list[list[str]]:
    """An article's (or section's) lines grouped into the units that keep their sense: a paragraph alone, or a
    lead-in ('… one of the following conditions is met:') with the items it introduces."""
    out: list[list[str]] = []
    open_list = False
    for line in (x.strip() for x in text.split("\n")):
        if not line:
            continue
        if open_list and LIST_ITEM.match(line):
            out[-1].append(line)
            continue
        out.append([line])
        open_list = line.endswith(LEAD_IN_END)
    return out


def _split_long(text: str, max_chars: int, overlap: int) -> list[str]:
    """Pieces of at most max_chars that end at a paragraph or an item, never inside one: a list split over several
    pieces repeats its lead-in at the start of each, so no item is read without the words that give it its sense.
    Only a paragraph longer than max_chars by itself is cut, at sentence ends and with overlap."""
    if len(text) <= max_chars:
        return [text]
    pieces: list[str] = []
    buf: list[str] = []

    def size(lines: list[str]) -> int:
        return sum(len(x) for x in lines) + max(0, len(lines) - 1)

    def flush() -> None:
        if buf:
            pieces.append("\n".join(buf))
            buf.clear()

    for block in blocks(text):
        if size(buf + block) <= max_chars:
            buf.extend(block)
            continue
        flush()
        if size(block) <= max_chars:
            buf.extend(block)
            continue
        lead, items = (block[0], block[1:]) if len(block) > 1 else ("", [])
        if not items:
            pieces.extend(_split_sentences(block[0], max_chars, overlap))
            continue
        chunk: list[str] = [lead]
        for item in items:
            if len(chunk) > 1 and size([*chunk, item]) > max_chars:
                pieces.append("\n".join(chunk))
                chunk = [lead]
            chunk.append(item)
        pieces.append("\n".join(chunk))
    flush()
    out: list[str] = []
    for piece in pieces:  # a lead-in with one enormous item, say: still no piece over the budget
        out.extend(_split_sentences(piece, max_chars, overlap) if len(piece) > max_chars else [piece])
    return out


def _split_sentences(text: str, max_chars: int, overlap: int) -> list[str]:
    """Split at sentence ends into windows of at most max_chars, each starting with ~overlap chars of the last."""
    if len(text) <= max_chars:
        return [text]
    sentences = [s for s in _SENTENCE_END.split(text) if s]
    pieces: list[str] = []
    buf = ""
    for s in sentences:
        while len(s) > max_chars:  # one enormous sentence: hard-cut it
            head, s = s[:max_chars], s[max_chars - overlap :] if overlap < max_chars else s[max_chars:]
            if buf:
                pieces.append(buf)
                buf = ""
            pieces.append(head)
        sep = "" if not buf or _is_cjk(buf[-1]) else " "
        if len(buf) + len(sep) + len(s) > max_chars and buf:
            pieces.append(buf)
            tail = buf[-overlap:] if overlap else ""
            # start the overlap at a word or sentence boundary where one is near
            cut = max(tail.find(" "), tail.find("。"), tail.find("；"))
            tail = tail[cut + 1 :] if 0 <= cut < len(tail) // 2 else tail
            buf = (tail + (" " if tail and not _is_cjk(tail[-1]) else "") + s) if tail else s
        else:
            buf = buf + sep + s
    if buf:
        pieces.append(buf)
    return pieces


def _is_cjk(ch: str) -> bool:
    return "\u3000" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef"


def _paragraph_groups(lines: list[str], max_chars: int) -> list[str]:
    paras = [p.strip() for p in "\n".join(lines).split("\n\n") if p.strip()]
    groups: list[str] = []
    buf = ""
    for p in paras:
        if buf and len(buf) + len(p) + 2 > max_chars:
            groups.append(buf)
            buf = p
        else:
            buf = f"{buf}\n\n{p}" if buf else p
    if buf:
        groups.append(buf)
    return groups


def split_passages(doc_id: str, text: str, *, max_chars: int = 1500, overlap: int = 200) -> list[Passage]:
    """The passages of one document, in order. Deterministic: the same text always gives the same passages and ids."""
    units, n_articles = _scan(text)
    out: list[Passage] = []
    seen: dict[str, int] = {}

    def emit(kind: str, label: str, number: int | None, chapter_path: list[str], body: str) -> None:
        pieces = _split_long(body, max_chars, overlap)
        for i, piece in enumerate(pieces):
            p = Passage(
                doc_id=doc_id,
                ordinal=len(out),
                section=label,
                section_number=number,
                section_kind=kind,
                chapter_path=chapter_path,
                text=piece,
                part=(i + 1) if len(pieces) > 1 else 0,
                parts=len(pieces),
            )
            # The same article number twice in one file (an amendment decision quoting its own articles,
            # say) must not collide: later ones get an occurrence suffix in their section label key.
            k = p.key
            if k in seen:
                seen[k] += 1
                p.occurrence = seen[k] - 1
                p.section = f"{label} ({seen[k]})"
            else:
                seen[k] = 1
            out.append(p)

    for u in units:
        body = "\n".join(u.lines).strip()
        if not body:
            continue
        if u.kind == "article":
            body = re.sub(r"\n{2,}", "\n", body)
            emit("article", u.label, u.number, u.chapter_path, body)
        elif n_articles and u.kind == "preamble" and len(body) < max_chars:
            emit("preamble", u.label, None, u.chapter_path, body)
        else:
            groups = _paragraph_groups(u.lines, max_chars)
            for g_i, g in enumerate(groups):
                if u.kind == "heading":
                    label = u.label if len(groups) == 1 else f"{u.label} ({g_i + 1})"
                    emit("heading", label[:200], None, u.chapter_path, g)
                else:
                    emit("paragraph", f"¶ {len(out) + 1}", None, u.chapter_path, g)
    return out
