"""Which documents are versions of one instrument: amendments, consolidations, drafts and their final texts,
standards and their replacements, and the instruments that override parts of older ones.

Links come from front matter (`supersedes` / `replaces`, `superseded_by`, `final_of`, `superseded_articles`,
and the `note` "Articles 4 and 14 are partly superseded by …") and from the texts themselves: a later document
that names an earlier one with its number and repeals it ("…自2024年1月1日起施行。《X》同时废止") or overrides it
where they differ ("《数据出境安全评估办法》（国家互联网信息办公室令第11号）…与本规定不一致的，适用本规定"), a
standard's "代替 GB/T …", and a draft whose title, less 征求意见稿 / 草案 / 修正案, is a later text's title.

Derived from the ledger on read, not stored: a link is a function of two documents' metadata and text, both of which
the ledger already keeps per version, so deriving it cannot go stale when a document is re-indexed, edited or
removed, and needs no migration; for the few dozen to few thousand documents of a compliance corpus it is one
pass of regular expressions over the current texts (the callers cache it per ledger state).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from .numerals import zh_to_int

if TYPE_CHECKING:
    from .glossary import Glossary

LINK_KINDS = ("supersedes", "partly_supersedes", "final_of", "translation")
_DRAFT_MARKS = re.compile(r"[（(]?(?:草案)?(?:再次|第[一二三四五]次|二次)?征求意见稿[）)]?|[（(]草案[^）)]*[）)]|修正案|修订草案|草案")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]{4,}")
_TITLE_REF = re.compile(r"《([^》]{2,60})》")
_REPEAL = re.compile(r"同时废止|予以废止|废止$|同时失效")
_OVERRIDE = re.compile(r"不一致的[，,]?(?:适用|以)本(?:规定|办法|法|条例|决定)")
_ORDER_NO = re.compile(r"令第\s*\d+\s*号|第\s*\d+\s*号令|\d{4}\s*年第\s*\d+\s*号")
_REPLACES_STD = re.compile(r"代替\s*((?:GB|GB/T|GB/Z|YD/T|JR/T)\s*[\d.]+\s*[—–-]\s*\d{4})", re.I)
_NOTE = re.compile(
    r"Articles?\s+((?:\d+(?:\s*(?:,|and|&)\s*)?)+)\s+(?:are|is|were|was)\s+(partly\s+|partially\s+)?"
    r"(?:superseded|replaced|amended)\s+by\s+(?:the\s+)?(.+?)(?:\s*\(.*)?$", re.I)
_ZH_NOTE = re.compile(r"第([零〇一二两三四五六七八九十百千\d、和及]+)条.{0,6}?(?:被|由)《([^》]+)》.{0,4}?(?:部分)?(?:替代|取代|修改)")


@dataclass
class Link:
    """`new` replaces `old` (kind supersedes / final_of) or overrides part of it (partly_supersedes); or the two are
    one instrument in two languages (translation)."""

    old: str
    new: str
    kind: str  # one of LINK_KINDS
    source: str  # "front matter" | "note" | "text" | "title"
    evidence: str = ""
    articles: list[int] = field(default_factory=list)  # old articles concerned, when only some are
    to_articles: dict[int, list[int]] = field(default_factory=dict)  # old article -> new ones, when front matter says

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Doc:
    """What lineage needs of a ledger document."""

    doc_id: str
    title: str
    doc_type: str
    status: str
    language: str
    source_path: str
    meta: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.meta.get("short_title") or self.title)

    def date(self, key: str) -> str | None:
        v = self.meta.get(key)
        return str(v)[:10] if v else None

    @property
    def start(self) -> str | None:
        """When its text applies from: the effective date, else the publication date (never for a draft)."""
        if self.is_draft:
            return None
        return self.date("effective") or self.date("published")

    @property
    def is_draft(self) -> bool:
        return self.status == "draft" or self.doc_type == "draft"

    @property
    def sort_key(self) -> str:
        return self.date("effective") or self.date("published") or "9999"


def docs_from_rows(rows: Iterable[dict[str, Any]]) -> list[Doc]:
    return [Doc(r["doc_id"], r["title"], r["doc_type"], r["status"], r["language"], r["source_path"],
                dict(r["meta"] or {})) for r in rows if not r.get("removed") and r.get("current_version") is not None]


class Lineage:
    """The links between the live documents, and the chains they make."""

    def __init__(self, docs: list[Doc], links: list[Link]) -> None:
        self.docs = {d.doc_id: d for d in docs}
        self.links = links

    def successors(self, doc_id: str, kinds: tuple[str, ...] = ("supersedes", "partly_supersedes", "final_of")
                   ) -> list[Link]:
        out = [x for x in self.links if x.old == doc_id and x.kind in kinds]
        return sorted(out, key=lambda x: (self.docs[x.new].sort_key, x.new))

    def predecessors(self, doc_id: str, kinds: tuple[str, ...] = ("supersedes", "partly_supersedes", "final_of")
                     ) -> list[Link]:
        out = [x for x in self.links if x.new == doc_id and x.kind in kinds]
        return sorted(out, key=lambda x: (self.docs[x.old].sort_key, x.old))

    def translations(self, doc_id: str) -> list[str]:
        return sorted({x.new if x.old == doc_id else x.old for x in self.links
                       if x.kind == "translation" and doc_id in (x.old, x.new)})

    def chain(self, doc_id: str) -> list[str]:
        """Every document linked to `doc_id` (itself included), oldest first."""
        seen, todo = {doc_id}, [doc_id]
        while todo:
            cur = todo.pop()
            for x in self.links:
                for a, b in ((x.old, x.new), (x.new, x.old)):
                    if a == cur and b not in seen:
                        seen.add(b)
                        todo.append(b)
        return sorted(seen, key=lambda d: (self.docs[d].sort_key, self.docs[d].is_draft is False, d))

    def path(self, a: str, b: str) -> list[Link] | None:
        """The links leading from `a` to `b` (old to new, or across a translation), shortest first; None if none."""
        frontier: list[tuple[str, list[Link]]] = [(a, [])]
        seen = {a}
        while frontier:
            nxt: list[tuple[str, list[Link]]] = []
            for cur, via in frontier:
                if cur == b:
                    return via
                for x in self.links:
                    if x.old == cur and x.new not in seen:
                        seen.add(x.new)
                        nxt.append((x.new, [*via, x]))
                    elif x.kind == "translation" and x.new == cur and x.old not in seen:
                        seen.add(x.old)
                        nxt.append((x.old, [*via, Link(x.new, x.old, "translation", x.source, x.evidence)]))
            frontier = nxt
        return None

    def in_force_until(self, doc_id: str) -> tuple[str | None, Link | None]:
        """The last day the document's text applied in full (the day before its first full successor took effect),
        and that successor's link; (None, None) while nothing has replaced it."""
        for x in self.successors(doc_id, ("supersedes",)):
            start = self.docs[x.new].start
            if start:
                return _day_before(start), x
        return None, None


