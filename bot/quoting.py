"""The answer's quotes from the retrieved passages: the units that answer (bot/quote.py), looked for in every part of
a long article, the answering passage first, and an article's indexed translation beside a quote in the other
language.

Nothing here changes which passages answer or whether the answer abstains: only what of them is quoted, and in
which order the passages that answer are shown.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from indexer.glossary import question_language
from indexer.models import Passage
from indexer.numerals import int_to_zh
from indexer.tokenize import tokenize

from .evidence import Concept
from .quote import Pick, asked_facts, largest_amount, pick, stated_facts

if TYPE_CHECKING:
    from indexer.glossary import Glossary

    from .answer import Scored
    from .retrieve import Hit, Query, Retriever

MAX_PARTS = 12  # parts of one long article looked at (the longest indexed article has 4)


class Quoter:
    """Quotes for one question. `query`/`concepts` are the retrieval's; without them (a composed test answer) the
    question's own words are used."""

    def __init__(self, retriever: Retriever, question: str, query: Query | None,
                 concepts: list[Concept] | None, *, from_start: bool = False) -> None:
        self.retriever = retriever
        # The question asks for named articles and nothing more ('PIPL Article 38'): those are quoted from their
        # beginning, as a reader looking an article up expects.
        self.from_start = from_start
        self.question = query.text if query is not None else question
        self.query = query
        self.language = query.language if query is not None else question_language(question)
        if concepts is None and query is not None:
            concepts = retriever.evidence.concepts(query)
        self.concepts = concepts or []

    def _tokens(self, language: str) -> Any:
        ev, q = self.retriever.evidence, self.query

        def tokens(line: str) -> frozenset[str]:
            if q is None:
                return frozenset(tokenize(line))
            return frozenset().union(*ev.analysed(q, line, language)[1])
        return tokens

    def pick(self, hit: Hit, top_amount: float | None = None) -> Pick:
        tokens = self._tokens(hit.doc.language)
        if self.from_start and hit.via == "reference":
            return pick(hit.text, "", [], tokens)
        known = tokens(" ".join(x for x in (hit.doc.title, hit.doc.meta.get("short_title")) if x))
        return pick(hit.text, self.question, self.concepts, tokens, top_amount=top_amount, known=known)

    def quote(self, s: Scored) -> None:
        """Sets s.quoted to the best units of the passage's article (all its parts), and s.hit to the part that
        holds them: 'the maximum fine' is in the second part of PIPL Article 66 when the first ranked."""
        every = self.parts(s.hit) if not (self.from_start and s.hit.via == "reference") else []
        parts = [p for p in every if p.passage_id != s.hit.passage_id]
        top = max((largest_amount(h.text) for h in [s.hit, *parts]), default=0.0) if parts else None
        best_hit, best = s.hit, self.pick(s.hit, top)
        for other in parts:
            p = self.pick(other, top)
            if p.units and (not best.units or p.best > best.best + 1e-9):
                best_hit, best = other, p
        order = [h.passage_id for h in every]
        if best_hit.passage_id in order:
            at = order.index(best_hit.passage_id)
            # A part of a long article repeats its list's lead-in; text before that is an omission all the same.
            best.before, best.after = at > 0, at < len(order) - 1
        s.hit, s.quoted = best_hit, best

    def parts(self, hit: Hit) -> list[Hit]:
        """The parts of a long article that `hit` is one of (empty for a whole article or any other passage)."""
        if hit.section_kind != "article" or hit.section_number is None:
            return []
        rows = self._article_rows(hit.doc.doc_id, hit.section_number, hit.version, hit.section)
        return [replace(hit, passage_id=pid, text=row["text"]) for pid, row in rows]

    def _article_rows(self, doc_id: str, number: int, version: int, section: str | None) -> list[tuple[str, Any]]:
        ids = {Passage(doc_id=doc_id, ordinal=0, section="", section_number=number, section_kind="article",
                       chapter_path=[], text="", part=part).id: part for part in range(MAX_PARTS + 1)}
        rows = self.retriever.passages(set(ids))
        found = [(ids[pid], pid, row) for pid, row in rows.items()
                 if row["version"] == version and (section is None or row["section"] == section)]
        return [(pid, row) for _part, pid, row in sorted(found, key=lambda x: x[0])]

    def lead_first(self, kept: list[Scored]) -> list[Scored]:
        """The passages that answer, the first one whose best unit states the kind of fact asked moved to the front
        ('the maximum fine': the paragraph with the amount, not the article that only names the violation)."""
        asked = asked_facts(self.question)
        if not asked or len(kept) < 2:
            return kept

        def states(s: Scored) -> bool:
            if s.quoted is None or not s.quoted.units:
                return False
            return bool(asked & stated_facts(" ".join(s.quoted.lines[i] for i in s.quoted.units[0].lines)))

        if states(kept[0]):
            return kept
        first = next((i for i, s in enumerate(kept) if states(s)), None)
        if first is None:
            return kept
        return [kept[first], *kept[:first], *kept[first + 1:]]

    def translation(self, s: Scored) -> Scored | None:
        """The same article of the indexed translation of the passage's instrument, quoted, or None."""
        from .answer import Scored
        from .retrieve import Hit

        h = s.hit
        cat = self.retriever.catalog()
        other = cat.translations.get(h.doc.doc_id)
        if other is None or other not in cat.docs or h.section_kind != "article" or h.section_number is None:
            return None
        doc = cat.docs[other]
        rows = self._article_rows(other, h.section_number, doc.version, None)
        if not rows:
            return None
        best: tuple[Hit, Pick] | None = None
        for pid, row in rows:
            hit = Hit(passage_id=pid, doc=doc, text=row["text"], section=row["section"],
                      section_number=row["section_number"], section_kind=row["section_kind"],
                      chapter_path=list(row["chapter_path"] or []), version=row["version"], score=h.score,
                      caveat=cat.caveat(doc),
                      superseded_by=cat.successors(doc.doc_id) if doc.status != "in_force" else [])
            p = self.pick(hit)
            if p.units and (best is None or p.best > best[1].best + 1e-9):
                best = (hit, p)
        if best is None:
            return None
        twin = Scored(best[0], coverage=s.coverage, evidence=s.evidence, sentences=[], picked=[0])
        twin.quoted = best[1]
        return twin


