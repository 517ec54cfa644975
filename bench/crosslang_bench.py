"""Cross-language retrieval benchmark: does a question in one language find the rule in the other? No questions
written by us are involved.

The five laws indexed in both languages give 300 article pairs. The first sentence of each article (up to 25 English
words or 30 Chinese characters, heading stripped) is asked as a question; the search is limited to the documents of
the other language, and the hit is the same article of the translation. Measured in one run, on one index of
../shared/regulations, with regwatch's fusion as shipped and with one list left out at a time:
  regwatch          - the fused lists as shipped
  as ask ranks      - Retriever.search, as `regwatch ask` ranks: the fusion, then the document priors, the collapse
                      and the evidence re-rank (bot/evidence.py)
  without glossed   - no wide-gloss word list (indexer.gloss.Glosser.lexical_gloss; what this benchmark was made for)
  without dense     - no meaning list (the English gloss in the embedding model)
  without glossary  - no glossary-translated word list

Usage: python bench/crosslang_bench.py   (about 2 minutes with the index build; writes bench/results/crosslang.json)
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = REPO.parent / "shared" / "regulations"
RESULTS = REPO / "bench" / "results"
_HEAD_EN = re.compile(r"^\s*Article\s+\d+\s*")
_HEAD_ZH = re.compile(r"^\s*第\S+?条\s*")


def pairs(r: Any, source_lang: str) -> list[tuple[str, str]]:
    """(question, gold passage id): each article of a `source_lang` document, asked of its translation."""
    from indexer.ledger import Ledger

    led, cat = Ledger(r.engine), r.catalog()
    out = []
    for d, doc in sorted(cat.docs.items()):
        other = cat.translations.get(d)
        if doc.language != source_lang or other is None or cat.docs[other].language == source_lang:
            continue
        gold = {p["section_number"]: p["passage_id"] for p in led.passages_of(other) if p["section_kind"] == "article"}
        for p in led.passages_of(d):
            if p["section_kind"] != "article" or p["section_number"] not in gold:
                continue
            if source_lang == "en":
                first = re.split(r"(?<=[.;:])\s", _HEAD_EN.sub("", p["text"]))[0]
                q = " ".join(first.split()[:25])
                if len(q.split()) < 5:
                    continue
            else:
                q = re.split(r"(?<=[。；：])", _HEAD_ZH.sub("", p["text"]))[0][:30]
                if len(q) < 6:
                    continue
            out.append((q, gold[p["section_number"]]))
    return out


def run_search(r: Any, items: list[tuple[str, str]], target_lang: str) -> dict[str, Any]:
    from bench.baselines import metrics
    from bot.types import Filters

    ranks: list[int | None] = []
    for q, gold in items:
        order = [h.passage_id for h in r.search(q, k=10, filters=Filters(language=[target_lang])).hits]
        ranks.append(order.index(gold) + 1 if gold in order else None)
    return metrics(ranks)


def run(r: Any, items: list[tuple[str, str]], target_lang: str, drop: str | None) -> dict[str, Any]:
    from bench.baselines import metrics
    from bot import retrieve

    docs = [d for d, doc in r.catalog().docs.items() if doc.language == target_lang]
    ranks: list[int | None] = []
    for q, gold in items:
        query = r.analyse(q)
        lists, _ = r.rankings(query, docs, 50)
        lists.pop(drop, None)
        fused, _ = retrieve.fuse(lists, retrieve.WEIGHTS[query.language], dict.fromkeys(
            (pid for items_ in lists.values() for pid, _ in items_), target_lang), query.language)
        order = sorted(fused, key=lambda p: (-fused[p], p))
        ranks.append(order.index(gold) + 1 if gold in order else None)  # 1-based, as metrics() counts
    return metrics(ranks)


def main() -> None:
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from bot.retrieve import Retriever
    from indexer.pipeline import Indexer
    from indexer.settings import Settings

    if not SHARED.is_dir():
        sys.exit(f"needs {SHARED}")
    with tempfile.TemporaryDirectory() as tmp:
        s = Settings(_env_file=None, data_dir=Path(tmp))  # type: ignore[call-arg]
        idx = Indexer(s)
        try:
            idx.index_paths([SHARED])
        finally:
            idx.close()
        r = Retriever(s)
        out: dict[str, Any] = {}
        for src, dst in (("en", "zh"), ("zh", "en")):
            items = pairs(r, src)
            row: dict[str, Any] = {"n": len(items)}
            row["regwatch"] = run(r, items, dst, None)
            row["as ask ranks"] = run_search(r, items, dst)
            for name, drop in (("without glossed", "glossed"), ("without dense", "dense"),
                               ("without glossary", "translated")):
                row[name] = run(r, items, dst, drop)
            for name, m in row.items():
                if name != "n":
                    print(f"{src}->{dst} {name:18s} R@1 {m['recall@1']:.3f}  R@5 {m['recall@5']:.3f}  "
                          f"R@10 {m['recall@10']:.3f}  MRR {m['mrr']:.3f}  (n={len(items)})", flush=True)
            out[f"{src}->{dst}"] = row
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "crosslang.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
