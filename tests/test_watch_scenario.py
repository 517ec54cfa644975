"""The watcher end to end against a loopback site: feeds, listings, pages, folders, health, schedules, and the
two-day scenario through the real index pipeline (new draft for comment + amended regulation, nothing else)."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from indexer.db import get_engine
from indexer.fetch.health import HealthBook
from indexer.models import ParsedDocument
from indexer.settings import Settings
from indexer.watch import build_scheduler, failing_for_days, run_due, run_watch
from tests.conftest import make_settings
from tests.httpserver import LoopbackServer, Reply


class Collect:
    """Stands in for the indexer where only the watcher's side of the contract is under test."""

    def __init__(self) -> None:
        self.batches: list[tuple[str, list[ParsedDocument]]] = []

    def index_parsed(self, docs: list[ParsedDocument], *, source_name: str) -> None:
        self.batches.append((source_name, docs))

    @property
    def docs(self) -> list[ParsedDocument]:
        return [d for _, batch in self.batches for d in batch]


def settings_with_sources(tmp_path: Path, sources: list[dict[str, Any]]) -> Settings:
    # The test server is on loopback, which the fetch policy refuses unless the source allows its own origin.
    sources = [{"allow_private": True, **s} if s.get("url") else s for s in sources]
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "defaults": {"jurisdiction": "CN"}, "sources": sources},
                                   allow_unicode=True), encoding="utf-8")
    return make_settings(tmp_path / "data", sources_file=path, http_per_host_interval_s=0, http_retries=0)


def page(title: str, *paragraphs: str) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return f"<html><head><meta charset='utf-8'><title>{title}</title></head><body><h1>{title}</h1>{body}</body></html>"


def rss(*items: tuple[str, str | None, str, str]) -> str:
    """items: (title, link or None, pubDate, inline description)."""
    out = []
    for title, link, date, desc in items:
        link_xml = f"<link>{link}</link><guid>{link}</guid>" if link else f"<guid isPermaLink='false'>{title}</guid>"
        out.append(f"<item><title>{title}</title>{link_xml}<pubDate>{date}</pubDate><description>{desc}</description></item>")
    return f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>t</title>{''.join(out)}</channel></rss>"


# --- watcher mechanics (documents collected, not indexed) -------------------------------------------------


def test_rss_items_are_fetched_parsed_with_source_and_feed_metadata(http_server: LoopbackServer, tmp_path: Path) -> None:
    http_server.route("/feed.xml", Reply(body=rss(
        ("Notice on data export filings", "/n/1.html", "Mon, 01 Jun 2026 09:00:00 +0800", ""),
        ("Weekly digest", None, "Tue, 02 Jun 2026 09:00:00 +0800", "&lt;p&gt;Inline only: three new filings.&lt;/p&gt;"),
        ("Job advert", "/jobs/2.html", "Tue, 02 Jun 2026 09:00:00 +0800", ""),
    ), content_type="application/rss+xml"))
    http_server.route("/n/1.html", Reply(body=page("x", "Filings open on 1 July.")))
    settings = settings_with_sources(tmp_path, [{"name": "cac", "kind": "rss", "url": http_server.url("/feed.xml"),
                                                  "issuer": "CAC", "topics": ["cross-border"], "exclude": ["/jobs/"]}])
    sink = Collect()
    report = run_watch(settings, once=True, indexer=sink)
    (outcome,) = report.sources
    assert outcome.ok and outcome.documents == 2 and outcome.fetched == 2
    linked, inline = sink.docs
    assert linked.source_path == http_server.url("/n/1.html")
    assert linked.meta.doc_id == f"127-0-0-1-{http_server.port}-n-1"  # from the URL: stable across runs
    assert (linked.meta.title, linked.meta.published, linked.meta.issuer) == ("Notice on data export filings", "2026-06-01", "CAC")
    assert linked.meta.topics == ["cross-border"]
    assert "three new filings" in inline.text and inline.meta.title == "Weekly digest"
    assert http_server.hits("/jobs/2.html") == []


def test_listing_follows_matching_links_and_page_fetches_itself(http_server: LoopbackServer, tmp_path: Path) -> None:
    listing = "<html><body><a href='/d/1.html'>草案一</a><a href='/d/2.html'>草案二</a><a href='/about.html'>关于</a></body></html>"
    http_server.route("/list.html", Reply(body=listing))
    http_server.route("/d/1.html", Reply(body=page("一", "第一条 为了测试，制定本办法。")))
    http_server.route("/d/2.html", Reply(body=page("二", "第一条 本办法自公布之日起施行。")))
    http_server.route("/law.html", Reply(body=page("Law", "Article 1 This Law applies.")))
    settings = settings_with_sources(tmp_path, [
        {"name": "drafts", "kind": "listing", "url": http_server.url("/list.html"), "include": [r"/d/\d+\.html$"]},
        {"name": "law", "kind": "page", "url": http_server.url("/law.html"), "doc_type": "law"},
    ])
    sink = Collect()
    run_watch(settings, once=True, indexer=sink)
    assert [(name, [d.source_path.rsplit("/", 1)[-1] for d in docs]) for name, docs in sink.batches] == [
        ("drafts", ["1.html", "2.html"]), ("law", ["law.html"])]
    assert sink.batches[1][1][0].meta.doc_type == "law"
    assert http_server.hits("/about.html") == []


