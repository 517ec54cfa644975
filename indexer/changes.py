"""What changed between two versions of a document: kind, an English summary, the articles touched, a diff.

Articles are aligned by their text, not their numbers, so inserting Article 5 reads as "Article 5 added" and not
as every later article changed. A status change (draft -> in force, -> repealed) is reported as `status_change`
unless the text also changed a lot (a quarter or more of the articles added, removed or rewritten): then the kind
is `amendment` and the summary still opens with the status change, because a subscriber watching a draft wants
to read both facts in one alert.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

from .models import DocMeta, Passage

CHANGE_KINDS = (
    "new_draft", "new_standard", "new_regulation", "amendment", "status_change",
    "commentary", "minor_edit", "new_document", "removed",
)  # fmt: skip
MAX_DIFF_CHARS = 20_000
MATCH_THRESHOLD = 0.5  # bigram similarity above which two articles are "the same article, edited"
SAME_NUMBER_THRESHOLD = 0.2  # lower bar when the edited block keeps the article numbers
BIG_CHANGE_SHARE = 0.25
_MAX_ALIGN_CELLS = 250_000  # beyond this a rewritten block is paired by number only (keeps the pipeline fast)
_MIN_UNITS_FOR_BOILERPLATE = 6
_NON_NORMATIVE = ("commentary", "news")
_LABEL = re.compile(r"^\s*(?:article\s+[\dIVXLC]+|第[〇零一二三四五六七八九十百千两\d]+条)[\s:：.、]*", re.I)
_SENTENCE_END = re.compile(r"(?<=[。；;！？])|(?<=[.!?])\s+")


@dataclass
class ChangeInfo:
    kind: str  # one of CHANGE_KINDS
    summary: str
    changed_sections: dict[str, list[str]] = field(default_factory=lambda: {"added": [], "removed": [], "changed": []})
    diff: str = ""


@dataclass
class _Unit:
    label: str
    number: int | None
    article: bool
    text: str
    norm: str = ""
    grams: frozenset[str] = frozenset()


def describe_change(
    old_meta: DocMeta | None, old_passages: list[Passage] | None, new_meta: DocMeta, new_passages: list[Passage]
) -> ChangeInfo | None:
    """The change from the old version to the new one; None when nothing a reader would care about changed."""
    if old_meta is None:
        return _new_document(new_meta)
    old_units, new_units = _comparable(old_passages or [], new_passages)
    pairs, added, removed = _align(old_units, new_units)
    changed = [(o, n) for o, n in pairs if o.norm != n.norm]
    minor = [(o, n) for o, n in pairs if o.norm == n.norm and _squash(o.text) != _squash(n.text)]
    renumbered = sum(1 for o, n in pairs if o.article and n.article and o.number != n.number)
    status_moved = old_meta.status != new_meta.status
    touched = len(changed) + len(added) + len(removed)

    sentences = []
    if status_moved:
        sentences.append(f"Status changed from {_human(old_meta.status)} to {_human(new_meta.status)}.")
    if touched or renumbered:
        sentences.append(_amendment_sentence(changed, added, removed, renumbered))
    elif minor and not status_moved:
        sentences.append(f"Minor edits only (punctuation, spacing or full-width forms) in {_names([n for _, n in minor])}.")

    if status_moved:
        big = touched >= max(1.0, BIG_CHANGE_SHARE * max(len(old_units), len(new_units)))
        kind = "amendment" if big else "status_change"
    elif touched or renumbered:
        kind = "commentary" if new_meta.doc_type in _NON_NORMATIVE else "amendment"
    elif minor:
        kind = "minor_edit"
    else:
        return None  # only metadata such as a feed's publication date moved

    shown = changed if kind != "minor_edit" else minor
    sections = {
        "added": [u.label for u in added],
        "removed": [u.label for u in removed],
        "changed": [n.label for _, n in shown],
    }
    return ChangeInfo(kind, " ".join(sentences), sections, _diff(shown, added, removed))


def _new_document(meta: DocMeta) -> ChangeInfo:
    title = meta.title.strip()
    if meta.status == "draft" or meta.doc_type == "draft":
        due = f"; comments due {meta.comment_deadline}" if meta.comment_deadline else ""
        number = f" ({meta.standard_number})" if meta.standard_number else ""
        return ChangeInfo("new_draft", f"New draft for comment{number}: {title}{due}.")
    if meta.doc_type == "standard":
        number = f" {meta.standard_number}" if meta.standard_number else ""
        return ChangeInfo("new_standard", f"New standard{number}: {title}.")
    if meta.doc_type in ("law", "regulation"):
        effective = f", effective {meta.effective}" if meta.effective else ""
        return ChangeInfo("new_regulation", f"New {meta.doc_type}: {title}{effective}.")
    if meta.doc_type in _NON_NORMATIVE:
        by = f" by {meta.issuer}" if meta.issuer else ""
        return ChangeInfo("commentary", f"New {meta.doc_type}{by}: {title}.")
    return ChangeInfo("new_document", f"New {meta.doc_type}: {title}.")


def _comparable(old: list[Passage], new: list[Passage]) -> tuple[list[_Unit], list[_Unit]]:
    """Whole articles when the document has them (preamble and headings aside), else every section."""
    old_units, new_units = _units(old), _units(new)
    if any(u.article for u in (*old_units, *new_units)):
        old_units = [u for u in old_units if u.article]
        new_units = [u for u in new_units if u.article]
    everyone = (*old_units, *new_units)
    for u in everyone:
        u.norm = _normalise(_LABEL.sub("", u.text, count=1) if u.article else u.text)
        u.grams = frozenset(u.norm[i : i + 2] for i in range(max(1, len(u.norm) - 1)))
    if len(everyone) >= _MIN_UNITS_FOR_BOILERPLATE:
        # Bigrams found in most articles ("a personal information processor shall", 个人信息处理者应当) are the
        # law's boilerplate: left in, they make unrelated articles look alike.
        df = Counter(g for u in everyone for g in u.grams)
        common = {g for g, n in df.items() if n > len(everyone) / 2}
        for u in everyone:
            u.grams = (u.grams - common) or u.grams
    return old_units, new_units


def _units(passages: list[Passage]) -> list[_Unit]:
    """Long articles come split in parts with overlapping edges; join them back, dropping the overlap."""
    units: list[_Unit] = []
    last: tuple[str, str | int | None, int] | None = None
    for p in sorted(passages, key=lambda p: p.ordinal):
        ident = (p.section_kind, p.section_number if p.section_number is not None else p.section, p.occurrence)
        if p.part > 1 and units and ident == last:
            units[-1].text = _join(units[-1].text, p.text)
            continue
        units.append(_Unit(p.section, p.section_number, p.section_kind == "article", p.text))
        last = ident
    return units


def _join(head: str, tail: str) -> str:
    for n in range(min(len(head), len(tail), 1000), 0, -1):
        if head.endswith(tail[:n]):
            return head + tail[n:]
    return f"{head} {tail}"


def _normalise(text: str) -> str:
    """Case, width, whitespace and punctuation folded away: what is left is the wording."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in text if not ch.isspace() and not unicodedata.category(ch).startswith("P"))


