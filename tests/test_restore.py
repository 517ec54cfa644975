"""`regwatch restore` cannot lose data: a bad archive (missing state file, truncated, traversal members, a broken
manifest, a wrong checksum, too big, links) is one line, exit 2, and the target's files are exactly as they were;
a good one replaces the target, and the archive itself is owner-only."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

from bot.backup import backup, read_manifest, restore
from indexer.errors import RegwatchError
from tests.conftest import make_settings, subprocess_env


def _populate(data_dir: Path, doc_id: str, vectors: int) -> Any:
    """A small but real store: ledger rows, an embedded Chroma collection and a lexical index (no model needed)."""
    from slack_peer import add_doc

    from indexer.db import forget_engine, get_engine
    from indexer.lexical import LexicalIndex
    from indexer.vectorstore import make_chroma_client

    settings = make_settings(data_dir)
    settings.ensure_dirs()
    add_doc(get_engine(settings), doc_id)
    client = make_chroma_client(settings)
    col = client.get_or_create_collection(settings.chroma_collection, embedding_function=None)
    col.add(ids=[f"{doc_id}::p{i}" for i in range(vectors)], embeddings=[[float(i), 1.0, 0.5] for i in range(vectors)],
            documents=[f"text {i}" for i in range(vectors)], metadatas=[{"doc_id": doc_id}] * vectors)
    client.close()
    lex = LexicalIndex(settings.lexical_path)
    lex.replace_document(doc_id, 1, [(f"{doc_id}::p0", "第一条 本办法自发布之日起施行")])
    lex.close()
    forget_engine(settings.resolved_state_url)
    return settings


def _snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.endswith(".lock")}


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("src")
    settings = _populate(src / "data", "from-archive", 3)
    path = src / "backup.tar.gz"
    backup(settings, path)
    return path


@pytest.fixture
def target(tmp_path: Path) -> Any:
    settings = _populate(tmp_path / "target", "already-here", 2)
    return settings, _snapshot(settings.data_dir)


def _rewrite(archive: Path, out: Path, *, drop: str | None = None, manifest: Any = None,
             extra: list[tuple[tarfile.TarInfo, bytes | None]] = ()) -> Path:  # type: ignore[assignment]
    """A copy of `archive` with a member left out, another manifest, or extra (hostile) members."""
    with tarfile.open(archive, "r:gz") as src, tarfile.open(out, "w:gz") as dst:
        for m in src.getmembers():
            if m.name == drop:
                continue
            data = src.extractfile(m).read() if m.isfile() else None  # type: ignore[union-attr]
            if m.name == "manifest.json" and manifest is not None:
                data = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
                m.size = len(data)
            dst.addfile(m, io.BytesIO(data) if data is not None else None)
        for info, data in extra:
            dst.addfile(info, io.BytesIO(data) if data is not None else None)
    return out


def _refused(settings: Any, before: dict[str, str], path: Path, match: str) -> None:
    with pytest.raises(RegwatchError, match=match) as err:
        restore(settings, path, force=True)
    assert "\n" not in err.value.message
    assert _snapshot(settings.data_dir) == before  # exactly as it was
    assert not [p for p in settings.data_dir.parent.iterdir() if p.name.startswith(".regwatch-restore-")]


def test_an_archive_without_its_state_file_changes_nothing(archive: Path, target: Any, tmp_path: Path) -> None:
    settings, before = target
    bad = _rewrite(archive, tmp_path / "no-state.tar.gz", drop="state/state.sqlite")
    _refused(settings, before, bad, "missing, e.g. state/state.sqlite")


def test_a_truncated_archive_changes_nothing(archive: Path, target: Any, tmp_path: Path) -> None:
    settings, before = target
    data = archive.read_bytes()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(data[: len(data) * 2 // 3])
    _refused(settings, before, cut, "truncated or damaged|missing")


def test_traversal_links_and_unlisted_members_are_never_written(archive: Path, target: Any, tmp_path: Path) -> None:
    settings, before = target
    evil = tarfile.TarInfo("../../evil.txt")
    evil.size = 4
    bad = _rewrite(archive, tmp_path / "evil.tar.gz", extra=[(evil, b"evil")])
    _refused(settings, before, bad, "would land outside")
    assert not list(tmp_path.parent.parent.glob("evil.txt")) and not (tmp_path / "evil.txt").exists()
    manifest = read_manifest(archive)
    link = tarfile.TarInfo("lexical.sqlite")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    links = _rewrite(archive, tmp_path / "link.tar.gz", drop="lexical.sqlite", extra=[(link, None)])
    _refused(settings, before, links, "a link or device")
    m = {**manifest, "files": [*manifest["files"], {"path": "/etc/cron.d/x", "bytes": 1, "sha256": "0" * 64}]}
    _refused(settings, before, _rewrite(archive, tmp_path / "abs.tar.gz", manifest=m), "would land outside")


@pytest.mark.parametrize("change,match", [
    (lambda m: b"{not json", "not a regwatch backup"),
    (lambda m: [1, 2], "not a JSON object"),
    (lambda m: {**m, "files": "all of them"}, "broken manifest"),
    (lambda m: {**m, "chroma": None}, "broken manifest"),
    (lambda m: {**m, "state": {"format": "sqlite", "file": "elsewhere.sqlite"}}, "broken manifest"),
    (lambda m: {**m, "format": 99}, "backup format 99"),
    (lambda m: {**m, "files": [{**f, "sha256": "0" * 64} if f["path"] == "lexical.sqlite" else f for f in m["files"]]},
     "checksum mismatch"),
    (lambda m: {**m, "files": [{**f, "bytes": f["bytes"] + 1} if f["path"] == "lexical.sqlite" else f for f in m["files"]]},
     "the manifest says"),
    (lambda m: {**m, "chroma": {**m["chroma"], "count": 7}}, "holds 3 vectors, its manifest says 7"),
])
def test_broken_manifests_change_nothing(archive: Path, target: Any, tmp_path: Path, change: Any, match: str) -> None:
    settings, before = target
    bad = _rewrite(archive, tmp_path / "bad.tar.gz", manifest=change(read_manifest(archive)))
    _refused(settings, before, bad, match)


def test_an_archive_over_the_size_limit_is_refused(archive: Path, target: Any) -> None:
    settings, before = target
    _refused(settings.model_copy(update={"restore_max_gb": 1e-7}), before, archive, "unpacks to more than")


def test_a_good_archive_replaces_the_target_and_backups_are_600(archive: Path, target: Any) -> None:
    from indexer.db import get_engine
    from indexer.ledger import Ledger
    from indexer.vectorstore import make_chroma_client

    settings, before = target
    assert os.stat(archive).st_mode & 0o777 == 0o600
    restore(settings, archive, force=True)
    assert _snapshot(settings.data_dir) != before
    assert [d["doc_id"] for d in Ledger(get_engine(settings)).docs()] == ["from-archive"]
    client = make_chroma_client(settings)
    assert sorted(client.get_collection(settings.chroma_collection).get()["ids"]) == [f"from-archive::p{i}" for i in range(3)]
    assert [c.name for c in client.list_collections()] == [settings.chroma_collection]  # no leftovers
    client.close()
    assert not [p for p in settings.data_dir.iterdir() if p.name.startswith(".regwatch-restore-")]


def test_the_cli_says_it_in_one_line_with_exit_2(archive: Path, target: Any, tmp_path: Path) -> None:
    settings, before = target
    bad = _rewrite(archive, tmp_path / "no-state.tar.gz", drop="state/state.sqlite")
    r = subprocess.run([sys.executable, "-m", "bot.cli", "restore", str(bad), "--force"], cwd=tmp_path,
                       env=subprocess_env(settings.data_dir), capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.splitlines()[0].startswith("Error: ") and "state/state.sqlite" in r.stderr.splitlines()[0]
    assert _snapshot(settings.data_dir) == before
