"""Passwords never printed or logged, whatever characters they hold; the data dir, state store and backups owner-only."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import subprocess_env

PASSWORD = "pa/ss#w?rd"  # '/', '#' and '?': urllib takes them for the start of a path, fragment and query


def _regwatch(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.parametrize("url,shown", [
    (f"postgresql+psycopg://regwatch:{PASSWORD}@db:5432/regwatch", "postgresql+psycopg://regwatch:***@db:5432/regwatch"),
    (f"http://admin:{PASSWORD}@chroma:8000/api", "http://admin:***@chroma:8000/api"),
    ("postgresql://u:p@ss@db/x", "postgresql://u:***@db/x"),  # an unencoded '@' in the password
    ("postgresql://u:p%40ss@db/x", "postgresql://u:***@db/x"),
    ("http://127.0.0.1:8000", "http://127.0.0.1:8000"), ("sqlite:////var/lib/regwatch/state.sqlite", None),
])
def test_mask_url(url: str, shown: str | None) -> None:
    from bot.ops import mask_url

    assert mask_url(url) == (shown or url)


def test_config_and_status_never_print_a_password(tmp_path: Path) -> None:
    env = subprocess_env(tmp_path / "data", REGWATCH_STATE_URL=f"postgresql+psycopg://regwatch:{PASSWORD}@db:5432/regwatch",
                         REGWATCH_CHROMA_URL=f"http://admin:{PASSWORD}@chroma:8000")
    res = _regwatch(["config", "--json"], env, tmp_path)
    assert res.returncode == 0, res.stderr
    assert PASSWORD not in res.stdout and "pa/ss" not in res.stdout and "rd@" not in res.stdout
    cfg = json.loads(res.stdout)
    assert cfg["settings"]["REGWATCH_STATE_URL"] == "postgresql+psycopg://regwatch:***@db:5432/regwatch"
    assert cfg["effective"]["chroma"] == "http://admin:***@chroma:8000"
    status_env = subprocess_env(tmp_path / "data", REGWATCH_CHROMA_URL=f"http://admin:{PASSWORD}@127.0.0.1:9/")
    res = _regwatch(["status", "--json"], status_env, tmp_path)
    assert res.returncode == 0, res.stderr
    assert PASSWORD not in res.stdout + res.stderr and json.loads(res.stdout)["chroma"] == "http://admin:***@127.0.0.1:9/"


def test_log_lines_never_carry_a_configured_password(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from bot.slack.security import SecretMaskingFilter, settings_secrets
    from tests.conftest import make_settings

    settings = make_settings(tmp_path / "data", state_url=f"postgresql+psycopg://regwatch:{PASSWORD}@db/regwatch",
                             metrics_token="metrics-secret-token")
    filt = SecretMaskingFilter(settings_secrets(settings))
    logger = logging.getLogger("regwatch.test.masking")
    logger.addFilter(filt)
    with caplog.at_level(logging.INFO, logger="regwatch.test.masking"):
        logger.info("connecting with %s and %s", settings.state_url, "metrics-secret-token")
    assert PASSWORD not in caplog.text and "metrics-secret-token" not in caplog.text


def test_the_data_dir_is_700_and_the_state_store_600(tmp_path: Path) -> None:
    from indexer.db import make_engine
    from tests.conftest import make_settings

    old = os.umask(0o022)  # the usual umask, which made them 755 and 644
    try:
        settings = make_settings(tmp_path / "data")
        settings.ensure_dirs()
        engine = make_engine(settings.resolved_state_url)
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x)")
        engine.dispose()
        assert os.stat(settings.data_dir).st_mode & 0o777 == 0o700
        assert os.stat(settings.data_dir / "state.sqlite").st_mode & 0o777 == 0o600
        lax = tmp_path / "lax"
        lax.mkdir(mode=0o755)
        make_settings(lax).ensure_dirs()  # an existing data dir of ours is tightened
        assert os.stat(lax).st_mode & 0o777 == 0o700
    finally:
        os.umask(old)