def translation_line(twin: Scored, lead: str, n: int, language: str) -> str:
    """'  English text (PIPL Article 66): “…” [2]' beside a quote in the other language."""
    h = twin.hit
    where = f"{h.doc.label} {h.section}".strip()
    if language == "zh":
        return f"  对应的中文文本（{where}）：“{lead}” [{n}]"
    return f"  The same article in English ({where}): “{lead}” [{n}]"


def only_text_line(hits: list[Hit], language: str, glossary: Glossary | None = None) -> str:
    """The note after quotes in the other language when no translation of them is indexed: which instrument and
    articles they are, in the question's language (the glossary's name for the instrument where it has one)."""
    doc = hits[0].doc
    names = [doc.meta.get("short_title"), doc.title]
    other = ""
    if glossary is not None:
        for g in glossary.groups:
            forms = (*g.zh, *g.en)
            if any(n and n in forms for n in names):
                other = (g.zh if language == "zh" else g.en)[0] if (g.zh if language == "zh" else g.en) else ""
                break
    numbers = [h.section_number for h in hits if h.section_kind == "article" and h.section_number]
    if language == "zh":
        arts = "、".join(f"第{int_to_zh(n)}条" for n in numbers) or "、".join(h.section for h in hits)
        name = f"《{(other or doc.label).strip('《》')}》"
        return f"（以上引文是{name}{arts}的英文原文：只索引了其英文文本，没有中文文本。）"
    arts = (("Articles " if len(numbers) > 1 else "Article ") + ", ".join(str(n) for n in numbers)) if numbers \
        else ", ".join(h.section for h in hits)
    name = f"{other} ({doc.label})" if other and other != doc.label else doc.label
    return (f"(Quoted in Chinese: {name} {arts}. Only the Chinese text of this instrument is indexed, no English "
            "translation.)")
