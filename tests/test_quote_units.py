"""Quotes keep the sense: whole paragraphs, a list's lead-in with its items, never a heading alone, the paragraph
that answers first, and a quote in the other language beside its translation or a note (bot/quote.py,
bot/quoting.py). On a small corpus of its own (tests/fixtures_docs.py QUOTE_CORPUS), and on the shared texts."""

from __future__ import annotations

import re

import pytest

from bot.answer import Asker
from bot.evidence import Concept
from bot.quote import asked_facts, is_heading, largest_amount, lines_of, pick
from bot.types import Answer, Filters
from indexer.tokenize import tokenize
from tests.conftest import make_settings
from tests.fixtures_docs import QUOTE_CORPUS, write_quote_corpus

pytestmark = pytest.mark.slow

FINE_PARAGRAPH = next(x for x in QUOTE_CORPUS["en/Data-Care-Law_en.md"].split("\n") if x.startswith("In case of"))
LEAD_IN = "Data processors may provide personal data to a recipient outside the Republic if one of the following " \
          "conditions is met:"


@pytest.fixture(scope="module")
def asker(tmp_path_factory: pytest.TempPathFactory) -> Asker:
    from indexer.pipeline import Indexer

    root = tmp_path_factory.mktemp("quote-corpus")
    docs = write_quote_corpus(root)
    # A small passage budget, so that Article 4 is split in two parts as the PIPL's Article 66 is at 1,500.
    settings = make_settings(root / "data", max_passage_chars=700)
    idx = Indexer(settings)
    try:
        report = idx.index_paths([docs])
    finally:
        idx.close()
    assert report.failed == 0, report.errors
    return Asker(settings)


def _quotes(a: Answer) -> list[str]:
    return [m.group(1) for m in re.finditer(r"“(.+?)” \[\d+\]", a.answer)] + [c.quote for c in a.citations]


def _pieces(quote: str) -> list[str]:
    return [p.strip() for p in re.split(r"…|\n", quote) if p.strip()]


def _lead(a: Answer) -> str:
    m = re.search(r"“(.+?)” \[\d+\]", a.answer)
    assert m, a.answer
    return m.group(1)


def test_maximum_fine_is_the_later_paragraph_quoted_whole(asker: Asker) -> None:
    a = asker.ask("What is the maximum fine when the circumstances of a data care violation are serious?")
    assert not a.abstained, a.answer
    lead = _lead(a)
    assert "RMB 50 million yuan or not more than five percent of the previous year's turnover" in lead
    assert FINE_PARAGRAPH in lead  # the whole paragraph, not cut after the first amount
    assert lead.startswith("…")  # the article's first paragraph is left out, and the quote says so
    assert a.citations[0].section == "Article 4"


def test_chinese_maximum_fine_is_the_later_paragraph(asker: Asker) -> None:
    a = asker.ask("情节严重的数据处理违法行为最高罚款是多少？")
    assert not a.abstained, a.answer
    assert "五千万元以下或者上一年度营业额百分之五以下罚款" in _lead(a)


def test_an_item_comes_with_its_lead_in(asker: Asker) -> None:
    a = asker.ask("Can data processors provide personal data to a recipient outside the Republic under a standard "
                  "contract?")
    assert not a.abstained, a.answer
    c = next(c for c in a.citations if c.section == "Article 2")
    assert c.quote.splitlines()[0].endswith(LEAD_IN)
    assert any(x.startswith("(3)") for x in c.quote.splitlines())
    for q in _quotes(a):
        if "(3) they have concluded" in q:
            assert "one of the following conditions is met" in q  # never the item alone: 'one of' is the sense
            if "(1)" not in q:
                assert "…" in q  # the items left out are shown as left out


def test_a_list_asked_as_a_whole_is_quoted_with_every_item(asker: Asker) -> None:
    a = asker.ask("Under what conditions may data processors provide personal data outside the Republic?")
    assert not a.abstained, a.answer
    lead = _lead(a)
    assert LEAD_IN.removeprefix("Data processors") in lead
    assert all(f"({i})" in lead for i in (1, 2, 3))


def test_hard_wrapped_record_is_quoted_as_whole_sentences(asker: Asker) -> None:
    a = asker.ask("What volume thresholds did the final quantum gateway provisions add?")
    assert not a.abstained, a.answer
    joined = " ".join(_quotes(a))
    assert "added volume-based thresholds (e.g. fewer than 100,000 gateway users a year exempt for small operators)" \
        in joined
    for q in _quotes(a):
        for piece in _pieces(q):
            assert not piece.startswith(("thresholds (e.g.", "inspection, certification")), piece


def test_fact_record_headings_are_never_quoted(asker: Asker) -> None:
    a = asker.ask("When was the comment deadline of the quantum gateway filing draft?")
    assert not a.abstained, a.answer
    assert "15 Oct 2023" in " ".join(_quotes(a))
    for q in _quotes(a):
        assert q.strip("… ") not in ("FACTS", "SUMMARY (own words)")
        for piece in _pieces(q):
            assert piece not in ("FACTS", "SUMMARY (own words)"), q


