"""What an answer is: the contract between retrieval/answering and every renderer (terminal, JSON, Slack)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# The sentence every abstention ends with. Defined here so that a renderer can tell it from what comes before it
# (why there is no answer: "The indexed PIPL has no Article 999 …").
ABSTAIN_TEXT = "No indexed passage answers this question."


@dataclass
class Filters:
    """Metadata filters for retrieval. Empty lists / None mean 'any'."""

    doc_type: list[str] = field(default_factory=list)
    status: list[str] = field(default_factory=list)
    issuer: list[str] = field(default_factory=list)  # case-insensitive substring match
    language: list[str] = field(default_factory=list)
    jurisdiction: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    effective_from: str | None = None  # ISO date, inclusive
    effective_to: str | None = None
    published_from: str | None = None
    published_to: str | None = None
    doc_id: list[str] = field(default_factory=list)
    as_of: str | None = None  # ISO date: answer from the texts in force that day (bot/currency.py)

    def is_empty(self) -> bool:
        return not any(v for v in asdict(self).values())


@dataclass
class Citation:
    n: int
    doc_id: str
    title: str
    source_path: str
    url: str | None
    section: str  # "Article 38" / "第三十八条" / "4.2" / "¶ 3"
    section_number: int | None
    status: str
    doc_type: str
    effective: str | None
    quote: str
    score: float
    passage_id: str = ""
    language: str = "en"
    version: int = 1
    short_title: str | None = None
    issuer: str | None = None
    chapter_path: list[str] = field(default_factory=list)
    superseded_by: list[str] = field(default_factory=list)
    caveat: str | None = None  # "Draft for comment, not in force", "Superseded by ..."
    in_force: str | None = None  # "in force from 2017-06-01 to 2025-12-31" (bot/currency.py)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Answer:
    question: str
    answer: str  # short text with [n] markers, or the abstention sentence
    abstained: bool
    citations: list[Citation]
    timings_ms: dict[str, float] = field(default_factory=dict)
    # How the answer was made: "generated" (a configured model wrote it, every sentence verified, bot/generate/),
    # "extractive" (quoted, bot/answer.py) or "abstained". None: no model is configured and no conversation is
    # involved, and the answer's JSON is what it always was (these fields appear once a model or a thread is used).
    mode: str | None = None
    dropped_sentences: list[dict[str, Any]] = field(default_factory=list)  # {"sentence", "reason"}: not shown
    notice: str | None = None  # one line on why the generated answer fell back to the extractive one
    asked_as: str | None = None  # a follow-up rewritten into the standalone question that was answered

    @property
    def kind(self) -> str:
        return self.mode or ("abstained" if self.abstained else "extractive")

    def to_json(self) -> dict[str, Any]:
        # question, answer, abstained, citations, timings_ms; then, with a model or a thread, mode,
        # dropped_sentences, notice, asked_as
        out = asdict(self)
        if self.mode is None and self.asked_as is None:
            for key in ("mode", "dropped_sentences", "notice", "asked_as"):
                del out[key]
        else:
            out["mode"] = self.kind
        return out
