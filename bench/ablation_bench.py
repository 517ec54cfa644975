"""Leave-one-out ablation of the ask path's stages, on the default embedding model, in one run.

Every variant is `bot.tuning.Tuning` with one stage switched off (or one constant set to its neutral value), ranked
over the same indexes with the same cached question vectors. The verdict column applies the rule a stage lives by:
it stays only if it earns at least +0.01 Recall@1 or Recall@5 on some set it is measured on (tune, LeCoQA,
PolicyQA, the cross-language pairs) without losing as much on another. The held-out set is measured and written
beside them, but the verdict never reads it.

Usage: python bench/ablation_bench.py [--work DIR] [--variants a,b] [--policyqa-every 4] [--lecoqa-every 1]
Writes bench/results/ablation.json and bench/results/ablation.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from bench import sets  # noqa: E402
from bench.baselines import first_rank, metrics  # noqa: E402

RESULTS = REPO / "bench" / "results"
DECIDING = ("tune", "lecoqa", "policyqa", "en->zh", "zh->en")


def variants() -> dict[str, dict[str, Any]]:
    """name -> Tuning overrides: every surviving stage left out once. The first pass, over the pipeline before the
    deletions (glossary-translated list, pseudo-relevance feedback, other-language, general-provisions and
    bare-article priors, near-duplicate text collapse, fitted list weights), is bench/results/ablation-first-pass.md."""
    return {
        "full": {},
        "-wide-gloss list": {"glossed_list": False},
        "-named-document list": {"named_list": False},
        "-lexical re-score": {"lexical_rescore": False},
        "-evidence re-rank": {"evidence_rerank": 0.0},
        "-preamble prior": {"preamble_prior": 1.0},
        "-status prior": {"status_prior": {}},
        "-type prior": {"type_prior": {}},
        "-named-document boost": {"named_doc_boost": 1.0},
        "-successor-of-named prior": {"successor_of_named": 1.0},
        "-per-language fusion": {"per_language_fusion": False},
        "rrf_k 60 (not 5)": {"rrf_k": 60},
    }


class CachedEmbedder:
    """The configured embedder with a memo of question vectors: every variant asks the same questions."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.model_id, self.memo = inner, inner.model_id, {}

    @property
    def dim(self) -> int:
        return int(self.inner.dim)

    def embed_query(self, text: str) -> list[float]:
        if text not in self.memo:
            self.memo[text] = self.inner.embed_query(text)
        return self.memo[text]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.inner.embed_documents(texts)


def rank_set(r: Any, items: list[sets.Item]) -> list[int | None]:
    return [first_rank([it.is_hit(h) for h in r.search(it.q, k=sets.K, filters=it.filters).hits])
            for it in items if it.answerable]


def build(work: Path, lecoqa_every: int, policyqa_every: int, **overrides: Any) -> dict[str, tuple[Any, list[sets.Item]]]:
    """set name -> (settings of its index, items)."""
    t = time.perf_counter()
    regs = sets.regulations_index(work, **overrides)
    print(f"regulations indexed ({time.perf_counter() - t:.0f} s)", flush=True)
    t = time.perf_counter()
    leco, pid_art = sets.lecoqa_index(work, **overrides)
    print(f"LeCoQA indexed ({time.perf_counter() - t:.0f} s)", flush=True)
    t = time.perf_counter()
    pol = sets.policyqa_index(work, **overrides)
    print(f"PolicyQA indexed ({time.perf_counter() - t:.0f} s)", flush=True)
    return {
        "tune": (regs, sets.yaml_set("questions")),
        "heldout": (regs, sets.yaml_set("heldout")),
        "lecoqa": (leco, sets.lecoqa_set(pid_art, lecoqa_every)),
        "policyqa": (pol, sets.policyqa_set(policyqa_every)),
        "en->zh": (regs, sets.crosslang_set(regs, "en")),
        "zh->en": (regs, sets.crosslang_set(regs, "zh")),
    }


