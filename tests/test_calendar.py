"""The deadline calendar: entries from the ledger, the .ics file parsed back with icalendar (UIDs stable across
exports), the subscribable URL behind its token over real HTTP on loopback, `/regwatch calendar`, `/regwatch ask
--as-of` parsing, `regwatch calendar` on the command line and the digest's look-ahead setting.

Documents are recorded in a real ledger (SQLite) through Ledger.begin_version/commit_version, as the indexer does,
without embedding them: nothing here reads vectors."""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from icalendar import Calendar
from pydantic import SecretStr
from typer.testing import CliRunner

from bot.calendar import calendar_endpoint, calendar_entries, to_ics
from bot.currency import from_ledger
from bot.slack.commands import UsageError, parse_ask, run_quick
from indexer.db import init_schema, make_engine
from indexer.ledger import Ledger
from indexer.parse import parse_file
from indexer.settings import Settings
from indexer.structure import split_passages

TODAY = dt.date.today()


def day(offset: int) -> str:
    return (TODAY + dt.timedelta(days=offset)).isoformat()


def doc(title: str, **front: str) -> str:
    lines = "\n".join(f"{k}: '{v}'" for k, v in front.items())
    return f"---\ntitle: {title}\nlanguage: zh\n{lines}\n---\n第一条 {title}的内容。\n\n第二条 本规定自公布之日起施行。\n"


def corpus(deadline_offset: int = 20) -> dict[str, str]:
    return {
        "draft.md": doc("网络数据标注安全规范（征求意见稿）", doc_type="draft", status="draft", published=day(-10),
                        comment_deadline=day(deadline_offset)),
        "closed.md": doc("数据安全审计指南（征求意见稿）", doc_type="draft", status="draft", published="2025-01-02",
                         comment_deadline="2025-02-21"),
        "soon.md": doc("网络数据分类规定", doc_type="regulation", published=day(-5), effective=day(40)),
        "later.md": doc("数据出境认证办法", doc_type="regulation", published=day(-5), effective=day(150)),
        "old.md": doc("个人信息处理规则", doc_type="regulation", published="2021-01-01", effective="2021-03-01"),
        "note.md": doc("评论：数据出境新规要点", doc_type="commentary", published=day(-1), effective=day(10)),
    }


def record(root: Path, engine: Any, files: dict[str, str]) -> None:
    """Write the files and record each as the current version of its document (no embedding)."""
    ledger = Ledger(engine)
    settings = Settings(_env_file=None, data_dir=root / ".unused")  # type: ignore[call-arg]
    run = ledger.start_run("index")
    for name, text in files.items():
        path = root / name
        path.write_text(text, encoding="utf-8")
        parsed = parse_file(path, settings=settings, display_path=name)
        doc_id = str(parsed.meta.doc_id)
        passages = split_passages(doc_id, parsed.text, max_chars=1500, overlap=200)
        v = ledger.begin_version(doc_id=doc_id, origin=str(path), source_path=name, source_name=None, meta=parsed.meta,
                                 raw_hash=parsed.raw_hash, content_hash=parsed.raw_hash, text=parsed.text,
                                 passage_count=len(passages), run_id=run)
        ledger.commit_version(doc_id=doc_id, version=v, origin=str(path), source_path=name, meta=parsed.meta,
                              new_passages=passages, change=None)
    ledger.finish_run(run, "done", {})


@pytest.fixture
def ledger_env(tmp_path: Path) -> tuple[Settings, Any, Path]:
    data = tmp_path / "data"
    data.mkdir()
    settings = Settings(_env_file=None, data_dir=data, calendar_token=SecretStr("s3cret-calendar"))  # type: ignore[call-arg]
    engine = make_engine(settings.resolved_state_url)
    init_schema(engine)
    root = tmp_path / "docs"
    root.mkdir()
    record(root, engine, corpus())
    yield settings, engine, root
    engine.dispose()