def test_gbk_page_reaches_the_parser_decoded(http_server: LoopbackServer, tmp_path: Path) -> None:
    html = "<html><head><meta http-equiv='Content-Type' content='text/html; charset=gb2312'><title>数据出境</title></head>" \
           "<body><p>第一条 为了规范数据出境活动，制定本办法。</p></body></html>"
    http_server.route("/gbk.html", Reply(body=html.encode("gbk"), content_type="text/html"))
    settings = settings_with_sources(tmp_path, [{"name": "p", "kind": "page", "url": http_server.url("/gbk.html")}])
    sink = Collect()
    run_watch(settings, once=True, indexer=sink)
    (doc,) = sink.docs
    assert "第一条 为了规范数据出境活动，制定本办法。" in doc.text and doc.meta.language == "zh"


def test_named_source_only_and_folder_sources(tmp_path: Path) -> None:
    folder = tmp_path / "briefs"
    folder.mkdir()
    (folder / "a.md").write_text("---\ntitle: Brief A\n---\n\nConsent matters.\n", encoding="utf-8")
    (folder / "skip.txt").write_text("draft notes\n", encoding="utf-8")
    settings = settings_with_sources(tmp_path, [
        {"name": "briefs", "kind": "folder", "path": "briefs", "exclude": [r"^skip"], "topics": ["consent"]},
        {"name": "other", "kind": "page", "url": "http://127.0.0.1:9/never"},
    ])
    sink = Collect()
    report = run_watch(settings, once=True, source="briefs", indexer=sink)
    assert [s.name for s in report.sources] == ["briefs"]
    (doc,) = sink.docs
    assert doc.meta.title == "Brief A" and doc.meta.topics == ["consent"]
    assert doc.source_path == str((folder / "a.md").resolve())


def test_a_failing_source_is_recorded_and_the_run_goes_on(http_server: LoopbackServer, tmp_path: Path) -> None:
    http_server.route("/ok.html", Reply(body=page("OK", "Article 1 Fine.")))
    http_server.route("/bad.xml", Reply(body="<?xml version='1.0'?><rss><channel><title>x</ti", content_type="text/xml"))
    settings = settings_with_sources(tmp_path, [
        {"name": "gone", "kind": "page", "url": http_server.url("/gone.html")},
        {"name": "bad-feed", "kind": "rss", "url": http_server.url("/bad.xml")},
        {"name": "ok", "kind": "page", "url": http_server.url("/ok.html")},
    ])
    sink = Collect()
    report = run_watch(settings, once=True, indexer=sink)
    assert [(s.name, s.ok) for s in report.sources] == [("gone", False), ("bad-feed", False), ("ok", True)]
    assert "HTTP 404" in (report.sources[0].error or "") and "not a readable RSS" in (report.sources[1].error or "")
    assert len(sink.docs) == 1

    run_watch(settings, once=True, indexer=sink)  # still broken the next day
    health = HealthBook(get_engine(settings)).all()
    assert health["gone"].consecutive_failures == 2 and health["ok"].consecutive_failures == 0
    assert health["gone"].failing_since is not None and health["ok"].failing_since is None
    failing = failing_for_days(settings)
    assert sorted(h.name for h, _ in failing) == ["bad-feed", "gone"]
    assert failing_for_days(settings, min_days=1) == []

    http_server.route("/gone.html", Reply(body=page("Back", "Article 1 Back again.")))
    run_watch(settings, once=True, source="gone", indexer=sink)
    assert HealthBook(get_engine(settings)).all()["gone"].failing_since is None


def test_robots_disallowed_item_is_skipped_not_failed(http_server: LoopbackServer, tmp_path: Path) -> None:
    http_server.route("/robots.txt", Reply(body="User-agent: *\nDisallow: /private/\n", content_type="text/plain"))
    http_server.route("/feed.xml", Reply(body=rss(("secret", "/private/1.html", "Mon, 01 Jun 2026 09:00:00 +0800", "")),
                                         content_type="application/rss+xml"))
    settings = settings_with_sources(tmp_path, [{"name": "f", "kind": "rss", "url": http_server.url("/feed.xml")}])
    (outcome,) = run_watch(settings, once=True, indexer=Collect()).sources
    assert outcome.ok and outcome.documents == 0 and "disallows /private/1.html" in outcome.skipped[0]
    assert http_server.hits("/private/1.html") == []


