"""Block Kit for change alerts and digests: what a compliance reader needs first, all text escaped."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.slack import messages as msg
from bot.slack.blocks import Block, button, context, esc, link, section, split_messages, truncate

if TYPE_CHECKING:
    from bot.digest import Digest

ACTION_ALERT_ASK = "regwatch_alert_ask"
LIST_LIMIT = 15  # section names shown per list before "…and N more"
SUMMARY_LIMIT = 2500


def _names(items: list[Any] | None) -> str:
    items = [str(i) for i in items or []]
    shown = ", ".join(esc(i) for i in items[:LIST_LIMIT])
    return shown + (" " + msg.DIGEST_MORE.format(n=len(items) - LIST_LIMIT) if len(items) > LIST_LIMIT else "")


def kind_label(kind: str) -> str:
    return msg.ALERT_KIND.get(kind, msg.ALERT_KIND_DEFAULT)


def alert_message(change: dict[str, Any], meta: dict[str, Any] | None) -> tuple[str, list[Block]]:
    """(fallback text, blocks) for one `changes` row and its document's metadata."""
    meta = meta or {}
    kind = change.get("kind") or ""
    title = change.get("title") or meta.get("title") or change.get("doc_id") or "?"
    url = change.get("url") or meta.get("url")
    heading = f"{kind_label(kind)}: *{link(url, title) if url else esc(title)}*"
    blocks: list[Block] = section(heading)

    facts: list[str] = []
    if meta.get("issuer"):
        facts.append(msg.ALERT_ISSUER.format(issuer=esc(meta["issuer"])))
    if change.get("status"):
        facts.append(msg.ALERT_STATUS.format(status=esc(str(change["status"]).replace("_", " "))))
    if kind == "new_draft":
        deadline = meta.get("comment_deadline")
        facts.append(msg.ALERT_COMMENT_DEADLINE.format(date=esc(deadline)) if deadline else msg.ALERT_NO_DEADLINE)
    if kind == "new_standard" and meta.get("standard_number"):
        facts.append(msg.ALERT_STANDARD_NUMBER.format(number=esc(meta["standard_number"])))
    if kind in ("new_standard", "new_regulation", "amendment") and meta.get("effective"):
        facts.append(msg.ALERT_EFFECTIVE.format(date=esc(meta["effective"])))
    if facts:
        blocks += section("\n".join(facts))

    sections = change.get("changed_sections") or {}
    if kind in ("amendment", "status_change", "minor_edit") and sections:
        lines = [
            template.format(sections=_names(sections.get(key)))
            for key, template in (("changed", msg.ALERT_CHANGED), ("added", msg.ALERT_ADDED), ("removed", msg.ALERT_REMOVED))
            if sections.get(key)
        ]
        if lines:
            blocks += section("\n".join(lines))
    if change.get("summary"):
        summary = truncate(esc(change["summary"]), SUMMARY_LIMIT)
        blocks += section(msg.ALERT_DIFF.format(summary=summary) if kind == "amendment" else summary)
    blocks.append(
        {
            "type": "actions",
            "block_id": f"regwatch_alert_{change.get('change_id')}",
            "elements": [button(msg.ALERT_ASK, ACTION_ALERT_ASK, str(change.get("change_id")))],
        }
    )
    text = truncate(msg.ALERT_FALLBACK.format(kind=kind_label(kind).split(" ", 1)[-1], title=esc(title)), 300)
    return text, blocks[:50]


def digest_messages(digest: Digest) -> tuple[str, list[list[Block]]]:
    """(fallback text, messages) for a digest; long digests continue in further messages."""
    blocks: list[Block] = section(msg.DIGEST_TITLE.format(since=f"{digest.since:%Y-%m-%d %H:%M}", now=f"{digest.now:%Y-%m-%d %H:%M}"))
    if digest.is_empty:
        blocks.append(context(msg.DIGEST_EMPTY.format(since=f"{digest.since:%Y-%m-%d}", days=digest.horizon_days)))
    if digest.changes:
        lines = [msg.DIGEST_CHANGES.format(n=len(digest.changes))]
        for c in digest.changes:
            title = link(c.get("url"), c["title"]) if c.get("url") else esc(c["title"])
            lines.append(f"• {kind_label(c['kind'])}: {title}" + (f" _({esc(c['words'])})_" if c.get("words") else ""))
        blocks += section("\n".join(lines))
    if digest.upcoming:
        lines = [msg.DIGEST_UPCOMING.format(days=digest.horizon_days)]
        for u in digest.upcoming:
            what = msg.DIGEST_UPCOMING_EFFECTIVE if u["what"] == "effective" else msg.DIGEST_UPCOMING_DEADLINE
            lines.append(f"• *{esc(u['date'])}* {what}: {esc(u['title'])}" + (f" _({esc(u['words'])})_" if u.get("words") else ""))
        blocks += section("\n".join(lines))
    text = msg.DIGEST_FALLBACK.format(n=len(digest.changes), m=len(digest.upcoming))
    return text, split_messages(blocks)
