"""The `regwatch` command. Thin: parse arguments, call one function, render. Errors become text only here."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from indexer.settings import Settings

app = typer.Typer(
    name="regwatch",
    help="Regulatory change monitoring for China: index laws, standards and drafts; ask cited questions; watch for changes.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
_state: dict[str, Any] = {"debug": False}
_SETTINGS = "regwatch.settings"  # key in the root click context's meta: this invocation's Settings, or None


def load_settings() -> Settings:
    """This invocation's Settings, built once by the root callback; a wrong value fails here with the setting's name."""
    import click

    ctx = click.get_current_context(silent=True)
    settings = ctx.find_root().meta.get(_SETTINGS) if ctx else None
    return settings if settings is not None else _build_settings()


def _build_settings() -> Settings:
    from pydantic import ValidationError

    from indexer.errors import ConfigError
    from indexer.settings import Settings

    try:
        return Settings()
    except ValidationError as e:
        from .ops import env_name

        problems = "; ".join(f"{env_name(str(err['loc'][0]) if err['loc'] else '?')}: {err['msg']}" for err in e.errors())
        raise ConfigError(f"invalid configuration: {problems}", hint="fix the variable in your environment or .env") from e


def emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2, default=str) + "\n")


@app.callback()
def _root(
    ctx: typer.Context,
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks instead of short error messages.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details to stderr.")] = False,
) -> None:
    _state["debug"] = debug
    from .logging_setup import setup_logging

    # main() built them already (it needs the model name first); under a test runner, build them here
    settings = ctx.obj if ctx.obj is not None else _settings_or_none()
    ctx.meta[_SETTINGS] = settings
    setup_logging(settings, verbose=verbose)  # REGWATCH_LOG_JSON=true: JSON lines on stderr


def _settings_or_none() -> Settings | None:
    """Settings, or None when a value is wrong: the command reports that itself (load_settings tries again)."""
    try:
        return _build_settings()
    except Exception:  # noqa: BLE001
        return None


@app.command("index")
def index_cmd(
    paths: Annotated[list[Path] | None, typer.Argument(help="Files or folders to index. Default: the bundled corpus.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run report as JSON.")] = False,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Re-embed everything (after changing the embedding model).")] = False,
    keep_missing: Annotated[bool, typer.Option("--keep-missing", help="Do not mark files that disappeared as removed.")] = False,
    follow_symlinks: Annotated[bool, typer.Option("--follow-symlinks", help="Index what symlinks leading out of a folder point to (refused by default).")] = False,
) -> None:
    """Index regulations, standards, drafts and commentary, article by article.

    Re-running is incremental: unchanged files are skipped, changed ones become new versions (their passages are
    replaced and the change is recorded), and files that disappeared from an indexed folder are marked removed.
    One bad file is reported and the rest go on; the exit code is 1 if any file failed. Only regular files are read
    (FIFOs, devices, sockets and symlink loops are reported and skipped), and their size is checked first.

    Example: [bold]regwatch index ../shared/regulations --json[/bold]
    """
    from indexer.settings import BUNDLED_CORPUS

    from .render.terminal import print_index_report, progress_bar

    settings = load_settings()
    targets = paths or [BUNDLED_CORPUS / "briefs"]
    from indexer.pipeline import Indexer

    with progress_bar(enabled=not as_json) as progress:
        indexer = Indexer(settings, progress=progress)
        try:
            if rebuild:
                indexer.rebuild()
            report = indexer.index_paths(targets, remove_missing=not keep_missing, follow_symlinks=follow_symlinks)
        finally:
            indexer.close()
    if as_json:
        emit_json(report.to_json())
    else:
        print_index_report(report)
    if report.failed:
        raise typer.Exit(1)


@app.command("status")
def status_cmd(as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False) -> None:
    """Show what is indexed: documents by type and status, passages, versions, the last runs."""
    from indexer.status import index_status

    from .render.terminal import print_status

    st = index_status(load_settings())
    if as_json:
        emit_json(st)
    else:
        print_status(st)


def _register_optional() -> None:
    """Commands that live in their own modules register themselves here (kept import-light)."""
    import importlib

    for mod in ("bot.commands", "bot.monitor_cli", "bot.timeline_cli", "bot.slack.cli", "bot.ops"):
        try:
            m = importlib.import_module(mod)
        except ModuleNotFoundError as e:
            if e.name and mod.startswith(e.name):
                continue
            raise
        m.register(app)


_register_optional()


def _quiet_offline_defaults(model: str | None) -> None:
    """At the edge only: the bundled model needs no hub, so never let a library try to reach one for it; and no
    model-loading progress bars in a CLI that has its own. `model` is None when the configuration is invalid: the
    command stops at that before loading any model."""
    if model is None or model.startswith("bundled:") or model == "multilingual-e5-small" or Path(model).expanduser().exists():
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def main() -> None:
    from indexer.errors import RegwatchError

    settings = _settings_or_none()
    _quiet_offline_defaults((settings.embedding_model or "bundled:") if settings else None)

    try:
        app(obj=settings)
    except RegwatchError as e:
        if _state["debug"]:
            raise
        typer.secho(f"Error: {e.message}", fg=typer.colors.RED, err=True)
        if e.hint:
            typer.secho(f"  {e.hint}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.secho("Interrupted.", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