def test_unchanged_feed_is_a_304_and_a_failed_item_is_retried(http_server: LoopbackServer, tmp_path: Path) -> None:
    feed = rss(("a", "/a.html", "Mon, 01 Jun 2026 09:00:00 +0800", ""), ("b", "/b.html", "Mon, 01 Jun 2026 09:00:00 +0800", ""))
    http_server.route("/feed.xml", Reply(body=feed, content_type="application/rss+xml", etag='"f1"'))
    http_server.route("/a.html", Reply(body=page("A", "Article 1 A."), etag='"a1"'))
    http_server.route("/b.html", [Reply(503), Reply(body=page("B", "Article 1 B."))])
    settings = settings_with_sources(tmp_path, [{"name": "f", "kind": "rss", "url": http_server.url("/feed.xml")}])
    sink = Collect()
    first = run_watch(settings, once=True, indexer=sink).sources[0]
    assert first.ok and first.documents == 1 and "HTTP 503" in first.problems[0]
    second = run_watch(settings, once=True, indexer=sink).sources[0]
    # The feed is fetched in full again (its last items were not all taken in), A answers 304, B arrives now.
    assert (second.documents, second.not_modified) == (1, 1) and sink.docs[-1].meta.title == "b"
    third = run_watch(settings, once=True, indexer=sink).sources[0]
    assert (third.documents, third.not_modified, third.fetched) == (0, 1, 0)


def test_due_sources_follow_their_cron_and_the_scheduler_has_one_job_each(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    settings = settings_with_sources(tmp_path, [
        {"name": "daily", "kind": "folder", "path": "docs", "schedule": "0 8 * * *"},
        {"name": "monday", "kind": "folder", "path": "docs", "schedule": "0 8 * * 1"},
        {"name": "off", "kind": "folder", "path": "docs", "enabled": False},
    ])
    monday_9am = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)  # 09:00 in Asia/Shanghai
    assert [s.name for s in run_due(settings, indexer=Collect(), now=monday_9am).sources] == ["daily", "monday"]
    book = HealthBook(get_engine(settings))
    for name in ("daily", "monday"):
        book.record_ok(name, monday_9am)
    assert run_due(settings, indexer=Collect(), now=monday_9am + timedelta(hours=2)).sources == []
    tuesday_9am = monday_9am + timedelta(days=1)
    assert [s.name for s in run_due(settings, indexer=Collect(), now=tuesday_9am).sources] == ["daily"]

    from apscheduler.schedulers.background import BackgroundScheduler

    from indexer.sources import load_sources

    sched = build_scheduler(settings, load_sources(settings.resolved_sources_file), indexer=Collect(),
                            scheduler=BackgroundScheduler(timezone=settings.timezone))
    jobs = {j.id: j for j in sched.get_jobs()}
    assert sorted(jobs) == ["daily", "monday"]
    assert str(jobs["monday"].trigger.timezone) == "Asia/Shanghai"
    assert "day_of_week='mon'" in str(jobs["monday"].trigger)


# --- the scenario: two days of a TC260-style feed through the real pipeline --------------------------------

NOTICE_A = page("Notice on the 2026 data security inspection",
                "The inspection covers network operators in the finance sector.",
                "Operators shall submit self-inspection reports by 30 September 2026.")
NOTICE_B = page("关于开展个人信息保护合规审计工作的通知",
                "各有关单位：为落实个人信息保护合规审计要求，现就有关事项通知如下。",
                "请各单位于2026年9月30日前报送工作情况。")
REG_ARTICLES = [
    "These Measures are formulated to regulate the export of data and protect data security.",
    "A data handler shall apply for a security assessment before exporting important data.",
    "A data handler shall conduct a self-assessment of the risks of the export before applying.",
    "The cyberspace administration shall complete the assessment within 45 working days.",
    "A data handler may request a re-assessment within 15 working days of receiving the result.",
    "These Measures take effect on 1 September 2026.",
]
DRAFT = page(
    "关于国家标准《网络安全技术 生成式人工智能数据标注安全规范》征求意见稿征求意见的通知",
    "各有关单位：",
    "根据全国网络安全标准化技术委员会2026年标准制修订工作计划，《网络安全技术 生成式人工智能数据标注安全规范》"
    "（GB/T 45674-2026）国家标准征求意见稿已编制完成，现面向社会公开征求意见。",
    "请将意见反馈至秘书处，反馈意见截止时间为2026年12月20日。",
    "全国网络安全标准化技术委员会秘书处",
)


def regulation(articles: list[str]) -> str:
    return page("Measures for Data Export Security Assessment", *(f"Article {i} {a}" for i, a in enumerate(articles, 1)))


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.skipif(importlib.util.find_spec("indexer.pipeline") is None,
                    reason="needs indexer.pipeline (the index run), which is not in this checkout yet")
