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

import functools
import hashlib
import json
import logging
import os
import shutil
import sqlite3
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, func, select, text
from sqlalchemy.engine import Engine

from indexer.errors import RegwatchError
from indexer.settings import Settings

log = logging.getLogger(__name__)
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
        partial.unlink(missing_ok=True)
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # 600: it holds questions and user ids
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
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


_NOT_BACKUP_HINT = "give the path of a .tar.gz made by `regwatch backup`; nothing was changed"
_DAMAGED_HINT = "the archive is damaged; nothing was changed"
_TAMPERED_HINT = "the archive was not made by `regwatch backup`, or was tampered with; nothing was changed"


def read_manifest(archive: Path) -> dict[str, Any]:
    """The archive's manifest.json, checked for shape (RegwatchError when it is not a regwatch backup)."""
    import zlib

    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = tar.next()  # written first, so a manifest is read without unpacking the rest
            while member is not None and member.name != "manifest.json":
                member = tar.next()
            f = tar.extractfile(member) if member is not None and member.isfile() and member.size < 1 << 24 else None
            if f is None:
                raise RegwatchError(f"{archive} is not a regwatch backup: no manifest.json", hint=_NOT_BACKUP_HINT)
            manifest = json.loads(f.read())
    except RegwatchError:
        raise
    except (tarfile.TarError, EOFError, OSError, zlib.error, UnicodeDecodeError, ValueError) as e:
        raise RegwatchError(f"{archive} is not a regwatch backup ({_one_line(e)})", hint=_NOT_BACKUP_HINT) from None
    _check_manifest(archive, manifest)
    return manifest


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    return f"{type(e).__name__}: {text}"[:200]


def _check_manifest(archive: Path, m: Any) -> None:
    """Every field restore reads, with its type; every path relative and inside the archive (no '..', no '/')."""
    def bad(what: str) -> RegwatchError:
        return RegwatchError(f"{archive}: broken manifest ({what})", hint=_NOT_BACKUP_HINT)

    if not isinstance(m, dict):
        raise bad("not a JSON object")
    if m.get("format") != FORMAT:
        raise RegwatchError(f"{archive} has backup format {m.get('format')!r}, this regwatch reads {FORMAT}",
                            hint="restore it with the regwatch version that wrote it; nothing was changed")
    files, state, chroma = m.get("files"), m.get("state"), m.get("chroma")
    if not isinstance(files, list) or not all(
        isinstance(f, dict) and isinstance(f.get("path"), str) and isinstance(f.get("bytes"), int) and f["bytes"] >= 0
        and isinstance(f.get("sha256"), str) and len(f["sha256"]) == 64 for f in files
    ):
        raise bad("'files' must list {path, bytes, sha256}")
    for f in files:
        _safe_name(archive, f["path"])
    if not isinstance(state, dict) or state.get("format") not in ("sqlite", "jsonl"):
        raise bad("'state' must give its format, sqlite or jsonl")
    listed = {f["path"] for f in files}
    if state["format"] == "sqlite" and (not isinstance(state.get("file"), str) or state["file"] not in listed):
        raise bad("the state store's file is not among the archive's files")
    if state["format"] == "jsonl" and not isinstance(state.get("rows"), dict):
        raise bad("'state.rows' must count the rows of each table")
    if not isinstance(chroma, dict) or not isinstance(chroma.get("count"), int):
        raise bad("'chroma' must give the number of vectors")
    if chroma["count"] and "chroma/records.jsonl" not in listed:
        raise bad("the vectors' file is not among the archive's files")
    if not isinstance(m.get("counts"), dict) or not isinstance(m.get("created_at"), str):
        raise bad("'counts' or 'created_at' is missing")


def _safe_name(archive: Path, name: str) -> str:
    p = Path(name)
    if not name or p.is_absolute() or ".." in p.parts or "\x00" in name or name.startswith("\\"):
        raise RegwatchError(f"{archive}: refused: the path {name!r} would land outside the restore folder",
                            hint=_TAMPERED_HINT)
    return name


