"""Hostile files: checked for type and size before reading, bombs refused before the parser expands them, each
rejection one line of the run report while the rest of the batch goes on, and a killed run's row marked failed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from indexer.errors import ParseError
from indexer.parse import parse_bytes, parse_file
from tests.conftest import REPO, make_settings, subprocess_env
from tests.hostile_files import docx_bomb, docx_many_parts, fifo, pdf_pages, sparse_file, yaml_alias_bomb

GOOD = "---\ntitle: Good\n---\n\n# 第一条\n\n本办法自发布之日起施行。\n"


def _problems(folder: Path, **kw: bool) -> dict[str, str | None]:
    from indexer.parse import iter_candidates

    return {c.path.name: c.problem for c in iter_candidates([folder], **kw)}


def test_fifos_devices_loops_and_escaping_symlinks_are_reported_not_read(tmp_path: Path) -> None:
    docs, outside = tmp_path / "docs", tmp_path / "outside"
    docs.mkdir()
    outside.mkdir()
    (docs / "good.md").write_text(GOOD, encoding="utf-8")
    (outside / "secret.md").write_text("# secret\n", encoding="utf-8")
    fifo(docs / "pipe.md")
    (docs / "zero.md").symlink_to("/dev/zero")
    (docs / "loop-a.md").symlink_to(docs / "loop-b.md")
    (docs / "loop-b.md").symlink_to(docs / "loop-a.md")
    (docs / "escape.md").symlink_to(outside / "secret.md")
    (docs / "inside.md").symlink_to(docs / "good.md")  # the same file again: listed once
    (docs / "sub").symlink_to(outside, target_is_directory=True)
    done: list[dict[str, str | None]] = []
    t = threading.Thread(target=lambda: done.append(_problems(docs)), daemon=True)
    t.start()
    t.join(20)  # a FIFO opened for reading blocks until a writer comes: it must never be opened
    assert done, "listing the folder hung"
    got = done[0]
    assert got["good.md"] is None and "inside.md" not in got
    assert "FIFO" in (got["pipe.md"] or "") and "out of the indexed folder (to /dev/zero)" in (got["zero.md"] or "")
    assert "symlink loop" in (got["loop-a.md"] or "") and "symlink loop" in (got["loop-b.md"] or "")
    assert "leading out of the indexed folder" in (got["escape.md"] or "")
    assert "symlinked folder leading out" in (got["sub"] or "")
    followed = _problems(docs, follow_symlinks=True)
    assert followed["escape.md"] is None and "secret.md" not in followed  # the folder's copy, once
    assert "FIFO" in (followed["pipe.md"] or "") and "a device" in (followed["zero.md"] or "")


def test_a_document_is_read_only_when_it_is_a_regular_file_within_the_size_limit(tmp_path: Path) -> None:
    from indexer.parse import read_document  # what an index run reads a file with, before anything else

    big = sparse_file(tmp_path / "big.txt", 600 * 1024 * 1024)
    settings = make_settings(tmp_path / "data")
    with pytest.raises(ParseError, match=r"too large \(600\.0 MB; the limit is 50 MB\)"):
        read_document(big, settings=settings)
    for special in (Path("/dev/zero"), fifo(tmp_path / "pipe.md")):
        with pytest.raises(ParseError, match="not a regular file"):
            read_document(special, settings=settings)  # a FIFO without a writer: refused at once, not waited on
    (tmp_path / "ok.md").write_text(GOOD, encoding="utf-8")
    assert read_document(tmp_path / "ok.md", settings=settings) == GOOD.encode()


@pytest.mark.slow
def test_an_index_run_never_reads_a_600_mb_file(tmp_path: Path) -> None:
    """The run's own read (for the unchanged-bytes check) came before any size check: 600 MB read to refuse it.
    Memory, not time: a child process reports its own peak RSS (the run without the file peaks near 160 MB)."""
    docs = tmp_path / "docs"
    docs.mkdir()
    sparse_file(docs / "big.txt", 600 * 1024 * 1024)
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so it would report pytest's own peak.
    code = ("import json, sys; from pathlib import Path; from indexer.pipeline import Indexer; "
            "from indexer.settings import Settings; idx = Indexer(Settings(_env_file=None)); "
            "r = idx.index_paths([Path(sys.argv[1])]); idx.close(); "
            "print(json.dumps({'errors': [e.error for e in r.errors], "
            "'peak_mb': int(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM'))) / 1024}))")
    r = subprocess.run([sys.executable, "-c", code, str(docs)], cwd=REPO, env=subprocess_env(tmp_path / "data"),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert len(got["errors"]) == 1 and "too large (600.0 MB" in got["errors"][0]
    assert got["peak_mb"] < 450, got  # reading the file alone would be 600 MB


def test_a_docx_zip_bomb_is_refused_before_python_docx_opens_it(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", docx_max_unpacked_mb=8)
    with pytest.raises(ParseError, match=r"refused: the DOCX unpacks to 2\d MB \(the limit is 8 MB\)"):
        parse_bytes(docx_bomb(20), name="bomb.docx", settings=settings)
    with pytest.raises(ParseError, match="refused: the DOCX has 6.. parts"):
        parse_bytes(docx_many_parts(600), name="parts.docx", settings=make_settings(tmp_path / "data", docx_max_parts=500))
    ok = parse_bytes(docx_bomb(1), name="small.docx", settings=settings)  # under the caps: read as usual
    assert "本办法自发布之日起施行" in ok.text


def test_yaml_aliases_and_oversized_front_matter_are_refused(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    # depth 6: 9**6 strings expanded, survivable by the old code; the 9-deep original expands to gigabytes.
    with pytest.raises(ParseError, match="front matter uses YAML aliases"):
        parse_bytes(yaml_alias_bomb(6).encode(), name="bomb.md", settings=settings)
    long = "---\ntitle: Long\nnotes: " + "x" * 70_000 + "\n---\n\n# 第一条\n\n正文。\n"
    with pytest.raises(ParseError, match="front matter of 70,0.. bytes"):
        parse_bytes(long.encode(), name="long.md", settings=settings)
    side = tmp_path / "a.md"
    side.write_text("# 第一条\n\n正文。\n", encoding="utf-8")
    (tmp_path / "a.md.meta.yaml").write_text("x: &x [1, 2]\ny: *x\n", encoding="utf-8")
    with pytest.raises(ParseError, match="sidecar metadata uses YAML aliases"):
        parse_file(side, settings=settings)


def test_pdf_page_cap(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match=r"refused: 30 pages \(the limit is 20\)"):
        parse_bytes(pdf_pages(30), name="many.pdf", settings=make_settings(tmp_path / "data", pdf_max_pages=20))


@pytest.mark.slow
def test_a_hostile_folder_is_one_line_per_file_and_a_killed_run_is_marked_failed(tmp_path: Path) -> None:
    """`regwatch index` over real HTTP-free hostile input, in a child process with a time limit (a FIFO once hung
    the run for ever, holding the index lock)."""
    from indexer.db import make_engine
    from indexer.ledger import Ledger

    docs, data = tmp_path / "docs", tmp_path / "data"
    docs.mkdir()
    (docs / "good.md").write_text(GOOD, encoding="utf-8")
    fifo(docs / "pipe.md")
    (docs / "zero.md").symlink_to("/dev/zero")
    (docs / "loop-a.md").symlink_to(docs / "loop-b.md")
    (docs / "loop-b.md").symlink_to(docs / "loop-a.md")
    (docs / "os.txt").symlink_to("/etc/os-release")
    sparse_file(docs / "big.txt", 600 * 1024 * 1024)
    (docs / "bomb.docx").write_bytes(docx_bomb(20))
    (docs / "laughs.md").write_text(yaml_alias_bomb(6), encoding="utf-8")
    (docs / "long.md").write_text("# 第一条\n\n" + "本办法自发布之日起施行，适用于全部数据处理活动。\n" * 4000, encoding="utf-8")
    data.mkdir()
    killed = Ledger(make_engine(f"sqlite:///{data / 'state.sqlite'}"))
    from indexer.db import init_schema

    init_schema(killed.engine)
    killed_id = killed.start_run("index")  # a run that never finished: its process was killed
    env = subprocess_env(data, REGWATCH_DOCX_MAX_UNPACKED_MB="8", REGWATCH_MAX_PASSAGES_PER_DOC="20")
    r = subprocess.run([sys.executable, "-m", "bot.cli", "index", str(docs), "--json"], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 1, r.stderr[-2000:]
    report = json.loads(r.stdout)
    errors = {Path(e["source_path"]).name: e["error"] for e in report["errors"]}
    assert report["added"] == 1
    assert set(errors) == {"pipe.md", "zero.md", "loop-a.md", "loop-b.md", "os.txt", "big.txt", "bomb.docx",
                           "laughs.md", "long.md"}
    assert all("\n" not in e for e in errors.values())
    assert "FIFO" in errors["pipe.md"] and "/dev/zero" in errors["zero.md"] and "loop" in errors["loop-a.md"]
    assert "out of the indexed folder" in errors["os.txt"] and "too large" in errors["big.txt"]
    assert "unpacks to" in errors["bomb.docx"] and "aliases" in errors["laughs.md"]
    assert "passages (the limit is 20)" in errors["long.md"]
    runs = {r["run_id"]: r for r in killed.last_runs(5)}
    assert runs[killed_id]["state"] == "failed" and "interrupted" in runs[killed_id]["report"]["error"]
    assert os.stat(data).st_mode & 0o777 == 0o700
    assert os.stat(data / "state.sqlite").st_mode & 0o777 == 0o600
