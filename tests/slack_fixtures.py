"""Slack test fixtures shared by the bot's test modules (registered in conftest.py via `pytest_plugins`).

`peer` is the fake Slack Web API, `bot` the real Bolt app served in-process against it, and `env` a data dir with
a migrated state store whose settings point at the peer: `(settings, engine)`. A module may override any of them
with a same-named fixture that takes the shared one (e.g. to add a client or to reset the peer's call log).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from slack_peer import InProcessBot, SlackPeer, bot_settings

from indexer.db import init_schema, make_engine


@pytest.fixture
def peer():
    with SlackPeer() as p:
        yield p


@pytest.fixture
def bot(tmp_path: Path, peer: SlackPeer):
    with InProcessBot(tmp_path / "data", peer) as b:
        yield b


@pytest.fixture
def env(tmp_path: Path, peer: SlackPeer):
    settings = bot_settings(tmp_path / "data", peer)
    settings.ensure_dirs()
    engine = make_engine(settings.resolved_state_url)
    init_schema(engine)
    yield settings, engine
    engine.dispose()
