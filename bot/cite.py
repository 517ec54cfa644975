"""Citation markers: every [n] in an answer points to a listed citation, and every citation is used."""

from __future__ import annotations

import re

from indexer.errors import RegwatchError

from .types import Answer

MARKER = re.compile(r"\[(\d{1,3})\]")


class CitationError(RegwatchError):
    """An answer cites something it does not list, or lists something it does not cite."""


def markers(text: str) -> list[int]:
    """The [n] numbers in `text`, in order of appearance (repeats kept), outside quoted passage text: a quote that
    itself contains "[5]" (a footnote in a standard) is the source's words, not a citation."""
    return [int(m) for line in text.splitlines() for m in MARKER.findall(_unquoted(line))]


def _unquoted(line: str) -> str:
    # An answer line quotes one passage: from its first “ to its last ” (a Chinese quote nests “” of its own).
    a, b = line.find("“"), line.rfind("”")
    return line[:a] + line[b + 1 :] if 0 <= a < b else line


def problems(answer: Answer) -> list[str]:
    """What is wrong with an answer's citations; empty when every [n] resolves and every citation is used."""
    listed = [c.n for c in answer.citations]
    out: list[str] = []
    if len(set(listed)) != len(listed):
        out.append(f"duplicate citation numbers {listed}")
    if listed != list(range(1, len(listed) + 1)):
        out.append(f"citations are not numbered 1..{len(listed)}: {listed}")
    used = set(markers(answer.answer))
    for n in sorted(used - set(listed)):
        out.append(f"[{n}] points to no listed citation")
    if not answer.abstained:  # an abstention lists the closest passages without citing them
        for n in sorted(set(listed) - used):
            out.append(f"citation [{n}] is listed but never cited")
    return out


def check(answer: Answer) -> Answer:
    """The answer itself, or CitationError naming every broken reference."""
    found = problems(answer)
    if found:
        raise CitationError("the answer's citations do not resolve: " + "; ".join(found))
    return answer
