"""What an answer quotes: whole units that keep the sense, the ones that answer what was asked.

A passage's lines are its paragraphs and items (indexer/reflow.py joins hard-wrapped lines; indexer/structure.py
keeps an article's paragraphs and items one a line, and repeats a list's lead-in in every part of a long article).
A quote unit is a paragraph, whole, or a lead-in with the items that answer: never part of a paragraph, never an item
without its lead-in, never a heading or a label alone. Units are ranked by the question: the share of its concepts
they say, and whether they state the kind of fact asked for (an amount, a period, a threshold, a date). An omission
is shown by an ellipsis, every time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from indexer.glossary import is_cjk
from indexer.numerals import zh_to_int
from indexer.structure import LEAD_IN_END, LIST_ITEM

from .evidence import Concept, clean

ELLIPSIS = "…"
MAX_ITEMS = 8  # items of one list quoted when its lead-in is what answers (a list of conditions asked as a whole)
ITEM_SHARE = 0.7  # an item is quoted beside the best one when it scores at least this share of it
SECOND_SHARE = 0.8  # a second unit of the same passage is quoted when it scores this share of the best one
FACT_BONUS = 0.35  # a unit that states the kind of fact asked for: the answer, not a restatement of the question
TITLE_SHARE = 0.3  # what a question word that is in the document's title counts for in picking its lines
MAX_BONUS = 0.25  # for a question about a maximum: the unit with the largest amount

_HEADING_MARK = re.compile(r"^\s*#{1,6}\s")
# A lead-in whose items are alternatives ('one of the following conditions'): quoted with all of them.
_ALTERNATIVES = re.compile(r"\b(?:one|any) of the following\b|之一", re.I)
_CAPS_LABEL = re.compile(r"^[A-Z][A-Z0-9 &/,'()\-]{1,60}$")

# The kind of fact a question asks for, and what states one.
_ASKS = {
    "amount": re.compile(r"\b(?:fines?|fined|penalt\w*|how much|amount|rmb|yuan|turnover|sanction\w*)\b|罚款|罚|多少钱|金额|"
                         r"万元|营业额|处罚", re.I),
    "period": re.compile(r"\b(?:how long|period|within|days?|months?|years?|deadline|retain\w*|kept|keep|valid\w*|"
                         r"expire\w*|how soon|how often|time limit)\b|多久|期限|几年|多少天|有效期|保存|日内|时限|多长时间|"
                         r"几天|届满|每年|定期", re.I),
    "threshold": re.compile(r"\b(?:how many|threshold\w*|more than|number of|volume|at least|exceed\w*|"
                            r"cumulative\w*|individuals)\b|多少|门槛|以上|超过|累计|数量|万人|不满", re.I),
    "date": re.compile(r"\b(?:when|what date|effective|in force|take effect|comes? into|deadline|due|closed?|"
                       r"published|issued)\b|何时|哪天|生效|施行|日期|截止|什么时候|哪一天|发布", re.I),
}
_MAXIMUM = re.compile(r"\b(?:max(?:imum)?|highest|largest|most|up to|biggest|cap)\b|最高|最多|上限|最大", re.I)
_EN_NUMBER = r"(?:\d[\d,.]*|one|two|three|four|five|six|seven|eight|nine|ten|twenty|thirty|fifty|hundred)"
_STATES = {
    "amount": re.compile(rf"\bRMB\b|\byuan\b|元|{_EN_NUMBER}\s*(?:percent|%)|百分之|%", re.I),
    "period": re.compile(rf"\b{_EN_NUMBER}(?:\s+|-)(?:working\s+|business\s+)?(?:days?|months?|years?|hours?)\b|"
                         r"[0-9一二三四五六七八九十两]+(?:个)?(?:工作日|日|天|个月|年|小时)", re.I),
    "threshold": re.compile(rf"\b{_EN_NUMBER}\s*(?:million|thousand|hundred thousand|individuals|persons|people)\b|"
                            r"\b(?:more|less|fewer) than\b|\bat least\b|万人|万|以上|以下|不满|超过", re.I),
    "date": re.compile(r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}\s+[A-Z][a-z]{2,8}\.?\s+\d{4}\b|\b[A-Z][a-z]{2,8}\.?\s+\d{1,2},?"
                       r"\s+\d{4}\b|\d{4}年\d{1,2}月(?:\d{1,2}日)?", re.I),
}
_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
          "ten": 10, "twenty": 20, "thirty": 30, "fifty": 50, "hundred": 100}
_SCALE = {"thousand": 1e3, "million": 1e6, "billion": 1e9}
_EN_AMOUNT = re.compile(r"RMB\s*([\d,.]+|[a-z]+)\s*(thousand|million|billion)?", re.I)
_ZH_AMOUNT = re.compile(r"([0-9零〇一二三四五六七八九十百千万亿两]+)元")


def asked_facts(question: str) -> set[str]:
    """The kinds of fact the question asks for: amount, period, threshold, date."""
    return {kind for kind, rx in _ASKS.items() if rx.search(question)}


def stated_facts(text: str) -> set[str]:
    return {kind for kind, rx in _STATES.items() if rx.search(text)}


def largest_amount(text: str) -> float:
    """The largest sum of money the text names, in yuan (0 when none): 'RMB 50 million' / '五千万元'."""
    best = 0.0
    for m in _EN_AMOUNT.finditer(text):
        raw = m.group(1).replace(",", "").lower()
        try:
            n = float(raw) if raw[:1].isdigit() else float(_WORDS.get(raw, 0))
        except ValueError:
            continue
        best = max(best, n * _SCALE.get((m.group(2) or "").lower(), 1.0))
    for m in _ZH_AMOUNT.finditer(text):
        amount: float | int | None = zh_to_int(m.group(1)) if not m.group(1).isdigit() else int(m.group(1))
        best = max(best, float(amount or 0))
    return best


def is_heading(line: str) -> bool:
    """A heading or a label that says what follows without saying anything: '## 3. Scope', 'FACTS',
    'SUMMARY (own words)', a question, a short line without a full stop."""
    t = line.strip()
    if not t:
        return True
    if _HEADING_MARK.match(t) or t.endswith(("?", "？")):
        return True
    if _CAPS_LABEL.match(t) and len(t.split()) <= 6:
        return True
    if LIST_ITEM.match(t):
        return False  # '- Comment deadline: 15 Oct 2023' is short, and a fact
    if is_cjk(t):
        # a title line ('促进和规范数据跨境流动规定', '国家互联网信息办公室令') has no clause punctuation
        return len(t) <= 24 and not re.search(r"[。；：:，,]", t)
    return len(t.split()) <= 6 and not t.endswith((".", ";", ":", "。")) and not re.search(r"\d", t)


@dataclass
class Unit:
    """Lines of a passage quoted together: `lines` are indices into the passage's lines, in order; `lead` is the
    lead-in of a list (always among `lines` when any item is)."""

    lines: list[int]
    score: float
    lead: int | None = None


@dataclass
class Pick:
    """What to quote from one passage: its lines and the units picked, best first."""

    lines: list[str]
    units: list[Unit]
    before: bool = False  # the passage is a later part of an article: its text starts after an omission
    after: bool = False  # an earlier part: more of the article follows

    @property
    def best(self) -> float:
        return self.units[0].score if self.units else 0.0

    @property
    def indices(self) -> list[int]:
        return sorted({i for u in self.units for i in u.lines})

    def text(self, *, lead_only: bool = False, sep: str | None = None) -> str:
        """The quote: the picked lines in passage order, '…' wherever text is left out (before, between, after).
        `lead_only`: the best unit alone (the answer's lead)."""
        idx = sorted(self.units[0].lines) if lead_only else self.indices
        if not idx:
            return ""
        parts: list[str] = []
        if self.before or (idx[0] > 0 and not _only_headings(self.lines[: idx[0]])):
            parts.append(ELLIPSIS)
        for n, i in enumerate(idx):
            if n and i != idx[n - 1] + 1:
                parts.append(ELLIPSIS)
            parts.append(self.lines[i])
        if self.after or idx[-1] < len(self.lines) - 1:
            parts.append(ELLIPSIS)
        if sep is not None:
            return sep.join(parts)
        return join_parts(parts)


def _wide(ch: str) -> bool:
    """Chinese characters and full-width punctuation: written without spaces between them."""
    return is_cjk(ch) or "\u3000" <= ch <= "\u303f" or "\uff00" <= ch <= "\uffef"


def join_parts(parts: Sequence[str]) -> str:
    """Lines and ellipses on one line: no space between Chinese text (nor around an ellipsis beside it), a space
    between anything else."""
    out = ""
    for part in parts:
        if out:
            a = out[-1] if out[-1] != ELLIPSIS or len(out) < 2 else out[-2]
            b = part[0] if part[0] != ELLIPSIS or len(part) < 2 else part[1]
            out += "" if _wide(a) and _wide(b) or (ELLIPSIS in (out[-1], part[0]) and (_wide(a) or _wide(b))) \
                else " "
        out += part
    return out


def _only_headings(lines: Sequence[str]) -> bool:
    # A section's own heading line before the quote is its locator, not an omission worth an ellipsis.
    return all(is_heading(x) for x in lines)


def lines_of(text: str) -> list[str]:
    return [x.strip() for x in clean(text).split("\n") if x.strip()]


def pick(text: str, question: str, concepts: list[Concept], tokens: Callable[[str], frozenset[str]], *,
         top_amount: float | None = None, known: frozenset[str] = frozenset()) -> Pick:
    """The units of `text` that answer `question`, best first. `tokens(line)` gives a line's tokens as evidence
    reads them (with a Chinese line's English gloss for an English question). `top_amount`: the largest amount of
    the whole article when `text` is one part of it. `known`: the tokens of the document's title: a question's
    words that name the document ('the quantum gateway filing draft') say which document, not which line answers."""
    lines = lines_of(text)
    if not lines:
        return Pick(lines, [])
    weights = [c.weight * (TITLE_SHARE if known and c.covered_by(known) else 1.0) for c in concepts]
    total = sum(weights) or 1.0
    asked = asked_facts(question)
    maximum = bool(_MAXIMUM.search(question)) and "amount" in asked
    amounts = [largest_amount(x) for x in lines] if maximum else []
    top_amount = top_amount if top_amount is not None else max(amounts, default=0.0)

    def score(i: int) -> float:
        toks = tokens(lines[i])
        s = sum(w for c, w in zip(concepts, weights, strict=True) if c.covered_by(toks)) / total
        if asked & stated_facts(lines[i]):
            s += FACT_BONUS
        if maximum and top_amount > 0 and amounts[i] == top_amount:
            s += MAX_BONUS
        return s - 0.001 * i  # ties: the earlier line

    scores = [score(i) for i in range(len(lines))]
    heading = [is_heading(x) for x in lines]
    # The structure: for each line, the lead-in it belongs to (items of a list, and the lead-in itself).
    lead_of: list[int | None] = [None] * len(lines)
    current: int | None = None
    for i, x in enumerate(lines):
        if current is not None and LIST_ITEM.match(x):
            lead_of[i] = current
            continue
        current = i if x.endswith(LEAD_IN_END) and i + 1 < len(lines) and LIST_ITEM.match(lines[i + 1]) else None
        lead_of[i] = current
    items_of: dict[int, list[int]] = {}
    for i, lead in enumerate(lead_of):
        if lead is not None and lead != i:
            items_of.setdefault(lead, []).append(i)

    def unit_at(i: int) -> Unit:
        lead = lead_of[i]
        if lead is None:
            return Unit([i], scores[i])
        items = items_of.get(lead, [])
        if i == lead:  # the lead-in answers: the list as a whole
            shown = items[:MAX_ITEMS]
            return Unit([lead, *shown], max(scores[lead], max((scores[j] for j in shown), default=0.0)), lead)
        if _ALTERNATIVES.search(lines[lead]) and len(items) <= MAX_ITEMS:
            # 'if one of the following conditions is met': each item is an alternative to the others, and 'can we
            # do it without the assessment?' is answered by the other items as much as by the one that names it.
            return Unit([lead, *items], max(scores[i], scores[lead]), lead)
        # An item answers: the lead-in, that item, and the items that answer as well as it does.
        best = scores[i]
        chosen = [j for j in items if j == i or (best > 0 and scores[j] >= ITEM_SHARE * best)]
        return Unit([lead, *chosen[:MAX_ITEMS]], max(best, scores[lead]), lead)

    eligible = [i for i in range(len(lines)) if not heading[i]]
    if not eligible:
        return Pick(lines, [])  # headings and labels alone are never quoted
    order = sorted(eligible, key=lambda i: -scores[i])
    first = unit_at(order[0])
    units = [first]
    for i in order[1:]:
        if scores[i] < SECOND_SHARE * first.score or scores[i] <= 0:
            break
        if i in first.lines or (lead_of[i] is not None and lead_of[i] == first.lead):
            continue
        # A second unit of the same passage only when it states the kind of fact asked (a paragraph's amount
        # beside the paragraph that names its case), else it only repeats the question's words.
        if asked and asked & stated_facts(lines[i]):
            units.append(unit_at(i))
        break
    return Pick(lines, units)
