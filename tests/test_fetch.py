"""The fetcher against a real loopback server: retries, conditional GET, limits, sniffing, politeness, robots, feeds."""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import Any

import pytest

from indexer.db import make_engine
from indexer.errors import FetchError
from indexer.fetch import Fetcher, extract_links, parse_feed
from indexer.settings import Settings
from tests.conftest import make_settings
from tests.httpserver import LoopbackServer, Reply

PAGE = "<!doctype html><html><head><title>t</title></head><body><p>第一条 测试。</p></body></html>"


def settings(tmp_path: Path, **kw: object) -> Settings:
    base: dict[str, Any] = {"http_per_host_interval_s": 0, "http_retries": 2, "http_timeout_s": 5}
    return make_settings(tmp_path / "data", **{**base, **kw})


class FakeTime:
    """A clock that only moves when the fetcher sleeps: waits are recorded, never spent."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.sleeps.append(round(s, 3))
        self.now += s


def fetcher(tmp_path: Path, t: FakeTime | None = None, state: bool = False, **kw: object) -> Fetcher:
    t = t or FakeTime()
    engine = make_engine(f"sqlite:///{tmp_path / 'state.sqlite'}") if state else None
    # allow_private: the test server is on loopback (the policy itself is pinned in test_fetch_policy.py)
    return Fetcher(settings(tmp_path, **kw), state=engine, sleep=t.sleep, clock=t.clock, allow_private=True)


# --- basics, conditional GET ------------------------------------------------------------------------------


def test_fetch_returns_body_metadata_and_sends_our_user_agent(http_server: LoopbackServer, tmp_path: Path) -> None:
    http_server.route("/p", Reply(body=PAGE, etag='"v1"', last_modified="Wed, 01 Jan 2026 00:00:00 GMT"))
    with fetcher(tmp_path, user_agent="regwatch-test/9 (+http://example.org)") as f:
        r = f.fetch(http_server.url("/p#frag"))
    assert (r.status, r.not_modified, r.kind) == (200, False, "html")
    assert r.url == r.final_url == http_server.url("/p")
    assert r.content == PAGE.encode() and r.text == PAGE
    assert r.content_type == "text/html; charset=utf-8"
    assert (r.etag, r.last_modified) == ('"v1"', "Wed, 01 Jan 2026 00:00:00 GMT")
    assert http_server.hits("/p")[0].headers["user-agent"] == "regwatch-test/9 (+http://example.org)"


def test_etag_gives_304_not_modified_across_fetchers(http_server: LoopbackServer, tmp_path: Path) -> None:
    http_server.route("/p", Reply(body=PAGE, etag='"v1"'))
    with fetcher(tmp_path, state=True) as f:
        assert f.fetch(http_server.url("/p")).content == PAGE.encode()
    with fetcher(tmp_path, state=True) as f:  # a new process: the validators came from the state store
        r = f.fetch(http_server.url("/p"))
    assert r.not_modified and r.status == 304 and r.content is None and r.etag == '"v1"'
    assert http_server.hits("/p")[1].headers["if-none-match"] == '"v1"'


def test_last_modified_is_sent_back_and_forget_forces_a_full_download(http_server: LoopbackServer, tmp_path: Path) -> None:
    lm = "Tue, 02 Jun 2026 08:00:00 GMT"
    http_server.route("/p", Reply(body=PAGE, last_modified=lm))
    with fetcher(tmp_path, state=True) as f:
        f.fetch(http_server.url("/p"))
        assert f.fetch(http_server.url("/p")).not_modified
        f.forget(http_server.url("/p"))
        r = f.fetch(http_server.url("/p"))
    assert not r.not_modified and r.content == PAGE.encode()
    assert [h.headers.get("if-modified-since") for h in http_server.hits("/p")] == [None, lm, None]


# --- errors and retries -----------------------------------------------------------------------------------


def test_404_is_an_error_without_retries(http_server: LoopbackServer, tmp_path: Path) -> None:
    with fetcher(tmp_path) as f, pytest.raises(FetchError, match=r"HTTP 404 from .*/gone") as e:
        f.fetch(http_server.url("/gone"))
    assert e.value.hint and "moved or gone" in e.value.hint
    assert len(http_server.hits("/gone")) == 1


def test_5xx_is_retried_with_exponential_backoff(http_server: LoopbackServer, tmp_path: Path) -> None:
    http_server.route("/flaky", [Reply(500), Reply(502), Reply(body=PAGE)])
    t = FakeTime()
    with fetcher(tmp_path, t) as f:
        assert f.fetch(http_server.url("/flaky")).status == 200
    assert t.sleeps == [0.5, 1.0]
    assert len(http_server.hits("/flaky")) == 3


def test_persistent_5xx_fails_after_the_configured_retries(http_server: LoopbackServer, tmp_path: Path) -> None:
    http_server.route("/down", Reply(503))
    with fetcher(tmp_path, http_retries=3) as f, pytest.raises(FetchError, match="HTTP 503 .* after 4 attempts"):
        f.fetch(http_server.url("/down"))
    assert len(http_server.hits("/down")) == 4


def test_429_honours_retry_after_and_caps_it(http_server: LoopbackServer, tmp_path: Path) -> None:
    http_server.route("/busy", [Reply(429, headers={"Retry-After": "7"}), Reply(429, headers={"Retry-After": "86400"}),
                                Reply(body=PAGE)])
    t = FakeTime()
    with Fetcher(settings(tmp_path), sleep=t.sleep, clock=t.clock, max_wait_s=30, allow_private=True) as f:
        assert f.fetch(http_server.url("/busy")).status == 200
    assert t.sleeps == [7.0, 30.0]


def test_read_timeout_is_retried_then_reported(http_server: LoopbackServer, tmp_path: Path) -> None:
    http_server.route("/slow", Reply(body=PAGE, delay_s=1.0))
    with fetcher(tmp_path, http_timeout_s=0.2, http_retries=1) as f, pytest.raises(
        FetchError, match=r"no response within 0.2 s \(after 2 attempts\)"
    ):
        f.fetch(http_server.url("/slow"))
    assert len(http_server.hits("/slow")) == 2


def test_connection_refused_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t = FakeTime()
    with fetcher(tmp_path, t, http_retries=2, respect_robots=False) as f, pytest.raises(FetchError, match="cannot connect"):
        f.fetch(f"http://127.0.0.1:{port}/x")
    assert t.sleeps == [0.5, 1.0]


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "streamed"])
def test_oversize_body_is_refused(http_server: LoopbackServer, tmp_path: Path, chunked: bool) -> None:
    http_server.route("/big", Reply(body=b"x" * 300_000, content_type="text/plain", chunked=chunked))
    with fetcher(tmp_path, http_max_bytes=100_000) as f, pytest.raises(FetchError, match="larger than 100,000 bytes"):
        f.fetch(http_server.url("/big"))
    with fetcher(tmp_path, http_max_bytes=400_000) as f:
        assert len(f.fetch(http_server.url("/big")).content or b"") == 300_000


# --- redirects --------------------------------------------------------------------------------------------


def test_redirects_are_followed_and_loops_reported(http_server: LoopbackServer, tmp_path: Path) -> None:
    http_server.route("/old", Reply(301, headers={"Location": "/new"}))
    http_server.route("/new", Reply(body=PAGE))
    http_server.route("/a", Reply(302, headers={"Location": "/b"}))
    http_server.route("/b", Reply(302, headers={"Location": http_server.url("/a")}))
    with fetcher(tmp_path) as f:
        r = f.fetch(http_server.url("/old"))
        assert (r.url, r.final_url) == (http_server.url("/old"), http_server.url("/new"))
        with pytest.raises(FetchError, match=r"redirect loop: .*/a -> .*/b -> .*/a"):
            f.fetch(http_server.url("/a"))


def test_redirect_chains_are_limited(http_server: LoopbackServer, tmp_path: Path) -> None:
    for i in range(6):
        http_server.route(f"/r{i}", Reply(302, headers={"Location": f"/r{i + 1}"}))
    with Fetcher(settings(tmp_path), max_redirects=3, allow_private=True) as f, pytest.raises(FetchError, match="more than 3 redirects"):
        f.fetch(http_server.url("/r0"))


# --- content sniffing and charsets ------------------------------------------------------------------------

GBK_HTML = '<html><head><meta charset="gbk"><title>通知</title></head><body>关于征求意见稿的通知：数据安全。</body></html>'


@pytest.mark.parametrize(
    ("body", "header", "kind", "media"),
    [
        (b"%PDF-1.7\n%...", "application/octet-stream", "pdf", "application/pdf"),
        (b'<?xml version="1.0"?><rss version="2.0"><channel></channel></rss>', "text/xml", "feed", "application/rss+xml"),
        (b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"></feed>', "application/atom+xml", "feed",
         "application/atom+xml"),
        (b"<!DOCTYPE html><html><body>x</body></html>", None, "html", "text/html"),
        (b"plain words", "text/plain", "text", "text/plain"),
        (b"\x00\x01\x02\xff", None, "other", "application/octet-stream"),
    ],
)
def test_content_is_sniffed_from_magic_bytes_before_headers(
    http_server: LoopbackServer, tmp_path: Path, body: bytes, header: str | None, kind: str, media: str
) -> None:
    http_server.route("/doc", Reply(body=body, content_type=header))
    with fetcher(tmp_path) as f:
        r = f.fetch(http_server.url("/doc"))
    assert r.kind == kind
    assert (r.content_type or "").split(";")[0] == media


def test_docx_is_recognised_inside_its_zip(http_server: LoopbackServer, tmp_path: Path) -> None:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    http_server.route("/d", Reply(body=buf.getvalue(), content_type="application/octet-stream"))
    with fetcher(tmp_path) as f:
        assert f.fetch(http_server.url("/d")).kind == "docx"


@pytest.mark.parametrize(
    "header",
    ["text/html", "text/html; charset=GB2312", "text/html; charset=ISO-8859-1"],
    ids=["meta-only", "header-gb2312", "wrong-latin-header"],
)
def test_gbk_pages_decode_right(http_server: LoopbackServer, tmp_path: Path, header: str) -> None:
    http_server.route("/gbk", Reply(body=GBK_HTML.encode("gbk"), content_type=header))
    with fetcher(tmp_path) as f:
        r = f.fetch(http_server.url("/gbk"))
    assert r.charset == "gb18030" and r.content_type == "text/html; charset=gb18030"
    assert "关于征求意见稿的通知" in r.text


def test_gb18030_without_any_declaration_is_detected(http_server: LoopbackServer, tmp_path: Path) -> None:
    text = "第一条 为了规范数据处理活动，保障数据安全，促进数据开发利用，保护个人、组织的合法权益，制定本法。" * 3
    http_server.route("/bare", Reply(body=text.encode("gb18030"), content_type=None))
    with fetcher(tmp_path) as f:
        assert f.fetch(http_server.url("/bare")).text == text


# --- politeness and robots.txt ----------------------------------------------------------------------------


def test_requests_to_one_host_are_spaced_but_other_hosts_are_not_held_up(http_server: LoopbackServer, tmp_path: Path) -> None:
    http_server.route("/1", Reply(body=PAGE))
    http_server.route("/2", Reply(body=PAGE))
    t = FakeTime()
    with fetcher(tmp_path, t, http_per_host_interval_s=5, respect_robots=False) as f:
        f.fetch(http_server.url("/1"))
        f.fetch(http_server.url("/1", host="localhost"))  # another host name: no wait
        assert t.sleeps == []
        f.fetch(http_server.url("/2"))
    assert t.sleeps == [5.0]


def test_robots_disallow_is_a_skip_and_robots_is_read_once_per_host(http_server: LoopbackServer, tmp_path: Path) -> None:
    http_server.route("/robots.txt", Reply(body="User-agent: *\nDisallow: /private/\n", content_type="text/plain"))
    http_server.route("/private/x", Reply(body=PAGE))
    http_server.route("/public", Reply(body=PAGE))
    with fetcher(tmp_path) as f:
        r = f.fetch(http_server.url("/private/x"))
        assert r.skipped and "disallows /private/x" in r.skipped and r.content is None and r.status == 0
        assert f.fetch(http_server.url("/public")).status == 200
    assert http_server.hits("/private/x") == []
    assert len(http_server.hits("/robots.txt")) == 1


def test_robots_rules_for_our_agent_and_crawl_delay(http_server: LoopbackServer, tmp_path: Path) -> None:
    robots = "User-agent: regwatch\nDisallow: /drafts\nCrawl-delay: 9\n\nUser-agent: *\nDisallow:\n"
    http_server.route("/robots.txt", Reply(body=robots, content_type="text/plain"))
    http_server.route("/ok", Reply(body=PAGE))
    t = FakeTime()
    with fetcher(tmp_path, t, http_per_host_interval_s=1) as f:
        assert f.fetch(http_server.url("/drafts/1")).skipped
        f.fetch(http_server.url("/ok"))
        f.fetch(http_server.url("/ok"))
    assert t.sleeps == [9.0, 9.0]  # the site's Crawl-delay outranks our 1 s interval once robots.txt is read


def test_unavailable_robots_means_skip_and_ignoring_robots_fetches_anyway(http_server: LoopbackServer, tmp_path: Path) -> None:
    http_server.route("/robots.txt", Reply(503))
    http_server.route("/page", Reply(body=PAGE))
    with fetcher(tmp_path, http_retries=0) as f:
        assert "unavailable (HTTP 503)" in (f.fetch(http_server.url("/page")).skipped or "")
    with fetcher(tmp_path, respect_robots=False) as f:
        assert f.fetch(http_server.url("/page")).status == 200
    assert len(http_server.hits("/robots.txt")) == 1 and len(http_server.hits("/page")) == 1


def test_missing_robots_allows_everything(http_server: LoopbackServer, tmp_path: Path) -> None:
    http_server.route("/page", Reply(body=PAGE))
    with fetcher(tmp_path) as f:
        assert f.fetch(http_server.url("/page")).status == 200
    assert len(http_server.hits("/robots.txt")) == 1


# --- feeds ------------------------------------------------------------------------------------------------

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>TC260</title><link>http://example.org/</link>
<item><title>关于征求意见的通知</title><link>/notice/1.html</link><guid isPermaLink="false">n-1</guid>
<pubDate>Mon, 01 Jun 2026 09:00:00 +0800</pubDate><description>草案</description></item>
<item><title>No link</title><description>&lt;p&gt;inline body&lt;/p&gt;</description></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>CAC</title><id>urn:cac</id><updated>2026-06-02T00:00:00Z</updated>
<entry><title>Measures</title><link href="https://example.org/m/2" rel="alternate"/><id>urn:m2</id>
<updated>2026-06-02T10:00:00Z</updated><summary>short</summary><content type="html">&lt;p&gt;full text&lt;/p&gt;</content>
</entry></feed>"""