def test_entries_past_and_future(ledger_env: tuple[Settings, Any, Path]) -> None:
    _, engine, _ = ledger_env
    entries = calendar_entries(from_ledger(Ledger(engine)), today=TODAY.isoformat())
    got = [(e.date, e.kind, e.doc_id) for e in entries]
    assert got == sorted(got)
    assert ("2025-02-21", "deadline", "closed") in got and ("2021-03-01", "effective", "old") in got
    assert (day(20), "deadline", "draft") in got and (day(40), "effective", "soon") in got
    assert not [e for e in entries if e.doc_id == "note"]  # a commentary's dates are the rules'
    words = {e.doc_id: e.words for e in entries}
    assert words["closed"] == "comment period closed 2025-02-21"
    assert words["draft"] == f"open for comment until {day(20)}"
    assert words["soon"] == "takes effect"
    only = calendar_entries(from_ledger(Ledger(engine)), start=day(0), end=day(90), kind="effective")
    assert [e.doc_id for e in only] == ["soon"]


def test_ics_parses_back_and_uids_are_stable(ledger_env: tuple[Settings, Any, Path]) -> None:
    _, engine, root = ledger_env
    first = Calendar.from_ical(to_ics(calendar_entries(from_ledger(Ledger(engine)))))
    events = {str(e["UID"]): e for e in first.walk("VEVENT")}
    assert "deadline.draft@regwatch" in events and "effective.soon@regwatch" in events
    ev = events["deadline.draft@regwatch"]
    assert ev.decoded("DTSTART") == dt.date.fromisoformat(day(20))
    assert ev.decoded("DTEND") == dt.date.fromisoformat(day(21))
    assert str(ev["SUMMARY"]) == "Comments due: 网络数据标注安全规范（征求意见稿）"
    assert "open for comment until" in str(ev["DESCRIPTION"])
    # The deadline is extended and the file exported again: the same event (UID), moved; nothing added.
    record(root, engine, {"draft.md": corpus(deadline_offset=35)["draft.md"]})
    second = Calendar.from_ical(to_ics(calendar_entries(from_ledger(Ledger(engine)))))
    again = {str(e["UID"]): e for e in second.walk("VEVENT")}
    assert set(again) == set(events)
    assert again["deadline.draft@regwatch"].decoded("DTSTART") == dt.date.fromisoformat(day(35))


