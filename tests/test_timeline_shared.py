"""Rules over time on an index of ../shared/regulations: `regwatch lineage`, `regwatch diff OLD NEW`, `ask --as-of`
before and after the CSL consolidation, a date named in the question, a superseded article ranked below the article
that replaced it, a closed comment period, and the calendar."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from bot.cli import app
from indexer.errors import RegwatchError

pytestmark = pytest.mark.slow
LOCALISATION_ZH = "关键信息基础设施的运营者收集和产生的个人信息和重要数据应当在哪里存储？"


@pytest.fixture
def cli(shared_index, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("REGWATCH_DATA_DIR", str(shared_index.data_dir))

    def run(*args: str, code: int = 0) -> Any:
        res = CliRunner().invoke(app, list(args))
        if code == 2 and isinstance(res.exception, RegwatchError):
            return f"{res.exception.message} {res.exception.hint}"  # main() prints these and exits 2
        assert res.exit_code == code, res.output
        return json.loads(res.stdout) if "--json" in args and code == 0 else res.output

    return run


@pytest.fixture(scope="module")
def asker(shared_index):  # type: ignore[no-untyped-def]
    from bot.answer import Asker

    return Asker(shared_index)


def test_lineage_of_the_csl(cli: Any) -> None:
    out = cli("lineage", "CSL_2016_zh", "--json")
    chain = {r["doc_id"]: r for r in out["chain"]}
    assert list(chain)[0] == "csl_2016_zh"
    assert chain["csl_2016_zh"]["in_force_from"] == "2017-06-01" and chain["csl_2016_zh"]["in_force_to"] == "2025-12-31"
    assert chain["csl_2016_zh"]["words"] == "superseded by 中华人民共和国网络安全法（2025年修正） on 2026-01-01"
    assert chain["csl_2026-consolidated_zh"]["in_force_to"] is None
    draft = chain["cac_2025-03-28_csl-amendment-draft-2nd-round"]
    assert draft["words"] == "Draft for comment, not in force; comment period closed 2025-04-27; finalised as 中华人民共和国网络安全法（2025年修正）"
    kinds = {(x["old"], x["new"], x["kind"]) for x in out["links"]}
    assert ("csl_2016_zh", "csl_2026-consolidated_zh", "supersedes") in kinds
    assert ("cac_2025-03-28_csl-amendment-draft-2nd-round", "csl_2026-consolidated_zh", "final_of") in kinds
    text = cli("lineage", "csl_2016_zh")
    assert "in force 2017-06-01 – 2025-12-31" in text


def test_diff_of_two_linked_documents(cli: Any) -> None:
    out = cli("diff", "CSL_2016_zh", "CSL_2026-consolidated_zh", "--json")
    assert out["relation"] == ["supersedes"]
    assert out["counts"]["repealed"] == 0 and out["counts"]["new"] == 3
    by_old = {x["old"][0]: x for x in out["links"] if x["old"]}
    assert set(by_old) | {o for x in out["links"] for o in x["old"]} == set(range(1, 80))
    assert by_old[37]["new"] == [39] and by_old[37]["kind"] == "moved"
    # Given newest first, the same comparison
    assert cli("diff", "CSL_2026-consolidated_zh", "CSL_2016_zh", "--json")["links"] == out["links"]
    one = cli("diff", "CSL_2016_zh", "CSL_2026-consolidated_zh", "--article", "59", "--json")
    assert one["kind"] == "amended" and one["link"]["new"] == [61]
    assert "二百万元" in "".join(c["text"] for c in one["changes"] if c["op"] == "+")
    # Across languages: the English consolidation through its Chinese original
    en = cli("diff", "csl_2016_zh", "csl_2026-consolidated_en", "--article", "37", "--json")
    assert en["link"]["new"] == [39] and "critical information infrastructure" in en["new_text"].lower()


def test_diff_refuses_unlinked_documents_and_keeps_version_diffs(cli: Any) -> None:
    out = cli("diff", "pipl_2021_zh", "csl_2016_zh", code=2)
    assert "not linked" in out and "regwatch lineage" in out
    assert "needs two documents" in cli("diff", "csl_2016_zh", "--article", "37", code=2)
    assert "has only version 1" in cli("diff", "csl_2016_zh", code=2)  # the one-document form, as before
    assert "has no Article 99" in cli("diff", "csl_2016_zh", "csl_2026-consolidated_zh", "--article", "99", code=2)


def test_as_of_before_and_after_the_consolidation(cli: Any) -> None:
    before = cli("ask", LOCALISATION_ZH, "--as-of", "2025-06-01", "-k", "3", "--json")
    assert before["answer"].startswith("仅依据2025-06-01有效的文本")
    docs = [c["doc_id"] for c in before["citations"]]
    assert docs[0] == "csl_2016_zh" and not [d for d in docs if d.startswith("csl_2026")]
    first = before["citations"][0]
    assert (first["section_number"], first["in_force"]) == (37, "in force from 2017-06-01 to 2025-12-31")
    assert "Superseded" not in (first["caveat"] or "")  # it was the law that day
    after = cli("ask", LOCALISATION_ZH, "--as-of", "2026-06-01", "-k", "3", "--json")
    docs = [c["doc_id"] for c in after["citations"]]
    assert docs[0] == "csl_2026-consolidated_zh" and "csl_2016_zh" not in docs
    assert after["citations"][0]["section_number"] == 39
    assert after["citations"][0]["in_force"] == "in force from 2026-01-01"
    assert "is not a date" in cli("ask", LOCALISATION_ZH, "--as-of", "June 2025", code=2)


@pytest.mark.parametrize("question", [
    "What did the Cybersecurity Law require of critical information infrastructure operators storing personal "
    "information on 1 June 2025?",
    "2025年6月1日，关键信息基础设施的运营者收集和产生的个人信息和重要数据应当在哪里存储？",
])
def test_date_named_in_the_question(asker: Any, question: str) -> None:
    a = asker.ask(question, k=3)
    assert a.answer.startswith(("As of 2025-06-01 (the date in the question)", "仅依据2025-06-01（问题所述日期）"))
    assert not [c for c in a.citations if c.doc_id.startswith("csl_2026")]
    assert any((c.doc_id, c.section_number) == ("csl_2016_zh", 37) for c in a.citations)


def test_superseded_article_ranks_below_its_replacement(shared_index) -> None:  # type: ignore[no-untyped-def]
    from bot.retrieve import Retriever

    hits = Retriever(shared_index).search("数据处理者向境外提供个人信息达到多少人需要申报数据出境安全评估？", k=8).hits
    place = {(h.doc.doc_id, h.section_number): i for i, h in enumerate(hits)}
    old = ("outbound-data-transfer-security-assessment-measures_2022_zh", 4)
    new = ("cross-border-data-flow-provisions_2024_zh", 7)
    assert old in place and new in place and place[new] < place[old]  # before the hook, the 2022 article ranked first
    assert hits[place[old]].caveat == "Superseded by 促进和规范数据跨境流动规定 Article 7 on 2024-03-22"
    assert hits[place[old]].superseded_by[0] == "cross-border-data-flow-provisions_2024_zh"


def test_closed_comment_period_in_an_answer(cli: Any) -> None:
    out = cli("ask", "AI security standards system draft for comment", "--doc-id",
              "tc260_2025-01_ai-security-standards-system-v1-0-draft", "--json")
    caveats = {c["caveat"] for c in out["citations"]}
    assert caveats and all("comment period closed 2025-02-21" in (c or "") for c in caveats)


def test_calendar_for_2026(cli: Any) -> None:
    rows = cli("calendar", "--from", "2026-01-01", "--to", "2026-12-31", "--json")
    assert {(r["date"], r["kind"], r["doc_id"]) for r in rows} >= {
        ("2026-01-01", "effective", "csl_2026-consolidated_zh"), ("2026-01-01", "effective", "csl_2026-consolidated_en")}
    every = cli("calendar", "--kind", "deadline", "--json")
    closed = {r["doc_id"]: r["words"] for r in every}
    assert closed["tc260_2025-01_ai-security-standards-system-v1-0-draft"] == "comment period closed 2025-02-21"
    assert closed["cac_2023-09-28_cross-border-data-flow-provisions-draft"] == \
        "comment period closed 2023-10-15; finalised as 促进和规范数据跨境流动规定"
