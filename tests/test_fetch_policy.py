"""The fetch policy against hostile sources on loopback: redirects and feed items that point at an "internal"
service, DNS answers that change, a server that drips, robots.txt redirects, and literal private URLs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from indexer.errors import FetchError
from indexer.fetch import Fetcher
from indexer.models import ParsedDocument
from indexer.sources import Source
from indexer.watch import run_watch
from tests.conftest import make_settings
from tests.httpserver import LoopbackServer, Reply

SECRET = "AccessKeyId AKIAEXAMPLE SecretAccessKey wJalrXUtnFEMI"
PAGE = "<html><head><title>Notice</title></head><body><h1>Notice</h1><p>第一条 公告正文。</p></body></html>"


class Collect:
    def __init__(self) -> None:
        self.docs: list[ParsedDocument] = []

    def index_parsed(self, docs: list[ParsedDocument], *, source_name: str) -> Any:
        self.docs.extend(docs)


@pytest.fixture
def internal() -> Any:
    """The "internal" service a hostile source points at: another origin on loopback, serving a secret."""
    with LoopbackServer() as server:
        server.route("/latest/meta-data/creds", Reply(body=SECRET, content_type="text/plain"))
        yield server


def _settings(tmp_path: Path, sources: list[dict[str, Any]], **kw: Any) -> Any:
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "sources": sources}), encoding="utf-8")
    return make_settings(tmp_path / "data", sources_file=path, http_per_host_interval_s=0, http_retries=0, **kw)


def _watch(settings: Any) -> tuple[Any, Collect]:
    sink = Collect()
    (outcome,) = run_watch(settings, once=True, indexer=sink).sources
    return outcome, sink


def test_a_redirect_to_another_origin_on_a_private_address_is_refused(http_server: LoopbackServer, internal: Any,
                                                                      tmp_path: Path) -> None:
    target = internal.url("/latest/meta-data/creds", host="localhost")
    http_server.route("/notice.html", Reply(302, headers={"Location": target}))
    settings = _settings(tmp_path, [{"name": "site", "kind": "page", "url": http_server.url("/notice.html"),
                                     "allow_private": True}])
    outcome, sink = _watch(settings)
    assert not outcome.ok and "refused" in (outcome.error or "") and "not the source's own origin" in (outcome.error or "")
    assert internal.hits("/latest/meta-data/creds") == []  # never even asked
    assert not any(SECRET in d.text for d in sink.docs)


def test_a_redirect_within_the_sources_own_private_origin_is_followed(http_server: LoopbackServer, tmp_path: Path) -> None:
    http_server.route("/old.html", Reply(301, headers={"Location": "/new.html"}))
    http_server.route("/new.html", Reply(body=PAGE))
    settings = _settings(tmp_path, [{"name": "mirror", "kind": "page", "url": http_server.url("/old.html"),
                                     "allow_private": True}])
    outcome, sink = _watch(settings)
    assert outcome.ok and [d.source_path for d in sink.docs] == [http_server.url("/old.html")]


def test_a_loopback_source_without_allow_private_is_refused_before_any_request(http_server: LoopbackServer,
                                                                               tmp_path: Path) -> None:
    http_server.route("/p.html", Reply(body=PAGE))
    settings = _settings(tmp_path, [{"name": "x", "kind": "page", "url": http_server.url("/p.html", host="localhost")}])
    outcome, _ = _watch(settings)
    assert not outcome.ok and "loopback address" in (outcome.error or "")
    assert http_server.requests == []


def test_feed_items_linking_to_other_hosts_are_not_fetched(http_server: LoopbackServer, internal: Any,
                                                           tmp_path: Path) -> None:
    secret = internal.url("/latest/meta-data/creds", host="localhost")
    feed = ("<?xml version='1.0'?><rss version='2.0'><channel><title>t</title>"
            f"<item><title>Leak</title><link>{secret}</link></item>"
            "<item><title>Own</title><link>/n/1.html</link></item></channel></rss>")
    http_server.route("/feed.xml", Reply(body=feed, content_type="application/rss+xml"))
    http_server.route("/n/1.html", Reply(body=PAGE))
    base = {"name": "f", "kind": "rss", "url": http_server.url("/feed.xml"), "allow_private": True}
    outcome, sink = _watch(_settings(tmp_path, [base]))
    assert outcome.ok and [d.source_path for d in sink.docs] == [http_server.url("/n/1.html")]
    assert any("allow_hosts" in p and secret in p for p in outcome.problems)
    # Listed in allow_hosts, the host is followed, but a private address that is not the source's origin is not.
    outcome, sink = _watch(_settings(tmp_path, [{**base, "allow_hosts": ["localhost"]}]))
    assert any("refused" in p and "loopback" in p for p in outcome.problems)
    assert internal.hits("/latest/meta-data/creds") == []
    assert not any(SECRET in d.text for d in sink.docs)


def test_feed_items_per_run_are_capped(http_server: LoopbackServer, tmp_path: Path) -> None:
    items = "".join(f"<item><title>n{i}</title><link>/n/{i}.html</link></item>" for i in range(5))
    http_server.route("/feed.xml", Reply(body=f"<rss version='2.0'><channel><title>t</title>{items}</channel></rss>",
                                         content_type="application/rss+xml"))
    for i in range(5):
        http_server.route(f"/n/{i}.html", Reply(body=PAGE))
    settings = _settings(tmp_path, [{"name": "f", "kind": "rss", "url": http_server.url("/feed.xml"),
                                     "allow_private": True}], max_feed_items=2)
    outcome, sink = _watch(settings)
    assert len(sink.docs) == 2 and any("5 feed items, only the first 2" in p for p in outcome.problems)


def test_robots_txt_redirecting_to_an_internal_service_is_refused(http_server: LoopbackServer, internal: Any,
                                                                  tmp_path: Path) -> None:
    http_server.route("/robots.txt", Reply(302, headers={"Location": internal.url("/latest/meta-data/creds")}))
    http_server.route("/p.html", Reply(body=PAGE))
    settings = make_settings(tmp_path / "data", http_per_host_interval_s=0, http_retries=0, respect_robots=True)
    with Fetcher(settings, allow_private=True) as f, pytest.raises(FetchError, match="refused"):
        f.fetch(http_server.url("/p.html"))
    assert internal.hits("/latest/meta-data/creds") == []


def test_the_address_connected_to_is_checked_too(http_server: LoopbackServer, tmp_path: Path) -> None:
    """DNS rebinding: the check's lookup says public, the connection lands on loopback. Refused before the body."""
    from indexer.fetch.policy import FetchPolicy

    http_server.route("/p.html", Reply(body=SECRET, content_type="text/plain"))
    url = http_server.url("/p.html", host="localhost")
    policy = FetchPolicy.for_url(url, resolver=lambda host, port: ["93.184.216.34"])  # never connected to
    settings = make_settings(tmp_path / "data", http_per_host_interval_s=0, http_retries=0, respect_robots=False)
    with Fetcher(settings) as f, pytest.raises(FetchError, match=r"loopback address \(127\.0\.0\.1\)"):
        f.fetch(url, policy=policy)


