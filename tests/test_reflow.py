"""Hard-wrapped lines are joined into paragraphs at parse time; lists, headings, tables and Chinese text keep their
lines; long articles split only between paragraphs and items, with the lead-in repeated."""

from __future__ import annotations

from pathlib import Path

from indexer.parse import parse_bytes, parse_file
from indexer.reflow import join_wrapped_lines
from indexer.structure import blocks, split_passages
from tests.conftest import make_settings, require_shared
from tests.fixtures_docs import make_text_pdf

WRAPPED = """SUMMARY (own words)
CAC proposed a set of clarifications and exemptions to ease the three outbound-transfer mechanisms (security
assessment, standard contract, certification). The final 2024 Provisions kept the approach and added volume-based
thresholds (e.g. <100k individuals' non-sensitive PI per year exempt for non-CIIOs) and free-trade-zone negative lists.

FACTS
- Document type: CAC departmental rules, draft for public comment, with a long description that wraps onto a
  second line in the source file
- Comment deadline: 15 Oct 2023

| Mechanism | Threshold |
|---|---|
| Security assessment | more than one million individuals |

## 3. Scope of the rules that apply to processors
Processors that handle the personal information of more than one million individuals must apply for an assessment.
"""


def test_hard_wrapped_paragraph_is_joined_into_one_line() -> None:
    out = join_wrapped_lines(WRAPPED).split("\n")
    para = next(x for x in out if x.startswith("CAC proposed"))
    assert "(security assessment, standard contract, certification). The final 2024 Provisions" in para
    assert para.endswith("free-trade-zone negative lists.")
    assert "thresholds (e.g. <100k" in para  # the fragment the issue saw as a quote's start is mid-line now
    assert not any(x.startswith(("assessment,", "thresholds")) for x in out)


def test_lists_headings_and_tables_keep_their_lines() -> None:
    out = join_wrapped_lines(WRAPPED).split("\n")
    assert "SUMMARY (own words)" in out and "FACTS" in out
    assert "- Comment deadline: 15 Oct 2023" in out
    # a wrapped list item takes its continuation line, and stays an item
    assert any(x.startswith("- Document type:") and x.endswith("second line in the source file") for x in out)
    assert "|---|---|" in out and "| Security assessment | more than one million individuals |" in out
    assert "## 3. Scope of the rules that apply to processors" in out


def test_chinese_wrapped_lines_join_without_a_space_and_articles_stay_apart() -> None:
    text = ("第一条 为了规范数据处理活动，保障数据安全，促进数据开发利用，保护个人、组织的\n"
            "合法权益，维护国家主权、安全和发展利益，制定本法。\n"
            "第二条 在中华人民共和国境内开展数据处理活动及其安全监管，适用本法。\n"
            "有下列情形之一的，适用本法：\n（一）以向境内自然人提供产品或者服务为目的；\n（二）分析、评估境内自然人的行为。")
    out = join_wrapped_lines(text).split("\n")
    assert out[0] == ("第一条 为了规范数据处理活动，保障数据安全，促进数据开发利用，保护个人、组织的合法权益，"
                      "维护国家主权、安全和发展利益，制定本法。")
    assert out[1].startswith("第二条") and out[2] == "有下列情形之一的，适用本法："
    assert out[3].startswith("（一）") and out[4].startswith("（二）")


def test_title_and_short_lines_are_not_joined() -> None:
    text = "中华人民共和国个人信息保护法\n（2021年8月20日第十三届全国人民代表大会常务委员会第三十次会议通过）"
    assert join_wrapped_lines(text) == text


def test_markdown_and_pdf_are_joined_at_parse_time(tmp_path: Path) -> None:
    s = make_settings(tmp_path)
    md = ("---\ntitle: Wrapped brief\ndoc_type: commentary\n---\n\n" + WRAPPED).encode()
    doc = parse_bytes(md, name="brief.md", settings=s)
    assert "(security assessment, standard contract" in doc.text
    lines = ["Article 1 A processor that provides personal information abroad shall obtain the",
             "separate consent of the individual and shall inform the individual of the recipient."]
    pdf = parse_bytes(make_text_pdf([lines]), name="a.pdf", settings=s)
    assert "obtain the separate consent" in pdf.text


def test_long_article_splits_between_paragraphs_and_repeats_the_lead_in() -> None:
    lead = "Article 9 Processors may transfer data abroad if one of the following conditions is met:"
    items = [f"({i}) condition number {i} " + "is described in words that take some room " * 4 + ";"
             for i in range(1, 9)]
    para = "In case of serious circumstances, a fine of not more than RMB 50 million yuan shall be imposed."
    text = "\n".join([lead, *items, para])
    ps = split_passages("d", text, max_chars=700, overlap=100)
    assert len(ps) >= 3
    for p in ps:
        first = p.text.split("\n")[0]
        if any(x.startswith("(") for x in p.text.split("\n")):
            assert first == lead, p.text  # every part that holds items starts with their lead-in
        for line in p.text.split("\n"):  # every line is a whole item, lead-in or paragraph
            assert line in text.split("\n")
    assert ps[-1].text.split("\n")[-1] == para
    assert blocks(text)[0][0] == lead and len(blocks(text)[0]) == 9


def test_shared_pipl_article_66_parts_are_its_two_paragraphs(tmp_path: Path) -> None:
    shared_regulations = require_shared()
    s = make_settings(tmp_path)
    doc = parse_file(shared_regulations / "en" / "PIPL_2021_en.md", settings=s)
    parts = [p for p in split_passages("pipl", doc.text, max_chars=s.max_passage_chars,
                                       overlap=s.passage_overlap_chars) if p.section == "Article 66"]
    assert parts[-1].text.startswith("In case of an illegal act as prescribed in the preceding paragraph")
    assert "RMB 50 million yuan or not more than five percent" in parts[-1].text