def test_two_days_of_a_feed_make_exactly_a_new_draft_and_an_amendment(http_server: LoopbackServer, tmp_path: Path) -> None:
    from indexer.pipeline import Indexer
    from indexer.schema import changes, documents, subscriptions, versions

    day1, day2 = "Mon, 01 Jun 2026 09:00:00 +0800", "Tue, 02 Jun 2026 09:00:00 +0800"
    http_server.route("/feed.xml", Reply(body=rss(
        ("Notice on the 2026 data security inspection", "/notices/a.html", day1, ""),
        ("关于开展个人信息保护合规审计工作的通知", "/notices/b.html", day1, ""),
        ("Measures for Data Export Security Assessment", "/rules/export.html", day1, ""),
    ), content_type="application/rss+xml", etag='"feed-1"'))
    http_server.route("/notices/a.html", Reply(body=NOTICE_A))  # no validators: fetched again, same text
    http_server.route("/notices/b.html", Reply(body=NOTICE_B, etag='"b-1"'))  # answers 304 on day 2
    http_server.route("/rules/export.html", Reply(body=regulation(REG_ARTICLES), etag='"r-1"'))
    settings = settings_with_sources(tmp_path, [{"name": "tc260", "kind": "rss", "url": http_server.url("/feed.xml"),
                                                  "topics": ["data security"]}])
    engine = get_engine(settings)
    indexer = Indexer(settings)
    try:
        day1_report = run_watch(settings, once=True, indexer=indexer)
        assert day1_report.sources[0].ok and day1_report.sources[0].documents == 3
        with engine.connect() as c:
            first = c.execute(select(changes.c.change_id, changes.c.kind)).all()
            c.execute(subscriptions.insert().values(channel_id="C1", topics=[], issuers=[], kinds=[],
                                                    created_at=datetime.now(UTC), since_change_id=max(r[0] for r in first)))
            c.commit()
        assert len(first) == 3 and all(k.startswith("new_") or k == "commentary" for _, k in first)

        amended = list(REG_ARTICLES)
        amended[2] = "A data handler shall conduct a self-assessment of the risks of the export, and keep it for three years."
        amended.insert(5, "A data handler that exports personal information of more than one million people shall report annually.")
        http_server.route("/feed.xml", Reply(body=rss(
            ("关于国家标准《网络安全技术 生成式人工智能数据标注安全规范》征求意见稿征求意见的通知", "/tc260/draft.html", day2, ""),
            ("Measures for Data Export Security Assessment", "/rules/export.html", day2, ""),
            ("Notice on the 2026 data security inspection", "/notices/a.html", day2, ""),  # re-published, unchanged
            ("关于开展个人信息保护合规审计工作的通知", "/notices/b.html", day1, ""),
        ), content_type="application/rss+xml", etag='"feed-2"'))
        http_server.route("/tc260/draft.html", Reply(body=DRAFT))
        http_server.route("/rules/export.html", Reply(body=regulation(amended), etag='"r-2"'))
        day2_report = run_watch(settings, once=True, indexer=indexer)
        assert day2_report.sources[0].ok and day2_report.sources[0].not_modified == 1  # notice B: 304

        with engine.connect() as c:
            new = c.execute(select(changes).where(changes.c.change_id > max(r[0] for r in first))).mappings().all()
            kinds = {r["kind"]: r for r in new}
            assert sorted(kinds) == ["amendment", "new_draft"] and len(new) == 2
            draft_meta = c.execute(select(documents.c.meta).where(documents.c.doc_id == kinds["new_draft"]["doc_id"])).scalar_one()
            assert draft_meta["comment_deadline"] == "2026-12-20" and draft_meta["status"] == "draft"
            assert "comments due 2026-12-20" in kinds["new_draft"]["summary"]
            amendment = kinds["amendment"]
            assert amendment["url"] == http_server.url("/rules/export.html")
            assert amendment["changed_sections"] == {"added": ["Article 6"], "removed": [], "changed": ["Article 3"]}
            assert amendment["summary"] == "Amended: Article 3 changed; Article 6 added. 1 article renumbered."
            notice_a = f"127-0-0-1-{http_server.port}-notices-a"
            assert c.execute(select(func.count()).select_from(versions).where(versions.c.doc_id == notice_a)).scalar_one() == 1

        if importlib.util.find_spec("bot.alerts") is not None:
            from bot.alerts import enqueue_alerts

            assert enqueue_alerts(engine) == 2  # the subscriber hears of the draft and the amendment, nothing else

        day3 = run_watch(settings, once=True, indexer=indexer).sources[0]
        assert (day3.fetched, day3.not_modified, day3.documents) == (0, 1, 0)  # the feed itself answers 304
    finally:
        indexer.close()
