"""Hybrid retrieval: dense + lexical fused by reciprocal rank, metadata filters, status priors, explicit references.

The query path imports neither torch nor LangChain: the query vector comes from the ONNX export (when present),
the stores are read directly, and every hit is checked against the ledger's live passages before it is shown.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, select

from indexer.errors import NotIndexedError
from indexer.gloss import Glosser, make_glosser
from indexer.glossary import Expansion, Glossary, load_glossary, question_language
from indexer.models import Passage
from indexer.schema import documents, passages
from indexer.tokenize import tokenize

from .evidence import Concept, Evidence
from .refs import NameIndex, References
from .tuning import DEFAULT, Tuning
from .types import Filters

if TYPE_CHECKING:
    from indexer.settings import Settings

log = logging.getLogger(__name__)

ROW_CACHE = 20_000  # passage rows kept between questions
# The threads that search beside the asking thread: one process-wide pair, however many Retrievers (no thread starts
# before the first question).
_SEARCH_THREADS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="regwatch-search")
# The ranked lists that can find a passage, by question language and passage language: a passage is scored only by
# these (an English question's words never match a Chinese passage), so a Chinese rule that tops the lists able to
# find it competes with an English one that tops more lists.
LISTS = {
    "en": {"en": ("dense", "lexical", "named"), "zh": ("dense", "named", "glossed")},
    "zh": {"zh": ("dense", "lexical", "named"), "en": ("dense", "named", "glossed")},
}


@dataclass
class DocInfo:
    """A live document as the bot sees it: the ledger row flattened with its metadata."""

    doc_id: str
    title: str
    source_path: str
    doc_type: str
    status: str
    language: str
    version: int
    meta: dict[str, Any]

    def __getattr__(self, name: str) -> Any:  # short_title, issuer, effective, url, topics, ...
        if name.startswith("_") or name == "meta":
            raise AttributeError(name)
        return self.meta.get(name)

    @property
    def label(self) -> str:
        return self.meta.get("short_title") or self.title


@dataclass
class Hit:
    """One retrieved passage with its document and the evidence for its rank."""

    passage_id: str
    doc: DocInfo
    text: str
    section: str
    section_number: int | None
    section_kind: str
    chapter_path: list[str]
    version: int
    score: float = 0.0
    dense: float | None = None  # cosine of the question and the passage
    lexical_rank: int | None = None
    dense_rank: int | None = None
    coverage: float | None = None  # share of the question's concepts the passage says (bot/evidence.py)
    via: str = "search"  # search | reference
    caveat: str | None = None
    superseded_by: list[str] = field(default_factory=list)  # doc_ids
    duplicates: list[str] = field(default_factory=list)  # passage ids collapsed into this one


@dataclass
class Query:
    text: str
    language: str
    tokens: list[str]
    expansion: Expansion
    refs: References
    unresolved: list[str] = field(default_factory=list)  # instruments named in the question that nothing indexed is


@dataclass
class MissingArticle:
    """Articles the question names that no indexed text of the named instrument has ('PIPL Article 999')."""

    name: str  # the instrument as the question writes it
    numbers: list[int]
    first: int | None  # the instrument's indexed articles run from `first` to `last`; None when it has none
    last: int | None


@dataclass
class Retrieval:
    query: Query
    hits: list[Hit]
    timings_ms: dict[str, float] = field(default_factory=dict)
    concepts: list[Concept] | None = None  # what the hits' coverage was measured against
    # The LEADING passages that fusion ranked first, before the evidence re-rank: what the answer asks to
    # hold the question's words before it answers at all (bot/answer.py).
    leading: list[Hit] = field(default_factory=list)
    missing: list[MissingArticle] = field(default_factory=list)
    filtered_out: list[tuple[str, list[int]]] = field(default_factory=list)  # named articles the filters leave out


class Catalog:
    """The live documents, cached until the ledger changes (count and max(updated_at) of `documents`)."""

    def __init__(self, rows: list[dict[str, Any]], glossary: Glossary, stamp: tuple[Any, ...]) -> None:
        self.stamp = stamp
        self.docs: dict[str, DocInfo] = {}
        for r in rows:
            if r["removed"] or r["current_version"] is None:
                continue
            self.docs[r["doc_id"]] = DocInfo(
                doc_id=r["doc_id"], title=r["title"], source_path=r["source_path"], doc_type=r["doc_type"],
                status=r["status"], language=r["language"], version=int(r["current_version"]), meta=dict(r["meta"] or {}),
            )
        self.names = NameIndex(self.docs.values(), glossary)
        self._successors = self._link_successors()
        self.translations = self._link_translations()
        self._caveats: dict[str, str | None] = {}

    def _resolve(self, ref: str) -> str | None:
        """'zh/CSL_2026-consolidated_zh' (a source path without suffix, or a doc_id) -> doc_id."""
        ref = ref.strip().lower().removesuffix(".md")
        if ref in self.docs:
            return ref
        for d in self.docs.values():
            stem = d.source_path.lower().rsplit(".", 1)[0]
            if stem == ref or stem.endswith("/" + ref) or d.doc_id == ref.rsplit("/", 1)[-1]:
                return d.doc_id
        return None

    def _link_successors(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for d in self.docs.values():
            for ref in d.meta.get("superseded_by") or []:
                if (t := self._resolve(str(ref))) and t not in out.setdefault(d.doc_id, []):
                    out[d.doc_id].append(t)
        for d in self.docs.values():
            for ref in d.meta.get("supersedes") or []:
                if (old := self._resolve(str(ref))) and d.doc_id not in out.setdefault(old, []):
                    out[old].append(d.doc_id)
        # The successor in the old document's language first: a Chinese reader is sent to the Chinese text.
        for old, new in out.items():
            lang = self.docs[old].language
            new.sort(key=lambda n: (self.docs[n].language != lang, n))
        return out

    def _link_translations(self) -> dict[str, str]:
        """doc_id -> the same instrument in the other language: front matter `translation_of`, else the only two
        documents of one type, in different languages, with the same published and effective dates."""
        out: dict[str, str] = {}
        for d in self.docs.values():
            if (ref := d.meta.get("translation_of")) and (t := self._resolve(str(ref))) and t != d.doc_id:
                out[d.doc_id], out[t] = t, d.doc_id
        groups: dict[tuple[str, str, str], list[DocInfo]] = {}
        for d in self.docs.values():
            pub, eff = d.meta.get("published"), d.meta.get("effective")
            if pub and eff and d.doc_id not in out:
                groups.setdefault((d.doc_type, str(pub)[:10], str(eff)[:10]), []).append(d)
        for g in groups.values():
            if len(g) == 2 and g[0].language != g[1].language:
                out[g[0].doc_id], out[g[1].doc_id] = g[1].doc_id, g[0].doc_id
        return out

    def successors(self, doc_id: str) -> list[str]:
        return self._successors.get(doc_id, [])

    def caveat(self, doc: DocInfo) -> str | None:
        """What a reader must know before relying on the document's text (draft, superseded, ...), or None. Kept per
        document: every candidate passage of every question asks (it had cost 1.3 ms a question)."""
        if doc.doc_id not in self._caveats:
            self._caveats[doc.doc_id] = self._caveat(doc)
        return self._caveats[doc.doc_id]

    def _caveat(self, doc: DocInfo) -> str | None:
        succ = [self.docs[s] for s in self.successors(doc.doc_id)]
        names = "; ".join(f"{s.title} ({s.doc_id})" for s in succ[:2])
        if doc.status == "draft":
            deadline = doc.meta.get("comment_deadline")
            return "Draft for comment, not in force" + (f" (comments due {deadline})" if deadline else "") + (
                f"; see {names}" if names else "")
        if doc.status == "superseded":
            return f"Superseded by {names}" if names else "Superseded: no longer in force"
        if doc.status == "partly_superseded":
            return "Partly superseded" + (f" by {names}" if names else ": later rules change parts of it")
        if doc.status == "repealed":
            return "Repealed: no longer in force" + (f"; see {names}" if names else "")
        return None

    def allowed(self, f: Filters | None) -> list[str] | None:
        """The doc_ids that pass the filters, or None when there are none (every document)."""
        if f is None or f.is_empty():
            return None
        return [d.doc_id for d in self.docs.values() if matches(d, f)]


def _low(xs: list[str]) -> set[str]:
    return {x.strip().lower() for x in xs if x and x.strip()}


def _in_range(value: Any, lo: str | None, hi: str | None) -> bool:
    if not lo and not hi:
        return True
    if not value:
        return False  # a document with no such date cannot be shown to fall in a range
    v = str(value)[:10]
    return (not lo or v >= lo[:10]) and (not hi or v <= hi[:10])


def matches(d: DocInfo, f: Filters) -> bool:
    """Whether a document passes every filter (lists: any of; issuer: case-insensitive substring)."""
    if f.doc_id and d.doc_id not in set(f.doc_id):
        return False
    if f.doc_type and d.doc_type.lower() not in _low(f.doc_type):
        return False
    if f.status and d.status.lower() not in _low(f.status):
        return False
    if f.language and d.language.lower() not in _low(f.language):
        return False
    if f.jurisdiction and str(d.meta.get("jurisdiction") or "").lower() not in _low(f.jurisdiction):
        return False
    if f.issuer and not any(i in str(d.meta.get("issuer") or "").lower() for i in _low(f.issuer)):
        return False
    if f.topics and not (_low(d.meta.get("topics") or []) & _low(f.topics)):
        return False
    return _in_range(d.meta.get("effective"), f.effective_from, f.effective_to) and _in_range(
        d.meta.get("published"), f.published_from, f.published_to
    )


def index_exists(settings: Settings) -> bool:
    if settings.state_url:
        return True  # a server-side store: the ledger count decides
    return (settings.data_dir / "state.sqlite").is_file() and Path(settings.lexical_path).is_file()


class Retriever:
    """Long-lived and thread-safe for reads: build once per process (the Slack bot) or per command."""

    def __init__(self, settings: Settings, *, embedder: Any = None, glossary: Glossary | None = None,
                 tuning: Tuning = DEFAULT) -> None:
        from indexer.db import get_engine
        from indexer.embed import model_identity
        from indexer.ledger import Ledger
        from indexer.vectorstore import VectorStore

        if not index_exists(settings):
            raise NotIndexedError(f"nothing is indexed in {settings.data_dir} yet",
                                  hint="run `regwatch index` (or `regwatch index PATH`) first")
        self.settings = settings
        self.t = tuning
        self.engine = get_engine(settings)
        self.ledger = Ledger(self.engine)
        self.glossary = glossary if glossary is not None else load_glossary(settings.resolved_glossary)
        if not self._stamp()[0]:
            raise NotIndexedError("the index has no documents yet", hint="run `regwatch index` first")
        self.vectors = VectorStore(settings, model_id=model_identity(settings))
        self._embedder = embedder
        self._local = threading.local()
        self._lock = threading.Lock()
        self._catalog: Catalog | None = None
        self._df: dict[str, int] = {}
        self._rows: dict[str, dict[str, Any]] = {}
        self.evidence = Evidence(self.doc_freq, lambda: self.glosser)
        for name, lex in (("lexical", self.lexical), ("glossed lexical", self.glossed)):
            if lex is not None and (lex.reset or not lex.doc_versions()):
                # Emptied by a tokenizer or glossary change, or new in this version: refilled from the ledger's
                # texts; no model needed.
                from indexer.pipeline import sync_lexical

                log.warning("rebuilt the %s index from the ledger (%d documents)", name, sync_lexical(self.ledger, lex))

    def warm(self) -> None:
        tokenize("预热 warm up")
        if self.glosser is not None:
            self.glosser.gloss("预热")  # loads CC-CEDICT (about 0.4 s) before the first Chinese question
        self.embedder.embed_query("warm up")
        cat = self.catalog()
        # Both search threads open their own index connections now, not during the first question.
        for f in [_SEARCH_THREADS.submit(self._glossed, self.analyse(text, cat), None, cat) for text in ("warm", "预热")]:
            f.result()

    # --- shared resources ------------------------------------------------------------------------------
    @property
    def embedder(self) -> Any:
        if self._embedder is None:
            with self._lock:
                if self._embedder is None:
                    from indexer.embed import make_embedder

                    self._embedder = make_embedder(self.settings, purpose="query")
        return self._embedder

    @property
    def lexical(self) -> Any:
        """One LexicalIndex (one sqlite connection) per thread."""
        lex = getattr(self._local, "lexical", None)
        if lex is None:
            from indexer.lexical import LexicalIndex

            lex = self._local.lexical = LexicalIndex(self.settings.lexical_path)
        return lex

    @property
    def glossed(self) -> Any:
        """The wide-gloss index of the Chinese passages (indexer.lexical.glossed_index), one per thread; None when
        Chinese is not glossed."""
        if self.glosser is None:
            return None
        lex = getattr(self._local, "glossed", None)
        if lex is None:
            from indexer.lexical import glossed_index

            lex = self._local.glossed = glossed_index(self.settings, self.glosser)
        return lex

    def _stamp(self) -> tuple[Any, ...]:
        with self.engine.connect() as c:
            n, latest = c.execute(select(func.count(), func.max(documents.c.updated_at))).one()
        return (int(n), str(latest))

    def catalog(self) -> Catalog:
        stamp = self._stamp()
        cat = self._catalog
        if cat is None or cat.stamp != stamp:
            with self._lock:
                if self._catalog is None or self._catalog.stamp != stamp:
                    with self.engine.connect() as c:
                        rows = [dict(r) for r in c.execute(select(documents)).mappings()]
                    self._catalog = Catalog(rows, self.glossary, stamp)
                    self._df = {}
                    self._rows = {}
                cat = self._catalog
        return cat

    def passages(self, ids: set[str]) -> dict[str, dict[str, Any]]:
        """Ledger rows of these passages, cached until the ledger changes (the same articles recur across questions)."""
        cache = self._rows
        missing = [p for p in ids if p not in cache]
        if missing:
            if len(cache) > ROW_CACHE:
                cache.clear()
            cache.update(self.ledger.passages_by_id(missing))
        return {p: cache[p] for p in ids if p in cache}

    def doc_freq(self, token: str) -> tuple[int, int]:
        """(passages containing `token`, all passages) from the lexical index, cached until the ledger changes."""
        if token not in self._df:
            self._df[token] = self.lexical.document_frequencies([token]).get(token, 0)
        if "__N__" not in self._df:
            self._df["__N__"] = self.lexical.count()
        return self._df[token], self._df["__N__"]

    # --- the query ---------------------------------------------------------------------------------------
    def analyse(self, question: str, cat: Catalog | None = None) -> Query:
        cat = cat or self.catalog()
        lang = question_language(question)
        exp = self.glossary.expand(question)
        return Query(question, lang, tokenize(question), exp, cat.names.resolve(question),
                     list(cat.names.unresolved_instruments(question)))

    def search(self, question: str, *, k: int = 10, filters: Filters | None = None, pool: int | None = None) -> Retrieval:
        """The k best passages for `question`, best first, near-duplicates collapsed."""
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        cat = self.catalog()
        q = self.analyse(question, cat)
        allow = cat.allowed(filters)
        allow_set = set(allow) if allow is not None else None
        missing, filtered_out = self.missing_articles(q.refs, cat, allow_set) if q.refs.articles else ([], [])
        timings["analyse"] = _ms(t0)
        if allow is not None and not allow:
            return Retrieval(q, [], timings, missing=missing, filtered_out=filtered_out)
        pool = pool or max(50, 4 * k)

        rankings, _vec = self.rankings(q, allow, pool, timings, cat)
        t = time.perf_counter()
        via: dict[str, str] = {}
        refs = self._reference_passages(q.refs, cat, allow_set, question, allow, q.language)
        candidates = {pid for items in rankings.values() for pid, _ in items} | set(refs)
        rows = self.passages(candidates)
        lang = {pid: cat.docs[r["doc_id"]].language for pid, r in rows.items() if r["doc_id"] in cat.docs}
        fused, ranks = fuse(rankings, lang, q.language, self.t)
        for i, pid in enumerate(refs):
            # Ahead of everything else, in the order asked, the question's language first within one reference.
            # A step wider than any fused score (at most 1 / (rrf_k + 1)), so the order asked is the order shown.
            fused[pid] = fused.get(pid, 0.0) + 10.0 - 0.2 * i
            via[pid] = "reference"
        cosine = dict(rankings.get("dense", []))
        scored: list[tuple[float, str, dict[str, Any], DocInfo]] = []
        named = set(q.refs.named_docs)
        later = {s for d in named for s in cat.successors(d)} - named
        later = (later | {cat.translations[s] for s in later if s in cat.translations}) - named
        for pid, row in rows.items():
            doc = cat.docs.get(row["doc_id"])
            if doc is None or row["version"] != doc.version or (allow_set is not None and doc.doc_id not in allow_set):
                continue  # a vector or lexical entry the ledger no longer vouches for
            if pid not in fused:
                continue
            if row["section_kind"] == "heading" and "\n" not in row["text"].strip() and pid not in via:
                continue  # a heading alone (a title, "Chapter II") answers nothing; it only matches the words of one
            tn = self.t
            status = tn.status_prior.get(doc.status, 0.9)
            if doc.doc_id not in named:
                score = fused[pid] * status * tn.type_prior.get(doc.doc_type, 1.0)
                if doc.doc_id in later:
                    score *= tn.successor_of_named
            else:
                # Asked for by name, its status is no reason to rank it lower; unless the name fits its successor
                # too ('网络安全法': the 2016 law and the 2026 consolidation), then the text in force comes first.
                score = fused[pid] * tn.named_doc_boost * (status if named.intersection(cat.successors(doc.doc_id)) else 1.0)
            if row["section_kind"] == "preamble":
                # A law's preamble is its title and adoption record: it matches the law's name, never a duty.
                score *= tn.preamble_prior
            scored.append((score, pid, row, doc))
        scored.sort(key=lambda x: (-x[0], x[1]))

        def hit(score: float, pid: str, row: dict[str, Any], doc: DocInfo) -> Hit:
            return Hit(
                passage_id=pid, doc=doc, text=row["text"], section=row["section"],
                section_number=row["section_number"], section_kind=row["section_kind"],
                chapter_path=list(row["chapter_path"] or []), version=row["version"], score=score,
                dense=cosine.get(pid), dense_rank=ranks.get(pid, {}).get("dense"),
                lexical_rank=ranks.get(pid, {}).get("lexical"), via=via.get(pid, "search"),
                caveat=cat.caveat(doc), superseded_by=cat.successors(doc.doc_id) if doc.status != "in_force" else [],
            )

        # Hits are made as the collapse reaches them: of the hundreds of candidates, a few dozen are looked at.
        hits = collapse_duplicates((hit(*x) for x in scored), max(k, self.t.rerank_pool), cat.translations)
        timings["fuse"] = _ms(t)
        t = time.perf_counter()
        leading = hits[:self.t.leading]
        concepts = self.evidence.concepts(q)
        for h in hits:
            h.coverage = self.evidence.coverage(q, concepts, h.text, h.doc.language)
            if h.via != "reference":  # asked for outright: they keep the order asked
                h.score *= 1.0 + self.t.evidence_rerank * min(max(h.coverage, 0.0), 1.0)
        hits.sort(key=lambda h: (-h.score, h.passage_id))
        # One article in both language versions is one hit, ranked by the version that scored best (for an English
        # question, often the Chinese text through its gloss). It is shown in the question's language, so an English
        # question quotes the PIPL's English text; rank, score and coverage stay those the other version earned.
        for i, h in enumerate(hits[:k]):
            other = cat.translations.get(h.doc.doc_id)
            if h.doc.language == q.language or other is None or other not in cat.docs or h.via == "reference":
                continue
            twin = next((d for d in h.duplicates if Passage.doc_id_of(d) == other and d in rows
                         and rows[d]["section_number"] == h.section_number and rows[d]["section_kind"] == "article"),
                        None)
            if twin is not None:
                shown = hit(h.score, twin, rows[twin], cat.docs[other])
                shown.coverage = h.coverage
                shown.duplicates = [h.passage_id, *(d for d in h.duplicates if d != twin)]
                hits[i] = shown
        timings["rerank"] = _ms(t)
        # Issue 22 hook: per-article status, as-of caveats, superseded articles below their replacements.
        from .currency import apply_currency

        hits = apply_currency(self, hits, filters)
        return Retrieval(q, hits[:k], timings, concepts, leading, missing, filtered_out)

    def rankings(self, q: Query, allow: list[str] | None, pool: int, timings: dict[str, float] | None = None,
                 cat: Catalog | None = None) -> tuple[dict[str, list[tuple[str, float]]], list[float]]:
        """The ranked lists that are fused: the question's words, its meaning, the words of a law it names inside that
        law, and across languages the wide gloss."""
        timings = timings if timings is not None else {}
        out: dict[str, list[tuple[str, float]]] = {}
        # The meaning runs beside the words: ONNX and SQLite both release the GIL, so on two cores the query
        # embedding (about 6 ms) hides behind the lexical searches instead of adding to them.
        cat = cat or self.catalog()
        meaning = _SEARCH_THREADS.submit(self._dense, q, allow, pool)
        t = time.perf_counter()
        glossed = (_SEARCH_THREADS.submit(self._glossed, q, allow, cat) if self.glosser and self.t.glossed_list
                   else None)
        out["lexical"] = self.lexical.search(q.tokens, pool, doc_ids=allow, rescore=self.t.lexical_rescore)
        named = [d for d in q.refs.named_docs if allow is None or d in allow]
        if named and self.t.named_list:
            # The question names a document ('under the 2016 Cybersecurity Law'): search inside it in both languages,
            # for what the question asks, not for the name: inside the law, its own name only picks out the articles
            # that cite other laws by name (网络安全法第五十七条 cites 《突发事件应对法》).
            aliases = cat.names.aliases
            rest = q.text
            for start, end in sorted(q.refs.name_spans, reverse=True):
                rest = rest[:start] + " " + rest[end:]
            other = q.expansion.other_language(q.language)  # the named law in both languages
            toks = tokenize(rest) + [tok for term in other if term.lower() not in aliases for tok in tokenize(term)]
            out["named"] = self.lexical.search(toks or q.tokens, pool, doc_ids=named, rescore=False)
        if glossed is not None and (found := glossed.result()) is not None:
            out["glossed"] = found
        timings["lexical"] = _ms(t)
        t = time.perf_counter()
        vec, out["dense"], spent = meaning.result()
        timings.update(spent)
        timings["wait_dense"] = _ms(t)
        return out, vec

    def _glossed(self, q: Query, allow: list[str] | None, cat: Catalog) -> list[tuple[str, float]] | None:
        """Across languages on words: an English question against the wide English gloss of the Chinese passages,
        a Chinese question's wide gloss against the English passages. None when there is nothing to search."""
        glossed, glosser = self.glossed, self.glosser
        if glossed is None or glosser is None:
            return None
        if q.language == "en":
            return glossed.search(q.tokens, 20, doc_ids=allow, rescore=False)
        docs = cat.docs
        english = [d for d in (allow if allow is not None else docs) if d in docs and docs[d].language == "en"]
        if not english:
            return None
        # Re-scored: the main index prunes the common words, and with every sense of every word the whole gloss
        # tells the candidates apart (Chinese articles finding their English text: R@5 0.879 without, 0.926 with).
        toks = tokenize(glosser.lexical_gloss(q.text))
        if allow is not None:
            return self.lexical.search(toks, 20, doc_ids=english)
        # Unfiltered, English words find English passages anyway, and the few others are dropped after: a doc_id
        # filter reads every match's row (29 ms instead of 11 at 100,000 passages).
        found = self.lexical.search(toks, 40)
        return [(pid, sc) for pid, sc in found
                if (d := docs.get(Passage.doc_id_of(pid))) and d.language == "en"][:20]

    def _dense(self, q: Query, allow: list[str] | None, pool: int) -> tuple[list[float], list[tuple[str, float]],
                                                                            dict[str, float]]:
        t = time.perf_counter()
        vec = self.embedder.embed_query(self.dense_text(q))
        spent = {"embed": _ms(t)}
        t = time.perf_counter()
        found = self.vectors.query(vec, pool, doc_ids=allow)
        spent["dense"] = _ms(t)
        return vec, found, spent

    @cached_property
    def glosser(self) -> Glosser | None:
        return make_glosser(self.settings, self.glossary)

    def dense_text(self, q: Query) -> str:
        """What the model embeds: a Chinese question in the English gloss its Chinese passages were embedded in."""
        if q.language == "zh" and self.settings.gloss_chinese and self.glosser is not None:
            return self.glosser.gloss(q.text)
        return q.text

    def missing_articles(self, refs: References, cat: Catalog, allow_set: set[str] | None = None
                         ) -> tuple[list[MissingArticle], list[tuple[str, list[int]]]]:
        """The article numbers the question names that none of the named instrument's indexed texts has (in any
        language or version), and those that exist only in texts the filters leave out."""
        missing: list[MissingArticle] = []
        left_out: list[tuple[str, list[int]]] = []
        with self.engine.connect() as c:
            for a in refs.articles:
                docs = [d for d in a.doc_ids if d in cat.docs]
                if not docs:
                    continue
                rows = c.execute(select(passages.c.doc_id, passages.c.section_number).distinct().where(and_(
                    passages.c.doc_id.in_(docs), passages.c.section_kind == "article",
                    passages.c.section_number.is_not(None)))).all()
                have = {n for _d, n in rows}
                allowed = {n for d, n in rows if allow_set is None or d in allow_set}
                if absent := [n for n in a.numbers if n not in have]:
                    missing.append(MissingArticle(a.name, absent, min(have, default=None), max(have, default=None)))
                if hidden := [n for n in a.numbers if n in have and n not in allowed]:
                    left_out.append((a.name, hidden))
        return missing, left_out

    def having_article(self, number: int, language: str) -> list[DocInfo]:
        """The live instruments that have an article `number`, texts in force first; of an instrument indexed in
        both languages, the `language` version."""
        cat = self.catalog()
        with self.engine.connect() as c:
            ids = set(c.execute(select(passages.c.doc_id).distinct().where(and_(
                passages.c.section_number == number, passages.c.section_kind == "article"))).scalars())
        docs = [cat.docs[d] for d in sorted(ids) if d in cat.docs]
        docs = [d for d in docs if d.language == language or cat.translations.get(d.doc_id) not in ids]
        return sorted(docs, key=lambda d: (self.t.status_prior.get(d.status, 0.9) < 1.0, d.label))

    def _reference_passages(self, refs: References, cat: Catalog, allow_set: set[str] | None,
                            question: str, allow: list[str] | None, qlang: str) -> list[str]:
        """Passage ids that the question names outright: articles of named laws, the passages of a standard."""
        out: list[str] = []
        order = {"in_force": 0, "published": 0, "partly_superseded": 1, "draft": 2}
        wanted = [
            (d, n) for a in refs.articles for n in a.numbers
            for d in sorted((d for d in a.doc_ids if d in cat.docs and (allow_set is None or d in allow_set)),
                            key=lambda d: (cat.docs[d].language != qlang, order.get(cat.docs[d].status, 3), d))
        ]
        if wanted:
            with self.engine.connect() as c:
                for doc_id, n in wanted:
                    ids = c.execute(select(passages.c.passage_id).where(and_(
                        passages.c.doc_id == doc_id, passages.c.section_number == n,
                        passages.c.section_kind == "article")).order_by(passages.c.ordinal)).scalars().all()
                    out.extend(ids)
        std_docs = [d for ds in refs.standards.values() for d in ds if allow_set is None or d in allow_set]
        if std_docs:
            scoped = self.lexical.search(question, 5, doc_ids=std_docs)
            ids = [pid for pid, _ in scoped]
            if not ids:
                with self.engine.connect() as c:
                    ids = c.execute(select(passages.c.passage_id).where(passages.c.doc_id.in_(std_docs))
                                    .order_by(passages.c.ordinal).limit(3)).scalars().all()
            out.extend(ids)
        # Several references keep the order they were asked in; within one, the question's language and the
        # text in force come first.
        return list(dict.fromkeys(out))


