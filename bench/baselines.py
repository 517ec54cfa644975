"""The baselines regwatch is measured against, each built over the same texts in the same run.

- BM25 alone: rank_bm25's BM25Okapi over indexer.tokenize (the same tokenisation regwatch's lexical index uses).
- Dense alone: the same embedding model, cosine over the passages' vectors (exact, numpy).
- Tutorial LangChain: RecursiveCharacterTextSplitter(1000, 200) over the raw texts, langchain_chroma.Chroma with
  HuggingFaceEmbeddings of the bundled model, similarity_search (optionally with a metadata filter).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from typing import Any

import numpy as np


class BM25Baseline:
    def __init__(self, ids: list[str], texts: list[str], groups: list[str] | None = None) -> None:
        from rank_bm25 import BM25Okapi

        from indexer.tokenize import tokenize

        self.tokenize = tokenize
        self.ids = ids
        self.groups = groups
        self._by_group: dict[str | None, tuple[list[str], Any]] = {}
        if groups is None:
            self._by_group[None] = (ids, BM25Okapi([tokenize(t) or ["∅"] for t in texts]))
        else:  # one model per group, so IDF is the group's, as a scoped question would see it
            for g in dict.fromkeys(groups):
                sel = [i for i, x in enumerate(groups) if x == g]
                self._by_group[g] = ([ids[i] for i in sel], BM25Okapi([tokenize(texts[i]) or ["∅"] for i in sel]))

    def search(self, query: str, k: int, group: str | None = None) -> list[str]:
        ids, model = self._by_group[group]
        scores = model.get_scores(self.tokenize(query))
        order = np.argsort(-scores)[:k]
        return [ids[i] for i in order]


class DenseBaseline:
    def __init__(self, ids: list[str], vectors: np.ndarray, groups: list[str] | None = None) -> None:
        self.ids = ids
        self.vectors = vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
        self.groups = np.array(groups) if groups is not None else None

    def search(self, qvec: Sequence[float], k: int, group: str | None = None) -> list[str]:
        sims = self.vectors @ np.asarray(qvec, dtype=np.float32)
        if group is not None and self.groups is not None:
            sims = np.where(self.groups == group, sims, -np.inf)
        order = np.argsort(-sims)[:k]
        return [self.ids[i] for i in order if np.isfinite(sims[i])]


class LangChainBaseline:
    """The tutorial pipeline: split, embed with HuggingFaceEmbeddings, store in Chroma, similarity_search."""

    def __init__(self, docs: list[tuple[str, str, dict[str, Any]]], model_path: str) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings
        from langchain_chroma import Chroma
        from langchain_huggingface import HuggingFaceEmbeddings
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
        texts, metas = [], []
        for source, text, meta in docs:
            for chunk in splitter.split_text(text):
                texts.append(chunk)
                metas.append({"source": source, **meta})
        self.dir = tempfile.mkdtemp(prefix="lc-baseline-")
        client = chromadb.PersistentClient(path=self.dir, settings=ChromaSettings(anonymized_telemetry=False))
        self.embeddings = HuggingFaceEmbeddings(model_name=model_path, encode_kwargs={"normalize_embeddings": True})
        self.store = Chroma(client=client, collection_name="tutorial", embedding_function=self.embeddings,
                            collection_metadata={"hnsw:space": "cosine"})
        for i in range(0, len(texts), 2000):
            self.store.add_texts(texts[i : i + 2000], metadatas=metas[i : i + 2000])
        self.chunks = len(texts)

    def search(self, query: str, k: int, where: dict[str, Any] | None = None) -> list[Any]:
        return self.store.similarity_search(query, k=k, filter=where)


def metrics(ranks: list[int | None]) -> dict[str, float]:
    """Recall@1/5/10 and MRR (within the top 10) from the 1-based rank of the first hit per question."""
    n = len(ranks) or 1
    return {
        "recall@1": round(sum(1 for r in ranks if r and r <= 1) / n, 4),
        "recall@5": round(sum(1 for r in ranks if r and r <= 5) / n, 4),
        "recall@10": round(sum(1 for r in ranks if r and r <= 10) / n, 4),
        "mrr": round(sum(1 / r for r in ranks if r and r <= 10) / n, 4),
        "n": len(ranks),
    }


def first_rank(flags: list[bool]) -> int | None:
    return next((i + 1 for i, f in enumerate(flags) if f), None)
