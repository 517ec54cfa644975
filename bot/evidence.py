"""Evidence: how much of what a question is about a passage says, in words that stand together.

Shared by retrieval, which re-ranks its best passages by it (bot/retrieve.py, EVIDENCE_RERANK), and by the answer,
which abstains on it and picks the sentences to quote (bot/answer.py). One definition, so the passage ranked first for
its words is the passage the answer weighs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from indexer.glossary import is_cjk
from indexer.tokenize import tokenize

if TYPE_CHECKING:
    from indexer.gloss import Glosser

    from .retrieve import Query

# Words that say what kind of answer is wanted, not what it is about: they are no evidence either way.
# The English words are kept as the tokenizer's stems ("requirements" -> "requir"): questions are compared in those.
QUESTION_WORDS = frozenset(w for word in
    ["article", "law", "regulation", "regulations", "rule", "rules", "requirement", "requirements", "require", "required", "say", "says", "said", "according", "china", "chinese", "prc", "company", "companies", "business", "businesses", "organisation", "organization", "need", "needs", "allow", "allowed", "apply", "applies", "happen", "doe", "tell", "explain", "please", "ok", "okay", "yes", "much", "many", "long", "often", "also", "still", "there", "here", "way", "ways", "kind", "kinds", "type", "types", "thing", "things", "we", "us", "our", "i", "my", "they", "them", "someone", "anyone"]
    for w in tokenize(word, bigrams=False)
) | frozenset(["规定", "要求", "法律", "条例", "哪些", "多少", "多久", "什么样", "怎么办", "可以吗", "能否", "能不能", "需不需要", "有没有", "分别", "哪个", "哪天", "几年", "几次", "吗", "呢", "么", "还", "要", "会", "被", "做", "给", "让", "去", "到", "用", "有", "没有", "请问", "企业", "公司", "我们", "他们", "别人"])
# Coverage is that of the best run of EVIDENCE_WINDOW consecutive sentences: a rule and its conditions sit together,
# while a long commentary mentions a question's words pages apart ('annual' here, 'staff' there) without answering.
EVIDENCE_WINDOW = 4
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_SENT_EN = re.compile(r"(?<=[.;!?])\s+(?=[A-Z(\"“'0-9])")
_SENT_ZH = re.compile(r"(?<=[。；！？])")


def clean(text: str) -> str:
    """Terminal escapes and invisible control characters removed; everything else kept, to be quoted as data."""
    return _CONTROL.sub("", _ANSI.sub("", text or "")).strip()


def sentences(text: str) -> list[str]:
    out: list[str] = []
    for line in text.split("\n"):
        line = line.strip()
        if not line:
            continue
        splitter = _SENT_ZH if is_cjk(line) else _SENT_EN
        out.extend(s.strip() for s in splitter.split(line) if s.strip())
    return out


@dataclass
class Concept:
    """One thing the question is about, in every form that counts as mentioning it."""

    label: str
    forms: list[frozenset[str]]
    weight: float
    glossary: bool = False  # a domain term: the glossary knows it

    def covered_by(self, tokens: set[str] | frozenset[str]) -> bool:
        return any(f <= tokens for f in self.forms)


class Evidence:
    """The question's concepts, weighted by how rare their words are in the index, and their coverage of a passage.

    `doc_freq(token)` gives (passages holding it, all passages); `glosser()` the Chinese glosser or None. Both come
    from the Retriever, which owns the index.
    """

    def __init__(self, doc_freq: Callable[[str], tuple[int, int]], glosser: Callable[[], Glosser | None]) -> None:
        self._doc_freq = doc_freq
        self._glosser = glosser

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
            if not mine or all(all(t in QUESTION_WORDS for t in f) for f in mine):
                continue
            consumed.update(*mine)
            out.append(Concept(g.en[0] if g.en else g.zh[0], forms, max(self.idf(f) for f in mine), glossary=True))
        for tok in dict.fromkeys(words):
            if tok in consumed or tok in QUESTION_WORDS or tok.isdigit() or len(tok) < 2:
                continue
            # A Chinese word inside an already matched term ('信息' in '个人信息') adds nothing new.
            if is_cjk(tok) and any(tok in c.label or any(tok in "".join(f) for f in c.forms) for c in out):
                continue
            out.append(Concept(tok, [frozenset([tok])], self.idf(frozenset([tok]))))
        return out

    def idf(self, form: frozenset[str]) -> float:
        # Capped at the IDF of a word in 3 passages: a word the index has never seen ('customer') is not, by
        # that alone, what the question is about.
        vals = []
        for tok in form:
            df, n = self._doc_freq(tok)
            vals.append(math.log((n + 1) / (max(df, 3) + 0.5)))
        return sum(vals) / len(vals) if vals else 0.0

    def source_idf(self, word: str) -> float:
        """How telling it is that a Chinese passage holds `word`: its IDF (capped as in `idf`), and nothing for a
        single character, whose many dictionary senses meet English words by accident (按 "press; leave aside")."""
        return self.idf(frozenset([word])) if len(word) > 1 else 0.0

    def analysed(self, q: Query, text: str, language: str) -> tuple[
            tuple[str, ...], tuple[frozenset[str], ...], tuple[dict[str, frozenset[str]], ...]]:
        """`_analysed` for this question: only an English question needs a Chinese passage's English words; a
        Chinese question reads it as it is."""
        return _analysed(text, self._glosser() if q.language == "en" and language == "zh" else None)

    def coverage(self, q: Query, concepts: list[Concept], text: str, language: str) -> float:
        """The share of the question's concept weight that the passage's best window covers."""
        total = sum(c.weight for c in concepts) or 1.0
        _sents, sent_toks, sources = self.analysed(q, text, language)
        return _window_coverage(sent_toks, concepts, sources, self.source_idf) / total


@lru_cache(maxsize=65536)
def _sense_tokens(senses: tuple[str, ...]) -> frozenset[str]:
    # The same few thousand statute words recur in every passage: stemming their senses once is most of the saving.
    return frozenset(tokenize(" ".join(senses), bigrams=False))


@lru_cache(maxsize=8192)
def _analysed(text: str, glosser: Glosser | None = None) -> tuple[
        tuple[str, ...], tuple[frozenset[str], ...], tuple[dict[str, frozenset[str]], ...]]:
    """A passage's sentences, their tokens, and per sentence the tokens only its wide gloss holds, each with the
    Chinese words that gave it. Cached (hence immutable): jieba is the costly part, and the same passages come back
    for many questions.

    A Chinese sentence also counts the words of its wide English gloss (Glosser.lexical_gloss), so an English
    question's words are seen in the Chinese rule that retrieval found on them, both for the evidence and for
    picking the sentences to quote; the evidence then weighs such a word by the Chinese word behind it."""
    sents = tuple(sentences(clean(text)))
    toks: list[frozenset[str]] = []
    sources: list[dict[str, frozenset[str]]] = []
    for x in sents:
        t = frozenset(tokenize(x))
        src: dict[str, frozenset[str]] = {}
        if glosser is not None and is_cjk(x):
            # The gloss's words are its senses' words and those of the text between the Chinese runs (tokens are
            # words, so this is tokenize(glosser.lexical_gloss(x)), without writing the gloss out and reading it).
            pairs, rest = glosser.lexical_gloss_parts(x)
            gloss = set(tokenize(rest, bigrams=False))
            for word, senses in pairs:
                mine = frozenset((word,))
                sense_toks = _sense_tokens(tuple(senses))
                gloss |= sense_toks
                for tok in sense_toks:
                    if tok not in t:
                        before = src.get(tok)
                        src[tok] = mine if before is None else before | mine
            t |= gloss
        toks.append(t)
        sources.append(src)
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
    # Retrieval scores every question's ten best passages: only the concepts the passage mentions at all, and only
    # the gloss sources of their tokens, are looked at (a Chinese passage's gloss has hundreds of tokens).
    everything = frozenset().union(*sent_toks)
    present = [c for c in concepts if c.covered_by(everything)]
    if not present:
        return 0.0
    needed = frozenset().union(*(f for c in present for f in c.forms))
    # Weights are IDFs, which go below zero on a tiny index: the best sum is taken as it is, not floored at 0.
    best: float | None = None
    for i in range(max(1, len(sent_toks) - EVIDENCE_WINDOW + 1)):
        toks = frozenset().union(*sent_toks[i : i + EVIDENCE_WINDOW])
        via: dict[str, set[str]] = {}
        if source_weight is not None:
            for d in sources[i : i + EVIDENCE_WINDOW]:
                for tok in needed.intersection(d):
                    via.setdefault(tok, set()).update(d[tok])
        if via:  # tokens the window's own words hold too are not the gloss's alone
            for t, d in zip(sent_toks[i : i + EVIDENCE_WINDOW], sources[i : i + EVIDENCE_WINDOW], strict=True):
                for tok in [tok for tok in via if tok in t and tok not in d]:
                    via.pop(tok, None)
        total = 0.0
        for c in present:
            got = [_form_weight(c.weight, f, via, source_weight) for f in c.forms if f <= toks]
            if got:
                total += max(got)
        best = total if best is None else max(best, total)
    return best if best is not None else 0.0
