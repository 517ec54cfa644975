"""All of ../shared/regulations indexed once: every document, every article as its own citable passage."""

from __future__ import annotations

import pytest

from indexer.db import get_engine
from indexer.ledger import Ledger

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ledger(shared_index):  # type: ignore[no-untyped-def]
    return Ledger(get_engine(shared_index))


def _doc(ledger: Ledger, suffix: str) -> dict:
    return next(d for d in ledger.docs() if d["source_path"].endswith(suffix))


def _articles(ledger: Ledger, suffix: str) -> list[int]:
    rows = ledger.passages_of(_doc(ledger, suffix)["doc_id"])
    return sorted({r["section_number"] for r in rows if r["section_kind"] == "article"})


def test_every_shared_document_is_indexed(ledger: Ledger) -> None:
    docs = ledger.docs()
    assert len(docs) == 37
    assert all(d["current_version"] == 1 and d["pending_version"] is None for d in docs)
    assert {d["language"] for d in docs} == {"en", "zh"}


@pytest.mark.parametrize(
    ("suffix", "n"),
    [("en/PIPL_2021_en.md", 74), ("en/DSL_2021_en.md", 55), ("zh/PIPL_2021_zh.md", 74),
     ("en/Network-Data-Security-Management-Regulations_2024_en.md", 64)],
)
def test_article_counts(ledger: Ledger, suffix: str, n: int) -> None:
    assert _articles(ledger, suffix) == list(range(1, n + 1))


def test_passages_carry_locator_chapter_and_document_metadata(ledger: Ledger) -> None:
    pipl = _doc(ledger, "zh/PIPL_2021_zh.md")
    art = next(r for r in ledger.passages_of(pipl["doc_id"]) if r["section_number"] == 29)
    assert art["section"] == "第二十九条"
    assert art["chapter_path"][0].startswith("第二章")
    assert art["version"] == 1
    meta = pipl["meta"]
    assert (meta["doc_type"], meta["status"], meta["effective"]) == ("law", "in_force", "2021-11-01")
    old = _doc(ledger, "zh/CSL_2016_zh.md")
    assert old["status"] == "superseded"
    draft = _doc(ledger, "standards/TC260_2024-05-23_draft-GBT_GenAI-service-basic-security-requirements.md")
    assert draft["status"] == "draft"


def test_each_new_document_is_a_recorded_change(ledger: Ledger) -> None:
    kinds = {c["doc_id"]: c["kind"] for c in ledger.changes_since()}
    assert len(kinds) == 37
    assert kinds[_doc(ledger, "en/PIPL_2021_en.md")["doc_id"]] == "new_regulation"
    assert kinds[_doc(ledger, "standards/GB-T-43697-2024_data-classification-and-grading-rules.md")["doc_id"]] == "new_standard"
    assert kinds[_doc(ledger, "standards/TC260_2024-04_GenAI-pretraining-data-security-spec-draft.md")["doc_id"]] == "new_draft"


def test_stores_agree(shared_index) -> None:  # type: ignore[no-untyped-def]
    from indexer.embed import model_identity
    from indexer.lexical import LexicalIndex
    from indexer.vectorstore import VectorStore

    ledger = Ledger(get_engine(shared_index))
    live = ledger.live_passage_ids()
    assert VectorStore(shared_index, model_id=model_identity(shared_index)).all_ids() == live
    lex = LexicalIndex(shared_index.lexical_path)
    assert {r[0] for r in lex.conn.execute("SELECT passage_id FROM fts")} == live
