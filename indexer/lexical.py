"""The lexical index: SQLite FTS5 over pre-tokenised passages (jieba + English stems), persisted beside Chroma.

It is a cache derived from the ledger's live passages: `doc_versions` records which version of each document it
holds, so a run that died between the ledger commit and this update is repaired by `sync` on the next run.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

from .tokenize import tokenize

_SCHEMA = """
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(tokens, passage_id UNINDEXED, doc_id UNINDEXED,
    tokenize = "unicode61 remove_diacritics 0 tokenchars '_'");
CREATE TABLE IF NOT EXISTS doc_versions (doc_id TEXT PRIMARY KEY, version INTEGER NOT NULL);
"""


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
        uniq = list(dict.fromkeys(t for t in tokens if t))
        if not uniq:
            return []
        match = " OR ".join(_quote(t) for t in uniq[:64])
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

    def count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM fts").fetchone()[0])
