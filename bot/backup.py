"""`regwatch backup` / `restore`: everything regwatch keeps, in one tar.gz with a manifest of files and counts.

What goes in, and how it is read safely while a bot or watcher runs:
- the state store: SQLite through the sqlite3 backup API (a consistent copy under concurrent writers); any other
  store (PostgreSQL) as one JSON-lines file per table, read in one transaction;
- the vectors: the Chroma collection exported through its API (ids, embeddings, metadata, documents), from the
  embedded store or a Chroma server alike, so an archive restores into either;
- the lexical index (SQLite backup API) and the exported ONNX query encoder (plain files).
Index runs wait while a backup is taken (the store-wide "index" lock), so vectors and ledger agree.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import tarfile
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, func, select, text
from sqlalchemy.engine import Engine

from indexer.errors import RegwatchError
from indexer.settings import Settings

FORMAT = 1
CHROMA_BATCH = 1000
ROW_BATCH = 500


def _tables() -> list[Any]:
    import indexer.fetch.cache  # noqa: F401 - tables defined beside their code join the one MetaData
    import indexer.fetch.health  # noqa: F401
    from indexer.schema import metadata

    return list(metadata.sorted_tables)  # parents before children


def _sqlite_copy(src: Path, dest: Path) -> None:
    """A consistent copy of a live SQLite database (readers and writers may be at work)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    source, target = sqlite3.connect(f"file:{src}?mode=ro", uri=True, timeout=30), sqlite3.connect(dest)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _json_default(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.isoformat()
    raise TypeError(f"cannot serialise {type(v).__name__}")


# --- backup ------------------------------------------------------------------------------------------------


def backup(settings: Settings, dest: Path) -> dict[str, Any]:
    """Write the archive to `dest` and return its manifest."""
    from indexer.db import current_revision, get_engine, run_lock
    from indexer.ledger import Ledger

    engine = get_engine(settings)
    with tempfile.TemporaryDirectory(prefix="regwatch-backup-") as tmp, run_lock(engine, "index") as conn:
        stage = Path(tmp)
        manifest: dict[str, Any] = {
            "format": FORMAT, "created_at": datetime.now(UTC).isoformat(), "schema_revision": current_revision(conn),
            "state": _dump_state(engine, stage), "counts": Ledger(engine).counts(),
            "chroma": _export_chroma(settings, stage / "chroma"),
        }  # fmt: skip
        if settings.lexical_path.exists():
            _sqlite_copy(settings.lexical_path, stage / "lexical.sqlite")
        files = sorted(p for p in stage.rglob("*") if p.is_file())
        manifest["files"] = [{"path": p.relative_to(stage).as_posix(), "bytes": p.stat().st_size, "sha256": _sha256(p)}
                             for p in files]  # fmt: skip
        (stage / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(dest.name + ".partial")
        with tarfile.open(partial, "w:gz") as tar:
            tar.add(stage / "manifest.json", arcname="manifest.json")  # first, so it can be read without unpacking all
            for p in files:
                tar.add(p, arcname=p.relative_to(stage).as_posix())
        partial.replace(dest)  # never a truncated archive under the final name
    return manifest


def _dump_state(engine: Engine, stage: Path) -> dict[str, Any]:
    if engine.dialect.name == "sqlite" and engine.url.database:
        _sqlite_copy(Path(engine.url.database), stage / "state" / "state.sqlite")
        return {"dialect": "sqlite", "format": "sqlite", "file": "state/state.sqlite"}
    rows: dict[str, int] = {}
    (stage / "state").mkdir()
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":  # one snapshot for every table
            conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
        for table in _tables():
            with open(stage / "state" / f"{table.name}.jsonl", "w", encoding="utf-8") as f:
                n = 0
                for row in conn.execute(table.select()).mappings():
                    f.write(json.dumps(dict(row), default=_json_default, ensure_ascii=False) + "\n")
                    n += 1
            rows[table.name] = n
    return {"dialect": engine.dialect.name, "format": "jsonl", "rows": rows}


def _has_collection(client: Any, name: str) -> bool:
    """Whether the Chroma client holds collection `name` (list_collections yields names or Collection objects)."""
    return any((c if isinstance(c, str) else c.name) == name for c in client.list_collections())


def _export_chroma(settings: Settings, out: Path) -> dict[str, Any]:
    from indexer.vectorstore import make_chroma_client

    client = make_chroma_client(settings)
    info: dict[str, Any] = {"source": "server" if settings.chroma_url else "embedded", "collection": settings.chroma_collection}
    if not _has_collection(client, settings.chroma_collection):
        return {**info, "count": 0}
    col = client.get_collection(settings.chroma_collection)
    out.mkdir(parents=True)
    n = 0
    with open(out / "records.jsonl", "w", encoding="utf-8") as f:
        while True:
            got = col.get(include=["embeddings", "metadatas", "documents"], limit=CHROMA_BATCH, offset=n)
            if not got["ids"]:
                break
            for i, id_ in enumerate(got["ids"]):
                rec = {"id": id_, "embedding": [float(x) for x in got["embeddings"][i]],
                       "metadata": got["metadatas"][i], "document": got["documents"][i]}  # fmt: skip
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
            n += len(got["ids"])
    return {**info, "count": n, "metadata": dict(col.metadata or {})}


# --- restore -----------------------------------------------------------------------------------------------


def read_manifest(archive: Path) -> dict[str, Any]:
    with tarfile.open(archive, "r:gz") as tar:
        f = tar.extractfile("manifest.json")
        if f is None:
            raise RegwatchError(f"{archive} has no manifest.json", hint="is it an archive made by `regwatch backup`?")
        return json.loads(f.read())


def restore(settings: Settings, archive: Path, *, force: bool = False) -> dict[str, Any]:
    """Unpack `archive` into the configured data dir, state store and Chroma; refuses to overwrite unless `force`."""
    if not archive.is_file():
        raise RegwatchError(f"{archive}: no such file", hint="give the path of a .tar.gz made by `regwatch backup`")
    try:
        manifest = read_manifest(archive)
    except (tarfile.TarError, KeyError, json.JSONDecodeError) as e:
        raise RegwatchError(f"{archive} is not a regwatch backup: {e}") from e
    if manifest.get("format") != FORMAT:
        raise RegwatchError(f"{archive} has backup format {manifest.get('format')}, this regwatch reads {FORMAT}")
    with tempfile.TemporaryDirectory(prefix="regwatch-restore-") as tmp:
        stage = Path(tmp)
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(stage, filter="data")  # no absolute paths, links out of the folder or devices
        for f in manifest["files"]:
            if _sha256(stage / f["path"]) != f["sha256"]:
                raise RegwatchError(f"{archive}: {f['path']} is damaged (checksum mismatch)")
        settings.ensure_dirs()
        _check_target(settings, force)
        _restore_state(settings, stage, manifest["state"])
        if (stage / "lexical.sqlite").exists():
            _replace_sqlite(stage / "lexical.sqlite", settings.lexical_path)
        _import_chroma(settings, stage / "chroma", manifest["chroma"])
    return manifest


def _check_target(settings: Settings, force: bool) -> None:
    from indexer.db import get_engine
    from indexer.ledger import Ledger
    from indexer.vectorstore import make_chroma_client

    if force:
        return
    hint = "restore into an empty data dir and state store, or add --force to replace what is there"
    if (settings.state_url or (settings.data_dir / "state.sqlite").exists()) and any(Ledger(get_engine(settings)).counts().values()):
        raise RegwatchError("the target state store already holds documents", hint=hint)
    if settings.lexical_path.exists():
        raise RegwatchError(f"{settings.data_dir} already holds a lexical index", hint=hint)
    if settings.chroma_url or settings.chroma_dir.exists():
        client = make_chroma_client(settings)
        if _has_collection(client, settings.chroma_collection) and client.get_collection(settings.chroma_collection).count():
            raise RegwatchError(f"the Chroma collection {settings.chroma_collection!r} already holds vectors", hint=hint)


def _replace_sqlite(src: Path, dest: Path) -> None:
    for extra in (dest, dest.with_name(dest.name + "-wal"), dest.with_name(dest.name + "-shm")):
        extra.unlink(missing_ok=True)
    _sqlite_copy(src, dest)


def _restore_state(settings: Settings, stage: Path, state: dict[str, Any]) -> None:
    from indexer.db import forget_engine, get_engine, make_engine

    if state["format"] == "sqlite" and not settings.state_url:
        forget_engine(settings.resolved_state_url)  # the file is about to be replaced under it
        _replace_sqlite(stage / state["file"], settings.data_dir / "state.sqlite")
        get_engine(settings)  # migrates an archive from an older regwatch
        return
    engine = get_engine(settings)
    if state["format"] == "sqlite":  # a SQLite archive into PostgreSQL: the way from one store to the other
        source = make_engine(f"sqlite:///{stage / state['file']}")
        try:
            _copy_rows(engine, lambda table: _engine_rows(source, table))
        finally:
            source.dispose()
    else:
        _copy_rows(engine, lambda table: _jsonl_rows(stage / "state" / f"{table.name}.jsonl"))


def _engine_rows(engine: Engine, table: Any) -> Iterator[dict[str, Any]]:
    from sqlalchemy import inspect

    if not inspect(engine).has_table(table.name):
        return
    with engine.connect() as conn:
        for row in conn.execute(select(table)).mappings():
            yield dict(row)


def _jsonl_rows(path: Path) -> Iterator[dict[str, Any]]:
    if path.exists():
        with open(path, encoding="utf-8") as f:
            for line in f:
                yield json.loads(line)


def _copy_rows(engine: Engine, rows_of: Any) -> None:
    tables = _tables()
    with engine.begin() as conn:
        for table in reversed(tables):
            conn.execute(table.delete())
        for table in tables:
            dates = {c.name for c in table.columns if isinstance(c.type, DateTime)}
            batch: list[dict[str, Any]] = []
            for row in rows_of(table):
                batch.append({k: _as_date(v) if k in dates else v for k, v in row.items() if k in table.c})
                if len(batch) >= ROW_BATCH:
                    conn.execute(table.insert(), batch)
                    batch = []
            if batch:
                conn.execute(table.insert(), batch)
        if engine.dialect.name == "postgresql":
            _reset_sequences(conn, tables)


def _as_date(v: Any) -> Any:
    if isinstance(v, str):
        v = datetime.fromisoformat(v)
    return v.replace(tzinfo=UTC) if isinstance(v, datetime) and v.tzinfo is None else v


def _reset_sequences(conn: Any, tables: list[Any]) -> None:
    """Serial keys continue after the restored rows (else the next change would reuse change_id 1)."""
    for table in tables:
        pk = list(table.primary_key.columns)
        if len(pk) == 1 and pk[0].autoincrement is True:
            col = pk[0].name
            top = conn.execute(select(func.max(table.c[col]))).scalar()
            seq = f"pg_get_serial_sequence('{table.name}', '{col}')"
            conn.execute(text(f"SELECT setval({seq}, :v, :called)"), {"v": top or 1, "called": top is not None})


def _import_chroma(settings: Settings, src: Path, info: dict[str, Any]) -> None:
    from indexer.vectorstore import make_chroma_client

    client = make_chroma_client(settings)
    if _has_collection(client, settings.chroma_collection):
        client.delete_collection(settings.chroma_collection)  # _check_target refused unless forced or empty
    if not info.get("count"):
        return
    col = client.create_collection(settings.chroma_collection, metadata=info.get("metadata") or None, embedding_function=None)
    batch: list[dict[str, Any]] = []
    for rec in _jsonl_rows(src / "records.jsonl"):
        batch.append(rec)
        if len(batch) >= CHROMA_BATCH:
            _add(col, batch)
            batch = []
    if batch:
        _add(col, batch)


def _add(col: Any, batch: list[dict[str, Any]]) -> None:
    col.add(ids=[r["id"] for r in batch], embeddings=[r["embedding"] for r in batch],
            metadatas=[r["metadata"] for r in batch], documents=[r["document"] for r in batch])  # fmt: skip