def _day_before(iso: str) -> str:
    import datetime as dt

    return (dt.date.fromisoformat(iso) - dt.timedelta(days=1)).isoformat()


def resolve_ref(docs: dict[str, Doc], ref: str) -> str | None:
    """'zh/CSL_2016_zh' (a source path without suffix, as front matter writes it), or a doc_id -> doc_id."""
    ref = str(ref).strip().lower().removesuffix(".md")
    if not ref:
        return None
    if ref in docs:
        return ref
    for d in docs.values():
        stem = d.source_path.lower().rsplit(".", 1)[0]
        if stem == ref or stem.endswith("/" + ref) or d.doc_id == ref.rsplit("/", 1)[-1]:
            return d.doc_id
    return None


def build_lineage(docs: list[Doc], text_of: Callable[[str], str], glossary: Glossary | None = None) -> Lineage:
    """Every link between `docs`. `text_of(doc_id)` gives a document's current text; the glossary turns an English
    name in a `note` into the Chinese title it matches."""
    by_id = {d.doc_id: d for d in docs}
    links: list[Link] = []

    def add(old: str | None, new: str | None, kind: str, source: str, evidence: str = "",
            articles: list[int] | None = None) -> None:
        if not old or not new or old == new:
            return
        for x in links:
            if (x.old, x.new) == (old, new) and (x.kind == kind or kind == "partly_supersedes" and x.kind == "supersedes"):
                if articles:
                    x.articles = sorted(set(x.articles) | set(articles))
                return
        links.append(Link(old, new, kind, source, evidence, sorted(set(articles or []))))

    def names(name: str) -> list[str]:
        name = re.sub(r"^(?:the\s+)?(?:\d{4}\s+)?", "", name.strip(), flags=re.I)
        forms = {name} | (glossary.aliases(name) if glossary is not None else set())
        return sorted({d for f in forms for d in _by_title(by_id, f)})

    for d in docs:
        m = d.meta
        for ref in m.get("supersedes") or []:
            add(resolve_ref(by_id, ref), d.doc_id, "supersedes", "front matter", f"supersedes: {ref}")
        for ref in m.get("superseded_by") or []:
            add(d.doc_id, resolve_ref(by_id, ref), "partly_supersedes" if d.status == "partly_superseded"
                else "supersedes", "front matter", f"superseded_by: {ref}")
        extra = m.get("extra") or {}
        for ref in _as_list(extra.get("final_of")):
            add(resolve_ref(by_id, ref), d.doc_id, "final_of", "front matter", f"final_of: {ref}")
        for ref in _as_list(extra.get("finalised_as") or extra.get("finalized_as")):
            add(d.doc_id, resolve_ref(by_id, ref), "final_of", "front matter", f"finalised_as: {ref}")
        arts = _articles(extra.get("superseded_articles"))
        if arts:
            for ref in [*(m.get("superseded_by") or []), *_as_list(extra.get("superseded_articles_by"))]:
                add(d.doc_id, resolve_ref(by_id, ref), "partly_supersedes", "front matter",
                    f"superseded_articles: {extra.get('superseded_articles')}", arts)
                for x in links:
                    if x.old == d.doc_id and x.new == resolve_ref(by_id, ref):
                        x.to_articles.update(_article_targets(extra.get("superseded_articles")))
        note = str(extra.get("note") or "")
        for line in re.split(r"(?<=[.;。；])\s*", note):
            got = _parse_note(line)
            if got:
                arts, name = got
                for new in names(name):
                    if new != d.doc_id and by_id[new].sort_key >= d.sort_key:
                        add(d.doc_id, new, "partly_supersedes", "note", line.strip(), arts)
    for d in docs:
        if d.doc_type not in ("commentary", "news") and not d.is_draft:  # only rules repeal or override rules
            _from_text(d, text_of(d.doc_id), by_id, add)
    _drafts_to_finals(docs, add)
    _translations(docs, add)
    return Lineage(docs, links)


