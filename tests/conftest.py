"""Shared fixtures: every test gets its own data dir; the shared regulations are indexed once per session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.httpserver import LoopbackServer

if TYPE_CHECKING:
    from indexer.pipeline import Indexer

pytest_plugins = ["slack_fixtures"]  # peer, bot, env: the Slack tests' fixtures

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SHARED_REGS = SHARED / "regulations"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def require_shared() -> Path:
    if not SHARED_REGS.is_dir():
        pytest.skip(f"the shared regulations are not at {SHARED_REGS} (they sit beside the repo on dev and CI machines)")
    return SHARED_REGS


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's ~/.local/share/regwatch, .env or Slack tokens."""
    for k in list(os.environ):
        if k.startswith(("REGWATCH_", "SLACK_")):
            monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("REGWATCH_DATA_DIR", str(tmp_path / "data"))


def make_settings(data_dir: Path, **overrides: object):  # type: ignore[no-untyped-def]
    from indexer.settings import Settings

    return Settings(_env_file=None, data_dir=data_dir, **overrides)  # type: ignore[call-arg]


def subprocess_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment for a regwatch child process: no REGWATCH_/SLACK_ variables from the developer, offline models,
    this repo importable, `data_dir` as the data dir; `extra` is set last."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REGWATCH_", "SLACK_"))}
    env.update(REGWATCH_DATA_DIR=str(data_dir), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONPATH=str(REPO),
               **extra)
    return env


def assert_consistent(idx: Indexer) -> None:
    """The three stores agree: Chroma ids == ledger live passages == lexical rows; nothing pending."""
    live = idx.ledger.live_passage_ids()
    assert idx.vectors.all_ids() == live
    rows = {r[0] for r in idx.lexical.conn.execute("SELECT passage_id FROM fts")}
    assert rows == live
    if idx.glossed is not None:  # the wide-gloss index holds exactly the live Chinese passages
        from indexer.glossary import question_language

        texts = idx.ledger.passages_by_id(sorted(live))
        glossed = {r[0] for r in idx.glossed.conn.execute("SELECT passage_id FROM fts")}
        assert glossed == {pid for pid, r in texts.items() if question_language(r["text"]) == "zh"}
        assert idx.glossed.doc_versions() == idx.lexical.doc_versions()
    assert not [d for d in idx.ledger.docs() if d["pending_version"] is not None]


@pytest.fixture(scope="module")
def embedder():  # type: ignore[no-untyped-def]
    """One loaded model for the module: loading it per test would dominate the run time."""
    from indexer.embed import make_embedder
    from indexer.settings import Settings

    return make_embedder(Settings(_env_file=None), purpose="index")  # type: ignore[call-arg]


@pytest.fixture
def http_server() -> Iterator[LoopbackServer]:
    """A scripted HTTP server on 127.0.0.1 (tests/httpserver.py)."""
    with LoopbackServer() as server:
        yield server


@pytest.fixture(scope="session")
def shared_index(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Settings of a data dir holding an index of all of ../shared/regulations (built once per session)."""
    regs = require_shared()
    from indexer.pipeline import Indexer

    data = tmp_path_factory.mktemp("shared-index")
    settings = make_settings(data)
    idx = Indexer(settings)
    try:
        report = idx.index_paths([regs])
    finally:
        idx.close()
    assert report.failed == 0, report.errors
    return settings
