"""The state store on a real PostgreSQL: migrations, the index suite (with a `chroma run` server), the alert
contract, and replicas: two bot processes deliver each alert once; two watchers index each document once."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from slack_peer import BotProcess, SlackPeer, add_change, add_doc, bot_settings
from sqlalchemy import func, select, text

from tests.chroma_server import chroma_server
from tests.conftest import make_settings, subprocess_env
from tests.pg_server import PgServer, pg  # noqa: F401 - the session's server fixture

# The index suite and the alert contract, collected again here with PostgreSQL fixtures (same names, this module).
from tests.test_alerts import (  # noqa: F401
    test_delivery_posts_once_with_metadata_and_marks_sent,
    test_fan_out_is_filtered_idempotent_and_starts_at_subscription,
    test_permanent_failure_is_recorded_and_delivery_goes_on,
    test_rate_limit_beyond_sdk_retries_requeues_after_retry_after,
    test_rate_limit_then_success,
    test_server_error_is_retried_with_backoff_and_checked_before_reposting,
    test_timeout_after_the_post_landed_is_recovered_without_a_second_post,
    test_two_concurrent_deliverers_post_each_alert_once,
)
from tests.test_pipeline import (  # noqa: F401
    DOC_A,
    DOC_B,
    DOC_C,
    corpus,
    test_amended_document_becomes_a_new_version_with_only_changed_passages_embedded,
    test_disappeared_file_is_marked_removed_not_dropped,
    test_first_run_adds_every_document_with_metadata,
    test_ledger_is_in_the_state_store,
    test_one_bad_file_is_reported_and_the_rest_go_on,
    test_reconcile_repairs_stores_that_disagree,
    test_rerun_with_nothing_changed_embeds_nothing,
    test_same_file_name_in_two_folders_gets_two_documents,
    test_status_change_in_front_matter_is_recorded_without_reembedding,
    test_whitespace_only_edit_is_not_a_version,
)

REPO = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.integration]


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    with chroma_server(tmp_path_factory.mktemp("chroma-pg")) as url:
        yield url


@pytest.fixture
def state_url(pg: PgServer) -> str:  # noqa: F811
    return pg.database()


@pytest.fixture
def settings(tmp_path: Path, chroma_url: str, state_url: str):  # type: ignore[no-untyped-def]
    """test_pipeline's fixture, on PostgreSQL and the Chroma server (a collection per test)."""
    return make_settings(tmp_path / "data", chroma_url=chroma_url, state_url=state_url,
                         chroma_collection=f"t-{tmp_path.name[-40:]}".replace("_", "-"))  # fmt: skip


@pytest.fixture
def env(tmp_path: Path, peer: SlackPeer, state_url: str):
    """test_alerts' fixture, on PostgreSQL."""
    from bot.slack.posting import make_client
    from indexer.db import init_schema, make_engine

    settings = bot_settings(tmp_path / "data", peer, state_url=state_url)
    settings.ensure_dirs()
    engine = make_engine(state_url)
    init_schema(engine)
    yield settings, engine, make_client(settings)
    engine.dispose()


# --- migrations ----------------------------------------------------------------------------------------------