def _squash(text: str) -> str:
    return " ".join(text.split())


def _align(old: list[_Unit], new: list[_Unit]) -> tuple[list[tuple[_Unit, _Unit]], list[_Unit], list[_Unit]]:
    """(matched pairs, added, removed): identical runs first, then the best order-keeping pairing in between."""
    pairs: list[tuple[_Unit, _Unit]] = []
    added: list[_Unit] = []
    removed: list[_Unit] = []
    matcher = difflib.SequenceMatcher(None, [u.norm for u in old], [u.norm for u in new], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            pairs.extend(zip(old[i1:i2], new[j1:j2], strict=True))
            continue
        got = _pair_block(old[i1:i2], new[j1:j2])
        pairs.extend(got)
        matched_old, matched_new = {id(o) for o, _ in got}, {id(n) for _, n in got}
        removed.extend(u for u in old[i1:i2] if id(u) not in matched_old)
        added.extend(u for u in new[j1:j2] if id(u) not in matched_new)
    order = {id(u): i for i, u in enumerate(new)}
    pairs.sort(key=lambda p: order[id(p[1])])
    return pairs, added, removed


def _pair_block(old: list[_Unit], new: list[_Unit]) -> list[tuple[_Unit, _Unit]]:
    """Order-preserving pairing that maximises total similarity (a small LCS-style dynamic programme)."""
    if not old or not new:
        return []
    if len(old) == len(new) and all(
        o.article and n.article and o.number == n.number and _similarity(o, n) >= SAME_NUMBER_THRESHOLD
        for o, n in zip(old, new, strict=True)
    ):
        # The same article numbers, reworded in place: an edit, even when the shared wording is all boilerplate.
        return list(zip(old, new, strict=True))
    if len(old) * len(new) > _MAX_ALIGN_CELLS:
        by_number = {u.number: u for u in new if u.number is not None}
        return [(o, by_number[o.number]) for o in old if o.number in by_number]
    n, m = len(old), len(new)
    best = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            skip = max(best[i + 1][j], best[i][j + 1])
            s = _similarity(old[i], new[j])
            best[i][j] = max(skip, best[i + 1][j + 1] + s) if s >= MATCH_THRESHOLD else skip
    out, i, j = [], 0, 0
    while i < n and j < m:
        s = _similarity(old[i], new[j])
        if s >= MATCH_THRESHOLD and best[i][j] == best[i + 1][j + 1] + s:
            out.append((old[i], new[j]))
            i, j = i + 1, j + 1
        elif best[i + 1][j] >= best[i][j + 1]:
            i += 1
        else:
            j += 1
    return out


def _similarity(a: _Unit, b: _Unit) -> float:
    # Dice over character bigrams: linear time, order-blind enough to survive reworded clauses, and it works for
    # Chinese (no word boundaries) as well as English. SequenceMatcher.ratio is quadratic on long articles.
    if not a.grams or not b.grams:
        return 1.0 if a.norm == b.norm else 0.0
    return 2 * len(a.grams & b.grams) / (len(a.grams) + len(b.grams))


def _amendment_sentence(changed: list[tuple[_Unit, _Unit]], added: list[_Unit], removed: list[_Unit],
                        renumbered: int) -> str:
    clauses = []
    if changed:
        clauses.append(f"{_names([n for _, n in changed])} changed")
    if added:
        clauses.append(f"{_names(added)} added")
    if removed:
        former = "former " if renumbered else ""  # removed articles carry the old numbering
        clauses.append(f"{former}{_names(removed)} removed")
    text = "Amended: " + "; ".join(clauses) + "." if clauses else "Amended: no wording changed."
    if renumbered:
        text += f" {renumbered} article{'s' if renumbered > 1 else ''} renumbered."
    return text


def _names(units: list[_Unit], limit: int = 8) -> str:
    """'Articles 12, 38', 'Article 40', or the sections' own labels for documents without articles."""
    shown, more = units[:limit], len(units) - limit
    tail = f" and {more} more" if more > 0 else ""
    if all(u.article and u.number is not None for u in units):
        word = "Article" if len(units) == 1 else "Articles"
        return f"{word} {', '.join(str(u.number) for u in shown)}{tail}"
    word = "section" if len(units) == 1 else "sections"
    return f"{len(units)} {word} ({', '.join(u.label for u in shown)}{tail})"


def _human(status: str) -> str:
    return status.replace("_", " ")


def _diff(changed: list[tuple[_Unit, _Unit]], added: list[_Unit], removed: list[_Unit]) -> str:
    chunks: list[str] = []
    items = [(o, n) for o, n in changed] + [(None, n) for n in added] + [(o, None) for o in removed]
    for o, n in items:
        lines = difflib.unified_diff(
            _lines(o.text if o else ""), _lines(n.text if n else ""),
            f"a/{o.label}" if o else "/dev/null", f"b/{n.label}" if n else "/dev/null", lineterm="",
        )
        chunks.append("\n".join(lines))
    text = "\n".join(c for c in chunks if c)
    if len(text) > MAX_DIFF_CHARS:
        text = text[:MAX_DIFF_CHARS].rsplit("\n", 1)[0] + "\n… diff truncated …"
    return text


def _lines(text: str) -> list[str]:
    # One line per sentence: a Chinese article is often one long line, and a sentence diff is what a reader wants.
    return [s.strip() for line in text.splitlines() for s in _SENTENCE_END.split(line) if s.strip()]
