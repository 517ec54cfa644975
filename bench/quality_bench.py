"""Retrieval quality of regwatch vs BM25 alone, dense alone and the tutorial LangChain pipeline, in one run.

Sets: (a) bench/questions.yaml over ../shared/regulations (indexed with the real pipeline), (b) PolicyQA dev (each
question ranked within its own policy: a doc_id filter), (c) LeCoQA dev (all articles ranked). Also abstention on
the own set. Writes bench/results/quality.json and quality.md.  Usage: python bench/quality_bench.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import yaml  # noqa: E402

from bench.baselines import BM25Baseline, DenseBaseline, LangChainBaseline, first_rank, metrics  # noqa: E402

SHARED = REPO.parent / "shared"
REGS = SHARED / "regulations"
RESULTS = REPO / "bench" / "results"
K = 10


def settings_for(data: Path) -> Any:
    from indexer.settings import Settings

    return Settings(_env_file=None, data_dir=data)  # type: ignore[call-arg]


def raw_vectors(settings: Any, texts: list[str]) -> np.ndarray:
    """The plain model over the passages as regwatch embeds them (title + text) but without the English gloss of
    Chinese: the dense baseline is what the model alone does."""
    from indexer.embed import make_embedder

    return np.asarray(make_embedder(settings, purpose="index").embed_documents(texts), dtype=np.float32)


def write_direct(settings: Any, docs: list[tuple[str, str, list[Any], Any]]) -> None:
    """(doc_id, source, passages, DocMeta) straight into ledger, Chroma and the lexical index: one passage per unit."""
    from indexer.embed import ensure_query_encoder
    from indexer.models import sha256
    from indexer.pipeline import Indexer, _chroma_meta, embed_text

    ix = Indexer(settings)
    run = ix.ledger.start_run("index")
    try:
        ids, texts, metas, jobs = [], [], [], []
        for doc_id, source, passages, meta in docs:
            text = "\n\n".join(p.text for p in passages)
            v = ix.ledger.begin_version(doc_id=doc_id, origin=source, source_path=source, source_name="bench", meta=meta,
                                        raw_hash=sha256(text), content_hash=sha256(text), text=text,
                                        passage_count=len(passages), run_id=run)
            jobs.append((doc_id, source, passages, meta, v))
            for p in passages:
                ids.append(p.id)
                texts.append(embed_text(p, meta, ix.glosser))
                metas.append(_chroma_meta(p, v, meta, texts[-1]))
        ix.vectors.add(ix.embedder.langchain, ids, texts, metas)
        for doc_id, source, passages, meta, v in jobs:
            ix.ledger.commit_version(doc_id=doc_id, version=v, origin=source, source_path=source, meta=meta,
                                     new_passages=passages, change=None)
            ix.lexical.replace_document(doc_id, v, [(p.id, p.text) for p in passages])
        ensure_query_encoder(settings, ix.embedder)
        ix.ledger.finish_run(run, "done", {})
    finally:
        ix.close()


def model_path() -> str:
    from indexer.embed import resolve_model_path
    from indexer.settings import Settings

    return resolve_model_path(Settings(_env_file=None).embedding_model)  # type: ignore[call-arg]


# --- (a) the own question set ---------------------------------------------------------------------------------
def own_set(work: Path, quick: bool) -> dict[str, Any]:
    from bot.answer import Asker
    from bot.retrieve import Retriever
    from indexer.embed import make_embedder
    from indexer.ledger import Ledger, row_to_passage
    from indexer.models import DocMeta
    from indexer.pipeline import Indexer, embed_text

    qs = yaml.safe_load((REPO / "bench" / "questions.yaml").read_text(encoding="utf-8"))["questions"]
    settings = settings_for(work / "own")
    t = time.perf_counter()
    ix = Indexer(settings)
    try:
        report = ix.index_paths([REGS])
    finally:
        ix.close()
    index_s = time.perf_counter() - t
    r = Retriever(settings)
    ledger = Ledger(r.engine)
    docs = {d["doc_id"]: d for d in ledger.docs()}
    rows = [p for d in docs for p in ledger.passages_of(d)]
    pid_doc = {p["passage_id"]: (docs[p["doc_id"]]["source_path"], p["section_number"]) for p in rows}

    def is_gold(source: str, number: int | None, gold: list[dict[str, Any]]) -> bool:
        return any(source.endswith(g["file"]) and (g.get("article") is None or number == g["article"]) for g in gold)

    gold_text: dict[tuple[str, int | None], str] = {}
    for p in rows:
        src = docs[p["doc_id"]]["source_path"]
        key = (src, p["section_number"])
        gold_text[key] = gold_text.get(key, "") + "\n" + p["text"]

    def chunk_is_gold(chunk: Any, gold: list[dict[str, Any]]) -> bool:
        src = chunk.metadata["source"]
        for g in gold:
            if not src.endswith(g["file"]):
                continue
            if g.get("article") is None:
                return True
            art = _norm(gold_text.get((src, g["article"]), ""))
            c = _norm(chunk.page_content)
            if art and any(c[i : i + 30] in art for i in range(0, max(1, len(c) - 30), 10)):
                return True
        return False

    answerable = [q for q in qs if q.get("gold")]
    bm25 = BM25Baseline([p["passage_id"] for p in rows], [p["text"] for p in rows])
    metas = {d: DocMeta.from_dict(docs[d]["meta"]) for d in docs}
    dense = DenseBaseline([p["passage_id"] for p in rows],
                          raw_vectors(settings, [embed_text(row_to_passage(p), metas[p["doc_id"]]) for p in rows]))
    enc = make_embedder(settings, purpose="query")
    files = sorted(p for p in REGS.rglob("*.md"))
    lc = LangChainBaseline([(str(f), f.read_text(encoding="utf-8"), {}) for f in files], model_path())
    ranks: dict[str, list[int | None]] = {"regwatch": [], "bm25": [], "dense": [], "langchain": []}
    by_kind: dict[str, dict[str, list[int | None]]] = {}
    for q in answerable:
        hits = r.search(q["q"], k=K).hits
        got = {
            "regwatch": first_rank([is_gold(h.doc.source_path, h.section_number, q["gold"]) for h in hits]),
            "bm25": first_rank([is_gold(*pid_doc[p], q["gold"]) for p in bm25.search(q["q"], K)]),
            "dense": first_rank([is_gold(*pid_doc[p], q["gold"]) for p in dense.search(enc.embed_query(q["q"]), K)]),
            "langchain": first_rank([chunk_is_gold(c, q["gold"]) for c in lc.search(q["q"], K)]),
        }
        for name, rank in got.items():
            ranks[name].append(rank)
            by_kind.setdefault(q["kind"], {}).setdefault(name, []).append(rank)
    asker = Asker(settings, retriever=r)
    unanswerable = [q for q in qs if q["kind"] == "unanswerable"]
    abstained_un = [q["id"] for q in unanswerable if asker.ask(q["q"]).abstained]
    wrong = [q["id"] for q in answerable if asker.ask(q["q"]).abstained]
    return {
        "questions": len(qs), "answerable": len(answerable), "index_seconds": round(index_s, 1),
        "passages": report.passages, "langchain_chunks": lc.chunks,
        "methods": {n: metrics(v) for n, v in ranks.items()},
        "by_kind": {k: {n: metrics(v) for n, v in d.items()} for k, d in by_kind.items()},
        "abstention": {"unanswerable": len(unanswerable), "abstained": len(abstained_un),
                       "missed": [q["id"] for q in unanswerable if q["id"] not in abstained_un],
                       "answerable_wrongly_abstained": len(wrong), "wrongly_abstained_ids": wrong},
    }


def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


# --- (b) PolicyQA ------------------------------------------------------------------------------------------------
def policyqa(work: Path, limit: int | None) -> dict[str, Any]:
    from bot.retrieve import Retriever
    from bot.types import Filters
    from indexer.embed import make_embedder
    from indexer.metadata import slugify_doc_id
    from indexer.models import DocMeta
    from indexer.pipeline import embed_text
    from indexer.structure import split_passages

    data = json.loads((SHARED / "datasets" / "PolicyQA" / "dev.json").read_text(encoding="utf-8"))["data"]
    settings = settings_for(work / "policyqa")
    docs, seg_text, questions = [], {}, []
    for pol in data:
        # Each policy is indexed as regwatch indexes any document: its own splitter (paragraph groups, long ones
        # split with overlap), with the tutorial's chunk budget (1000/200) so unit size is not what is compared.
        # BM25 and dense rank the same passages; a hit is a top-k passage that contains the answer text.
        doc_id = slugify_doc_id(pol["title"])
        text = "\n\n".join(para["context"] for para in pol["paragraphs"])
        ps = split_passages(doc_id, text, max_chars=1000, overlap=200)
        docs.append((doc_id, f"policyqa://{pol['title']}", ps, DocMeta(title=pol["title"], doc_type="guideline", language="en")))
        seg_text.update({p.id: p.text for p in ps})
        for para in pol["paragraphs"]:
            questions += [(doc_id, pol["title"], qa["question"], qa["answers"][0]["text"]) for qa in para["qas"]]
    write_direct(settings, docs)
    if limit:
        questions = questions[:: max(1, len(questions) // limit)][:limit]  # an even sample across policies
    ids = list(seg_text)
    groups = [i.split("::")[0] for i in ids]
    bm25 = BM25Baseline(ids, [seg_text[i] for i in ids], groups)
    plain = {p.id: embed_text(p, meta) for _, _, ps, meta in docs for p in ps}  # as regwatch embeds it, no gloss
    dense = DenseBaseline(ids, raw_vectors(settings, [plain[i] for i in ids]), groups)
    enc = make_embedder(settings, purpose="query")
    lc = LangChainBaseline([(pol["title"], "\n\n".join(p["context"] for p in pol["paragraphs"]), {"policy": pol["title"]})
                            for pol in data], model_path())
    r = Retriever(settings)
    ranks: dict[str, list[int | None]] = {"regwatch": [], "bm25": [], "dense": [], "langchain": []}
    for doc_id, title, q, ans in questions:
        hits = r.search(q, k=K, filters=Filters(doc_id=[doc_id])).hits
        ranks["regwatch"].append(first_rank([ans in h.text for h in hits]))
        ranks["bm25"].append(first_rank([ans in seg_text[p] for p in bm25.search(q, K, doc_id)]))
        ranks["dense"].append(first_rank([ans in seg_text[p] for p in dense.search(enc.embed_query(q), K, doc_id)]))
        ranks["langchain"].append(first_rank([ans in c.page_content for c in lc.search(q, K, {"policy": title})]))
    return {"questions": len(questions), "segments": len(ids), "langchain_chunks": lc.chunks, "sampled": bool(limit),
            "methods": {n: metrics(v) for n, v in ranks.items()}}


# --- (c) LeCoQA ---------------------------------------------------------------------------------------------------
def lecoqa(work: Path, limit: int | None) -> dict[str, Any]:
    from bot.retrieve import Retriever
    from indexer.embed import make_embedder
    from indexer.models import DocMeta, Passage
    from indexer.numerals import zh_to_int
    from indexer.pipeline import embed_text

    root = SHARED / "datasets" / "LeCoQA"
    arts = [json.loads(line) for line in (root / "articles.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    qs = json.loads((root / "dev_queries.json").read_text(encoding="utf-8"))
    settings = settings_for(work / "lecoqa")
    by_law: dict[str, list[dict[str, Any]]] = {}
    for a in arts:
        m = re.match(r"^(.*?)(第[零〇一二三四五六七八九十百千]+条(?:之[一二三四五六七八九十]+)?)$", a["id"])
        law, sec = (m.group(1), m.group(2)) if m else (a["id"], a["id"])
        by_law.setdefault(law, []).append({**a, "section": sec})
    docs, pid_art = [], {}
    for i, (law, items) in enumerate(by_law.items()):
        doc_id = f"lecoqa-{i:03d}"
        ps = []
        for j, a in enumerate(items):
            num = zh_to_int(a["section"][1:-1]) if a["section"].startswith("第") and "之" not in a["section"] else None
            p = Passage(doc_id=doc_id, ordinal=j, section=a["section"], section_number=num,
                        section_kind="article" if num else "heading", chapter_path=[], text=a["text"], occurrence=j)
            ps.append(p)
            pid_art[p.id] = a["id"]
        docs.append((doc_id, f"lecoqa://{law}", ps, DocMeta(title=law, short_title=law, doc_type="law", language="zh")))
    write_direct(settings, docs)
    if limit:
        qs = qs[:limit]
    ids = list(pid_art)
    texts = {p.id: p.text for _, _, ps, _ in docs for p in ps}
    bm25 = BM25Baseline(ids, [texts[i] for i in ids])
    plain = {p.id: embed_text(p, meta) for _, _, ps, meta in docs for p in ps}  # title + text, no gloss
    dense = DenseBaseline(ids, raw_vectors(settings, [plain[i] for i in ids]))
    enc = make_embedder(settings, purpose="query")
    lc = LangChainBaseline([(a["id"], a["text"], {}) for a in arts], model_path())
    r = Retriever(settings)
    ranks: dict[str, list[int | None]] = {"regwatch": [], "bm25": [], "dense": [], "langchain": []}
    for q in qs:
        gold = set(q["gold"])
        ranks["regwatch"].append(first_rank([pid_art.get(h.passage_id) in gold for h in r.search(q["question"], k=K).hits]))
        ranks["bm25"].append(first_rank([pid_art[p] in gold for p in bm25.search(q["question"], K)]))
        ranks["dense"].append(first_rank([pid_art[p] in gold for p in dense.search(enc.embed_query(q["question"]), K)]))
        ranks["langchain"].append(first_rank([c.metadata["source"] in gold for c in lc.search(q["question"], K)]))
    return {"questions": len(qs), "articles": len(arts), "sampled": bool(limit),
            "methods": {n: metrics(v) for n, v in ranks.items()}}


def table(results: dict[str, Any]) -> str:
    lines = ["| set | method | R@1 | R@5 | R@10 | MRR | n |", "|---|---|---|---|---|---|---|"]
    for name, res in results["sets"].items():
        for m, v in res["methods"].items():
            lines.append(f"| {name} | {m} | {v['recall@1']:.3f} | {v['recall@5']:.3f} | {v['recall@10']:.3f} | {v['mrr']:.3f} | {v['n']} |")
    ab = results["sets"].get("own", {}).get("abstention")
    if ab:
        lines.append("")
        lines.append(f"Abstention (own set): {ab['abstained']}/{ab['unanswerable']} unanswerable questions abstained; "
                     f"{ab['answerable_wrongly_abstained']} answerable questions wrongly abstained.")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="CI-sized: 300 PolicyQA and 200 LeCoQA questions")
    ap.add_argument("--limit", type=int, default=None, help="questions per external set (default: all)")
    ap.add_argument("--sets", default="own,policyqa,lecoqa")
    args = ap.parse_args()
    if not REGS.is_dir():
        sys.exit(f"skipped: {REGS} is absent (the shared material sits beside the repository)")
    limit_p = args.limit or (300 if args.quick else None)
    limit_l = args.limit or (200 if args.quick else None)
    out: dict[str, Any] = {"k": K, "quick": args.quick, "sets": {}}
    with tempfile.TemporaryDirectory(prefix="regwatch-quality-") as tmp:
        work = Path(tmp)
        for name in args.sets.split(","):
            t = time.perf_counter()
            res = {"own": lambda: own_set(work, args.quick), "policyqa": lambda: policyqa(work, limit_p),
                   "lecoqa": lambda: lecoqa(work, limit_l)}[name]()
            res["seconds"] = round(time.perf_counter() - t, 1)
            out["sets"][name] = res
            print(f"{name}: {json.dumps(res['methods'])}", flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    old = RESULTS / "quality.json"
    if old.is_file() and set(out["sets"]) != {"own", "policyqa", "lecoqa"}:
        # A partial run (--sets) updates its sets and keeps the others' last figures.
        prev = json.loads(old.read_text(encoding="utf-8"))
        out["sets"] = {**prev.get("sets", {}), **out["sets"]}
    (RESULTS / "quality.json").write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    md = table(out)
    (RESULTS / "quality.md").write_text(md + "\n", encoding="utf-8")
    print(md)


if __name__ == "__main__":
    main()
