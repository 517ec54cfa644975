"""The state store: one SQLAlchemy engine chosen by URL (SQLite by default, PostgreSQL in deployments)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

from .schema import metadata

if TYPE_CHECKING:
    from .settings import Settings

_ENGINES: dict[str, Engine] = {}


def utcnow() -> datetime:
    return datetime.now(UTC)


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
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    return engine


def get_engine(settings: Settings) -> Engine:
    """One engine per state URL per process, with the schema created or migrated."""
    url = settings.resolved_state_url
    if url not in _ENGINES:
        engine = make_engine(url)
        init_schema(engine)
        _ENGINES[url] = engine
    return _ENGINES[url]


def init_schema(engine: Engine) -> None:
    metadata.create_all(engine)
