"""Who may do what, which events count once, and secrets kept out of logs."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt.response import BoltResponse
from sqlalchemy.engine import Engine

from bot.slack import store
from indexer.settings import Settings

log = logging.getLogger(__name__)

# Slack tokens: bot/user/app-level/refresh/config tokens all start with one of these prefixes.
TOKEN_PATTERN = re.compile(r"\b(?:xox[abposre]|xapp|xoxe\.xox[bp])-[A-Za-z0-9-]{6,}")
MASK = "[redacted]"


class SecretMaskingFilter(logging.Filter):
    """Mask Slack tokens and configured secrets in every log record, its arguments and its traceback."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def mask(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return TOKEN_PATTERN.sub(MASK, text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = self.mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        return True


def settings_secrets(settings: Settings) -> list[str]:
    values = (settings.slack_bot_token, settings.slack_app_token, settings.slack_signing_secret)
    return [v.get_secret_value() for v in values if v is not None]


def install_log_masking(settings: Settings, logger: logging.Logger | None = None) -> SecretMaskingFilter:
    """Attach the mask to the handlers of `logger` (root by default): propagated records pass through handler filters."""
    target = logger or logging.getLogger()
    filt = SecretMaskingFilter(settings_secrets(settings))
    target.addFilter(filt)
    for handler in target.handlers:
        handler.addFilter(filt)
    return filt


def is_admin(settings: Settings, user_id: str | None) -> bool:
    """No admins configured means everyone may change channel settings."""
    return not settings.slack_admins or (user_id or "") in settings.slack_admins


def channel_allowed(settings: Settings, channel_id: str | None, *, is_dm: bool = False) -> bool:
    """The allowlist limits channels; a direct message with the bot is private to its user and always allowed."""
    if not settings.slack_channel_allowlist or is_dm:
        return True
    return (channel_id or "") in settings.slack_channel_allowlist


def is_dm_channel(channel_id: str | None, channel_type: str | None = None) -> bool:
    return channel_type == "im" or (channel_id or "").startswith("D")


def is_from_bot(event: dict[str, Any], bot_user_id: str | None, bot_id: str | None) -> bool:
    """Bots (this one included) never trigger answers: two bots answering each other never stop."""
    if event.get("bot_id") or event.get("subtype") == "bot_message" or event.get("bot_profile"):
        return True
    return (bool(bot_user_id) and event.get("user") == bot_user_id) or (bool(bot_id) and event.get("bot_id") == bot_id)


def dedup_middleware(engine: Engine) -> Callable[..., BoltResponse | None]:
    """Global middleware: the first delivery of an event_id proceeds; retries get a 200 and cause nothing."""

    def regwatch_dedup(body: dict[str, Any], next: Callable[[], BoltResponse], logger: logging.Logger) -> Any:
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and not store.claim_event(engine, str(event_id)):
            logger.info("dropping a repeated delivery of event %s", event_id)
            return BoltResponse(status=200, body="")
        return next()

    return regwatch_dedup
