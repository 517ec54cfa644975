"""Every number and switch of the ranking, in one place, each with the figure that keeps it.

`Tuning()` is what `regwatch ask` ranks with; bench/ablation_bench.py builds variants (`Tuning(**overrides)`) to
measure a stage by leaving it out. A stage stays only while it earns +0.01 Recall@1 or Recall@5 on a set it is
measured on (the tuning questions, LeCoQA, PolicyQA, the cross-language article pairs) without losing as much on
another; the held-out questions are reported beside them and never decide. Figures: bench/results/ablation.md
(full pipeline vs the stage left out, multilingual-e5-small).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Tuning:
    # Reciprocal-rank constant: a passage that tops one list can beat one middling in several (tuning R@5 .867 vs
    # .711 at the usual 60; zh->en pairs R@5 .943 vs .893).
    rrf_k: int = 5
    # A passage is scored only by the lists able to find it (bot.retrieve.LISTS): tuning R@5 .867 vs .756.
    per_language_fusion: bool = True
    # Across languages on words: the wide English gloss of Chinese passages (zh->en pairs R@5 .943 vs .490).
    glossed_list: bool = True
    # A law named in the question is searched inside for what else is asked (tuning R@1 .611 vs .589).
    named_list: bool = True
    # Lexical candidates re-scored with the whole question, repeats included (tuning R@1 .611 vs .578).
    lexical_rescore: bool = True
    # The best `rerank_pool` fused passages re-ranked by score x (1 + evidence_rerank x coverage): tuning R@1 .611
    # vs .522, en->zh pairs R@1 .790 vs .764.
    evidence_rerank: float = 0.5
    rerank_pool: int = 10
    # A law's preamble (title and adoption record) matches its name, never a duty (tuning R@1 .611 vs .600).
    preamble_prior: float = 0.5
    # Texts in force first (en->zh pairs R@1 .790 vs .666: the 2016 CSL against its 2026 consolidation).
    status_prior: dict[str, float] = field(default_factory=lambda: {
        "in_force": 1.0, "published": 1.0, "partly_superseded": 0.85, "draft": 0.75, "superseded": 0.6,
        "repealed": 0.5})
    # Official text before commentary (tuning R@1 .611 vs .589, zh->en R@1 .574 vs .554).
    type_prior: dict[str, float] = field(default_factory=lambda: {"commentary": 0.85, "news": 0.8})
    # A law named in the question lifts its passages (tuning R@1 .611 vs .600).
    named_doc_boost: float = 1.6
    # Asked about an old text by name, the text that replaced it answers another question (tuning R@1 .611 vs .589).
    successor_of_named: float = 0.6
    # The answer abstains unless one of the fused list's first `leading` passages holds the question (bot/answer.py).
    leading: int = 3


DEFAULT = Tuning()
