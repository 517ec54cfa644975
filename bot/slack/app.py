"""The Bolt app factory: one App wired to the state store, the answerer and the listeners."""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_sdk import WebClient
from sqlalchemy.engine import Engine

from bot.slack import handlers_events, handlers_interactive, posting, security
from bot.slack.answering import AskerLike, BotContext, LazyAsker
from indexer.db import get_engine
from indexer.settings import Settings

log = logging.getLogger(__name__)


def create_app(
    settings: Settings,
    *,
    asker: AskerLike | None = None,
    engine: Engine | None = None,
    client: WebClient | None = None,
    socket_mode: bool = False,
) -> App:
    """A Bolt App for one workspace. Calls auth.test once (Bolt's token check) to learn the bot's own ids.

    HTTP mode needs SLACK_SIGNING_SECRET (every request's signature is checked before anything else runs);
    Socket Mode does not, since Slack authenticates the websocket with the app-level token.
    """
    client = client or posting.make_client(settings)
    secret = "" if socket_mode else posting.require_secret(
        settings.slack_signing_secret, "SLACK_SIGNING_SECRET", "Basic Information > App Credentials > Signing Secret"
    )
    engine = engine or get_engine(settings)
    ctx = BotContext(settings=settings, engine=engine, asker=asker or LazyAsker(settings),
                     admin=security.AdminCheck(settings, client))
    app = App(
        client=client,
        signing_secret=secret or "socket-mode",  # Bolt falls back to os.environ when given nothing
        request_verification_enabled=not socket_mode,
        process_before_response=False,  # ack first, answer after: Slack wants its HTTP 200 within 3 s
        logger=logging.getLogger("regwatch.slack"),
    )
    app.middleware(security.dedup_middleware(engine))
    handlers_events.register(app, ctx)
    handlers_interactive.register(app, ctx)

    @app.error
    def on_error(error: Exception, logger: logging.Logger) -> None:
        logger.exception("listener failed: %s", error)

    return app