def test_rss_items_with_relative_links_dates_and_guids() -> None:
    items = parse_feed(RSS.encode(), "http://example.org/feeds/tc260.xml")
    assert [(i.title, i.link, i.published, i.guid) for i in items] == [
        ("关于征求意见的通知", "http://example.org/notice/1.html", "2026-06-01", "n-1"),
        ("No link", None, None, "No link"),
    ]
    assert items[1].content == "<p>inline body</p>"


def test_atom_entries() -> None:
    (item,) = parse_feed(ATOM.encode(), "https://example.org/atom")
    assert (item.title, item.link, item.published, item.guid) == ("Measures", "https://example.org/m/2", "2026-06-02", "urn:m2")
    assert item.summary == "short" and item.content == "<p>full text</p>"


def test_malformed_feed_is_a_clear_error() -> None:
    with pytest.raises(FetchError, match="not a readable RSS or Atom feed"):
        parse_feed(b"<?xml version='1.0'?><rss><channel><title>x</ti", "http://example.org/f")
    with pytest.raises(FetchError, match="no RSS or Atom feed"):
        parse_feed(b"", "http://example.org/f")


def test_bozo_feed_with_usable_entries_keeps_them_and_warns(caplog: pytest.LogCaptureFixture) -> None:
    broken = RSS.replace("<title>TC260</title>", "<title>TC260 & more</title>")  # a bare & is not XML
    with caplog.at_level(logging.WARNING):
        items = parse_feed(broken.encode(), "http://example.org/f")
    assert [i.title for i in items][:1] == ["关于征求意见的通知"]
    assert "malformed" in caplog.text


