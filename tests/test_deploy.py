"""Deployment: the compose file and Dockerfile checked against the real CLI and Settings; one configuration
(`regwatch config`, errors naming the variable, JSON logs); migrations of SQLite stores; /healthz and /metrics;
backup and restore through the CLI."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import tomllib
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from tests.conftest import REPO, subprocess_env

COMPOSE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
ENV_EXAMPLE = REPO / ".env.example"
DEPLOY_DOC = REPO / "docs" / "deployment.md"
COMPOSE_ONLY = {"POSTGRES_PASSWORD", "CORPUS_DIR"}  # read by docker-compose.yml itself, documented as such
REGWATCH_SERVICES = ("watcher", "bot", "bot-http")


def regwatch(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """The real CLI in a subprocess, from a folder with no .env."""
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip


# --- the CLI and the settings, as the deployment files see them ---------------------------------------------


def settings_env_names() -> set[str]:
    from bot.ops import env_names

    return set(env_names().values())


def resolve(argv: list[str]) -> Any:
    """The click command `regwatch ...` runs; fails on an unknown sub-command, option or stray argument.

    (Typer ships its own copy of click, so groups, options and arguments are told apart by duck typing.)
    """
    from bot.cli import app

    cmd = typer.main.get_command(app)
    assert argv[0] == "regwatch", argv
    args, i = argv[1:], 0

    def take_option(command: Any, i: int) -> int:
        name = args[i].split("=", 1)[0]
        params = [p for p in command.params if p.param_type_name == "option" and name in (*p.opts, *p.secondary_opts)]
        assert params, f"{' '.join(argv)}: {name} is not an option of {command.name}"
        return i + (1 if params[0].is_flag or params[0].count or "=" in args[i] else 2)

    while hasattr(cmd, "commands"):
        while i < len(args) and args[i].startswith("-"):
            i = take_option(cmd, i)
        assert i < len(args), f"{' '.join(argv)}: {cmd.name} needs a sub-command"
        assert args[i] in cmd.commands, f"{' '.join(argv)}: no command {args[i]!r} (have {sorted(cmd.commands)})"
        cmd, i = cmd.commands[args[i]], i + 1
    positional = 0
    while i < len(args):
        if args[i].startswith("-"):
            i = take_option(cmd, i)
        else:
            positional, i = positional + 1, i + 1
    if positional:
        assert any(p.param_type_name == "argument" for p in cmd.params), f"{' '.join(argv)}: {cmd.name} takes no arguments"
    return cmd


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def env_example_names() -> list[str]:
    """Every VAR= in .env.example, set or commented out."""
    return re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", ENV_EXAMPLE.read_text(encoding="utf-8"), flags=re.M)


def test_compose_has_the_services_healthchecks_and_volumes() -> None:
    c = compose()
    services = c["services"]
    assert {"chroma", "postgres", "watcher", "bot", "bot-http"} <= set(services)
    chromadb_pin = next(d for d in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"] if d.startswith("chromadb=="))
    assert services["chroma"]["image"] == f"chromadb/chroma:{chromadb_pin.split('==')[1]}"  # server matches the client
    assert "/api/v2/heartbeat" in " ".join(services["chroma"]["healthcheck"]["test"])
    assert services["postgres"]["image"] == "postgres:15"
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert services["bot-http"]["profiles"] == ["http"] and "profiles" not in services["bot"]
    for name, svc in services.items():
        assert "healthcheck" in svc, f"{name} has no healthcheck"
        for vol in svc.get("volumes", []):
            source = vol.split(":", 1)[0]
            if not source.startswith(("/", ".", "$")):
                assert source in c["volumes"], f"{name}: volume {source} is not declared"
    for name in REGWATCH_SERVICES:
        svc = services[name]
        assert svc["env_file"] == ".env"
        assert svc["environment"]["REGWATCH_CHROMA_URL"] == "http://chroma:8000"
        assert svc["environment"]["REGWATCH_STATE_URL"].startswith("postgresql+psycopg://regwatch:")
        assert {k: v["condition"] for k, v in svc["depends_on"].items()} == {"chroma": "service_healthy", "postgres": "service_healthy"}
        assert any(v.startswith("regwatch-data:/data") for v in svc["volumes"])
    assert services["bot"]["command"] == ["regwatch", "slack", "serve", "--socket"]
    assert services["watcher"]["command"] == ["regwatch", "watch"]


def test_every_command_in_compose_exists_in_the_cli() -> None:
    commands = []
    for svc in compose()["services"].values():
        for cmd in (svc.get("command"), svc.get("healthcheck", {}).get("test")):
            if cmd and "regwatch" in cmd:
                commands.append(cmd[cmd.index("regwatch"):])
    assert len(commands) >= 4
    for argv in commands:
        resolve(argv)
    with pytest.raises(AssertionError, match="no command"):
        resolve(["regwatch", "slack", "serv"])
    with pytest.raises(AssertionError, match="not an option"):
        resolve(["regwatch", "slack", "serve", "--sockets"])


def test_every_command_in_the_deployment_guide_exists_in_the_cli() -> None:
    found = []
    for line in DEPLOY_DOC.read_text(encoding="utf-8").splitlines():
        m = re.search(r"(?:^|\s|`)(regwatch (?:[a-z-]+)[^`#]*)", line)
        if m and not line.lstrip().startswith(("#", "|")) and "regwatch:" not in m.group(1):
            found.append(shlex.split(m.group(1).strip().rstrip("\\").strip()))
    assert len(found) >= 8, found
    for argv in found:
        resolve([a for a in argv if not a.startswith(("<", "$"))])


def test_variables_in_compose_and_env_example_are_settings_and_every_setting_is_documented() -> None:
    known = settings_env_names()
    for name in REGWATCH_SERVICES:
        for var in compose()["services"][name]["environment"]:
            assert var in known, f"docker-compose.yml sets {var}, which regwatch does not read"
    documented = env_example_names()
    unknown = set(documented) - known - COMPOSE_ONLY
    assert not unknown, f".env.example mentions {unknown}, which Settings does not read"
    missing = known - set(documented)
    assert not missing, f"document these settings in .env.example: {sorted(missing)}"


def test_dockerfile_is_multi_stage_non_root_cpu_torch_and_offline() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert len(re.findall(r"^FROM ", text, flags=re.M)) >= 2
    users = re.findall(r"^USER\s+(\S+)", text, flags=re.M)
    assert users and users[-1] not in ("root", "0"), "the runtime stage must not run as root"
    assert "torch==2.13.0" in text and "download.pytorch.org/whl/cpu" in text
    assert "HF_HUB_OFFLINE=1" in text and re.search(r"^VOLUME", text, flags=re.M)
    ignored = (REPO / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".env", ".git", ".venv"} <= set(ignored)


# --- one configuration -------------------------------------------------------------------------------------


def test_config_prints_every_setting_with_secrets_masked(tmp_path: Path) -> None:
    env = subprocess_env(tmp_path / "data", REGWATCH_STATE_URL="postgresql+psycopg://regwatch:hunter2@db:5432/regwatch",
                         REGWATCH_CHROMA_URL="http://admin:pw-chroma@chroma:8000", SLACK_BOT_TOKEN="xoxb-1-2-secretbot",
                         SLACK_SIGNING_SECRET="signing-secret-value", REGWATCH_SLACK_ADMINS="U1,U2")  # fmt: skip
    res = regwatch(["config", "--json"], env, tmp_path)
    assert res.returncode == 0, res.stderr
    for secret in ("hunter2", "pw-chroma", "secretbot", "signing-secret-value"):
        assert secret not in res.stdout
    cfg = json.loads(res.stdout)
    s = cfg["settings"]
    assert set(s) == settings_env_names()
    assert s["REGWATCH_STATE_URL"] == "postgresql+psycopg://regwatch:***@db:5432/regwatch"
    assert s["REGWATCH_CHROMA_URL"] == "http://admin:***@chroma:8000"
    assert s["SLACK_BOT_TOKEN"] == "***" and s["SLACK_APP_TOKEN"] is None and s["REGWATCH_SLACK_ADMINS"] == ["U1", "U2"]
    assert "SLACK_BOT_TOKEN" in cfg["set"] and "REGWATCH_TOP_K" not in cfg["set"]
    assert cfg["effective"]["state_store"].startswith("postgresql+psycopg://regwatch:***@")
    text = regwatch(["config"], env, tmp_path)
    assert "REGWATCH_TOP_K=5    # default" in text.stdout and "hunter2" not in text.stdout


@pytest.mark.parametrize(("var", "value"), [("REGWATCH_TOP_K", "abc"), ("REGWATCH_RESPECT_ROBOTS", "maybe"),
                                            ("REGWATCH_EMBEDDING_BACKEND", "gpu")])  # fmt: skip
def test_a_wrong_value_fails_at_start_naming_the_variable(tmp_path: Path, var: str, value: str) -> None:
    res = regwatch(["status"], subprocess_env(tmp_path / "data", **{var: value}), tmp_path)
    assert res.returncode == 2 and var in res.stderr and "Traceback" not in res.stderr


def test_errors_about_slack_settings_name_slacks_variables() -> None:
    from bot.ops import env_name

    assert env_name("slack_bot_token") == "SLACK_BOT_TOKEN"
    assert env_name("SLACK_APP_TOKEN") == "SLACK_APP_TOKEN"  # the alias pydantic matched
    assert env_name("slack_signing_secret") == "SLACK_SIGNING_SECRET"
    assert env_name("top_k") == "REGWATCH_TOP_K" and env_name("slack_admins") == "REGWATCH_SLACK_ADMINS"


def test_log_json_switches_logs_to_json_lines(tmp_path: Path) -> None:
    res = regwatch(["-v", "migrate"], subprocess_env(tmp_path / "data", REGWATCH_LOG_JSON="true"), tmp_path)
    assert res.returncode == 0, res.stderr
    lines = [json.loads(line) for line in res.stderr.splitlines() if line.strip()]
    assert lines and all({"time", "level", "logger", "message"} <= set(r) for r in lines)
    assert any(r["logger"].startswith("alembic") and "0001" in r["message"] for r in lines)
    plain = regwatch(["-v", "migrate"], subprocess_env(tmp_path / "data2"), tmp_path)
    assert plain.stderr and not plain.stderr.lstrip().startswith("{")


# --- migrations of SQLite stores -------------------------------------------------------------------------


def test_sqlite_migrations_create_exactly_the_declared_schema(tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    import indexer.fetch.cache  # noqa: F401
    import indexer.fetch.health  # noqa: F401
    from indexer.db import init_schema, make_engine
    from indexer.schema import metadata

    engine = make_engine(f"sqlite:///{tmp_path / 'state.sqlite'}")
    init_schema(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    engine.dispose()
    assert diff == [], f"indexer/schema.py differs from the migrations: add a revision (python -m indexer.migrations revision --autogenerate -m ...): {diff}"


def test_a_store_made_before_migrations_is_adopted_not_failed(tmp_path: Path) -> None:
    from sqlalchemy import text

    import indexer.fetch.cache  # noqa: F401
    import indexer.fetch.health  # noqa: F401
    from indexer.db import head_revision, make_engine
    from indexer.schema import metadata, runs

    data = tmp_path / "data"
    engine = make_engine(f"sqlite:///{data / 'state.sqlite'}")
    metadata.create_all(engine, tables=[t for t in metadata.sorted_tables if t.name != "fetch_cache"])  # an old store
    with engine.begin() as conn:
        conn.execute(runs.insert().values(kind="index", started_at=__import__("datetime").datetime(2026, 1, 1), state="done"))
    engine.dispose()
    res = regwatch(["migrate"], subprocess_env(data), tmp_path)
    assert res.returncode == 0 and "was unversioned" in res.stdout, res.stdout + res.stderr
    status = regwatch(["status", "--json"], subprocess_env(data), tmp_path)
    assert status.returncode == 0 and json.loads(status.stdout)["last_runs"][0]["state"] == "done"
    engine = make_engine(f"sqlite:///{data / 'state.sqlite'}")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head_revision()
        assert conn.execute(text("SELECT count(*) FROM fetch_cache")).scalar() == 0  # the missing table was added
    engine.dispose()


def test_processes_starting_at_once_on_one_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    code = f"from indexer.db import init_schema, make_engine; init_schema(make_engine({url!r}))"
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    errs = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errs


# --- /healthz and /metrics -------------------------------------------------------------------------------


def test_healthz_is_503_naming_what_failed_and_metrics_count_from_the_store(tmp_path: Path) -> None:
    import threading

    from slack_peer import SlackPeer, add_change, add_doc, bot_settings

    from bot.health import Ops
    from bot.slack.app import create_app
    from bot.slack.server import make_http_server
    from indexer.db import init_schema, make_engine, utcnow
    from indexer.schema import answers, outbox
    from tests.chroma_server import free_port

    with SlackPeer() as peer:
        settings = bot_settings(tmp_path / "data", peer, chroma_url=f"http://127.0.0.1:{free_port()}",  # nothing there
                                metrics_token="metrics-token-for-tests")
        settings.ensure_dirs()
        engine = make_engine(settings.resolved_state_url)
        init_schema(engine)
        add_doc(engine, "d1")
        change = add_change(engine, "d1", "new_draft")
        now = utcnow()
        with engine.begin() as conn:
            conn.execute(answers.insert(), [
                {"answer_id": "a1", "question": "q", "answer": {"abstained": True}, "created_at": now},
                {"answer_id": "a2", "question": "q", "answer": {"abstained": False}, "created_at": now},
            ])  # fmt: skip
            conn.execute(outbox.insert().values(change_id=change, destination="C1", state="sent", created_at=now, sent_at=now))
        server = make_http_server(create_app(settings, engine=engine), "127.0.0.1", 0, ops=Ops(settings, engine),
                                  settings=settings)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        try:
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(f"{base}/healthz", timeout=10)
            body = json.loads(err.value.read())
            assert err.value.code == 503 and body["ok"] is False
            assert body["checks"]["state_store"]["ok"] is True and body["checks"]["chroma"]["ok"] is False
            with pytest.raises(urllib.error.HTTPError) as err:  # the metrics need the bearer token
                urllib.request.urlopen(f"{base}/metrics", timeout=10)
            assert err.value.code == 401
            req = urllib.request.Request(f"{base}/metrics", headers={"Authorization": "Bearer metrics-token-for-tests"})
            with urllib.request.urlopen(req, timeout=10) as resp:
                metrics = resp.read().decode()
        finally:
            server.shutdown()
            server.server_close()
            engine.dispose()
    for line in ("regwatch_questions_answered_total 2.0", "regwatch_abstentions_total 1.0", "regwatch_alerts_sent_total 1.0",
                 "regwatch_alerts_failed_total 0.0", "regwatch_alert_delivery_latency_seconds_count 1.0",
                 "regwatch_changes_detected_total 1.0", "regwatch_state_store_up 1.0"):  # fmt: skip
        assert line in metrics, line
    assert 'regwatch_alert_delivery_latency_seconds_bucket{le="1"} 1.0' in metrics


# --- backup and restore ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_backup_then_restore_into_an_empty_dir_gives_the_same_index(shared_index, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from bot.backup import read_manifest

    src, dst, archive = shared_index.data_dir, tmp_path / "restored", tmp_path / "backup.tar.gz"
    res = regwatch(["backup", str(archive)], subprocess_env(src), tmp_path)
    assert res.returncode == 0, res.stderr
    manifest = read_manifest(archive)
    paths = {f["path"] for f in manifest["files"]}
    assert {"state/state.sqlite", "lexical.sqlite", "chroma/records.jsonl"} <= paths
    assert manifest["chroma"]["count"] == manifest["counts"]["passages"] > 0
    res = regwatch(["restore", str(archive)], subprocess_env(dst), tmp_path)
    assert res.returncode == 0, res.stderr
    before, after = (json.loads(regwatch(["status", "--json"], subprocess_env(d), tmp_path).stdout) for d in (src, dst))
    assert after["counts"] == before["counts"] and after["documents"] == before["documents"]
    question = "PIPL Article 38"
    a, b = (json.loads(regwatch(["ask", question, "--json"], subprocess_env(d), tmp_path).stdout) for d in (src, dst))
    assert not b["abstained"] and [c["passage_id"] for c in b["citations"]] == [c["passage_id"] for c in a["citations"]]
    again = regwatch(["restore", str(archive)], subprocess_env(dst), tmp_path)
    assert again.returncode == 2 and "already holds" in again.stderr
    forced = regwatch(["restore", str(archive), "--force"], subprocess_env(dst), tmp_path)
    assert forced.returncode == 0, forced.stderr


def test_restore_refuses_what_is_not_a_backup(tmp_path: Path) -> None:
    bogus = tmp_path / "x.tar.gz"
    bogus.write_bytes(b"not a tarball")
    res = regwatch(["restore", str(bogus)], subprocess_env(tmp_path / "data"), tmp_path)
    assert res.returncode == 2 and "not a regwatch backup" in res.stderr
