"""Operations commands: `config`, `health`, `backup`, `restore` and `migrate` (registered on `regwatch` by bot.cli)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from indexer.settings import Settings


# --- configuration -----------------------------------------------------------------------------------------


def env_names() -> dict[str, str]:
    """Settings field -> the environment variable that sets it (Slack's own names for the Slack secrets)."""
    from pydantic import AliasChoices

    from indexer.settings import Settings

    out = {}
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices) and isinstance(alias.choices[0], str):
            out[name] = alias.choices[0]
        elif isinstance(alias, str):
            out[name] = alias
        else:
            out[name] = f"REGWATCH_{name.upper()}"
    return out


def env_name(loc: str) -> str:
    """The variable to name in an error about `loc` (a field name, or the alias pydantic matched)."""
    names = env_names()
    return names.get(loc) or (loc.upper() if loc.upper() in names.values() else f"REGWATCH_{loc.upper()}")


def mask_url(value: str) -> str:
    """`scheme://user:secret@host/...` -> `scheme://user:***@host/...` (indexer.urls; a password may hold '/', '#',
    '?' or '@'); other strings unchanged."""
    from indexer.urls import mask_url as mask

    return mask(value)


def masked(value: Any) -> Any:
    from pydantic import SecretStr

    if isinstance(value, SecretStr):
        return "***" if value.get_secret_value() else ""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, str) and "://" in value:
        return mask_url(value)
    return value


def effective_config(settings: Settings) -> dict[str, Any]:
    """Every setting under its variable's name (secrets masked), and what the defaults resolve to."""
    names = env_names()
    values = {names[f]: masked(getattr(settings, f)) for f in type(settings).model_fields}
    return {
        "settings": values,
        "set": sorted(names[f] for f in settings.model_fields_set if f in names),
        "effective": {
            "state_store": mask_url(settings.resolved_state_url),
            "chroma": mask_url(settings.chroma_url) if settings.chroma_url else str(settings.chroma_dir),
            "lexical_index": str(settings.lexical_path),
            "embedding": {"backend": settings.embedding_backend, "model": _embedding_model(settings)},
            "sources_file": str(settings.resolved_sources_file),
            "glossary": str(settings.resolved_glossary),
        },
    }


def _embedding_model(settings: Settings) -> str:
    from indexer.embed import model_name

    try:
        return model_name(settings)
    except Exception as e:  # noqa: BLE001 - shown, not raised: `config` is how a user finds what is wrong
        return f"(invalid: {e})"


def config_cmd(as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False) -> None:
    """Print the effective configuration (environment, .env and defaults), with secrets masked.

    A wrong value stops every command at start with the variable's name; this shows what a right one resolved to.
    """
    from .cli import emit_json, load_settings

    cfg = effective_config(load_settings())
    if as_json:
        emit_json(cfg)
        return
    for name, value in cfg["settings"].items():
        shown = ",".join(value) if isinstance(value, list) else "" if value is None else str(value).lower() if isinstance(value, bool) else value
        typer.echo(f"{name}={shown}" + ("" if name in cfg["set"] else "    # default"))
    typer.echo("\n# effective")
    for key, value in cfg["effective"].items():
        typer.echo(f"# {key}: {value}")


# --- health, migrations ------------------------------------------------------------------------------------


def health_cmd(as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False) -> None:
    """Check that the state store and Chroma answer; exit 1 if not (a container healthcheck)."""
    from indexer.db import get_engine

    from .cli import emit_json, load_settings
    from .health import health

    settings = load_settings()
    ok, body = health(settings, get_engine(settings))
    if as_json:
        emit_json(body)
    else:
        for name, check in body["checks"].items():
            typer.echo(f"{name}: {'ok' if check['ok'] else 'FAILED ' + check.get('error', '')}")
    if not ok:
        raise typer.Exit(1)


def migrate_cmd() -> None:
    """Bring the state store's schema to this version's newest revision (every command also does it at start)."""
    from indexer.db import current_revision, head_revision, init_schema, make_engine

    from .cli import load_settings

    settings = load_settings()
    settings.ensure_dirs()
    engine = make_engine(settings.resolved_state_url)
    with engine.connect() as conn:
        before = current_revision(conn)
    init_schema(engine)
    typer.echo(f"state store at revision {head_revision()}" + ("" if before == head_revision() else f" (was {before or 'unversioned'})"))
    engine.dispose()


# --- backup and restore ------------------------------------------------------------------------------------


def backup_cmd(
    path: Annotated[Path, typer.Argument(help="The archive to write, e.g. regwatch-2026-11-21.tar.gz.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the manifest as JSON.")] = False,
) -> None:
    """Back up the state store, the vectors, the lexical index and the query encoder into one tar.gz.

    Safe while the bot and watcher run: SQLite files are copied with SQLite's backup API, PostgreSQL is read in one
    snapshot, the Chroma collection (embedded or server) is exported through its API, and index runs wait meanwhile.
    """
    from .backup import backup
    from .cli import emit_json, load_settings

    manifest = backup(load_settings(), path)
    if as_json:
        emit_json(manifest)
        return
    c = manifest["counts"]
    typer.echo(f"wrote {path}: {c['documents']} documents, {c['versions']} versions, {c['passages']} passages, "
               f"{c['changes']} changes, {manifest['chroma']['count']} vectors")  # fmt: skip


def restore_cmd(
    path: Annotated[Path, typer.Argument(help="An archive made by `regwatch backup`.")],
    force: Annotated[bool, typer.Option("--force", help="Replace the data that is already there.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the archive's manifest as JSON.")] = False,
) -> None:
    """Restore a backup into the configured data dir, state store and Chroma (stop the bot and watcher first).

    An archive restores into either kind of store: a SQLite backup into PostgreSQL is how to move to PostgreSQL.
    """
    from .backup import restore
    from .cli import emit_json, load_settings

    manifest = restore(load_settings(), path, force=force)
    if as_json:
        emit_json(manifest)
        return
    c = manifest["counts"]
    typer.echo(f"restored {path} (made {manifest['created_at'][:19]}): {c['documents']} documents, {c['passages']} passages, "
               f"{c['changes']} changes, {manifest['chroma']['count']} vectors")  # fmt: skip


def register(app: typer.Typer) -> None:
    app.command("config")(config_cmd)
    app.command("health")(health_cmd)
    app.command("migrate")(migrate_cmd)
    app.command("backup")(backup_cmd)
    app.command("restore")(restore_cmd)
