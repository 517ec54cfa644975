"""What is current, per document and per article, on a given day: the words every answer, digest and change list
uses for it, and the point-in-time logic behind `ask --as-of`.

- A document's text applies from its effective date (else its publication date) to the day before the first
  document that supersedes it in full takes effect. A draft never applies; it is open for comment from its
  publication to its comment deadline, and it is "finalised as" the text that replaced it.
- An article is superseded when its document is, or when a later instrument overrides that article
  (`partly_supersedes`, with the articles named in front matter or its note): the words say by which instrument's
  which article, and from when ("superseded by 网络安全法 Article 39 on 2026-01-01"), from the article mapping
  across the whole instrument (indexer/article_map.py).
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from indexer.lineage import Doc, Lineage, Link

if TYPE_CHECKING:
    from collections.abc import Callable

    from indexer.article_map import ArticleMap
    from indexer.models import Passage

    from .retrieve import Hit, Retriever
    from .types import Citation, Filters

# How far below the article that replaced it a superseded article ranks (when both are among the hits), and the
# prior of an overridden article of a document that is otherwise in force (the status prior of a superseded text).
BELOW_REPLACEMENT = 0.9
SUPERSEDED_ARTICLE_PRIOR = 0.6


@dataclass
class ArticleStatus:
    """Why one article is no longer the rule, and what is."""

    words: str  # "superseded by 网络安全法 Article 39 on 2026-01-01"
    by_doc: str
    by_articles: list[int]
    on: str | None  # ISO date the replacement took effect


def today() -> str:
    return dt.date.today().isoformat()


class Currency:
    """Status words and in-force windows over one Lineage; article maps computed once per pair of documents."""

    def __init__(self, lineage: Lineage, passages_of: Callable[[str], list[Passage]]) -> None:
        self.lineage = lineage
        self._passages_of = passages_of
        self._maps: dict[tuple[str, str], ArticleMap] = {}
        self._lock = threading.Lock()

    # --- documents ---------------------------------------------------------------------------------------
    def doc(self, doc_id: str) -> Doc | None:
        return self.lineage.docs.get(doc_id)

    def window(self, doc_id: str) -> tuple[str | None, str | None]:
        """(first day, last day) its text applies; (None, None) for a draft or a text with no date; last None while
        in force."""
        d = self.lineage.docs[doc_id]
        if d.is_draft or d.doc_type in ("commentary", "news"):
            return None, None
        until, _ = self.lineage.in_force_until(doc_id)
        if until is None and d.status in ("superseded", "repealed"):
            until = "?"  # said superseded, by nothing indexed: no longer in force, since when unknown
        return d.start, until

    def window_words(self, doc_id: str) -> str | None:
        start, end = self.window(doc_id)
        if start is None and end is None:
            return None
        if end == "?":
            return f"in force from {start or 'an unknown date'}; no longer in force"
        return f"in force from {start or 'an unknown date'}" + (f" to {end}" if end else "")

    def in_force_on(self, doc_id: str, day: str) -> bool:
        """Whether the document's text applied on `day` (commentary and news: published by then)."""
        d = self.lineage.docs[doc_id]
        if d.is_draft:
            return False
        if d.doc_type in ("commentary", "news"):
            pub = d.date("published")
            return pub is None or pub <= day
        start, end = self.window(doc_id)
        if start is None or start > day:
            return False
        return end is None or (end != "?" and day <= end)

    def open_for_comment_on(self, doc_id: str, day: str) -> bool:
        d = self.lineage.docs[doc_id]
        deadline, pub = d.date("comment_deadline"), d.date("published")
        return d.is_draft and bool(deadline) and (pub or "") <= day <= str(deadline)

    def finalised_as(self, doc_id: str) -> list[Doc]:
        return [self.lineage.docs[x.new] for x in self.lineage.successors(doc_id, ("final_of", "supersedes"))]

    def draft_words(self, doc_id: str, day: str | None = None) -> str | None:
        """'comment period closed 2025-02-21', 'open for comment until …', '… ; finalised as <instrument>'."""
        d = self.lineage.docs[doc_id]
        if not d.is_draft:
            return None
        day = day or today()
        parts = []
        deadline = d.date("comment_deadline")
        if deadline:
            parts.append(f"comment period closed {deadline}" if deadline < day else f"open for comment until {deadline}")
        finals = [f for f in self.finalised_as(doc_id) if (f.start or "") <= day]
        if finals:
            parts.append("finalised as " + " / ".join(_instrument(f) for f in _one_per_language(finals, d.language)))
        return "; ".join(parts) or None

    def doc_words(self, doc_id: str, day: str | None = None) -> str | None:
        """The words a reader needs about the whole document on `day` (default today), or None when it is in force."""
        d = self.lineage.docs.get(doc_id)
        if d is None:
            return None
        day = day or today()
        if d.is_draft:
            words = self.draft_words(doc_id, day)
            return "Draft for comment, not in force" + (f"; {words}" if words else "")
        full = self.lineage.successors(doc_id, ("supersedes",))
        for x in sorted(full, key=lambda x: (self.lineage.docs[x.new].start or "9999",
                                             self.lineage.docs[x.new].language != d.language)):
            new = self.lineage.docs[x.new]
            if new.start and new.start <= day:
                return f"superseded by {_instrument(new)} on {new.start}"
        parts = []
        for x in self.lineage.successors(doc_id, ("partly_supersedes",)):
            new = self.lineage.docs[x.new]
            if new.start and new.start <= day:
                which = f"{_articles_word(x.articles, d.language)} superseded" if x.articles else \
                    "Partly superseded (where they differ)"
                parts.append(f"{which} by {_instrument(new)} on {new.start}")
        return "; ".join(parts) or None

    # --- articles ----------------------------------------------------------------------------------------
    def article_map(self, old: str, new: str) -> ArticleMap:
        """The mapping between two linked documents; across languages through the new text's translation."""
        key = (old, new)
        if key not in self._maps:
            from indexer.article_map import articles_of, map_articles

            target = new
            if self.lineage.docs[old].language != self.lineage.docs[new].language:
                same = [t for t in self.lineage.translations(new)
                        if self.lineage.docs[t].language == self.lineage.docs[old].language]
                target = same[0] if same else new  # a translation keeps the article numbers
            made = map_articles(articles_of(self._passages_of(old)), articles_of(self._passages_of(target)))
            if target != new:
                made.new = articles_of(self._passages_of(new))
            with self._lock:
                self._maps[key] = made
        return self._maps[key]

    def article_status(self, doc_id: str, number: int, day: str | None = None) -> ArticleStatus | None:
        """Why article `number` of `doc_id` is not the rule on `day` (default today), or None when it is."""
        day = day or today()
        for x in self.lineage.successors(doc_id, ("supersedes", "partly_supersedes")):
            new = self.lineage.docs[x.new]
            if not new.start or new.start > day:
                continue
            if x.kind == "partly_supersedes" and number not in x.articles:
                continue
            if x.kind == "supersedes" and self._prefer_other_language(doc_id, x):
                continue
            if number in x.to_articles:  # front matter said which articles replaced it
                by = x.to_articles[number]
                return ArticleStatus(f"superseded by {_instrument(new)} {_articles_word(by, new.language)} on {new.start}",
                                     x.new, by, new.start)
            link = self.article_map(doc_id, x.new).of_old(number)
            by = [n for n in (link.new if link else []) if n is not None]
            if link is not None and link.kind == "repealed" and x.kind == "supersedes":
                return ArticleStatus(f"repealed by {_instrument(new)} on {new.start}", x.new, [], new.start)
            if x.kind == "partly_supersedes" and not by:
                best = self._closest(doc_id, x.new, number)
                by = [best] if best is not None else []
            where = f" {_articles_word(by, new.language)}" if by else ""
            return ArticleStatus(f"superseded by {_instrument(new)}{where} on {new.start}", x.new, by, new.start)
        return None

    def _prefer_other_language(self, doc_id: str, x: Link) -> bool:
        """Of the successors that are one text in two languages, only the one in the old text's language speaks."""
        lang = self.lineage.docs[doc_id].language
        if self.lineage.docs[x.new].language == lang:
            return False
        return any(self.lineage.docs[t].language == lang and any(
            s.new == t for s in self.lineage.successors(doc_id, ("supersedes",))) for t in self.lineage.translations(x.new))

    def _closest(self, old: str, new: str, number: int) -> int | None:
        """For an overriding instrument with no whole-text match: its article most like the overridden one."""
        from rapidfuzz import fuzz

        from indexer.article_map import fold

        amap = self.article_map(old, new)
        art = amap.old_article(number)
        if art is None or not amap.new:
            return None
        target = fold(art)
        best = max(amap.new, key=lambda a: fuzz.ratio(target, fold(a)))
        return best.number

    def caveat(self, doc_id: str, section_number: int | None, day: str | None = None) -> str | None:
        """The one caveat line of a passage: its article's status, else its document's."""
        if section_number is not None:
            st = self.article_status(doc_id, section_number, day)
            if st is not None:
                return st.words[0].upper() + st.words[1:]
        words = self.doc_words(doc_id, day)
        if words and section_number is not None and self.lineage.docs[doc_id].status == "partly_superseded":
            words = f"this article still applies; {words}"
        return words[0].upper() + words[1:] if words else None

    def replacement(self, doc_id: str, section_number: int | None, day: str | None = None) -> tuple[str, list[int]] | None:
        if section_number is None:
            return None
        st = self.article_status(doc_id, section_number, day)
        return (st.by_doc, st.by_articles) if st else None


