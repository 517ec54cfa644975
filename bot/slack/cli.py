"""`regwatch slack serve` and `regwatch digest`: the CLI edge that builds settings and turns errors into text."""

from __future__ import annotations

import importlib
import json
import logging
import signal
import sys
import threading
from typing import Any

import typer

from bot.timeparse import parse_since
from indexer.errors import ConfigError, RegwatchError
from indexer.settings import Settings

slack_cli = typer.Typer(help="Run the Slack bot (mentions, DMs, /regwatch, alerts, digests).", no_args_is_help=True)


@slack_cli.callback()
def _slack() -> None:
    """Run the Slack bot (a group, so `serve` stays a sub-command even when it is the only one)."""


def register(app: typer.Typer) -> None:
    """Mount `slack` (serve) and `digest` on the main `regwatch` command."""
    app.add_typer(slack_cli, name="slack")
    app.command("digest", help="Render the digest of recent changes and upcoming dates, or post it to a channel.")(digest_command)


def _settings() -> Settings:
    """The main CLI's settings loader (a wrong value becomes a ConfigError naming the variable)."""
    from bot.cli import load_settings

    return load_settings()


def _fail(exc: RegwatchError) -> typer.Exit:
    typer.secho(f"error: {exc.message}", fg="red", err=True)
    if exc.hint:
        typer.echo(f"hint: {exc.hint}", err=True)
    return typer.Exit(2)


def _setup_logging(settings: Settings) -> None:
    from bot.slack.security import install_log_masking

    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(settings.log_level.upper())  # also when `regwatch`'s root callback configured logging
    install_log_masking(settings)


def _load_asker(spec: str | None, settings: Settings) -> Any:
    """`module:factory` -> factory(settings); None keeps the default lazily built Asker."""
    if not spec:
        return None
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr or "make_asker")(settings)


@slack_cli.command()
def serve(
    socket: bool = typer.Option(False, "--socket", help="Socket Mode (needs SLACK_APP_TOKEN); no public URL required."),
    http: bool = typer.Option(False, "--http", help="Events API over HTTP on /slack/events (needs SLACK_SIGNING_SECRET)."),
    port: int = typer.Option(3000, "--port", help="HTTP port (0 picks a free one and prints it)."),
    host: str = typer.Option("127.0.0.1", "--host", help="HTTP bind address (this host only by default; a container or a TLS proxy on another host needs 0.0.0.0)."),
    deliver_every: float = typer.Option(30.0, "--deliver-every", help="Seconds between alert delivery runs."),
    no_jobs: bool = typer.Option(False, "--no-jobs", help="Answer only: no alert delivery or digests in this process."),
    asker: str | None = typer.Option(None, "--asker", hidden=True, help="module:factory building another answerer."),
) -> None:
    """Run the bot until interrupted, with alert delivery and digests on a schedule."""
    if socket == http:
        typer.secho("error: choose one of --socket or --http", fg="red", err=True)
        raise typer.Exit(2)
    try:
        settings = _settings()
        _setup_logging(settings)
        _serve(settings, socket_mode=socket, host=host, port=port, deliver_every=deliver_every, jobs=not no_jobs, asker_spec=asker)
    except RegwatchError as exc:
        raise _fail(exc) from None


def _serve(settings: Settings, *, socket_mode: bool, host: str, port: int, deliver_every: float, jobs: bool, asker_spec: str | None) -> None:
    from bot.slack import posting
    from bot.slack.app import create_app
    from indexer.db import get_engine

    app_token = posting.require_secret(settings.slack_app_token, "SLACK_APP_TOKEN", "an xapp- app-level token with connections:write") if socket_mode else None
    client = posting.make_client(settings)
    engine = get_engine(settings)
    app = create_app(settings, asker=_load_asker(asker_spec, settings), engine=engine, client=client, socket_mode=socket_mode)
    sched = None
    if jobs:
        from bot.slack.scheduler import start_scheduler

        sched = start_scheduler(settings, client, engine, deliver_every_s=deliver_every)
    try:
        if socket_mode:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            typer.echo("regwatch slack: connecting in Socket Mode", err=True)
            SocketModeHandler(app, app_token, web_client=client).start()
        else:
            from bot.health import Ops

            _serve_http(app, host, port, Ops(settings, engine), settings=settings)
    finally:
        if sched is not None:
            sched.shutdown(wait=False)


def _serve_http(app: Any, host: str, port: int, ops: Any = None, *, settings: Settings | None = None) -> None:
    from bot.calendar import calendar_endpoint
    from bot.slack.server import make_http_server

    calendar = calendar_endpoint(ops.settings, ops.engine) if ops is not None else None  # None: no token set
    # ops: /healthz checks and /metrics; settings: signature check, body limit, socket time-out, metrics token
    server = make_http_server(app, host, port, ops=ops, settings=settings, calendar=calendar)
    stop = threading.Event()

    def _stop(*_: Any) -> None:
        if not stop.is_set():
            stop.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    # Tests and supervisors read this line to learn the port when --port 0 was given.
    print(f"regwatch slack: listening on http://{host}:{server.server_port}/slack/events", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()


def digest_command(
    since: str = typer.Option("7d", "--since", help="Period start: a duration (7d, 24h, 2w) or an ISO date."),
    post: str | None = typer.Option(None, "--post", help="Post to this Slack channel id instead of printing."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Changes since --since, plus effective dates and comment deadlines in the next REGWATCH_DIGEST_HORIZON_DAYS days (30)."""
    from bot.digest import render_digest
    from indexer.db import get_engine, utcnow

    try:
        settings = _settings()
        now = utcnow()
        digest = render_digest(get_engine(settings), parse_since(since, now), now, horizon_days=settings.digest_horizon_days)
        if post:
            # Imported only when posting, so slack_sdk stays off every other command's import path.
            from slack_sdk.errors import SlackApiError

            from bot.slack import posting
            from bot.slack.alert_blocks import digest_messages

            client = posting.make_client(settings)
            text, messages = digest_messages(digest)
            try:
                posting.post_messages(client, post, messages, text=text)
            except SlackApiError as e:
                raise ConfigError(f"Slack refused the digest: {e.response.get('error')}",
                                  hint="is the bot invited to that channel, and is the channel id right?") from None
            typer.echo(f"posted the digest to {post} ({len(digest.changes)} changes, {len(digest.upcoming)} upcoming dates)")
        elif as_json:
            sys.stdout.write(json.dumps(digest.to_json(), ensure_ascii=False, indent=2, default=str) + "\n")
        else:
            from rich.console import Console

            Console().print(digest.to_text(), markup=False, highlight=False)
    except RegwatchError as exc:
        raise _fail(exc) from None


if __name__ == "__main__":
    slack_cli()