def _get(url: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:  # noqa: S310 - a loopback URL made by the test
            return r.status, r.read(), r.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers.get("Content-Type", "")


def _serve(settings: Settings, engine: Any, peer: Any) -> Any:
    import threading

    from bot.slack.app import create_app
    from bot.slack.server import make_http_server
    from tests.slack_peer import FakeAsker, bot_settings

    slack_settings = bot_settings(settings.data_dir, peer, calendar_token=settings.calendar_token)
    app = create_app(slack_settings, asker=FakeAsker(), engine=engine)
    server = make_http_server(app, "127.0.0.1", 0, calendar=calendar_endpoint(slack_settings, engine))
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server


def test_calendar_url_needs_its_token(ledger_env: tuple[Settings, Any, Path], peer: Any) -> None:
    settings, engine, _ = ledger_env
    server = _serve(settings, engine, peer)
    base = f"http://127.0.0.1:{server.server_port}/calendar.ics"
    try:
        for url in (base, base + "?token=wrong", base + "?token=s3cret-calendar-and-more", base + "?token="):
            status, body, _ = _get(url)
            assert status == 403 and b"BEGIN:VCALENDAR" not in body, url
        status, body, ctype = _get(base + "?token=s3cret-calendar")
        assert status == 200 and ctype.startswith("text/calendar")
        uids = {str(e["UID"]) for e in Calendar.from_ical(body).walk("VEVENT")}
        assert "deadline.draft@regwatch" in uids
    finally:
        server.shutdown()
        server.server_close()


def test_no_token_no_calendar_url(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    assert calendar_endpoint(settings, None) is None  # the server then answers 404 for /calendar.ics


def test_slack_calendar_lists_the_next_90_days(ledger_env: tuple[Settings, Any, Path]) -> None:
    settings, engine, _ = ledger_env
    text = run_quick(settings, engine, sub="calendar", args="", channel_id="C1", user_id="U1")
    assert "next 90 days" in text
    assert "网络数据标注安全规范" in text and "网络数据分类规定" in text
    assert "数据出境认证办法" not in text  # 150 days away
    assert "数据安全审计指南" not in text  # its deadline passed


def test_slack_ask_as_of() -> None:
    assert parse_ask("--as-of 2025-06-01 what did the CSL require?") == ("what did the CSL require?", "2025-06-01")
    assert parse_ask("what did the CSL require? --as-of=2026-02-01") == ("what did the CSL require?", "2026-02-01")
    assert parse_ask("PIPL Article 38") == ("PIPL Article 38", None)
    with pytest.raises(UsageError, match="not a date"):
        parse_ask("--as-of 1 June 2025 what applied?")


def test_calendar_command(ledger_env: tuple[Settings, Any, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.cli import app

    settings, _, _ = ledger_env
    monkeypatch.setenv("REGWATCH_DATA_DIR", str(settings.data_dir))
    out = tmp_path / "out.ics"
    res = CliRunner().invoke(app, ["calendar", "--from", "2025-01-01", "--to", "2025-12-31", "--json", "--ics", str(out)])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert [(r["date"], r["kind"], r["doc_id"], r["uid"]) for r in rows] == [
        ("2025-02-21", "deadline", "closed", "deadline.closed@regwatch")]
    assert [str(e["UID"]) for e in Calendar.from_ical(out.read_bytes()).walk("VEVENT")] == ["deadline.closed@regwatch"]
    bad = CliRunner().invoke(app, ["calendar", "--kind", "holiday"])
    assert bad.exit_code == 2 and "deadline or effective" in bad.output
    backwards = CliRunner().invoke(app, ["calendar", "--from", "2026-01-01", "--to", "2025-01-01"])
    assert backwards.exit_code == 2


@pytest.mark.parametrize(("horizon", "listed"), [(None, False), ("200", True)])
def test_digest_look_ahead_is_a_setting(ledger_env: tuple[Settings, Any, Path], monkeypatch: pytest.MonkeyPatch,
                                        horizon: str | None, listed: bool) -> None:
    from bot.cli import app

    settings, _, _ = ledger_env
    monkeypatch.setenv("REGWATCH_DATA_DIR", str(settings.data_dir))
    if horizon:
        monkeypatch.setenv("REGWATCH_DIGEST_HORIZON_DAYS", horizon)
    res = CliRunner().invoke(app, ["digest", "--json"])
    assert res.exit_code == 0, res.output
    got = json.loads(res.stdout)
    assert got["horizon_days"] == int(horizon or 30)
    assert any(u["doc_id"] == "later" for u in got["upcoming"]) is listed  # takes effect in 150 days
    draft = next(u for u in got["upcoming"] if u["doc_id"] == "draft")
    assert draft["words"] == f"Draft for comment, not in force; open for comment until {day(20)}"


def test_slack_ask_as_of_over_http(bot: Any) -> None:
    """`/regwatch ask --as-of …` through the real Bolt app over loopback HTTP: the asker gets the day as a filter."""
    from slack_peer import command, send_form

    from bot.slack import messages as msg

    reply = send_form(bot.url, command("ask --as-of 2025-06-01 What did the CSL require?",
                                       response_url=bot.peer.response_url("cmd")))
    assert reply.status == 200 and reply.json()["text"] == msg.THINKING
    bot.peer.wait_for(lambda: bot.peer.of("response_url"), what="the ephemeral answer")
    assert bot.asker.questions == ["What did the CSL require?"]
    assert bot.asker.filters[0].as_of == "2025-06-01"
    bad = send_form(bot.url, command("ask --as-of 2025-13-01 What did the CSL require?"))
    assert "is not a date" in bad.json()["text"]


def test_changes_say_what_is_current(ledger_env: tuple[Settings, Any, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """`regwatch changes` says of each changed document what the answers and digests say of it."""
    from sqlalchemy import insert

    from bot.cli import app
    from indexer.db import utcnow
    from indexer.schema import changes

    settings, engine, _ = ledger_env
    with engine.begin() as c:
        c.execute(insert(changes).values(doc_id="closed", kind="new_draft", title="数据安全审计指南（征求意见稿）",
                                         status="draft", detected_at=utcnow(), summary="New draft for comment."))
    monkeypatch.setenv("REGWATCH_DATA_DIR", str(settings.data_dir))
    res = CliRunner().invoke(app, ["changes", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)[0]["now"] == "Draft for comment, not in force; comment period closed 2025-02-21"
    text = CliRunner().invoke(app, ["changes"]).output
    assert "now: Draft for comment, not in force; comment period closed 2025-02-21" in text