def test_migrations_create_exactly_the_declared_schema(state_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    import indexer.fetch.cache  # noqa: F401
    import indexer.fetch.health  # noqa: F401
    from indexer.db import head_revision, init_schema, make_engine
    from indexer.schema import metadata

    engine = make_engine(state_url)
    init_schema(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head_revision()
    engine.dispose()
    assert diff == [], f"indexer/schema.py differs from the migrations: add a revision (python -m indexer.migrations revision --autogenerate -m ...): {diff}"


def test_processes_starting_at_once_migrate_once(state_url: str) -> None:
    code = f"from indexer.db import init_schema, make_engine; init_schema(make_engine({state_url!r})); print('ok')"
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]  # fmt: skip
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [o[1][-1500:] for o in outs]
    from indexer.db import make_engine

    engine = make_engine(state_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    engine.dispose()


# --- two bot replicas: each alert exactly once ------------------------------------------------------------


def test_two_bot_processes_post_each_alert_exactly_once(tmp_path: Path, state_url: str) -> None:
    from indexer.db import init_schema, make_engine
    from indexer.schema import outbox, subscriptions

    engine = make_engine(state_url)
    init_schema(engine)
    channels = ["C111", "C222", "C333"]
    with engine.begin() as conn:
        from indexer.db import utcnow

        for ch in channels:
            conn.execute(subscriptions.insert().values(channel_id=ch, topics=[], issuers=[], kinds=[], created_at=utcnow(),
                                                       since_change_id=0))  # fmt: skip
    with SlackPeer() as slack:
        for _ in range(60):  # every post takes a little while, so the two replicas' delivery runs overlap
            slack.fail("chat.postMessage", record=True, delay=0.02)
        env = {"REGWATCH_STATE_URL": state_url, "REGWATCH_METRICS_TOKEN": "metrics-token-for-tests"}
        bots = [BotProcess(tmp_path / f"bot{i}", slack, args=["--deliver-every", "0.3"], env=env).start() for i in range(2)]
        try:
            n, change_ids = 40, []
            for wave in range(8):  # changes keep arriving while both replicas poll
                for i in range(n // 8):
                    add_doc(engine, f"doc-{wave}-{i}", issuer="TC260", topics=["ai"])
                    change_ids.append(add_change(engine, f"doc-{wave}-{i}", "new_draft"))
                time.sleep(0.25)
            expected = n * len(channels)
            slack.wait_for(lambda: len(slack.posts()) >= expected, timeout=120, what=f"{expected} alerts")
            time.sleep(2.0)  # a duplicate would show up now
            posted = [(c.args["channel"], c.args["metadata"]["event_payload"]["alert_id"]) for c in slack.posts()]
            assert len(posted) == expected and len(set(posted)) == expected
            with engine.connect() as conn:
                states = dict(conn.execute(select(outbox.c.state, func.count()).group_by(outbox.c.state)).all())
                assert states == {"sent": expected}
            assert all(b.proc and b.proc.poll() is None for b in bots), "a replica crashed"
            import urllib.request

            req = urllib.request.Request(bots[0].url.replace("/slack/events", "/metrics"),
                                         headers={"Authorization": "Bearer metrics-token-for-tests"})
            with urllib.request.urlopen(req, timeout=10) as resp:
                metrics = resp.read().decode()
            assert f"regwatch_alerts_sent_total {float(expected)}" in metrics
            with urllib.request.urlopen(bots[1].url.replace("/slack/events", "/healthz"), timeout=10) as resp:
                body = json.loads(resp.read())
            assert resp.status == 200 and body["checks"]["state_store"]["dialect"] == "postgresql"
        finally:
            for b in bots:
                b.stop()
        logs = "".join(b.log() for b in bots)
        assert "Traceback" not in logs, logs[-3000:]
    engine.dispose()


# --- two watchers at once ------------------------------------------------------------------------------------


def _watch_env(tmp_path: Path, state_url: str, chroma_url: str) -> dict[str, str]:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "rules.md").write_text(DOC_A, encoding="utf-8")
    (docs / "zh-rules.md").write_text(DOC_B, encoding="utf-8")
    (docs / "brief.txt").write_text(DOC_C, encoding="utf-8")
    sources = tmp_path / "sources.yaml"
    sources.write_text("version: 1\nsources:\n  - name: local\n    kind: folder\n    path: docs\n", encoding="utf-8")
    return subprocess_env(tmp_path / "data", REGWATCH_STATE_URL=state_url, REGWATCH_CHROMA_URL=chroma_url,
                          REGWATCH_SOURCES_FILE=str(sources),
                          REGWATCH_CHROMA_COLLECTION=f"w-{tmp_path.name[-30:]}".replace("_", "-"))  # fmt: skip


@pytest.mark.slow
def test_two_watchers_at_once_index_each_document_once(tmp_path: Path, state_url: str, chroma_url: str) -> None:
    from indexer.db import make_engine
    from indexer.schema import changes, documents, runs, versions

    env = _watch_env(tmp_path, state_url, chroma_url)
    cmd = [sys.executable, "-m", "bot.cli", "watch", "--once", "--json"]
    procs = [subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=900) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-2000:] for o in outs]
    reports = [json.loads(o[0]) for o in outs]
    added = [sum((s["index"] or {}).get("added", 0) for s in r["sources"]) for r in reports]
    assert sorted(added) == [0, 3]  # one indexed everything; the other waited, then found nothing new
    engine = make_engine(state_url)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(documents)).scalar() == 3
        assert conn.execute(select(func.count()).select_from(versions)).scalar() == 3
        per_doc = conn.execute(select(changes.c.doc_id, func.count()).group_by(changes.c.doc_id)).all()
        assert len(per_doc) == 3 and {n for _, n in per_doc} == {1}
        assert {r for (r,) in conn.execute(select(runs.c.state))} == {"done"}
    engine.dispose()
    # The read side on the same stores, through the real CLI: status, changes, digest and a cited answer.
    run = {name: subprocess.run([sys.executable, "-m", "bot.cli", *args, "--json"], cwd=REPO, env=env, capture_output=True,
                                text=True, timeout=300)
           for name, args in {"status": ["status"], "changes": ["changes", "--since", "1d"], "digest": ["digest"],
                              "ask": ["ask", "separate consent to provide personal information to another processor"]}.items()}  # fmt: skip
    assert all(r.returncode == 0 for r in run.values()), {k: r.stderr[-1500:] for k, r in run.items()}
    assert json.loads(run["status"].stdout)["counts"]["documents"] == 3
    assert len(json.loads(run["changes"].stdout)) == 3
    answer = json.loads(run["ask"].stdout)
    assert not answer["abstained"] and answer["citations"][0]["doc_id"] == "rules"


# --- backup and restore between PostgreSQL databases ------------------------------------------------------


