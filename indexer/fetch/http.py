"""The HTTP fetcher: retries with backoff, conditional GET, a size limit, per-host politeness, robots.txt, redirects,
a destination policy (public addresses only, see policy.py) and one overall deadline per fetch."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING
from urllib.parse import urldefrag, urljoin, urlsplit

import httpx

from ..errors import FetchError
from .cache import FetchCache, Validators
from .policy import FetchPolicy
from .robots import MAX_ROBOTS_BYTES, RobotsCache, RobotsFile
from .sniff import KIND_MEDIA, TEXT_KINDS, decode, find_charset, kind_from_header, media_type, sniff_kind

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from ..settings import Settings

REDIRECTS = (301, 302, 303, 307, 308)
# Failures worth another try: the network or the server having a bad moment, not a wrong URL.
_RETRYABLE = (httpx.ConnectError, httpx.TimeoutException, httpx.ReadError, httpx.RemoteProtocolError)


@dataclass
class FetchResult:
    """One fetch. `content` is None when not modified (304) or skipped (robots.txt: `skipped` says why, status 0)."""

    url: str  # as requested: the key for conditional GET and for the document's id
    final_url: str  # after redirects
    status: int
    content: bytes | None
    content_type: str | None  # sniffed media type, with the charset that decodes it for text kinds
    etag: str | None
    last_modified: str | None
    not_modified: bool
    fetched_at: datetime
    kind: str = "other"  # html | pdf | docx | feed | xml | text | other
    charset: str | None = None
    skipped: str | None = None

    @property
    def text(self) -> str:
        """The body decoded with the charset found for it (header, <meta>, or a guess)."""
        if self.content is None:
            return ""
        return decode(self.content, self.charset or find_charset(self.content, self.content_type))


@dataclass
class _Response:
    url: str
    status: int
    headers: httpx.Headers
    body: bytes = b""
    attempts: int = field(default=1)


class Fetcher:
    """Fetches URLs politely. `state` (the state store's engine) keeps ETag / Last-Modified across runs."""

    def __init__(
        self,
        settings: Settings,
        *,
        state: Engine | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        backoff_s: float = 0.5,
        max_wait_s: float = 60.0,
        max_redirects: int = 10,
        allow_private: bool = False,
        deadline_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`allow_private`: what a fetch without a policy may do (its own URL's origin only; for tests and ad-hoc
        use). `deadline_clock` is real time even when `clock`/`sleep` are a test's fakes."""
        self.settings = settings
        self._allow_private = allow_private
        self._deadline_clock = deadline_clock
        self._deadline = float("inf")
        self._policy: FetchPolicy | None = None
        timeout = httpx.Timeout(settings.http_timeout_s, connect=settings.http_connect_timeout_s)
        self._client = httpx.Client(
            timeout=timeout, headers={"User-Agent": settings.user_agent}, follow_redirects=False, transport=transport
        )
        self._cache = FetchCache(state)
        self._robots = RobotsCache(settings.user_agent, self._load_robots) if settings.respect_robots else None
        self._sleep, self._clock = sleep, clock
        self._backoff_s, self._max_wait_s, self._max_redirects = backoff_s, max_wait_s, max_redirects
        self._last_request: dict[str, float] = {}

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def forget(self, url: str) -> None:
        """Forget `url`'s validators: its last download was not used, so the next fetch must not get a 304."""
        self._cache.forget(url)

    def fetch(self, url: str, *, conditional: bool = True, policy: FetchPolicy | None = None) -> FetchResult:
        """GET `url`, following redirects; FetchError for network failures, HTTP errors, oversize bodies, a fetch
        longer than REGWATCH_FETCH_DEADLINE_S, and destinations `policy` refuses (default: `url`'s own origin,
        public addresses only unless the fetcher was made with allow_private)."""
        url = urldefrag(url).url
        policy = policy or FetchPolicy.for_url(url, allow_private=self._allow_private)
        self._policy = policy
        self._deadline = self._deadline_clock() + self.settings.fetch_deadline_s
        try:
            return self._fetch(url, conditional, policy)
        finally:
            self._policy, self._deadline = None, float("inf")

    def _fetch(self, url: str, conditional: bool, policy: FetchPolicy) -> FetchResult:
        known = self._cache.get(url) if conditional else None
        headers = {}
        if known and known.etag:
            headers["If-None-Match"] = known.etag
        if known and known.last_modified:
            headers["If-Modified-Since"] = known.last_modified
        chain = [url]
        while True:
            policy.check(chain[-1])  # every hop: a redirect to another origin is checked as if it were new
            if self._robots is not None and (reason := self._robots.check(chain[-1])):
                return FetchResult(url, chain[-1], 0, None, None, None, None, False, datetime.now(UTC), skipped=reason)
            resp = self._request(chain[-1], headers)
            location = resp.headers.get("location")
            if resp.status not in REDIRECTS or not location:
                break
            target = urldefrag(urljoin(chain[-1], location)).url
            if target in chain:
                raise FetchError(f"redirect loop: {' -> '.join([*chain, target])}", hint="the site is misconfigured")
            if len(chain) > self._max_redirects:
                raise FetchError(f"{url}: more than {self._max_redirects} redirects (last: {target})")
            chain.append(target)
        return self._result(url, resp, known)

    def _result(self, url: str, resp: _Response, known: Validators | None) -> FetchResult:
        now = datetime.now(UTC)
        etag = resp.headers.get("etag") or (known.etag if known else None)
        last_modified = resp.headers.get("last-modified") or (known.last_modified if known else None)
        if resp.status == 304:
            return FetchResult(url, resp.url, 304, None, None, etag, last_modified, True, now)
        if not 200 <= resp.status < 300:
            tries = f" after {resp.attempts} attempts" if resp.attempts > 1 else ""
            raise FetchError(f"HTTP {resp.status} from {resp.url}{tries}", hint=_status_hint(resp.status))
        header_ct = resp.headers.get("content-type")
        kind = sniff_kind(resp.body, header_ct)
        media = media_type(header_ct) if kind_from_header(header_ct) == kind else KIND_MEDIA[kind]
        charset = find_charset(resp.body, header_ct) if kind in TEXT_KINDS else None
        content_type = f"{media}; charset={charset}" if charset else media
        self._cache.put(url, Validators(resp.headers.get("etag"), resp.headers.get("last-modified")), final_url=resp.url)
        return FetchResult(url, resp.url, resp.status, resp.body, content_type, etag, last_modified, False, now,
                           kind=kind, charset=charset)

    def _request(self, url: str, headers: dict[str, str], *, limit: int | None = None) -> _Response:
        """One logical request: retried on network errors, timeouts, 429 and 5xx, waiting as the server asks."""
        attempt = 0
        while True:
            attempt += 1
            self._check_deadline(url)
            self._wait_turn(url)
            try:
                resp = self._send(url, headers, limit=limit)
            except _RETRYABLE as e:
                if attempt > self.settings.http_retries:
                    raise FetchError(f"{url}: {_describe(e, self.settings)} (after {attempt} attempts)",
                                     hint="check the URL and the network; the next run tries again") from e
                wait = self._backoff(attempt)
            except httpx.HTTPError as e:
                raise FetchError(f"{url}: {type(e).__name__}: {e}") from e
            else:
                resp.attempts = attempt
                if not (resp.status == 429 or resp.status >= 500) or attempt > self.settings.http_retries:
                    return resp
                retry_after = _retry_after(resp.headers.get("retry-after"))
                wait = min(retry_after, self._max_wait_s) if retry_after is not None else self._backoff(attempt)
            if self._deadline_clock() + wait > self._deadline:
                raise FetchError(self._late(url), hint=_DEADLINE_HINT)
            self._sleep(wait)

    def _send(self, url: str, headers: dict[str, str], *, limit: int | None) -> _Response:
        max_bytes = limit or self.settings.http_max_bytes
        remaining = max(0.001, self._deadline - self._deadline_clock())
        timeout = httpx.Timeout(min(self.settings.http_timeout_s, remaining),
                                connect=min(self.settings.http_connect_timeout_s, remaining))
        with self._client.stream("GET", url, headers=headers, timeout=timeout) as r:
            self._check_peer(url, r)
            resp = _Response(str(r.url), r.status_code, r.headers)
            if not 200 <= r.status_code < 300:
                return resp  # error and redirect bodies are never used
            declared = r.headers.get("content-length", "")
            if limit is None and declared.isdigit() and int(declared) > max_bytes:
                raise FetchError(_too_big(url, max_bytes), hint="raise REGWATCH_HTTP_MAX_BYTES if the source is this big")
            chunks, total = [], 0
            for chunk in r.iter_bytes():
                self._check_deadline(url)  # a server dripping a byte at a time never trips the per-read timeout
                total += len(chunk)
                if total > max_bytes:
                    if limit is not None:  # robots.txt: the first part is all we read
                        chunks.append(chunk[: max_bytes - (total - len(chunk))])
                        break
                    raise FetchError(_too_big(url, max_bytes), hint="raise REGWATCH_HTTP_MAX_BYTES if the source is this big")
                chunks.append(chunk)
            resp.body = b"".join(chunks)
        return resp

    def _check_peer(self, url: str, r: httpx.Response) -> None:
        """The address actually connected to must pass the policy too (DNS may answer differently the second time)."""
        stream = r.extensions.get("network_stream")
        peer = stream.get_extra_info("server_addr") if stream is not None else None
        if self._policy is not None and peer:
            self._policy.check_address(url, str(peer[0]))

    def _check_deadline(self, url: str) -> None:
        if self._deadline_clock() > self._deadline:
            raise FetchError(self._late(url), hint=_DEADLINE_HINT)

    def _late(self, url: str) -> str:
        return f"{url}: not finished within {self.settings.fetch_deadline_s:g} s (fetch_deadline_s); stopped"

    def _wait_turn(self, url: str) -> None:
        host = urlsplit(url).hostname or ""
        interval = self.settings.http_per_host_interval_s
        if self._robots is not None:
            interval = max(interval, self._robots.crawl_delay(url))
        last = self._last_request.get(host)
        if last is not None and (wait := last + interval - self._clock()) > 0:
            self._sleep(wait)
        self._last_request[host] = self._clock()

    def _load_robots(self, root: str) -> RobotsFile:
        # Redirects followed by hand, each checked: robots.txt must not be a way around the destination policy.
        url = f"{root}/robots.txt"
        for _ in range(5):
            if self._policy is not None:
                self._policy.check(url)
            resp = self._request(url, {}, limit=MAX_ROBOTS_BYTES)
            location = resp.headers.get("location")
            if resp.status not in REDIRECTS or not location:
                break
            url = urldefrag(urljoin(url, location)).url
        return RobotsFile(resp.status, resp.body.decode("utf-8", errors="replace"))

    def _backoff(self, attempt: int) -> float:
        return float(min(self._backoff_s * 2 ** (attempt - 1), self._max_wait_s))


_DEADLINE_HINT = "the server is too slow or sends very slowly; raise REGWATCH_FETCH_DEADLINE_S if the source is just big"


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: either a number or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _describe(e: Exception, settings: Settings) -> str:
    if isinstance(e, httpx.ConnectTimeout):
        return f"no connection within {settings.http_connect_timeout_s:g} s"
    if isinstance(e, httpx.TimeoutException):
        return f"no response within {settings.http_timeout_s:g} s"
    if isinstance(e, httpx.ConnectError):
        return f"cannot connect ({e})"
    return f"connection broken ({type(e).__name__}: {e})"


def _too_big(url: str, max_bytes: int) -> str:
    return f"{url}: response larger than {max_bytes:,} bytes (http_max_bytes); stopped reading"


def _status_hint(status: int) -> str | None:
    if status in (401, 403):
        return "the site refuses regwatch; check the URL or ask the site for access"
    if status in (404, 410):
        return "the page has moved or gone; update the source's url"
    if status == 429 or status >= 500:
        return "the server is overloaded or failing; the next run tries again"
    return None
