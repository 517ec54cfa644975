"""Speed of `regwatch ask`, as ratios measured side by side in one run (the machine is noisy; absolute times vary).

1. warm: Asker.ask p50/p95 over 200 questions vs a bare query embedding of the same question (target p50 <= 2x);
2. cold: `regwatch ask` in a fresh process (median of 3) vs the tutorial LangChain script's cold start (<= 0.3x),
   with the peak RSS of each;
3. scale: p95 ask latency on 100,000 synthetic passages vs 1,000 (<= 2x). Synthetic passages recombine corpus
   sentences; their vectors are real embeddings of 2,000 such passages, tiled with small Gaussian noise (sigma
   0.01, re-normalised) to reach the size: the HNSW graph and the filters see realistic, distinct vectors.
Writes bench/results/speed.json.  Usage: python bench/speed_bench.py [--quick] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
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

REGS = REPO.parent / "shared" / "regulations"
RESULTS = REPO / "bench" / "results"

BASELINE_SCRIPT = """
import sys, chromadb
from chromadb.config import Settings
from langchain_chroma import Chroma
from langchain_huggingface import HuggingFaceEmbeddings
emb = HuggingFaceEmbeddings(model_name=sys.argv[2], encode_kwargs={"normalize_embeddings": True})
client = chromadb.PersistentClient(path=sys.argv[1], settings=Settings(anonymized_telemetry=False))
store = Chroma(client=client, collection_name="tutorial", embedding_function=emb)
for d in store.similarity_search(sys.argv[3], k=5):
    print(d.page_content[:80].replace("\\n", " "))
