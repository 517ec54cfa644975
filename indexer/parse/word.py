"""DOCX via python-docx: paragraphs, headings and table rows in document order, one line each."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from indexer.errors import ParseError

_BOMB_HINT = "a DOCX this big unpacked is most likely a zip bomb; if it is a real document, save it as PDF or raise {}"


def check_docx_archive(data: bytes, path: str, *, max_unpacked: int, max_parts: int) -> None:
    """ParseError before python-docx (and lxml) see a DOCX whose parts unpack to more than `max_unpacked` bytes or
    number more than `max_parts`: a 400 KB file can inflate to 400 MiB of XML.

    The declared sizes in the ZIP directory are enough: zipfile stops a member at its declared size (and fails its
    CRC check), so a member lying about its size cannot inflate further either."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise ParseError(path, f"not a readable DOCX ({type(e).__name__}: {e})",
                         hint="open it in Word or LibreOffice and save it again as .docx") from e
    if len(infos) > max_parts:
        raise ParseError(path, f"refused: the DOCX has {len(infos):,} parts (the limit is {max_parts:,})",
                         hint=_BOMB_HINT.format("REGWATCH_DOCX_MAX_PARTS"))
    total = sum(i.file_size for i in infos)
    if total > max_unpacked:
        raise ParseError(path, f"refused: the DOCX unpacks to {total / 1024 / 1024:,.0f} MB "
                               f"(the limit is {max_unpacked / 1024 / 1024:g} MB)",
                         hint=_BOMB_HINT.format("REGWATCH_DOCX_MAX_UNPACKED_MB"))


def extract_docx(data: bytes, path: str, *, max_unpacked: int = 100 * 1024 * 1024, max_parts: int = 2000,
                 max_chars: int = 20_000_000) -> tuple[str, dict[str, Any], list[str]]:
    """(text, metadata hints {title}, warnings). Table rows become 'cell | cell | cell' lines."""
    check_docx_archive(data, path, max_unpacked=max_unpacked, max_parts=max_parts)
    import docx
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as e:  # BadZipFile, KeyError for a missing part, XML errors, PackageNotFoundError
        raise ParseError(path, f"not a readable DOCX ({type(e).__name__}: {e})",
                         hint="open it in Word or LibreOffice and save it again as .docx") from e

    lines: list[str] = []
    heading_title = None
    chars = 0
    for block in document.iter_inner_content():
        if chars > max_chars:
            raise ParseError(path, f"refused: more than {max_chars:,} characters of text",
                             hint="split the document, or raise REGWATCH_MAX_TEXT_CHARS")
        if isinstance(block, Table):
            rows = _table_lines(block)
            chars += sum(len(r) for r in rows)
            lines.extend(rows)
            continue
        text = block.text.strip()
        chars += len(text)
        if not text:
            lines.append("")  # keep paragraph breaks as blank lines
            continue
        style = (block.style.name if block.style is not None else "") or ""
        if heading_title is None and style.lower() in ("title", "heading 1"):
            heading_title = text
        lines.append(text)

    hints: dict[str, Any] = {}
    core_title = (document.core_properties.title or "").strip()
    if core_title or heading_title:
        hints["title"] = core_title or heading_title
    return "\n".join(lines), hints, []


def _table_lines(table: Any) -> list[str]:
    lines = [""]
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = " ".join(cell.text.split())
            # Merged cells come back once per grid column; repeat text once.
            if text and (not cells or cells[-1] != text):
                cells.append(text)
        if cells:
            lines.append(" | ".join(cells))
    lines.append("")
    return lines
