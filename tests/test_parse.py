"""Parsing every supported format, the failure modes users hit (encrypted, scanned, binary, huge), and the shared corpus."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fixtures_docs import (
    ARTICLE_HTML,
    GBK_TEXT,
    REGULATIONS,
    make_docx,
    make_encrypted_pdf,
    make_scanned_pdf,
    make_text_pdf,
)

from indexer.errors import ParseError
from indexer.models import DOC_TYPES, LANGUAGES, STATUSES, sha256
from indexer.parse import SUPPORTED_SUFFIXES, iter_documents, parse_bytes, parse_file
from indexer.settings import Settings
from tests.conftest import make_settings

MD = """---
title: 中华人民共和国个人信息保护法
issuer: 全国人民代表大会常务委员会
doc_type: law
status: in_force
language: zh
published: '2021-08-20'
effective: 2021-11-01
topics: [personal-information]
---

第一条 为了保护个人信息权益，制定本法。

第七十四条 本法自2021年11月1日起施行。
"""


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def fails(data: bytes, name: str, settings: Settings, **kw: object) -> ParseError:
    with pytest.raises(ParseError) as info:
        parse_bytes(data, name=name, settings=settings, **kw)  # type: ignore[arg-type]
    return info.value


# --- Markdown and text ------------------------------------------------------------------------------------


def test_markdown_front_matter(tmp_path: Path, settings: Settings) -> None:
    path = write(tmp_path / "PIPL_2021_zh.md", MD.replace("\n", "\r\n"))
    doc = parse_file(path, settings=settings, display_path="zh/PIPL_2021_zh.md")
    assert doc.fmt == "md" and doc.source_path == "zh/PIPL_2021_zh.md"
    assert doc.text.startswith("第一条 为了保护个人信息权益") and "---" not in doc.text and "\r" not in doc.text
    assert (doc.meta.title, doc.meta.doc_type, doc.meta.status) == ("中华人民共和国个人信息保护法", "law", "in_force")
    assert (doc.meta.published, doc.meta.effective, doc.meta.topics) == ("2021-08-20", "2021-11-01", ["personal-information"])
    assert doc.meta.doc_id == "pipl_2021_zh"
    assert doc.raw_hash == sha256(path.read_bytes())
    assert parse_file(path, settings=settings).source_path == str(path)


def test_front_matter_in_a_txt_file_makes_it_markdown(settings: Settings) -> None:
    doc = parse_bytes(MD.encode(), name="notes.txt", settings=settings)
    assert doc.fmt == "md" and doc.meta.doc_type == "law"


def test_broken_front_matter_is_kept_as_text_with_a_warning(settings: Settings) -> None:
    doc = parse_bytes(b"---\ntitle: [unclosed\n---\nBody line.\n", name="b.md", settings=settings)
    assert "Body line." in doc.text and "title: [unclosed" in doc.text
    assert any("front matter" in w for w in doc.warnings)


def test_plain_text_without_metadata_is_inferred(settings: Settings) -> None:
    doc = parse_bytes("网络数据安全管理条例\n\n第六十四条 本条例自2025年1月1日起施行。\n".encode(), name="n.txt", settings=settings)
    assert doc.fmt == "txt"
    assert (doc.meta.title, doc.meta.language, doc.meta.doc_type) == ("网络数据安全管理条例", "zh", "regulation")


# --- encodings --------------------------------------------------------------------------------------------


def test_gbk_file(tmp_path: Path, settings: Settings) -> None:
    doc = parse_file(write(tmp_path / "gbk.txt", GBK_TEXT.encode("gbk")), settings=settings)
    assert doc.text == GBK_TEXT.strip()
    assert doc.meta.language == "zh" and doc.meta.effective == "2025-01-01"


def test_gb18030_only_characters(settings: Settings) -> None:
    text = "第一条 𠮷字与㐀字测试，本办法适用于数据处理活动。"
    assert parse_bytes(text.encode("gb18030"), name="g.txt", settings=settings).text == text


def test_utf8_bom(settings: Settings) -> None:
    doc = parse_bytes(b"\xef\xbb\xbf" + "数据安全法\n第一条 本法适用。".encode(), name="bom.txt", settings=settings)
    assert doc.meta.title == "数据安全法" and not doc.text.startswith("\ufeff")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_with_bom(settings: Settings, encoding: str) -> None:
    text = "个人信息保护法\n第一条 为了保护个人信息权益。Article 1"
    data = text.encode(encoding) if encoding != "utf-16-be" else b"\xfe\xff" + text.encode("utf-16-be")
    assert parse_bytes(data, name="u.txt", settings=settings).text == text


def test_charset_declared_by_http(settings: Settings) -> None:
    html = ARTICLE_HTML.replace('<meta charset="utf-8">', "")
    doc = parse_bytes(html.encode("gbk"), name="https://www.cac.gov.cn/x", content_type="text/html; charset=GBK",
                      settings=settings)
    assert doc.fmt == "html" and "第二十条 本办法自2022年9月1日起施行。" in doc.text


def test_a_wrong_latin1_declaration_does_not_win_over_gbk(settings: Settings) -> None:
    doc = parse_bytes(GBK_TEXT.encode("gbk"), name="n.txt", content_type="text/plain; charset=ISO-8859-1",
                      settings=settings)
    assert doc.text == GBK_TEXT.strip()


def test_declared_big5_is_trusted(settings: Settings) -> None:
    text = "個人資料保護法 第一條 為規範個人資料之蒐集、處理及利用，特制定本法。"
    doc = parse_bytes(text.encode("big5"), name="tw.txt", content_type="text/plain; charset=big5", settings=settings)
    assert doc.text == text


# --- failures: empty, binary, size ------------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"   \n\t\r\n  ", "\u3000\u3000\n\ufeff".encode(), "\ufeff".encode("utf-16")])
def test_empty_and_whitespace_only(settings: Settings, data: bytes) -> None:
    assert fails(data, "e.txt", settings).reason.startswith("empty")


def test_front_matter_without_body_is_empty(settings: Settings) -> None:
    assert fails(b"---\ntitle: Only metadata\n---\n\n", "e.md", settings).reason.startswith("empty")


def test_binary_junk(tmp_path: Path, settings: Settings) -> None:
    path = write(tmp_path / "junk.txt", os.urandom(64 * 1024))
    with pytest.raises(ParseError) as info:
        parse_file(path, settings=settings)
    assert "binary / not a text document" in info.value.reason


def test_control_characters_without_nul_are_binary(settings: Settings) -> None:
    assert "binary" in fails(bytes(range(1, 32)) * 200, "ctl.txt", settings).reason


def test_twenty_megabyte_text(tmp_path: Path, settings: Settings) -> None:
    lines = [f"Article {i} This Law applies to the processing of personal information within the territory."
             for i in range(240_000)]
    body = "\n".join(lines)
    path = write(tmp_path / "big.txt", body)
    assert path.stat().st_size > 20 * 1024 * 1024
    doc = parse_file(path, settings=settings)
    assert len(doc.text) == len(body) and doc.text.endswith(lines[-1])


def test_too_large(tmp_path: Path) -> None:
    small = make_settings(tmp_path, max_file_mb=0.01)
    path = write(tmp_path / "big.md", "Article 1 text.\n" * 1000)
    for call in (lambda: parse_file(path, settings=small), lambda: parse_bytes(path.read_bytes(), name="b", settings=small)):
        with pytest.raises(ParseError) as info:
            call()
        assert info.value.reason.startswith("too large") and "REGWATCH_MAX_FILE_MB" in (info.value.hint or "")


def test_missing_file(tmp_path: Path, settings: Settings) -> None:
    with pytest.raises(ParseError, match="no such file"):
        parse_file(tmp_path / "nope.md", settings=settings)


def test_unexpected_library_errors_become_parse_errors(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    import indexer.parse as parse

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(parse, "build_meta", boom)
    error = fails(b"Article 1 text", "x.txt", settings)
    assert "could not be parsed" in error.reason and "kaboom" in error.reason


# --- HTML -------------------------------------------------------------------------------------------------


def test_html_main_text_without_navigation(settings: Settings) -> None:
    doc = parse_bytes(ARTICLE_HTML.encode(), name="page.html", url="https://www.cac.gov.cn/2022-07/07/c_1.htm",
                      settings=settings)
    assert doc.fmt == "html" and doc.source_path == "https://www.cac.gov.cn/2022-07/07/c_1.htm"
    for junk in ("NAVJUNK", "FOOTERJUNK", "SCRIPTJUNK", "SITEHEADER", "ASIDEJUNK", "color: red"):
        assert junk not in doc.text
    lines = doc.text.splitlines()
    assert "第十二条" in lines and "第一章 总则" in lines  # headings and short article lines keep their own line
    assert any(line.startswith("第二十条 本办法自2022年9月1日起施行") for line in lines)
    assert doc.meta.title == "数据出境安全评估办法"
    assert (doc.meta.published, doc.meta.effective, doc.meta.status) == ("2022-07-07", "2022-09-01", "in_force")
    assert doc.meta.url == "https://www.cac.gov.cn/2022-07/07/c_1.htm"


def test_html_sniffed_without_suffix(settings: Settings) -> None:
    assert parse_bytes(ARTICLE_HTML.encode(), name="download", settings=settings).fmt == "html"


def test_html_fallback_when_trafilatura_finds_nothing(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    import trafilatura

    monkeypatch.setattr(trafilatura, "extract", lambda *a, **k: None)
    doc = parse_bytes(ARTICLE_HTML.encode(), name="page.html", settings=settings)
    assert "NAVJUNK" not in doc.text and "FOOTERJUNK" not in doc.text and "SCRIPTJUNK" not in doc.text
    assert "第十二条" in doc.text.splitlines()
    assert any("plain HTML" in w for w in doc.warnings)


def test_html_title_from_title_tag_without_site_suffix(settings: Settings) -> None:
    html = ("<html><head><title>Interim Measures for Generative AI - China Law Translate</title></head>"
            "<body><article><p>Article 1 These Measures are formulated to promote generative AI.</p>"
            "<p>Article 2 These Measures apply to services offered to the public.</p></article></body></html>")
    assert parse_bytes(html.encode(), name="p.html", settings=settings).meta.title == "Interim Measures for Generative AI"


# --- PDF --------------------------------------------------------------------------------------------------


def test_pdf_text_layer(tmp_path: Path, settings: Settings) -> None:
    pages = [["Data Security Law of the People's Republic of China", "Article 1 This Law is enacted (for data)."],
             ["Article 12 Page two carries this article."]]
    doc = parse_file(write(tmp_path / "dsl.pdf", make_text_pdf(pages)), settings=settings)
    assert doc.fmt == "pdf"
    assert "Article 1 This Law is enacted (for data)." in doc.text
    assert "Article 12 Page two carries this article." in doc.text.splitlines()
    assert doc.meta.title == "Data Security Law of the People's Republic of China" and doc.meta.doc_type == "law"


def test_pdf_sniffed_by_magic_bytes_whatever_the_name(settings: Settings) -> None:
    assert parse_bytes(make_text_pdf([["Article 1 Text."]]), name="download.bin", settings=settings).fmt == "pdf"


def test_encrypted_pdf(settings: Settings) -> None:
    error = fails(make_encrypted_pdf(["Secret regulation text"]), "enc.pdf", settings)
    assert "encrypted" in error.reason and error.hint


def test_pdf_with_empty_user_password_is_read(settings: Settings) -> None:
    from io import BytesIO

    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(BytesIO(make_text_pdf([["Article 1 Print-restricted text."]]))))
    writer.encrypt(user_password="", owner_password="owner", algorithm="RC4-128")
    out = BytesIO()
    writer.write(out)
    assert "Article 1 Print-restricted text." in parse_bytes(out.getvalue(), name="r.pdf", settings=settings).text


def test_scanned_pdf_without_text_layer(settings: Settings) -> None:
    error = fails(make_scanned_pdf(), "scan.pdf", settings)
    assert error.reason == "no text layer (scanned?)" and "OCR" in (error.hint or "")


@pytest.mark.parametrize("keep", [0.2, 0.5, 0.8])
def test_truncated_pdf(settings: Settings, keep: float) -> None:
    data = make_text_pdf([["Article 1 Some text."] * 20])
    assert "not a readable PDF" in fails(data[: int(len(data) * keep)], "cut.pdf", settings).reason


def test_pdf_name_but_not_a_pdf(settings: Settings) -> None:
    assert "not a readable PDF" in fails(b"<html>an error page</html>", "x.pdf", settings).reason


# --- DOCX -------------------------------------------------------------------------------------------------


def test_docx_headings_paragraphs_and_table(tmp_path: Path, settings: Settings) -> None:
    data = make_docx(
        "数据分类分级规则",
        [("第一章 总则", ["第一条 为了规范数据分类分级，制定本规则。", "第二条 本规则适用于数据处理者。"]),
         ("第二章 分级", ["第十二条 数据分为核心数据、重要数据、一般数据三个级别。"])],
        table=[["级别", "含义"], ["核心数据", "关系国家安全"]],
    )
    doc = parse_file(write(tmp_path / "rules.docx", data), settings=settings)
    lines = doc.text.splitlines()
    assert doc.fmt == "docx"
    assert lines[0] == "数据分类分级规则" and "第一章 总则" in lines and "第二章 分级" in lines
    assert "第十二条 数据分为核心数据、重要数据、一般数据三个级别。" in lines
    assert "级别 | 含义" in lines and "核心数据 | 关系国家安全" in lines
    assert doc.meta.title == "数据分类分级规则" and doc.meta.language == "zh"


def test_docx_core_title_is_a_title_hint(settings: Settings) -> None:
    data = make_docx("Cover", [("1 Scope", ["Text of the scope."])], core_title="Guidelines on Data Export")
    doc = parse_bytes(data, name="g.docx", settings=settings)
    assert (doc.meta.title, doc.meta.doc_type) == ("Guidelines on Data Export", "guideline")


@pytest.mark.parametrize("data", [b"PK\x03\x04 not really a zip", b"plain words", b""])
def test_corrupt_docx(settings: Settings, data: bytes) -> None:
    good = make_docx("T", [("H", ["p"])])
    bad = data or good[: len(good) // 2]
    assert "not a readable DOCX" in fails(bad, "broken.docx", settings).reason


def test_legacy_doc_and_other_zips_are_refused_clearly(settings: Settings) -> None:
    assert "legacy Word" in fails(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "old.doc", settings).reason
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.txt", "hello")
    assert "ZIP archive" in fails(buf.getvalue(), "bundle.zip", settings).reason


# --- sidecars and fetched content -------------------------------------------------------------------------


def test_sidecar_next_to_a_pdf(tmp_path: Path, settings: Settings) -> None:
    path = write(tmp_path / "std.pdf", make_text_pdf([["Information security technology", "1 Scope"]]))
    write(tmp_path / "std.pdf.meta.yaml", "title: GB/T 35273-2020 个人信息安全规范\ndoc_type: national standard\n"
                                          "status: 现行有效\neffective: 2020-10-01\ntopics: personal-information\n")
    meta = parse_file(path, settings=settings).meta
    assert (meta.title, meta.doc_type, meta.status) == ("GB/T 35273-2020 个人信息安全规范", "standard", "in_force")
    assert (meta.effective, meta.topics, meta.standard_number) == ("2020-10-01", ["personal-information"], "GB/T 35273-2020")


def test_stem_sidecar_overrides_front_matter(tmp_path: Path, settings: Settings) -> None:
    path = write(tmp_path / "PIPL.md", MD)
    write(tmp_path / "PIPL.meta.yaml", "status: partly_superseded\nreviewer: legal-team\n")
    meta = parse_file(path, settings=settings).meta
    assert (meta.status, meta.doc_type, meta.extra["reviewer"]) == ("partly_superseded", "law", "legal-team")


def test_invalid_sidecar(tmp_path: Path, settings: Settings) -> None:
    path = write(tmp_path / "a.md", "Article 1 text")
    write(tmp_path / "a.md.meta.yaml", "- just\n- a list\n")
    with pytest.raises(ParseError, match="sidecar"):
        parse_file(path, settings=settings)


def test_parse_bytes_source_defaults(settings: Settings) -> None:
    defaults = {"issuer": "CAC", "doc_type": "regulation", "topics": ["cross-border"], "jurisdiction": "CN"}
    doc = parse_bytes("促进和规范数据跨境流动规定\n第十四条 本规定自公布之日起施行。".encode(), name="c.htm",
                      content_type="text/plain", url="https://www.cac.gov.cn/c.htm", settings=settings,
                      extra_meta=defaults)
    assert (doc.meta.issuer, doc.meta.doc_type, doc.meta.topics) == ("CAC", "regulation", ["cross-border"])
    assert doc.source_path == "https://www.cac.gov.cn/c.htm"
    # front matter in the body knows better than the source's defaults
    doc = parse_bytes(MD.encode(), name="x.md", settings=settings, extra_meta=defaults)
    assert (doc.meta.issuer, doc.meta.doc_type, doc.meta.topics) == ("全国人民代表大会常务委员会", "law", ["personal-information"])


# --- walking folders --------------------------------------------------------------------------------------


def test_iter_documents(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    for rel in ("b.md", "a.txt", "c.pdf", "d.docx", "e.html", "zh/f.md", "zh/a.md", "image.png", "notes.yaml",
                "a.txt.meta.yaml", "c.meta.yaml", ".hidden.md", ".git/config.md", "README.md"):
        write(root / rel, "x")
    write(root / "zh" / "README.md", "---\ntitle: A documented folder note\n---\nText.\n")
    found = [p.relative_to(root).as_posix() for p in iter_documents([root])]
    assert found == ["a.txt", "b.md", "c.pdf", "d.docx", "e.html", "zh/README.md", "zh/a.md", "zh/f.md"]
    # files named directly are yielded as given, once
    again = list(iter_documents([root / "b.md", root, root / "image.png"]))
    assert again[0] == root / "b.md" and again.count(root / "b.md") == 1 and again[-1] == root / "image.png"
    with pytest.raises(ParseError):
        list(iter_documents([tmp_path / "missing"]))


def test_supported_suffixes() -> None:
    assert {".md", ".txt", ".html", ".htm", ".pdf", ".docx"} <= SUPPORTED_SUFFIXES


# --- the shared corpus ------------------------------------------------------------------------------------


def test_all_shared_regulations_parse(settings: Settings) -> None:
    if not REGULATIONS.is_dir():
        pytest.skip(f"shared regulations not found at {REGULATIONS} (they sit beside the repo on dev and CI machines)")
    files = list(iter_documents([REGULATIONS]))
    assert len(files) == 37
    docs = {p.relative_to(REGULATIONS).as_posix(): parse_file(p, settings=settings) for p in files}
    for rel, doc in docs.items():
        meta = doc.meta
        assert meta.title.strip(), rel
        assert meta.doc_type in DOC_TYPES and meta.status in STATUSES and meta.language in LANGUAGES, rel
        assert doc.warnings == [], rel
        if rel.startswith("zh/"):
            assert meta.language == "zh", rel
    assert docs["zh/PIPL_2021_zh.md"].meta.effective == "2021-11-01"
    assert docs["en/PIPL_2021_en.md"].meta.effective == "2021-11-01"
    assert docs["zh/CSL_2016_zh.md"].meta.superseded_by == ["zh/CSL_2026-consolidated_zh"]
    assert docs["standards/GB-T-43697-2024_data-classification-and-grading-rules.md"].meta.standard_number == "GB/T 43697-2024"
    assert docs["commentary/000_cc868663fbb93803.md"].meta.published is None