def _as_list(v: Any) -> list[str]:
    if v is None:
        return []
    return [str(x) for x in v] if isinstance(v, list) else [str(v)]


def _articles(v: Any) -> list[int]:
    """`superseded_articles: [4, 14]`, `"4, 14"` or `{4: 7}` -> [4, 14]."""
    if v is None:
        return []
    if isinstance(v, dict):
        v = list(v)
    items = v if isinstance(v, list) else re.split(r"[,\s、和]+", str(v))
    out = []
    for x in items:
        s = str(x).strip()
        n = int(s) if s.isdigit() else zh_to_int(s.removeprefix("第").removesuffix("条"))
        if n:
            out.append(n)
    return out


def _article_targets(v: Any) -> dict[int, list[int]]:
    """`superseded_articles: {4: 7, 14: [9]}` -> {4: [7], 14: [9]}; a plain list names no targets."""
    if not isinstance(v, dict):
        return {}
    out = {}
    for k, t in v.items():
        olds, news = _articles([k]), _articles(t if isinstance(t, list) else [t])
        if olds and news:
            out[olds[0]] = news
    return out


def _parse_note(line: str) -> tuple[list[int], str] | None:
    m = _NOTE.search(line.strip())
    if m:
        return [int(x) for x in re.findall(r"\d+", m.group(1))], m.group(3).strip().rstrip(".")
    z = _ZH_NOTE.search(line)
    if z:
        return _articles(z.group(1)), z.group(2)
    return None


def _core(title: str) -> str:
    """The instrument's name, for matching a draft with its final text: the longest Chinese run of the title, less
    draft marks and the 中华人民共和国 prefix."""
    runs = _CJK_RUN.findall(_DRAFT_MARKS.sub("", title))
    core = max(runs, key=len) if runs else title.strip().lower()
    return core.removeprefix("中华人民共和国")


def _by_title(by_id: dict[str, Doc], name: str) -> list[str]:
    name = name.strip().strip("《》")
    core = _core(name)
    return [d.doc_id for d in by_id.values()
            if not d.is_draft and d.doc_type not in ("commentary", "news")
            and (_core(d.title) == core or str(d.meta.get("short_title") or "") == name)]


