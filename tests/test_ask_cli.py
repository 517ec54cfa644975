"""`regwatch ask`: JSON shape, terminal output, filters from the command line, errors, and a light import path."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from tests.conftest import REPO, subprocess_env

pytestmark = pytest.mark.slow
HEAVY = ("torch", "sentence_transformers", "transformers", "langchain", "langchain_core", "langchain_chroma",
         "langchain_huggingface", "langchain_text_splitters")


def test_json_shape(shared_index, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("REGWATCH_DATA_DIR", str(shared_index.data_dir))
    res = CliRunner().invoke(app, ["ask", "PIPL Article 38", "--json", "-k", "3"])
    assert res.exit_code == 0, res.output
    obj = json.loads(res.stdout)
    assert set(obj) == {"question", "answer", "abstained", "citations", "timings_ms"}
    assert obj["question"] == "PIPL Article 38" and obj["abstained"] is False
    assert 1 <= len(obj["citations"]) <= 3
    c = obj["citations"][0]
    for key in ("n", "doc_id", "title", "source_path", "url", "section", "section_number", "status", "doc_type",
                "effective", "quote", "score", "version", "caveat"):
        assert key in c
    assert (c["doc_id"], c["section_number"]) == ("pipl_2021_en", 38)
    assert "total" in obj["timings_ms"]


def test_filters_from_the_command_line(shared_index, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("REGWATCH_DATA_DIR", str(shared_index.data_dir))
    res = CliRunner().invoke(app, ["ask", "数据出境 安全评估", "--json", "--language", "zh", "--status", "in_force,partly_superseded",
                                   "--effective-from", "2022-01-01"])
    obj = json.loads(res.stdout)
    assert obj["citations"] and all(c["language"] == "zh" and c["effective"] >= "2022-01-01" for c in obj["citations"])
    bad = CliRunner().invoke(app, ["ask", "x", "--effective-from", "last year"])
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output


def test_mistyped_filters_and_an_empty_question_are_usage_errors(shared_index, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    # Before, `--status inforce` matched nothing and the answer read "No indexed passage answers this question."
    monkeypatch.setenv("REGWATCH_DATA_DIR", str(shared_index.data_dir))
    for args, said in ((["--status", "in_force,inforce"], "'inforce': use draft"), (["--language", "fr"], "'fr': use en, zh"),
                       (["--doc-type", "laws"], "'laws': use law")):
        res = CliRunner().invoke(app, ["ask", "consent", *args])
        assert res.exit_code == 2 and said in " ".join(res.output.split()), res.output
    res = CliRunner().invoke(app, ["ask", "  "])
    assert res.exit_code == 2 and "the question is empty" in res.output
    res = CliRunner().invoke(app, ["ask", "x", "--effective-from", "2025-01-01", "--effective-to", "2024-01-01"])
    assert res.exit_code == 2 and "is after the range's end" in " ".join(res.output.split()), res.output


def test_a_missing_article_in_json(shared_index, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("REGWATCH_DATA_DIR", str(shared_index.data_dir))
    obj = json.loads(CliRunner().invoke(app, ["ask", "PIPL Article 999", "--json"]).stdout)
    assert obj["abstained"] is True and obj["citations"] == []
    assert obj["answer"].startswith("The indexed PIPL has no Article 999")


def test_human_output_has_sources_and_links(shared_index, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("REGWATCH_DATA_DIR", str(shared_index.data_dir))
    res = CliRunner().invoke(app, ["ask", "《数据安全法》第二十一条"])
    assert res.exit_code == 0, res.output
    assert "Sources:" in res.output and "[1]" in res.output and "http" in res.output and "in force" in res.output


def test_not_indexed_is_a_clear_error(tmp_path: Path) -> None:
    p = subprocess.run([sys.executable, "-m", "bot.cli", "ask", "anything"], capture_output=True, text=True,
                       env=subprocess_env(tmp_path / "empty"), cwd=REPO, timeout=120)
    assert p.returncode == 2
    assert "nothing is indexed" in p.stderr and "regwatch index" in p.stderr


def test_ask_does_not_import_model_libraries(shared_index) -> None:  # type: ignore[no-untyped-def]
    code = (
        "import sys\n"
        "sys.argv = ['regwatch', 'ask', 'Do we need separate consent to share personal information?', '--json']\n"
        "from bot.cli import main\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
        "sys.stderr.write('HEAVY=' + ','.join(heavy))\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=subprocess_env(shared_index.data_dir),
                       cwd=REPO, timeout=300)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["citations"]
    assert p.stderr.rsplit("HEAVY=", 1)[1] == ""