def test_a_dripping_server_is_stopped_at_the_overall_deadline(http_server: LoopbackServer, tmp_path: Path) -> None:
    http_server.route("/drip", Reply(body=b"x" * 60, content_type="text/plain", drip_s=0.1))  # 6 s in all
    settings = make_settings(tmp_path / "data", http_per_host_interval_s=0, http_retries=0, respect_robots=False,
                             http_timeout_s=5, fetch_deadline_s=1)
    t0 = time.monotonic()
    with Fetcher(settings, allow_private=True) as f, pytest.raises(FetchError, match="not finished within 1 s"):
        f.fetch(http_server.url("/drip"))
    assert time.monotonic() - t0 < 3


@pytest.mark.parametrize("address,reason", [
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("10.0.0.1", "private"), ("172.16.5.4", "private"),
    ("192.168.1.1", "private"), ("169.254.169.254", "link-local"), ("fe80::1", "link-local"),
    ("100.64.0.1", "CGNAT"), ("224.0.0.1", "multicast"), ("ff02::1", "multicast"), ("0.0.0.0", "unspecified"),
    ("240.0.0.1", "reserved"), ("::ffff:10.0.0.1", "private"), ("::ffff:169.254.169.254", "link-local"),
    ("fd00::1", "private"), ("93.184.216.34", None), ("2606:4700::1111", None),
])
def test_address_ranges(address: str, reason: str | None) -> None:
    from indexer.fetch.policy import blocked, literal_ip

    ip = literal_ip(address)
    assert ip is not None and blocked(ip) == reason


def test_names_are_checked_after_resolution_and_every_address_counts() -> None:
    from indexer.fetch.policy import FetchPolicy

    public = FetchPolicy.for_url("https://npc.example/", resolver=lambda h, p: ["93.184.216.34"])
    public.check("https://npc.example/law")
    sneaky = FetchPolicy.for_url("https://npc.example/", resolver=lambda h, p: ["93.184.216.34", "10.1.2.3"])
    with pytest.raises(FetchError, match="private address"):
        sneaky.check("https://npc.example/law")
    mirror = FetchPolicy.for_url("http://10.0.0.5:8080/", allow_private=True)
    mirror.check("http://10.0.0.5:8080/regs")  # its own origin
    for other in ("http://10.0.0.5:9090/", "https://10.0.0.5:8080/", "http://10.0.0.6:8080/"):
        with pytest.raises(FetchError, match="not the source's own origin"):
            mirror.check(other)
    with pytest.raises(FetchError, match="only http and https"):
        public.check("file:///etc/passwd")


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "http://[::1]:8080/",
                                 "http://127.0.0.1/x"])
def test_sources_add_refuses_literal_private_addresses_without_allow_private(url: str, tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.cli import app

    path = tmp_path / "sources.yaml"
    monkeypatch.setenv("REGWATCH_SOURCES_FILE", str(path))
    monkeypatch.setenv("REGWATCH_DATA_DIR", str(tmp_path / "data"))
    r = CliRunner().invoke(app, ["sources", "add", "meta", url])
    assert r.exit_code != 0 and not path.exists()
    assert "allow_private" in str(r.exception) or "allow_private" in r.output
    r = CliRunner().invoke(app, ["sources", "add", "meta", url, "--allow-private"])
    assert r.exit_code == 0, r.output
    assert yaml.safe_load(path.read_text())["sources"][0]["allow_private"] is True
    assert Source(name="n", kind="page", url="http://npc.example/").allow_private is False  # names: checked at fetch
