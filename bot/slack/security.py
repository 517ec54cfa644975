"""Who may do what, which events count once, and secrets kept out of logs."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from indexer.settings import Settings

if TYPE_CHECKING:  # kept light: the CLI's logging set-up imports this module for the masking filter
    from slack_bolt.response import BoltResponse
    from sqlalchemy.engine import Engine

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
    """The configured secrets: Slack's, the metrics token, and the passwords in the state-store and Chroma URLs."""
    from indexer.urls import url_password

    values = (settings.slack_bot_token, settings.slack_app_token, settings.slack_signing_secret, settings.metrics_token)
    passwords = [url_password(u) for u in (settings.state_url, settings.chroma_url) if u]
    return [v.get_secret_value() for v in values if v is not None] + [p for p in passwords if p]


def install_log_masking(settings: Settings, logger: logging.Logger | None = None) -> SecretMaskingFilter:
    """Attach the mask to the handlers of `logger` (root by default): propagated records pass through handler filters."""
    target = logger or logging.getLogger()
    filt = SecretMaskingFilter(settings_secrets(settings))
    target.addFilter(filt)
    for handler in target.handlers:
        handler.addFilter(filt)
    return filt


def is_admin(settings: Settings, user_id: str | None) -> bool:
    """The configured admin list only (no Slack call): with no list, nobody. AdminCheck adds workspace admins."""
    return bool(settings.slack_admins) and (user_id or "") in settings.slack_admins


class AdminCheck:
    """Who may subscribe, unsubscribe and change digests: the users in REGWATCH_SLACK_ADMINS when it is set, else the
    Slack workspace's admins and owners, as users.info reports them (cached for REGWATCH_SLACK_ADMIN_CACHE_S).

    Fails closed: when Slack cannot say (an error, a missing users:read scope), the answer is no."""

    def __init__(self, settings: Settings, client: Any = None, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings, self.client, self._clock = settings, client, clock
        self._cache: dict[str, tuple[float, bool]] = {}
        self._lock = threading.Lock()

    @property
    def uses_workspace_roles(self) -> bool:
        return not self.settings.slack_admins

    def __call__(self, user_id: str | None) -> bool:
        if not self.uses_workspace_roles:
            return is_admin(self.settings, user_id)
        if not user_id or self.client is None:
            return False
        now = self._clock()
        with self._lock:
            hit = self._cache.get(user_id)
        if hit is not None and now - hit[0] < self.settings.slack_admin_cache_s:
            return hit[1]
        allowed = self._ask_slack(user_id)
        if allowed is not None:
            with self._lock:
                self._cache[user_id] = (now, allowed)
        return bool(allowed)

    def _ask_slack(self, user_id: str) -> bool | None:
        from slack_sdk.errors import SlackApiError

        try:
            user = self.client.users_info(user=user_id).get("user") or {}
        except SlackApiError as e:
            error = e.response.get("error") if e.response is not None else None
            hint = " (add the users:read scope to the app)" if error == "missing_scope" else ""
            log.warning("users.info for %s failed: %s%s; treating the user as not an admin", user_id, error, hint)
            return None
        except Exception as e:  # noqa: BLE001 - the network: fail closed, and ask again next time
            log.warning("users.info for %s failed: %s; treating the user as not an admin", user_id, type(e).__name__)
            return None
        if user.get("deleted") or user.get("is_restricted") or user.get("is_ultra_restricted"):
            return False
        return bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))


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
    from slack_bolt.response import BoltResponse

    from bot.slack import store

    def regwatch_dedup(body: dict[str, Any], next: Callable[[], BoltResponse], logger: logging.Logger) -> Any:
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and not store.claim_event(engine, str(event_id)):
            logger.info("dropping a repeated delivery of event %s", event_id)
            return BoltResponse(status=200, body="")
        return next()

    return regwatch_dedup
