"""Passages follow the document's own structure, in English and Chinese, with stable ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.numerals import int_to_zh, zh_to_int
from indexer.structure import split_passages
from tests.conftest import require_shared


def _body(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    return text.split("\n---\n", 1)[1] if text.startswith("---") else text


def _articles(passages):  # type: ignore[no-untyped-def]
    return sorted({p.section_number for p in passages if p.section_kind == "article"})


@pytest.mark.parametrize(
    ("rel", "n"),
    [
        ("en/PIPL_2021_en.md", 74),
        ("en/DSL_2021_en.md", 55),
        ("zh/PIPL_2021_zh.md", 74),
        ("en/Network-Data-Security-Management-Regulations_2024_en.md", 64),
        ("zh/Network-Data-Security-Management-Regulations_2024_zh.md", 64),
        ("zh/CSL_2016_zh.md", 79),
        ("zh/CSL_2026-consolidated_zh.md", 81),
    ],
)
def test_every_article_of_the_shared_texts_is_its_own_passage(rel: str, n: int) -> None:
    ps = split_passages("d", _body(require_shared() / rel))
    assert _articles(ps) == list(range(1, n + 1))


def test_chinese_locators_and_chapter_paths() -> None:
    ps = split_passages("pipl-zh", _body(require_shared() / "zh/PIPL_2021_zh.md"))
    art38 = next(p for p in ps if p.section_number == 38)
    assert art38.section == "第三十八条"
    assert art38.chapter_path == ["第三章 个人信息跨境提供的规则"]
    assert art38.text.startswith("第三十八条")
    art29 = next(p for p in ps if p.section_number == 29)
    assert art29.chapter_path[-1].startswith("第二节")  # sections (节) nest under chapters (章)


def test_english_chapter_title_on_its_own_line_is_joined() -> None:
    ps = split_passages("dsl", _body(require_shared() / "en/DSL_2021_en.md"))
    art21 = next(p for p in ps if p.section_number == 21)
    assert art21.section == "Article 21"
    assert art21.chapter_path == ["Chapter III Data Security Systems"]


def test_cross_reference_at_line_start_is_not_a_new_article() -> None:
    text = "第一条 总则。\n第二条 适用范围。\n第十三条规定的情形，不适用本条。\n第三条 定义。"
    ps = split_passages("d", text)
    assert [p.section_number for p in ps] == [1, 2, 3]
    assert "第十三条规定的情形" in ps[1].text


def test_long_article_is_split_with_overlap_and_keeps_its_locator() -> None:
    sentence = "The processor shall keep records of every transfer made under this Article. "
    text = "Article 1 Short.\n\nArticle 2 " + sentence * 60 + "\n\nArticle 3 Short again."
    ps = split_passages("d", text, max_chars=500, overlap=100)
    parts = [p for p in ps if p.section_number == 2]
    assert len(parts) >= 5
    assert all(p.section == "Article 2" and p.parts == len(parts) for p in parts)
    assert [p.part for p in parts] == list(range(1, len(parts) + 1))
    assert all(len(p.text) <= 500 for p in parts)
    # overlap: each part starts with text from the end of the previous one
    assert parts[1].text[:40] in parts[0].text
    assert len({p.id for p in ps}) == len(ps)


def test_passage_ids_are_stable_across_runs_and_versions() -> None:
    v1 = "Article 1 Scope.\nArticle 2 Consent is required.\nArticle 3 Penalties."
    v2 = "Article 1 Scope.\nArticle 2 Separate consent is required.\nArticle 3 Penalties."
    a, b = split_passages("doc", v1), split_passages("doc", v2)
    assert [p.id for p in a] == [p.id for p in split_passages("doc", v1)]
    assert [p.id for p in a] == [p.id for p in b]  # same articles, same ids: a new version replaces them
    assert a[1].text_hash != b[1].text_hash
    assert split_passages("other", v1)[0].id != a[0].id


def test_repeated_locator_gets_distinct_ids() -> None:
    text = "Article 1 A.\nArticle 2 B.\nArticle 1 quoted again in an annex.\nArticle 2 also."
    ps = split_passages("d", text)
    assert len({p.id for p in ps}) == len(ps)


def test_documents_without_articles_split_at_headings_then_paragraphs() -> None:
    text = "FACTS\n- issued 2024\n- effective 2024-10-01\n\nSUMMARY (own words)\nThe standard grades data.\n\n" \
           "## 3. Important data\nCore, important and general data.\n"
    ps = split_passages("d", text)
    assert [p.section for p in ps] == ["FACTS", "SUMMARY (own words)", "3. Important data"]
    assert all(p.section_kind == "heading" and p.section_number is None for p in ps)
    plain = "\n\n".join(f"Paragraph {i} " + "word " * 80 for i in range(12))
    ps = split_passages("d", plain, max_chars=1000)
    assert len(ps) > 3 and all(p.section.startswith("¶") for p in ps)
    assert "Paragraph 0" in ps[0].text and "Paragraph 11" in ps[-1].text


@pytest.mark.parametrize("n", [1, 9, 10, 11, 20, 29, 38, 55, 64, 74, 100, 101, 110, 119, 999])
def test_chinese_numerals_round_trip(n: int) -> None:
    assert zh_to_int(int_to_zh(n)) == n


def test_chinese_numeral_forms() -> None:
    assert zh_to_int("二十九") == 29
    assert zh_to_int("一百零三") == 103
    assert zh_to_int("十") == 10
    assert zh_to_int("３８") == 38
    assert zh_to_int("条") is None
