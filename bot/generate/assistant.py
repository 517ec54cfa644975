"""The answer, written by a configured model from the extractive answer's passages, every sentence verified.

Built on `Asker.ask`: its answer decides whether there is anything to write from (an abstention stays one), its
citations are the numbered passages the model is given, and it is what is shown whenever the model's answer
cannot be: no model configured (then nothing else happens at all), a time-out, a 429 or 5xx, or sentences that do
not hold up against their sources.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from indexer.glossary import question_language

from .llm import ChatModel, ModelUnavailable, make_chat_model
from .prompts import Passage, answer_messages

if TYPE_CHECKING:
    from bot.answer import Asker
    from bot.types import Answer, Filters
    from indexer.settings import Settings

    from .verify import Verifier

log = logging.getLogger(__name__)

_UNSET: Any = object()
FLAGS = {
    "en": {"draft": "a draft, not in force", "superseded": "superseded", "partly_superseded": "partly superseded",
           "repealed": "repealed"},
    "zh": {"draft": "征求意见稿，尚未生效", "superseded": "已被取代", "partly_superseded": "部分已被取代",
           "repealed": "已废止"},
}
_FLAG_SAID = ("draft", "superseded", "repealed", "not in force", "征求意见", "草案", "取代", "废止", "失效", "尚未生效")
NOTICE = {
    "unavailable": "Extractive answer: {reason}.",
    "unsupported": "Extractive answer: the model's answer did not hold up against its sources ({dropped} of {total} "
                   "sentences unsupported).",
}


class Assistant:
    """`ask` as Asker's, plus the generated answer when a model is configured. Long-lived and thread-safe."""

    def __init__(self, settings: Settings, *, asker: Asker | None = None, model: ChatModel | None = _UNSET) -> None:
        self.settings = settings
        if asker is None:
            from bot.answer import Asker

            asker = Asker(settings)
        self.asker = asker
        self.model: ChatModel | None = make_chat_model(settings) if model is _UNSET else model
        self._verifier: Verifier | None = None

    @property
    def verifier(self) -> Verifier:
        if self._verifier is None:
            from .verify import Verifier

            self._verifier = Verifier(self.asker.retriever)
        return self._verifier

    def warm(self) -> None:
        self.asker.warm()

    def standalone(self, question: str, history: Sequence[tuple[str, str]]) -> str:
        """`question` rewritten standalone from `history` ((standalone question, answer) of earlier turns)."""
        from .followup import namer, rewrite

        return rewrite(question, history, named=namer(self.asker.retriever), model=self.model)

    def ask(self, question: str, *, k: int | None = None, filters: Filters | None = None,
            on_token: Callable[[str], None] | None = None) -> Answer:
        t0 = time.perf_counter()
        extractive = self.asker.ask(question, k=k, filters=filters)
        if self.model is None:
            return extractive  # exactly the extractive answer: nothing is sent anywhere
        if extractive.abstained or not extractive.citations:
            return replace(extractive, mode=extractive.kind)  # nothing to write from
        return self.generate(question, extractive, on_token=on_token, started=t0)

    def generate(self, question: str, extractive: Answer, *, on_token: Callable[[str], None] | None = None,
                 started: float | None = None) -> Answer:
        """The model's answer from `extractive`'s passages, verified; `extractive` itself (with a notice) if not."""
        assert self.model is not None
        t0 = started or time.perf_counter()
        language = question_language(question)
        passages = self.passages(extractive)
        budget = self.settings.llm_timeout_s - (time.perf_counter() - t0)
        t = time.perf_counter()
        try:
            if budget <= 0:
                raise ModelUnavailable(f"the model did not finish within {self.settings.llm_timeout_s:g} s",
                                       kind="timeout")
            text = self.model.complete(answer_messages(question, passages, language), on_token=on_token,
                                       timeout_s=budget)
        except ModelUnavailable as e:
            log.info("falling back to the extractive answer: %s", e.reason)
            # The user set a budget for the whole answer, not for what was left of it when the model was asked.
            reason = (f"the model did not finish within {self.settings.llm_timeout_s:g} s" if e.kind == "timeout"
                      else e.reason)
            return _fallback(extractive, NOTICE["unavailable"].format(reason=reason), [], t0, generate=_ms(t))
        spent = _ms(t)
        t = time.perf_counter()
        checked = self.verifier.verify(text, passages, language=language)
        kept = checked.kept
        body = " ".join(c.sentence.body for c in kept)
        if not kept or not self.verifier.answers(question, body, language):
            return _fallback(extractive, NOTICE["unsupported"].format(
                dropped=len(checked.checked) - len(kept), total=len(checked.checked) or 0), checked.dropped, t0,
                generate=spent, verify=_ms(t))
        by_n = {p.n: p for p in passages}
        renumber: dict[int, int] = {}
        lines = []
        for c in kept:
            n = c.n if c.n is not None else c.sentence.cited[0]
            m = renumber.setdefault(n, len(renumber) + 1)
            lines.append(_sentence(c.sentence.body, m, by_n[n], language))
        from bot.cite import check
        from bot.types import Answer

        citations = [replace(by_n[n].citation, n=m) for n, m in renumber.items()]
        answer = Answer(question=extractive.question, answer=("" if language == "zh" else " ").join(lines),
                        abstained=False, citations=citations, mode="generated", dropped_sentences=checked.dropped,
                        timings_ms={**extractive.timings_ms, "generate": spent, "verify": _ms(t),
                                    "total": _ms(t0)})
        return check(answer)

    def passages(self, extractive: Answer) -> list[Passage]:
        """The extractive answer's citations with their passages' full text (the quote where none is stored)."""
        rows = self.asker.retriever.passages({c.passage_id for c in extractive.citations if c.passage_id})
        return [Passage(c, str((rows.get(c.passage_id) or {}).get("text") or c.quote)) for c in extractive.citations]


def _sentence(body: str, n: int, p: Passage, language: str) -> str:
    """The kept sentence, ending in its renumbered [n], with the passage's draft or superseded status in it."""
    zh = question_language(body) == "zh"  # its own language decides its punctuation and the flag's
    core = body.rstrip(" .。!！?？;；")
    flag = FLAGS["zh" if zh else "en"].get(p.citation.status)
    if flag and not any(w in core.lower() for w in _FLAG_SAID):
        core += f"（{flag}）" if zh else f" ({flag})"
    return f"{core}[{n}]。" if zh else f"{core} [{n}]."


def _fallback(extractive: Answer, notice: str, dropped: list[dict[str, Any]], t0: float, **timings: float) -> Answer:
    return replace(extractive, mode="extractive", notice=notice, dropped_sentences=dropped,
                   timings_ms={**extractive.timings_ms, **timings, "total": _ms(t0)})


def _ms(t: float) -> float:
    return round((time.perf_counter() - t) * 1000, 2)
