"""Hybrid retrieval over the real stores: filters, references, languages, status, duplicates, ledger validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.refs import std_key
from bot.retrieve import Retriever, matches
from bot.types import Filters
from indexer.models import Passage
from tests.conftest import make_settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def retriever(shared_index):  # type: ignore[no-untyped-def]
    return Retriever(shared_index)


def _top(r: Retriever, q: str, k: int = 5, **f: object) -> list:  # type: ignore[type-arg]
    return r.search(q, k=k, filters=Filters(**f) if f else None).hits  # type: ignore[arg-type]


# --- filters: every kind narrows the documents, and an impossible one returns nothing ----------------------
@pytest.mark.parametrize(("field", "value"), [
    ("doc_type", ["standard"]), ("status", ["draft"]), ("issuer", ["cac"]), ("language", ["zh"]),
    ("jurisdiction", ["CN"]), ("topics", ["cross-border"]), ("doc_id", ["dsl_2021_en"]),
    ("effective_from", "2025-01-01"), ("effective_to", "2021-12-31"), ("published_from", "2024-01-01"),
    ("published_to", "2021-12-31"),
])
def test_each_filter_kind_limits_hits(retriever: Retriever, field: str, value: object) -> None:
    f = Filters(**{field: value})  # type: ignore[arg-type]
    hits = retriever.search("security assessment for data export 数据出境", k=8, filters=f).hits
    assert hits, f"no hits with {field}={value}"
    assert all(matches(h.doc, f) for h in hits)


def test_filter_semantics(retriever: Retriever) -> None:
    cat = retriever.catalog()
    pipl = cat.docs["pipl_2021_en"]
    assert matches(pipl, Filters(issuer=["standing committee"]))
    assert not matches(pipl, Filters(effective_from="2021-11-02"))
    assert matches(pipl, Filters(effective_from="2021-11-01", effective_to="2021-11-01"))
    assert not matches(pipl, Filters(topics=["ai"]))
    assert _top(retriever, "personal information", status=["repealed"]) == []


# --- explicit references -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("q", "doc", "number"), [
    ("PIPL Article 38", "pipl_2021_en", 38),
    ("What does Article 38 of the PIPL require?", "pipl_2021_en", 38),
    ("个人信息保护法第三十八条", "pipl_2021_zh", 38),
    ("《数据安全法》第二十一条", "dsl_2021_zh", 21),
    ("DSL Art. 21", "dsl_2021_en", 21),
    ("Cybersecurity Law (2016) Article 21", "csl_2016_zh", 21),
])
def test_explicit_article_goes_first(retriever: Retriever, q: str, doc: str, number: int) -> None:
    hits = _top(retriever, q)
    assert (hits[0].doc.doc_id, hits[0].section_number, hits[0].via) == (doc, number, "reference")


def test_reference_brings_the_other_language_version(retriever: Retriever) -> None:
    ids = {(h.doc.doc_id, h.section_number) for h in _top(retriever, "PIPL Article 38")[:2]}
    assert ids == {("pipl_2021_en", 38), ("pipl_2021_zh", 38)}


def test_standard_number_goes_to_that_standard(retriever: Retriever) -> None:
    hits = _top(retriever, "What does GB/T 43697-2024 say about important data?")
    assert hits[0].doc.doc_id.startswith("gb-t-43697-2024")
    assert std_key("GBT 43697—2024") == ("GB/T", "43697", "2024")


def test_unknown_article_number_is_not_invented(retriever: Retriever) -> None:
    assert all(h.via != "reference" for h in _top(retriever, "PIPL Article 99"))


# --- languages -----------------------------------------------------------------------------------------------
def test_english_and_chinese_questions(retriever: Retriever) -> None:
    en = _top(retriever, "Which categories of data are treated as sensitive personal information?")
    assert any(h.doc.doc_id == "pipl_2021_en" and h.section_number == 28 for h in en)
    zh = _top(retriever, "个人信息保护影响评估报告需要保存几年？")
    assert any(h.doc.doc_id.startswith("pipl_2021") and h.section_number == 56 for h in zh)


def test_english_question_finds_rule_that_exists_only_in_chinese(retriever: Retriever) -> None:
    hits = _top(retriever, "Within how many working days must a signed standard contract be filed with the cyberspace department?")
    assert any(h.doc.doc_id == "pi-export-standard-contract-measures_2023_zh" and h.section_number == 7 for h in hits)


def test_meaning_crosses_languages_through_the_gloss(retriever: Retriever) -> None:
    # Few of this question's words are glossary terms: the Chinese-only rule (3-year validity, extension on request)
    # is found by the dense list, which compares the question with the English gloss of the Chinese passage.
    hits = _top(retriever, "How long is a passed outbound data transfer security assessment valid, and can it be extended?", k=10)
    gold = [h for h in hits if h.doc.doc_id == "cross-border-data-flow-provisions_2024_zh" and h.section_number == 9]
    assert gold and gold[0].dense_rank is not None and gold[0].dense_rank <= 10
    # A Chinese question is embedded in the same English gloss.
    text = retriever.dense_text(retriever.analyse("处理敏感个人信息需要取得单独同意吗？"))
    assert "consent" in text and not any("\u4e00" <= c <= "\u9fff" for c in text)


def test_words_cross_languages_through_the_wide_gloss(retriever: Retriever) -> None:
    # 异议 is glossed "objection" and 结果 "outcome" for the model; the wide gloss also holds "dissent", "result",
    # so an English question in other words still meets the Chinese-only article on them (Article 13: re-assessment).
    q = retriever.analyse("Can the data handler object to the assessment outcome and ask for a re-evaluation?")
    ranked = [p for p, _ in retriever.rankings(q, None, 10)[0]["glossed"]]
    assert ranked and all(Passage.doc_id_of(p).endswith("_zh") for p in ranked)  # only Chinese passages are glossed
    assert ranked[0].startswith("outbound-data-transfer-security-assessment-measures_2022_zh")
    top = retriever.search(q.text, k=3).hits
    assert (top[0].doc.doc_id, top[0].section_number) == ("outbound-data-transfer-security-assessment-measures_2022_zh", 13)
    # A Chinese question's wide gloss searches the English passages, and only them.
    zh = retriever.rankings(retriever.analyse("个人信息处理者在什么情况下可以不经同意处理个人信息？"), None, 10)[0]
    docs = retriever.catalog().docs
    assert zh["glossed"] and all(docs[Passage.doc_id_of(p)].language == "en" for p, _ in zh["glossed"])


def test_concurrent_questions_get_the_same_answers(retriever: Retriever) -> None:
    # The dense and glossed lists run on shared search threads beside the asking thread (the Slack bot asks from
    # many threads at once): answers must not depend on who else is asking.
    from concurrent.futures import ThreadPoolExecutor

    qs = ["Do we need separate consent to share personal information with a partner?", "数据出境安全评估的有效期是多久？",
          "Who decides whether our systems count as critical information infrastructure?", "处理敏感个人信息需要单独同意吗？"] * 2
    alone = [[h.passage_id for h in retriever.search(q, k=5).hits] for q in qs]
    with ThreadPoolExecutor(4) as ex:
        together = list(ex.map(lambda q: [h.passage_id for h in retriever.search(q, k=5).hits], qs))
    assert together == alone and all(alone)


def test_one_article_in_two_languages_is_one_hit(retriever: Retriever) -> None:
    assert retriever.catalog().translations["pipl_2021_en"] == "pipl_2021_zh"
    assert "csl_2016_zh" not in retriever.catalog().translations  # no English text of the 2016 law is indexed
    hits = _top(retriever, "Which categories of data are treated as sensitive personal information?", k=10)
    keys = [(h.doc.doc_id.rsplit("_", 1)[0], h.section_number) for h in hits if h.section_kind == "article"]
    assert len(keys) == len(set(keys))  # PIPL Article 28 is shown once, in the question's language
    art28 = next(h for h in hits if h.doc.doc_id.startswith("pipl_2021") and h.section_number == 28)
    assert art28.doc.doc_id == "pipl_2021_en" and any(d.startswith("pipl_2021_zh::") for d in art28.duplicates)


@pytest.mark.parametrize(("q", "lang"), [("Can individuals withdraw their consent?", "en"), ("个人可以撤回同意吗？", "zh")])
def test_an_article_in_both_languages_is_shown_in_the_questions(retriever: Retriever, q: str, lang: str) -> None:
    # Before, an English question quoted the PIPL's Chinese text when the Chinese version had ranked higher. The
    # order is the one the better-ranked version earned: the same as without the swap.
    hits = retriever.search(q, k=5).hits
    art15 = [h for h in hits if h.doc.doc_id.startswith("pipl_2021") and h.section_number == 15]
    assert art15 and art15[0].doc.language == lang
    bilingual = [h for h in hits if h.doc.doc_id in retriever.catalog().translations and h.section_kind == "article"]
    assert all(h.doc.language == lang for h in bilingual
               if any(d.startswith(retriever.catalog().translations[h.doc.doc_id] + "::") for d in h.duplicates))


def test_a_name_that_fits_old_and_new_text_prefers_the_text_in_force(retriever: Retriever) -> None:
    # '网络安全法' names the 2016 law and its 2026 consolidation alike: the superseded text keeps its lower prior.
    hits = _top(retriever, "网络安全法规定的网络运营者安全保护义务有哪些？")
    assert hits and hits[0].doc.status == "in_force"
    first_old = next((i for i, h in enumerate(hits) if h.doc.status == "superseded"), len(hits))
    assert all(h.doc.status == "in_force" for h in hits[:first_old])  # the text in force leads
    old = _top(retriever, "Under the original 2016 Cybersecurity Law, how much could a network operator be fined?")
    assert old[0].doc.doc_id == "csl_2016_zh"  # named on its own, the superseded law is not pushed down


def test_chinese_question_finds_english_only_record(retriever: Retriever) -> None:
    hits = _top(retriever, "人工智能生成合成内容的显式标识和隐式标识分别是什么？", k=10)
    assert any(h.doc.doc_id.startswith("gb-45438-2025") for h in hits)


# --- status: in force first, superseded flagged with its successor ---------------------------------------------
def test_superseded_text_names_the_consolidation(retriever: Retriever) -> None:
    hits = _top(retriever, "网络运营者 安全保护义务", status=["superseded"])
    assert hits and all(h.doc.doc_id == "csl_2016_zh" for h in hits)
    assert "csl_2026-consolidated_zh" in hits[0].superseded_by
    assert hits[0].caveat and hits[0].caveat.startswith("Superseded by") and "2025年修正" in hits[0].caveat


def test_in_force_text_ranks_above_identical_superseded_text(retriever: Retriever) -> None:
    hits = _top(retriever, "国家实行网络安全等级保护制度。网络运营者应当按照网络安全等级保护制度的要求", k=10)
    ids = [h.doc.doc_id for h in hits]
    assert "csl_2026-consolidated_zh" in ids
    if "csl_2016_zh" in ids:
        assert ids.index("csl_2026-consolidated_zh") < ids.index("csl_2016_zh")


def test_draft_is_flagged(retriever: Retriever) -> None:
    hits = _top(retriever, "CSL amendment draft second round comments", status=["draft"])
    assert hits and all(h.caveat and h.caveat.startswith("Draft for comment") for h in hits)


# --- synthetic edge cases: duplicates, ledger validation, cache invalidation --------------------------------
DOC = """---
title: {title}
short_title: {short}
doc_type: guideline
status: in_force
language: en
---

