"""Shared fixtures: every test gets its own data dir; the shared regulations are indexed once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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
