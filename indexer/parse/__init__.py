"""Files and fetched bodies to ParsedDocument: format sniffing, text extraction, sidecar and front-matter metadata.

Folder rule for `iter_documents`: every file with a supported suffix is a document, except hidden files and
folders, `*.meta.yaml` sidecars, and a README (README.md, readme.txt, …), which is a document only if it starts with
YAML front matter — so a folder of regulations can carry a README that explains it without being indexed.
FIFOs, devices, sockets, symlink loops and symlinks leading out of the folder are candidates with a problem
(indexer/parse/files.py): reported one line each, never read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from indexer.errors import ParseError
from indexer.metadata import build_meta
from indexer.models import ParsedDocument, sha256
from indexer.normalize import normalize_text
from indexer.parse.files import Candidate, classify, read_regular, walk
from indexer.parse.sniff import (
    SUPPORTED_SUFFIXES,
    binary_format,
    has_front_matter,
    header_charset,
    text_format,
)
from indexer.parse.text import decode_text, load_sidecar, split_front_matter
from indexer.reflow import join_wrapped_lines
from indexer.settings import Settings

__all__ = ["SUPPORTED_SUFFIXES", "Candidate", "iter_candidates", "iter_documents", "parse_bytes", "parse_file"]

SIDECAR_SUFFIX = ".meta.yaml"
_SURE_ENCODINGS = ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be", "gb18030")
# Formats whose lines may be hard-wrapped mid-paragraph; HTML and Word give one line per paragraph already.
_WRAPPED_FORMATS = ("md", "txt", "pdf")
_BUG_HINT = "this is a bug or a very unusual file; please report it with the file attached"


def parse_file(path: Path, *, settings: Settings, display_path: str | None = None,
               data: bytes | None = None) -> ParsedDocument:
    """Parse one file (`data`: its bytes, when the caller has read them with read_document already). A sidecar
    `<file>.meta.yaml` or `<stem>.meta.yaml` overrides front matter and inference."""
    shown = display_path or str(path)
    if data is None:
        data = read_document(path, settings=settings, shown=shown)
    return _parse(data, name=path.name, shown=shown, settings=settings, content_type=None, url=None, defaults=None,
                  overrides=_sidecar(path, settings))


def read_document(path: Path, *, settings: Settings, shown: str | None = None) -> bytes:
    """A document file's bytes: type and size checked before reading (ParseError: not regular, too large, ...)."""
    return read_regular(path, max_bytes=int(settings.max_file_mb * 1024 * 1024), shown=shown or str(path))


def parse_bytes(
    data: bytes,
    *,
    name: str,
    settings: Settings,
    content_type: str | None = None,
    url: str | None = None,
    extra_meta: dict[str, Any] | None = None,
) -> ParsedDocument:
    """Parse fetched content. `extra_meta` holds the watched source's defaults (issuer, doc_type, topics, …):
    front matter in the body beats them, and they beat inference from the text."""
    return _parse(data, name=name, shown=url or name, settings=settings, content_type=content_type, url=url,
                  defaults=extra_meta, overrides={})


def iter_documents(paths: list[Path], *, follow_symlinks: bool = False) -> Iterator[Path]:
    """The readable documents among `iter_candidates` (the rejected ones left out)."""
    for c in iter_candidates(paths, follow_symlinks=follow_symlinks):
        if c.problem is None:
            yield c.path


def iter_candidates(paths: list[Path], *, follow_symlinks: bool = False) -> Iterator[Candidate]:
    """Files named directly, and the documents inside folders (sorted; see the module docstring for what counts),
    each once; a candidate with a `problem` is reported by the caller and not read."""
    seen: set[str] = set()
    for root in paths:
        if root.is_dir():
            candidates: Iterator[Candidate] = _walk(root, follow_symlinks)
        elif root.exists() or root.is_symlink():
            candidates = iter([classify(root, None, follow_symlinks=True)])  # named directly: the user's choice
        else:
            raise ParseError(str(root), "no such file or folder", hint="check the path")
        for c in candidates:
            key = c.origin
            if key not in seen:
                seen.add(key)
                yield c


def _walk(root: Path, follow_symlinks: bool) -> Iterator[Candidate]:
    real_root = root.resolve()
    for path, rejected in walk(root, follow_symlinks=follow_symlinks):
        if rejected is not None:
            yield rejected
            continue
        filename = path.name
        if filename.startswith(".") or filename.lower().endswith(SIDECAR_SUFFIX):
            continue
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            continue
        c = classify(path, real_root, follow_symlinks=follow_symlinks)
        if c.problem is None and path.stem.lower() == "readme" and not _starts_with_front_matter(path):
            continue  # checked only once it is known to be a regular file: opening a FIFO would block
        yield c