Article 1 Operators of quantum teleportation gateways shall register every gateway with the regional teleportation bureau within ten days.

Article 2 {art2}
"""


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from indexer.pipeline import Indexer

    root = tmp_path_factory.mktemp("synthetic")
    docs = root / "docs"
    docs.mkdir()
    art2 = "Gateway logs shall be kept for six months and shown to inspectors on request."
    (docs / "brief_a.md").write_text(DOC.format(title="Teleportation Gateway Rules", short="TGR", art2=art2), encoding="utf-8")
    (docs / "brief_b.md").write_text(DOC.format(title="Teleportation Gateway Rules (copy)", short="TGR copy", art2=art2), encoding="utf-8")
    (docs / "other.md").write_text(DOC.format(title="Bakery Hygiene Rules", short="BHR",
                                              art2="Ovens shall be cleaned daily.").replace(
        "quantum teleportation gateways shall register every gateway with the regional teleportation bureau within ten days",
        "bakeries shall keep flour dry"), encoding="utf-8")
    settings = make_settings(root / "data")
    idx = Indexer(settings)
    try:
        report = idx.index_paths([docs])
    finally:
        idx.close()
    assert report.failed == 0
    return settings, docs


def test_unknown_vectors_are_never_shown(synthetic) -> None:  # type: ignore[no-untyped-def]
    settings, _ = synthetic
    r = Retriever(settings)
    good = r.search("teleportation gateway register bureau", k=1).hits[0]
    vec = r.vectors.collection.get(ids=[good.passage_id], include=["embeddings"])["embeddings"][0]
    r.vectors.add_vectors(["ghost::1"], [list(vec)], ["ghost"], [{"doc_id": good.doc.doc_id, "section": "Article 9"}])
    r.lexical.replace_document("ghostdoc", 1, [("ghost::2", "teleportation gateway register bureau")])
    try:
        hits = r.search("teleportation gateway register bureau", k=10).hits
        shown = [h.passage_id for h in hits] + [d for h in hits for d in h.duplicates]
        assert "ghost::1" not in shown and "ghost::2" not in shown and good.passage_id in shown
    finally:
        r.vectors.delete(["ghost::1"])
        r.lexical.remove_document("ghostdoc")


def test_catalog_follows_ledger_changes(synthetic) -> None:  # type: ignore[no-untyped-def]
    from indexer.pipeline import Indexer

    settings, docs = synthetic
    r = Retriever(settings)
    assert _top(r, "flour", status=["repealed"]) == []
    path: Path = docs / "other.md"
    original = path.read_text(encoding="utf-8")
    path.write_text(original.replace("status: in_force", "status: repealed"), encoding="utf-8")
    try:
        idx = Indexer(settings)
        try:
            idx.index_paths([docs])
        finally:
            idx.close()
        hits = _top(r, "flour", status=["repealed"])
        assert hits and hits[0].caveat and hits[0].caveat.startswith("Repealed")
    finally:
        path.write_text(original, encoding="utf-8")


def test_retriever_refills_a_lexical_index_emptied_by_a_tokenizer_change(synthetic) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    settings, _ = synthetic
    with sqlite3.connect(settings.lexical_path) as c:  # as an index written by an older regwatch would look
        c.execute("UPDATE meta SET value = 'old' WHERE key = 'tokenizer'")
    r = Retriever(settings)  # no `regwatch index` needed: the ledger keeps every passage's text
    assert r.lexical.doc_versions() and r.rankings(r.analyse("flour"), None, 5)[0]["lexical"]
    assert _top(r, "bakeries keep flour dry")[0].doc.short_title == "BHR"


def test_retriever_builds_the_glossed_index_when_it_is_missing(synthetic) -> None:  # type: ignore[no-untyped-def]
    settings, _ = synthetic
    settings.glossed_lexical_path.unlink()  # as a data dir indexed by a regwatch without it would look
    r = Retriever(settings)
    assert settings.glossed_lexical_path.exists() and r.glossed.doc_versions()  # every document, none glossed here
    assert r.glossed.count() == 0  # the synthetic corpus is English: nothing to gloss


def test_the_best_passages_are_re_ranked_by_what_they_say_together(retriever: Retriever,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # Rank fusion knows where each list put a passage, not whether it says the question's words together. The DSL's
    # export-control article shares "export" with this question and fusion puts it first; the article on the result
    # of a data-export security assessment says "result", "security assessment" and "export" in one sentence.
    from bot.tuning import DEFAULT, Tuning

    q = "Can a data handler dispute the result of the export security assessment?"
    fused = Retriever(retriever.settings, embedder=retriever.embedder, tuning=Tuning(evidence_rerank=0.0)).search(q, k=10)
    ranked = retriever.search(q, k=10)
    assert {h.passage_id for h in ranked.hits} == {h.passage_id for h in fused.hits}  # the same pool, re-ordered
    assert all(h.coverage is not None for h in ranked.hits)
    # Each hit's score is its fused score times 1 + EVIDENCE_RERANK x coverage, and the hits are in that order.
    base = {h.passage_id: h.score for h in fused.hits}
    for h in ranked.hits:
        assert h.score == pytest.approx(base[h.passage_id] * (1 + DEFAULT.evidence_rerank * min(max(h.coverage or 0, 0), 1)))
    assert [h.score for h in ranked.hits] == sorted((h.score for h in ranked.hits), reverse=True)
    # The answer's abstention still asks the passages fusion ranked first (bot/answer.py).
    # (both captured before the per-article currency step, which may move a superseded article down)
    assert [h.passage_id for h in ranked.leading] == [h.passage_id for h in fused.leading]
    assert len(ranked.leading) == DEFAULT.leading