def _instrument(d: Doc) -> str:
    # The full title: short titles are ambiguous across versions ('网络安全法' is the 2016 law's name too).
    return d.title


def _one_per_language(docs: list[Doc], lang: str) -> list[Doc]:
    same = [d for d in docs if d.language == lang]
    return same[:1] or docs[:1]


def _articles_word(numbers: list[int], lang: str) -> str:
    word = "Article" if len(numbers) == 1 else "Articles"
    return f"{word} {', '.join(str(n) for n in numbers)}"


# --- shared by the retriever, the answer and the commands ---------------------------------------------------

_BY_RETRIEVER: weakref.WeakKeyDictionary[Any, tuple[Any, Currency]] = weakref.WeakKeyDictionary()
_CACHE_LOCK = threading.Lock()


def currency_for(retriever: Retriever) -> Currency:
    """The Currency of the retriever's ledger, rebuilt when the ledger's documents change."""
    stamp = retriever.catalog().stamp
    got = _BY_RETRIEVER.get(retriever)
    if got is not None and got[0] == stamp:
        return got[1]
    with _CACHE_LOCK:
        got = _BY_RETRIEVER.get(retriever)
        if got is None or got[0] != stamp:
            got = (stamp, from_ledger(retriever.ledger, retriever.glossary))
            _BY_RETRIEVER[retriever] = got
    return got[1]


