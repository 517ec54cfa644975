"""What is indexed: a summary of the ledger and the stores, for `regwatch status`."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .settings import Settings


def index_status(settings: Settings) -> dict[str, Any]:
    from .db import get_engine
    from .ledger import Ledger
    from .urls import mask_url

    ledger = Ledger(get_engine(settings))
    docs = ledger.docs()
    counts = ledger.counts()
    return {
        "data_dir": str(settings.data_dir),
        "chroma": mask_url(settings.chroma_url) if settings.chroma_url else str(settings.chroma_dir),
        "state_store": mask_url(settings.resolved_state_url),
        "embedding_model": _model_id(settings),
        "counts": counts,
        "by_doc_type": dict(Counter(d["doc_type"] for d in docs)),
        "by_status": dict(Counter(d["status"] for d in docs)),
        "by_language": dict(Counter(d["language"] for d in docs)),
        "pending": [d["doc_id"] for d in docs if d["pending_version"] is not None],
        "documents": [
            {"doc_id": d["doc_id"], "title": d["title"], "doc_type": d["doc_type"], "status": d["status"],
             "language": d["language"], "version": d["current_version"], "source_path": d["source_path"]}
            for d in docs
        ],
        "last_runs": [
            {"run_id": r["run_id"], "kind": r["kind"], "state": r["state"], "started_at": r["started_at"],
             "finished_at": r["finished_at"]}
            for r in ledger.last_runs(5)
        ],
    }


def _model_id(settings: Settings) -> str:
    from .embed import model_identity

    try:
        return model_identity(settings)
    except Exception as e:  # noqa: BLE001 - status reports a bad setting instead of failing on it
        return f"(invalid: {e})"
