"""Lexical tokenisation for both languages: jieba words (search mode) for Chinese, stemmed words for English.

Chinese text is also indexed as character bigrams, so colloquial questions that share no jieba word with the
statute still meet it on two-character overlaps.
"""

from __future__ import annotations

import re
from functools import lru_cache

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LATIN = re.compile(r"[A-Za-z]")
_WORD = re.compile(r"[a-z0-9]+(?:[/\-.][a-z0-9]+)*")
_EN_STOP = frozenset(
    """a an the and or of to in on for by with at from as is are was were be been being this that these those it its
    which who whom whose what when where how do does did shall may can must should would will not no any all such
    other than then there their they them we our us you your i me my he she his her if into under upon within
    about after before between over per via""".split()
)
_ZH_STOP = frozenset("的 了 和 与 及 或 等 在 对 为 是 以 其 之 中 由 按照 依照 根据 应当 可以 有关 相关 进行 我们 我 你 吗 呢 吧 啊 怎么 什么 如何 是否 需要 要".split())


@lru_cache(maxsize=1)
def jieba_tokenizer():  # type: ignore[no-untyped-def]
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def language_of(text: str, zh_share: float) -> str:
    """'zh' when CJK characters are at least `zh_share` of the letters (CJK + Latin), else 'en'."""
    cjk = len(CJK.findall(text))
    latin = len(_LATIN.findall(text))
    return "zh" if cjk and cjk >= zh_share * (cjk + latin) else "en"


# Bump when tokens change: the lexical index records the version it was built with and is rebuilt from the ledger
# when it differs (indexer/lexical.py), since query and index tokens must agree.
TOKENIZER_VERSION = "2-snowball"


@lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    import snowballstemmer

    return snowballstemmer.stemmer("english")


@lru_cache(maxsize=200_000)
def _stem(w: str) -> str:
    # Snowball (Porter 2): "fined"/"fines" meet "fine", "transferred" meets "transfers". Codes such as "gb/t" or
    # "43697-2024" are left as they are.
    return _stemmer().stemWord(w) if w.isalpha() else w


def tokenize(text: str, *, bigrams: bool = True) -> list[str]:
    """Tokens for indexing and querying. Order is kept; duplicates are kept (term frequency matters)."""
    out: list[str] = []
    lower = text.lower()
    pos = 0
    for m in CJK_RUN.finditer(lower):
        _latin(lower[pos : m.start()], out)
        _chinese(m.group(), out, bigrams)
        pos = m.end()
    _latin(lower[pos:], out)
    return out


def _latin(s: str, out: list[str]) -> None:
    for w in _WORD.findall(s):
        if w in _EN_STOP or (len(w) == 1 and not w.isdigit()):
            continue
        out.append(_stem(w))


def _chinese(run: str, out: list[str], bigrams: bool) -> None:
    jieba = jieba_tokenizer()
    for w in jieba.cut_for_search(run):
        if w not in _ZH_STOP and w.strip():
            out.append(w)
    if bigrams and len(run) > 2:
        out.extend("_" + run[i : i + 2] for i in range(len(run) - 1))
