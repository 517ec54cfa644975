"""The README's command reference covers every command the CLI has (so the docs cannot silently fall behind)."""

from __future__ import annotations

import typer

from bot.cli import app
from tests.conftest import REPO


def test_every_command_is_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    group = typer.main.get_command(app)
    names = sorted(group.commands)  # type: ignore[attr-defined]
    assert {"index", "status", "ask", "watch", "changes", "diff", "sources", "digest", "slack"} <= set(names)
    missing = [n for n in names if f"regwatch {n}" not in readme]
    assert not missing, f"commands not documented in README.md: {missing}"


def test_quick_start_is_exactly_the_two_make_targets() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    assert [ln.split("#")[0].strip() for ln in block.strip().splitlines()] == ["make demo", "make test"]
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert "\ndemo:" in makefile and "\ntest:" in makefile
