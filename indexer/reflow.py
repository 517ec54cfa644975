"""Hard-wrapped lines joined into the paragraphs they were cut from (Markdown, plain text, PDF).

Text editors and PDF text layers break a paragraph every 80-120 characters. Read line by line, such a paragraph
gives quotes that start mid-sentence ("7 of the Interim Measures…"). A line is joined to the next only when it is
plainly a wrapped line: it does not end a sentence or introduce a list, it is about as long as the longest line of
its block, and neither it nor the next line is structure (a heading, an article or chapter heading, a list item,
a table row, a quote, a code fence). Chinese lines are joined without a space.

Whitespace-only edits: `content_hash` ignores whitespace, so a re-indexed file is not a new version.
"""

from __future__ import annotations

import re

from .glossary import is_cjk

# A line that ends here ends a sentence, a clause or a lead-in: what follows starts on its own line.
_ENDS = ("。", "！", "？", "；", "：", ".", "!", "?", ";", ":", "”", "」", "）") + (")",)
_STRUCTURE = re.compile(
    r"""^\s*(?:
        \#{1,6}\s | [|>] | ```| ~~~ | [-*+•·]\s | \d{1,3}[.)、]\s? | [(（][0-9０-９a-zA-Z一二三四五六七八九十百]{1,4}[)）]
        | [一二三四五六七八九十百]+、 | [a-zA-Z][.)]\s | [ivxIVX]{1,5}[.)]\s
        | (?:\*\*)?Article\s+\d | (?:\*\*)?第[0-9一二三四五六七八九十百千零〇]+[条章节编]
        | (?:Part|Chapter|Section|Annex|Appendix)\s+\S | 附件 | 附录 | ---+\s*$ | ===+\s*$
    )""", re.VERBOSE | re.IGNORECASE)
_CAPS_LABEL = re.compile(r"^[A-Z][A-Z0-9 &/,'()\-]{1,60}$")  # FACTS, SUMMARY (OWN WORDS), SOURCES CONSULTED
# How long a line must be, against its block's longest, to count as wrapped rather than a short line on purpose
# (a title above its date line, a label above a paragraph).
_WRAP_SHARE = 0.6
_MIN_WRAPPED = {True: 16, False: 40}  # characters, for CJK and other lines


def _is_structure(line: str) -> bool:
    s = line.strip()
    return bool(_STRUCTURE.match(s)) or bool(_CAPS_LABEL.match(s) and len(s.split()) <= 6)


def _wrapped(line: str, nxt: str, longest: int) -> bool:
    s = line.rstrip()
    if not s or not nxt.strip() or _is_structure(nxt):
        return False
    if s.endswith(_ENDS) and not (s.endswith((".", ")")) and nxt.lstrip()[:1].islower()):
        return False  # "… (e.g." / "… Art." followed by a lower-case word is still one sentence
    cjk = is_cjk(s[-1])
    return len(s) >= _MIN_WRAPPED[cjk] and len(s) >= _WRAP_SHARE * longest


def join_wrapped_lines(text: str) -> str:
    """`text` with hard-wrapped lines joined; blank lines, structure lines and short lines stay as they are."""
    lines = text.split("\n")
    longest = [0] * len(lines)  # per line, the longest line of its block (consecutive non-blank lines)
    i = 0
    while i < len(lines):
        j = i
        while j < len(lines) and lines[j].strip():
            j += 1
        width = max((len(x.rstrip()) for x in lines[i:j]), default=0)
        for n in range(i, j):
            longest[n] = width
        i = max(j, i + 1)
    out: list[str] = []
    joinable = False  # whether out[-1] may be continued
    in_code = False
    for n, line in enumerate(lines):
        fence = line.lstrip().startswith(("```", "~~~"))
        # Whether the line before was wrapped is judged on that physical line, not on what it was joined into.
        if joinable and not in_code and not fence and _wrapped(lines[n - 1], line, longest[n - 1]):
            out[-1] = _join(out[-1], line)
            continue
        out.append(line)
        if fence:
            in_code = not in_code
        joinable = bool(line.strip()) and not in_code and not fence and not _is_structure_start(line)
    return "\n".join(out)


def _is_structure_start(line: str) -> bool:
    """Lines that are never continued: headings, table rows, fences, labels. (List items and articles are: their
    wrapped continuation lines belong to them.)"""
    s = line.strip()
    if re.match(r"^(?:#{1,6}\s|[|]|```|~~~|---+\s*$)", s):
        return True
    return bool(_CAPS_LABEL.match(s) and len(s.split()) <= 6)


def _join(a: str, b: str) -> str:
    a, b = a.rstrip(), b.lstrip()
    if a.endswith("-") and len(a) > 1 and a[-2].isalpha() and b[:1].islower():
        return a + b  # a word hyphenated at the line end ("trans-\nfer" in PDFs) is one word again
    if is_cjk(a[-1]) and is_cjk(b[0]):
        return a + b
    return f"{a} {b}"