def from_ledger(ledger: Any, glossary: Any = None) -> Currency:
    from indexer.ledger import row_to_passage
    from indexer.lineage import lineage_from_ledger

    return Currency(lineage_from_ledger(ledger, glossary),
                    lambda doc_id: [row_to_passage(r) for r in ledger.passages_of(doc_id)])


def apply_currency(retriever: Retriever, hits: list[Hit], filters: Filters | None = None) -> list[Hit]:
    """The retrieval hook: each hit's caveat says its article's status on the as-of day (default today), and a
    superseded article ranks below the article that replaced it. Returns the hits re-sorted."""
    if not hits:
        return hits
    cur = currency_for(retriever)
    as_of = filters.as_of if filters is not None else None
    day = as_of or today()
    by_place = {(h.doc.doc_id, h.section_number): h for h in hits}
    for h in hits:
        if h.doc.doc_id not in cur.lineage.docs:
            continue
        number = h.section_number if h.section_kind == "article" else None
        words = cur.caveat(h.doc.doc_id, number, day)
        if as_of and cur.in_force_on(h.doc.doc_id, as_of):
            # In force that day: the ledger's status (today's) neither lowers its rank nor warns about it; what
            # happened to it later is a later day's news.
            h.score /= retriever.t.status_prior.get(h.doc.status, 1.0) or 1.0
            h.caveat, h.superseded_by = words, []
        elif words:
            h.caveat = words
        rep = cur.replacement(h.doc.doc_id, number, day)
        if rep is None or h.via == "reference":
            continue
        new_doc, numbers = rep
        if new_doc not in h.superseded_by:
            h.superseded_by = [new_doc, *h.superseded_by]
        above = [by_place[k] for k in ((d, n) for d in [new_doc, *cur.lineage.translations(new_doc)] for n in numbers)
                 if k in by_place]
        if above:
            h.score = min(h.score, BELOW_REPLACEMENT * min(a.score for a in above))
        elif h.doc.status not in ("superseded", "repealed"):
            h.score *= SUPERSEDED_ARTICLE_PRIOR  # the document's prior did not count it: its other articles apply
    hits.sort(key=lambda h: (-h.score, h.passage_id))
    return hits