def measure(built: dict[str, tuple[Any, list[sets.Item]]], tuning: Any, embedders: dict[str, CachedEmbedder]
            ) -> dict[str, dict[str, float]]:
    from bot.retrieve import Retriever
    from indexer.embed import make_embedder

    out = {}
    for name, (settings, items) in built.items():
        key = str(settings.data_dir)
        if key not in embedders:
            embedders[key] = CachedEmbedder(make_embedder(settings))
        r = Retriever(settings, tuning=tuning, embedder=embedders[key])
        out[name] = metrics(rank_set(r, items))
    return out


def verdict(full: dict[str, dict[str, float]], without: dict[str, dict[str, float]]) -> tuple[str, float, float]:
    """('keep' | 'delete', best gain, worst loss) of a stage: full minus the variant without it, on the deciding
    sets only, Recall@1 and Recall@5."""
    deltas = [full[s][m] - without[s][m] for s in DECIDING for m in ("recall@1", "recall@5")]
    gain, loss = max(deltas), -min(deltas)
    return ("keep" if gain >= 0.01 and loss < gain else "delete"), round(gain, 4), round(loss, 4)


def table(res: dict[str, Any]) -> str:
    cols = ["tune", "lecoqa", "policyqa", "en->zh", "zh->en", "heldout"]
    head = "| variant | " + " | ".join(f"{c} R@1 / R@5" for c in cols) + " | verdict (gain / loss) |"
    lines = [head, "|" + "---|" * (len(cols) + 2)]
    for name, row in res["variants"].items():
        cells = [f"{row['sets'][c]['recall@1']:.3f} / {row['sets'][c]['recall@5']:.3f}" for c in cols]
        v = row.get("verdict")
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {v[0] + f' ({v[1]:+.3f} / {-v[2]:+.3f})' if v else ''} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=Path("/tmp/regwatch-bench"), help="where the indexes are kept")
    ap.add_argument("--variants", default="", help="comma-separated variant names (default: all)")
    ap.add_argument("--lecoqa-every", type=int, default=1)
    ap.add_argument("--policyqa-every", type=int, default=4)
    ap.add_argument("--no-gloss", action="store_true", help="embed Chinese as it is (REGWATCH_GLOSS_CHINESE=false)")
    ap.add_argument("--out", default="ablation")
    args = ap.parse_args()
    if not sets.REGS.is_dir():
        sys.exit(f"skipped: {sets.REGS} is absent")
    from bot.tuning import Tuning

    overrides = {"gloss_chinese": False} if args.no_gloss else {}
    work = args.work / ("plain" if args.no_gloss else "gloss")
    built = build(work, args.lecoqa_every, args.policyqa_every, **overrides)
    wanted = [v for v in args.variants.split(",") if v] or list(variants())
    embedders: dict[str, CachedEmbedder] = {}
    res: dict[str, Any] = {"sizes": {n: sum(i.answerable for i in items) for n, (_s, items) in built.items()},
                           "policyqa_every": args.policyqa_every, "lecoqa_every": args.lecoqa_every,
                           "gloss_chinese": not args.no_gloss, "variants": {}}
    for name in wanted:
        t = time.perf_counter()
        row = {"sets": measure(built, Tuning(**variants()[name]), embedders)}
        res["variants"][name] = row
        if name != "full" and name.startswith("-") and "full" in res["variants"]:
            row["verdict"] = verdict(res["variants"]["full"]["sets"], row["sets"])
        print(f"{name} ({time.perf_counter() - t:.0f} s): " + "  ".join(
            f"{s} {m['recall@1']:.3f}/{m['recall@5']:.3f}" for s, m in row["sets"].items())
              + (f"  -> {row['verdict']}" if "verdict" in row else ""), flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.out}.json").write_text(json.dumps(res, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (RESULTS / f"{args.out}.md").write_text(table(res) + "\n", encoding="utf-8")
    print(table(res))


if __name__ == "__main__":
    main()
