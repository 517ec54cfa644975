"""PDF: the text layer via pypdf. Encrypted, scanned (no text layer) and broken files fail with a clear reason."""

from __future__ import annotations

import io
import logging
from typing import Any

from indexer.errors import ParseError

_OCR_HINT = "run OCR first (e.g. `ocrmypdf -l chi_sim+eng in.pdf out.pdf`) and index the OCR'd copy"
_BROKEN_HINT = "the file is damaged or not a PDF; download it again or re-save it from a PDF viewer"
# pypdf titles that are file names of the source document, not the document's title.
_JUNK_TITLE_PREFIXES = ("microsoft word", "untitled", "wps", "document", "doc")


def extract_pdf(data: bytes, path: str, *, max_pages: int = 3000,
                max_chars: int = 20_000_000) -> tuple[str, dict[str, Any], list[str]]:
    """(text, metadata hints {title}, warnings): pages joined by blank lines."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError, PyPdfError

    # pypdf logs every recoverable oddity of real-world PDFs; those are not our user's problem.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        encrypted = reader.is_encrypted
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError) as e:
        raise ParseError(path, f"not a readable PDF ({type(e).__name__}: {e})", hint=_BROKEN_HINT) from e
    if encrypted and not _open_with_empty_password(reader):
        raise ParseError(path, "encrypted PDF (password protected)",
                         hint="remove the password (e.g. `qpdf --decrypt in.pdf out.pdf`) and index that copy")
    try:
        count = len(reader.pages)
        if count > max_pages:
            raise ParseError(path, f"refused: {count:,} pages (the limit is {max_pages:,})",
                             hint="split the PDF, or raise REGWATCH_PDF_MAX_PAGES")
        pages = list(reader.pages)
    except ParseError:
        raise
    except Exception as e:  # a broken page tree surfaces only here, as any of several exception types
        raise ParseError(path, f"not a readable PDF ({type(e).__name__}: {e})", hint=_BROKEN_HINT) from e
    if not pages:
        raise ParseError(path, "not a readable PDF (no pages)", hint=_BROKEN_HINT)

    texts: list[str] = []
    warnings: list[str] = []
    chars = 0
    for number, page in enumerate(pages, start=1):
        try:
            texts.append(page.extract_text() or "")
        except Exception as e:  # one bad page should not cost the rest of the document
            warnings.append(f"page {number}: text could not be extracted ({type(e).__name__})")
            continue
        chars += len(texts[-1])
        if chars > max_chars:
            raise ParseError(path, f"refused: more than {max_chars:,} characters of text (by page {number})",
                             hint="split the PDF, or raise REGWATCH_MAX_TEXT_CHARS")
    if len(warnings) == len(pages):
        raise ParseError(path, "not a readable PDF (no page could be read)", hint=_BROKEN_HINT)
    text = "\n\n".join(t.strip() for t in texts if t.strip())
    if not text.strip():
        raise ParseError(path, "no text layer (scanned?)", hint=_OCR_HINT)
    return text, _hints(reader), warnings


def _open_with_empty_password(reader: Any) -> bool:
    """Many official PDFs are 'encrypted' only to restrict printing, with an empty user password: those we read."""
    try:
        return bool(reader.decrypt(""))
    except Exception:  # wrong password, or an AES file without the optional crypto library
        return False


def _hints(reader: Any) -> dict[str, Any]:
    try:
        title = (reader.metadata or {}).get("/Title")
    except Exception:
        return {}
    title = str(title).strip() if title else ""
    if not title or title.lower().startswith(_JUNK_TITLE_PREFIXES) or title.lower().endswith((".doc", ".docx", ".pdf")):
        return {}
    return {"title": title}
