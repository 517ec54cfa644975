"""Extractive answers: the sentences of the retrieved passages that answer the question, each cited, or abstention.

No language model: every word of an answer other than the connecting labels is quoted from an indexed passage,
so nothing is claimed that a passage does not say. Questions and documents are data: they are only ever quoted.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from indexer.glossary import is_cjk
from indexer.numerals import int_to_zh
from indexer.tokenize import tokenize

from .cite import check
from .evidence import Concept, clean
from .quote import Pick
from .quoting import Quoter, only_text_line, translation_line
from .retrieve import Hit, MissingArticle, Query, Retrieval, Retriever
from .types import ABSTAIN_TEXT, Answer, Citation, Filters

if TYPE_CHECKING:
    from indexer.settings import Settings

__all__ = ["ABSTAIN_TEXT", "NOT_AN_ANSWER", "Asker", "clean_question", "left_out_text", "missing_text"]

NOT_AN_ANSWER = "Not an answer: the closest indexed passage found"
MAX_QUESTION_CHARS = 2000
MAX_QUOTE_CHARS = 700
MAIN_LINES = 2  # passages quoted in the answer itself; the rest are listed as "see also"
SEE_ALSO_RATIO = 0.6  # a passage is cited only if its evidence is at least this share of the best one's
# Evidence = SCALE * (W_COVERAGE * coverage + W_DOMAIN * glossary share), calibrated on bench/questions.yaml so
# that the default abstain_threshold (0.35) abstains on every unanswerable question (see bench/quality_bench.py).
# Coverage (bot/evidence.py) is the share of the question's concepts that the passage's best window of sentences says.
W_COVERAGE = 2 / 3
W_DOMAIN = 1 / 3
EVIDENCE_SCALE = 1.32
_ACRONYM = re.compile(r"(?<![A-Za-z0-9])([A-Z]{2,6})s?(?![A-Za-z0-9])")
_LIST_ITEM = re.compile(r"^\s*(?:[(（][0-9一二三四五六七八九十]+[)）]|[0-9]+[.、)]|[一二三四五六七八九十]+、|[-•*])\s*")


# What a question adds around an article it names when it asks for nothing more than the article: "What does PIPL
# Article 38 say / require?", "个人信息保护法第三十八条规定了什么？"
_REFERENCE_FRAME = frozenset(tokenize(
    "say says said provide provides require requires mean means text full read show explain state states stipulate "
    "content contents wording 规定 内容 说 讲 要求 什么 全文 条文 原文 意思 含义 具体", bigrams=False))


# Slack's mention syntax (<!channel>, <@U024BE7LH>, <#C123|general>, <!subteam^S1>) addresses people, it asks nothing.
_SLACK_MENTION = re.compile(r"<[!@#][^<>\s]*>")


def clean_question(text: str) -> str:
    """What is searched for: `clean`, and no Slack mentions (a '<!channel>' in a question is no evidence)."""
    return _SLACK_MENTION.sub(" ", clean(text)).strip()


@dataclass
class Scored:
    """A retrieved passage with the evidence that it answers the question and the sentences that do."""

    hit: Hit
    coverage: float
    evidence: float
    sentences: Sequence[str]
    picked: list[int] = field(default_factory=list)
    quoted: Pick | None = None  # the units quoted (bot/quote.py), set when the answer is composed


class Asker:
    """Answers questions with quoted, cited passages. Long-lived; `ask` is safe to call from several threads."""

    def __init__(self, settings: Settings, *, retriever: Retriever | None = None) -> None:
        self.settings = settings
        self.retriever = retriever or Retriever(settings)

    def warm(self) -> None:
        """Load the tokenizer dictionary and the query encoder now, so the first question is not the slow one."""
        self.retriever.warm()

    def ask(self, question: str, *, k: int | None = None, filters: Filters | None = None) -> Answer:
        t0 = time.perf_counter()
        q = clean_question(question)[:MAX_QUESTION_CHARS]
        k = k or self.settings.top_k
        if not q:
            return Answer(question=question, answer=ABSTAIN_TEXT, abstained=True, citations=[],
                          timings_ms={"total": _ms(t0)})
        q, filters, as_of_note = self._point_in_time(q, filters)
        ret = self.retriever.search(q, k=k, filters=filters)
        refs = ret.query.refs
        if refs.bare_articles and not refs.explicit and not _asks_more(ret.query):
            # 'Article 38' alone: which law's? Quoting every Article 38 would answer with whichever ranked first.
            return check(Answer(question=question, answer=self._which_law(refs.bare_articles, ret.query.language),
                                abstained=True, citations=[], timings_ms={**ret.timings_ms, "total": _ms(t0)}))
        t = time.perf_counter()
        if refs.articles:
            scored, support = self._around_references(ret)
        else:
            scored = self.score(ret.query, ret.hits, ret.concepts)
            mine = {s.hit.passage_id: s for s in scored}
            support = [mine.get(h.passage_id) or self.score(ret.query, [h], ret.concepts)[0] for h in ret.leading]
        answer = self.compose(question, scored, support, query=ret.query, concepts=ret.concepts)
        # Named articles that do not exist, or that the filters leave out, are said so first: an answer without
        # them must not read as if it were theirs.
        notes = ([as_of_note] if as_of_note else []) + ([missing_text(ret.missing)] if ret.missing else []) + (
            [left_out_text(ret.filtered_out)] if ret.filtered_out and not as_of_note else [])
        self._in_force(answer, filters)
        if notes:
            answer.answer = " ".join(notes) + (" " if answer.abstained else "\n") + answer.answer
        timings = dict(ret.timings_ms)
        timings["compose"] = _ms(t)
        timings["total"] = _ms(t0)
        answer.timings_ms = timings
        return check(answer)

    # --- point in time (bot/currency.py) -------------------------------------------------------------------
    def _point_in_time(self, q: str, filters: Filters | None) -> tuple[str, Filters | None, str | None]:
        """An as-of day (from --as-of, or a date the question names) narrows the search to the texts in force that
        day; returns the question to search, the filters and the sentence the answer opens with."""
        from indexer.glossary import question_language

        from .currency import as_of_filters, as_of_note, currency_for, date_in_question

        day = filters.as_of if filters is not None else None
        named = None if day else date_in_question(q)
        if named:
            day, q = named[0], named[1] or q
        if not day:
            return q, filters, None
        cur = currency_for(self.retriever)
        return q, as_of_filters(cur, filters, day), as_of_note(cur, day, question_language(q), from_question=bool(named))

    def _in_force(self, answer: Answer, filters: Filters | None) -> None:
        from .currency import annotate_citations, currency_for

        if answer.citations:
            annotate_citations(currency_for(self.retriever), answer.citations, filters.as_of if filters else None)

    # --- evidence ----------------------------------------------------------------------------------------
    def unknown_subjects(self, q: Query) -> list[str]:
        """Instruments and acronyms the question is about that nothing indexed mentions ('GDPR', 'HIPAA')."""
        out = list(q.unresolved)
        glossed = {t.lower() for g in q.expansion.matched for t in (*g.en, *g.zh)}
        names = self.retriever.catalog().names.aliases  # an indexed instrument's short title is no unknown subject
        for m in _ACRONYM.finditer(q.text):
            a = m.group(1)
            if a.lower() not in glossed and a.lower() not in names and self.retriever.doc_freq(a.lower())[0] == 0:
                out.append(a)
        return out

    def _around_references(self, ret: Retrieval) -> tuple[list[Scored], list[Scored]]:
        """For a question that names articles: the passages it names, and beside them only those that answer what
        else it asks, weighed on that alone (scored, then the support the answer asks of the leading passages).

        The law's name and the article's number are no evidence that another passage answers: they had put
        'PIPL Article 1' beside 'PIPL Article 38', and answered 'PIPL Article 999' from articles that cite the PIPL.
        """
        q = ret.query
        rest = self.retriever.analyse(q.refs.rest(q.text)) if _asks_more(q) else None

        def weigh(hits: list[Hit]) -> list[Scored]:
            out = self.score(q, [h for h in hits if h.via == "reference"], ret.concepts)
            if rest is not None:  # nothing asked but the articles themselves: nothing else is weighed
                out += self.score(rest, [h for h in hits if h.via != "reference"], fresh=True)
            order = {h.passage_id: i for i, h in enumerate(hits)}
            return sorted(out, key=lambda s: order[s.hit.passage_id])

        scored = weigh(ret.hits)
        mine = {s.hit.passage_id: s for s in scored}
        support = [s for h in ret.leading for s in ([mine[h.passage_id]] if h.passage_id in mine else weigh([h]))]
        return scored, support

    def _which_law(self, numbers: list[int], language: str) -> str:
        """'Article 38 of which instrument? …' with the indexed instruments that have one, for a question that names
        an article and no law."""
        n = numbers[0]
        docs = self.retriever.having_article(n, language)
        names = [d.label for d in docs[:8]] + (["…"] if len(docs) > 8 else [])
        art = _articles([n], language == "zh")
        if language == "zh":
            if not docs:
                return f"已索引的文本都没有{art}。{ABSTAIN_TEXT}"
            return (f"哪部法律的{art}？已索引的文本中有{art}的：{'、'.join(names)}。"
                    f"请带上名称再问，例如“{docs[0].label}{art}”。")
        if not docs:
            return f"No indexed text has an {art}. {ABSTAIN_TEXT}"
        return (f"{art} of which instrument? Indexed texts with an {art}: {', '.join(names)}. "
                f'Ask again with its name, for example "{docs[0].label} {art}".')

    def score(self, q: Query, hits: list[Hit], concepts: list[Concept] | None = None, *,
              fresh: bool = False) -> list[Scored]:
        """Each hit's evidence: how much of what the question is about it mentions (glossary terms count extra).
        The coverage retrieval already measured (Hit.coverage, over `concepts`) is used as it is, unless `fresh`
        (`q` is not the question retrieval measured it for)."""
        ev = self.retriever.evidence
        if concepts is None:
            concepts = ev.concepts(q)
        total = sum(c.weight for c in concepts) or 1.0
        domain = sum(c.weight for c in concepts if c.glossary) / total
        off_corpus = bool(self.unknown_subjects(q))
        out: list[Scored] = []
        for h in hits:
            sents, sent_toks, _sources = ev.analysed(q, h.text, h.doc.language)
            coverage = (h.coverage if h.coverage is not None and not fresh
                        else ev.coverage(q, concepts, h.text, h.doc.language))
            evidence = EVIDENCE_SCALE * (W_COVERAGE * coverage + W_DOMAIN * domain)
            if off_corpus:
                evidence = 0.0
            if h.via == "reference":
                evidence = 1.0
            s = Scored(h, coverage, evidence, sents)
            # An article asked for by number is quoted from its beginning; otherwise the sentences that match.
            s.picked = _lead(sents) if h.via == "reference" else self._pick(sents, sent_toks, concepts, total)
            out.append(s)
        return out

    def _pick(self, sents: Sequence[str], sent_toks: Sequence[frozenset[str]], concepts: list[Concept], total: float) -> list[int]:
        """Indices of the sentences that carry the answer: the best one, a close second, a list it introduces."""
        if not sents:
            return []
        # A heading or a question restates what was asked; it never answers it, so it is quoted only as a last resort.
        eligible = [not _is_heading(x) for x in sents]
        penalty = 0.0 if not any(eligible) else 1.0
        scores = [sum(c.weight for c in concepts if c.covered_by(toks)) / total - 0.001 * i
                  - (0.0 if eligible[i] else penalty)
                  for i, toks in enumerate(sent_toks)]
        best = max(range(len(sents)), key=lambda i: scores[i])
        picked = [best]
        second = sorted((i for i in range(len(sents)) if i != best), key=lambda i: -scores[i])[:1]
        if second and scores[second[0]] >= 0.7 * scores[best] > 0:
            picked.append(second[0])
        for i in list(picked):
            if sents[i].rstrip().endswith((":", "：")):
                j = i + 1
                while j < len(sents) and j - i <= 6 and _LIST_ITEM.match(sents[j]):
                    picked.append(j)
                    j += 1
        return sorted(set(picked))

    # --- the answer --------------------------------------------------------------------------------------
    def compose(self, question: str, scored: list[Scored], support: list[Scored] | None = None, *,
                query: Query | None = None, concepts: list[Concept] | None = None) -> Answer:
        """The answer from `scored` (best first), or abstention when no passage of `support` (the leading passages
        before the evidence re-rank, see bot/retrieve.py LEADING; by default the first three) clears the bar."""
        threshold = self.settings.abstain_threshold
        support = support or scored[:3]
        if max((s.evidence for s in support), default=0.0) < threshold:
            near = [s for s in scored[:3] if s.coverage > 0]
            closest = [_citation(i + 1, s, not_answer=True) for i, s in enumerate(near)]
            return Answer(question=question, answer=ABSTAIN_TEXT, abstained=True, citations=closest)
        best = max(s.evidence for s in [*scored[:3], *support])
        keep = [s for s in scored if s.evidence >= max(threshold, SEE_ALSO_RATIO * best) and s.picked]
        quoter = Quoter(self.retriever, question, query, concepts,
                        from_start=query is not None and bool(query.refs.articles) and not _asks_more(query))
        for s in keep:
            quoter.quote(s)
        keep = [s for s in keep if s.quoted is not None and s.quoted.units]  # headings alone are never quoted
        keep = quoter.lead_first(keep)
        main, rest = keep[:MAIN_LINES], keep[MAIN_LINES:]
        lines: list[str] = []
        citations: list[Citation] = []
        untranslated: dict[str, list[Hit]] = {}
        for s in main:
            n = len(citations) + 1
            citations.append(_citation(n, s))
            assert s.quoted is not None
            lead = _strip_label(s.quoted.text(lead_only=True), s.hit)
            flag = f" ({s.hit.caveat})" if s.hit.caveat else ""
            lines.append(f"{_locator(s.hit)}{flag}: “{lead}” [{n}]")
            if query is not None and not any(m.hit.doc.language == query.language for m in main):
                # The only support is in the other language: its indexed translation beside it, or (below) a note
                # saying which instrument and article it is and that only this language's text is indexed.
                twin = quoter.translation(s)
                if twin is not None:
                    n = len(citations) + 1
                    citations.append(_citation(n, twin))
                    assert twin.quoted is not None
                    lines.append(translation_line(twin, _strip_label(twin.quoted.text(lead_only=True), twin.hit),
                                                  n, query.language))
                else:
                    untranslated.setdefault(s.hit.doc.doc_id, []).append(s.hit)
        lines += [only_text_line(hits, query.language, self.retriever.glossary) for hits in untranslated.values()
                  if query is not None]
        also = []
        for s in rest:
            n = len(citations) + 1
            citations.append(_citation(n, s))
            also.append(f"{_locator(s.hit)} [{n}]")
        if not lines:
            near = [s for s in scored[:3] if s.coverage > 0]
            return Answer(question=question, answer=ABSTAIN_TEXT, abstained=True,
                          citations=[_citation(i + 1, s, not_answer=True) for i, s in enumerate(near)])
        text = "\n".join(lines)
        if also:
            text += "\nSee also: " + "; ".join(also) + "."
        return Answer(question=question, answer=text, abstained=False, citations=citations)


def _asks_more(q: Query) -> bool:
    """Whether the question asks anything beyond the articles and standards it names ('What does PIPL Article 38
    say?' does not)."""
    return any(t not in _REFERENCE_FRAME for t in tokenize(q.refs.rest(q.text), bigrams=False))


def left_out_text(left_out: Sequence[tuple[str, Sequence[int]]]) -> str:
    """'The filters leave out PIPL Article 38.', in the language the law was named in."""
    return " ".join(f"筛选条件排除了《{name.strip('《》')}》{_articles(numbers, True)}。" if is_cjk(name)
                    else f"The filters leave out {name} {_articles(numbers, False)}." for name, numbers in left_out)


def missing_text(missing: Sequence[MissingArticle]) -> str:
    """'The indexed PIPL has no Article 999 (its articles run from 1 to 74).', in the language the law was named in."""
    out = []
    for m in missing:
        zh = is_cjk(m.name)
        if m.first is None or m.last is None:
            span = "（已索引的文本没有编号的条文）" if zh else " (it has no numbered articles)"
        elif zh:
            span = f"（已索引的条文为{_articles([m.first], True)}至{_articles([m.last], True)}）"
        else:
            span = f" (its articles run from {m.first} to {m.last})"
        out.append(f"已索引的《{m.name.strip('《》')}》没有{_articles(m.numbers, True)}{span}。" if zh
                   else f"The indexed {m.name} has no {_articles(m.numbers, False)}{span}.")
    return " ".join(out)


def _articles(numbers: Sequence[int], zh: bool) -> str:
    """[75, 76, 77, 999] -> 'Articles 75 to 77, 999' / '第七十五条至第七十七条、第九百九十九条'."""
    runs = _runs(numbers)
    if zh:
        return "、".join(f"第{int_to_zh(a)}条" + (f"至第{int_to_zh(b)}条" if b != a else "") for a, b in runs)
    many = len(runs) > 1 or runs[0][0] != runs[0][1]
    return ("Articles " if many else "Article ") + ", ".join(f"{a}" if a == b else f"{a} to {b}" for a, b in runs)


def _runs(numbers: Sequence[int]) -> list[tuple[int, int]]:
    """[75, 76, 77, 999] -> [(75, 77), (999, 999)]."""
    out: list[tuple[int, int]] = []
    for n in sorted(set(numbers)):
        if out and n == out[-1][1] + 1:
            out[-1] = (out[-1][0], n)
        else:
            out.append((n, n))
    return out


_HEADING_MARK = re.compile(r"^\s*#{1,6}\s")


def _is_heading(sentence: str) -> bool:
    """A Markdown heading, a question, or a short label line without a full stop (e.g. 'What separate consent means')."""
    t = sentence.strip()
    if _HEADING_MARK.match(t) or t.endswith(("?", "？")):
        return True
    if is_cjk(t):
        return len(t) <= 12 and not t.endswith(("。", "；", "：", ":"))
    return len(t.split()) <= 6 and not t.endswith((".", ";", ":", "。"))


def _lead(sents: Sequence[str]) -> list[int]:
    """The first sentence, and the list it introduces if it ends with a colon."""
    if not sents:
        return []
    picked = [0]
    if sents[0].rstrip().endswith((":", "：")):
        picked += [j for j in range(1, min(len(sents), 7)) if _LIST_ITEM.match(sents[j])]
    return picked


def _joined(s: Scored) -> str:
    """The first run of consecutive picked sentences: what the answer line quotes."""
    run = [s.picked[0]]
    for i in s.picked[1:]:
        if i != run[-1] + 1:
            break
        run.append(i)
    sep = "" if is_cjk(s.hit.text) else " "
    return sep.join(s.sentences[i] for i in run)


def _locator(h: Hit) -> str:
    return f"{h.doc.label} {h.section}".strip()


def _strip_label(sentence: str, h: Hit) -> str:
    """'Article 23 To provide…' -> 'To provide…' (the locator already names the article)."""
    s = sentence.strip()
    for label in (h.section, f"第{h.section_number}条" if h.section_number else ""):
        if label and s.startswith(label):
            return s[len(label):].lstrip(" 　:：.") or s
    return s


def _cap(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit]
    if not is_cjk(cut):
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;，；") + "…"


def quote(s: Scored) -> str:
    """The quoted units in passage order (bot/quote.py), else the picked sentences; '…' where text is left out."""
    if s.quoted is not None and s.quoted.units:
        return s.quoted.text(sep="\n")
    if not s.picked:
        return _cap(clean(s.hit.text), MAX_QUOTE_CHARS)
    parts: list[str] = []
    if s.picked[0] > 0:
        parts.append("…")
    prev = None
    for i in s.picked:
        if prev is not None and i != prev + 1:
            parts.append("…")
        parts.append(s.sentences[i])
        prev = i
    if prev is not None and prev < len(s.sentences) - 1:
        parts.append("…")
    sep = "" if is_cjk(s.hit.text) else " "
    return _cap(sep.join(parts), MAX_QUOTE_CHARS)


def _citation(n: int, s: Scored, *, not_answer: bool = False) -> Citation:
    h, d = s.hit, s.hit.doc
    caveat = h.caveat
    if not_answer:
        caveat = NOT_AN_ANSWER + (f"; {h.caveat}" if h.caveat else "")
    return Citation(
        n=n, doc_id=d.doc_id, title=d.title, source_path=d.source_path, url=d.meta.get("url"), section=h.section,
        section_number=h.section_number, status=d.status, doc_type=d.doc_type, effective=d.meta.get("effective"),
        quote=quote(s), score=round(s.evidence, 4), passage_id=h.passage_id, language=d.language,
        version=h.version, short_title=d.meta.get("short_title"), issuer=d.meta.get("issuer"),
        chapter_path=list(h.chapter_path), superseded_by=list(h.superseded_by), caveat=caveat,
    )


def _ms(t: float) -> float:
    return round((time.perf_counter() - t) * 1000, 2)
