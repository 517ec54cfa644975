"""Operations endpoints' content: /healthz (state store and Chroma reachable) and /metrics (Prometheus).

The metrics are read from the state store at scrape time, so they are totals for the whole deployment: every
replica reports the same numbers (alerts are delivered exactly once by whichever replica claimed them), they
survive restarts, and a `regwatch ask` answered elsewhere still counts. Scrape one replica, or take max() across them.
"""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from indexer.settings import Settings

LATENCY_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 900.0, 1800.0, 3600.0, 4 * 3600.0, 24 * 3600.0)


def check_state_store(engine: Engine) -> dict[str, Any]:
    from indexer.db import current_revision

    t0 = time.perf_counter()
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            revision = current_revision(conn)
    except Exception as e:  # noqa: BLE001 - any failure means "not healthy", with the reason shown
        return {"ok": False, "dialect": engine.dialect.name, "error": f"{type(e).__name__}: {e}"[:300]}
    return {"ok": True, "dialect": engine.dialect.name, "revision": revision, "ms": round((time.perf_counter() - t0) * 1000, 1)}


def check_chroma(settings: Settings, timeout: float = 3.0) -> dict[str, Any]:
    if not settings.chroma_url:
        # Embedded: this process opens it on the first question; an index not built yet is not an outage.
        return {"ok": True, "mode": "embedded", "indexed": (settings.chroma_dir / "chroma.sqlite3").exists()}
    url = settings.chroma_url.rstrip("/") + "/api/v2/heartbeat"
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - the configured server
            resp.read()
    except Exception as e:  # noqa: BLE001
        return {"ok": False, "mode": "server", "error": f"{type(e).__name__}: {e}"[:300]}
    return {"ok": True, "mode": "server", "ms": round((time.perf_counter() - t0) * 1000, 1)}


def health(settings: Settings, engine: Engine) -> tuple[bool, dict[str, Any]]:
    """(healthy, body) for /healthz and `regwatch health`."""
    checks = {"state_store": check_state_store(engine), "chroma": check_chroma(settings)}
    ok = all(c["ok"] for c in checks.values())
    return ok, {"ok": ok, "checks": checks}


class StoreCollector:
    """A Prometheus collector over the state store (a custom collector: values are computed per scrape)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def describe(self) -> list[Any]:
        return []  # unchecked collector: registering it runs no query

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        up = GaugeMetricFamily("regwatch_state_store_up", "1 if the state store answered this scrape.")
        try:
            families = list(self._families())
        except Exception:  # noqa: BLE001 - a scrape must not fail because the store is down
            up.add_metric([], 0.0)
            yield up
            return
        up.add_metric([], 1.0)
        yield up
        yield from families

    def _families(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

        from indexer.schema import answers, changes, documents, outbox, passages, runs

        abstained = answers.c.answer["abstained"].as_boolean()
        with self.engine.connect() as conn:
            asked = conn.execute(select(func.count()).select_from(answers)).scalar_one()
            abstentions = conn.execute(select(func.count()).select_from(answers).where(abstained.is_(True))).scalar_one()
            by_state: dict[str, int] = dict(conn.execute(select(outbox.c.state, func.count()).group_by(outbox.c.state)).all())
            run_rows = conn.execute(select(runs.c.kind, runs.c.state, func.count()).group_by(runs.c.kind, runs.c.state)).all()
            n_changes = conn.execute(select(func.count()).select_from(changes)).scalar_one()
            n_docs = conn.execute(select(func.count()).select_from(documents).where(documents.c.removed.is_(False))).scalar_one()
            n_passages = conn.execute(select(func.count()).select_from(passages)).scalar_one()
            delays = conn.execute(
                select(changes.c.detected_at, outbox.c.sent_at)
                .select_from(outbox.join(changes, changes.c.change_id == outbox.c.change_id))
                .where(outbox.c.state == "sent", outbox.c.sent_at.is_not(None))
            ).all()
        yield _single(CounterMetricFamily, "regwatch_questions_answered", "Questions answered in Slack (stored answers).", asked)
        yield _single(CounterMetricFamily, "regwatch_abstentions", "Answers where no indexed passage supported an answer.",
                      abstentions)
        yield _single(CounterMetricFamily, "regwatch_alerts_sent", "Alerts posted to Slack (each exactly once).",
                      by_state.get("sent", 0))
        yield _single(CounterMetricFamily, "regwatch_alerts_failed",
                      "Alerts given up on after permanent errors or too many retries.", by_state.get("failed", 0))
        yield _single(GaugeMetricFamily, "regwatch_alerts_pending", "Alerts queued or being sent.",
                      by_state.get("queued", 0) + by_state.get("sending", 0))
        yield _latency_histogram(HistogramMetricFamily, delays)
        c = CounterMetricFamily("regwatch_index_runs", "Index runs (regwatch index and watcher passes) by kind and outcome.",
                                labels=["kind", "state"])
        for kind, state, n in run_rows:
            c.add_metric([kind, state], n)
        yield c
        yield _single(CounterMetricFamily, "regwatch_changes_detected",
                      "Changes recorded (new drafts, amendments, status changes, ...).", n_changes)
        yield _single(GaugeMetricFamily, "regwatch_documents", "Indexed documents (not removed).", n_docs)
        yield _single(GaugeMetricFamily, "regwatch_passages", "Live passages in the index.", n_passages)


def _single(family: Any, name: str, documentation: str, value: float) -> Any:
    """A metric family with one unlabelled sample."""
    m = family(name, documentation)
    m.add_metric([], value)
    return m


def _latency_histogram(family: Any, rows: Any) -> Any:
    from indexer.db import as_utc

    seconds = sorted(
        max(0.0, (as_utc(sent) - as_utc(detected)).total_seconds())  # type: ignore[operator]
        for detected, sent in rows
        if detected is not None and sent is not None
    )
    buckets, i = [], 0
    for bound in LATENCY_BUCKETS:
        while i < len(seconds) and seconds[i] <= bound:
            i += 1
        buckets.append((_fmt(bound), i))
    buckets.append(("+Inf", len(seconds)))
    h = family("regwatch_alert_delivery_latency_seconds", "From a change's detection to its alert being posted.")
    h.add_metric([], buckets=buckets, sum_value=sum(seconds))
    return h


def _fmt(bound: float) -> str:
    return str(int(bound)) if bound == int(bound) else str(bound)


def metrics_registry(engine: Engine) -> Any:
    """A registry with the store's metrics and this process's CPU and memory."""
    from prometheus_client import CollectorRegistry, ProcessCollector

    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(engine))
    ProcessCollector(registry=registry)
    return registry


def render_metrics(registry: Any) -> tuple[bytes, str]:
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return generate_latest(registry), CONTENT_TYPE_LATEST


class Ops:
    """What the HTTP server needs for /healthz and /metrics, bound to one process's settings and engine."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self.registry = metrics_registry(engine)

    def health(self) -> tuple[bool, dict[str, Any]]:
        return health(self.settings, self.engine)

    def metrics(self) -> tuple[bytes, str]:
        return render_metrics(self.registry)
