"""Citation markers: every [n] in an answer points to a listed citation, and every citation is used."""

from __future__ import annotations

import re

from indexer.errors import RegwatchError

from .types import Answer, Citation

MARKER = re.compile(r"\[(\d{1,3})\]")


class CitationError(RegwatchError):
    """An answer cites something it does not list, or lists something it does not cite."""


def markers(text: str) -> list[int]:
    """The [n] numbers in `text`, in order of appearance (repeats kept)."""
    return [int(m) for m in MARKER.findall(text)]


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


def renumber(text: str, citations: list[Citation]) -> tuple[str, list[Citation]]:
    """Number citations 1..n in order of first use and drop the unused ones; markers are rewritten to match."""
    order: list[int] = []
    for n in markers(text):
        if n not in order:
            order.append(n)
    by_n = {c.n: c for c in citations}
    order = [n for n in order if n in by_n]
    new_n = {old: i + 1 for i, old in enumerate(order)}
    text = MARKER.sub(lambda m: f"[{new_n[int(m[1])]}]" if int(m[1]) in new_n else m[0], text)
    out = []
    for old in order:
        c = by_n[old]
        c.n = new_n[old]
        out.append(c)
    return text, out
