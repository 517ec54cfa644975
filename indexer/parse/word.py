"""DOCX via python-docx: paragraphs, headings and table rows in document order, one line each."""

from __future__ import annotations

import io
from typing import Any

from indexer.errors import ParseError


def extract_docx(data: bytes, path: str) -> tuple[str, dict[str, Any], list[str]]:
    """(text, metadata hints {title}, warnings). Table rows become 'cell | cell | cell' lines."""
    import docx
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as e:  # BadZipFile, KeyError for a missing part, XML errors, PackageNotFoundError
        raise ParseError(path, f"not a readable DOCX ({type(e).__name__}: {e})",
                         hint="open it in Word or LibreOffice and save it again as .docx") from e

    lines: list[str] = []
    heading_title = None
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            lines.extend(_table_lines(block))
            continue
        text = block.text.strip()
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
