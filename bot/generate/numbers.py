"""The numbers, dates and amounts a text states, normalised so that '5%' meets '百分之五' and '50 million' '五千万'.

A generated sentence may state only numbers its cited passage states (bot/generate/verify.py). Each number becomes
(kind, value): kind "pct" for a percentage, "num" otherwise; a date is its day, month and year as numbers, so
'1 November 2021' meets '2021年11月1日'.
"""

from __future__ import annotations

import re

from indexer.numerals import zh_to_int

Number = tuple[str, float]

_MONTHS = {m: i + 1 for i, m in enumerate(
    "january february march april may june july august september october november december".split())}
_MONTHS.update({m[:3]: i for m, i in list(_MONTHS.items())})
_MONTHS["sept"] = 9
_SCALE_EN = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "mn": 1e6, "bn": 1e9}
_SCALE_ZH = {"万": 1e4, "亿": 1e8, "千": 1e3, "百": 1e2}
_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
_WORDS.update({"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "ninety": 90, "hundred": 100})
# English number words count only before a unit: 'one of the following' states no number, 'three years' does.
_UNIT_EN = (r"(?:years?|months?|weeks?|days?|working\s+days?|business\s+days?|hours?|times|percent|per\s+cent|"
            r"million|billion|thousand|people|persons|individuals|articles?|categories|copies)")
_ZH_NUM = "零〇○一二两三四五六七八九十百千万亿"
_ZH_UNIT = "年月日天条款项元个人次倍周时名家份"

_DIGIT = r"\d[\d,，]*(?:\.\d+)?"
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("pct_zh", re.compile(rf"百分之([{_ZH_NUM}]+|{_DIGIT})")),
    ("pct", re.compile(rf"({_DIGIT})\s*(?:%|％|percent\b|per\s+cent\b)", re.I)),
    ("scaled_en", re.compile(rf"({_DIGIT})\s*(thousand|million|billion|mn|bn)\b", re.I)),
    ("scaled_zh", re.compile(rf"({_DIGIT})\s*([万亿千百]+)")),
    ("pct_word", re.compile(rf"\b({'|'.join(_WORDS)})\s+(?:percent|per\s+cent)\b", re.I)),
    ("scaled_word", re.compile(rf"\b({'|'.join(_WORDS)})[\s-]+(hundred|thousand|million|billion)\b", re.I)),
    ("word", re.compile(rf"\b({'|'.join(_WORDS)})\s+(?={_UNIT_EN}\b)", re.I)),
    ("month", re.compile(r"\b(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?(?=\s+\d|\s*,\s*\d)"
                         r"|(?<=\d\s)(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\b", re.I)),
    ("zh", re.compile(rf"(第)?([{_ZH_NUM}]+)(?=[{_ZH_UNIT}]|(?<=[万亿]))")),
    ("digits", re.compile(_DIGIT)),
]


def _num(s: str) -> float | None:
    s = s.replace(",", "").replace("，", "")
    try:
        return float(s)
    except ValueError:
        return _zh(s)


def _zh(s: str) -> float | None:
    """'五千万' -> 5e7, '三亿五千万' -> 3.5e8, '二〇二一' -> 2021, '十五' -> 15."""
    if not s:
        return None
    if all(ch in "零〇○一二两三四五六七八九" for ch in s) and len(s) > 1:  # a year written digit by digit
        return float("".join(str(zh_to_int(ch)) for ch in s))
    if "亿" in s:
        hi, _, lo = s.partition("亿")
        a = zh_to_int(hi) if hi else 1
        b = zh_to_int(lo) if lo else 0
        return None if a is None or b is None else float(a * 100_000_000 + b)
    v = zh_to_int(s)
    return None if v is None else float(v)


def numbers(text: str) -> set[Number]:
    """Every number `text` states, normalised (see the module's doc)."""
    out: set[Number] = set()
    taken = [False] * len(text)
    for kind, pat in _PATTERNS:
        for m in pat.finditer(text):
            if any(taken[m.start():m.end()]):
                continue
            value = _value(kind, m)
            if value is None:
                continue
            for i in range(m.start(), m.end()):
                taken[i] = True
            out.add(("pct" if kind.startswith("pct") else "num", round(value, 6)))
    return out


def _value(kind: str, m: re.Match[str]) -> float | None:
    if kind in ("pct", "pct_zh", "digits"):
        return _num(m.group(1) if kind != "digits" else m.group(0))
    if kind == "scaled_en":
        v = _num(m.group(1))
        return None if v is None else v * _SCALE_EN[m.group(2).lower()]
    if kind == "scaled_zh":
        v = _num(m.group(1))
        if v is None:
            return None
        for ch in m.group(2):
            v *= _SCALE_ZH[ch]
        return v
    if kind in ("word", "pct_word"):
        return float(_WORDS[m.group(1).lower()])
    if kind == "scaled_word":
        return _WORDS[m.group(1).lower()] * {"hundred": 100.0, "thousand": 1e3, "million": 1e6,
                                             "billion": 1e9}[m.group(2).lower()]
    if kind == "month":
        return float(_MONTHS[(m.group(1) or m.group(2)).lower().rstrip(".")])
    if kind == "zh":
        run = m.group(2)
        nxt = m.string[m.end():m.end() + 1]
        if run == "一" and not m.group(1) and nxt in "个人次名家份":  # 一个, 一家: 'a', not a figure
            return None
        return _zh(run)
    return None


def unmatched(claimed: set[Number], stated: set[Number]) -> list[Number]:
    """The numbers of `claimed` that `stated` does not hold: a percentage must be one there; a plain number may
    meet either kind ('5' in '5%')."""
    values = {v for _, v in stated}
    pcts = {v for k, v in stated if k == "pct"}
    return sorted(n for n in claimed if (n[1] not in pcts if n[0] == "pct" else n[1] not in values))


def show(n: Number) -> str:
    v = int(n[1]) if float(n[1]).is_integer() else n[1]
    return f"{v}%" if n[0] == "pct" else f"{v:,}" if isinstance(v, int) else str(v)
