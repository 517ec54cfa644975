"""The lexical index: SQLite FTS5 over pre-tokenised passages (jieba + English stems), persisted beside Chroma.

It is a cache derived from the ledger's live passages: `doc_versions` records which version of each document it
holds, so a run that died between the ledger commit and this update is repaired by `sync` on the next run.
"""

from __future__ import annotations

import math
import re
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .glossary import question_language
from .tokenize import TOKENIZER_VERSION, tokenize

if TYPE_CHECKING:
    from .gloss import Glosser
    from .settings import Settings

_SCHEMA = """
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(tokens, passage_id UNINDEXED, doc_id UNINDEXED,
    tokenize = "unicode61 remove_diacritics 0 tokenchars '_'");
CREATE TABLE IF NOT EXISTS doc_versions (doc_id TEXT PRIMARY KEY, version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS fts_vocab USING fts5vocab(fts, 'row');
"""
# Query cost is the sum of the posting lists of the query's terms. Terms in more than this share of passages carry
# almost no BM25 weight (idf ~ 0) but cost a scan of most of the index, so they are dropped when rarer terms exist;
# and at most MAX_TERMS of the rarest terms are kept. This keeps latency flat as the index grows.
COMMON_SHARE = 0.08
MAX_TERMS = 24
POSTINGS_BUDGET = 10_000  # rows the OR query may touch; binds only on large indexes (100k passages), never on 1k
RESCORE_POOL = 50  # candidates re-scored with the whole query when pruning left terms out
BM25_K1, BM25_B = 1.2, 0.75
_SIMPLE = re.compile(r"^[\w\u3400-\u9fff]+$")


def _idf(n: int, df: int) -> float:
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def _quote(tok: str) -> str:
    return '"' + tok.replace('"', '""') + '"'


