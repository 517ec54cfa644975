"""Follow-ups without a model: rewritten by carrying the earlier question's laws and articles over, remembered in
the state store (bounded), and shown: `regwatch ask --thread`, `regwatch chat`, Slack threads. Also: the model's
API key is masked in `regwatch config`."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from bot.answer import Asker
from bot.cli import app
from bot.generate import threads
from bot.generate.assistant import Assistant
from indexer.db import init_schema, make_engine
from indexer.schema import conversation_turns
from tests.conftest import make_settings


@pytest.fixture(scope="module")
def assistant(shared_index: Any) -> Assistant:
    return Assistant(make_settings(shared_index.data_dir), asker=Asker(shared_index))


@pytest.mark.slow
@pytest.mark.parametrize(("history", "follow_up", "standalone"), [
    ("What does PIPL Article 38 say?", "and Article 39?", "PIPL Article 39"),
    ("What does PIPL Article 38 say?", "what about employees' data?", "employees' data under PIPL Article 38?"),
    ("《个人信息保护法》第三十八条规定了什么？", "那罚款呢？", "《个人信息保护法》第三十八条关于罚款的规定是什么？"),
    ("What does PIPL Article 38 say?", "What does the DSL say about data classification?",
     "What does the DSL say about data classification?"),  # names its own law: a new question, asked as it is
])
def test_a_follow_up_carries_the_earlier_law_and_article_over(assistant: Assistant, history: str, follow_up: str,
                                                              standalone: str) -> None:
    assert assistant.model is None
    assert assistant.standalone(follow_up, [(history, "…")]) == standalone


def test_thread_history_is_bounded_and_per_thread(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 's.sqlite'}")
    init_schema(engine)
    for i in range(5):
        threads.remember(engine, "cli:a", question=f"q{i}", asked_as=f"Q{i}", answer=f"A{i}", mode="extractive",
                         max_turns=3)
    threads.remember(engine, "cli:b", question="other", asked_as="other", answer="", mode="abstained", max_turns=3)
    assert [t.asked_as for t in threads.history(engine, "cli:a", limit=10)] == ["Q2", "Q3", "Q4"]
    assert [t.question for t in threads.history(engine, "cli:a", limit=2)] == ["q3", "q4"]
    with engine.connect() as c:
        assert c.execute(select(func.count()).select_from(conversation_turns)).scalar_one() == 4
    engine.dispose()


@pytest.mark.slow
def test_ask_thread_rewrites_the_follow_up_and_shows_it(shared_index: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGWATCH_DATA_DIR", str(shared_index.data_dir))
    first = CliRunner().invoke(app, ["ask", "--thread", "t1", "What does PIPL Article 38 say?", "--json"])
    assert first.exit_code == 0, first.output
    one = json.loads(first.stdout)
    assert one["asked_as"] is None and one["mode"] == "extractive"
    res = CliRunner().invoke(app, ["ask", "--thread", "t1", "and Article 39?", "--json"])
    assert res.exit_code == 0, res.output
    two = json.loads(res.stdout)
    assert two["question"] == "and Article 39?" and two["asked_as"] == "PIPL Article 39"
    assert [(c["doc_id"], c["section_number"]) for c in two["citations"]][:1] == [("pipl_2021_en", 39)]
    shown = CliRunner().invoke(app, ["ask", "--thread", "t1", "and Article 40?"])
    assert "Asked as: PIPL Article 40" in shown.stdout
    other = CliRunner().invoke(app, ["ask", "--thread", "t2", "and Article 39?", "--json"])
    assert json.loads(other.stdout)["asked_as"] is None  # another thread has no history: asked as it is


@pytest.mark.slow
def test_chat_answers_follow_ups_in_one_conversation(shared_index: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGWATCH_DATA_DIR", str(shared_index.data_dir))
    res = CliRunner().invoke(app, ["chat"], input="《个人信息保护法》第三十八条规定了什么？\n那罚款呢？\n\n")
    assert res.exit_code == 0, res.output
    assert "Conversation " in res.stdout and "quoted answers" in res.stdout
    assert "Asked as: 《个人信息保护法》第三十八条关于罚款的规定是什么？" in res.stdout
    assert res.stdout.count("Q: ") == 2


def test_ask_rejects_an_empty_thread_id() -> None:
    res = CliRunner().invoke(app, ["ask", "--thread", " ", "PIPL Article 38"])
    assert res.exit_code == 2 and "thread id is empty" in res.output


def test_the_model_api_key_is_masked_in_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGWATCH_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("REGWATCH_LLM_MODEL", "qwen")
    monkeypatch.setenv("REGWATCH_LLM_API_KEY", "sk-very-secret")
    res = CliRunner().invoke(app, ["config", "--json"])
    assert res.exit_code == 0, res.output
    assert "sk-very-secret" not in res.stdout
    values = json.loads(res.stdout)["settings"]
    assert values["REGWATCH_LLM_API_KEY"] == "***" and values["REGWATCH_LLM_MODEL"] == "qwen"
    assert values["REGWATCH_LLM_TIMEOUT_S"] == 30.0
