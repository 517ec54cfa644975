"""A Slack peer for tests: the Web API on 127.0.0.1 (records every call, injects faults) and signed requests to the bot.

Shapes follow Slack's documented payloads in ../shared/slack/payloads (the events, commands and actions sent to the
bot are built from those files), the way bolt-python's own tests run the real framework against a mock Web API.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

REPO = Path(__file__).resolve().parents[1]
PAYLOADS = REPO.parent / "shared" / "slack" / "payloads"
BOT_TOKEN = "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy"  # shape of Slack's published example token
APP_TOKEN = "xapp-1-A111-111-abcdef0123456789"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_USER = "W23456789"  # from bolt's canned auth.test (webapi_bot_auth_test_response.json)
BOT_ID = "BZYBOTHED"


# --- the Web API peer ------------------------------------------------------------------------------------


@dataclass
class Call:
    method: str  # "chat.postMessage", or "response_url" for POSTs to a response_url
    args: dict[str, Any]
    headers: dict[str, str]
    path: str
    at: float = field(default_factory=time.monotonic)


@dataclass
class Fault:
    status: int = 200
    error: str | None = None  # ok:false error code
    retry_after: int | None = None
    delay: float = 0.0  # seconds before replying
    record: bool = False  # carry out the call (e.g. post the message) before the fault: "the post landed, the reply didn't"


class SlackPeer:
    """Web API methods the bot uses, with their documented success shapes; everything is recorded."""

    def __init__(self, token: str = BOT_TOKEN) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.faults: dict[str, list[Fault]] = {}
        self.missing_channels: set[str] = set()  # chat.postMessage there answers ok:false channel_not_found
        self.users: dict[str, dict[str, Any]] = {}  # users.info: user id -> fields (is_admin, is_owner, ...)
        self.lock = threading.Lock()
        self._ts = itertools.count(1)
        peer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8")
                status, headers, body = peer.handle(self.path, dict(self.headers), raw)
                data = body.encode("utf-8")
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout under test); the call is recorded all the same

            do_GET = do_POST

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/api/"

    def response_url(self, name: str = "r1") -> str:
        return f"http://127.0.0.1:{self.server.server_port}/response/{name}"

    def __enter__(self) -> SlackPeer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- faults and queries --------------------------------------------------------------------------
    def fail(self, method: str, *, times: int = 1, **fault: Any) -> None:
        """The next `times` calls of `method` get this fault (status, error, retry_after, delay, record)."""
        with self.lock:
            self.faults.setdefault(method, []).extend(Fault(**fault) for _ in range(times))

    def of(self, method: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.method == method]

    def posts(self, channel: str | None = None) -> list[Call]:
        return [c for c in self.of("chat.postMessage") if channel is None or c.args.get("channel") == channel]

    def set_user(self, user_id: str, **fields: Any) -> None:
        """users.info answers for `user_id` (e.g. is_admin=True, is_owner=True); other users are ordinary members."""
        with self.lock:
            self.users[user_id] = fields

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}; calls: {[c.method for c in self.calls]}")

    # --- the server side ------------------------------------------------------------------------------
    def handle(self, path: str, headers: dict[str, str], raw: str) -> tuple[int, dict[str, str], str]:
        ctype = headers.get("Content-Type", "")
        if "json" in ctype:
            args = json.loads(raw or "{}")
        else:
            args = {k: v[0] for k, v in urllib.parse.parse_qs(raw, keep_blank_values=True).items()}
        for key in ("blocks", "metadata"):  # form posts carry these as JSON strings
            if isinstance(args.get(key), str):
                args[key] = json.loads(args[key])
        method = "response_url" if path.startswith("/response/") else path.split("/api/", 1)[-1].split("?")[0]
        with self.lock:
            self.calls.append(Call(method, args, headers, path))
            fault = self.faults[method].pop(0) if self.faults.get(method) else None
        json_headers = {"Content-Type": "application/json; charset=utf-8"}
        if fault and not fault.record:
            time.sleep(fault.delay)
            if fault.status != 200 or fault.error:
                return self._fault_reply(fault)
        if method == "response_url":
            return 200, {"Content-Type": "text/plain"}, "ok"
        auth = headers.get("Authorization", "")
        if method == "apps.connections.open":  # Socket Mode: the app-level token, and a websocket URL back
            ok = auth == f"Bearer {APP_TOKEN}"
            body = {"ok": True, "url": "ws://127.0.0.1:9/link"} if ok else {"ok": False, "error": "invalid_auth"}
            return 200, json_headers, json.dumps(body)
        if auth != f"Bearer {self.token}" and args.get("token") != self.token:
            return 200, json_headers, json.dumps({"ok": False, "error": "invalid_auth"})
        body = self.reply(method, args)
        if fault and fault.record:
            time.sleep(fault.delay)
            if fault.status != 200 or fault.error:
                return self._fault_reply(fault)
        return 200, json_headers, json.dumps(body)

    def _fault_reply(self, fault: Fault) -> tuple[int, dict[str, str], str]:
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        error = fault.error or ("ratelimited" if fault.status == 429 else "internal_error")
        return fault.status, headers, json.dumps({"ok": False, "error": error})

    def _new_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    def reply(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        if method == "auth.test":
            return {"ok": True, "url": "https://subarachnoid.slack.com/", "team": "Subarachnoid Workspace",
                    "user": "regwatch", "team_id": "T111", "user_id": BOT_USER, "bot_id": BOT_ID}  # fmt: skip
        if method == "chat.postMessage" and channel in self.missing_channels:
            return {"ok": False, "error": "channel_not_found"}
        if method == "chat.postMessage":
            problem = block_problem(args.get("blocks") or [])
            if problem:
                return {"ok": False, "error": "invalid_blocks", "errors": [problem]}
            ts = self._new_ts()
            message = {"type": "message", "subtype": "bot_message", "bot_id": BOT_ID, "user": BOT_USER, "ts": ts,
                       "text": args.get("text", ""), "blocks": args.get("blocks") or []}  # fmt: skip
            if args.get("thread_ts"):
                message["thread_ts"] = args["thread_ts"]
            if args.get("metadata"):
                message["metadata"] = args["metadata"]
            with self.lock:
                self.messages.setdefault(channel, []).append(message)
            return {"ok": True, "channel": channel, "ts": ts, "message": message}
        if method == "users.info":  # the documented shape; unknown ids are plain members of the workspace
            uid = str(args.get("user", ""))
            with self.lock:
                extra = dict(self.users.get(uid, {}))
            user = {"id": uid, "team_id": "T111", "name": uid.lower(), "deleted": False, "real_name": uid, "tz": "Asia/Shanghai",
                    "is_admin": False, "is_owner": False, "is_primary_owner": False, "is_restricted": False,
                    "is_ultra_restricted": False, "is_bot": False, "is_app_user": False, "updated": 1502138686, **extra}  # fmt: skip
            return {"ok": True, "user": user}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self._new_ts()}
        if method == "chat.update":
            problem = block_problem(args.get("blocks") or [])
            if problem:
                return {"ok": False, "error": "invalid_blocks", "errors": [problem]}
            return {"ok": True, "channel": channel, "ts": args.get("ts"), "text": args.get("text", "")}
        if method in ("conversations.history", "conversations.replies"):
            with self.lock:
                found = list(self.messages.get(channel, []))
            if method == "conversations.replies":
                found = [m for m in found if m["ts"] == args.get("ts") or m.get("thread_ts") == args.get("ts")]
            else:
                found = [m for m in found if m.get("thread_ts") in (None, m["ts"])][::-1]
            oldest = float(args.get("oldest") or 0)
            found = [m for m in found if float(m["ts"]) >= oldest]
            if str(args.get("include_all_metadata", "")).lower() not in ("true", "1"):
                found = [{k: v for k, v in m.items() if k != "metadata"} for m in found]
            return {"ok": True, "messages": found, "has_more": False, "response_metadata": {"next_cursor": ""}}
        if method == "reactions.add":
            return {"ok": True}
        return {"ok": False, "error": "unknown_method"}


def block_problem(blocks: list[dict[str, Any]]) -> str | None:
    """What Slack's invalid_blocks would name: more than 50 blocks or a text over 3000 characters."""
    if len(blocks) > 50:
        return "no more than 50 items allowed [json-pointer:/blocks]"
    for i, b in enumerate(blocks):
        if len(((b.get("text") or {}).get("text")) or "") > 3000:
            return f"must be less than 3001 characters [json-pointer:/blocks/{i}/text/text]"
        for j, e in enumerate(b.get("elements") or []):
            if len(e.get("text") or "") > 3000 if isinstance(e.get("text"), str) else False:
                return f"must be less than 3001 characters [json-pointer:/blocks/{i}/elements/{j}/text]"
    return None


