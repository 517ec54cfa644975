"""Which parser a file needs: magic bytes first, then the declared content type, then the name.

Also the sniffing helpers indexer.fetch.sniff shares (it imports from here, never the reverse: the parse path
must not load the HTTP stack).
"""

from __future__ import annotations

import io
import re
import zipfile

SUPPORTED_SUFFIXES = frozenset({".md", ".markdown", ".txt", ".text", ".html", ".htm", ".xhtml", ".pdf", ".docx"})

_HTML_TYPES = ("text/html", "application/xhtml")
DOCX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
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
        return "docx" if is_docx(data) or suffix_of(name) == ".docx" else "zip"
    if data.startswith(_OLE):
        return "ole"
    suffix = suffix_of(name)
    if suffix == ".pdf" or ctype.startswith("application/pdf"):
        return "pdf"  # the PDF parser reports what is wrong with it
    if suffix == ".docx" or ctype.startswith(DOCX_MEDIA_TYPE):
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


def header_charset(content_type: str | None) -> str | None:
    """The charset a Content-Type header names, or None."""
    m = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", content_type or "", re.I)
    return m.group(1) if m else None


def is_docx(data: bytes) -> bool:
    """A ZIP archive holding a Word document body."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return "word/document.xml" in zf.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
