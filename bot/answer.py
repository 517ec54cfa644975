"""Extractive answers: the sentences of the retrieved passages that answer the question, each cited, or abstention.

No language model: every word of an answer other than the connecting labels is quoted from an indexed passage,
so nothing is claimed that a passage does not say. Questions and documents are data: they are only ever quoted.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from indexer.glossary import is_cjk
from indexer.tokenize import tokenize

from .cite import check
from .retrieve import Hit, Query, Retriever
from .types import Answer, Citation, Filters

if TYPE_CHECKING:
    from indexer.gloss import Glosser
    from indexer.settings import Settings

ABSTAIN_TEXT = "No indexed passage answers this question."
NOT_AN_ANSWER = "Not an answer: the closest indexed passage found"
MAX_QUESTION_CHARS = 2000
MAX_QUOTE_CHARS = 700
MAIN_LINES = 2  # passages quoted in the answer itself; the rest are listed as "see also"
SEE_ALSO_RATIO = 0.6  # a passage is cited only if its evidence is at least this share of the best one's
# Words that say what kind of answer is wanted, not what it is about: they are no evidence either way.
# The English words are kept as the tokenizer's stems ("requirements" -> "requir"): questions are compared in those.
_QUESTION_WORDS = frozenset(w for word in
    ["article", "law", "regulation", "regulations", "rule", "rules", "requirement", "requirements", "require", "required", "say", "says", "said", "according", "china", "chinese", "prc", "company", "companies", "business", "businesses", "organisation", "organization", "need", "needs", "allow", "allowed", "apply", "applies", "happen", "doe", "tell", "explain", "please", "ok", "okay", "yes", "much", "many", "long", "often", "also", "still", "there", "here", "way", "ways", "kind", "kinds", "type", "types", "thing", "things", "we", "us", "our", "i", "my", "they", "them", "someone", "anyone"]
    for w in tokenize(word, bigrams=False)
) | frozenset(["规定", "要求", "法律", "条例", "哪些", "多少", "多久", "什么样", "怎么办", "可以吗", "能否", "能不能", "需不需要", "有没有", "分别", "哪个", "哪天", "几年", "几次", "吗", "呢", "么", "还", "要", "会", "被", "做", "给", "让", "去", "到", "用", "有", "没有", "请问", "企业", "公司", "我们", "他们", "别人"])
# Evidence = SCALE * (W_COVERAGE * coverage + W_DOMAIN * glossary share), calibrated on bench/questions.yaml so
# that the default abstain_threshold (0.35) abstains on every unanswerable question (see bench/quality_bench.py).
# Coverage is that of the best run of EVIDENCE_WINDOW consecutive sentences: a rule and its conditions sit together,
# while a long commentary mentions a question's words pages apart ('annual' here, 'staff' there) without answering.
W_COVERAGE = 2 / 3
W_DOMAIN = 1 / 3
EVIDENCE_SCALE = 1.32
EVIDENCE_WINDOW = 4
_ACRONYM = re.compile(r"(?<![A-Za-z0-9])([A-Z]{2,6})s?(?![A-Za-z0-9])")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_SENT_EN = re.compile(r"(?<=[.;!?])\s+(?=[A-Z(\"“'0-9])")
_SENT_ZH = re.compile(r"(?<=[。；！？])")
_LIST_ITEM = re.compile(r"^\s*(?:[(（][0-9一二三四五六七八九十]+[)）]|[0-9]+[.、)]|[一二三四五六七八九十]+、|[-•*])\s*")


# Slack's mention syntax (<!channel>, <@U024BE7LH>, <#C123|general>, <!subteam^S1>) addresses people, it asks nothing.
_SLACK_MENTION = re.compile(r"<[!@#][^<>\s]*>")


def clean(text: str) -> str:
    """Terminal escapes and invisible control characters removed; everything else kept, to be quoted as data."""
    return _CONTROL.sub("", _ANSI.sub("", text or "")).strip()


def clean_question(text: str) -> str:
    """What is searched for: `clean`, and no Slack mentions (a '<!channel>' in a question is no evidence)."""
    return _SLACK_MENTION.sub(" ", clean(text)).strip()


@dataclass
class Concept:
    """One thing the question is about, in every form that counts as mentioning it."""

    label: str
    forms: list[frozenset[str]]
    weight: float
    glossary: bool = False  # a domain term: the glossary knows it

    def covered_by(self, tokens: set[str] | frozenset[str]) -> bool:
        return any(f <= tokens for f in self.forms)


@dataclass
class Scored:
    """A retrieved passage with the evidence that it answers the question and the sentences that do."""

    hit: Hit
    coverage: float
    evidence: float
    sentences: Sequence[str]
    picked: list[int] = field(default_factory=list)


def sentences(text: str) -> list[str]:
    out: list[str] = []
    for line in text.split("\n"):
        line = line.strip()
        if not line:
            continue
        splitter = _SENT_ZH if is_cjk(line) else _SENT_EN
        out.extend(s.strip() for s in splitter.split(line) if s.strip())
    return out


@lru_cache(maxsize=65536)
def _sense_tokens(senses: tuple[str, ...]) -> frozenset[str]:
    # The same few thousand statute words recur in every passage: stemming their senses once is most of the saving.
    return frozenset(tokenize(" ".join(senses), bigrams=False))


@lru_cache(maxsize=8192)
def _analysed(text: str, glosser: Glosser | None = None) -> tuple[
        tuple[str, ...], tuple[frozenset[str], ...], tuple[dict[str, frozenset[str]], ...]]:
    """A passage's sentences, their tokens, and per sentence the tokens only its wide gloss holds, each with the
    Chinese words that gave it. Cached (hence immutable): jieba is the costly part of composing, and the same
    passages come back for many questions.

    A Chinese sentence also counts the words of its wide English gloss (Glosser.lexical_gloss), so an English
    question's words are seen in the Chinese rule that retrieval found on them, both for the evidence and for
    picking the sentences to quote; the evidence then weighs such a word by the Chinese word behind it."""
    sents = tuple(sentences(clean(text)))
    toks: list[frozenset[str]] = []
    sources: list[dict[str, frozenset[str]]] = []
    for x in sents:
        t = frozenset(tokenize(x))
        src: dict[str, set[str]] = {}
        if glosser is not None and is_cjk(x):
            for word, senses in glosser.lexical_gloss_words(x):
                for tok in _sense_tokens(tuple(senses)):
                    if tok not in t:
                        src.setdefault(tok, set()).add(word)
            t |= frozenset(tokenize(glosser.lexical_gloss(x), bigrams=False))
        toks.append(t)
        sources.append({tok: frozenset(w) for tok, w in src.items()})
    return sents, tuple(toks), tuple(sources)


def _form_weight(weight: float, form: frozenset[str], via: dict[str, set[str]],
                 source_weight: Callable[[str], float] | None) -> float:
    """What a form of a concept is worth in a window where the tokens in `via` appear only in the gloss."""
    glossed = [t for t in form if t in via]
    if not glossed or source_weight is None:
        return weight
    return min(weight, min(max(source_weight(w) for w in via[t]) for t in glossed))


def _window_coverage(sent_toks: Sequence[frozenset[str]], concepts: list[Concept],
                     sources: Sequence[dict[str, frozenset[str]]] = (),
                     source_weight: Callable[[str], float] | None = None) -> float:
    """The concept weight covered by the best run of EVIDENCE_WINDOW consecutive sentences.

    A concept met only through the wide English gloss of a Chinese word (`sources`: token -> the words behind it)
    counts for no more than `source_weight` of the most telling of those words: a question's "give" or "staff" found
    in 提供 or 人员, which most Chinese rules hold, says little about whether the rule answers it.
    """
    # Weights are IDFs, which go below zero on a tiny index: the best sum is taken as it is, not floored at 0.
    best: float | None = None
    for i in range(max(1, len(sent_toks) - EVIDENCE_WINDOW + 1)):
        toks = frozenset().union(*sent_toks[i : i + EVIDENCE_WINDOW])
        via: dict[str, set[str]] = {}
        if source_weight is not None:
            for d in sources[i : i + EVIDENCE_WINDOW]:
                for tok, words in d.items():
                    via.setdefault(tok, set()).update(words)
        if via:  # tokens the window's own words hold too are not the gloss's alone
            for t, d in zip(sent_toks[i : i + EVIDENCE_WINDOW], sources[i : i + EVIDENCE_WINDOW], strict=True):
                for tok in t - d.keys():
                    via.pop(tok, None)
        total = 0.0
        for c in concepts:
            got = [_form_weight(c.weight, f, via, source_weight) for f in c.forms if f <= toks]
            if got:
                total += max(got)
        best = total if best is None else max(best, total)
    return best if best is not None else 0.0


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
        ret = self.retriever.search(q, k=k, filters=filters)
        t = time.perf_counter()
        scored = self.score(ret.query, ret.hits)
        answer = self.compose(question, scored)
        timings = dict(ret.timings_ms)
        timings["compose"] = _ms(t)
        timings["total"] = _ms(t0)
        answer.timings_ms = timings
        return check(answer)

    # --- evidence ----------------------------------------------------------------------------------------
    def concepts(self, q: Query) -> list[Concept]:
        """The question's content: glossary terms (with their translations) and its remaining words, IDF-weighted."""
        out: list[Concept] = []
        consumed: set[str] = set()
        words = tokenize(q.text, bigrams=False)
        qtoks = set(words)
        for g in q.expansion.matched:
            forms = [frozenset(tokenize(t, bigrams=False)) for t in (*g.en, *g.zh)]
            forms = [f for f in forms if f]
            mine = [f for f in forms if f <= qtoks]
            if not mine or all(all(t in _QUESTION_WORDS for t in f) for f in mine):
                continue
            consumed.update(*mine)
            out.append(Concept(g.en[0] if g.en else g.zh[0], forms, max(self._idf(f) for f in mine), glossary=True))
        for tok in dict.fromkeys(words):
            if tok in consumed or tok in _QUESTION_WORDS or tok.isdigit() or len(tok) < 2:
                continue
            # A Chinese word inside an already matched term ('信息' in '个人信息') adds nothing new.
            if is_cjk(tok) and any(tok in c.label or any(tok in "".join(f) for f in c.forms) for c in out):
                continue
            out.append(Concept(tok, [frozenset([tok])], self._idf(frozenset([tok]))))
        return out

    def _idf(self, form: frozenset[str]) -> float:
        # Capped at the IDF of a word in 3 passages: a word the index has never seen ('customer') is not, by
        # that alone, what the question is about.
        vals = []
        for tok in form:
            df, n = self.retriever.doc_freq(tok)
            vals.append(math.log((n + 1) / (max(df, 3) + 0.5)))
        return sum(vals) / len(vals) if vals else 0.0

    def _source_idf(self, word: str) -> float:
        """How telling it is that a Chinese passage holds `word`: its IDF (capped as in `_idf`), and nothing for a
        single character, whose many dictionary senses meet English words by accident (按 "press; leave aside")."""
        return self._idf(frozenset([word])) if len(word) > 1 else 0.0

    def unknown_subjects(self, q: Query) -> list[str]:
        """Instruments and acronyms the question is about that nothing indexed mentions ('GDPR', 'HIPAA')."""
        out = list(q.unresolved)
        glossed = {t.lower() for g in q.expansion.matched for t in (*g.en, *g.zh)}
        for m in _ACRONYM.finditer(q.text):
            a = m.group(1)
            if a.lower() not in glossed and self.retriever.doc_freq(a.lower())[0] == 0:
                out.append(a)
        return out

    def score(self, q: Query, hits: list[Hit]) -> list[Scored]:
        """Each hit's evidence: how much of what the question is about it mentions (glossary terms count extra)."""
        concepts = self.concepts(q)
        total = sum(c.weight for c in concepts) or 1.0
        domain = sum(c.weight for c in concepts if c.glossary) / total
        off_corpus = bool(self.unknown_subjects(q))
        out: list[Scored] = []
        for h in hits:
            # Only an English question needs a Chinese passage's English words; a Chinese question reads it as it is.
            glosser = self.retriever.glosser if q.language == "en" and h.doc.language == "zh" else None
            sents, sent_toks, sources = _analysed(h.text, glosser)
            coverage = _window_coverage(sent_toks, concepts, sources, self._source_idf) / total
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
    def compose(self, question: str, scored: list[Scored]) -> Answer:
        threshold = self.settings.abstain_threshold
        best = max((s.evidence for s in scored[:3]), default=0.0)
        if best < threshold:
            near = [s for s in scored[:3] if s.coverage > 0]
            closest = [_citation(i + 1, s, not_answer=True) for i, s in enumerate(near)]
            return Answer(question=question, answer=ABSTAIN_TEXT, abstained=True, citations=closest)
        keep = [s for s in scored if s.evidence >= max(threshold, SEE_ALSO_RATIO * best) and s.picked]
        main, rest = keep[:MAIN_LINES], keep[MAIN_LINES:]
        lines: list[str] = []
        citations: list[Citation] = []
        for s in main:
            n = len(citations) + 1
            citations.append(_citation(n, s))
            lead = _strip_label(_joined(s), s.hit)
            flag = f" ({s.hit.caveat})" if s.hit.caveat else ""
            lines.append(f"{_locator(s.hit)}{flag}: “{_cap(lead, 600)}” [{n}]")
        also = []
        for s in rest:
            n = len(citations) + 1
            citations.append(_citation(n, s))
            also.append(f"{_locator(s.hit)} [{n}]")
        text = "\n".join(lines)
        if also:
            text += "\nSee also: " + "; ".join(also) + "."
        return Answer(question=question, answer=text, abstained=False, citations=citations)


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
    """The picked sentences in passage order, '…' where text is left out."""
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
