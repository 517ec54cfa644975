"""Retrieval quality of `regwatch ask` against BM25, dense and their plain fusion on the same model, and the tutorial
LangChain pipeline (MiniLM), every method in one run over the same texts.

Sets (bench/sets.py): the tuning set (bench/questions.yaml), the held-out set (bench/heldout.yaml, in two parts:
direct and scenario questions; reported, never tuned on), LeCoQA dev, PolicyQA dev (each question ranked within its
own policy) and the cross-language article pairs. Abstention is measured on the two question sets.

Usage: python bench/quality_bench.py [--work DIR] [--sets tune,heldout,lecoqa,policyqa,crosslang] [--quick]
Writes bench/results/quality.json and quality.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402

from bench import sets  # noqa: E402
from bench.baselines import BM25Baseline, DenseBaseline, LangChainBaseline, first_rank, metrics  # noqa: E402

RESULTS = REPO / "bench" / "results"
K = sets.K
METHODS = ("regwatch", "bm25", "dense", "bm25+dense", "langchain")


class Units:
    """The passages of one index as the baselines see them: ids, texts, stored vectors, and a Hit-like view."""

    def __init__(self, settings: Any) -> None:
        from bot.retrieve import Retriever
        from indexer.ledger import Ledger

        self.r = Retriever(settings)
        led = Ledger(self.r.engine)
        cat = self.r.catalog()
        self.rows = {p["passage_id"]: p for d in cat.docs for p in led.passages_of(d)}
        self.ids = sorted(self.rows)
        self.docs = cat.docs
        got = self.r.vectors.collection.get(ids=self.ids, include=["embeddings"])
        vec = dict(zip(got["ids"], got["embeddings"], strict=True))
        self.vectors = np.asarray([vec[i] for i in self.ids], dtype=np.float32)
        self.groups = [self.rows[i]["doc_id"] for i in self.ids]

    def hit(self, pid: str) -> Any:
        from types import SimpleNamespace

        p = self.rows[pid]
        return SimpleNamespace(passage_id=pid, doc=self.docs[p["doc_id"]], section_number=p["section_number"],
                               text=p["text"])


def rrf(*lists: list[str], k: int = 60) -> list[str]:
    """Plain reciprocal rank fusion (k = 60, the usual constant): the untuned hybrid."""
    score: dict[str, float] = {}
    for items in lists:
        for r, pid in enumerate(items):
            score[pid] = score.get(pid, 0.0) + 1 / (k + r + 1)
    return sorted(score, key=lambda p: (-score[p], p))


def _scope(item: sets.Item, units: Units) -> str | None:
    f = item.filters
    return f.doc_id[0] if f is not None and f.doc_id else None


def _lang_ok(item: sets.Item, units: Units, pid: str) -> bool:
    f = item.filters
    return f is None or not f.language or units.docs[units.rows[pid]["doc_id"]].language in f.language


def run_set(items: list[sets.Item], units: Units, bm25: BM25Baseline, dense: DenseBaseline,
            lc: LangChainBaseline | None, lc_hit: Any) -> dict[str, list[int | None]]:
    ranks: dict[str, list[int | None]] = {m: [] for m in METHODS if m != "langchain" or lc is not None}
    enc = units.r.embedder
    for it in items:
        if not it.answerable:
            continue
        group = _scope(it, units)
        b = [p for p in bm25.search(it.q, 4 * K, group) if _lang_ok(it, units, p)]
        d = [p for p in dense.search(enc.embed_query(it.q), 4 * K, group) if _lang_ok(it, units, p)]
        got = {
            "regwatch": [it.is_hit(h) for h in units.r.search(it.q, k=K, filters=it.filters).hits],
            "bm25": [it.is_hit(units.hit(p)) for p in b[:K]],
            "dense": [it.is_hit(units.hit(p)) for p in d[:K]],
            "bm25+dense": [it.is_hit(units.hit(p)) for p in rrf(b, d)[:K]],
        }
        if lc is not None:
            got["langchain"] = [lc_hit(it, c) for c in lc.search(it.q, K, lc.scope(it))]
        for m, flags in got.items():
            ranks[m].append(first_rank(flags))
    return ranks


def abstention(settings: Any, items: list[sets.Item], retriever: Any) -> dict[str, Any]:
    from bot.answer import Asker

    asker = Asker(settings, retriever=retriever)
    un = [i for i in items if not i.answerable]
    ans = [i for i in items if i.answerable]
    kept = [i.qid for i in un if not asker.ask(i.q).abstained]
    wrong = [i.qid for i in ans if asker.ask(i.q).abstained]
    return {"unanswerable": len(un), "abstained": len(un) - len(kept), "answered_unanswerable": kept,
            "answerable": len(ans), "wrongly_abstained": len(wrong), "wrongly_abstained_ids": wrong}


def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


def regulations_sets(work: Path, names: list[str]) -> dict[str, Any]:
    settings = sets.regulations_index(work)
    units = Units(settings)
    texts = [units.rows[i]["text"] for i in units.ids]
    bm25 = BM25Baseline(units.ids, texts)
    dense = DenseBaseline(units.ids, units.vectors)
    # The tutorial: the raw files, split 1000/200, MiniLM, Chroma; a chunk is a hit when it overlaps the gold article.
    files = sorted(sets.REGS.rglob("*.md"))
    lc = LangChainBaseline([(str(f), f.read_text(encoding="utf-8"), {}) for f in files], _minilm())
    lc.scope = lambda it: None  # type: ignore[attr-defined]
    gold_text: dict[tuple[str, int | None], str] = {}
    for p in units.rows.values():
        key = (units.docs[p["doc_id"]].source_path, p["section_number"])
        gold_text[key] = gold_text.get(key, "") + "\n" + p["text"]

    def lc_hit(it: sets.Item, chunk: Any) -> bool:
        src = chunk.metadata["source"]
        for g in it.meta.get("gold", []):
            if not src.endswith(g["file"]):
                continue
            if g.get("article") is None:
                return True
            art, c = _norm(gold_text.get((src, g["article"]), "")), _norm(chunk.page_content)
            if art and any(c[i : i + 30] in art for i in range(0, max(1, len(c) - 30), 10)):
                return True
        return False

    out: dict[str, Any] = {}
    for name in names:
        if name in ("tune", "heldout"):
            items = sets.yaml_set("questions" if name == "tune" else name)
            ranks = run_set(items, units, bm25, dense, lc, lc_hit)
            res: dict[str, Any] = {"methods": {m: metrics(v) for m, v in ranks.items()}, "parts": {}}
            answerable = [i for i in items if i.answerable]
            for key in ("form", "kind"):
                for value in sorted({getattr(i, key) for i in answerable if getattr(i, key)}):
                    sel = [j for j, i in enumerate(answerable) if getattr(i, key) == value]
                    res["parts"][f"{key}={value}"] = {m: metrics([v[j] for j in sel]) for m, v in ranks.items()}
            if name == "heldout":  # cross-language questions within each form
                for form in ("direct", "scenario"):
                    sel = [j for j, i in enumerate(answerable) if i.form == form and i.kind == "cross"]
                    res["parts"][f"form={form},kind=cross"] = {m: metrics([v[j] for j in sel]) for m, v in ranks.items()}
            res["abstention"] = abstention(settings, items, units.r)
            out[name] = res
        elif name == "crosslang":
            res = {}
            for src in ("en", "zh"):
                items = sets.crosslang_set(settings, src)
                ranks = run_set(items, units, bm25, dense, None, None)
                res[f"{src}->{'zh' if src == 'en' else 'en'}"] = {m: metrics(v) for m, v in ranks.items()}
            out[name] = {"methods": res}
    return out


def lecoqa_set(work: Path, every: int) -> dict[str, Any]:
    settings, pid_art = sets.lecoqa_index(work)
    units = Units(settings)
    bm25 = BM25Baseline(units.ids, [units.rows[i]["text"] for i in units.ids])
    dense = DenseBaseline(units.ids, units.vectors)
    docs, _ = sets.lecoqa_corpus()
    lc = LangChainBaseline([(pid_art[p.id], p.text, {}) for _d, _s, ps, _m in docs for p in ps], _minilm())
    lc.scope = lambda it: None  # type: ignore[attr-defined]
    items = sets.lecoqa_set(pid_art, every)
    ranks = run_set(items, units, bm25, dense, lc, lambda it, c: c.metadata["source"] in it.meta["gold"])
    return {"methods": {m: metrics(v) for m, v in ranks.items()}}


def policyqa_set(work: Path, every: int) -> dict[str, Any]:
    settings = sets.policyqa_index(work)
    units = Units(settings)
    bm25 = BM25Baseline(units.ids, [units.rows[i]["text"] for i in units.ids], units.groups)
    dense = DenseBaseline(units.ids, units.vectors, units.groups)
    docs, _seg, _q = sets.policyqa_corpus()
    lc = LangChainBaseline([(doc_id, "\n\n".join(p.text for p in ps), {"policy": doc_id}) for doc_id, _s, ps, _m in docs],
                           _minilm())
    lc.scope = lambda it: {"policy": it.filters.doc_id[0]}  # type: ignore[attr-defined]
    items = sets.policyqa_set(every)
    ranks = run_set(items, units, bm25, dense, lc, lambda it, c: it.meta["answer"] in c.page_content)
    return {"methods": {m: metrics(v) for m, v in ranks.items()}, "sampled_every": every}


def _minilm() -> str:
    from indexer.embed.sentence_transformer import resolve_model_path

    return resolve_model_path("bundled:all-MiniLM-L6-v2")


def table(results: dict[str, Any]) -> str:
    lines = ["| set | part | " + " | ".join(f"{m} R@1 / R@5 / R@10" for m in METHODS) + " |",
             "|" + "---|" * (len(METHODS) + 2)]

    def row(name: str, part: str, ms: dict[str, Any]) -> None:
        cells = [f"{ms[m]['recall@1']:.3f} / {ms[m]['recall@5']:.3f} / {ms[m]['recall@10']:.3f}" if m in ms else "–"
                 for m in METHODS]
        n = next(iter(ms.values()))["n"]
        lines.append(f"| {name} | {part} (n={n}) | " + " | ".join(cells) + " |")

    for name, res in results["sets"].items():
        if name == "crosslang":
            for direction, ms in res["methods"].items():
                row(name, direction, ms)
            continue
        row(name, "all", res["methods"])
        for part, ms in res.get("parts", {}).items():
            row(name, part, ms)
    for name in ("tune", "heldout"):
        ab = results["sets"].get(name, {}).get("abstention")
        if ab:
            lines.append("")
            lines.append(f"Abstention ({name}): {ab['abstained']}/{ab['unanswerable']} unanswerable questions abstained; "
                         f"{ab['wrongly_abstained']}/{ab['answerable']} answerable questions wrongly abstained.")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=Path("/tmp/regwatch-bench/gloss"), help="where the indexes are kept")
    ap.add_argument("--sets", default="tune,heldout,crosslang,lecoqa,policyqa")
    ap.add_argument("--quick", action="store_true", help="every 4th LeCoQA and every 8th PolicyQA question")
    args = ap.parse_args()
    if not sets.REGS.is_dir():
        sys.exit(f"skipped: {sets.REGS} is absent (the shared material sits beside the repository)")
    names = args.sets.split(",")
    out: dict[str, Any] = {"k": K, "quick": args.quick, "sets": {}}
    t = time.perf_counter()
    regs = [n for n in names if n in ("tune", "heldout", "crosslang")]
    if regs:
        out["sets"].update(regulations_sets(args.work, regs))
    if "lecoqa" in names:
        out["sets"]["lecoqa"] = lecoqa_set(args.work, 4 if args.quick else 1)
    if "policyqa" in names:
        out["sets"]["policyqa"] = policyqa_set(args.work, 8 if args.quick else 1)
    out["seconds"] = round(time.perf_counter() - t, 1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    old = RESULTS / "quality.json"
    if old.is_file() and set(out["sets"]) != {"tune", "heldout", "crosslang", "lecoqa", "policyqa"}:
        prev = json.loads(old.read_text(encoding="utf-8"))  # a partial run keeps the other sets' last figures
        out["sets"] = {**prev.get("sets", {}), **out["sets"]}
    old.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    md = table(out)
    (RESULTS / "quality.md").write_text(md + "\n", encoding="utf-8")
    print(md)


if __name__ == "__main__":
    main()
