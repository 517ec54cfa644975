"""Bytes to text (UTF-8, UTF-16/32 with BOM, GB18030/GBK, then detection) and YAML front matter."""

from __future__ import annotations

import codecs
import re
import unicodedata
from typing import Any

import yaml

from indexer.errors import ParseError

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: its BOM starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_BINARY_HINT = "only text, Markdown, HTML, PDF and DOCX files can be indexed"
_SUSPECT_SHARE = 0.05


def decode_text(data: bytes, path: str, *, declared: str | None = None) -> tuple[str, str]:
    """(text, encoding). `declared` is an HTTP charset. Non-text -> ParseError 'binary / not a text …'."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return _checked(data[len(bom):].decode(encoding), path), encoding
            except UnicodeDecodeError as e:
                raise ParseError(path, f"binary / not a text document (invalid {encoding}: {e.reason})",
                                 hint=_BINARY_HINT) from e
    if b"\x00" in data:
        raise ParseError(path, "binary / not a text document (contains NUL bytes)", hint=_BINARY_HINT)
    for encoding in _candidates(declared):
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        if not _looks_binary(text):  # a wrong single-byte charset "decodes" anything, into control characters
            return text, encoding
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise ParseError(path, "binary / not a text document (no text encoding fits)", hint=_BINARY_HINT)
    return _checked(str(best), path), best.encoding


def _candidates(declared: str | None) -> list[str]:
    """Strict UTF-8, then strict GB18030, before any detector: on short Chinese texts detectors guess wrong (Big5,
    Shift-JIS, cp1252) and GB18030 is what Chinese government sites and Windows Notepad produce. A declared charset
    never outranks valid UTF-8 (servers lie); a declared single-byte charset decodes anything, so it comes last."""
    try:
        name = codecs.lookup(declared).name if declared else None
    except LookupError:
        name = None
    if name is None or name.startswith("gb") or name in ("utf-8", "cp936"):
        return ["utf-8", "gb18030"]
    if name.startswith(("iso8859", "cp125", "latin", "ascii", "mac")):
        return ["utf-8", "gb18030", name]
    return ["utf-8", name, "gb18030"]  # big5, shift_jis, euc-kr…: trust the server over our GB guess


def _checked(text: str, path: str) -> str:
    if _looks_binary(text):
        raise ParseError(path, "binary / not a text document (mostly control characters)", hint=_BINARY_HINT)
    return text


def _looks_binary(text: str) -> bool:
    """Mostly control, private-use, unassigned or replacement characters: binary in disguise."""
    sample = text[:200_000]
    return bool(sample) and sum(1 for ch in sample if _suspect(ch)) / len(sample) > _SUSPECT_SHARE


def _suspect(ch: str) -> bool:
    if ch in "\n\r\t\f\v":
        return False
    return ch == "\ufffd" or unicodedata.category(ch) in ("Cc", "Co", "Cs", "Cn")


_FRONT = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)(?:\r?\n)(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S)


FRONT_MATTER_MAX_BYTES = 64 * 1024
_ALIAS_HINT = "write the values out in full: regwatch does not read YAML anchors and aliases (&name / *name)"


def safe_yaml(text: str, path: str, *, max_bytes: int = FRONT_MATTER_MAX_BYTES, what: str = "front matter") -> Any:
    """yaml.safe_load for metadata from documents, which anyone may have written: at most `max_bytes`, and no
    aliases (a 515-byte "billion laughs" of aliases expands to gigabytes in memory). ParseError when refused;
    yaml.YAMLError when it is not YAML."""
    size = len(text.encode("utf-8"))
    if size > max_bytes:
        raise ParseError(path, f"refused: {what} of {size:,} bytes (the limit is {max_bytes:,})",
                         hint="metadata is a few lines; raise REGWATCH_FRONT_MATTER_MAX_BYTES if it really is this long")
    for event in yaml.parse(text, Loader=yaml.SafeLoader):  # events only: aliases are not expanded here
        if isinstance(event, yaml.AliasEvent):
            raise ParseError(path, f"refused: {what} uses YAML aliases", hint=_ALIAS_HINT)
    return yaml.safe_load(text)


def split_front_matter(text: str, path: str, *,
                       max_bytes: int = FRONT_MATTER_MAX_BYTES) -> tuple[dict[str, Any], str, list[str]]:
    """(front matter, body, warnings). A '---' block that is not a YAML mapping stays in the body, with a warning;
    one too large or with aliases is refused (ParseError)."""
    m = _FRONT.match(text)
    if not m:
        return {}, text, []
    try:
        front = safe_yaml(m.group(1), path, max_bytes=max_bytes)
    except yaml.YAMLError as e:
        return {}, text, [f"front matter is not valid YAML, read as text ({_first_line(e)})"]
    if front is None:
        return {}, text[m.end():], []
    if not isinstance(front, dict):
        return {}, text, ["front matter is not a YAML mapping, read as text"]
    return front, text[m.end():], []


def load_sidecar(data: bytes, path: str) -> dict[str, Any]:
    """A `<file>.meta.yaml`: a YAML mapping with the same fields as front matter."""
    hint = "a sidecar must be a YAML mapping such as 'title: …' / 'doc_type: standard'"
    try:
        meta = safe_yaml(data.decode("utf-8-sig"), path, max_bytes=max(len(data), 1), what="sidecar metadata")
    except (UnicodeDecodeError, yaml.YAMLError) as e:
        raise ParseError(path, f"invalid sidecar metadata ({_first_line(e)})", hint=hint) from e
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        raise ParseError(path, "invalid sidecar metadata (not a mapping)", hint=hint)
    return meta


def _first_line(e: Exception) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
