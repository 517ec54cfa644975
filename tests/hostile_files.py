"""Hostile files generated on the spot (never stored in the repo): a DOCX zip bomb, a YAML alias bomb, a large
sparse file, a PDF with many pages. Used by tests/test_file_safety.py and bench/hostile_bench.py."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

_DOCUMENT = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
             '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>')
_END = "<w:p><w:r><w:t>第一条 本办法自发布之日起施行。</w:t></w:r></w:p></w:body></w:document>"


def docx_bomb(unpacked_mib: int) -> bytes:
    """A valid DOCX whose document.xml is `unpacked_mib` MiB, almost all of it whitespace between elements: a few
    hundred KB packed (deflate of blanks is ~1000:1), and an XML parser holds all of it."""
    import docx

    buf = io.BytesIO()
    docx.Document().save(buf)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename != "word/document.xml":
                dst.writestr(info, src.read(info))
                continue
            member = zipfile.ZipInfo("word/document.xml", info.date_time)
            member.compress_type = zipfile.ZIP_DEFLATED
            with dst.open(member, "w", force_zip64=True) as f:
                f.write(_DOCUMENT.encode())
                block = b" " * (1 << 20)
                for _ in range(unpacked_mib):
                    f.write(block)
                f.write(_END.encode())
    return out.getvalue()


def docx_many_parts(parts: int) -> bytes:
    import docx

    buf = io.BytesIO()
    docx.Document().save(buf)
    out = io.BytesIO(buf.getvalue())
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as zf:
        for i in range(parts):
            zf.writestr(f"customXml/regwatch-test-{i}.xml", "<x/>")
    return out.getvalue()


def yaml_alias_bomb(depth: int = 9) -> str:
    """Markdown whose front matter is a "billion laughs" of YAML aliases: 9**depth strings once expanded.
    depth 9 is 515 bytes of front matter and gigabytes expanded; use a small depth where the old code must survive."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    names = "abcdefghijklmnop"
    for i in range(1, depth):
        prev, cur = names[i - 1], names[i]
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "---\ntitle: Bomb\n" + "\n".join(lines) + "\n---\n\n# 第一条\n\n本办法自发布之日起施行。\n"


def sparse_file(path: Path, size: int, head: bytes = b"# Big\n\n") -> Path:
    """A file of `size` bytes that takes no disk (a hole after `head`)."""
    with open(path, "wb") as f:
        f.write(head)
        f.truncate(size)
    return path


def text_file(path: Path, size: int) -> Path:
    """A real text file of about `size` bytes (each line an 'article' of prose)."""
    line = ("Article %d. The handler shall keep records of processing activities and review them yearly. " * 4 + "\n")
    with open(path, "w", encoding="utf-8") as f:
        n, i = 0, 0
        while n < size:
            s = line % ((i,) * 4)
            f.write(s)
            n += len(s)
            i += 1
    return path


def pdf_pages(pages: int) -> bytes:
    from pypdf import PdfWriter

    w = PdfWriter()
    for _ in range(pages):
        w.add_blank_page(width=200, height=200)
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path
