"""`/regwatch` and the buttons: feedback, share in channel, ask about an alert."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.slack import blocks as bk
from bot.slack import messages as msg
from bot.slack import posting, security, store
from bot.slack.alert_blocks import ACTION_ALERT_ASK
from bot.slack.answering import BotContext, answer_in_thread, ask_and_save
from bot.slack.commands import UsageError, parse_ask, run_quick, split_command
from bot.types import Filters


def _ack(ack: Ack) -> None:
    ack()


def _allowed(ctx: BotContext, channel: str, channel_name: str | None = None) -> bool:
    is_dm = security.is_dm_channel(channel) or channel_name == "directmessage"
    return security.channel_allowed(ctx.settings, channel, is_dm=is_dm)


def _reply(respond: Respond, client: WebClient, body: dict[str, Any], text: str) -> None:
    """An ephemeral note to whoever clicked: through the response_url when Slack gave one."""
    if body.get("response_url"):
        respond(text=text, response_type="ephemeral", replace_original=False)
    else:
        client.chat_postEphemeral(channel=body["channel"]["id"], user=body["user"]["id"], text=text)


def register(app: App, ctx: BotContext) -> None:
    def ack_command(ack: Ack, command: dict[str, Any]) -> None:
        sub, args = split_command(command.get("text", ""))
        channel, user = command.get("channel_id", ""), command.get("user_id", "")
        if sub != "help" and not _allowed(ctx, channel, command.get("channel_name")):
            text = msg.CHANNEL_NOT_ALLOWED
        elif sub == "ask":
            try:
                question, _ = parse_ask(args)
                text = msg.THINKING if question else msg.ASK_EMPTY
            except UsageError as e:
                text = str(e)
        else:
            text = run_quick(ctx.settings, ctx.engine, sub=sub, args=args, channel_id=channel, user_id=user, admin=ctx.admin)
        ack(text=text, response_type="ephemeral")  # only the person who typed the command sees it

    def answer_command(command: dict[str, Any], respond: Respond) -> None:
        sub, question = split_command(command.get("text", ""))
        channel = command.get("channel_id", "")
        if sub != "ask" or not question or not _allowed(ctx, channel, command.get("channel_name")):
            return
        try:
            question, as_of = parse_ask(question)
        except UsageError:
            return  # the ack said why
        if not question:
            return
        asked = ask_and_save(
            ctx, question, channel=channel, user=command.get("user_id"), what="answering /regwatch ask",
            filters=Filters(as_of=as_of) if as_of else None,
            reply_failure=lambda text: respond(text=text, response_type="ephemeral", replace_original=False),
        )  # fmt: skip
        if asked is None:
            return
        answer, answer_id = asked
        blocks = bk.answer_blocks(answer, answer_id=answer_id, shareable=True)
        for message in bk.split_messages(blocks):
            respond(text=bk.fallback_text(answer), blocks=message, response_type="ephemeral", replace_original=False)

    def on_feedback(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient) -> None:
        ack()
        stored = store.load_answer(ctx.engine, action.get("value", ""))
        if stored is None:
            _reply(respond, client, body, msg.FEEDBACK_UNKNOWN)
            return
        store.record_feedback(
            ctx.engine,
            stored,
            vote="up" if action["action_id"] == bk.ACTION_FEEDBACK_UP else "down",
            user_id=body.get("user", {}).get("id"),
            channel_id=(body.get("channel") or {}).get("id"),
            message_ts=(body.get("container") or {}).get("message_ts"),
        )
        _reply(respond, client, body, msg.FEEDBACK_THANKS)

    def on_share(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient) -> None:
        ack()
        stored = store.load_answer(ctx.engine, action.get("value", ""))
        if stored is None:
            _reply(respond, client, body, msg.SHARE_GONE)
            return
        answer = store.answer_from_json(stored["answer"])
        user = body.get("user", {}).get("id", "")
        blocks = bk.answer_blocks(answer, answer_id=stored["answer_id"])
        blocks.insert(0, bk.context(msg.SHARED_BY.format(user=user, question=bk.esc(stored["question"]))))
        posting.post_messages(client, body["channel"]["id"], bk.split_messages(blocks), text=bk.fallback_text(answer))
        if body.get("response_url"):
            respond(delete_original=True)  # the ephemeral copy has served its purpose

    def ask_about_alert(body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        row = store.get_change(ctx.engine, int(action.get("value") or 0))
        channel = body["channel"]["id"]
        thread = (body.get("container") or {}).get("message_ts") or body.get("message", {}).get("ts")
        if row is None:
            client.chat_postMessage(channel=channel, thread_ts=thread, text=msg.ALERT_GONE)
            return
        answer_in_thread(
            ctx, client, channel=channel, user=body.get("user", {}).get("id"), ts=thread, thread_ts=None,
            text=msg.ALERT_ASK_QUESTION.format(title=row["title"]), filters=Filters(doc_id=[row["doc_id"]]),
        )  # fmt: skip

    app.command("/regwatch")(ack=ack_command, lazy=[answer_command])
    app.action(re.compile(f"^({bk.ACTION_FEEDBACK_UP}|{bk.ACTION_FEEDBACK_DOWN})$"))(on_feedback)
    app.action(bk.ACTION_SHARE)(on_share)
    app.action(ACTION_ALERT_ASK)(ack=_ack, lazy=[ask_about_alert])
