"""The EN<->ZH term map: finds glossary terms in a question and renders them in the other language."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from .tokenize import CJK, language_of, tokenize


def is_cjk(text: str) -> bool:
    return bool(CJK.search(text))


def question_language(text: str) -> str:
    """'zh' when CJK characters make up at least a quarter of the letters: one CJK character carries about three
    Latin letters of meaning, and a question is short, so a few Chinese words in it decide."""
    return language_of(text, 0.25)


@dataclass(frozen=True)
class TermGroup:
    """One concept: its English and Chinese forms."""

    en: tuple[str, ...]
    zh: tuple[str, ...]


@dataclass
class Expansion:
    """What the glossary found in a question and what it adds."""

    matched: list[TermGroup] = field(default_factory=list)
    en_terms: list[str] = field(default_factory=list)  # every EN form of the matched groups
    zh_terms: list[str] = field(default_factory=list)

    def other_language(self, lang: str) -> list[str]:
        return self.zh_terms if lang == "en" else self.en_terms


class Glossary:
    """Term groups with fast matching: English by stemmed token runs, Chinese by substring."""

    def __init__(self, groups: list[TermGroup]) -> None:
        self.groups = groups
        self._en: list[tuple[tuple[str, ...], int]] = []
        self._zh: list[tuple[str, int]] = []
        # A phrase whose other words are all stopwords ('in advance', 'in writing') is matched as written: by its one
        # stem it would match 'advanced semiconductors'.
        self._en_literal: list[tuple[re.Pattern[str], int]] = []
        for i, g in enumerate(groups):
            for t in g.en:
                toks = tuple(tokenize(t, bigrams=False))
                if len(toks) == 1 and len(t.split()) > 1:
                    self._en_literal.append((re.compile(rf"(?<![a-z0-9]){re.escape(t.lower())}(?![a-z0-9])"), i))
                elif toks:
                    self._en.append((toks, i))
            for t in g.zh:
                if t.strip():
                    self._zh.append((t.strip(), i))
        self._zh.sort(key=lambda x: -len(x[0]))
        # Matched per question: the joined and lower-cased forms are built once here, not on every call.
        self._en_joined = [(" " + " ".join(seq) + " ", i) for seq, i in self._en]
        self._zh_low = [(t.lower(), i) for t, i in self._zh]

    def __len__(self) -> int:
        return len(self.groups)

    @classmethod
    def empty(cls) -> Glossary:
        return cls([])

    def expand(self, text: str) -> Expansion:
        hits: list[int] = []
        toks = tokenize(text, bigrams=False)
        joined = " " + " ".join(toks) + " "
        hits.extend(i for seq, i in self._en_joined if seq in joined)
        low = text.lower()
        hits.extend(i for pattern, i in self._en_literal if pattern.search(low))
        if is_cjk(text):  # ~1,500 substring tests an English question can skip
            hits.extend(i for term, i in self._zh_low if term in low)
        exp = Expansion()
        for i in dict.fromkeys(hits):
            g = self.groups[i]
            exp.matched.append(g)
            exp.en_terms.extend(t for t in g.en if t not in exp.en_terms)
            exp.zh_terms.extend(t for t in g.zh if t not in exp.zh_terms)
        return exp

    def aliases(self, name: str) -> set[str]:
        """Every form (both languages) of the groups that contain `name` exactly (case-insensitive)."""
        key = name.strip().lower()
        out: set[str] = set()
        for g in self.groups:
            forms = [*g.en, *g.zh]
            if any(f.strip().lower() == key for f in forms):
                out.update(forms)
        return out


def _as_tuple(v: Any) -> tuple[str, ...]:
    if v is None:
        return ()
    if isinstance(v, str):
        return (v,)
    return tuple(str(x) for x in v if str(x).strip())


def parse_glossary(data: Any) -> Glossary:
    terms = data.get("terms", []) if isinstance(data, dict) else data or []
    groups = []
    for t in terms:
        if isinstance(t, dict):
            g = TermGroup(en=_as_tuple(t.get("en")), zh=_as_tuple(t.get("zh")))
            if g.en or g.zh:
                groups.append(g)
    return Glossary(groups)


@lru_cache(maxsize=8)
def _load(path: str, mtime: float) -> Glossary:
    import yaml

    with open(path, encoding="utf-8") as fh:
        return parse_glossary(yaml.safe_load(fh))


def load_glossary(path: Path | None) -> Glossary:
    """The glossary at `path`; an empty one when the file is absent (cross-language recall then suffers)."""
    if path is None or not Path(path).is_file():
        return Glossary.empty()
    return _load(str(path), Path(path).stat().st_mtime)