# --- listing pages ----------------------------------------------------------------------------------------

LISTING = """<html><head><base href="http://example.org/zhengce/"></head><body>
<a href="2026-06/01/c_1.htm">关于《数据安全管理办法（征求意见稿）》公开征求意见的通知</a>
<a href="2026-06/01/c_1.htm#top">again</a>
<a href="/zhengce/2026-05/20/c_2.htm"> 网络数据
   分类分级指引 </a>
<a href="http://other.example.com/x.htm">off-site</a>
<a href="https://www.example.org/zhengce/2026-04/c_3.htm">www is the same site</a>
<a href="mailto:a@example.org">mail</a><a href="javascript:void(0)">js</a><a href="#">top</a>
<a href="list_2.htm">下一页</a>
</body></html>"""


def test_links_are_absolute_deduplicated_and_same_site() -> None:
    links = extract_links(LISTING, "http://example.org/zhengce/index.htm")
    assert [(link.url, link.text) for link in links] == [
        ("http://example.org/zhengce/2026-06/01/c_1.htm", "关于《数据安全管理办法（征求意见稿）》公开征求意见的通知"),
        ("http://example.org/zhengce/2026-05/20/c_2.htm", "网络数据 分类分级指引"),
        ("https://www.example.org/zhengce/2026-04/c_3.htm", "www is the same site"),
        ("http://example.org/zhengce/list_2.htm", "下一页"),
    ]
    assert len(extract_links(LISTING, "http://example.org/", same_site=False)) == 5


def test_link_include_and_exclude_match_url_or_text() -> None:
    def urls(include: list[str], exclude: list[str] | None = None) -> list[str]:
        return [link.url.rsplit("/", 1)[-1] for link in extract_links(LISTING, "http://example.org/", include, exclude)]

    assert urls([r"/c_\d+\.htm$"]) == ["c_1.htm", "c_2.htm", "c_3.htm"]
    assert urls(["征求意见"]) == ["c_1.htm"]
    assert urls([r"c_\d"], exclude=["分类分级", r"2026-04"]) == ["c_1.htm"]


def test_listing_fetched_over_http_yields_links(http_server: LoopbackServer, tmp_path: Path) -> None:
    http_server.route("/list", Reply(body=LISTING.replace('<base href="http://example.org/zhengce/">', "")))
    with fetcher(tmp_path) as f:
        r = f.fetch(http_server.url("/list"))
    links = extract_links(r.text, r.final_url, [r"c_\d"])
    assert links[0].url == http_server.url("/2026-06/01/c_1.htm")

