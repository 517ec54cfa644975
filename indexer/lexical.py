"""The lexical index: SQLite FTS5 over pre-tokenised passages (jieba + English stems), persisted beside Chroma.

It is a cache derived from the ledger's live passages: `doc_versions` records which version of each document it
holds, so a run that died between the ledger commit and this update is repaired by `sync` on the next run.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

from .tokenize import tokenize

_SCHEMA = """
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(tokens, passage_id UNINDEXED, doc_id UNINDEXED,
    tokenize = "unicode61 remove_diacritics 0 tokenchars '_'");
CREATE TABLE IF NOT EXISTS doc_versions (doc_id TEXT PRIMARY KEY, version INTEGER NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS fts_vocab USING fts5vocab(fts, 'row');
"""
# Query cost is the sum of the posting lists of the query's terms. Terms in more than this share of passages carry
# almost no BM25 weight (idf ~ 0) but cost a scan of most of the index, so they are dropped when rarer terms exist;
# and at most MAX_TERMS of the rarest terms are kept. This keeps latency flat as the index grows.
COMMON_SHARE = 0.08
MAX_TERMS = 24
_SIMPLE = re.compile(r"^[\w\u3400-\u9fff]+$")


def _quote(tok: str) -> str:
    return '"' + tok.replace('"', '""') + '"'


class LexicalIndex:
    """BM25 over passages. One writer at a time (the indexer); many readers."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.conn = sqlite3.connect(str(path), timeout=30, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.executescript(_SCHEMA)

    def close(self) -> None:
        self.conn.close()

    def doc_versions(self) -> dict[str, int]:
        return dict(self.conn.execute("SELECT doc_id, version FROM doc_versions").fetchall())

    def replace_document(self, doc_id: str, version: int, passages: Iterable[tuple[str, str]]) -> None:
        """Atomically replace a document's passages: (passage_id, text) pairs, tokenised here."""
        rows = [(" ".join(tokenize(text)), pid, doc_id) for pid, text in passages]
        with self.conn:
            self.conn.execute("DELETE FROM fts WHERE doc_id = ?", (doc_id,))
            self.conn.executemany("INSERT INTO fts(tokens, passage_id, doc_id) VALUES (?, ?, ?)", rows)
            self.conn.execute("INSERT OR REPLACE INTO doc_versions VALUES (?, ?)", (doc_id, version))

    def remove_document(self, doc_id: str) -> None:
        with self.conn:
            self.conn.execute("DELETE FROM fts WHERE doc_id = ?", (doc_id,))
            self.conn.execute("DELETE FROM doc_versions WHERE doc_id = ?", (doc_id,))

    def clear(self) -> None:
        with self.conn:
            self.conn.execute("DELETE FROM fts")
            self.conn.execute("DELETE FROM doc_versions")

    def search(
        self, query: str | Sequence[str], k: int = 20, *, doc_ids: Sequence[str] | None = None
    ) -> list[tuple[str, float]]:
        """(passage_id, score) best first; score is -bm25, so higher is better. Tokens are OR-ed."""
        tokens = tokenize(query) if isinstance(query, str) else list(query)
        uniq = self._select_terms(list(dict.fromkeys(t for t in tokens if t)))
        if not uniq:
            return []
        match = " OR ".join(_quote(t) for t in uniq)
        sql = "SELECT passage_id, bm25(fts) AS s FROM fts WHERE fts MATCH ?"
        params: list[object] = [match]
        if doc_ids is not None:
            if not doc_ids:
                return []
            sql += f" AND doc_id IN ({','.join('?' * len(doc_ids))})"
            params.extend(doc_ids)
        sql += " ORDER BY s LIMIT ?"
        params.append(k)
        return [(pid, -score) for pid, score in self.conn.execute(sql, params).fetchall()]

    def _select_terms(self, terms: list[str]) -> list[str]:
        """The query's informative terms: unknown ones dropped, very common ones dropped, the rarest kept."""
        simple = [t for t in terms if _SIMPLE.match(t)]
        if not simple:
            return terms[:MAX_TERMS]
        df = self.document_frequencies(simple)
        n = max(self._rows(), 1)
        known = [t for t in simple if t in df]
        rare = [t for t in known if df[t] <= COMMON_SHARE * n] or known
        rare.sort(key=lambda t: df[t])
        phrases = [t for t in terms if not _SIMPLE.match(t)]  # e.g. "gb/t": matched as a phrase, kept as is
        return (phrases + rare)[:MAX_TERMS]

    def document_frequencies(self, terms: Iterable[str]) -> dict[str, int]:
        """How many passages contain each term (fts5vocab); terms the index does not hold are left out."""
        terms = list(terms)
        df: dict[str, int] = {}
        for i in range(0, len(terms), 500):
            chunk = terms[i : i + 500]
            sql = f"SELECT term, doc FROM fts_vocab WHERE term IN ({','.join('?' * len(chunk))})"
            df.update(self.conn.execute(sql, chunk).fetchall())
        return df

    def _rows(self) -> int:
        # Cached per data version: counting 100k rows on every query would cost more than the query.
        version = self.conn.execute("PRAGMA data_version").fetchone()[0]
        if getattr(self, "_rows_cache", (None, 0))[0] != version:
            self._rows_cache = (version, self.count())
        return self._rows_cache[1]

    def count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM fts").fetchone()[0])