# --- point in time ---------------------------------------------------------------------------------------------

_MONTHS = {m: i + 1 for i, m in enumerate(
    "january february march april may june july august september october november december".split())}
_MONTHS.update({m[:3]: i for m, i in list(_MONTHS.items())})
_MON = r"(january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)\.?"
_DATE_PATTERNS = (
    (re.compile(r"(?:\b(?:on|as of|as at|at|in force on)\s+)?\b(\d{4})-(\d{1,2})-(\d{1,2})\b", re.I), "ymd"),
    (re.compile(rf"(?:\b(?:on|as of|as at|at)\s+)?\b(\d{{1,2}})(?:st|nd|rd|th)?\s+{_MON}\s+(\d{{4}})\b", re.I), "dmy"),
    (re.compile(rf"(?:\b(?:on|as of|as at|at)\s+)?\b{_MON}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.I), "mdy"),
    (re.compile(r"(?:截至|截止|在|于)?(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号](?:时|当天|当日)?"), "ymd"),
)


def date_in_question(text: str) -> tuple[str, str] | None:
    """(ISO date, the question without the date's words) for a question that names a day, else None."""
    for pattern, order in _DATE_PATTERNS:
        m = pattern.search(text)
        if not m:
            continue
        g = m.groups()
        try:
            if order == "ymd":
                y, mo, d = int(g[0]), int(g[1]), int(g[2])
            elif order == "dmy":
                y, mo, d = int(g[2]), _MONTHS[g[1].lower().rstrip(".")[:3]], int(g[0])
            else:
                y, mo, d = int(g[2]), _MONTHS[g[0].lower().rstrip(".")[:3]], int(g[1])
            day = dt.date(y, mo, d).isoformat()
        except (ValueError, KeyError):
            continue
        rest = (text[: m.start()] + " " + text[m.end():]).strip()
        return day, re.sub(r"\s{2,}", " ", rest)
    return None


def as_of_filters(cur: Currency, filters: Filters | None, day: str) -> Filters:
    """`filters` narrowed to the documents whose text applied on `day` (drafts are named beside the answer)."""
    from dataclasses import replace

    from .types import Filters as F

    base = filters or F()
    live = [d for d in cur.lineage.docs if cur.in_force_on(d, day)]
    keep = [d for d in live if d in set(base.doc_id)] if base.doc_id else live
    return replace(base, doc_id=keep or ["\0none"], as_of=day)


def as_of_note(cur: Currency, day: str, language: str, *, from_question: bool) -> str:
    """The sentence an as-of answer opens with, and the drafts that were open for comment that day."""
    drafts = sorted((d for d in cur.lineage.docs.values() if cur.open_for_comment_on(d.doc_id, day)),
                    key=lambda d: (d.date("comment_deadline") or "", d.doc_id))
    if language == "zh":
        head = f"仅依据{day}" + ("（问题所述日期）" if from_question else "") + "有效的文本。"
        if drafts:
            head += "当日正在征求意见的草案（不具效力）：" + "；".join(
                f"{d.name}（意见截止{d.date('comment_deadline')}）" for d in drafts) + "。"
        return head
    head = f"As of {day}" + (" (the date in the question)" if from_question else "") + \
        ": only the texts in force that day are considered."
    if drafts:
        head += " Open for comment that day (drafts, not in force): " + "; ".join(
            f"{d.name} (comments due {d.date('comment_deadline')})" for d in drafts) + "."
    return head


def annotate_citations(cur: Currency, citations: list[Citation], day: str | None) -> None:
    """Each citation says when its text was in force (as-of answers read it beside the quote)."""
    for c in citations:
        if c.doc_id in cur.lineage.docs:
            c.in_force = cur.window_words(c.doc_id)
            if day and c.in_force and c.in_force not in (c.caveat or ""):
                c.caveat = c.in_force[0].upper() + c.in_force[1:] + (f"; {c.caveat}" if c.caveat else "")
