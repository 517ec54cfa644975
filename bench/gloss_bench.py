"""Gloss benchmark: does the English gloss put a Chinese article where its English translation is?

No questions involved, so nothing here can be tuned to the question set. The five laws in ../shared/regulations that
exist in both languages (PIPL, DSL, CSL 2026, the Network Data Regulations, the GenAI Measures) give 298 article
pairs. Each Chinese article is embedded three ways, and its English counterpart is searched for among all 298+
English articles by cosine similarity with the bundled model:
  raw          - the Chinese text as it is (what an English-only model sees without the gloss)
  dictionary   - the gloss from CC-CEDICT alone (no glossary terms, no statute senses, no amounts or dates)
  regwatch     - indexer/gloss.py as shipped (glossary terms, statute senses, amounts and dates, CC-CEDICT)
"Article N" / 第N条 headings are stripped first: otherwise the number alone would pair them. The same is done per
paragraph where both versions of an article have the same number of paragraphs (a finer, harder test).
Usage: python bench/gloss_bench.py   (about 1 minute; writes bench/results/gloss.json)
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = REPO.parent / "shared" / "regulations"
RESULTS = REPO / "bench" / "results"
PAIRS = ["PIPL_2021", "DSL_2021", "CSL_2026-consolidated", "Network-Data-Security-Management-Regulations_2024",
         "GenAI-Interim-Measures_2023"]
_HEADING = re.compile(r"^#*\s*(Article \d+|第[零〇一二两三四五六七八九十百千]+条)\s*")


def articles(path: Path, settings: Any) -> dict[int, str]:
    from indexer.parse import parse_file
    from indexer.structure import split_passages

    doc = parse_file(path, settings=settings)
    return {p.section_number: _HEADING.sub("", p.text) for p in split_passages("x", doc.text)
            if p.section_kind == "article" and p.section_number}


def paragraphs(text: str) -> list[str]:
    return [_HEADING.sub("", x.strip()) for x in text.split("\n") if len(x.strip()) > 6]


def units() -> tuple[dict[tuple[Any, ...], str], dict[tuple[Any, ...], str], dict[tuple[Any, ...], str],
                     dict[tuple[Any, ...], str]]:
    from indexer.settings import Settings

    s = Settings(_env_file=None)
    en: dict[tuple[Any, ...], str] = {}
    zh: dict[tuple[Any, ...], str] = {}
    for law in PAIRS:
        en.update({(law, n): t for n, t in articles(SHARED / "en" / f"{law}_en.md", s).items()})
        zh.update({(law, n): t for n, t in articles(SHARED / "zh" / f"{law}_zh.md", s).items()})
    en_p: dict[tuple[Any, ...], str] = {}
    zh_p: dict[tuple[Any, ...], str] = {}
    for k in zh.keys() & en.keys():
        a, b = paragraphs(en[k]), paragraphs(zh[k])
        if len(a) == len(b) > 1:
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                en_p[(*k, i)], zh_p[(*k, i)] = x, y
    return en, zh, en_p, zh_p


def score(emb: Any, en: dict[tuple[Any, ...], str], zh: dict[tuple[Any, ...], str], render: Any) -> dict[str, Any]:
    keys = sorted(zh.keys() & en.keys(), key=str)
    targets = sorted(en, key=str)
    pos = {k: i for i, k in enumerate(targets)}
    e = np.array(emb.embed_documents([en[k] for k in targets]))
    z = np.array(emb.embed_documents([render(zh[k]) for k in keys]))
    sims = z @ e.T
    ranks = np.array([int((sims[i] > sims[i, pos[k]]).sum()) for i, k in enumerate(keys)])
    return {"n": len(keys), "candidates": len(targets), "p@1": round(float((ranks == 0).mean()), 3),
            "p@5": round(float((ranks < 5).mean()), 3), "mrr": round(float((1 / (ranks + 1)).mean()), 3)}


def main() -> None:
    from indexer.embed import make_embedder
    from indexer.gloss import Glosser, cedict
    from indexer.glossary import Glossary, load_glossary
    from indexer.settings import Settings

    s = Settings(_env_file=None)
    emb = make_embedder(s, purpose="index")
    shipped = Glosser(load_glossary(s.resolved_glossary))
    plain = Glosser(Glossary.empty(), dictionary=cedict(), statute_senses=False)
    methods = {"raw": lambda t: t, "dictionary": plain.gloss, "regwatch": shipped.gloss}
    en, zh, en_p, zh_p = units()
    out: dict[str, Any] = {}
    for level, (a, b) in {"article": (en, zh), "paragraph": (en_p, zh_p)}.items():
        out[level] = {name: score(emb, a, b, f) for name, f in methods.items()}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "gloss.json").write_text(json.dumps(out, indent=2) + "\n")
    print("| level | method | P@1 | P@5 | MRR | pairs | candidates |\n|---|---|---|---|---|---|---|")
    for level, rows in out.items():
        for name, m in rows.items():
            print(f"| {level} | {name} | {m['p@1']:.3f} | {m['p@5']:.3f} | {m['mrr']:.3f} | {m['n']} | {m['candidates']} |")


if __name__ == "__main__":
    main()
