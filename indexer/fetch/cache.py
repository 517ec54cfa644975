"""Conditional-GET validators (ETag, Last-Modified) per URL, kept in the state store's `fetch_cache` table."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Column, DateTime, String, Table, Text, delete, insert, select, update
from sqlalchemy.engine import Engine

from ..db import utcnow
from ..models import sha256
from ..schema import metadata

fetch_cache = Table(
    "fetch_cache",
    metadata,
    Column("url_hash", String(64), primary_key=True),  # URLs can outgrow an indexable key; their hash cannot
    Column("url", Text, nullable=False),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("final_url", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


@dataclass
class Validators:
    etag: str | None
    last_modified: str | None


class FetchCache:
    """Validators per URL; in memory when no engine is given (one run only)."""

    def __init__(self, engine: Engine | None) -> None:
        self._engine = engine
        self._memory: dict[str, Validators] = {}
        if engine is not None:
            # get_engine() may have created the schema before this module was imported.
            fetch_cache.create(engine, checkfirst=True)

    def get(self, url: str) -> Validators | None:
        if self._engine is None:
            return self._memory.get(url)
        with self._engine.connect() as conn:
            row = conn.execute(select(fetch_cache).where(fetch_cache.c.url_hash == sha256(url))).first()
        return Validators(row.etag, row.last_modified) if row else None

    def put(self, url: str, v: Validators, *, final_url: str | None = None) -> None:
        if not (v.etag or v.last_modified):
            self.forget(url)
            return
        if self._engine is None:
            self._memory[url] = v
            return
        values = {"etag": v.etag, "last_modified": v.last_modified, "final_url": final_url, "updated_at": utcnow()}
        key = sha256(url)
        with self._engine.begin() as conn:
            done = conn.execute(update(fetch_cache).where(fetch_cache.c.url_hash == key).values(**values))
            if not done.rowcount:
                conn.execute(insert(fetch_cache).values(url_hash=key, url=url, **values))

    def forget(self, url: str) -> None:
        """Drop the validators so the next fetch downloads in full (e.g. the last copy failed to index)."""
        self._memory.pop(url, None)
        if self._engine is not None:
            with self._engine.begin() as conn:
                conn.execute(delete(fetch_cache).where(fetch_cache.c.url_hash == sha256(url)))
