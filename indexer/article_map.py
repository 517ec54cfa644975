"""Which old article became which new one, across two versions of one instrument, by text and not by number.

A consolidation renumbers: the 2016 Cybersecurity Law's Article 37 (data localisation) is Article 39 of the 2026
text, and the 2026 Article 37 is an unrelated duty. So every old article is compared with every new article of the
whole instrument (rapidfuzz's C `cdist`, folded text: no label, no punctuation, no width or case), the pairing that
maximises total similarity is found once (scipy's assignment solver, with a small pull towards keeping the order
so that two near-identical penalty articles pair in sequence), and what is left over is read as split, merged, new
or repealed. Works on Chinese and English texts alike (characters are compared, so no word boundaries are needed);
for the word-level diff of one pair, Chinese is segmented with jieba so that a changed amount stands out as a word.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from .changes import _LABEL, _normalise, _units
from .numerals import int_to_zh, zh_to_int
from .tokenize import CJK

if TYPE_CHECKING:
    from .models import Passage

MAPPING_KINDS = ("unchanged", "moved", "amended", "split", "merged", "new", "repealed")
MATCH = 0.5  # similarity (0..1) of the whole texts above which two articles are one article, edited
PIECE = 0.8  # a leftover article whose best piece is this similar to part of another was folded into / out of it
REWRITTEN = 0.7  # the same, for a leftover whose best match is a new article that matched nothing else
MIN_PIECE = 16  # folded characters
CITED_PIECE = 0.4  # the lower bar for a leftover that cites what a piece of the new article cites
ORDER_PULL = 0.05  # at most this much similarity is added for a pair that keeps the instrument's order
_WORD = re.compile(r"[A-Za-z]+(?:['’-][A-Za-z]+)*|\d+(?:[.,]\d+)*%?|\s+|.", re.S)
_REF_ZH = re.compile(r"第([零〇一二两三四五六七八九十百千\d]+)条")
_REF_EN = re.compile(r"\b(Articles?\s+)(\d+)\b")


@dataclass
class Article:
    label: str  # "第三十七条", "Article 37"
    number: int | None
    text: str  # the whole article, label included, parts joined


@dataclass
class ArticleLink:
    """One row of the mapping: an old article and what it became (or a new article and where it came from)."""

    kind: str  # one of MAPPING_KINDS
    old: list[int | None] = field(default_factory=list)  # article numbers in the old text ([] for new)
    new: list[int | None] = field(default_factory=list)  # article numbers in the new text ([] for repealed)
    similarity: float | None = None  # 0..1, of the principal pair
    old_labels: list[str] = field(default_factory=list)
    new_labels: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ArticleMap:
    old: list[Article]
    new: list[Article]
    links: list[ArticleLink]

    def of_old(self, number: int) -> ArticleLink | None:
        return next((x for x in self.links if number in x.old), None)

    def of_new(self, number: int) -> ArticleLink | None:
        return next((x for x in self.links if number in x.new), None)

    def old_article(self, number: int) -> Article | None:
        return next((a for a in self.old if a.number == number), None)

    def new_article(self, number: int) -> Article | None:
        return next((a for a in self.new if a.number == number), None)

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(MAPPING_KINDS, 0)
        for x in self.links:
            out[x.kind] += 1
        return out


def articles_of(passages: list[Passage]) -> list[Article]:
    """The articles of a version (long ones joined back from their parts); every section when it has none."""
    units = _units(passages)
    arts = [u for u in units if u.article]
    chosen = arts or [u for u in units if u.text.strip()]
    return [Article(u.label, u.number, u.text) for u in chosen]


def fold(a: Article, renumber: dict[int, int] | None = None) -> str:
    """The article's wording for comparison; with `renumber`, its citations of other articles in the new numbering
    (a citation of an article that has no counterpart becomes '第?条', which matches nothing)."""
    body = _LABEL.sub("", a.text, count=1)
    if renumber is not None:
        body = _REF_ZH.sub(lambda m: _cite_zh(m, renumber), body)
        body = _REF_EN.sub(lambda m: _cite_en(m, renumber), body)
    return _normalise(body)


def _cite_zh(m: re.Match[str], renumber: dict[int, int]) -> str:
    n = zh_to_int(m.group(1)) if not m.group(1).isdigit() else int(m.group(1))
    to = renumber.get(n) if n is not None else None
    return f"第{int_to_zh(to)}条" if to is not None else "第?条"


def _cite_en(m: re.Match[str], renumber: dict[int, int]) -> str:
    to = renumber.get(int(m.group(2)))
    return f"{m.group(1)}{to if to is not None else '?'}"


def map_articles(old: list[Article], new: list[Article]) -> ArticleMap:
    """The mapping from `old` to `new`: every old article appears in exactly one link, every new article too."""
    import numpy as np
    from rapidfuzz import fuzz
    from rapidfuzz.process import cdist

    links: list[ArticleLink] = []
    if not old or not new:
        links += [_link("repealed", [a], [], None) for a in old]
        links += [_link("new", [], [a], None) for a in new]
        return ArticleMap(old, new, links)
    fo, fn = [fold(a) for a in old], [fold(a) for a in new]
    # Twice: penalty articles are told apart mostly by the articles they cite ("违反本法第三十七条规定"), and those
    # were renumbered too. The first pairing says how; the old texts' citations are rewritten in the new numbering,
    # and the second pairing compares like with like.
    first = _assign(fo, fn)
    renumber: dict[int, int] = {}
    for i, j in first.items():
        o, n = old[i].number, new[j].number
        if o is not None and n is not None:
            renumber[o] = n
    fo = [fold(a, renumber) for a in old]
    sim = cdist(fo, fn, scorer=fuzz.ratio, dtype=np.float32, workers=1) / 100.0
    pairs = _assign(fo, fn, sim)
    matched_new = set(pairs.values())
    by_new = {j: i for i, j in pairs.items()}
    # Leftovers are compared piece by piece (paragraphs, numbered items): a consolidation that folds three old
    # penalty articles into one article's items, or spreads one old article over two, leaves no whole-text match.
    pieces_o, pieces_n = [_pieces(a) for a in old], [_pieces(a) for a in new]
    merged: dict[int, list[int]] = {}  # new index -> the leftover old indices folded into it
    split: dict[int, list[int]] = {}  # old index -> the leftover new indices it was spread over
    cites_n = [_cite_sets(a) for a in new]
    for i in range(len(old)):
        if i not in pairs:
            # A leftover that cites the same articles as a piece of a new article (after renumbering) is that
            # piece, even reworded ('在境外存储网络数据' -> '在境外存储个人信息和重要数据'); else its best text match.
            mine = _cite_sets(old[i], renumber)
            cited = [j for j in range(len(new)) if mine & cites_n[j]]
            if cited:
                j = max(cited, key=lambda x: _piece_score(fo[i], pieces_o[i], fn[x], pieces_n[x]))
                s = 1.0 if _piece_score(fo[i], pieces_o[i], fn[j], pieces_n[j]) >= CITED_PIECE else 0.0
            else:
                j, s = _best(fo[i], pieces_o[i], fn, pieces_n)
            # Into an article that has a match of its own: merged, on strong evidence only; into one that has none:
            # the same article rewritten (the 2022 Measures' 2-year validity article is the 2024 Provisions' 3-year one).
            if s >= (PIECE if j in matched_new else REWRITTEN):
                merged.setdefault(j, []).append(i)
    for j in range(len(new)):
        if j not in matched_new and j not in merged:
            i, s = _best(fn[j], pieces_n[j], fo, pieces_o)
            if s >= PIECE and i in pairs:
                split.setdefault(i, []).append(j)
    taken_old = set(pairs) | {i for v in merged.values() for i in v}
    taken_new = matched_new | set(merged) | {j for v in split.values() for j in v}
    for i, j in sorted(pairs.items()):
        s = float(sim[i, j])
        if i in split:
            links.append(_link("split", [old[i]], [new[j], *(new[x] for x in split[i])], s))
        elif j in merged:
            links.append(_link("merged", [old[i], *(old[x] for x in merged[j])], [new[j]], s))
        elif fo[i] == fn[j]:
            links.append(_link("unchanged" if old[i].number == new[j].number else "moved", [old[i]], [new[j]], 1.0))
        else:
            links.append(_link("amended", [old[i]], [new[j]], s))
    for j, olds in sorted(merged.items()):
        if j in by_new:
            continue  # reported with its principal pair above
        kind = "amended" if len(olds) == 1 else "merged"  # one old article, rewritten beyond a whole-text match
        score = max(_piece_score(fo[i], pieces_o[i], fn[j], pieces_n[j]) for i in olds)
        links.append(_link(kind, [old[i] for i in olds], [new[j]], score))
    links += [_link("repealed", [old[i]], [], None) for i in range(len(old)) if i not in taken_old]
    links += [_link("new", [], [new[j]], None) for j in range(len(new)) if j not in taken_new]
    return ArticleMap(old, new, _order(links, old, new))


def _assign(fo: list[str], fn: list[str], sim: Any = None) -> dict[int, int]:
    """old index -> new index: the one-to-one pairing of greatest total similarity, pairs below MATCH dropped."""
    import numpy as np
    from rapidfuzz import fuzz
    from rapidfuzz.process import cdist
    from scipy.optimize import linear_sum_assignment

    if sim is None:
        sim = cdist(fo, fn, scorer=fuzz.ratio, dtype=np.float32, workers=1) / 100.0
    # Expected position of each new article for each old one, as shares of the instrument: a pair far out of order
    # gets no pull, one in order gets ORDER_PULL. It only breaks near-ties; text similarity decides.
    pos_o = np.arange(len(fo))[:, None] / max(1, len(fo) - 1)
    pos_n = np.arange(len(fn))[None, :] / max(1, len(fn) - 1)
    pull = ORDER_PULL * np.clip(1.0 - 8.0 * np.abs(pos_o - pos_n), 0.0, 1.0)
    gain = np.where(sim >= MATCH, sim + pull, 0.0)
    rows, cols = linear_sum_assignment(gain, maximize=True)
    return {int(i): int(j) for i, j in zip(rows, cols, strict=True) if sim[i, j] >= MATCH}


def _order(links: list[ArticleLink], old: list[Article], new: list[Article]) -> list[ArticleLink]:
    """Old articles in their order; a new article right after the old article that the new article before it came
    from (so the 2026 CSL's new Article 3 is listed between the 2016 Articles 2 and 3)."""
    def at(arts: list[Article], number: int | None, label: str) -> int:
        return next(i for i, a in enumerate(arts) if a.number == number and a.label == label)

    came_from: dict[int, float] = {}
    for x in links:
        for n, lab in zip(x.new, x.new_labels, strict=True):
            if x.old:
                came_from[at(new, n, lab)] = float(at(old, x.old[0], x.old_labels[0]))
    keys = []
    for x in links:
        if x.old:
            keys.append((float(at(old, x.old[0], x.old_labels[0])), 0, 0))
            continue
        j = at(new, x.new[0], x.new_labels[0])
        before = [came_from[k] for k in came_from if k < j]
        keys.append((max(before) if before else -1.0, 1, j))
    return [x for _, x in sorted(zip(keys, links, strict=True), key=lambda p: p[0])]


def _pieces(a: Article) -> list[str]:
    """The article's paragraphs and items, folded; short ones ('（三）擅自终止…的。' is long enough) are left out,
    since a few characters are found inside almost any article."""
    body = _LABEL.sub("", a.text, count=1)
    return [f for f in (_normalise(p) for p in body.splitlines()) if len(f) >= MIN_PIECE]


def _cite_sets(a: Article, renumber: dict[int, int] | None = None) -> set[frozenset[int]]:
    """The sets of articles each paragraph or item cites ('违反本法第三十七条规定' -> {37}), in the new numbering
    when `renumber` is given; paragraphs that cite nothing, or an article with no counterpart, are left out."""
    out: set[frozenset[int]] = set()
    for line in _LABEL.sub("", a.text, count=1).splitlines():
        nums = [zh_to_int(m.group(1)) if not m.group(1).isdigit() else int(m.group(1)) for m in _REF_ZH.finditer(line)]
        nums += [int(m.group(2)) for m in _REF_EN.finditer(line)]
        got = [n if renumber is None else renumber.get(n) for n in nums if n is not None]
        if got and None not in got:
            out.add(frozenset(x for x in got if x is not None))
    return out


def _piece_score(whole_a: str, pieces_a: list[str], whole_b: str, pieces_b: list[str]) -> float:
    """How well the best piece of one article is found inside the other (rapidfuzz partial_ratio, 0..1)."""
    from rapidfuzz import fuzz

    best = max((fuzz.partial_ratio(p, whole_b) for p in pieces_a), default=0.0)
    best = max(best, max((fuzz.partial_ratio(p, whole_a) for p in pieces_b), default=0.0))
    return round(best / 100.0, 3)


def _best(whole: str, pieces: list[str], others: list[str], others_pieces: list[list[str]]) -> tuple[int, float]:
    scores = [_piece_score(whole, pieces, w, p) for w, p in zip(others, others_pieces, strict=True)]
    j = max(range(len(scores)), key=lambda x: scores[x])
    return j, scores[j]


def _link(kind: str, olds: list[Article], news: list[Article], s: float | None) -> ArticleLink:
    return ArticleLink(kind, [a.number for a in olds], [a.number for a in news],
                       None if s is None else round(s, 3), [a.label for a in olds], [a.label for a in news])


# --- word-level changes of one pair --------------------------------------------------------------------------

def words(text: str) -> list[str]:
    """Words for a diff: jieba's for Chinese runs (so '五十万元' and '一百万元' are one word each), else words,
    numbers and single marks; spaces are kept so the text joins back exactly."""
    out: list[str] = []
    for m in _WORD.finditer(text):
        out.append(m.group())
    # Re-segment the Chinese characters as words: adjacent single CJK characters are joined and cut by jieba.
    merged: list[str] = []
    run: list[str] = []
    for w in out:
        if len(w) == 1 and CJK.match(w):
            run.append(w)
            continue
        if run:
            merged.extend(_jieba("".join(run)))
            run = []
        merged.append(w)
    if run:
        merged.extend(_jieba("".join(run)))
    return merged


def _jieba(run: str) -> list[str]:
    from .tokenize import jieba_tokenizer

    return list(jieba_tokenizer().cut(run, HMM=False))


def word_diff(old: str, new: str) -> list[tuple[str, str]]:
    """[(op, text)]: op is '=' (same), '-' (only in the old text) or '+' (only in the new text), in reading order."""
    a, b = words(old), words(new)
    out: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            out.append(("=", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            out.append(("-", "".join(a[i1:i2])))
        if j2 > j1:
            out.append(("+", "".join(b[j1:j2])))
    return out


def render_word_diff(ops: list[tuple[str, str]]) -> str:
    """Plain text with [-removed-] and {+added+} marks (the notation of `git diff --word-diff`)."""
    return "".join(t if op == "=" else f"[-{t}-]" if op == "-" else f"{{+{t}+}}" for op, t in ops)
