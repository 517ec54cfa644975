"""`ask` end to end on the tests' own small bilingual corpus (tests/corpus): runs on a bare clone, with the default
embedding model (multilingual-e5-small), no ../shared needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import make_settings

CORPUS = Path(__file__).resolve().parent / "corpus"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from indexer.pipeline import Indexer

    settings = make_settings(tmp_path_factory.mktemp("small-ask"))
    idx = Indexer(settings)
    try:
        report = idx.index_paths([CORPUS / "en", CORPUS / "zh"])
    finally:
        idx.close()
    assert report.added == 5 and not report.errors
    return settings


@pytest.fixture(scope="module")
def retriever(small):  # type: ignore[no-untyped-def]
    from bot.retrieve import Retriever

    return Retriever(small)


def _top(retriever, q: str, k: int = 3) -> list[tuple[str, int | None]]:  # type: ignore[no-untyped-def]
    return [(h.doc.doc_id, h.section_number) for h in retriever.search(q, k=k).hits]


def test_english_question_in_users_words(retriever) -> None:  # type: ignore[no-untyped-def]
    top = _top(retriever, "Do we need our customers' consent before giving their personal information to a partner company?")
    assert {("example-data-rules_2024_en", 2), ("example-data-rules_2024_zh", 2)} & set(top[:2])


def test_chinese_question(retriever) -> None:  # type: ignore[no-untyped-def]
    top = _top(retriever, "用户信息被泄露了，我们最晚多久要交书面报告？")
    assert top[0] in {("example-data-rules_2024_zh", 4), ("example-data-rules_2024_en", 4)}


def test_english_question_finds_a_rule_that_exists_only_in_chinese(retriever) -> None:  # type: ignore[no-untyped-def]
    hits = retriever.search("For how many years does an export security assessment result stay valid?", k=5).hits
    places = [(h.doc.doc_id, h.section_number) for h in hits]
    assert ("example-export-measures_2025_zh", 3) in places[:3]
    if ("example-export-measures_2022_zh", 3) in places:  # the superseded text ranks below the one in force
        assert places.index(("example-export-measures_2025_zh", 3)) < places.index(("example-export-measures_2022_zh", 3))


def test_an_article_named_outright_comes_first(retriever) -> None:  # type: ignore[no-untyped-def]
    assert _top(retriever, "EDPR Article 5")[0] == ("example-data-rules_2024_en", 5)
    assert _top(retriever, "示例数据规则第三条")[0] == ("example-data-rules_2024_zh", 3)


def test_draft_is_flagged(retriever) -> None:  # type: ignore[no-untyped-def]
    hit = retriever.search("Do AI-generated images need a visible label?", k=3).hits[0]
    assert hit.doc.status == "draft" and hit.caveat and "raft" in hit.caveat


def test_answer_quotes_the_amount_and_unanswerable_abstains(small) -> None:  # type: ignore[no-untyped-def]
    from bot.answer import Asker

    asker = Asker(small)
    a = asker.ask("What is the maximum fine under the EDPR when the violation is serious?")
    assert not a.abstained and "50 million" in a.answer
    assert asker.ask("What overtime pay rate applies to weekend work in Germany?").abstained