# --- requests to the bot, signed like Slack signs them ----------------------------------------------------


def sign(body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict[str, str]:
    """X-Slack-Signature v0: HMAC-SHA256 over 'v0:{timestamp}:{body}' with the signing secret."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


@dataclass
class Reply:
    status: int
    body: str
    elapsed: float

    def json(self) -> Any:
        return json.loads(self.body)


def send(url: str, body: str, content_type: str, *, headers: dict[str, str] | None = None, **sign_kw: Any) -> Reply:
    hdrs = {"Content-Type": content_type, **sign(body, **sign_kw), **(headers or {})}
    req = urllib.request.Request(url, data=body.encode("utf-8"), headers=hdrs, method="POST")
    start = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return Reply(resp.status, resp.read().decode("utf-8"), time.monotonic() - start)
    except urllib.error.HTTPError as e:
        return Reply(e.code, e.read().decode("utf-8"), time.monotonic() - start)


def send_event(url: str, payload: dict[str, Any], *, retry_num: int | None = None, **kw: Any) -> Reply:
    headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"} if retry_num else {}
    return send(url, json.dumps(payload), "application/json", headers=headers, **kw)


def send_form(url: str, fields: dict[str, str], **kw: Any) -> Reply:
    return send(url, urllib.parse.urlencode(fields), "application/x-www-form-urlencoded", **kw)


def send_action(url: str, payload: dict[str, Any], **kw: Any) -> Reply:
    return send_form(url, {"payload": json.dumps(payload)}, **kw)


# --- payloads, built from Slack's documented examples -----------------------------------------------------


def _example(rel: str) -> Any:
    path = PAYLOADS / rel
    if not path.exists():
        pytest.skip(f"Slack's documented payloads are not at {PAYLOADS} (../shared beside the repo)")
    text = path.read_text(encoding="utf-8")
    return json.loads(text) if rel.endswith(".json") else text


_event_ids = itertools.count(1)


def mention(text: str, *, channel: str = "C111", user: str = "U061F7AUR", ts: str | None = None,
            thread_ts: str | None = None, event_id: str | None = None) -> dict[str, Any]:  # fmt: skip
    """An app_mention event_callback as Slack documents it, with our text, ids and bot user."""
    body = _example("docs/app_mention_event_callback.json")
    ts = ts or f"{time.time():.6f}"
    body["event"].update({"text": f"<@{BOT_USER}> {text}", "user": user, "channel": channel, "ts": ts, "event_ts": ts})
    if thread_ts:
        body["event"]["thread_ts"] = thread_ts
    body["event_id"] = event_id or f"Ev{next(_event_ids):08d}{os.getpid()}"
    body["authorizations"][0].update({"user_id": BOT_USER, "is_bot": True})
    return body


def dm(text: str, *, channel: str = "D024BE91L", user: str = "U2147483697", ts: str | None = None,
       thread_ts: str | None = None, **event: Any) -> dict[str, Any]:  # fmt: skip
    """A message.im event_callback as Slack documents it."""
    body = _example("docs/message_im_event_callback.json")
    ts = ts or f"{time.time():.6f}"
    body["event"].update({"text": text, "user": user, "channel": channel, "ts": ts, "event_ts": ts, **event})
    if thread_ts:
        body["event"]["thread_ts"] = thread_ts
    body["event_id"] = f"Ev{next(_event_ids):08d}{os.getpid()}"
    body["authorizations"][0].update({"user_id": BOT_USER, "is_bot": True})
    return body


def command(text: str, *, channel: str = "C111", user: str = "W111", response_url: str = "") -> dict[str, str]:
    """/regwatch as a form body, from bolt's slash-command fixture."""
    raw = _example("bolt_python_fixtures/slash_command_form_body.txt").strip()
    fields = {k: v[0] for k, v in urllib.parse.parse_qs(raw).items()}
    fields.update({"command": "/regwatch", "text": text, "channel_id": channel, "user_id": user})
    if response_url:
        fields["response_url"] = response_url
    return fields


def block_action(action_id: str, value: str, *, channel: str = "C111", user: str = "W111", message_ts: str = "111.222",
                 response_url: str = "", ephemeral: bool = False) -> dict[str, Any]:  # fmt: skip
    """A block_actions payload from bolt's fixture, for one button click."""
    body = _example("bolt_python_fixtures/block_actions_payload.json")
    body["user"]["id"] = user
    body["channel"]["id"] = channel
    body["container"].update({"channel_id": channel, "message_ts": message_ts, "is_ephemeral": ephemeral})
    body["actions"][0].update({"action_id": action_id, "value": value, "block_id": "b"})
    if response_url:
        body["response_url"] = response_url
    else:
        body.pop("response_url", None)
    if not ephemeral:
        body["message"] = {"type": "message", "ts": message_ts, "text": "", "blocks": []}
    return body


# --- the bot as a real process ------------------------------------------------------------------------------


class BotProcess:
    """`python -m bot.slack.cli serve --http --port 0` with the peer as its Web API; stop() or kill()."""

    def __init__(self, data_dir: Path, peer: SlackPeer, *, args: list[str] = (), env: dict[str, str] | None = None) -> None:  # type: ignore[assignment]
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("REGWATCH_", "SLACK_"))}
        self.env.update({
            "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "REGWATCH_SLACK_API_URL": peer.api_url,
            "REGWATCH_DATA_DIR": str(data_dir), "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'tests'}",
            "REGWATCH_LOG_LEVEL": "INFO", **(env or {}),
        })  # fmt: skip
        self.args = ["serve", "--http", "--port", "0", "--host", "127.0.0.1", *args]
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.log_path = data_dir / f"bot-{time.time_ns()}.log"

    def start(self, timeout: float = 60.0) -> BotProcess:
        data_dir = Path(self.env["REGWATCH_DATA_DIR"])
        data_dir.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([sys.executable, "-m", "bot.slack.cli", *self.args], cwd=REPO, env=self.env,
                                     stdout=subprocess.PIPE, stderr=self._log, text=True)  # fmt: skip
        result: list[str] = []
        reader = threading.Thread(target=lambda: result.append(self.proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(timeout)
        line = result[0] if result else ""
        if "listening on" not in line:
            self.kill()
            raise AssertionError(f"bot did not start: {line!r}\n{self.log_path.read_text()[-3000:]}")
        self.url = line.split("listening on ", 1)[1].strip()
        return self

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if hasattr(self, "_log"):
            self._log.close()

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if hasattr(self, "_log"):
            self._log.close()


# --- answerers for the bot under test -----------------------------------------------------------------------


def sample_answer(question: str, *, abstained: bool = False, quote: str = "", n_citations: int = 2) -> Any:
    """An Answer as bot.answer returns it: [n] markers, a draft citation and one in force."""
    from bot.types import Answer, Citation

    kinds = [
        ("Personal Information Protection Law", "http://en.npc.gov.cn/pipl.htm", "Article 38", "in_force", "law"),
        ("TC260 draft standard", "https://www.tc260.org.cn/draft", "4.2", "draft", "standard"),
    ]
    cites = []
    for i in range(n_citations):
        title, url, section, status, doc_type = kinds[i % 2]
        cites.append(Citation(n=i + 1, doc_id=f"doc-{i}", title=title, source_path=f"/x/{i}.md", url=url, section=section,
                              section_number=38 + i, status=status, doc_type=doc_type, effective=None,
                              quote=quote or f"Personal information handlers providing personal information abroad shall ({i})",
                              score=0.8 - i / 100, passage_id=f"doc-{i}::p{i}"))  # fmt: skip
    if abstained:
        return Answer(question=question, answer="No indexed passage answers this question.", abstained=True, citations=[])
    return Answer(question=question, answer="Cross-border transfers need a legal basis [1]; see the draft [2].",
                  abstained=False, citations=cites)  # fmt: skip


class FakeAsker:
    """Returns sample answers (or `answer_for(question)`), after `delay` seconds; records the questions asked."""

    def __init__(self, delay: float = 0.0, answer_for: Callable[[str], Any] | None = None) -> None:
        self.delay = delay
        self.answer_for = answer_for or sample_answer
        self.questions: list[str] = []
        self.filters: list[Any] = []

    def ask(self, question: str, *, k: int | None = None, filters: Any = None) -> Any:
        self.questions.append(question)
        self.filters.append(filters)
        time.sleep(self.delay)
        return self.answer_for(question)


def make_asker(settings: Any) -> FakeAsker:
    """Factory for `serve --asker slack_peer:make_asker` in subprocess tests (test code: reads its own env)."""
    return FakeAsker(delay=float(os.environ.get("SLACK_PEER_ASK_DELAY", "0")))


# --- the bot in this process, served over real HTTP ---------------------------------------------------------


@dataclass
class Bot:
    url: str
    settings: Any
    engine: Any
    asker: FakeAsker
    peer: SlackPeer


def bot_settings(data_dir: Path, peer: SlackPeer, **overrides: Any) -> Any:
    from indexer.settings import Settings

    return Settings(_env_file=None, data_dir=data_dir, slack_api_url=peer.api_url, slack_bot_token=SecretStr(BOT_TOKEN),
                    slack_signing_secret=SecretStr(SIGNING_SECRET), slack_app_token=SecretStr(APP_TOKEN),
                    **overrides)  # type: ignore[call-arg]  # fmt: skip


class InProcessBot:
    """create_app + the threaded WSGI server on a free port, for tests that need no separate process."""

    def __init__(self, data_dir: Path, peer: SlackPeer, asker: FakeAsker | None = None, *, real_asker: bool = False,
                 **overrides: Any) -> None:  # fmt: skip
        from bot.slack.app import create_app
        from bot.slack.server import make_http_server
        from indexer.db import init_schema, make_engine

        settings = bot_settings(data_dir, peer, **overrides)
        settings.ensure_dirs()
        engine = make_engine(settings.resolved_state_url)  # a private engine: tests must not share one by URL cache
        init_schema(engine)
        self.asker = asker or FakeAsker()
        app = create_app(settings, asker=None if real_asker else self.asker, engine=engine)  # None: the real Asker
        self.server = make_http_server(app, "127.0.0.1", 0, settings=settings)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.bot = Bot(f"http://127.0.0.1:{self.server.server_port}/slack/events", settings, engine, self.asker, peer)

    def __enter__(self) -> Bot:
        self.thread.start()
        return self.bot

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.bot.engine.dispose()


# --- ledger rows as the monitoring code writes them -----------------------------------------------------------


def add_doc(engine: Any, doc_id: str, **meta: Any) -> None:
    """A `documents` row whose meta (DocMeta fields) carries dates, issuer and topics."""
    from indexer.db import utcnow
    from indexer.schema import documents

    now, meta = utcnow(), {"title": doc_id, **meta}
    row = {"doc_id": doc_id, "source_path": f"/x/{doc_id}.md", "origin": f"/x/{doc_id}.md", "title": meta["title"],
           "doc_type": meta.get("doc_type", "standard"), "status": meta.get("status", "draft"), "language": "en",
           "meta": meta, "first_seen": now, "updated_at": now}  # fmt: skip
    with engine.begin() as conn:
        conn.execute(documents.insert().values(**row))


def add_change(engine: Any, doc_id: str, kind: str, **cols: Any) -> int:
    """A `changes` row, as the monitoring code writes one; returns its change_id."""
    from indexer.db import utcnow
    from indexer.schema import changes

    values = {"doc_id": doc_id, "kind": kind, "detected_at": utcnow(), "title": cols.pop("title", f"{doc_id} title"), **cols}
    with engine.begin() as conn:
        return conn.execute(changes.insert().values(**values)).inserted_primary_key[0]