"""


def pct(xs: list[float], p: float) -> float:
    return float(np.percentile(np.asarray(xs), p))


def questions(n: int) -> list[str]:
    qs = [q["q"] for q in yaml.safe_load((REPO / "bench" / "questions.yaml").read_text(encoding="utf-8"))["questions"]]
    out = []
    i = 0
    while len(out) < n:  # distinct strings, so no cache flatters the repeats
        out.append(qs[i % len(qs)] + ("" if i < len(qs) else f" ({i // len(qs)})"))
        i += 1
    return out


def settings_for(data: Path) -> Any:
    from indexer.settings import Settings

    return Settings(_env_file=None, data_dir=data)  # type: ignore[call-arg]


def warm(settings: Any, qs: list[str]) -> dict[str, Any]:
    from bot.answer import Asker

    asker = Asker(settings)
    asker.warm()
    enc = asker.retriever.embedder
    ask_ms, emb_ms = [], []
    for q in qs:  # interleaved, so both see the same machine load
        t = time.perf_counter()
        enc.embed_query(q)
        emb_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        asker.ask(q)
        ask_ms.append((time.perf_counter() - t) * 1000)
    return {"n": len(qs), "ask_p50_ms": round(pct(ask_ms, 50), 1), "ask_p95_ms": round(pct(ask_ms, 95), 1),
            "embed_p50_ms": round(pct(emb_ms, 50), 1), "embed_p95_ms": round(pct(emb_ms, 95), 1),
            "p50_ratio": round(pct(ask_ms, 50) / pct(emb_ms, 50), 2), "p95_ratio": round(pct(ask_ms, 95) / pct(emb_ms, 95), 2)}


def _peak_rss_mb(cmd: list[str], env: dict[str, str], cwd: Path | None = None) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of a child process: its VmHWM, read until it exits (wait4's ru_maxrss would
    carry this benchmark's own peak over through exec)."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while proc.poll() is None:
        try:
            with open(f"/proc/{proc.pid}/status") as fh:
                peak = max(peak, next((int(ln.split()[1]) for ln in fh if ln.startswith("VmHWM")), 0))
        except (OSError, ValueError):
            pass
        time.sleep(0.02)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[:4]} failed: {proc.stderr.read().decode()[-500:] if proc.stderr else ''}")
    return wall, peak / 1024


def cold(settings: Any, q: str, runs: int = 3) -> dict[str, Any]:
    from bench.baselines import LangChainBaseline
    from indexer.embed.sentence_transformer import resolve_model_path

    model = resolve_model_path("bundled:all-MiniLM-L6-v2")  # the tutorial's model
    files = sorted(REGS.rglob("*.md"))
    lc = LangChainBaseline([(str(f), f.read_text(encoding="utf-8"), {}) for f in files], model)
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGWATCH_")}
    env.update(REGWATCH_DATA_DIR=str(settings.data_dir), PYTHONPATH=str(REPO))
    ours, theirs, rss_ours, rss_theirs = [], [], [], []
    for _ in range(runs):  # alternating, so both see the same machine load
        wall, rss = _peak_rss_mb([sys.executable, "-m", "bot.cli", "ask", q, "--json"], env, REPO)
        ours.append(wall)
        rss_ours.append(rss)
        wall, rss = _peak_rss_mb([sys.executable, "-c", BASELINE_SCRIPT, lc.dir, model, q], env)
        theirs.append(wall)
        rss_theirs.append(rss)
    return {"runs": runs, "regwatch_ask_s": round(statistics.median(ours), 2),
            "langchain_tutorial_s": round(statistics.median(theirs), 2),
            "ratio": round(statistics.median(ours) / statistics.median(theirs), 2),
            "regwatch_ask_peak_rss_mb": round(max(rss_ours)), "langchain_tutorial_peak_rss_mb": round(max(rss_theirs))}


def synthetic_index(base: Any, data: Path, n: int, real: int, seed: int = 7) -> Any:
    """n passages recombined from the corpus's sentences; vectors: `real` embedded ones tiled with noise."""
    from bot.evidence import sentences
    from indexer.embed import make_embedder
    from indexer.ledger import Ledger
    from indexer.models import DocMeta, Passage, sha256
    from indexer.pipeline import Indexer, _chroma_meta

    rng = random.Random(seed)
    src = Ledger(Indexer(base).ledger.engine)
    sents_en, sents_zh = [], []
    for d in src.docs():
        for p in src.passages_of(d["doc_id"]):
            (sents_zh if d["language"] == "zh" else sents_en).extend(s for s in sentences(p["text"]) if len(s) > 20)
    settings = settings_for(data)
    ix = Indexer(settings)
    emb = make_embedder(base, purpose="index")
    per_doc = 200
    texts = []
    for i in range(n):
        pool = sents_zh if i % 3 == 0 else sents_en
        texts.append(" ".join(rng.sample(pool, 3)))
    real_vecs = np.asarray(emb.embed_documents(texts[:real]), dtype=np.float32)
    nrng = np.random.default_rng(seed)
    run = ix.ledger.start_run("index")
    for start in range(0, n, per_doc):
        doc_id = f"synthetic-{start // per_doc:05d}"
        lang = "zh" if (start // per_doc) % 3 == 0 else "en"
        meta = DocMeta(title=f"Synthetic regulation {start // per_doc}", doc_type=rng.choice(["law", "regulation", "standard"]),
                       status=rng.choice(["in_force", "in_force", "draft", "superseded"]), language=lang,
                       effective=f"20{rng.randint(17, 26)}-0{rng.randint(1, 9)}-01", topics=[rng.choice(["cross-border", "ai"])])
        ps = [Passage(doc_id=doc_id, ordinal=j, section=f"Article {j + 1}", section_number=j + 1, section_kind="article",
                      chapter_path=[], text=f"Article {j + 1} {texts[start + j]}") for j in range(min(per_doc, n - start))]
        body = "\n".join(p.text for p in ps)
        v = ix.ledger.begin_version(doc_id=doc_id, origin=f"synthetic://{doc_id}", source_path=f"synthetic/{doc_id}.md",
                                    source_name="bench", meta=meta, raw_hash=sha256(body), content_hash=sha256(body),
                                    text=body, passage_count=len(ps), run_id=run)
        idx = np.arange(start, start + len(ps)) % real
        vecs = real_vecs[idx] + nrng.normal(0, 0.01, (len(ps), real_vecs.shape[1])).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        ix.vectors.add_vectors([p.id for p in ps], vecs.tolist(), [p.text for p in ps],
                               [_chroma_meta(p, v, meta, p.text) for p in ps])
        ix.ledger.commit_version(doc_id=doc_id, version=v, origin=f"synthetic://{doc_id}", source_path=f"synthetic/{doc_id}.md",
                                 meta=meta, new_passages=ps, change=None)
        ix.lexical.replace_document(doc_id, v, [(p.id, p.text) for p in ps])
    ix.ledger.finish_run(run, "done", {})
    ix.close()
    return settings


def scale(base: Any, work: Path, big: int, qs: list[str]) -> dict[str, Any]:
    from bot.answer import Asker

    out: dict[str, Any] = {}
    for n in (1000, big):
        s = synthetic_index(base, work / f"scale-{n}", n, real=min(2000, n))
        asker = Asker(s)
        asker.warm()
        ms = []
        for q in qs:
            t = time.perf_counter()
            asker.ask(q)
            ms.append((time.perf_counter() - t) * 1000)
        out[str(n)] = {"p50_ms": round(pct(ms, 50), 1), "p95_ms": round(pct(ms, 95), 1)}
    out["p95_growth"] = round(out[str(big)]["p95_ms"] / out["1000"]["p95_ms"], 2)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="50 warm questions, 20,000 passages for the scale test")
    ap.add_argument("--skip-scale", action="store_true")
    ap.add_argument("--work", type=Path, default=Path("/tmp/regwatch-bench/gloss"),
                    help="where the benchmark regulations index is kept (shared with quality_bench.py)")
    args = ap.parse_args()
    if not REGS.is_dir():
        sys.exit(f"skipped: {REGS} is absent")
    from bench import sets

    res: dict[str, Any] = {"quick": args.quick}
    with tempfile.TemporaryDirectory(prefix="regwatch-speed-") as tmp:
        work = Path(tmp)
        settings = sets.regulations_index(args.work)
        res["warm"] = warm(settings, questions(50 if args.quick else 200))
        print("warm", res["warm"], flush=True)
        res["cold"] = cold(settings, "Do we need separate consent to share personal information with a partner?")
        print("cold", res["cold"], flush=True)
        if not args.skip_scale:
            res["scale"] = scale(settings, work, 20000 if args.quick else 100000, questions(60))
            print("scale", res["scale"], flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "speed.json").write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    rows = [("warm ask p50 / bare embedding p50", res["warm"]["p50_ratio"], "<= 2"),
            ("cold `regwatch ask` / tutorial LangChain cold", res["cold"]["ratio"], "<= 0.3")]
    if "scale" in res:
        rows.append((f"p95 ask at {list(res['scale'])[1]} / at 1000 passages", res["scale"]["p95_growth"], "<= 2"))
    print("| measure | ratio | target |\n|---|---|---|")
    for name, v, target in rows:
        print(f"| {name} | {v} | {target} |")


if __name__ == "__main__":
    main()