@pytest.mark.slow
def test_backup_of_postgres_and_chroma_server_restores_into_a_new_database(
    tmp_path: Path, pg: PgServer, chroma_url: str, corpus: Path, embedder  # noqa: F811
) -> None:  # type: ignore[no-untyped-def]
    from bot.backup import backup, restore
    from indexer.db import get_engine
    from indexer.ledger import Ledger
    from indexer.pipeline import Indexer
    from indexer.schema import changes

    src = make_settings(tmp_path / "a", chroma_url=chroma_url, state_url=pg.database(), chroma_collection="bk-src")
    idx = Indexer(src, embedder=embedder)
    idx.index_paths([corpus])
    (corpus / "brief.txt").write_text("Brief: consent, amended\n\nCompanies must ask first, in writing.\n", encoding="utf-8")
    idx.index_paths([corpus])
    idx.close()
    archive = tmp_path / "b.tar.gz"
    manifest = backup(src, archive)
    assert manifest["state"]["format"] == "jsonl" and manifest["chroma"]["count"] == Ledger(get_engine(src)).counts()["passages"]

    dst = make_settings(tmp_path / "b", chroma_url=chroma_url, state_url=pg.database(), chroma_collection="bk-dst")
    restore(dst, archive)
    assert Ledger(get_engine(dst)).counts() == Ledger(get_engine(src)).counts()
    idx2 = Indexer(dst, embedder=embedder)
    assert idx2.vectors.all_ids() == idx2.ledger.live_passage_ids()
    report = idx2.index_paths([corpus])  # same files: nothing to do in the restored copy
    assert report.unchanged == 3 and report.embedded == 0
    idx2.close()
    engine = get_engine(dst)
    with engine.connect() as conn:  # serial keys go on after the restored rows
        top = conn.execute(select(func.max(changes.c.change_id))).scalar()
    assert add_change(engine, "rules", "amendment") > top
    with pytest.raises(Exception, match="already holds"):
        restore(dst, archive)



# --- the bot's and the watcher's other statements -----------------------------------------------------------


def test_bot_store_digests_fetch_cache_and_health_on_postgres(tmp_path: Path, state_url: str) -> None:
    from datetime import timedelta

    from slack_peer import sample_answer

    from bot.digest import render_digest, run_due_digests
    from bot.slack import store
    from bot.slack.posting import make_client
    from indexer.db import init_schema, make_engine, utcnow
    from indexer.fetch.cache import FetchCache, Validators
    from indexer.fetch.health import HealthBook

    engine = make_engine(state_url)
    init_schema(engine)
    assert store.claim_event(engine, "Ev1") and not store.claim_event(engine, "Ev1")  # a retry, in any process
    answer_id = store.save_answer(engine, sample_answer("q?"), channel_id="C1", user_id="U1")
    stored = store.load_answer(engine, answer_id)
    assert stored and store.answer_from_json(stored["answer"]).citations
    store.record_feedback(engine, stored, vote="up", user_id="U1", channel_id="C1", message_ts="1.2")
    store.remember_thread(engine, "C1", "1.2", "first")
    store.remember_thread(engine, "C1", "1.2", "second")  # the first question stays the thread's context
    assert store.thread_question(engine, "C1", "1.2") == "first"
    add_doc(engine, "d1", topics=["ai"])
    add_change(engine, "d1", "new_draft")
    store.subscribe(engine, "C1", topics=["ai"], issuers=[], kinds=[], user_id="U1")
    store.subscribe(engine, "C1", topics=["data"], issuers=["CAC"], kinds=[], user_id="U1")  # upsert
    assert store.get_subscription(engine, "C1")["topics"] == ["data"]  # type: ignore[index]
    store.set_digest(engine, "C1", freq="daily", time="00:00", skip_empty=False)
    store.set_digest(engine, "C1", freq="daily", time="00:00", skip_empty=False)
    now = utcnow()
    assert store.claim_digest(engine, "C1", now) and not store.claim_digest(engine, "C1", now)
    assert store.prune_events(engine, older_than=timedelta(seconds=-1)) == 1
    assert store.unsubscribe(engine, "C1")
    assert render_digest(engine, now - timedelta(days=1), now).changes
    with SlackPeer() as slack:
        settings = bot_settings(tmp_path / "data", slack, state_url=state_url)
        store.set_digest(engine, "C2", freq="daily", time="00:00", skip_empty=False)
        assert sorted(run_due_digests(settings, make_client(settings), engine, now=now + timedelta(days=1))) == ["C1", "C2"]
        assert len(slack.posts()) == 2
    cache = FetchCache(engine)
    cache.put("https://x.example/a", Validators('"e1"', None))
    cache.put("https://x.example/a", Validators('"e2"', "Sat, 21 Nov 2026 00:00:00 GMT"))
    assert cache.get("https://x.example/a") == Validators('"e2"', "Sat, 21 Nov 2026 00:00:00 GMT")
    cache.forget("https://x.example/a")
    assert cache.get("https://x.example/a") is None
    book = HealthBook(engine)
    book.record_failure("src", "boom")
    book.record_failure("src", "boom again")
    health = book.all()["src"]
    assert health.consecutive_failures == 2 and health.failing_since and health.failing_since.tzinfo
    book.record_ok("src")
    assert book.all()["src"].failing_since is None
    engine.dispose()
