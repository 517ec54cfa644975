"""Chinese and Roman numerals to integers (第二十九条 -> 29, Chapter IV -> 4) and back."""

from __future__ import annotations

_DIGITS = {"零": 0, "〇": 0, "○": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
ZH_NUMERAL_CHARS = "零〇○一二两三四五六七八九十百千万"


def zh_to_int(s: str) -> int | None:
    """'二十九' -> 29, '一百零三' -> 103, '十' -> 10; also plain ASCII/full-width digits. None if not a numeral."""
    s = s.strip()
    if not s:
        return None
    if s.isdigit():
        return int(s)  # int() accepts full-width digits too
    total, section, number = 0, 0, 0
    for ch in s:
        if ch in _DIGITS:
            number = _DIGITS[ch]
        elif ch in _UNITS:
            unit = _UNITS[ch]
            if unit == 10000:
                total += (section + number) * unit
                section, number = 0, 0
            else:
                # "十二" starts with a bare 十: an implicit 一.
                section += (number or 1) * unit
                number = 0
        else:
            return None
    return total + section + number


def int_to_zh(n: int) -> str:
    """29 -> '二十九', 10 -> '十', 103 -> '一百零三' (the form used in article headings)."""
    if n < 0:
        raise ValueError(n)
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    if n < 20:
        return "十" + (digits[n % 10] if n % 10 else "")
    out = ""
    parts = [(1000, "千"), (100, "百"), (10, "十")]
    rest = n
    zero_pending = False
    for value, name in parts:
        d, rest = divmod(rest, value)
        if d:
            if zero_pending:
                out += "零"
                zero_pending = False
            out += digits[d] + name
        elif out:
            zero_pending = True
    if rest:
        if zero_pending:
            out += "零"
        out += digits[rest]
    return out


_ROMAN = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}


def roman_to_int(s: str) -> int | None:
    s = s.upper()
    if not s or any(c not in _ROMAN for c in s):
        return None
    total = 0
    for i, c in enumerate(s):
        v = _ROMAN[c]
        total += -v if i + 1 < len(s) and _ROMAN[s[i + 1]] > v else v
    return total
