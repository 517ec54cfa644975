"""The watcher: fetch each source, parse what it yields, hand the documents to the indexer, keep per-source health."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .db import get_engine, utcnow
from .errors import ConfigError, RegwatchError
from .fetch import Fetcher, FetchResult, extract_links, parse_feed
from .fetch.health import HealthBook, SourceHealth, failing_sources
from .fetch.policy import FetchPolicy
from .models import ParsedDocument, sha256
from .sources import Source, cron_trigger, load_sources

if TYPE_CHECKING:
    from apscheduler.schedulers.base import BaseScheduler

    from .settings import Settings

log = logging.getLogger(__name__)
MAX_LINKS_PER_LISTING = 100  # a listing page is a table of contents; past this it is more likely a site map


class DocumentSink(Protocol):
    """What the watcher needs from the indexer (indexer.pipeline.Indexer)."""

    def index_parsed(self, docs: list[ParsedDocument], *, source_name: str) -> Any: ...


@dataclass
class SourceOutcome:
    name: str
    kind: str
    ok: bool = True
    error: str | None = None  # the source failed as a whole (its own URL, feed or folder)
    fetched: int = 0  # responses with a body
    not_modified: int = 0  # 304s: nothing to do
    skipped: list[str] = field(default_factory=list)  # e.g. disallowed by robots.txt
    documents: int = 0  # parsed documents handed to the indexer
    problems: list[str] = field(default_factory=list)  # single items that failed; the source itself is fine
    index: Any = None  # the indexer's report for this source's documents


@dataclass
class WatchReport:
    started_at: datetime
    finished_at: datetime | None = None
    sources: list[SourceOutcome] = field(default_factory=list)

    @property
    def failed(self) -> list[SourceOutcome]:
        return [s for s in self.sources if not s.ok]

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["started_at"] = self.started_at.isoformat()
        out["finished_at"] = self.finished_at.isoformat() if self.finished_at else None
        for s, raw in zip(self.sources, out["sources"], strict=True):
            raw["index"] = s.index.to_json() if hasattr(s.index, "to_json") else None
        return out


def run_watch(settings: Settings, *, once: bool, source: str | None = None, indexer: DocumentSink | None = None,
              fetcher: Fetcher | None = None) -> WatchReport:
    """`once`: check every enabled source (or the one named, even if disabled) now and return. Otherwise run the
    sources that are overdue, then each on its cron schedule until interrupted; the report covers every pass."""
    sources = _select(load_sources(settings.resolved_sources_file), source)
    if once:
        return _Watcher(settings, indexer, fetcher).run(sources)
    sink = indexer or _LazyIndexer(settings)  # one model load for the life of the loop, not one per job
    try:
        report = run_due(settings, indexer=sink, fetcher=fetcher, sources=sources)
        scheduler = build_scheduler(settings, sources, indexer=sink, report=report)
        try:
            scheduler.start()  # blocks
        except (KeyboardInterrupt, SystemExit):
            log.info("watcher stopped")
    finally:
        if isinstance(sink, _LazyIndexer):
            sink.close()
    report.finished_at = utcnow()
    return report


def run_due(settings: Settings, *, indexer: DocumentSink | None = None, fetcher: Fetcher | None = None,
            sources: list[Source] | None = None, now: datetime | None = None) -> WatchReport:
    """Check the enabled sources whose cron has fired since they were last checked (never checked: due)."""
    sources = sources if sources is not None else load_sources(settings.resolved_sources_file)
    now = now or utcnow()
    health = HealthBook(get_engine(settings)).all()
    due = []
    for s in sources:
        last = health[s.name].last_checked if s.name in health else None
        trigger = cron_trigger(s.schedule, settings.timezone)
        if s.enabled and (last is None or (nxt := trigger.get_next_fire_time(None, last)) is not None and nxt <= now):
            due.append(s)
    return _Watcher(settings, indexer, fetcher).run(due)


def build_scheduler(settings: Settings, sources: list[Source], *, indexer: DocumentSink | None = None,
                    report: WatchReport | None = None, scheduler: BaseScheduler | None = None) -> BaseScheduler:
    """A BlockingScheduler (unless one is given) with one job per enabled source on its cron, in settings.timezone."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.blocking import BlockingScheduler

    # One worker: sources due at the same minute run one after another, since they share one indexer and its stores.
    sched = scheduler or BlockingScheduler(timezone=settings.timezone, executors={"default": ThreadPoolExecutor(1)})

    def job(s: Source) -> None:
        got = _Watcher(settings, indexer, None).run([s])
        if report is not None:
            report.sources.extend(got.sources)

    for s in sources:
        if s.enabled:
            trigger = cron_trigger(s.schedule, settings.timezone)
            # One run of a source at a time; a run missed while the machine slept runs once when it wakes.
            sched.add_job(job, trigger, args=[s], id=s.name, name=f"watch {s.name}", max_instances=1,
                          coalesce=True, misfire_grace_time=3600)
    return sched


