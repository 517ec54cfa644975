"""Per-source health in the state store (`source_health`): last success, last error, how long it has been failing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Column, DateTime, Integer, String, Table, Text, insert, select, update
from sqlalchemy.engine import Engine

from ..db import as_utc, utcnow
from ..schema import metadata

source_health = Table(
    "source_health",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("last_checked", DateTime(timezone=True)),  # last attempt, ok or not: what "due" is measured from
    Column("last_ok", DateTime(timezone=True)),
    Column("last_error", Text),
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("failing_since", DateTime(timezone=True)),  # first failure of the current streak; null when healthy
)


@dataclass
class SourceHealth:
    name: str
    last_checked: datetime | None
    last_ok: datetime | None
    last_error: str | None
    consecutive_failures: int
    failing_since: datetime | None

    def failing_days(self, now: datetime) -> float:
        return (now - self.failing_since).total_seconds() / 86400 if self.failing_since else 0.0


class HealthBook:
    """Reads and writes `source_health` rows."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        # The schema may have been created before this module was imported: make sure the table is there.
        source_health.create(engine, checkfirst=True)

    def all(self) -> dict[str, SourceHealth]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(source_health)).mappings().all()
        return {r["name"]: _row(r) for r in rows}

    def record_ok(self, name: str, when: datetime | None = None) -> None:
        when = when or utcnow()
        self._upsert(name, last_checked=when, last_ok=when, consecutive_failures=0, failing_since=None)

    def record_failure(self, name: str, error: str, when: datetime | None = None) -> None:
        when = when or utcnow()
        current = self.all().get(name)
        streak = current.consecutive_failures if current else 0
        since = current.failing_since if current and current.failing_since else when
        self._upsert(name, last_checked=when, last_error=error, consecutive_failures=streak + 1, failing_since=since)

    def _upsert(self, name: str, **values: Any) -> None:
        with self._engine.begin() as conn:
            done = conn.execute(update(source_health).where(source_health.c.name == name).values(**values))
            if not done.rowcount:
                conn.execute(insert(source_health).values(name=name, **values))


def failing_sources(engine: Engine, *, now: datetime | None = None, min_days: float = 0.0) -> list[tuple[SourceHealth, float]]:
    """(health, days failing) for every source whose latest attempt failed, longest-failing first."""
    now = now or utcnow()
    rows = [(h, h.failing_days(now)) for h in HealthBook(engine).all().values() if h.failing_since]
    return sorted([r for r in rows if r[1] >= min_days], key=lambda r: -r[1])


def _row(r: Any) -> SourceHealth:
    return SourceHealth(r["name"], as_utc(r["last_checked"]), as_utc(r["last_ok"]), r["last_error"],
                        r["consecutive_failures"] or 0, as_utc(r["failing_since"]))