def _too_big(archive: Path, max_bytes: int) -> RegwatchError:
    return RegwatchError(f"{archive}: refused: it unpacks to more than {max_bytes / 1024**3:g} GB",
                         hint="raise REGWATCH_RESTORE_MAX_GB if the store really is this big; nothing was changed")


def _unpack(archive: Path, manifest: dict[str, Any], stage: Path, max_bytes: int) -> None:
    """Extract exactly the manifest's files into `stage`: regular files only, confined, within the size limit, each
    size and checksum checked. Anything else is a RegwatchError, and `stage` is all that was written."""
    import zlib

    wanted = {f["path"]: f for f in manifest["files"]}
    if sum(f["bytes"] for f in wanted.values()) > max_bytes:
        raise _too_big(archive, max_bytes)
    stage.mkdir(parents=True, exist_ok=True)
    root = stage.resolve()
    done: set[str] = set()
    total = 0
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                _safe_name(archive, member.name)
                if member.name not in wanted or member.name in done:
                    continue  # the manifest itself, folders, anything unlisted: never written
                if not member.isfile():
                    raise RegwatchError(f"{archive}: refused: {member.name} is a link or device, not a file",
                                        hint=_TAMPERED_HINT)
                info = wanted[member.name]
                if member.size != info["bytes"]:
                    raise RegwatchError(f"{archive}: {member.name} has {member.size:,} bytes, the manifest says "
                                        f"{info['bytes']:,}", hint=_DAMAGED_HINT)
                total += member.size
                if total > max_bytes:
                    raise _too_big(archive, max_bytes)
                dest = (stage / member.name).resolve()
                if not dest.is_relative_to(root):
                    raise RegwatchError(f"{archive}: refused: {member.name!r} would land outside the restore folder",
                                        hint=_TAMPERED_HINT)
                dest.parent.mkdir(parents=True, exist_ok=True)
                src = tar.extractfile(member)
                assert src is not None
                h = hashlib.sha256()
                with open(os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
                    while chunk := src.read(1 << 20):
                        h.update(chunk)
                        out.write(chunk)
                if h.hexdigest() != info["sha256"]:
                    raise RegwatchError(f"{archive}: {member.name} is damaged (checksum mismatch)", hint=_DAMAGED_HINT)
                done.add(member.name)
    except RegwatchError:
        raise
    except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
        raise RegwatchError(f"{archive} is truncated or damaged ({_one_line(e)})",
                            hint="make the backup again, or use another copy; nothing was changed") from None
    missing = sorted(set(wanted) - done)
    if missing:
        raise RegwatchError(f"{archive}: {len(missing)} file(s) of its manifest are missing, e.g. {missing[0]}",
                            hint="the archive is truncated or damaged; nothing was changed")


def restore(settings: Settings, archive: Path, *, force: bool = False) -> dict[str, Any]:
    """Unpack `archive` into the configured data dir, state store and Chroma; refuses to overwrite unless `force`.

    Nothing of the target changes until the whole archive is verified (manifest shape, confined paths, sizes,
    checksums, a state store that passes SQLite's integrity check and migrates, the vector count): it is unpacked
    into a staging folder beside the data dir, the vectors go into a new collection, and only then is each part
    swapped in by rename, the previous one kept until all are in. Any failure is one RegwatchError, target unchanged.
    """
    if not archive.is_file():
        raise RegwatchError(f"{archive}: no such file", hint="give the path of a .tar.gz made by `regwatch backup`")
    manifest = read_manifest(archive)
    _check_target(settings, force)
    parent = settings.data_dir if settings.data_dir.is_dir() else settings.data_dir.parent
    parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".regwatch-restore-", dir=parent))  # same file system: renames are atomic
    try:
        _unpack(archive, manifest, stage / "new", int(settings.restore_max_gb * 1024**3))
        _swap_in(settings, stage, manifest)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return manifest


