"""A run killed with SIGKILL at any point leaves the stores consistent, and the next run completes the work."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from indexer.pipeline import Indexer
from tests.conftest import REPO, assert_consistent, make_settings

pytestmark = pytest.mark.slow

# The child patches one step of the pipeline to SIGKILL itself on its Nth call: a real kill -9, at a chosen point.
CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from indexer.settings import Settings
    import indexer.pipeline as pl, indexer.ledger as lg, indexer.vectorstore as vs, indexer.lexical as lx
    target, nth, folder = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    owner = {"begin_version": lg.Ledger, "commit_version": lg.Ledger, "add": vs.VectorStore,
             "delete": vs.VectorStore, "replace_document": lx.LexicalIndex}[target]
    orig = getattr(owner, target)
    calls = {"n": 0}
    def boom(self, *a, **kw):
        out = orig(self, *a, **kw)  # the step completes, then the process dies before the next one
        calls["n"] += 1
        if calls["n"] == nth:
            os.kill(os.getpid(), signal.SIGKILL)
        return out
    setattr(owner, target, boom)
    idx = pl.Indexer(Settings(_env_file=None, data_dir=Path(os.environ["REGWATCH_DATA_DIR"])))
    idx.index_paths([folder])
    print("finished without being killed")
    """
)


def _corpus(d: Path, n: int = 12, amended: bool = False) -> Path:
    d.mkdir(exist_ok=True)
    for i in range(n):
        extra = "\nArticle 4  Amended: records are kept for five years.\n" if amended and i % 3 == 0 else ""
        art3 = "" if amended and i % 3 == 1 else f"Article 3  Transfers of kind {i} require a security assessment.\n"
        (d / f"doc{i:02d}.md").write_text(
            f"---\ntitle: Rules number {i}\ndoc_type: regulation\nstatus: in_force\n---\n\n"
            f"Article 1  Rule {i} protects personal information of kind {i}.\n\n"
            f"Article 2  Processors of kind {i} shall obtain consent.\n\n"
            f"{art3}{extra}",
            encoding="utf-8",
        )
    return d


def _kill_at(target: str, nth: int, folder: Path, data: Path) -> None:
    env = {**os.environ, "REGWATCH_DATA_DIR": str(data), "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", CHILD, target, str(nth), str(folder)], env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == -signal.SIGKILL, proc.stdout + proc.stderr


def _check_complete(data: Path, folder: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(data)
    idx = Indexer(settings, embedder=embedder)
    report = idx.index_paths([folder])
    assert report.failed == 0
    assert_consistent(idx)
    docs = idx.ledger.docs()
    assert len(docs) == len(list(folder.glob("*.md")))
    assert all(d["pending_version"] is None and d["current_version"] for d in docs)
    for d in docs:  # every live passage holds the text of the file as it is now
        texts = "\n".join(p["text"] for p in idx.ledger.passages_of(d["doc_id"]))
        assert texts.split("Article 1")[1][:20] in (folder / f"{d['doc_id']}.md").read_text()
    again = idx.index_paths([folder])
    assert (again.embedded, again.added, again.changed) == (0, 0, 0)
    idx.close()


@pytest.mark.parametrize(
    ("target", "nth"),
    [("begin_version", 3), ("add", 1), ("commit_version", 5), ("replace_document", 7)],
)
def test_killed_first_run_is_completed_by_the_next(tmp_path: Path, target: str, nth: int, embedder) -> None:  # type: ignore[no-untyped-def]
    folder = _corpus(tmp_path / "corpus")
    _kill_at(target, nth, folder, tmp_path / "data")
    _check_complete(tmp_path / "data", folder, embedder)


@pytest.mark.parametrize(("target", "nth"), [("add", 1), ("delete", 2), ("commit_version", 2)])
def test_killed_update_run_leaves_old_or_new_version_never_a_mix(tmp_path: Path, target: str, nth: int, embedder) -> None:  # type: ignore[no-untyped-def]
    folder = _corpus(tmp_path / "corpus")
    idx = Indexer(make_settings(tmp_path / "data"), embedder=embedder)
    idx.index_paths([folder])
    idx.close()
    _corpus(folder, amended=True)
    for f in folder.glob("*.md"):  # change an article's text too, so stale vectors must be replaced
        f.write_text(f.read_text().replace("shall obtain consent", "shall obtain separate consent"), encoding="utf-8")
    _kill_at(target, nth, folder, tmp_path / "data")
    _check_complete(tmp_path / "data", folder, embedder)
    idx = Indexer(make_settings(tmp_path / "data"), embedder=embedder)
    assert all("separate consent" in "".join(p["text"] for p in idx.ledger.passages_of(d["doc_id"]))
               for d in idx.ledger.docs())
    idx.close()


def test_cli_killed_mid_run_then_resumed(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """The real `regwatch index` process, killed once the ledger shows work in flight."""
    folder = _corpus(tmp_path / "corpus", n=40)
    data = tmp_path / "data"
    env = {**os.environ, "REGWATCH_DATA_DIR": str(data)}
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "index", str(folder)], env=env, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = data / "state.sqlite"
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if db.exists():
                try:
                    with sqlite3.connect(db, timeout=1) as c:
                        if c.execute("SELECT count(*) FROM versions").fetchone()[0] >= 1:
                            break
                except sqlite3.Error:
                    pass
            time.sleep(0.05)
        assert proc.poll() is None, "the run ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT state FROM runs ORDER BY run_id DESC LIMIT 1").fetchone()[0] == "running"
    _check_complete(data, folder, embedder)
