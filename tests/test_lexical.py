"""The FTS5 lexical index: pruned candidate queries, BM25 re-scoring with the whole question, cached statistics."""

from __future__ import annotations

from pathlib import Path

import pytest

import indexer.lexical as lexical
from indexer.lexical import LexicalIndex


@pytest.fixture
def lex(tmp_path: Path) -> LexicalIndex:
    ix = LexicalIndex(tmp_path / "lexical.sqlite")
    filler = [(f"f{i}", f"filler text number {i} about common things") for i in range(30)]
    ix.replace_document("d", 1, [
        ("a", "beta clause on retention"), ("b", "gamma clause on retention"),
        ("r1", "rare duty plain care"), ("r2", "rare duty common care"), *filler,
    ])
    return ix


def test_a_word_asked_twice_counts_twice(lex: LexicalIndex) -> None:
    # FTS5 ORs de-duplicated terms, so 'a' and 'b' tie there; the re-scoring counts gamma twice.
    hits = lex.search(["beta", "gamma", "gamma"], 5)
    assert [p for p, _ in hits[:2]] == ["b", "a"] and hits[0][1] > hits[1][1]
    plain = lex.search(["beta", "gamma", "gamma"], 5, rescore=False)
    assert {p for p, _ in plain[:2]} == {"a", "b"} and plain[0][1] == pytest.approx(plain[1][1])


def test_common_words_left_out_of_the_query_still_order_the_candidates(lex: LexicalIndex) -> None:
    assert lex._select_terms(["rare", "common"]) == ["rare"]  # 'common' is in most passages
    hits = lex.search(["rare", "common"], 5)
    assert [p for p, _ in hits] == ["r2", "r1"]  # only 'rare' passages are candidates; 'common' ranks them


def test_postings_budget_keeps_the_rarest_terms(lex: LexicalIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lexical, "COMMON_SHARE", 1.0)
    from indexer.tokenize import tokenize

    terms = tokenize("filler beta gamma rare retention")  # index tokens are stems ("retent")
    assert set(lex._select_terms(terms)) == set(terms)
    monkeypatch.setattr(lexical, "POSTINGS_BUDGET", 3)
    assert lex._select_terms(terms) == ["beta", "gamma", "rare"]  # the three rarest always stay


def test_own_writes_refresh_the_cached_statistics(lex: LexicalIndex) -> None:
    assert lex.search(["zeta"], 5) == []
    n = lex._rows()
    lex.replace_document("e", 1, [("z", "zeta rule")])
    assert lex._rows() == n + 1
    assert [p for p, _ in lex.search(["zeta"], 5)] == ["z"]


def test_english_stems_meet_across_inflections() -> None:
    from indexer.tokenize import tokenize

    assert tokenize("fined") == tokenize("fines") == tokenize("fine")  # the old suffix stripper made "fined" "fin"
    assert tokenize("transferred") == tokenize("transfers") == tokenize("transferring")
    assert tokenize("GB/T 43697-2024") == ["gb/t", "43697-2024"]  # codes are not stemmed


def test_an_index_built_by_another_tokenizer_is_emptied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "lexical.sqlite"
    ix = LexicalIndex(path)
    assert ix.reset is False  # a new index has nothing to throw away
    ix.replace_document("d", 1, [("a", "retention of logs")])
    ix.close()
    assert LexicalIndex(path).reset is False and LexicalIndex(path).doc_versions() == {"d": 1}
    monkeypatch.setattr(lexical, "TOKENIZER_VERSION", "next")
    again = LexicalIndex(path)
    assert again.reset is True and again.doc_versions() == {} and again.search("retention", 5) == []
    assert LexicalIndex(path).reset is False  # emptied once; the version is recorded


def test_a_transformed_index_holds_only_what_the_transform_keeps(tmp_path: Path) -> None:
    ix = LexicalIndex(tmp_path / "g.sqlite", transform=lambda t: t if "数据" in t else None, version="v1")
    ix.replace_document("d", 1, [("zh", "数据 export"), ("en", "export rules")])
    assert [p for p, _ in ix.search("export", 5)] == ["zh"] and ix.doc_versions() == {"d": 1}
    ix.close()
    assert LexicalIndex(tmp_path / "g.sqlite", version="v1").reset is False
    assert LexicalIndex(tmp_path / "g.sqlite", version="v2").reset is True  # another glossary: emptied, refilled


def test_keep_common_holds_only_within_the_postings_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ix = LexicalIndex(tmp_path / "k.sqlite", keep_common=True)
    ix.replace_document("d", 1, [(f"p{i}", "assessment rule" + (" appeal" if i == 0 else "")) for i in range(30)])
    terms = ["assess", "rule", "appeal"]  # the first two are in every passage
    assert set(ix._select_terms(terms)) == set(terms)  # a small query on a small index keeps them
    monkeypatch.setattr(lexical, "POSTINGS_BUDGET", 20)
    assert ix._select_terms(terms) == ["appeal"]  # over the budget, common words are pruned as in the main index