def _verify_sqlite(path: Path, what: str) -> None:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            ok = conn.execute("PRAGMA integrity_check").fetchone()
        finally:
            conn.close()
    except sqlite3.Error as e:
        raise RegwatchError(f"the archive's {what} is not a readable SQLite file ({_one_line(e)})",
                            hint=_DAMAGED_HINT) from None
    if not ok or ok[0] != "ok":
        raise RegwatchError(f"the archive's {what} fails SQLite's integrity check ({ok[0] if ok else '?'})",
                            hint=_DAMAGED_HINT)


def _swap_in(settings: Settings, stage: Path, manifest: dict[str, Any]) -> None:
    from indexer.db import forget_engine, get_engine, init_schema, make_engine

    new, old = stage / "new", stage / "old"
    old.mkdir()
    state = manifest["state"]
    # --- verify and prepare, touching nothing of the target -----------------------------------------------------
    local_state = state["format"] == "sqlite" and not settings.state_url
    if state["format"] == "sqlite":
        _verify_sqlite(new / state["file"], "state store")
    if local_state:
        engine = make_engine(f"sqlite:///{new / state['file']}")
        try:
            init_schema(engine)  # migrates an archive from an older regwatch, here and not in the live file
        except Exception as e:
            raise RegwatchError(f"the archive's state store cannot be migrated ({_one_line(e)})",
                                hint="the archive is damaged or from an unknown regwatch; nothing was changed") from None
        finally:
            engine.dispose()
    if (new / "lexical.sqlite").exists():
        _verify_sqlite(new / "lexical.sqlite", "lexical index")
    vectors = _import_chroma(settings, new / "chroma", manifest["chroma"], stage / "vectors")
    temp_collection = vectors if settings.chroma_url else None
    # --- swap: each step undone, newest first, if a later one fails ---------------------------------------------
    undo: list[Callable[[], Any]] = []
    try:
        if settings.chroma_url:
            _swap_chroma(settings, temp_collection, undo)
        settings.ensure_dirs()
        moves: list[tuple[Path | None, Path]] = []
        if not settings.chroma_url:  # the embedded store: its whole folder, built in the staging folder
            moves.append((Path(vectors) if vectors else None, settings.chroma_dir))
        if local_state:
            forget_engine(settings.resolved_state_url)  # the file is about to be replaced under it
            db = settings.data_dir / "state.sqlite"
            moves += [(new / state["file"], db), (None, db.with_name(db.name + "-wal")), (None, db.with_name(db.name + "-shm"))]
        if (new / "lexical.sqlite").exists():
            lex = settings.lexical_path
            moves += [(new / "lexical.sqlite", lex), (None, lex.with_name(lex.name + "-wal")),
                      (None, lex.with_name(lex.name + "-shm"))]
        for i, (src, dest) in enumerate(moves):
            if dest.exists():
                kept = old / f"{i}-{dest.name}"
                os.replace(dest, kept)
                undo.append(functools.partial(os.replace, kept, dest))
            if src is not None:
                os.replace(src, dest)
                undo.append(functools.partial(_remove, dest))
        if not local_state:
            _restore_state(settings, new, state)  # one transaction: all rows or none
    except Exception as e:
        for step in reversed(undo):
            try:
                step()
            except Exception:  # noqa: BLE001 - keep undoing the rest
                log.exception("restore: could not undo a step")
        if local_state:
            forget_engine(settings.resolved_state_url)
        _drop_collection(settings, temp_collection)
        if isinstance(e, RegwatchError):
            raise
        raise RegwatchError(f"restore failed and was undone ({_one_line(e)})",
                            hint="the target is as it was; check the state store and Chroma, then try again") from None
    _drop_collection(settings, _previous_name(settings))
    get_engine(settings)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()


