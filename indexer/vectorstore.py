"""Chroma behind one small interface: embedded (PersistentClient) by default, a server when REGWATCH_CHROMA_URL is set.

Writes go through LangChain's Chroma vector store (which embeds through our LangChain embeddings); queries use the
raw collection with a precomputed query vector, so the query path imports neither LangChain nor torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from .errors import StoreError

if TYPE_CHECKING:
    from .settings import Settings

MODEL_KEY = "regwatch_embedding_model"
BATCH = 2000  # ids per Chroma call: under its maximum batch size


def make_chroma_client(settings: Settings) -> Any:
    """The one factory for Chroma clients. Telemetry is off: these machines have no network to send it to."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    from .urls import mask_url

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=True)
    if settings.chroma_url:
        u = urlparse(settings.chroma_url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise StoreError(
                f"REGWATCH_CHROMA_URL={mask_url(settings.chroma_url)!r} is not an http(s) URL",
                hint="use e.g. http://127.0.0.1:8000",
            )
        try:
            client = chromadb.HttpClient(
                host=u.hostname,
                port=u.port or (443 if u.scheme == "https" else 8000),
                ssl=u.scheme == "https",
                settings=chroma_settings,
            )
            client.heartbeat()
        except Exception as e:  # noqa: BLE001 - any connection failure means the same thing to the user
            raise StoreError(
                f"cannot reach the Chroma server at {mask_url(settings.chroma_url)}: {e}",
                hint="start it with `chroma run --path DIR --port N`, or unset REGWATCH_CHROMA_URL to use the embedded store",
            ) from e
        return client
    settings.chroma_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_dir), settings=chroma_settings)