def fuse(rankings: dict[str, list[tuple[str, float]]], lang: dict[str, str], qlang: str,
         t: Tuning = DEFAULT) -> tuple[dict[str, float], dict[str, dict[str, int]]]:
    """Reciprocal rank fusion, per passage language: a passage's score is its reciprocal ranks summed over the lists
    that can find it (LISTS), divided by how many of those lists ran."""
    ranks: dict[str, dict[str, int]] = {}
    for name, items in rankings.items():
        for r, (pid, _s) in enumerate(items):
            ranks.setdefault(pid, {})[name] = r + 1
    lists = LISTS.get(qlang, LISTS["en"])
    fused: dict[str, float] = {}
    for pid, rk in ranks.items():
        if not t.per_language_fusion:
            fused[pid] = sum(1 / (t.rrf_k + r) for r in rk.values())
            continue
        able = [n for n in lists.get(lang.get(pid, qlang), lists.get(qlang, ())) if n in rankings]
        if able:
            fused[pid] = sum(1 / (t.rrf_k + r) for n, r in rk.items() if n in able) / len(able)
    return fused, ranks


def collapse_duplicates(hits: Iterable[Hit], k: int | None = None, translations: dict[str, str] | None = None) -> list[Hit]:
    """The best of each group, up to k: parts of one article, and one article in the two language versions of an
    instrument (unless the question referred to it outright)."""
    translations = translations or {}

    def same(h: Hit, o: Hit) -> bool:
        if (o.doc.doc_id == h.doc.doc_id and o.section == h.section and o.section_kind == h.section_kind
                and h.section_kind != "paragraph"):
            return True  # parts of one article (paragraph groups share a label without being one unit)
        return (translations.get(o.doc.doc_id) == h.doc.doc_id and h.section_kind == o.section_kind == "article"
                and h.section_number == o.section_number and "reference" not in (h.via, o.via))

    kept: list[Hit] = []
    for h in hits:
        if k is not None and len(kept) >= k:
            break
        twin = next((o for o in kept if same(h, o)), None)
        if twin is None:
            kept.append(h)
        else:
            twin.duplicates.append(h.passage_id)
    return kept


def _ms(t: float) -> float:
    return round((time.perf_counter() - t) * 1000, 2)
