"""An index run: files or parsed documents -> versions, passages, embeddings, lexical index, change records.

Crash safety without cross-store transactions: a new version is first recorded as *pending* in the ledger; then its
vectors are upserted (idempotent, stable ids) and stale ones deleted; then one ledger transaction makes it live and
records the change; the lexical index is updated last. Every run starts with `reconcile`, which repairs whatever a
killed run left half done (orphan or missing vectors, a lexical index behind the ledger), and a document left
pending is simply processed again. Never prints: it returns a report, and progress goes to a callback.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ParseError, RegwatchError
from .gloss import Glosser, embedding_glosser, make_glosser
from .glossary import question_language
from .ledger import Ledger, row_to_passage
from .models import DocMeta, ParsedDocument, Passage, sha256
from .structure import split_passages

if TYPE_CHECKING:
    from .settings import Settings

log = logging.getLogger(__name__)
Progress = Callable[[int, int, str], None]
# Passages embedded per model call, across documents: one large call lets sentence-transformers sort all texts by
# length (less padding), which is most of the gap to a bare `model.encode`. Bounded so memory stays flat.
EMBED_GROUP = 4096


@dataclass
class DocOutcome:
    source_path: str
    doc_id: str | None
    outcome: str  # added | changed | unchanged | failed | removed
    passages: int = 0
    error: str | None = None
    hint: str | None = None


@dataclass
class RunReport:
    run_id: int
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    failed: int = 0
    removed: int = 0
    passages: int = 0  # live passages in the index after the run
    embedded: int = 0  # passages actually sent to the model
    seconds: float = 0.0
    repaired: dict[str, int] = field(default_factory=dict)
    documents: list[DocOutcome] = field(default_factory=list)

    @property
    def errors(self) -> list[DocOutcome]:
        return [d for d in self.documents if d.outcome == "failed"]

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["errors"] = [asdict(e) for e in self.errors]
        return d


@dataclass
class _Job:
    parsed: ParsedDocument
    origin: str
    doc_id: str
    content_hash: str
    passages: list[Passage]
    version: int = 0
    existing: dict[str, Any] | None = None
    source_name: str | None = None


def embed_text(p: Passage, meta: DocMeta, glosser: Glosser | None = None) -> str:
    """What the model sees: the passage with its instrument and chapter, so 'Article 23' knows it is the PIPL's.

    Chinese text goes through the English gloss when there is a glosser (see indexer/gloss.py).
    """
    head = " / ".join(x for x in [meta.short_title or meta.title, *p.chapter_path] if x)
    text = f"{head}\n{p.text}"
    if glosser is not None and question_language(text) == "zh":
        return glosser.gloss(text)
    return text


def sync_lexical(ledger: Ledger, lexical: Any, docs: list[dict[str, Any]] | None = None) -> int:
    """Bring the lexical index in line with the ledger's live versions; returns the documents rewritten.

    Needs no model: after a killed run, or a tokenizer change that emptied the index, this refills it from the
    passage texts the ledger keeps.
    """
    docs = docs if docs is not None else ledger.docs(include_removed=True)
    lex = lexical.doc_versions()
    n = 0
    for d in docs:
        want = None if d["removed"] or d["current_version"] is None else d["current_version"]
        if lex.get(d["doc_id"]) != want:
            if want is None:
                lexical.remove_document(d["doc_id"])
            else:
                rows = ledger.passages_of(d["doc_id"])
                lexical.replace_document(d["doc_id"], want, [(r["passage_id"], r["text"]) for r in rows])
            n += 1
    for doc_id in set(lex) - {d["doc_id"] for d in docs}:
        lexical.remove_document(doc_id)
        n += 1
    return n


class Indexer:
    """Owns the stores for one run or one long-lived process (the watcher). The model loads only when needed."""

    def __init__(self, settings: Settings, *, engine: Any = None, progress: Progress | None = None,
                 embedder: Any = None) -> None:
        from .db import get_engine
        from .embed import model_identity
        from .lexical import LexicalIndex, glossed_index
        from .vectorstore import VectorStore

        settings.ensure_dirs()
        self.settings = settings
        self.ledger = Ledger(engine or get_engine(settings))
        self.model_id = model_identity(settings)
        self.vectors = VectorStore(settings, model_id=self.model_id)
        self.lexical = LexicalIndex(settings.lexical_path)
        # The same passages again, Chinese ones as their wide English gloss (None when Chinese is not glossed).
        self.glossed = glossed_index(settings, self.glosser)
        self.lexicals = [self.lexical] + ([self.glossed] if self.glossed is not None else [])
        self.progress = progress
        self._embedder: Any = embedder  # a loaded model may be shared (the watcher, tests); else loaded on demand

    @property
    def embedder(self) -> Any:
        if self._embedder is None:
            from .embed import make_embedder

            self._embedder = make_embedder(self.settings, purpose="index")
        return self._embedder

    @cached_property
    def glosser(self) -> Glosser | None:
        return make_glosser(self.settings)

    @cached_property
    def embed_glosser(self) -> Glosser | None:
        return embedding_glosser(self.settings, self.glosser)

    def close(self) -> None:
        for lex in self.lexicals:
            lex.close()

    # --- entry points --------------------------------------------------------------------------------------
    def index_paths(self, paths: Iterable[Path], *, source_name: str | None = None, remove_missing: bool = True,
                    follow_symlinks: bool = False) -> RunReport:
        """Index files and folders. FIFOs, devices, symlink loops and (unless `follow_symlinks`) symlinks leading out
        of a folder are each one failed entry of the report; the rest of the batch goes on."""
        from .parse import iter_candidates

        paths = list(paths)
        for p in paths:
            if not p.exists():
                raise RegwatchError(f"{p}: no such file or folder", hint="check the path given to `regwatch index`")
        files = list(iter_candidates(paths, follow_symlinks=follow_symlinks))
        roots = [p.resolve() for p in paths if p.is_dir()]
        return self._run(files, roots, source_name, remove_missing)

    def index_parsed(self, docs: list[ParsedDocument], *, source_name: str) -> RunReport:
        """For fetched documents (the watcher): origin is the URL in `source_path`."""
        return self._run(list(docs), [], source_name, False)

    # --- the run -------------------------------------------------------------------------------------------
    def _run(self, items: list[Any], roots: list[Path], source_name: str | None, remove_missing: bool) -> RunReport:
        from .db import run_lock

        # One run at a time per state store, across processes and hosts: a second run waits, then finds nothing new.
        with run_lock(self.ledger.engine, "index"):
            return self._locked_run(items, roots, source_name, remove_missing)

    def _locked_run(self, items: list[Any], roots: list[Path], source_name: str | None, remove_missing: bool) -> RunReport:
        t0 = time.perf_counter()
        # Under the run lock, a run still 'running' is one that was killed: say so, and repair deeply.
        interrupted = self.ledger.fail_interrupted_runs("index")
        run_id = self.ledger.start_run("index")
        report = RunReport(run_id=run_id)
        state = "failed"
        try:
            docs = self.ledger.docs(include_removed=True)  # reconcile repairs the stores, never this table
            report.repaired = self.reconcile(docs=docs, deep=True if interrupted else None)
            known = {d["origin"]: d for d in docs}
            current_raw = self.ledger.current_raw_hashes()
            seen: set[str] = set()
            jobs: list[_Job] = []
            for i, item in enumerate(items):
                outcome, job = self._prepare(item, known, current_raw, source_name, run_id)
                seen.add(outcome.source_path if isinstance(item, ParsedDocument) else _candidate(item).origin)
                if job is None:
                    report.documents.append(outcome)
                else:
                    jobs.append(job)
                    if sum(len(j.passages) for j in jobs) >= EMBED_GROUP:
                        self._flush(jobs, report, run_id)
                        jobs = []
                if self.progress:
                    self.progress(i + 1, len(items), outcome.source_path)
            self._flush(jobs, report, run_id)
            if remove_missing and roots:
                self._remove_missing(known, seen, roots, report, run_id)
            state = "done"
        finally:
            for d in report.documents:
                setattr(report, d.outcome, getattr(report, d.outcome) + 1)
            report.passages = self.ledger.counts()["passages"]
            report.seconds = round(time.perf_counter() - t0, 3)
            self.ledger.finish_run(run_id, state, {k: v for k, v in report.to_json().items() if k != "documents"})
        return report

    def _prepare(self, item: Any, known: dict[str, dict[str, Any]], current_raw: dict[str, str],
                 source_name: str | None, run_id: int) -> tuple[DocOutcome, _Job | None]:
        from .metadata import slugify_doc_id
        from .normalize import content_hash
        from .parse import parse_file

        if isinstance(item, ParsedDocument):
            parsed, origin = item, item.source_path
            existing = known.get(origin)
        else:
            from .parse import read_document

            cand = _candidate(item)
            path = cand.path
            if cand.problem is not None:
                return DocOutcome(str(path), None, "failed", error=cand.problem, hint=cand.hint), None
            origin = cand.origin
            existing = known.get(origin)
            try:
                raw = read_document(path, settings=self.settings)  # type and size checked before reading
            except ParseError as e:
                return DocOutcome(str(path), None, "failed", error=e.reason, hint=e.hint), None
            if existing and current_raw.get(existing["doc_id"]) == sha256(raw):
                # The cheap path for a no-change re-run: same bytes, nothing to parse or embed.
                return DocOutcome(str(path), existing["doc_id"], "unchanged", passages=0), None
            try:
                parsed = parse_file(path, settings=self.settings, display_path=str(path), data=raw)
            except ParseError as e:
                return DocOutcome(str(path), None, "failed", error=e.reason, hint=e.hint), None
        doc_id = existing["doc_id"] if existing else self._new_doc_id(parsed.meta.doc_id or slugify_doc_id(_stem(parsed.source_path)), origin)
        chash = content_hash(parsed.text)
        if existing and not existing["removed"] and existing["current_version"] is not None and existing["pending_version"] is None:
            cur = self.ledger.version(doc_id, existing["current_version"])
            if cur and cur["content_hash"] == chash:
                self._update_meta_only(existing, parsed, origin, cur, run_id)
                return DocOutcome(parsed.source_path, doc_id, "unchanged", passages=0), None
        cap = self.settings.max_passages_per_doc
        step = max(1, self.settings.max_passage_chars - self.settings.passage_overlap_chars)
        if len(parsed.text) // step > cap:  # surely over: refused before splitting it
            return _too_many(parsed.source_path, doc_id, f"about {len(parsed.text) // step:,}", cap), None
        passages = split_passages(doc_id, parsed.text, max_chars=self.settings.max_passage_chars,
                                  overlap=self.settings.passage_overlap_chars)
        if len(passages) > cap:
            return _too_many(parsed.source_path, doc_id, f"{len(passages):,}", cap), None
        if not passages:
            return DocOutcome(parsed.source_path, doc_id, "failed", error="no text to index after parsing"), None
        job = _Job(parsed, origin, doc_id, chash, passages, existing=existing, source_name=source_name)
        job.version = self.ledger.begin_version(
            doc_id=doc_id, origin=origin, source_path=parsed.source_path, source_name=source_name, meta=parsed.meta,
            raw_hash=parsed.raw_hash, content_hash=chash, text=parsed.text, passage_count=len(passages), run_id=run_id,
        )
        return DocOutcome(parsed.source_path, doc_id, "pending", passages=len(passages)), job

    def _new_doc_id(self, base: str, origin: str) -> str:
        other = self.ledger.get_doc(base)
        if other is None or other["origin"] == origin:
            return base
        return f"{base}-{sha256(origin)[:6]}"  # two files with one name in different folders

    def _update_meta_only(self, existing: dict[str, Any], parsed: ParsedDocument, origin: str,
                          cur: dict[str, Any], run_id: int) -> None:
        from .changes import describe_change

        old_meta = DocMeta.from_dict(existing["meta"])
        new_meta = parsed.meta
        if old_meta.to_dict() == new_meta.to_dict() and existing["source_path"] == parsed.source_path:
            return
        change = None
        if old_meta.status != new_meta.status or old_meta.to_dict() != new_meta.to_dict():
            live = [row_to_passage(r) for r in self.ledger.passages_of(existing["doc_id"])]
            info = describe_change(old_meta, live, new_meta, live)
            if info is not None:
                change = self._change_row(existing["doc_id"], info, parsed, existing["current_version"],
                                          existing["current_version"], run_id, cur["content_hash"], cur["content_hash"])
        self.ledger.update_meta(existing["doc_id"], meta=new_meta, source_path=parsed.source_path, origin=origin, change=change)

    def _flush(self, jobs: list[_Job], report: RunReport, run_id: int) -> None:
        if not jobs:
            return
        ids: list[str] = []
        texts: list[str] = []
        metas: list[dict[str, Any]] = []
        for j in jobs:
            for p in j.passages:
                ids.append(p.id)
                texts.append(embed_text(p, j.parsed.meta, self.embed_glosser))
                metas.append(_chroma_meta(p, j.version, j.parsed.meta, texts[-1]))
        stored = self.vectors.get_meta(ids)
        todo = [i for i, pid in enumerate(ids) if stored.get(pid, {}).get("embed_hash") != metas[i]["embed_hash"]]
        todo_set = set(todo)
        reuse = [i for i, pid in enumerate(ids) if i not in todo_set and stored[pid] != metas[i]]
        if todo:
            self._embed_into_store([ids[i] for i in todo], [texts[i] for i in todo], [metas[i] for i in todo])
            report.embedded += len(todo)
        if reuse:
            self.vectors.update_metadata([ids[i] for i in reuse], [metas[i] for i in reuse])
        for j in jobs:
            self._commit(j, report, run_id)

    def _embed_into_store(self, ids: list[str], texts: list[str], metas: list[dict[str, Any]]) -> None:
        """Embed and upsert in slices, so the progress callback moves while the model works (the e5 engine embeds
        some ten passages a second per core: a large corpus is minutes of it)."""
        step = max(1, self.settings.embedding_batch_size) * 4
        for i in range(0, len(ids), step):
            self.vectors.add(self.embedder, ids[i : i + step], texts[i : i + step], metas[i : i + step])
            if self.progress:
                self.progress(min(i + step, len(ids)), len(ids), "embedding passages")

    def _commit(self, j: _Job, report: RunReport, run_id: int) -> None:
        from .changes import describe_change

        new_ids = {p.id for p in j.passages}
        stale = self.vectors.ids_for_doc(j.doc_id) - new_ids
        if stale:
            self.vectors.delete(sorted(stale))
        old_meta = old_passages = None
        old_version = old_hash = None
        if j.existing and j.existing["current_version"] is not None:
            old_version = j.existing["current_version"]
            old_meta = DocMeta.from_dict(j.existing["meta"])
            old_passages = [row_to_passage(r) for r in self.ledger.passages_of(j.doc_id)]
            ov = self.ledger.version(j.doc_id, old_version)
            old_hash = ov["content_hash"] if ov else None
            if j.existing["removed"]:
                old_meta = old_passages = None  # a file that comes back is reported as new again
        info = describe_change(old_meta, old_passages, j.parsed.meta, j.passages)
        change = self._change_row(j.doc_id, info, j.parsed, old_version, j.version, run_id, old_hash, j.content_hash) if info else None
        self.ledger.commit_version(doc_id=j.doc_id, version=j.version, origin=j.origin, source_path=j.parsed.source_path,
                                   meta=j.parsed.meta, new_passages=j.passages, change=change)
        for lex in self.lexicals:
            lex.replace_document(j.doc_id, j.version, [(p.id, p.text) for p in j.passages])
        outcome = "added" if old_meta is None else "changed"
        report.documents.append(DocOutcome(j.parsed.source_path, j.doc_id, outcome, passages=len(j.passages)))

    def _change_row(self, doc_id: str, info: Any, parsed: ParsedDocument, from_v: int | None, to_v: int, run_id: int,
                    old_hash: str | None, new_hash: str) -> dict[str, Any]:
        m = parsed.meta
        return {
            "doc_id": doc_id, "kind": info.kind, "from_version": from_v, "to_version": to_v, "title": m.title,
            "doc_type": m.doc_type, "status": m.status, "url": m.url, "summary": info.summary,
            "changed_sections": info.changed_sections, "run_id": run_id,
            "evidence": {"source_path": parsed.source_path, "url": m.url, "raw_hash": parsed.raw_hash,
                         "old_content_hash": old_hash, "content_hash": new_hash, "diff": info.diff},
        }

    def _remove_missing(self, known: dict[str, dict[str, Any]], seen: set[str], roots: list[Path],
                        report: RunReport, run_id: int) -> None:
        for origin, d in known.items():
            if d["removed"] or origin in seen or origin.startswith(("http://", "https://")):
                continue
            if not any(origin.startswith(str(r) + "/") for r in roots) or Path(origin).exists():
                continue
            change = {"doc_id": d["doc_id"], "kind": "removed", "from_version": d["current_version"],
                      "to_version": None, "title": d["title"], "doc_type": d["doc_type"], "status": d["status"],
                      "url": d["meta"].get("url"), "summary": f"Removed: {d['source_path']} is no longer in the corpus.",
                      "changed_sections": {"added": [], "removed": [], "changed": []}, "run_id": run_id,
                      "evidence": {"source_path": d["source_path"]}}
            self.vectors.delete(sorted(self.vectors.ids_for_doc(d["doc_id"])))
            self.ledger.mark_removed(d["doc_id"], change)
            for lex in self.lexicals:
                lex.remove_document(d["doc_id"])
            report.documents.append(DocOutcome(d["source_path"], d["doc_id"], "removed"))

    # --- repair --------------------------------------------------------------------------------------------
    def reconcile(self, *, deep: bool | None = None, docs: list[dict[str, Any]] | None = None) -> dict[str, int]:
        """Make Chroma and the lexical index agree with the ledger's live passages. Cheap when nothing is wrong.

        `docs`: the ledger's documents (removed ones included) when the caller has just read them.
        """
        fixed = {"orphan_vectors": 0, "missing_vectors": 0, "stale_vectors": 0, "reglossed_vectors": 0, "lexical_docs": 0}
        docs = docs if docs is not None else self.ledger.docs(include_removed=True)
        if deep is None:
            deep = any(d["pending_version"] is not None for d in docs) or any(
                r["state"] == "running" for r in self.ledger.last_runs(3)[1:]
            )
        live = self.ledger.live_passage_ids()
        in_store = self.vectors.all_ids()
        orphans = in_store - live
        if orphans:
            self.vectors.delete(sorted(orphans))
            fixed["orphan_vectors"] = len(orphans)
        redo = live - in_store
        mark, path = self._gloss_mark(), self.settings.gloss_mark_path
        regloss = not path.is_file() or path.read_text(encoding="utf-8") != mark
        if deep or regloss:
            stored = self.vectors.get_meta(sorted(live & in_store))
            rows = self.ledger.passages_by_id(stored)
            if deep:
                stale = {pid for pid, m in stored.items() if m.get("text_hash") != rows[pid]["text_hash"]}
                fixed["stale_vectors"] = len(stale)
                redo |= stale
            if regloss:
                reglossed = self._reglossed(stored, rows, docs)
                fixed["reglossed_vectors"] = len(reglossed)
                redo |= reglossed
        if redo:
            fixed["missing_vectors"] = len(live - in_store)
            self._reembed(sorted(redo), docs)
        if regloss:
            # Written only once the vectors agree: a run killed while re-embedding checks them again next time.
            path.write_text(mark, encoding="utf-8")
        fixed["lexical_docs"] = sum(sync_lexical(self.ledger, lex, docs) for lex in self.lexicals)
        if any(fixed.values()):
            log.warning("repaired the stores (an interrupted run, a lexical index from another tokenizer, or a glossary "
                        "edit): %s", fixed)
        return fixed

    def _gloss_mark(self) -> str:
        gloss = self.embed_glosser.fingerprint if self.embed_glosser is not None else "off"
        return f"{gloss} {self.settings.chroma_url or 'embedded'} {self.settings.chroma_collection}"

    def _reglossed(self, stored: dict[str, dict[str, Any]], rows: dict[str, dict[str, Any]],
                   docs: list[dict[str, Any]]) -> set[str]:
        """Stored passages (their Chroma metadata and ledger rows) whose embedding text is no longer what the model
        should see.

        Chinese passages are embedded through the gloss, which follows the glossary and the sense tables: after an
        edit to either (or REGWATCH_GLOSS_CHINESE switched), an unchanged document's old vectors would no longer meet
        questions glossed the new way. Checked only when the gloss differs from the one last recorded.
        """
        metas = _doc_metas(docs)
        return {pid for pid, m in stored.items()
                if (r := rows.get(pid)) is not None and r["doc_id"] in metas
                and m.get("embed_hash") != sha256(embed_text(row_to_passage(r), metas[r["doc_id"]], self.embed_glosser))[:32]}

    def _reembed(self, ids: list[str], docs: list[dict[str, Any]]) -> None:
        rows = self.ledger.passages_by_id(ids)
        metas_by_doc = _doc_metas(docs)
        ids_, texts, metas = [], [], []
        for pid, r in rows.items():
            p = row_to_passage(r)
            meta = metas_by_doc[p.doc_id]
            ids_.append(pid)
            texts.append(embed_text(p, meta, self.embed_glosser))
            metas.append(_chroma_meta(p, r["version"], meta, texts[-1]))
        self._embed_into_store(ids_, texts, metas)

    def rebuild(self) -> None:
        """Drop the vectors and lexical index; the next reconcile re-embeds every live passage."""
        self.vectors.reset()
        for lex in self.lexicals:
            lex.clear()


def _candidate(item: Any) -> Any:
    """A Candidate (indexer.parse.files) for a path given as one or as a plain path."""
    from .parse.files import Candidate

    return item if isinstance(item, Candidate) else Candidate(Path(item))


def _too_many(source: str, doc_id: str, n: str, cap: int) -> DocOutcome:
    return DocOutcome(source, doc_id, "failed", error=f"refused: splits into {n} passages (the limit is {cap:,})",
                      hint="split the document, or raise REGWATCH_MAX_PASSAGES_PER_DOC if it really is this long")


def _doc_metas(docs: list[dict[str, Any]]) -> dict[str, DocMeta]:
    return {d["doc_id"]: DocMeta.from_dict(d["meta"]) for d in docs}


def _chroma_meta(p: Passage, version: int, meta: DocMeta, text: str) -> dict[str, Any]:
    # Chroma metadata cannot hold None or lists: -1 stands for "no number". Document-level facts (status, title)
    # are read from the ledger at query time, so a status change never needs a re-embed.
    return {
        "doc_id": p.doc_id, "version": version, "section": p.section,
        "section_number": p.section_number if p.section_number is not None else -1,
        "section_kind": p.section_kind, "language": meta.language, "text_hash": p.text_hash,
        "embed_hash": sha256(text)[:32],
    }


def _stem(source: str) -> str:
    name = source.rstrip("/").rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[0] if "." in name else name
