"""Block Kit for answers: escaping, Slack's size limits, citations with caveats, feedback and share buttons."""

from __future__ import annotations

import re
from typing import Any

from bot.slack import messages as msg
from bot.types import ABSTAIN_TEXT, Answer, Citation

SECTION_LIMIT = 3000  # characters in one section's text (Slack rejects more with invalid_blocks)
CONTEXT_LIMIT = 2000  # keep context elements well under their own 3000 limit
MAX_BLOCKS = 50  # blocks in one message
FALLBACK_LIMIT = 300  # the notification text; the blocks carry the content

ACTION_FEEDBACK_UP = "regwatch_feedback_up"
ACTION_FEEDBACK_DOWN = "regwatch_feedback_down"
ACTION_SHARE = "regwatch_share"

Block = dict[str, Any]

_ENTITY_TAIL = re.compile(r"&[a-z]{0,4}$")


def esc(text: str | None) -> str:
    """Escape Slack's control characters so document or user text can never ping (`<!channel>`) or link."""
    return (text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(url: str | None, label: str) -> str:
    """A mrkdwn link to an http(s) URL only; anything else (javascript:, slack: ...) is shown as plain text."""
    if not url or not re.match(r"https?://", url, re.IGNORECASE):
        return esc(label)
    safe_url = esc(url).replace("|", "%7C").replace(" ", "%20")
    return f"<{safe_url}|{esc(label).replace('|', '¦')}>"


def truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    cut = _ENTITY_TAIL.sub("", cut)  # never leave half an &amp; behind
    return cut + "…"


def split_text(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Split escaped mrkdwn into pieces of at most `limit` chars, at paragraph, line or word ends where possible."""
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind("\n\n"), window.rfind("\n"), window.rfind(" "), window.rfind("。"))
        if cut < limit // 2:
            cut = limit
            tail = _ENTITY_TAIL.search(window)
            if tail:  # a hard cut must not split an escape sequence
                cut = tail.start()
        else:
            cut += 1
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest.strip() or not pieces:
        pieces.append(rest)
    return pieces


def section(text: str) -> list[Block]:
    """One or more section blocks holding `text` (already escaped mrkdwn)."""
    return [{"type": "section", "text": {"type": "mrkdwn", "text": part}} for part in split_text(text)]


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(text, CONTEXT_LIMIT)}]}


def button(text: str, action_id: str, value: str, style: str | None = None) -> Block:
    b: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": text, "emoji": True},
        "action_id": action_id,
        "value": value[:2000],
    }
    if style:
        b["style"] = style
    return b


def caveat_for(c: Citation) -> str | None:
    """The warning a reader needs before relying on a passage: drafts are not law, superseded text is not current."""
    if c.caveat:
        return c.caveat
    if c.status == "draft" or c.doc_type == "draft":
        return msg.CAVEAT_DRAFT
    if c.status in ("superseded", "partly_superseded", "repealed") or c.superseded_by:
        return msg.CAVEAT_SUPERSEDED
    return None


def citation_blocks(c: Citation) -> list[Block]:
    quote = "\n".join(f"&gt; {line}" if line.strip() else "&gt;" for line in esc(c.quote.strip()).splitlines())
    blocks = section(f"*[{c.n}] {esc(c.short_title or c.title)}, {esc(c.section)}*\n{quote}")
    facts = [esc(c.title), esc(c.status.replace("_", " "))]
    if c.effective:
        facts.append(f"effective {esc(c.effective)}")
    if c.url:
        facts.append(link(c.url, msg.CITATION_LINK))
    blocks.append(context(" · ".join(f for f in facts if f)))
    caveat = caveat_for(c)
    if caveat:
        blocks.append(context(f":warning: {esc(caveat)}"))
    return blocks


def answer_blocks(
    answer: Answer, *, answer_id: str, shareable: bool = False, context_question: str | None = None
) -> list[Block]:
    """The whole answer as blocks (may exceed one message; `split_messages` cuts it)."""
    blocks: list[Block] = []
    if context_question:
        blocks.append(context(msg.FOLLOW_UP_CONTEXT.format(question=esc(context_question))))
    if answer.abstained:
        blocks += section(msg.ABSTAINED)
        why = abstention_reason(answer)
        if why:
            blocks += section(esc(why))
        blocks.append(context(msg.ABSTAINED_HINT))
    else:
        blocks += section(esc(answer.answer))
        if answer.notice:
            blocks.append(context(esc(answer.notice)))
        elif answer.mode == "generated":
            n = len(answer.dropped_sentences)
            blocks.append(context(msg.GENERATED_DROPPED.format(n=n) if n else msg.GENERATED_NOTE))
        if answer.citations:
            blocks.append({"type": "divider"})
            blocks += section(msg.SOURCES_HEADER)
            for c in answer.citations:
                blocks += citation_blocks(c)
    actions = [
        button(msg.FEEDBACK_UP, ACTION_FEEDBACK_UP, answer_id),
        button(msg.FEEDBACK_DOWN, ACTION_FEEDBACK_DOWN, answer_id),
    ]
    if shareable:
        actions.append(button(msg.SHARE_BUTTON, ACTION_SHARE, answer_id, style="primary"))
    blocks.append({"type": "actions", "block_id": f"regwatch_answer_{answer_id}", "elements": actions})
    return blocks


def abstention_reason(answer: Answer) -> str:
    """What an abstention says before its fixed sentence (a named article that does not exist); often nothing."""
    return answer.answer.replace(ABSTAIN_TEXT, "").strip() if answer.abstained else ""


def fallback_text(answer: Answer) -> str:
    """The notification text that goes with the blocks (also what screen readers and old clients show)."""
    body = (" ".join(x for x in (msg.ABSTAINED.replace("*", ""), abstention_reason(answer)) if x)
            if answer.abstained else answer.answer)
    return truncate(msg.FALLBACK_ANSWER.format(text=esc(body)), FALLBACK_LIMIT)


def split_messages(blocks: list[Block], max_blocks: int = MAX_BLOCKS) -> list[list[Block]]:
    """Cut a block list into messages of at most `max_blocks`, marking continuations."""
    if len(blocks) <= max_blocks:
        return [blocks]
    messages: list[list[Block]] = []
    current: list[Block] = []
    for block in blocks:
        if len(current) == max_blocks:
            messages.append(current)
            current = [context(msg.CONTINUED)]
        current.append(block)
    messages.append(current)
    return messages