def _from_text(d: Doc, text: str, by_id: dict[str, Doc], add: Callable[..., None]) -> None:
    if not text or d.doc_type in ("commentary", "news") or d.is_draft:
        return
    for sentence in re.split(r"(?<=[。；;])", text):
        titles = [m for m in _TITLE_REF.finditer(sentence)]
        if not titles:
            pass
        elif _REPEAL.search(sentence.strip()):
            for m in titles:
                for old in _by_title(by_id, m.group(1)):
                    if old != d.doc_id and by_id[old].sort_key <= d.sort_key:
                        add(old, d.doc_id, "supersedes", "text", sentence.strip()[:200])
        elif _OVERRIDE.search(sentence):
            for m in titles:
                # Named with its number ('（国家互联网信息办公室令第11号）'), it is that instrument and not a namesake.
                if not _ORDER_NO.search(sentence[m.end(): m.end() + 30]):
                    continue
                for old in _by_title(by_id, m.group(1)):
                    if old != d.doc_id and by_id[old].sort_key <= d.sort_key:
                        add(old, d.doc_id, "partly_supersedes", "text", sentence.strip()[:200])
        for s in _REPLACES_STD.finditer(sentence):
            key = _std_key(s.group(1))
            for o in by_id.values():
                if o.doc_id != d.doc_id and _std_key(str(o.meta.get("standard_number") or "")) == key:
                    add(o.doc_id, d.doc_id, "supersedes", "text", s.group(0))


def _std_key(number: str) -> str:
    return re.sub(r"[\s—–-]+", "-", number.strip().upper())


def _drafts_to_finals(docs: list[Doc], add: Callable[..., None]) -> None:
    """A draft is finalised as the first later non-draft text of the same name (its own language first)."""
    for draft in (d for d in docs if d.is_draft):
        core = _core(draft.title)
        if len(core) < 4:
            continue
        since = draft.date("published") or ""
        finals = [d for d in docs if not d.is_draft and d.doc_type not in ("commentary", "news")
                  and _same_name(_core(d.title), core) and (d.start or "") >= since]
        if finals:
            finals.sort(key=lambda d: (d.start or "", d.language != draft.language, d.doc_id))
            first = finals[0].start
            for f in finals:
                if f.start == first:
                    add(draft.doc_id, f.doc_id, "final_of", "title", f"{draft.title} -> {f.title}")


def _same_name(a: str, b: str) -> bool:
    # The 2023 draft is 规范和促进数据跨境流动规定, the 2024 text 促进和规范数据跨境流动规定: the same words in
    # another order. Equal letters and near-equal order are one name.
    if a == b:
        return True
    from rapidfuzz import fuzz

    return sorted(a) == sorted(b) and fuzz.ratio(a, b) >= 70


def _translations(docs: list[Doc], add: Callable[..., None]) -> None:
    """Front matter `translation_of`, else the only two documents of one type and dates in different languages."""
    by_id = {d.doc_id: d for d in docs}
    for d in docs:
        ref = (d.meta.get("extra") or {}).get("translation_of")
        if ref:
            add(resolve_ref(by_id, str(ref)), d.doc_id, "translation", "front matter", f"translation_of: {ref}")
    groups: dict[tuple[str, str, str], list[Doc]] = {}
    for d in docs:
        pub, eff = d.date("published"), d.date("effective")
        if pub and eff and d.doc_type not in ("commentary", "news"):
            groups.setdefault((d.doc_type, pub, eff), []).append(d)
    for g in groups.values():
        if len(g) == 2 and g[0].language != g[1].language:
            a, b = sorted(g, key=lambda d: (d.language != "zh", d.doc_id))
            add(a.doc_id, b.doc_id, "translation", "dates", f"same type and dates: {a.date('published')}")


def lineage_from_ledger(ledger: Any, glossary: Glossary | None = None) -> Lineage:
    """The lineage of the ledger's live documents (their current versions' texts read once)."""
    docs = docs_from_rows(ledger.docs())
    texts: dict[str, str] = {}

    def text_of(doc_id: str) -> str:
        if doc_id not in texts:
            row = ledger.get_doc(doc_id)
            v = ledger.version(doc_id, row["current_version"]) if row and row["current_version"] else None
            texts[doc_id] = v["text"] if v else ""
        return texts[doc_id]

    return build_lineage(docs, text_of, glossary)