def test_english_question_on_a_chinese_only_rule_says_so_in_english(asker: Asker) -> None:
    a = asker.ask("Within how many working days must drone owners complete real-name registration?",
                  filters=Filters(language=["zh"]))
    assert not a.abstained, a.answer
    assert "十五个工作日" in a.answer
    assert "Only the Chinese text of this instrument is indexed" in a.answer
    assert "无人机登记办法 Article 2" in a.answer


def test_chinese_quote_for_an_english_question_comes_with_its_translation(asker: Asker) -> None:
    a = asker.ask("How long must data care impact assessment records be kept?", filters=Filters(language=["zh"]))
    assert not a.abstained, a.answer
    assert "至少保存三年" in a.answer
    assert "The same article in English (DCL Article 3)" in a.answer
    assert "at least three years" in a.answer
    assert {c.language for c in a.citations} >= {"zh", "en"}


def test_units_of_a_passage() -> None:
    text = "FACTS\n- Document type: draft rules\n- Comment deadline: 15 Oct 2023"
    assert is_heading("FACTS") and is_heading("SUMMARY (own words)") and not is_heading("- Comment deadline: 15 Oct")

    def toks(line: str) -> frozenset[str]:
        return frozenset(tokenize(line))

    p = pick(text, "FACTS", [], toks)
    assert p.units and all(lines_of(text)[i] != "FACTS" for i in p.indices)
    assert pick("FACTS\nSUMMARY", "FACTS", [], toks).units == []  # nothing but labels: nothing to quote
    duties = ("Article 58 A platform operator shall perform the following obligations:\n"
              "(1) set up an independent body to supervise personal information protection;\n"
              "(2) formulate platform rules;\n"
              "(3) publish personal information protection reports regularly.\n"
              "The operator shall keep the reports for three years.")
    concepts = [Concept(w, [frozenset(tokenize(w, bigrams=False))], 1.0) for w in ("publish", "reports")]
    p = pick(duties, "Must a platform publish personal information protection reports?", concepts, toks)
    quoted = p.text(sep="\n").splitlines()
    assert quoted[0].startswith("Article 58") and "(3) publish personal information protection reports" in \
        quoted[-2] and quoted[-1] == "…"  # the lead-in, the item that answers, and '…' for what is left out
    assert "…" in quoted[1] and not any(x.startswith("(2)") for x in quoted)
    assert largest_amount("a fine of not more than RMB 50 million yuan or RMB 10,000 yuan") == 50_000_000
    assert largest_amount("处五千万元以下罚款；处一万元以上十万元以下罚款") == 50_000_000
    assert asked_facts("What is the maximum fine?") == {"amount"}
    assert "period" in asked_facts("个人信息保护影响评估报告需要保存几年？")


# --- on the shared texts ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_asker(shared_index) -> Asker:  # type: ignore[no-untyped-def]
    return Asker(shared_index)


def test_shared_pipl_article_66_maximum_is_quoted_whole(shared_asker: Asker) -> None:
    a = shared_asker.ask("What is the maximum fine for a serious PIPL violation?")
    assert not a.abstained, a.answer
    first = a.answer.splitlines()[0]
    assert first.startswith("PIPL Article 66")
    assert "impose a fine of not more than RMB 50 million yuan or not more than five percent of the previous " \
           "year's turnover" in first
    # the paragraph is whole: it runs on to its last words
    assert "or the persons in charge of relevant companies within a specific period of time." in first


def test_shared_ndsmr_article_35_lead_in_comes_with_its_items(shared_asker: Asker) -> None:
    a = shared_asker.ask("Under what conditions may network data processors provide personal information overseas "
                         "under the Network Data Regulations?")
    assert not a.abstained, a.answer
    art35 = [c for c in a.citations if c.section == "Article 35" and c.doc_id.startswith("network-data")]
    assert art35, a.answer
    lines = art35[0].quote.splitlines()
    assert lines[0].endswith("may provide personal information overseas if one of the following conditions is met:")
    assert any(x.startswith("(1) they have passed the data outbound transfer security assessment") for x in lines)
    for m in re.finditer(r"“(.+?)” \[(\d+)\]", a.answer):
        if "(1) they have passed" in m.group(1):
            assert "one of the following conditions is met" in m.group(1)


@pytest.mark.parametrize("q", [
    "What was the comment deadline for the 2023 draft cross-border data flow provisions?",
    "When is GB/T 43697-2024 implemented?",
])
def test_shared_fact_records_never_quote_a_heading_alone(shared_asker: Asker, q: str) -> None:
    a = shared_asker.ask(q)
    assert not a.abstained, a.answer
    for quote in _quotes(a):
        for piece in _pieces(quote):
            assert not is_heading(piece), (piece, a.answer)
            assert piece not in ("FACTS", "SUMMARY (own words)", "SOURCES CONSULTED", "CAVEATS")
