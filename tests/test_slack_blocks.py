"""Answer rendering: escaping of document and user text, Slack's size limits, caveats, buttons."""

from __future__ import annotations

import json
import re

from slack_peer import block_problem, sample_answer

from bot.slack import blocks as bk
from bot.slack import messages as msg
from bot.types import ABSTAIN_TEXT, Answer, Citation

HOSTILE = "Notify <!channel> and <@U123> via <http://evil.example|click here> & <!here>"


def _all_text(blocks: list[dict]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def _no_control_sequences(text: str) -> None:
    for bad in ("<!channel>", "<@U123>", "<http://evil", "<!here>"):
        assert bad not in text, bad


def test_escape_neutralises_pings_and_links() -> None:
    escaped = bk.esc(HOSTILE)
    assert escaped == (
        "Notify &lt;!channel&gt; and &lt;@U123&gt; via &lt;http://evil.example|click here&gt; &amp; &lt;!here&gt;"
    )
    assert "<" not in escaped and ">" not in escaped


def test_document_text_and_question_are_escaped_everywhere() -> None:
    answer = sample_answer("q", quote=HOSTILE)
    answer.answer = HOSTILE
    answer.citations[0].title = "Title <!channel>"
    answer.citations[0].section = "Art <@U123>"
    answer.citations[0].caveat = "Superseded <!here>"
    blocks = bk.answer_blocks(answer, answer_id="a1", context_question=HOSTILE)
    text = _all_text(blocks)
    _no_control_sequences(text)
    assert "&lt;!channel&gt;" in text
    assert bk.fallback_text(answer).count("<") == 0


def test_links_only_for_http_urls() -> None:
    assert bk.link("javascript:alert(1)", "x") == "x"
    assert bk.link("https://a.example/x?a=1&b=<2>|3", "t|u") == "<https://a.example/x?a=1&amp;b=&lt;2&gt;%7C3|t¦u>"


def test_long_answer_splits_within_limits_and_loses_nothing() -> None:
    long_text = " ".join(f"word{i} & <b>" for i in range(3000))  # ~40k chars once escaped
    cites = [
        Citation(n=i, doc_id="d", title="T", source_path="p", url=None, section=f"Article {i}", section_number=i,
                 status="in_force", doc_type="law", effective=None, quote="x" * 3500, score=0.5)  # fmt: skip
        for i in range(1, 31)
    ]
    answer = Answer(question="q", answer=long_text, abstained=False, citations=cites)
    blocks = bk.answer_blocks(answer, answer_id="a1")
    messages = bk.split_messages(blocks)
    assert len(messages) > 1
    for m in messages:
        assert len(m) <= bk.MAX_BLOCKS
        assert block_problem(m) is None  # what Slack's invalid_blocks checks
    assert messages[-1][-1]["type"] == "actions"  # the buttons close the answer
    rebuilt = "".join(
        b["text"]["text"].replace(" ", "")
        for b in blocks
        if b["type"] == "section" and "word" in b["text"]["text"]
    )
    assert rebuilt == bk.esc(long_text).replace(" ", "")


def test_hard_split_never_cuts_an_entity() -> None:
    text = bk.esc("<" * 2000)  # 8000 chars of &lt; with nowhere to break
    parts = bk.split_text(text, 3000)
    assert all(len(p) <= 3000 for p in parts)
    assert all(re.fullmatch(r"(&lt;)+", p) for p in parts)
    assert "".join(parts) == text


def test_abstention_is_clear_and_cites_nothing() -> None:
    blocks = bk.answer_blocks(sample_answer("q", abstained=True), answer_id="a1")
    text = _all_text(blocks)
    assert "No indexed passage answers this" in text
    assert "Sources" not in text


def test_an_abstention_that_knows_why_says_so_escaped() -> None:
    answer = sample_answer("q", abstained=True)
    assert bk.abstention_reason(answer) == ""  # the plain abstention adds nothing to the fixed sentence
    answer.answer = f"The indexed PIPL has no Article 999 <!channel> (its articles run from 1 to 74). {ABSTAIN_TEXT}"
    text = _all_text(bk.answer_blocks(answer, answer_id="a1"))
    assert "No indexed passage answers this" in text and "has no Article 999" in text
    assert "<!channel>" not in text and "Sources" not in text
    fallback = bk.fallback_text(answer)
    assert "has no Article 999" in fallback and "<!channel>" not in fallback


def test_caveats_for_drafts_and_superseded_text() -> None:
    answer = sample_answer("q")
    answer.citations[0].status = "superseded"
    text = _all_text(bk.answer_blocks(answer, answer_id="a1"))
    assert msg.CAVEAT_SUPERSEDED in text and msg.CAVEAT_DRAFT in text


def test_buttons_carry_the_answer_id() -> None:
    blocks = bk.answer_blocks(sample_answer("q"), answer_id="abc", shareable=True)
    actions = blocks[-1]["elements"]
    assert [a["action_id"] for a in actions] == [bk.ACTION_FEEDBACK_UP, bk.ACTION_FEEDBACK_DOWN, bk.ACTION_SHARE]
    assert {a["value"] for a in actions} == {"abc"}
