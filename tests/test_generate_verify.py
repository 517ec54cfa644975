"""Verification of generated answers with FIXED model outputs, on the real index of ../shared/regulations.

The sentences here are written by the test, not by a model: each case needs an exact output (a wrong citation
number, a citation to a passage that was not given, an unsupported claim, a changed amount, a number the passage
does not state). Where the whole answer path runs, the model is `tests/llm_servers.ScriptedChatServer`, a tiny
OpenAI-compatible stub on loopback, because a real model cannot be made to write a given wrong sentence (or to
answer 429/503) on demand. The real model's path is tests/test_generate_llm.py.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import select

from bot.answer import Asker
from bot.generate.assistant import Assistant
from bot.generate.numbers import numbers, unmatched
from bot.generate.prompts import Passage, answer_messages
from bot.generate.verify import Verifier, split_sentences
from bot.types import Answer, Citation
from indexer.schema import documents, passages
from tests.conftest import make_settings
from tests.llm_servers import Script, ScriptedChatServer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def asker(shared_index):  # type: ignore[no-untyped-def]
    return Asker(shared_index)


@pytest.fixture(scope="module")
def verifier(asker: Asker) -> Verifier:
    return Verifier(asker.retriever)


def passage(asker: Asker, doc_id: str, article: int | str, n: int, contains: str = "") -> Passage:
    """Article `article` (or the section so named) of `doc_id` as the model would be given it, numbered [n]."""
    r = asker.retriever
    where = passages.c.section == article if isinstance(article, str) else passages.c.section_number == article
    with r.engine.connect() as c:
        rows = c.execute(select(passages).where(passages.c.doc_id == doc_id, where)).mappings().all()
        doc = c.execute(select(documents).where(documents.c.doc_id == doc_id)).mappings().one()
    row = next(x for x in rows if contains in x["text"])
    meta = doc["meta"]
    cite = Citation(n=n, doc_id=doc_id, title=doc["title"], source_path=doc["source_path"], url=meta.get("url"),
                    section=row["section"], section_number=row["section_number"], status=doc["status"], doc_type=doc["doc_type"],
                    effective=meta.get("effective"), quote=row["text"][:200], score=1.0,
                    passage_id=row["passage_id"], language=doc["language"], short_title=meta.get("short_title"))
    return Passage(cite, row["text"])


@pytest.fixture(scope="module")
def fines_and_transfers(asker: Asker) -> list[Passage]:
    # [1] PIPL Article 66 (fines: RMB 50 million or five percent of turnover), [2] PIPL Article 38 (transfer abroad)
    return [passage(asker, "pipl_2021_en", 66, 1, "50 million"), passage(asker, "pipl_2021_en", 38, 2)]


def _verdicts(verifier: Verifier, text: str, given: list[Passage]) -> list[tuple[bool, str]]:
    return [(c.kept, c.reason) for c in verifier.verify(text, given).checked]


def test_a_supported_sentence_is_kept(verifier: Verifier, fines_and_transfers: list[Passage]) -> None:
    text = ("Where the circumstances are serious, a fine of up to RMB 50 million or 5% of the previous year's "
            "turnover can be imposed [1]. To provide personal information outside China a processor must pass a "
            "security assessment, be certified or sign the standard contract [2].")
    assert _verdicts(verifier, text, fines_and_transfers) == [(True, ""), (True, "")]


def test_a_changed_amount_is_dropped(verifier: Verifier, fines_and_transfers: list[Passage]) -> None:
    text = "Where the circumstances are serious, a fine of up to RMB 5 million can be imposed [1]."
    [(kept, reason)] = _verdicts(verifier, text, fines_and_transfers)
    assert not kept and "5,000,000" in reason


def test_a_changed_percentage_is_dropped(verifier: Verifier, fines_and_transfers: list[Passage]) -> None:
    [(kept, reason)] = _verdicts(verifier, "Serious cases can be fined up to 10% of the previous year's turnover [1].",
                                 fines_and_transfers)
    assert not kept and "10%" in reason


def test_a_wrong_citation_number_is_dropped(verifier: Verifier, fines_and_transfers: list[Passage]) -> None:
    # The amount is Article 66's, the citation points at Article 38.
    [(kept, reason)] = _verdicts(verifier, "Serious violations can be fined up to RMB 50 million [2].",
                                 fines_and_transfers)
    assert not kept and "[2]" in reason


def test_a_citation_to_a_passage_not_given_is_dropped(verifier: Verifier, fines_and_transfers: list[Passage]) -> None:
    [(kept, reason)] = _verdicts(verifier, "Serious violations can be fined up to RMB 50 million [7].",
                                 fines_and_transfers)
    assert not kept and "[7]" in reason and "not among" in reason


def test_a_number_the_passage_does_not_state_is_dropped(verifier: Verifier, fines_and_transfers: list[Passage]) -> None:
    [(kept, reason)] = _verdicts(verifier, "The security assessment must be completed within 45 working days [2].",
                                 fines_and_transfers)
    assert not kept and "45" in reason


def test_an_unsupported_claim_is_dropped(verifier: Verifier, fines_and_transfers: list[Passage]) -> None:
    text = "Companies must appoint a local data protection officer and register with the police [2]."
    [(kept, reason)] = _verdicts(verifier, text, fines_and_transfers)
    assert not kept and "does not support" in reason


def test_an_uncited_sentence_is_dropped(verifier: Verifier, fines_and_transfers: list[Passage]) -> None:
    text = "Serious violations can be fined up to RMB 50 million. This is a strict regime [1]."
    verdicts = _verdicts(verifier, text, fines_and_transfers)
    assert verdicts[0] == (False, "cites no passage")


def test_a_chinese_passage_supports_an_english_sentence(asker: Asker, verifier: Verifier) -> None:
    zh66 = passage(asker, "pipl_2021_zh", 66, 1, "五千万")
    text = "In serious cases the fine can reach 50 million yuan or 5% of the previous year's turnover [1]."
    assert _verdicts(verifier, text, [zh66]) == [(True, "")]
    assert not verifier.verify("In serious cases the fine can reach 5 million yuan [1].", [zh66]).kept


def test_a_chinese_sentence_is_checked_against_its_passage(asker: Asker, verifier: Verifier) -> None:
    zh66 = passage(asker, "pipl_2021_zh", 66, 1, "五千万")
    ok = "情节严重的，可以处五千万元以下或者上一年度营业额百分之五以下罚款[1]。"
    changed = "情节严重的，可以处五百万元以下罚款[1]。"
    assert [c.kept for c in verifier.verify(ok + changed, [zh66]).checked] == [True, False]


def test_numbers_are_normalised_across_languages_and_forms() -> None:
    assert numbers("RMB 50 million or 5% of turnover") == numbers("五千万元或者百分之五") == {
        ("num", 50_000_000.0), ("pct", 5.0)}
    assert numbers("five percent") == {("pct", 5.0)}
    assert not unmatched(numbers("effective 1 November 2021"), numbers("自二〇二一年十一月一日起施行"))
    assert unmatched(numbers("5 million"), numbers("五千万")) == [("num", 5_000_000.0)]
    assert numbers("one of the following") == set() and numbers("统一一般") == set()


def test_sentences_are_split_with_their_citations() -> None:
    got = split_sentences("A rule applies [1]. Another one [2][3]。\n- Third point. [1]\n第四句话[2]。")
    assert [(s.body, s.cited, s.ends_cited) for s in got] == [
        ("A rule applies.", [1], True), ("Another one。", [2, 3], True), ("Third point.", [1], True),
        ("第四句话。", [2], True)]


# --- the whole answer path, with the scripted stub in place of a model -------------------------------------------


def _assistant(shared_index: Any, asker: Asker, url: str | None, **over: Any) -> Assistant:
    settings = make_settings(shared_index.data_dir, llm_base_url=url, llm_model="stub" if url else None, **over)
    return Assistant(settings, asker=asker)


QUESTION = "What fines apply to serious violations of the PIPL?"


def _art66(asker: Asker) -> int:
    """The number the extractive answer gives PIPL Article 66 (the scripted sentences cite it)."""
    ext = asker.ask(QUESTION)
    return next(c.n for c in ext.citations if c.section_number == 66)


def test_without_a_model_the_answer_is_exactly_the_extractive_one(shared_index: Any, asker: Asker) -> None:
    a = _assistant(shared_index, asker, None)
    assert a.model is None
    got, want = a.ask(QUESTION), asker.ask(QUESTION)
    assert (got.answer, got.abstained, got.citations) == (want.answer, want.abstained, want.citations)
    assert set(got.to_json()) == {"question", "answer", "abstained", "citations", "timings_ms"}


def test_unsupported_sentences_are_dropped_and_the_rest_is_shown(shared_index: Any, asker: Asker) -> None:
    n = _art66(asker)
    text = (f"In serious cases a fine of up to RMB 50 million or 5% of the previous year's turnover can be imposed "
            f"[{n}]. The fine is at most RMB 5 million [{n}]. Violators also go to prison for ten years [{n}].")
    with ScriptedChatServer([Script(text)]) as stub:
        tokens: list[str] = []
        ans = _assistant(shared_index, asker, stub.base_url).ask(QUESTION, on_token=tokens.append)
    assert len(tokens) > 1 and "".join(tokens) == text  # streamed as it came
    assert ans.mode == "generated" and not ans.notice
    assert ans.answer.startswith("In serious cases a fine of up to RMB 50 million") and ans.answer.endswith("[1].")
    assert "5 million" not in ans.answer.replace("50 million", "") and "prison" not in ans.answer
    assert [d["sentence"][:20] for d in ans.dropped_sentences] == ["The fine is at most ", "Violators also go to"]
    assert [c.section_number for c in ans.citations] == [66]  # renumbered: only what is cited is listed
    body = stub.requests[0]
    assert body["model"] == "stub" and body["stream"] is True and body["max_tokens"] == 400
    prompt = "\n".join(m["content"] for m in body["messages"])
    assert QUESTION in prompt and "Article 66" in prompt and "in force" in prompt and "English" in prompt


def test_when_nothing_holds_up_the_extractive_answer_is_given_and_says_so(shared_index: Any, asker: Asker) -> None:
    n = _art66(asker)
    text = f"The fine is at most RMB 5 million [{n}]. Companies must register with the police [{n}]. Be careful."
    with ScriptedChatServer([Script(text)]) as stub:
        ans = _assistant(shared_index, asker, stub.base_url).ask(QUESTION)
    want = asker.ask(QUESTION)
    assert ans.mode == "extractive" and (ans.answer, ans.citations) == (want.answer, want.citations)
    assert ans.notice and "did not hold up" in ans.notice and "3 of 3" in ans.notice
    assert len(ans.dropped_sentences) == 3 and ans.to_json()["mode"] == "extractive"


@pytest.mark.parametrize(("status", "said"), [(429, "HTTP 429"), (503, "HTTP 503"), (500, "HTTP 500")])
def test_rate_limits_and_server_errors_fall_back_with_a_notice(shared_index: Any, asker: Asker, status: int,
                                                                said: str) -> None:
    # The stub, because a real server cannot be made to answer 429/5xx on demand.
    with ScriptedChatServer([Script(status=status)]) as stub:
        ans = _assistant(shared_index, asker, stub.base_url).ask(QUESTION)
    assert ans.mode == "extractive" and said in (ans.notice or "") and not ans.abstained
    assert len(stub.requests) == 1  # not retried: the user's time budget is the answer's
    assert ans.answer == asker.ask(QUESTION).answer


def test_a_server_that_stalls_falls_back_within_the_time_out(shared_index: Any, asker: Asker) -> None:
    with ScriptedChatServer([Script("Too late [1].", delay_s=20)]) as stub:
        a = _assistant(shared_index, asker, stub.base_url, llm_timeout_s=3)
        t = time.monotonic()
        ans = a.ask(QUESTION)
        took = time.monotonic() - t
    assert ans.mode == "extractive" and "within 3 s" in (ans.notice or "")
    assert took < 15  # the extractive answer itself takes a few seconds on a busy machine; the stall is 20 s


def test_an_unreachable_server_falls_back(shared_index: Any, asker: Asker) -> None:
    from tests.chroma_server import free_port

    ans = _assistant(shared_index, asker, f"http://127.0.0.1:{free_port()}/v1").ask(QUESTION)
    assert ans.mode == "extractive" and "could not be reached" in (ans.notice or "")


def test_an_abstention_is_not_sent_to_the_model(shared_index: Any, asker: Asker) -> None:
    with ScriptedChatServer([Script("Anything [1].")]) as stub:
        ans = _assistant(shared_index, asker, stub.base_url).ask("What does HIPAA require for hospitals in Ohio?")
    assert ans.abstained and ans.mode == "abstained" and stub.requests == []


def test_a_draft_passage_is_flagged_in_the_sentence_that_uses_it(shared_index: Any, asker: Asker) -> None:
    # The extractive answer is given (not retrieved), so that the case does not depend on the ranking.
    draft = passage(asker, "cac_2023-09-28_cross-border-data-flow-provisions-draft", "FACTS", 1, "exemptions")
    in_force = passage(asker, "pipl_2021_en", 38, 2)
    q = "What exemptions did the draft cross-border data flow provisions propose?"
    ext = Answer(question=q, answer="… [1]\n… [2]", abstained=False, citations=[draft.citation, in_force.citation])
    text = ("The draft proposed exemptions for trade, academic cooperation and cross-border manufacturing data [1]. "
            "Under the PIPL a processor may provide personal information abroad after passing a security "
            "assessment [2].")
    with ScriptedChatServer([Script(text)]) as stub:
        ans = _assistant(shared_index, asker, stub.base_url).generate(q, ext)
    assert ans.mode == "generated", (ans.notice, ans.dropped_sentences)
    # The first sentence says 'draft' itself; one that does not is flagged:
    assert ans.answer.startswith("The draft proposed exemptions for trade") and "(a draft" not in ans.answer
    with ScriptedChatServer([Script(text.replace("The draft proposed", "CAC proposed"))]) as stub:
        ans = _assistant(shared_index, asker, stub.base_url).generate(q, ext)
    assert ans.answer.startswith("CAC proposed exemptions for trade, academic cooperation and cross-border "
                                 "manufacturing data (a draft, not in force) [1].")
    assert "security assessment [2]." in ans.answer  # the in-force passage is not flagged
    assert [c.status for c in ans.citations] == ["draft", "in_force"]


def test_the_prompt_carries_the_passages_facts() -> None:
    c = Citation(n=1, doc_id="d", title="Personal Information Protection Law", source_path="x", url=None,
                 section="Article 38", section_number=38, status="draft", doc_type="law", effective="2021-11-01",
                 quote="q", score=1.0, short_title="PIPL", caveat="Draft for comment, not in force")
    msgs = answer_messages("能否向境外提供员工数据？", [Passage(c, "A processor shall meet one of the following.")], "zh")
    assert [m[0] for m in msgs] == ["system", "human"]
    assert "Simplified Chinese" in msgs[0][1] and "[1]" in msgs[0][1]
    assert "[1] PIPL, Article 38 (draft; effective 2021-11-01; Draft for comment, not in force)" in msgs[1][1]
    assert "能否向境外提供员工数据？" in msgs[1][1]


def test_a_sentence_in_another_language_than_the_question_is_dropped(asker: Asker, verifier: Verifier) -> None:
    zh66 = passage(asker, "pipl_2021_zh", 66, 1, "五千万")
    text = "情节严重的，可以处五千万元以下罚款[1]。In serious cases the fine can reach 50 million yuan [1]."
    got = [(c.kept, c.reason) for c in verifier.verify(text, [zh66], language="zh").checked]
    assert got == [(True, ""), (False, "is not in the question's language")]
