"""Plain data passed between the indexer's stages: document metadata, parsed documents, passages."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any

DOC_TYPES = ("law", "regulation", "standard", "draft", "guideline", "commentary", "news", "enforcement")
STATUSES = ("draft", "published", "in_force", "partly_superseded", "superseded", "repealed")
LANGUAGES = ("en", "zh")


def sha256(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


@dataclass
class DocMeta:
    """A document's metadata, from front matter / sidecar where given, else inferred from the text."""

    title: str
    doc_type: str = "guideline"
    status: str = "published"
    language: str = "en"
    short_title: str | None = None
    issuer: str | None = None
    jurisdiction: str | None = "CN"
    published: str | None = None  # ISO dates as strings: they travel through Chroma metadata and JSON
    effective: str | None = None
    comment_deadline: str | None = None
    url: str | None = None
    topics: list[str] = field(default_factory=list)
    supersedes: list[str] = field(default_factory=list)
    superseded_by: list[str] = field(default_factory=list)
    standard_number: str | None = None
    doc_id: str | None = None  # explicit id from front matter; otherwise derived from the file name
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DocMeta:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass
class ParsedDocument:
    """The main text of one file or fetched resource, normalised to Unicode with `\\n` line ends."""

    source_path: str  # path as given to `regwatch index`, or the URL for fetched documents
    text: str
    meta: DocMeta
    fmt: str  # md | html | pdf | docx | txt
    raw_hash: str  # sha256 of the raw bytes: the cheap "did anything change" check
    warnings: list[str] = field(default_factory=list)


@dataclass
class Passage:
    """One citable unit: an article (or part of a long one), a numbered heading's section, or a paragraph group."""

    doc_id: str
    ordinal: int  # position in the document
    section: str  # "Article 38", "第三十八条", "3.2", "Chapter II", "¶ 4"
    section_number: int | None  # 38 for Article 38 / 第三十八条; None for non-article units
    section_kind: str  # article | heading | paragraph | preamble
    chapter_path: list[str]
    text: str
    part: int = 0  # 0 when the unit is whole; 1..n when a long article was split
    parts: int = 1
    occurrence: int = 0  # >0 when the same locator appears again in one document (e.g. a quoted Article 1)

    @property
    def key(self) -> str:
        """Stable within a document across versions: the same article keeps the same key."""
        base = f"{self.section_kind}:{self.section_number if self.section_number is not None else self.section}"
        if self.section_kind == "paragraph":
            base = f"p:{self.ordinal}"
        return f"{base}#{self.part}" + (f"~{self.occurrence}" if self.occurrence else "")

    @property
    def id(self) -> str:
        return f"{self.doc_id}::{sha256(self.key)[:16]}"

    @staticmethod
    def doc_id_of(passage_id: str) -> str:
        """The document of a passage id (the inverse of `id`'s prefix)."""
        return passage_id.rsplit("::", 1)[0]

    @property
    def text_hash(self) -> str:
        return sha256(self.text)