class LexicalIndex:
    """BM25 over passages. One writer at a time (the indexer); many readers."""

    def __init__(self, path: Path, *, transform: Callable[[str], str | None] | None = None,
                 version: str | None = None, keep_common: bool = False) -> None:
        """`transform` rewrites each passage before it is tokenised (None leaves the passage out); `version` names
        the tokens it makes, so an index built another way is emptied and refilled instead of silently mismatched."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.transform = transform
        self.version = version or TOKENIZER_VERSION
        self.keep_common = keep_common
        self.conn = sqlite3.connect(str(path), timeout=30, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.executescript(_SCHEMA)
        self._cache: dict[str, Any] = {}
        self.reset = self._check_tokenizer()

    def _check_tokenizer(self) -> bool:
        """Empty the index if its tokens came from another tokenizer version (True then): query tokens would not
        meet them. Whoever holds the ledger refills it (`Indexer.reconcile`, or the Retriever on opening)."""
        with self.conn:
            row = self.conn.execute("SELECT value FROM meta WHERE key = 'tokenizer'").fetchone()
            if row is not None and row[0] == self.version:
                return False
            filled = self.conn.execute("SELECT 1 FROM doc_versions LIMIT 1").fetchone() is not None
            if filled:
                self.conn.execute("DELETE FROM fts")
                self.conn.execute("DELETE FROM doc_versions")
            self.conn.execute("INSERT OR REPLACE INTO meta VALUES ('tokenizer', ?)", (self.version,))
        return filled

    def close(self) -> None:
        self.conn.close()

    def doc_versions(self) -> dict[str, int]:
        return dict(self.conn.execute("SELECT doc_id, version FROM doc_versions").fetchall())

    def replace_document(self, doc_id: str, version: int, passages: Iterable[tuple[str, str]]) -> None:
        """Atomically replace a document's passages: (passage_id, text) pairs, tokenised here."""
        rows = []
        for pid, text in passages:
            shown = self.transform(text) if self.transform is not None else text
            if shown is not None:
                rows.append((" ".join(tokenize(shown)), pid, doc_id))
        with self.conn:
            self.conn.execute("DELETE FROM fts WHERE doc_id = ?", (doc_id,))
            self.conn.executemany("INSERT INTO fts(tokens, passage_id, doc_id) VALUES (?, ?, ?)", rows)
            self.conn.execute("INSERT OR REPLACE INTO doc_versions VALUES (?, ?)", (doc_id, version))
        self._changed()

    def remove_document(self, doc_id: str) -> None:
        with self.conn:
            self.conn.execute("DELETE FROM fts WHERE doc_id = ?", (doc_id,))
            self.conn.execute("DELETE FROM doc_versions WHERE doc_id = ?", (doc_id,))
        self._changed()

    def clear(self) -> None:
        with self.conn:
            self.conn.execute("DELETE FROM fts")
            self.conn.execute("DELETE FROM doc_versions")
        self._changed()

    def search(
        self, query: str | Sequence[str], k: int = 20, *, doc_ids: Sequence[str] | None = None, rescore: bool = True
    ) -> list[tuple[str, float]]:
        """(passage_id, score) best first; score is -bm25, so higher is better. Tokens are OR-ed."""
        tokens = [t for t in (tokenize(query) if isinstance(query, str) else list(query)) if t]
        uniq = self._select_terms(list(dict.fromkeys(tokens)))
        if not uniq:
            return []
        match = " OR ".join(_quote(t) for t in uniq)
        # Re-scoring is needed only when the OR query lost something: a pruned term or a repeated one.
        rescore = rescore and len(tokens) != len(uniq)
        sql = f"SELECT passage_id, bm25(fts) AS s{', tokens' if rescore else ''} FROM fts WHERE fts MATCH ?"
        params: list[object] = [match]
        if doc_ids is not None:
            if not doc_ids:
                return []
            sql += f" AND doc_id IN ({','.join('?' * len(doc_ids))})"
            params.extend(doc_ids)
        sql += " ORDER BY s LIMIT ?"
        params.append(max(k, RESCORE_POOL) if rescore else k)
        rows = self.conn.execute(sql, params).fetchall()
        if not rescore:
            return [(pid, -score) for pid, score in rows]
        return self._rescore(tokens, rows)[:k]

    def _rescore(self, tokens: list[str], rows: list[tuple[str, float, str]]) -> list[tuple[str, float]]:
        """Okapi BM25 of the candidates with the whole query, repeated words included.

        FTS5 can only OR the pruned, de-duplicated terms; a word asked twice, or a common word the pruning left out,
        still tells which of the candidates fits best. Only the candidates are scored, so the cost stays flat.
        """
        qtf = Counter(tokens)
        df = self._frequencies([t for t in qtf if _SIMPLE.match(t)])
        n, avgdl = max(self._rows(), 1), self._avgdl()
        docs = [text.split() for _, _, text in rows]
        for t in qtf:
            if not _SIMPLE.match(t):  # a phrase ('gb/t') has no vocabulary row: count it among the candidates
                df[t] = sum(1 for toks in docs if t in toks) or 1
        idf = {t: _idf(n, df[t]) for t in qtf if t in df}
        out = []
        for (pid, _s, _text), toks in zip(rows, docs, strict=True):
            norm = BM25_K1 * (1 - BM25_B + BM25_B * len(toks) / avgdl)
            tf = Counter(t for t in toks if t in idf)
            score = sum(qtf[t] * idf[t] * f * (BM25_K1 + 1) / (f + norm) for t, f in tf.items())
            out.append((pid, score))
        out.sort(key=lambda x: -x[1])
        return out

    def _select_terms(self, terms: list[str]) -> list[str]:
        """The query's informative terms: unknown ones dropped, very common ones dropped, the rarest kept."""
        simple = [t for t in terms if _SIMPLE.match(t)]
        if not simple:
            return terms[:MAX_TERMS]
        df = self._frequencies(simple)
        n = max(self._rows(), 1)
        known = [t for t in simple if t in df]
        if self.keep_common and sum(df[t] for t in known) <= POSTINGS_BUDGET:
            rare = list(known)  # cheap enough to keep every word: see glossed_index
        else:
            rare = [t for t in known if df[t] <= COMMON_SHARE * n] or known
        rare.sort(key=lambda t: df[t])
        # Stop adding terms once their posting lists add up to POSTINGS_BUDGET (the three rarest always stay): the
        # FTS5 work is then bounded whatever the index size; the candidates are re-scored with every term anyway.
        spent = 0
        kept: list[str] = []
        for t in rare:
            if len(kept) >= 3 and spent + df[t] > POSTINGS_BUDGET:
                break
            kept.append(t)
            spent += df[t]
        rare = kept
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

    # --- statistics, cached until the index changes (PRAGMA data_version moves when another connection commits;
    # this connection's own writes clear the caches in _changed) ---------------------------------------------------
    def _stats(self) -> dict[str, Any]:
        version = self.conn.execute("PRAGMA data_version").fetchone()[0]
        if self._cache.get("version") != version:
            self._cache = {"version": version, "df": {}}
        return self._cache

    def _changed(self) -> None:
        self._cache = {}

    def _frequencies(self, terms: list[str]) -> dict[str, int]:
        """document_frequencies through the cache: the same words recur from question to question."""
        cache: dict[str, int] = self._stats()["df"]
        missing = [t for t in terms if t not in cache]
        if missing:
            if len(cache) > 50_000:
                cache.clear()
            found = self.document_frequencies(missing)
            cache.update({t: found.get(t, 0) for t in missing})
        return {t: cache[t] for t in terms if cache[t]}

    def _avgdl(self) -> float:
        stats = self._stats()
        if "avgdl" not in stats:
            total = self.conn.execute("SELECT coalesce(sum(cnt), 0) FROM fts_vocab").fetchone()[0]
            stats["avgdl"] = max(float(total) / max(self._rows(), 1), 1.0)
        return float(stats["avgdl"])

    def _rows(self) -> int:
        # Counting 100k rows on every query would cost more than the query.
        stats = self._stats()
        if "rows" not in stats:
            stats["rows"] = self.count()
        return int(stats["rows"])

    def count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM fts").fetchone()[0])


def glossed_index(settings: Settings, glosser: Glosser | None) -> LexicalIndex | None:
    """BM25 over the wide English gloss of the Chinese passages (Glosser.lexical_gloss), or None when Chinese is
    not glossed. English questions search it for Chinese-only rules; the tokens change with the glossary and the
    sense tables, so its version names them."""
    if glosser is None:
        return None

    def wide(text: str) -> str | None:
        return glosser.lexical_gloss(text) if question_language(text) == "zh" else None

    # Common words are kept while the query stays within the postings budget: every glossed passage repeats its
    # law's terms ("personal information", "CAC"), so in a corpus of a few related laws the words that pick the
    # article are all "common" (English questions finding their Chinese article: R@5 0.938 -> 0.961). On a large
    # index they are pruned as in the main index, which keeps the latency flat.
    return LexicalIndex(settings.glossed_lexical_path, transform=wide, keep_common=True,
                        version=f"{TOKENIZER_VERSION}+gloss-{glosser.fingerprint}")
