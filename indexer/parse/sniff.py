"""Which parser a file needs: magic bytes first, then the declared content type, then the name."""

from __future__ import annotations

import io
import re
import zipfile

SUPPORTED_SUFFIXES = frozenset({".md", ".markdown", ".txt", ".text", ".html", ".htm", ".xhtml", ".pdf", ".docx"})

_HTML_TYPES = ("text/html", "application/xhtml")
_DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_HTML_START = re.compile(r"^\ufeff?\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html[\s>])", re.I | re.S)
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def suffix_of(name: str) -> str:
    """'.pdf' for 'a/b.PDF' or 'https://x/y.pdf?z=1'; '' when there is none."""
    base = re.split(r"[?#]", name, maxsplit=1)[0].rstrip("/").rsplit("/", 1)[-1]
    return "." + base.rsplit(".", 1)[1].lower() if "." in base else ""


def binary_format(data: bytes, name: str, content_type: str | None) -> str | None:
    """'pdf', 'docx', 'zip', 'ole' from magic bytes (or a .pdf/.docx name); None for text formats."""
    head = data[:1024]
    ctype = (content_type or "").lower()
    if b"%PDF-" in head:  # the spec allows junk before the header within the first 1 KB
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        return "docx" if _is_docx(data) or suffix_of(name) == ".docx" else "zip"
    if data.startswith(_OLE):
        return "ole"
    suffix = suffix_of(name)
    if suffix == ".pdf" or ctype.startswith("application/pdf"):
        return "pdf"  # the PDF parser reports what is wrong with it
    if suffix == ".docx" or ctype.startswith(_DOCX_TYPE):
        return "docx"
    return None


def text_format(text: str, name: str, content_type: str | None) -> str:
    """'html', 'md' or 'txt' for decoded text; front matter makes a document Markdown whatever its name."""
    suffix = suffix_of(name)
    ctype = (content_type or "").lower()
    if suffix in (".html", ".htm", ".xhtml") or ctype.startswith(_HTML_TYPES):
        return "html"
    if has_front_matter(text) or suffix in (".md", ".markdown"):
        return "md"
    if _HTML_START.match(text[:4096]):
        return "html"
    return "txt"


def has_front_matter(text: str) -> bool:
    return re.match(r"\ufeff?---[ \t]*\r?\n", text) is not None


def _is_docx(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return "word/document.xml" in zf.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
