"""Mentions and direct messages: ack at once, then answer in the thread (lazy listeners)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.slack import security
from bot.slack.answering import BotContext, answer_in_thread

# Message subtypes that carry a person's new words; edits, joins, deletions and bot posts do not.
_USER_SUBTYPES = (None, "thread_broadcast", "file_share")


def _ack(ack: Ack) -> None:
    ack()


def register(app: App, ctx: BotContext) -> None:
    def on_mention(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        if security.is_from_bot(event, context.bot_user_id, context.bot_id):
            return
        channel = event.get("channel", "")
        if security.is_dm_channel(channel, event.get("channel_type")):
            return  # a mention inside a DM also arrives as message.im, which answers it: never answer twice
        if not security.channel_allowed(ctx.settings, channel):
            return
        answer_in_thread(
            ctx, client, channel=channel, user=event.get("user"), text=event.get("text", ""),
            ts=event["ts"], thread_ts=event.get("thread_ts"),
        )  # fmt: skip

    def on_message(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        # Only direct messages: channel messages reach the bot as app_mention (it asks for no channel history events).
        if event.get("channel_type") != "im" or event.get("subtype") not in _USER_SUBTYPES:
            return
        if security.is_from_bot(event, context.bot_user_id, context.bot_id):
            return
        answer_in_thread(
            ctx, client, channel=event["channel"], user=event.get("user"), text=event.get("text", ""),
            ts=event["ts"], thread_ts=event.get("thread_ts"),
        )  # fmt: skip

    app.event("app_mention")(ack=_ack, lazy=[on_mention])
    # Every message event is acked (an unhandled one would get a 404 and be retried by Slack), DMs answered.
    app.event("message")(ack=_ack, lazy=[on_message])
