"""The prompts, as LangChain prompt templates loaded from prompts/*.txt (never strings in code), and what fills them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from indexer.settings import REPO_ROOT

if TYPE_CHECKING:
    from langchain_core.prompts import ChatPromptTemplate

    from bot.types import Citation

PROMPTS_DIR = REPO_ROOT / "prompts"
LANGUAGE_NAMES = {"en": "English", "zh": "Simplified Chinese"}
NO_ANSWER = {"en": "The passages do not answer this.", "zh": "这些条文没有回答这个问题。"}
MAX_SENTENCES = 4
PASSAGE_CHARS = 1200  # per passage: a small model's context is short, and the rule is usually in an article's start


@dataclass
class Passage:
    """One numbered passage the model may cite: the citation it becomes and the full text it is checked against."""

    citation: Citation
    text: str

    @property
    def n(self) -> int:
        return self.citation.n


@lru_cache(maxsize=8)
def chat_template(name: str, directory: Path = PROMPTS_DIR) -> ChatPromptTemplate:
    """`<name>_system.txt` and `<name>_human.txt` as one chat prompt template."""
    from langchain_core.prompts import (
        ChatPromptTemplate,
        HumanMessagePromptTemplate,
        PromptTemplate,
        SystemMessagePromptTemplate,
    )

    system = PromptTemplate.from_file(directory / f"{name}_system.txt", encoding="utf-8")
    human = PromptTemplate.from_file(directory / f"{name}_human.txt", encoding="utf-8")
    return ChatPromptTemplate.from_messages(
        [SystemMessagePromptTemplate(prompt=system), HumanMessagePromptTemplate(prompt=human)])


def _messages(template: ChatPromptTemplate, **values: object) -> list[tuple[str, str]]:
    return [(m.type, str(m.content)) for m in template.format_messages(**values)]


def passage_block(p: Passage) -> str:
    """'[1] PIPL Article 38 (in force; effective 2021-11-01)\\n<text>': what the model sees of one passage."""
    c = p.citation
    facts = [c.status.replace("_", " ")]
    if c.effective:
        facts.append(f"effective {c.effective}")
    if c.caveat:
        facts.append(c.caveat)
    text = " ".join(p.text.split()) if c.language == "en" else "".join(p.text.split())
    if len(text) > PASSAGE_CHARS:
        text = text[:PASSAGE_CHARS] + "…"
    return f"[{c.n}] {c.short_title or c.title}, {c.section} ({'; '.join(facts)})\n{text}"


def answer_messages(question: str, passages: Sequence[Passage], language: str) -> list[tuple[str, str]]:
    lang = LANGUAGE_NAMES.get(language, "English")
    return _messages(chat_template("answer"), question=question, language=lang, max_sentences=MAX_SENTENCES,
                     no_answer=NO_ANSWER.get(language, NO_ANSWER["en"]),
                     passages="\n\n".join(passage_block(p) for p in passages))


def rewrite_messages(history: Sequence[tuple[str, str]], question: str) -> list[tuple[str, str]]:
    """`history`: (question as asked, answer text) of earlier turns, oldest first."""
    lines = []
    for asked, answered in history:
        lines.append(f"User: {asked}")
        if answered:
            lines.append(f"Assistant: {' '.join(answered.split())[:300]}")
    return _messages(chat_template("rewrite"), history="\n".join(lines), question=question)
