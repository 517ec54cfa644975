"""The Web API client and the few ways the bot posts: answers in threads, ephemeral replies, response_url."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.slack import blocks as bk
from bot.types import Answer
from indexer.errors import ConfigError
from indexer.settings import Settings

WEB_API_TIMEOUT_S = 30
RATE_LIMIT_RETRIES = 2


def require_secret(value: SecretStr | None, variable: str, why: str) -> str:
    """The secret's value, or a ConfigError that names the environment variable to set."""
    if value is None or not value.get_secret_value().strip():
        raise ConfigError(f"{variable} is not set", hint=f"export {variable}=… ({why}); see docs/slack.md")
    return value.get_secret_value().strip()


def make_client(settings: Settings) -> WebClient:
    """One WebClient: bot token, optional base URL override, and 429s retried after Slack's Retry-After.

    Only rate limits are retried inside the SDK: a 5xx or a timeout may hide a message that was posted, so alert
    delivery decides about those itself (see bot/alerts.py) instead of blindly posting twice.
    """
    token = require_secret(settings.slack_bot_token, "SLACK_BOT_TOKEN", "the bot's xoxb- token")
    kwargs: dict[str, Any] = {
        "token": token,
        "timeout": WEB_API_TIMEOUT_S,
        "retry_handlers": [RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES)],
    }
    if settings.slack_api_url:
        kwargs["base_url"] = settings.slack_api_url.rstrip("/") + "/"
    return WebClient(**kwargs)


def post_messages(
    client: WebClient, channel: str, messages: list[list[bk.Block]], *, text: str, thread_ts: str | None = None
) -> list[str]:
    """Post each message in order (into the thread if given) and return their ts values."""
    out: list[str] = []
    for blocks in messages:
        resp = client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False)
        out.append(str(resp.get("ts")))
    return out


def post_answer(
    client: WebClient,
    channel: str,
    thread_ts: str,
    answer: Answer,
    *,
    answer_id: str,
    context_question: str | None = None,
) -> list[str]:
    """Post an answer into a thread, continuing in further messages when it exceeds one message's limits."""
    blocks = bk.answer_blocks(answer, answer_id=answer_id, context_question=context_question)
    return post_messages(client, channel, bk.split_messages(blocks), text=bk.fallback_text(answer), thread_ts=thread_ts)


def update_answer(
    client: WebClient,
    channel: str,
    thread_ts: str,
    working_ts: str,
    answer: Answer,
    *,
    answer_id: str,
    context_question: str | None = None,
) -> list[str]:
    """Replace the "working" message `working_ts` with the answer (further messages, if it needs them, follow)."""
    blocks = bk.answer_blocks(answer, answer_id=answer_id, context_question=context_question)
    messages = bk.split_messages(blocks)
    text = bk.fallback_text(answer)
    client.chat_update(channel=channel, ts=working_ts, text=text, blocks=messages[0])
    return [working_ts, *post_messages(client, channel, messages[1:], text=text, thread_ts=thread_ts)]
