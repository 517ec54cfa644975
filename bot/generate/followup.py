"""Follow-ups: 'and Article 39?', 'what about employees' data?', '那罚款呢？' rewritten into a standalone question.

With a model configured it writes the question from the conversation, and its rewrite is kept only if it still
names what the conversation was about; without one (or when its rewrite fails that), the earlier question's named
instruments and articles are carried over into the follow-up. Either way the rewritten question is what is answered
and what is shown.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from indexer.glossary import is_cjk

from .llm import ChatModel, ModelUnavailable
from .prompts import rewrite_messages

log = logging.getLogger(__name__)

REWRITE_TIMEOUT_S = 10.0  # of the answer's budget: a follow-up is short, and the rule below needs no model
MAX_REWRITE_CHARS = 400
_LEAD_EN = re.compile(r"^\s*(?:and|but|also|so|then|ok(?:ay)?|what|how)\s+(?:about|of|regarding)?\s*", re.I)
_LEAD_ZH = re.compile(r"^\s*(?:那么|那|还有|另外|以及|再问一下|那如果|如果是)[，,\s]*")
_TAIL_ZH = re.compile(r"(?:呢|吗|啊|呀)?\s*[？?。.！!]*\s*$")
_TAIL_EN = re.compile(r"\s*[?.!]*\s*$")


@dataclass
class Named:
    """What a question names outright, as it writes it: instruments (and standards), and articles with their law."""

    instruments: list[str]
    articles: list[str]  # 'Article 38', '第三十八条'
    bare_articles: bool  # an article of no named law ('and Article 39?')
    numbers: frozenset[int] = frozenset()  # the article numbers, whichever language names them


Namer = Callable[[str], Named]


def rewrite(question: str, history: Sequence[tuple[str, str]], *, named: Namer,
            model: ChatModel | None = None) -> str:
    """The standalone form of `question` given `history`: (standalone question, answer) of earlier turns, oldest
    first. Without history, or when the question names its own instrument, it is returned as it is."""
    question = " ".join(question.split())
    if not history:
        return question
    earlier = history[-1][0]
    mine, theirs = named(question), named(earlier)
    if mine.instruments and not mine.bare_articles:
        return question  # names its own law: a new question, not a follow-up
    carried = carry_over(question, earlier, mine, theirs)
    if model is None:
        return carried
    try:
        text = model.complete(rewrite_messages(history[-3:], question), timeout_s=REWRITE_TIMEOUT_S, max_tokens=80)
    except ModelUnavailable as e:
        log.info("follow-up rewritten without the model: %s", e.reason)
        return carried
    candidate = _first_line(text)
    # A small model may drop the law, answer instead of asking, or ramble: then the rule's rewrite is better.
    have = named(candidate) if candidate else None
    if (not candidate or len(candidate) > MAX_REWRITE_CHARS or have is None
            or any(i not in have.instruments for i in theirs.instruments if i not in mine.instruments)
            or not mine.numbers <= have.numbers):  # 'and Article 39?' rewritten as 'PIPL Article 38: …'
        return carried
    return candidate


def carry_over(question: str, earlier: str, mine: Named, theirs: Named) -> str:
    """The follow-up with the earlier question's instruments (and its articles, unless the follow-up names its
    own) written in: 'and Article 39?' after 'PIPL Article 38' -> 'PIPL Article 39'."""
    instruments = [i for i in theirs.instruments if i not in mine.instruments]
    articles = [] if mine.articles else theirs.articles
    if not instruments and not articles:
        # Nothing named to carry: the earlier question itself is the context.
        return f"{_core(question)} ({_core(earlier)})" if not is_cjk(question) else f"{_core(earlier)}：{_core(question)}"
    zh = is_cjk(question)
    if zh:
        law = "".join(f"《{i.strip('《》')}》" if is_cjk(i) else i for i in instruments)
        core = _core(question)
        if mine.bare_articles:
            return f"{law}{core}"
        return f"{law}{''.join(articles)}关于{core}的规定是什么？"
    law = " ".join(instruments)
    core = _core(question)
    if mine.bare_articles:
        return f"{law} {core}".strip()
    where = " ".join(x for x in (law, " ".join(articles)) if x)
    return f"{core} under {where}?"


def _core(text: str) -> str:
    """'and Article 39?' -> 'Article 39'; '那罚款呢？' -> '罚款'."""
    if is_cjk(text):
        out = _TAIL_ZH.sub("", _LEAD_ZH.sub("", text)).strip()
    else:
        out = _TAIL_EN.sub("", _LEAD_EN.sub("", text)).strip()
    return out or text.strip()


def _first_line(text: str) -> str:
    for line in (text or "").splitlines():
        line = line.strip().strip('"“”').strip()
        line = re.sub(r"^(?:standalone question|question|问题)\s*[:：]\s*", "", line, flags=re.I)
        if line:
            return line
    return ""


def namer(retriever: object) -> Namer:
    """What a question names, by the retriever's reference resolution (bot/refs.py)."""

    def named(text: str) -> Named:
        refs = retriever.analyse(text).refs  # type: ignore[attr-defined]
        spans = sorted(set(refs.name_spans))
        instruments = list(dict.fromkeys(text[s:e].strip() for s, e in spans if text[s:e].strip()))
        instruments += [n for n in refs.standards if n not in instruments]
        articles: list[str] = []
        for s, e in sorted(set(refs.ref_spans)):
            piece = text[s:e].strip()
            if piece and piece not in instruments and not any(piece in i for i in instruments):
                articles.append(piece)
        bare = [text[s:e].strip() for s, e in sorted(set(refs.bare_spans))]
        nums = frozenset([*refs.bare_articles, *(n for a in refs.articles for n in a.numbers)])
        return Named(instruments, list(dict.fromkeys(articles + bare)), bool(refs.bare_articles), nums)

    return named
