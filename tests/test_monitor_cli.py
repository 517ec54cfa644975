"""`regwatch changes`, `diff` and `sources` over a real index (in-process CLI runs; the commands are thin)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from bot.cli import app
from indexer.errors import RegwatchError
from indexer.pipeline import Indexer
from tests.conftest import make_settings

V1 = "---\ntitle: Data Export Rules\ndoc_type: regulation\nstatus: in_force\n---\n\n" + "\n\n".join(
    f"Article {i}  Rule {i}: exporters shall keep records of kind {i}." for i in range(1, 6)
)
V2 = V1.replace("records of kind 3.", "records of kind 3 for five years.") + "\n\nArticle 6  A new duty to report."


def _clear_error(r: Result, text: str) -> bool:
    """A RegwatchError naming the problem (the CLI edge prints it with its hint), not just any crash."""
    assert r.exit_code != 0 and isinstance(r.exception, RegwatchError), (r.exception, r.output)
    assert text in str(r.exception), str(r.exception)
    return True


@pytest.fixture
def indexed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from indexer.embed import make_embedder

    data = tmp_path / "data"
    monkeypatch.setenv("REGWATCH_DATA_DIR", str(data))
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    f = corpus / "export-rules.md"
    settings = make_settings(data)
    emb = make_embedder(settings, purpose="index")
    for text in (V1, V2):
        f.write_text(text, encoding="utf-8")
        idx = Indexer(settings, embedder=emb)
        idx.index_paths([corpus])
        idx.close()
    return data


def test_changes_json_lists_each_change_with_its_sections(indexed: Path) -> None:
    r = CliRunner().invoke(app, ["changes", "--json"])
    assert r.exit_code == 0, r.output
    items = json.loads(r.output)
    assert [c["kind"] for c in items] == ["new_regulation", "amendment"]
    amend = items[1]
    for key in ("kind", "doc_id", "title", "doc_type", "status", "url", "detected_at", "summary", "changed_sections"):
        assert key in amend
    assert amend["changed_sections"]["changed"] == ["Article 3"]
    assert amend["changed_sections"]["added"] == ["Article 6"]
    assert amend["detected_at"].endswith("+00:00")


def test_changes_filters_by_kind_and_since(indexed: Path) -> None:
    r = CliRunner().invoke(app, ["changes", "--json", "--kind", "amendment"])
    assert [c["kind"] for c in json.loads(r.output)] == ["amendment"]
    r = CliRunner().invoke(app, ["changes", "--json", "--since", "2999-01-01"])
    assert json.loads(r.output) == []
    r = CliRunner().invoke(app, ["changes", "--kind", "nonsense"])
    assert _clear_error(r, "unknown change kind 'nonsense'") and "amendment" in str(r.exception.hint)


def test_diff_names_the_changed_articles(indexed: Path) -> None:
    r = CliRunner().invoke(app, ["diff", "export-rules", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert (d["from"], d["to"], d["kind"]) == (1, 2, "amendment")
    assert "five years" in d["diff"]
    r = CliRunner().invoke(app, ["diff", "export-rules"])
    assert "Article 3" in r.output or "five years" in r.output


def test_diff_of_unknown_document_is_a_clear_error(indexed: Path) -> None:
    r = CliRunner().invoke(app, ["diff", "nope"])
    assert _clear_error(r, "no document 'nope'") and "regwatch status" in str(r.exception)


def test_sources_add_list_remove_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "sources.yaml"
    f.write_text("version: 1\nsources:\n  - name: local\n    kind: folder\n    path: .\n", encoding="utf-8")
    monkeypatch.setenv("REGWATCH_SOURCES_FILE", str(f))
    r = CliRunner().invoke(app, ["sources", "add", "tc260-feed", "https://example.org/feed.xml", "--kind", "rss",
                                 "--issuer", "TC260", "--doc-type", "standard", "--topic", "ai"])
    assert r.exit_code == 0, r.output
    listed = json.loads(CliRunner().invoke(app, ["sources", "list", "--json"]).output)
    assert {s["name"] for s in listed} == {"local", "tc260-feed"}
    assert next(s for s in listed if s["name"] == "tc260-feed")["issuer"] == "TC260"
    r = CliRunner().invoke(app, ["sources", "add", "bad", "https://x", "--kind", "carrier-pigeon"])
    assert _clear_error(r, "invalid source") and "kind" in str(r.exception)
    assert CliRunner().invoke(app, ["sources", "remove", "tc260-feed"]).exit_code == 0
    listed = json.loads(CliRunner().invoke(app, ["sources", "list", "--json"]).output)
    assert [s["name"] for s in listed] == ["local"]


def test_sources_test_shows_a_folder_without_indexing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# A\n\ntext", encoding="utf-8")
    f = tmp_path / "sources.yaml"
    f.write_text("version: 1\nsources:\n  - name: local\n    kind: folder\n    path: docs\n", encoding="utf-8")
    monkeypatch.setenv("REGWATCH_SOURCES_FILE", str(f))
    r = CliRunner().invoke(app, ["sources", "test", "local", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["items"] and out["items"][0].endswith("a.md")
    assert not (tmp_path / "data" / "chroma").exists()