def _restore_state(settings: Settings, stage: Path, state: dict[str, Any]) -> None:
    from indexer.db import get_engine, make_engine

    engine = get_engine(settings)
    if state["format"] == "sqlite":  # a SQLite archive into PostgreSQL: the way from one store to the other
        source = make_engine(f"sqlite:///{stage / state['file']}")
        try:
            _copy_rows(engine, lambda table: _engine_rows(source, table))
        finally:
            source.dispose()
    else:
        _copy_rows(engine, lambda table: _jsonl_rows(stage / "state" / f"{table.name}.jsonl"))


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
        try:
            if _has_collection(client, settings.chroma_collection) and client.get_collection(settings.chroma_collection).count():
                raise RegwatchError(f"the Chroma collection {settings.chroma_collection!r} already holds vectors", hint=hint)
        finally:
            if not settings.chroma_url:
                client.close()  # the embedded store's folder may be swapped for the archive's


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


def _temp_name(settings: Settings) -> str:
    return f"{settings.chroma_collection}__restoring"


def _previous_name(settings: Settings) -> str:
    return f"{settings.chroma_collection}__previous"


def _drop_collection(settings: Settings, name: str | None) -> None:
    if not name:
        return
    try:
        from indexer.vectorstore import make_chroma_client

        client = make_chroma_client(settings)
        if _has_collection(client, name):
            client.delete_collection(name)
    except Exception:  # noqa: BLE001 - a leftover collection is harmless; the next restore replaces it
        log.warning("restore: could not drop the collection %s", name)


def _import_chroma(settings: Settings, src: Path, info: dict[str, Any], staging: Path) -> str | None:
    """The archive's vectors, their count checked, where the live ones are not touched: for a Chroma server a new
    collection beside the live one (its name is returned), for the embedded store a new store folder under
    `staging` (its path is returned). None when the archive has no vectors."""
    from indexer.vectorstore import make_chroma_client

    if not info.get("count"):
        return None
    target = settings if settings.chroma_url else settings.model_copy(update={"data_dir": staging})
    client = make_chroma_client(target)
    name = _temp_name(settings) if settings.chroma_url else settings.chroma_collection
    if _has_collection(client, name):
        client.delete_collection(name)  # left by a restore that was killed
    col = client.create_collection(name, metadata=info.get("metadata") or None, embedding_function=None)
    try:
        batch: list[dict[str, Any]] = []
        for rec in _jsonl_rows(src / "records.jsonl"):
            batch.append(rec)
            if len(batch) >= CHROMA_BATCH:
                _add(col, batch)
                batch = []
        if batch:
            _add(col, batch)
        if col.count() != info["count"]:
            raise RegwatchError(f"the archive holds {col.count()} vectors, its manifest says {info['count']}",
                                hint=_DAMAGED_HINT)
    except Exception as e:
        client.delete_collection(name)
        if isinstance(e, RegwatchError):
            raise
        raise RegwatchError(f"the archive's vectors cannot be read ({_one_line(e)})", hint=_DAMAGED_HINT) from None
    finally:
        if not settings.chroma_url:
            client.close()  # the folder is about to be moved into place
    return name if settings.chroma_url else str(target.chroma_dir)


def _swap_chroma(settings: Settings, temp: str | None, undo: list[Callable[[], Any]]) -> None:
    """The live collection becomes `__previous` and the restored one takes the live name (Chroma renames with
    Collection.modify(name=...)); the previous one is dropped only once everything else is in."""
    from indexer.vectorstore import make_chroma_client

    client = make_chroma_client(settings)
    live, previous = settings.chroma_collection, _previous_name(settings)
    if _has_collection(client, previous):
        client.delete_collection(previous)
    if _has_collection(client, live):
        client.get_collection(live).modify(name=previous)
        undo.append(lambda: client.get_collection(previous).modify(name=live))
    if temp is not None:
        client.get_collection(temp).modify(name=live)
        undo.append(lambda: client.get_collection(live).modify(name=temp))


def _add(col: Any, batch: list[dict[str, Any]]) -> None:
    col.add(ids=[r["id"] for r in batch], embeddings=[r["embedding"] for r in batch],
            metadatas=[r["metadata"] for r in batch], documents=[r["document"] for r in batch])  # fmt: skip
