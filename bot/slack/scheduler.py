"""Background jobs of the `serve` process: alert delivery, due digests, pruning old event ids (APScheduler)."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from slack_sdk import WebClient
from sqlalchemy.engine import Engine

from bot.alerts import deliver_pending
from bot.digest import run_due_digests
from bot.slack import store
from indexer.db import utcnow
from indexer.settings import Settings

log = logging.getLogger(__name__)


def _deliver(settings: Settings, client: WebClient, engine: Engine) -> None:
    report = deliver_pending(settings, client, engine=engine)
    if report.claimed or report.enqueued:
        log.info(
            "alerts: %d queued, %d sent, %d recovered, %d retried, %d failed",
            report.enqueued, report.sent, report.recovered, report.retried, report.failed,
        )  # fmt: skip


def start_scheduler(
    settings: Settings, client: WebClient, engine: Engine, *, deliver_every_s: float = 30.0, digest_every_s: float = 60.0
) -> BackgroundScheduler:
    """Start the jobs; each runs one instance at a time and missed runs collapse into one.

    Digests are checked every minute against each channel's schedule (in settings.timezone) rather than one
    cron job per channel: schedule changes take effect without re-registering jobs, and a digest missed while
    the bot was down goes out once when it is back (last_digest_at says what was sent).
    """
    sched = BackgroundScheduler(timezone=ZoneInfo(settings.timezone))
    common = {"max_instances": 1, "coalesce": True, "next_run_time": utcnow()}
    sched.add_job(_deliver, "interval", seconds=deliver_every_s, args=[settings, client, engine], id="deliver", **common)
    sched.add_job(run_due_digests, "interval", seconds=digest_every_s, args=[settings, client, engine], id="digests", **common)
    sched.add_job(store.prune_events, "interval", hours=1, args=[engine], id="prune-events", **common)
    sched.start()
    return sched