def failing_for_days(settings: Settings, *, min_days: float = 0.0) -> list[tuple[SourceHealth, float]]:
    """(health, days failing) per source whose latest check failed, longest first: for the watch report."""
    return failing_sources(get_engine(settings), min_days=min_days)


def _select(sources: list[Source], name: str | None) -> list[Source]:
    if name is None:
        return [s for s in sources if s.enabled]
    chosen = [s for s in sources if s.name == name]
    if not chosen:
        raise ConfigError(f"no source named {name!r}", hint=f"known: {', '.join(s.name for s in sources) or 'none'}")
    return chosen


class _LazyIndexer:
    """The pipeline's Indexer, built when the first document turns up: a pass with nothing new loads no model."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._inner: Any = None

    def index_parsed(self, docs: list[ParsedDocument], *, source_name: str) -> Any:
        if self._inner is None:
            from .pipeline import Indexer

            self._inner = Indexer(self.settings)
        return self._inner.index_parsed(docs, source_name=source_name)

    def close(self) -> None:
        if self._inner is not None:
            self._inner.close()


class _Watcher:
    """One pass over some sources with one fetcher."""

    def __init__(self, settings: Settings, indexer: DocumentSink | None, fetcher: Fetcher | None) -> None:
        self.settings = settings
        self.engine = get_engine(settings)
        self.health = HealthBook(self.engine)
        self.indexer = indexer or _LazyIndexer(settings)
        self._own_indexer = indexer is None
        self._fetcher = fetcher
        self._own_fetcher = fetcher is None

    @property
    def fetcher(self) -> Fetcher:
        if self._fetcher is None:
            self._fetcher = Fetcher(self.settings, state=self.engine)
        return self._fetcher

    def run(self, sources: list[Source]) -> WatchReport:
        from .db import run_lock

        report = WatchReport(started_at=utcnow())
        try:
            # Watchers sharing a state store (replicas, a cron job beside the loop) take turns: no double fetch-and-index.
            with run_lock(self.engine, "watch"):
                for s in sources:
                    report.sources.append(self._one(s))
        finally:
            if self._own_fetcher and self._fetcher is not None:
                self._fetcher.close()
            if self._own_indexer and isinstance(self.indexer, _LazyIndexer):
                self.indexer.close()
        report.finished_at = utcnow()
        return report

    def _one(self, source: Source) -> SourceOutcome:
        out = SourceOutcome(source.name, source.kind)
        fetched_urls: list[str] = []
        try:
            docs = list(self._documents(source, out, fetched_urls))
            out.documents = len(docs)
            if docs:
                out.index = self.indexer.index_parsed(docs, source_name=source.name)
                failed = {d.source_path for d in getattr(out.index, "errors", [])}
                out.problems += [f"{d.source_path}: {d.error}" for d in getattr(out.index, "errors", [])]
                for url in failed.intersection(fetched_urls):
                    self.fetcher.forget(url)
        except Exception as e:  # one broken source must not stop the others
            for url in fetched_urls:
                self.fetcher.forget(url)  # nothing of it was indexed: the next run must download it again
            out.ok, out.error = False, str(e)
            if not isinstance(e, RegwatchError):
                log.exception("watching %s failed", source.name)
            self.health.record_failure(source.name, out.error)
            return out
        if out.problems and source.url:
            self.fetcher.forget(source.url)  # else a 304 on the feed or listing would hide the failed items for good
        self.health.record_ok(source.name)
        return out

    def _documents(self, source: Source, out: SourceOutcome, fetched: list[str]) -> Iterator[ParsedDocument]:
        if source.kind == "folder":
            yield from self._folder(source, out)
            return
        assert source.url is not None  # the Source model guarantees it
        policy = source.policy()
        res = self._fetch(source.url, out, fetched, policy)
        if res is None:
            return
        defaults = source.meta_defaults()
        if source.kind == "page":
            yield from self._parse(res.content or b"", out, defaults, name=res.url, url=res.url,
                                   content_type=res.content_type, fatal=True)
        elif source.kind == "listing":
            links = extract_links(res.text, res.final_url, source.include, source.exclude)
            for link in links[:MAX_LINKS_PER_LISTING]:
                yield from self._linked(link.url, out, fetched, defaults, policy)
        else:
            items = [i for i in parse_feed(res.content or b"", res.final_url) if source.wants(i.link, i.title)]
            cap = self.settings.max_feed_items
            if len(items) > cap:
                out.problems.append(f"{source.url}: {len(items)} feed items, only the first {cap} read this run "
                                    "(REGWATCH_MAX_FEED_ITEMS)")
                items = items[:cap]
            for item in items:
                meta = {**defaults, "title": item.title or None, "published": item.published}
                meta = {k: v for k, v in meta.items() if v is not None}
                if item.link and not policy.may_follow(item.link):
                    out.problems.append(f"{item.link}: not fetched: a feed item linking to another host than the "
                                        "source's (list the host in the source's allow_hosts to follow it)")
                elif item.link:
                    yield from self._linked(item.link, out, fetched, meta, policy)
                elif item.content:
                    yield from self._inline(source, item.guid, item.content, out, meta)

    def _fetch(self, url: str, out: SourceOutcome, fetched: list[str], policy: FetchPolicy) -> FetchResult | None:
        res = self.fetcher.fetch(url, policy=policy)
        if res.skipped:
            out.skipped.append(f"{url}: {res.skipped}")
            return None
        if res.not_modified:
            out.not_modified += 1
            return None
        out.fetched += 1
        fetched.append(url)
        return res

    def _linked(self, url: str, out: SourceOutcome, fetched: list[str], meta: dict[str, Any],
                policy: FetchPolicy) -> Iterator[ParsedDocument]:
        try:
            res = self._fetch(url, out, fetched, policy)
        except RegwatchError as e:
            out.problems.append(str(e))  # one dead link does not make the feed unhealthy
            return
        if res is not None:
            yield from self._parse(res.content or b"", out, meta, name=res.url, url=res.url, content_type=res.content_type)

    def _parse(self, data: bytes, out: SourceOutcome, meta: dict[str, Any], *, name: str, url: str | None = None,
               content_type: str | None = None, fatal: bool = False) -> Iterator[ParsedDocument]:
        from .parse import parse_bytes

        try:
            yield parse_bytes(data, name=name, settings=self.settings, content_type=content_type, url=url, extra_meta=meta)
        except RegwatchError as e:
            if url:
                self.fetcher.forget(url)  # a parser fixed later must get to see it again
            if fatal:
                raise
            out.problems.append(str(e))

    def _inline(self, source: Source, guid: str, html: str, out: SourceOutcome, meta: dict[str, Any]) -> Iterator[ParsedDocument]:
        """A feed item without a link: its own content is the document, with an id from the feed and the guid."""
        from .metadata import slugify_doc_id

        key = sha256(guid or html)[:12]
        meta = {**meta, "doc_id": f"{slugify_doc_id(source.url or source.name)}-{key}"}
        yield from self._parse(html.encode("utf-8"), out, meta, name=f"{source.url}#item-{key}",
                               content_type="text/html; charset=utf-8")

    def _folder(self, source: Source, out: SourceOutcome) -> Iterator[ParsedDocument]:
        from .errors import ParseError
        from .parse import iter_candidates, read_document

        root = resolve_folder(self.settings.resolved_sources_file, source.path or "")
        for c in iter_candidates([root], follow_symlinks=source.follow_symlinks):
            if not source.wants(str(c.path.relative_to(root))):
                continue
            if c.problem is not None:
                out.problems.append(f"{c.path}: {c.problem}")
                continue
            try:
                data = read_document(c.path, settings=self.settings)
            except ParseError as e:
                out.problems.append(str(e))
                continue
            # The resolved path as name: the same origin and id `regwatch index` gives the file.
            yield from self._parse(data, out, source.meta_defaults(), name=c.origin)


def resolve_folder(sources_file: Path, path: str) -> Path:
    """Relative to the sources file's folder, else to the folder above it (the bundled file names `corpus/...`)."""
    p = Path(path).expanduser()
    candidates = [p] if p.is_absolute() else [sources_file.parent / p, sources_file.parent.parent / p]
    for c in candidates:
        if c.is_dir():
            return c
    raise ConfigError(f"folder not found: {path} (looked in {', '.join(str(c) for c in candidates)})",
                      hint="fix the source's path in the sources file")