class VectorStore:
    """The passages' vectors. Ids are passage ids; metadata carries doc_id, version, section and the text hash."""

    def __init__(self, settings: Settings, *, model_id: str, client: Any = None) -> None:
        self.settings = settings
        self.model_id = model_id
        self.client = client or make_chroma_client(settings)
        self.collection = self._open()
        stored = (self.collection.metadata or {}).get(MODEL_KEY)
        if stored and stored != model_id:
            raise StoreError(
                f"the index was built with embedding model {stored!r} but {model_id!r} is configured",
                hint="run `regwatch index --rebuild` to re-embed everything, or set REGWATCH_EMBEDDING_MODEL back",
            )
        self._lc: Any = None
        self._apply_ef_search()

    @property
    def _metadata(self) -> dict[str, Any]:
        return {MODEL_KEY: self.model_id}

    @property
    def _configuration(self) -> dict[str, Any]:
        # Space and search breadth go in the configuration, never as legacy "hnsw:*" metadata beside it: Chroma 1.5
        # ignores that metadata once a configuration is given, and the collection silently became l2 (checked).
        return {"hnsw": {"space": "cosine", "ef_search": self.settings.hnsw_ef_search}}

    def _open(self) -> Any:
        return self.client.get_or_create_collection(
            name=self.settings.chroma_collection,
            metadata=self._metadata,
            configuration=self._configuration,  # type: ignore[arg-type]
            embedding_function=None,  # never Chroma's default: it would try to download a model
        )

    def _apply_ef_search(self) -> None:
        """Bring a collection made with another search breadth (Chroma's 100, before this setting) to the configured
        one. Chroma keeps an index it has loaded, so an embedded store searches with the new value from the next
        process on and a `chroma run` server after a restart (both measured: queries kept 100 until then);
        `regwatch index` opening the store is enough for the CLI."""
        hnsw = (self.collection.configuration_json or {}).get("hnsw") or {}  # none for a SPANN collection
        if hnsw.get("ef_search") not in (None, self.settings.hnsw_ef_search):
            self.collection.modify(configuration={"hnsw": {"ef_search": self.settings.hnsw_ef_search}})

    def langchain(self, embeddings: Any) -> Any:
        """LangChain's Chroma over the same collection, for writes that embed through LangChain."""
        if self._lc is None:
            from langchain_chroma import Chroma

            from .embed import as_langchain

            embeddings = as_langchain(embeddings)
            self._lc = Chroma(
                client=self.client,
                collection_name=self.settings.chroma_collection,
                embedding_function=embeddings,
                collection_metadata=self._metadata,
                collection_configuration=self._configuration,  # type: ignore[arg-type]
            )
        return self._lc

    def add(self, embeddings: Any, ids: list[str], texts: list[str], metadatas: list[dict[str, Any]]) -> None:
        """Embed and upsert (idempotent: the same ids overwrite)."""
        if not ids:
            return
        for i in range(0, len(ids), BATCH):
            self.langchain(embeddings).add_texts(
                texts=texts[i : i + BATCH], metadatas=metadatas[i : i + BATCH], ids=ids[i : i + BATCH]
            )

    def add_vectors(
        self, ids: list[str], vectors: Sequence[Sequence[float]], texts: list[str], metadatas: list[dict[str, Any]]
    ) -> None:
        for i in range(0, len(ids), BATCH):
            self.collection.upsert(
                ids=ids[i : i + BATCH],
                embeddings=[list(v) for v in vectors[i : i + BATCH]],
                documents=texts[i : i + BATCH],
                metadatas=metadatas[i : i + BATCH],  # type: ignore[arg-type]
            )

    def update_metadata(self, ids: list[str], metadatas: list[dict[str, Any]]) -> None:
        for i in range(0, len(ids), BATCH):
            self.collection.update(ids=ids[i : i + BATCH], metadatas=metadatas[i : i + BATCH])  # type: ignore[arg-type]

    def get_meta(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for i in range(0, len(ids), BATCH):
            got = self.collection.get(ids=ids[i : i + BATCH], include=["metadatas"])
            out.update({pid: dict(m or {}) for pid, m in zip(got["ids"], got["metadatas"] or [], strict=False)})
        return out

    def all_ids(self) -> set[str]:
        ids: set[str] = set()
        offset, page = 0, 5000
        while True:
            got = self.collection.get(include=[], limit=page, offset=offset)
            ids.update(got["ids"])
            if len(got["ids"]) < page:
                return ids
            offset += page

    def ids_for_doc(self, doc_id: str) -> set[str]:
        return set(self.collection.get(where={"doc_id": doc_id}, include=[])["ids"])

    def delete(self, ids: Sequence[str]) -> None:
        ids = list(ids)
        for i in range(0, len(ids), BATCH):
            self.collection.delete(ids=ids[i : i + BATCH])

    def query(
        self, vector: Sequence[float], k: int, *, doc_ids: Sequence[str] | None = None
    ) -> list[tuple[str, float]]:
        """(passage_id, cosine similarity) best first."""
        res = self._query(vector, k, doc_ids, ["distances"])
        return _found(res) if res else []

    def _query(self, vector: Sequence[float], k: int, doc_ids: Sequence[str] | None, include: list[str]) -> Any:
        if doc_ids is not None and not doc_ids:
            return None
        where: dict[str, Any] | None = None
        if doc_ids is not None:
            where = {"doc_id": {"$in": list(doc_ids)}}
        # Chroma 1.5, embedded and `chroma run` alike, returns what there is when k exceeds it (checked against both),
        # so no count() round trip on every question.
        return self.collection.query(query_embeddings=[list(vector)], n_results=max(1, k), where=where,
                                     include=include)  # type: ignore[arg-type]

    def count(self) -> int:
        return int(self.collection.count())

    def reset(self) -> None:
        """Drop and recreate the collection (used by `regwatch index --rebuild`)."""
        self.client.delete_collection(self.settings.chroma_collection)
        self.collection = self._open()
        self._lc = None


def _found(res: Any) -> list[tuple[str, float]]:
    return [(pid, 1.0 - float(d)) for pid, d in zip(res["ids"][0], res["distances"][0], strict=False)]
