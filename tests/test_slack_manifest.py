"""The manifest, the registered listeners and the docs agree; the CLI mounts as the lead expects."""

from __future__ import annotations

import re

import typer
import yaml
from slack_peer import REPO
from typer.testing import CliRunner

from bot.slack.cli import register

MANIFEST = yaml.safe_load((REPO / "bot" / "manifest.yml").read_text(encoding="utf-8"))
DOCS = (REPO / "docs" / "slack.md").read_text(encoding="utf-8")


def test_manifest_events_scopes_and_command() -> None:
    settings = MANIFEST["settings"]
    assert set(settings["event_subscriptions"]["bot_events"]) == {"app_mention", "message.im"}
    assert settings["interactivity"]["is_enabled"] is True
    assert [c["command"] for c in MANIFEST["features"]["slash_commands"]] == ["/regwatch"]
    scopes = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    # Each event and API call the bot makes needs its scope, and nothing more is asked for.
    assert scopes == {"app_mentions:read", "chat:write", "commands", "im:history", "channels:history", "groups:history",
                      "users:read"}  # users.info: workspace admins and owners, when no admin list is set
    assert MANIFEST["features"]["app_home"]["messages_tab_enabled"] is True  # DMs reach the bot


def test_docs_list_every_subcommand_scope_and_serve_option() -> None:
    for sub in ("ask", "subscribe", "unsubscribe", "subscriptions", "digest", "sources", "help"):
        assert f"/regwatch {sub}" in DOCS
    for scope in MANIFEST["oauth_config"]["scopes"]["bot"]:
        assert f"`{scope}`" in DOCS
    app = typer.Typer()
    register(app)
    help_text = CliRunner().invoke(app, ["slack", "serve", "--help"], terminal_width=200).output
    options = set(re.findall(r"--[a-z][a-z-]+", help_text)) - {"--help"}
    assert options and all(f"`{o}" in DOCS for o in options), options


def test_register_mounts_slack_and_digest() -> None:
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    out = runner.invoke(app, ["--help"], terminal_width=200).output
    assert "slack" in out and "digest" in out
    assert "serve" in runner.invoke(app, ["slack", "--help"], terminal_width=200).output
    assert "--since" in runner.invoke(app, ["digest", "--help"], terminal_width=200).output

