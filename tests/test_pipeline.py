"""Index runs: incremental, versioned, removal-aware, consistent across stores, on embedded Chroma and a server."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.ledger import Ledger
from indexer.pipeline import Indexer
from tests.chroma_server import chroma_server
from tests.conftest import assert_consistent, make_settings

DOC_A = """---
title: Test Personal Information Rules
short_title: TPIR
doc_type: regulation
status: in_force
language: en
effective: '2021-11-01'
---

Chapter I General Provisions

Article 1  These rules protect personal information.

Article 2  A processor shall obtain consent before processing.

Chapter II Transfers

Article 3  A processor that provides personal information to another processor shall obtain separate consent.
"""

DOC_B = """---
title: 测试数据规则
doc_type: regulation
status: in_force
language: zh
---

第一章 总则

第一条 为了规范数据处理活动，制定本规则。

第二条 重要数据的处理者应当明确数据安全负责人。
"""

DOC_C = "Brief: consent\n\nCompanies must ask people before using their data. This brief is plain text.\n"


@pytest.fixture(scope="module", params=["embedded", "server"])
def backend(request, tmp_path_factory):  # type: ignore[no-untyped-def]
    if request.param == "embedded":
        yield {}
    else:
        with chroma_server(tmp_path_factory.mktemp("chroma-server")) as url:
            yield {"chroma_url": url}


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    d = tmp_path / "corpus"
    d.mkdir()
    (d / "rules.md").write_text(DOC_A, encoding="utf-8")
    (d / "zh-rules.md").write_text(DOC_B, encoding="utf-8")
    (d / "brief.txt").write_text(DOC_C, encoding="utf-8")
    return d


@pytest.fixture
def settings(tmp_path: Path, backend: dict):  # type: ignore[no-untyped-def]
    # A server is shared by the module's tests: a collection per test keeps them apart.
    return make_settings(tmp_path / "data", chroma_collection=f"t-{tmp_path.name[-40:]}".replace("_", "-"), **backend)


def run(settings, paths, embedder, **kw):  # type: ignore[no-untyped-def]
    idx = Indexer(settings, embedder=embedder)  # left open: the tests inspect its stores afterwards
    return idx.index_paths(paths, **kw), idx


def test_first_run_adds_every_document_with_metadata(settings, corpus, embedder) -> None:  # type: ignore[no-untyped-def]
    report, idx = run(settings, [corpus], embedder)
    assert (report.added, report.failed, report.unchanged) == (3, 0, 0)
    assert report.embedded == report.passages == 3 + 2 + 1
    docs = {d["doc_id"]: d for d in idx.ledger.docs()}
    assert docs["rules"]["meta"]["effective"] == "2021-11-01"
    assert docs["zh-rules"]["language"] == "zh"
    sections = [p["section"] for p in idx.ledger.passages_of("zh-rules")]
    assert sections == ["第一条", "第二条"]
    art3 = idx.ledger.passages_of("rules")[2]
    assert (art3["section"], art3["section_number"], art3["chapter_path"]) == ("Article 3", 3, ["Chapter II Transfers"])
    assert_consistent(idx)
    new = {c["doc_id"]: c["kind"] for c in idx.ledger.changes_since()}
    assert new["rules"] == "new_regulation"


def test_rerun_with_nothing_changed_embeds_nothing(settings, corpus, embedder) -> None:  # type: ignore[no-untyped-def]
    run(settings, [corpus], embedder)
    report, idx = run(settings, [corpus], embedder)
    assert (report.added, report.changed, report.unchanged, report.embedded) == (0, 0, 3, 0)
    assert idx.ledger.counts()["versions"] == 3


def test_whitespace_only_edit_is_not_a_version(settings, corpus, embedder) -> None:  # type: ignore[no-untyped-def]
    run(settings, [corpus], embedder)
    f = corpus / "rules.md"
    f.write_text(f.read_text().replace("Article 2  A processor", "Article 2   A  processor") + "\n\n", encoding="utf-8")
    report, idx = run(settings, [corpus], embedder)
    assert (report.changed, report.embedded) == (0, 0)
    assert idx.ledger.counts()["versions"] == 3


def test_amended_document_becomes_a_new_version_with_only_changed_passages_embedded(settings, corpus, embedder) -> None:  # type: ignore[no-untyped-def]
    _, idx0 = run(settings, [corpus], embedder)
    before = idx0.ledger.counts()
    f = corpus / "rules.md"
    f.write_text(f.read_text().replace("shall obtain separate consent.", "shall obtain separate written consent.")
                 + "\nArticle 4  Processors shall keep records for three years.\n", encoding="utf-8")
    report, idx = run(settings, [corpus], embedder)
    assert (report.changed, report.unchanged) == (1, 2)
    assert report.embedded == 2  # Article 3 changed, Article 4 added; Articles 1-2 reused
    doc = idx.ledger.get_doc("rules")
    assert doc["current_version"] == 2
    assert idx.ledger.counts()["passages"] == before["passages"] + 1  # replaced, never duplicated
    assert_consistent(idx)
    change = [c for c in idx.ledger.changes_since() if c["doc_id"] == "rules"][-1]
    assert change["kind"] == "amendment"
    assert "Article 3" in change["changed_sections"]["changed"]
    assert "Article 4" in change["changed_sections"]["added"]
    assert (change["from_version"], change["to_version"]) == (1, 2)
    assert change["evidence"]["old_content_hash"] != change["evidence"]["content_hash"]
    v1 = idx.ledger.version("rules", 1)
    assert v1 is not None and "separate consent." in v1["text"]  # old versions are kept for diffs


def test_status_change_in_front_matter_is_recorded_without_reembedding(settings, corpus, embedder) -> None:  # type: ignore[no-untyped-def]
    run(settings, [corpus], embedder)
    f = corpus / "rules.md"
    f.write_text(f.read_text().replace("status: in_force", "status: superseded"), encoding="utf-8")
    report, idx = run(settings, [corpus], embedder)
    assert report.embedded == 0
    assert idx.ledger.get_doc("rules")["status"] == "superseded"
    kinds = [c["kind"] for c in idx.ledger.changes_since() if c["doc_id"] == "rules"]
    assert kinds[-1] == "status_change"


def test_disappeared_file_is_marked_removed_not_dropped(settings, corpus, embedder) -> None:  # type: ignore[no-untyped-def]
    run(settings, [corpus], embedder)
    (corpus / "brief.txt").unlink()
    report, idx = run(settings, [corpus], embedder)
    assert report.removed == 1
    doc = idx.ledger.get_doc("brief")
    assert doc is not None and doc["removed"] is True
    assert idx.ledger.passages_of("brief") == []
    assert_consistent(idx)
    assert [c["kind"] for c in idx.ledger.changes_since() if c["doc_id"] == "brief"][-1] == "removed"
    # and it comes back as a document again
    (corpus / "brief.txt").write_text(DOC_C, encoding="utf-8")
    report, idx = run(settings, [corpus], embedder)
    assert report.added == 1 and idx.ledger.get_doc("brief")["removed"] is False
    assert_consistent(idx)


def test_indexing_one_file_does_not_remove_the_others(settings, corpus, embedder) -> None:  # type: ignore[no-untyped-def]
    run(settings, [corpus], embedder)
    report, idx = run(settings, [corpus / "rules.md"], embedder)
    assert (report.unchanged, report.removed) == (1, 0)
    assert idx.ledger.counts()["documents"] == 3


def test_one_bad_file_is_reported_and_the_rest_go_on(settings, corpus, embedder) -> None:  # type: ignore[no-untyped-def]
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj <<\n garbage")
    (corpus / "empty.md").write_text("", encoding="utf-8")
    report, idx = run(settings, [corpus], embedder)
    assert (report.added, report.failed) == (3, 2)
    failed = {Path(e.source_path).name: e.error for e in report.errors}
    assert set(failed) == {"broken.pdf", "empty.md"}
    assert all(failed.values())
    assert_consistent(idx)


def test_same_file_name_in_two_folders_gets_two_documents(settings, corpus, embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    other = tmp_path / "other"
    other.mkdir()
    (other / "rules.md").write_text(DOC_A.replace("Test Personal", "Other Personal"), encoding="utf-8")
    report, idx = run(settings, [corpus, other], embedder)
    assert report.added == 4
    titles = sorted(d["title"] for d in idx.ledger.docs() if d["doc_id"].startswith("rules"))
    assert titles == ["Other Personal Information Rules", "Test Personal Information Rules"]


def test_reconcile_repairs_stores_that_disagree(settings, corpus, embedder) -> None:  # type: ignore[no-untyped-def]
    _, idx = run(settings, [corpus], embedder)
    idx2 = Indexer(settings, embedder=embedder)
    victim = sorted(idx2.ledger.live_passage_ids())[0]
    idx2.vectors.delete([victim])  # a vector lost
    idx2.vectors.add_vectors(["ghost::1"], [[0.1] * 384], ["ghost"], [{"doc_id": "ghost"}])  # an orphan
    idx2.lexical.remove_document("zh-rules")  # the lexical index behind the ledger
    fixed = idx2.reconcile()
    assert fixed["orphan_vectors"] == 1 and fixed["missing_vectors"] == 1 and fixed["lexical_docs"] == 1
    assert_consistent(idx2)
    idx2.close()


def test_a_glossary_edit_re_embeds_the_chinese_passages_it_changes(settings, corpus, embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # Chinese passages are embedded through their English gloss: when the glossary renders a term differently, the
    # unchanged document's vectors must follow, or questions glossed the new way stop meeting them.
    glossary = tmp_path / "glossary.yaml"
    glossary.write_text("terms:\n  - en: [important data]\n    zh: [重要数据]\n", encoding="utf-8")
    s = settings.model_copy(update={"glossary_path": glossary})
    run(s, [corpus], embedder)[1].close()
    glossary.write_text("terms:\n  - en: [core business data]\n    zh: [重要数据]\n", encoding="utf-8")
    report, idx = run(s, [corpus], embedder)
    assert report.embedded == 0 and report.unchanged == 3
    assert report.repaired["reglossed_vectors"] == 1  # only 第二条 holds 重要数据; nothing else is re-embedded
    art2 = next(p for p in idx.ledger.passages_of("zh-rules") if p["section"] == "第二条")
    vec = idx.vectors.collection.get(ids=[art2["passage_id"]], include=["documents"])["documents"][0]
    assert "core business data" in vec and "important data" not in vec
    assert_consistent(idx)
    idx.close()
    report, idx = run(s, [corpus], embedder)  # recorded: the next run does not check again
    assert report.repaired["reglossed_vectors"] == 0
    idx.close()


def test_ledger_is_in_the_state_store(settings, corpus, embedder) -> None:  # type: ignore[no-untyped-def]
    from indexer.db import get_engine

    run(settings, [corpus], embedder)
    ledger = Ledger(get_engine(settings))
    runs = ledger.last_runs(1)
    assert runs[0]["state"] == "done" and runs[0]["report"]["added"] == 3


def test_bad_inputs_through_a_whole_run(settings, corpus, embedder) -> None:  # type: ignore[no-untyped-def]
    """Each bad file gets its own clear error; good files in every format and encoding are indexed."""
    import os

    from tests.fixtures_docs import make_docx, make_encrypted_pdf, make_scanned_pdf, make_text_pdf

    (corpus / "gbk.txt").write_bytes("第一条 为了规范数据出境活动，制定本办法。\n\n第二条 数据处理者应当申报安全评估。\n".encode("gbk"))
    (corpus / "text.pdf").write_bytes(make_text_pdf([["Article 1 Scope of the rules.", "Article 2 Duties apply."]]))
    (corpus / "memo.docx").write_bytes(make_docx("Memo", [("Duties", ["Processors shall keep logs."])]))
    (corpus / "encrypted.pdf").write_bytes(make_encrypted_pdf(["Article 1 secret"]))
    (corpus / "scanned.pdf").write_bytes(make_scanned_pdf())
    (corpus / "junk.txt").write_bytes(os.urandom(4096))
    (corpus / "huge.txt").write_bytes(b"Article 1 " + b"x" * (3 * 1024 * 1024))
    settings = settings.model_copy(update={"max_file_mb": 2.0})
    report, idx = run(settings, [corpus], embedder)
    failed = {Path(e.source_path).name: (e.error or "") + " " + (e.hint or "") for e in report.errors}
    assert set(failed) == {"encrypted.pdf", "scanned.pdf", "junk.txt", "huge.txt"}
    assert "encrypt" in failed["encrypted.pdf"].lower()
    assert "text layer" in failed["scanned.pdf"].lower()
    assert "REGWATCH_MAX_FILE_MB" in failed["huge.txt"]
    assert report.added == 6
    gbk = next(d for d in idx.ledger.docs() if d["doc_id"] == "gbk")
    assert gbk["language"] == "zh"
    assert [p["section"] for p in idx.ledger.passages_of("gbk")] == ["第一条", "第二条"]
    assert [p["section_number"] for p in idx.ledger.passages_of("text")] == [1, 2]
    assert_consistent(idx)


def _unit(deg: float) -> list[float]:
    import math

    return [math.cos(math.radians(deg)), math.sin(math.radians(deg))]



def test_collections_are_cosine_with_the_configured_search_breadth_and_old_ones_are_brought_to_it(settings) -> None:  # type: ignore[no-untyped-def]
    # On embedded Chroma and a `chroma run` server. Chroma's default breadth (100) gave a slightly different top 50 in
    # each process; an index made before the setting existed must be moved to it without a rebuild.
    from indexer.vectorstore import MODEL_KEY, VectorStore

    store = VectorStore(settings, model_id="test-2d")
    hnsw = store.collection.configuration_json["hnsw"]
    assert (hnsw["space"], hnsw["ef_search"]) == ("cosine", settings.hnsw_ef_search) and settings.hnsw_ef_search == 400
    store.add_vectors(["d::a", "d::b"], [_unit(0), _unit(90)], ["a", "b"], [{"doc_id": "d"}, {"doc_id": "d"}])
    # Cosine, not l2: an orthogonal unit vector scores 0 (l2 would give 1 - 2 = -1).
    assert [s for _, s in store.query(_unit(0), 2)] == pytest.approx([1.0, 0.0], abs=1e-5)

    old_name = settings.chroma_collection + "-old"
    store.client.get_or_create_collection(name=old_name, metadata={"hnsw:space": "cosine", MODEL_KEY: "test-2d"},
                                          embedding_function=None)
    assert store.client.get_collection(old_name).configuration_json["hnsw"]["ef_search"] == 100  # how it used to be
    for breadth in (400, 150):  # the default, then a user's own value
        VectorStore(settings.model_copy(update={"chroma_collection": old_name, "hnsw_ef_search": breadth}),
                    model_id="test-2d", client=store.client)
        reopened = store.client.get_collection(old_name)
        assert reopened.configuration_json["hnsw"]["ef_search"] == breadth
        assert reopened.configuration_json["hnsw"]["space"] == "cosine"
        assert (reopened.metadata or {})[MODEL_KEY] == "test-2d"
