"""The state store: one SQLAlchemy engine chosen by URL (SQLite by default, PostgreSQL in deployments).

The schema is owned by the alembic revisions in indexer/migrations; `get_engine` brings a store to the newest one on
start. Several processes may start at once: the upgrade runs under a lock (a PostgreSQL advisory lock, or a file
lock beside the SQLite file), and whoever gets it second finds nothing left to do.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine

if TYPE_CHECKING:
    from alembic.config import Config

    from .settings import Settings

_ENGINES: dict[str, Engine] = {}
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes even for timezone=True columns; everything this package stores is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def dialect_insert(engine: Engine, table: Any) -> Any:
    """`insert(table)` of the store's dialect (PostgreSQL or SQLite), which has on_conflict_do_nothing/_do_update."""
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    return insert(table)


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    # WAL: readers (the bot) never block the indexer; synchronous=NORMAL is durable across process kills.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        from .filemodes import private_file

        db = Path(url.removeprefix("sqlite:///"))
        db.parent.mkdir(parents=True, exist_ok=True)
        if db.name and not url.endswith(":memory:"):
            private_file(db)  # 600 from the start: SQLite gives its -wal and -shm files the same mode
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    return engine


def get_engine(settings: Settings) -> Engine:
    """One engine per state URL per process, with the schema migrated to the newest revision."""
    url = settings.resolved_state_url
    if url not in _ENGINES:
        engine = make_engine(url)
        init_schema(engine)
        _ENGINES[url] = engine
    return _ENGINES[url]


def forget_engine(url: str) -> None:
    """Close and drop the cached engine of `url` (a restore is about to replace its SQLite file)."""
    engine = _ENGINES.pop(url, None)
    if engine is not None:
        engine.dispose()


# --- migrations --------------------------------------------------------------------------------------------


def alembic_config(url: str | None = None, connection: Connection | None = None) -> Config:
    """Alembic's config for this package's revisions; env.py migrates `connection` when one is given."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@lru_cache(maxsize=1)
def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "indexer/migrations/versions holds no revision"
    return head


def current_revision(conn: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    try:
        return MigrationContext.configure(conn).get_current_revision()
    finally:
        conn.rollback()  # end the read so the upgrade (or the caller) starts a transaction of its own


def init_schema(engine: Engine) -> None:
    """Upgrade the store to the newest revision; cheap when it is there already, safe when processes race.

    A store created by `metadata.create_all` before migrations existed has no alembic_version: revision 0001 only
    creates what is missing, so such a store is adopted (stamped) rather than failing on existing tables.
    """
    head = head_revision()
    with engine.connect() as conn:
        if current_revision(conn) == head:
            return
    with run_lock(engine, "migrate") as conn:
        if current_revision(conn) != head:
            from alembic import command

            command.upgrade(alembic_config(connection=conn), "head")
            conn.commit()


# --- cross-process locks -----------------------------------------------------------------------------------


def _lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"regwatch:{name}".encode()).digest()[:8], "big", signed=True)


def _sqlite_path(engine: Engine) -> Path | None:
    db = engine.url.database
    return Path(db) if engine.dialect.name == "sqlite" and db and db != ":memory:" else None


@contextmanager
def run_lock(engine: Engine, name: str) -> Iterator[Connection]:
    """Hold the store-wide lock `name` (blocking) and yield a connection of the store.

    PostgreSQL: a session advisory lock, so it holds across hosts (two watcher or bot replicas). SQLite: a file
    lock beside the database file (all its writers are on this host). Used for migrations, index runs and watch
    passes: two watchers started together run one after the other, and the second finds nothing new.
    """
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            key = _lock_key(name)
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
            conn.commit()
            try:
                yield conn
            finally:
                conn.rollback()
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
            return
        path = _sqlite_path(engine)
        if path is None:
            yield conn
            return
        with open(os.open(path.with_name(f"{path.name}.{name}.lock"), os.O_RDWR | os.O_CREAT, 0o600), "a+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield conn
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

