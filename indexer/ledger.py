"""The ledger: documents, versions, live passages, runs and changes in the state store (SQLite or PostgreSQL).

Writes that must agree (a version's passages, its document row and its change record) happen in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.engine import Engine

from .db import utcnow
from .models import DocMeta, Passage
from .schema import changes, documents, passages, runs, versions


class Ledger:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- runs ----------------------------------------------------------------------------------------------
    def start_run(self, kind: str) -> int:
        with self.engine.begin() as c:
            res = c.execute(insert(runs).values(kind=kind, started_at=utcnow(), state="running"))
            return int(res.inserted_primary_key[0])  # type: ignore[index]

    def fail_interrupted_runs(self, kind: str) -> list[int]:
        """Mark runs of `kind` still 'running' as failed (call under that kind's run lock: they were killed)."""
        with self.engine.begin() as c:
            ids = [int(r) for r in c.execute(select(runs.c.run_id).where(runs.c.kind == kind, runs.c.state == "running")).scalars()]
            if ids:
                c.execute(update(runs).where(runs.c.run_id.in_(ids)).values(
                    finished_at=utcnow(), state="failed",
                    report={"error": "interrupted: the process stopped before the run finished (marked by the next run)"}))
        return ids

    def finish_run(self, run_id: int, state: str, report: dict[str, Any]) -> None:
        with self.engine.begin() as c:
            c.execute(update(runs).where(runs.c.run_id == run_id).values(finished_at=utcnow(), state=state, report=report))

    def last_runs(self, n: int = 5) -> list[dict[str, Any]]:
        with self.engine.connect() as c:
            rows = c.execute(select(runs).order_by(runs.c.run_id.desc()).limit(n)).mappings().all()
        return [dict(r) for r in rows]

    # --- documents -----------------------------------------------------------------------------------------
    def get_doc(self, doc_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as c:
            row = c.execute(select(documents).where(documents.c.doc_id == doc_id)).mappings().first()
        return dict(row) if row else None

    def docs(self, *, include_removed: bool = False) -> list[dict[str, Any]]:
        q = select(documents).order_by(documents.c.doc_id)
        if not include_removed:
            q = q.where(documents.c.removed.is_(False))
        with self.engine.connect() as c:
            return [dict(r) for r in c.execute(q).mappings().all()]

    def current_raw_hashes(self) -> dict[str, str]:
        """doc_id -> raw-bytes hash of its current version, for live documents with no pending version: one query,
        without the versions' text (a no-change re-run reads nothing else)."""
        q = (select(documents.c.doc_id, versions.c.raw_hash)
             .join(versions, and_(versions.c.doc_id == documents.c.doc_id,
                                  versions.c.version == documents.c.current_version))
             .where(and_(documents.c.pending_version.is_(None), documents.c.removed.is_(False))))
        with self.engine.connect() as c:
            return {doc_id: raw for doc_id, raw in c.execute(q)}

    def version(self, doc_id: str, version: int) -> dict[str, Any] | None:
        with self.engine.connect() as c:
            row = (
                c.execute(select(versions).where(and_(versions.c.doc_id == doc_id, versions.c.version == version)))
                .mappings()
                .first()
            )
        return dict(row) if row else None

    def versions_of(self, doc_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as c:
            rows = c.execute(
                select(versions.c.version, versions.c.content_hash, versions.c.created_at, versions.c.passage_count)
                .where(versions.c.doc_id == doc_id)
                .order_by(versions.c.version)
            ).mappings()
            return [dict(r) for r in rows]

    def begin_version(
        self, *, doc_id: str, origin: str, source_path: str, source_name: str | None, meta: DocMeta,
        raw_hash: str, content_hash: str, text: str, passage_count: int, run_id: int,
    ) -> int:
        """Record a new version as pending (or reuse the pending one a killed run left with the same content)."""
        now = utcnow()
        with self.engine.begin() as c:
            doc = c.execute(select(documents).where(documents.c.doc_id == doc_id)).mappings().first()
            if doc is None:
                c.execute(
                    insert(documents).values(
                        doc_id=doc_id, origin=origin, source_path=source_path, source_name=source_name,
                        title=meta.title, doc_type=meta.doc_type, status=meta.status, language=meta.language,
                        meta=meta.to_dict(), removed=False, first_seen=now, updated_at=now,
                    )
                )
            pending = doc["pending_version"] if doc else None
            if pending is not None:
                row = c.execute(
                    select(versions.c.content_hash).where(and_(versions.c.doc_id == doc_id, versions.c.version == pending))
                ).first()
                if row and row[0] == content_hash:
                    return int(pending)
            v = int(c.execute(select(func.coalesce(func.max(versions.c.version), 0)).where(versions.c.doc_id == doc_id)).scalar_one()) + 1
            c.execute(
                insert(versions).values(
                    doc_id=doc_id, version=v, raw_hash=raw_hash, content_hash=content_hash, meta=meta.to_dict(),
                    text=text, passage_count=passage_count, created_at=now, run_id=run_id,
                )
            )
            c.execute(update(documents).where(documents.c.doc_id == doc_id).values(pending_version=v))
            return v

    def commit_version(
        self, *, doc_id: str, version: int, origin: str, source_path: str, meta: DocMeta,
        new_passages: list[Passage], change: dict[str, Any] | None,
    ) -> None:
        """Make `version` live: its passages replace the old ones, and the change is recorded, in one transaction."""
        now = utcnow()
        with self.engine.begin() as c:
            c.execute(delete(passages).where(passages.c.doc_id == doc_id))
            if new_passages:
                c.execute(insert(passages), [_passage_row(p, version) for p in new_passages])
            c.execute(
                update(documents)
                .where(documents.c.doc_id == doc_id)
                .values(
                    current_version=version, pending_version=None, origin=origin, source_path=source_path,
                    title=meta.title, doc_type=meta.doc_type, status=meta.status, language=meta.language,
                    meta=meta.to_dict(), removed=False, updated_at=now,
                )
            )
            if change:
                c.execute(insert(changes).values(detected_at=now, **change))

    def update_meta(self, doc_id: str, *, meta: DocMeta, source_path: str, origin: str, change: dict[str, Any] | None) -> None:
        with self.engine.begin() as c:
            c.execute(
                update(documents)
                .where(documents.c.doc_id == doc_id)
                .values(
                    title=meta.title, doc_type=meta.doc_type, status=meta.status, language=meta.language,
                    meta=meta.to_dict(), source_path=source_path, origin=origin, removed=False, updated_at=utcnow(),
                )
            )
            if change:
                c.execute(insert(changes).values(detected_at=utcnow(), **change))

    def mark_removed(self, doc_id: str, change: dict[str, Any] | None) -> None:
        with self.engine.begin() as c:
            c.execute(delete(passages).where(passages.c.doc_id == doc_id))
            c.execute(update(documents).where(documents.c.doc_id == doc_id).values(removed=True, updated_at=utcnow()))
            if change:
                c.execute(insert(changes).values(detected_at=utcnow(), **change))

    # --- passages ------------------------------------------------------------------------------------------
    def live_passage_ids(self) -> set[str]:
        with self.engine.connect() as c:
            return {r[0] for r in c.execute(select(passages.c.passage_id))}

    def passages_of(self, doc_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as c:
            rows = c.execute(select(passages).where(passages.c.doc_id == doc_id).order_by(passages.c.ordinal)).mappings()
            return [dict(r) for r in rows]

    def passages_by_id(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        ids = list(ids)
        out: dict[str, dict[str, Any]] = {}
        with self.engine.connect() as c:
            for i in range(0, len(ids), 500):
                for r in c.execute(select(passages).where(passages.c.passage_id.in_(ids[i : i + 500]))).mappings():
                    out[r["passage_id"]] = dict(r)
        return out

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as c:
            return {
                "documents": int(c.execute(select(func.count()).select_from(documents).where(documents.c.removed.is_(False))).scalar_one()),
                "removed": int(c.execute(select(func.count()).select_from(documents).where(documents.c.removed.is_(True))).scalar_one()),
                "versions": int(c.execute(select(func.count()).select_from(versions)).scalar_one()),
                "passages": int(c.execute(select(func.count()).select_from(passages)).scalar_one()),
                "changes": int(c.execute(select(func.count()).select_from(changes)).scalar_one()),
            }

    def changes_since(self, since: Any = None, kinds: list[str] | None = None) -> list[dict[str, Any]]:
        q = select(changes).order_by(changes.c.change_id)
        if since is not None:
            q = q.where(changes.c.detected_at >= since)
        if kinds:
            q = q.where(changes.c.kind.in_(kinds))
        with self.engine.connect() as c:
            return [dict(r) for r in c.execute(q).mappings()]


def _passage_row(p: Passage, version: int) -> dict[str, Any]:
    return {
        "passage_id": p.id, "doc_id": p.doc_id, "version": version, "ordinal": p.ordinal, "section": p.section,
        "section_number": p.section_number, "section_kind": p.section_kind, "chapter_path": p.chapter_path,
        "part": p.part, "parts": p.parts, "occurrence": p.occurrence, "text": p.text, "text_hash": p.text_hash,
    }


def row_to_passage(r: dict[str, Any]) -> Passage:
    return Passage(
        doc_id=r["doc_id"], ordinal=r["ordinal"], section=r["section"], section_number=r["section_number"],
        section_kind=r["section_kind"], chapter_path=list(r["chapter_path"] or []), text=r["text"],
        part=r["part"], parts=r["parts"], occurrence=r.get("occurrence") or 0,
    )
