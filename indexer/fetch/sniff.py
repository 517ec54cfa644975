"""What a fetched body is (HTML, PDF, DOCX, feed, text) and which charset decodes it, from magic bytes and headers."""

from __future__ import annotations

import codecs
import re

from indexer.parse.sniff import DOCX_MEDIA_TYPE, header_charset, is_docx

KIND_MEDIA = {
    "html": "text/html",
    "pdf": "application/pdf",
    "docx": DOCX_MEDIA_TYPE,
    "feed": "application/rss+xml",
    "xml": "application/xml",
    "text": "text/plain",
    "other": "application/octet-stream",
}
TEXT_KINDS = ("html", "feed", "xml", "text")

_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
# WHATWG maps these labels to a superset; GB18030 decodes every GBK/GB2312 page, the reverse is not true.
_ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030", "cp936": "gb18030",
            "iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "us-ascii": "cp1252", "ascii": "cp1252"}
# Chinese servers often send a default Latin label for GBK pages; such labels lose to the page's own <meta>.
_WEAK = {"cp1252"}
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.I)
_XML_DECL = re.compile(rb"""^<\?xml[^>]+encoding\s*=\s*["']([\w.:-]+)["']""", re.I)


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def sniff_kind(data: bytes, content_type: str | None = None) -> str:
    """html | pdf | docx | feed | xml | text | other; magic bytes first, since servers mislabel often."""
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"%pdf-"):
        return "pdf"
    if head.startswith(b"pk\x03\x04"):
        return "docx" if is_docx(data) else "other"
    if head.startswith((b"<?xml", b"<rss", b"<feed", b"<rdf:rdf")):
        if re.search(rb"<(rss|feed|rdf:rdf)[\s>]", head):
            return "feed"
        if b"<html" in head:
            return "html"
    if re.search(rb"<!doctype html|<html[\s>]|<head[\s>]|<body[\s>]", head):
        return "html"
    by_header = kind_from_header(content_type)
    if by_header:
        return by_header
    try:  # an incremental decoder does not trip over a character cut in half at the sample's end
        codecs.getincrementaldecoder("utf-8")().decode(data[:65536], final=False)
    except UnicodeDecodeError:
        return "other"
    return "text"


def kind_from_header(content_type: str | None) -> str | None:
    """The kind a Content-Type claims, or None for a generic or missing one."""
    media = media_type(content_type)
    if media in ("application/rss+xml", "application/atom+xml", "application/rdf+xml"):
        return "feed"
    if media in ("text/html", "application/xhtml+xml"):
        return "html"
    if media in ("application/xml", "text/xml"):
        return "xml"
    if media == "application/pdf":
        return "pdf"
    if media == KIND_MEDIA["docx"]:
        return "docx"
    return "text" if media.startswith("text/") else None


def find_charset(data: bytes, content_type: str | None = None) -> str:
    """The charset that decodes `data`: BOM, header, <meta> / XML declaration, UTF-8, then a statistical guess."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name
    head = data[:4096]
    declared = [header_charset(content_type)]
    for pattern in (_META_CHARSET, _XML_DECL):
        m = pattern.search(head)
        declared.append(m.group(1).decode("ascii") if m else None)
    candidates = [c for c in (_canonical(d) for d in declared if d) if c]
    ordered = [c for c in candidates if c not in _WEAK] + ["utf-8"] + [c for c in candidates if c in _WEAK]
    for name in ordered:
        if _decodes(data, name):
            return name
    from charset_normalizer import from_bytes  # only for pages that name no charset that works

    best = from_bytes(data[:65536]).best()
    guess = _canonical(best.encoding) if best else None
    return guess or "gb18030"  # the likeliest undeclared encoding on the sites regwatch watches


def decode(data: bytes, charset: str) -> str:
    return data.decode(charset, errors="replace").removeprefix("\ufeff")


def _canonical(name: str | None) -> str | None:
    if not name:
        return None
    label = name.strip().lower()
    label = _ALIASES.get(label, label)
    try:
        codec = codecs.lookup(label).name
    except LookupError:
        return None
    return _ALIASES.get(codec, codec)


def _decodes(data: bytes, charset: str) -> bool:
    try:
        data.decode(charset)
    except (UnicodeDecodeError, LookupError):
        return False
    return True