def _starts_with_front_matter(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            head = f.read(16)
    except OSError:
        return True  # let parse_file report the problem
    return re.match(rb"(?:\xef\xbb\xbf)?---[ \t]*\r?\n", head) is not None


def _sidecar(path: Path, settings: Settings) -> dict[str, Any]:
    for candidate in (path.with_name(path.name + SIDECAR_SUFFIX), path.with_name(path.stem + SIDECAR_SUFFIX)):
        if candidate.is_file():
            data = read_regular(candidate, max_bytes=settings.front_matter_max_bytes, shown=str(candidate),
                                limit_name="REGWATCH_FRONT_MATTER_MAX_BYTES")
            return load_sidecar(data, str(candidate))
    return {}


def _check_size(size: int, shown: str, settings: Settings) -> None:
    if size > settings.max_file_mb * 1024 * 1024:
        raise ParseError(
            shown, f"too large ({size / 1024 / 1024:.1f} MB; the limit is {settings.max_file_mb:g} MB)",
            hint="raise REGWATCH_MAX_FILE_MB to index it, or split the document",
        )


def _parse(
    data: bytes, *, name: str, shown: str, settings: Settings, content_type: str | None, url: str | None,
    defaults: dict[str, Any] | None, overrides: dict[str, Any],
) -> ParsedDocument:
    _check_size(len(data), shown, settings)
    if not data.strip():
        raise ParseError(shown, "empty", hint="the file has no text")
    try:
        fmt, raw_text, front, hints, warnings = _extract(data, name=name, shown=shown, content_type=content_type, url=url,
                                                         settings=settings)
        text = normalize_text(raw_text)
        if fmt in _WRAPPED_FORMATS:
            text = join_wrapped_lines(text)
        if not text:
            what = "front matter only, no text" if front else "no text found"
            raise ParseError(shown, f"empty ({what})", hint="the document has no text to index")
        meta = build_meta({**front, **overrides}, text, name=name, url=url, defaults={**hints, **(defaults or {})})
    except ParseError:
        raise
    except Exception as e:  # never let one odd document crash a whole run
        raise ParseError(shown, f"could not be parsed ({type(e).__name__}: {e})", hint=_BUG_HINT) from e
    return ParsedDocument(source_path=shown, text=text, meta=meta, fmt=fmt, raw_hash=sha256(data), warnings=warnings)


def _extract(
    data: bytes, *, name: str, shown: str, content_type: str | None, url: str | None, settings: Settings
) -> tuple[str, str, dict[str, Any], dict[str, Any], list[str]]:
    """(fmt, text, front matter, metadata hints, warnings)."""
    kind = binary_format(data, name, content_type)
    if kind == "pdf":
        from indexer.parse.pdf import extract_pdf

        return ("pdf", *_no_front(extract_pdf(data, shown, max_pages=settings.pdf_max_pages,
                                              max_chars=settings.max_text_chars)))
    if kind == "docx":
        from indexer.parse.word import extract_docx

        return ("docx", *_no_front(extract_docx(data, shown, max_unpacked=int(settings.docx_max_unpacked_mb * 1024 * 1024),
                                                max_parts=settings.docx_max_parts, max_chars=settings.max_text_chars)))
    if kind == "zip":
        raise ParseError(shown, "unsupported format (a ZIP archive, not a Word document)", hint="unpack it first")
    if kind == "ole":
        raise ParseError(shown, "unsupported format (legacy Word .doc / OLE file)",
                         hint="save it as .docx or PDF and index that")

    declared = header_charset(content_type)
    text, encoding = decode_text(data, shown, declared=declared)
    # Only a detector's guess is worth a warning; BOMs, UTF-8, GB18030 and a declared charset are certain enough.
    warnings = [] if encoding in (*_SURE_ENCODINGS, declared) else [f"encoding guessed as {encoding}"]
    fmt = text_format(text, name, content_type)
    if fmt == "html":
        from indexer.parse.html import extract_html

        body, hints, html_warnings = extract_html(text, url=url)
        return "html", body, {}, hints, warnings + html_warnings
    front: dict[str, Any] = {}
    if has_front_matter(text):
        front, text, fm_warnings = split_front_matter(text, shown, max_bytes=settings.front_matter_max_bytes)
        warnings += fm_warnings
    return fmt, text, front, {}, warnings


def _no_front(result: tuple[str, dict[str, Any], list[str]]) -> tuple[str, dict[str, Any], dict[str, Any], list[str]]:
    text, hints, warnings = result
    return text, {}, hints, warnings
