"""The benchmark corpora and question sets, built once and shared by quality_bench.py and ablation_bench.py.

Each set is a list of `Item`s: a question, the filters it is asked with, and a function saying whether a hit is
right. Corpora are indexed into `work/<name>` and reused while their settings are the same (a marker file records
the model identity and the corpus kind), so a second run measures instead of re-embedding.

- tune: bench/questions.yaml, the set earlier sessions tuned on (90 answerable + 14 unanswerable).
- heldout: bench/heldout.yaml, written apart from the ranking code; measured only to report.
- lecoqa, policyqa: the public dev sets (../shared/datasets).
- crosslang: the first sentence of each article of the five laws indexed in both languages, asked of the other
  language's documents; the hit is the same article of the translation (no questions of ours).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
REGS = SHARED / "regulations"
K = 10


@dataclass
class Item:
    q: str
    is_hit: Callable[[Any], bool]  # a bot.retrieve.Hit -> right or not
    filters: Any = None
    kind: str = ""
    form: str = ""
    qid: str = ""
    answerable: bool = True
    meta: dict[str, Any] = field(default_factory=dict)


def settings_for(data: Path, **overrides: Any) -> Any:
    from indexer.settings import Settings

    return Settings(_env_file=None, data_dir=data, **overrides)  # type: ignore[call-arg]


def _fresh(settings: Any, tag: str) -> bool:
    """True when `settings.data_dir` already holds this corpus embedded with this model."""
    from indexer.embed import model_identity

    mark = settings.data_dir / "bench-corpus.txt"
    want = f"{tag} {model_identity(settings)} gloss={settings.gloss_chinese}"
    if mark.is_file() and mark.read_text(encoding="utf-8") == want:
        return True
    import shutil

    shutil.rmtree(settings.data_dir, ignore_errors=True)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return False


def _mark(settings: Any, tag: str) -> None:
    from indexer.embed import model_identity

    (settings.data_dir / "bench-corpus.txt").write_text(
        f"{tag} {model_identity(settings)} gloss={settings.gloss_chinese}", encoding="utf-8")


# --- corpora ---------------------------------------------------------------------------------------------------
def regulations_index(work: Path, **overrides: Any) -> Any:
    """../shared/regulations through the real pipeline (parse, structure, metadata, embed)."""
    from indexer.pipeline import Indexer

    settings = settings_for(work / "regulations", **overrides)
    if not _fresh(settings, "regulations-v2"):
        ix = Indexer(settings)
        try:
            ix.index_paths([REGS])
        finally:
            ix.close()
        _mark(settings, "regulations-v2")
    return settings


def write_direct(settings: Any, docs: list[tuple[str, str, list[Any], Any]]) -> None:
    """(doc_id, source, passages, DocMeta) straight into ledger, Chroma and the lexical index: one passage per unit."""
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
                texts.append(embed_text(p, meta, ix.embed_glosser))
                metas.append(_chroma_meta(p, v, meta, texts[-1]))
        ix._embed_into_store(ids, texts, metas)
        for doc_id, source, passages, meta, v in jobs:
            ix.ledger.commit_version(doc_id=doc_id, version=v, origin=source, source_path=source, meta=meta,
                                     new_passages=passages, change=None)
            for lex in ix.lexicals:
                lex.replace_document(doc_id, v, [(p.id, p.text) for p in passages])
        ix.ledger.finish_run(run, "done", {})
    finally:
        ix.close()


def lecoqa_corpus() -> tuple[list[tuple[str, str, list[Any], Any]], dict[str, str]]:
    from indexer.models import DocMeta, Passage
    from indexer.numerals import zh_to_int

    root = SHARED / "datasets" / "LeCoQA"
    arts = [json.loads(line) for line in (root / "articles.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
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
    return docs, pid_art


def lecoqa_index(work: Path, **overrides: Any) -> tuple[Any, dict[str, str]]:
    settings = settings_for(work / "lecoqa", **overrides)
    docs, pid_art = lecoqa_corpus()
    if not _fresh(settings, "lecoqa-v1"):
        write_direct(settings, docs)
        _mark(settings, "lecoqa-v1")
    return settings, pid_art


def policyqa_corpus() -> tuple[list[tuple[str, str, list[Any], Any]], dict[str, str], list[tuple[str, str, str, str]]]:
    """Each policy through regwatch's splitter at the tutorial's chunk budget (1000/200), so unit size is not what is
    compared; a hit is a passage that contains the answer text."""
    from indexer.metadata import slugify_doc_id
    from indexer.models import DocMeta
    from indexer.structure import split_passages

    data = json.loads((SHARED / "datasets" / "PolicyQA" / "dev.json").read_text(encoding="utf-8"))["data"]
    docs, seg_text, questions = [], {}, []
    for pol in data:
        doc_id = slugify_doc_id(pol["title"])
        text = "\n\n".join(para["context"] for para in pol["paragraphs"])
        ps = split_passages(doc_id, text, max_chars=1000, overlap=200)
        docs.append((doc_id, f"policyqa://{pol['title']}", ps,
                     DocMeta(title=pol["title"], doc_type="guideline", language="en")))
        seg_text.update({p.id: p.text for p in ps})
        for para in pol["paragraphs"]:
            questions += [(doc_id, pol["title"], qa["question"], qa["answers"][0]["text"]) for qa in para["qas"]]
    return docs, seg_text, questions


def policyqa_index(work: Path, **overrides: Any) -> Any:
    settings = settings_for(work / "policyqa", **overrides)
    docs, _seg, _q = policyqa_corpus()
    if not _fresh(settings, "policyqa-v1"):
        write_direct(settings, docs)
        _mark(settings, "policyqa-v1")
    return settings


# --- question sets ----------------------------------------------------------------------------------------------
def _gold_hit(gold: list[dict[str, Any]]) -> Callable[[Any], bool]:
    def is_hit(h: Any) -> bool:
        src = h.doc.source_path
        return any(src.endswith(g["file"]) and (g.get("article") is None or h.section_number == g["article"])
                   for g in gold)
    return is_hit


def yaml_set(name: str) -> list[Item]:
    """'questions' (the tuning set) or 'heldout'."""
    qs = yaml.safe_load((REPO / "bench" / f"{name}.yaml").read_text(encoding="utf-8"))["questions"]
    return [Item(q=q["q"], is_hit=_gold_hit(q.get("gold") or []), kind=q["kind"], form=q.get("form", ""),
                 qid=q["id"], answerable=bool(q.get("gold")), meta={"gold": q.get("gold") or []}) for q in qs]


def lecoqa_set(pid_art: dict[str, str], every: int = 1) -> list[Item]:
    qs = json.loads((SHARED / "datasets" / "LeCoQA" / "dev_queries.json").read_text(encoding="utf-8"))[::every]
    return [Item(q=q["question"], is_hit=(lambda h, g=frozenset(q["gold"]): pid_art.get(h.passage_id) in g),
                 kind="zh", qid=str(q["query_id"]), meta={"gold": q["gold"]}) for q in qs]


def policyqa_set(every: int = 1) -> list[Item]:
    from bot.types import Filters

    _docs, _seg, questions = policyqa_corpus()
    return [Item(q=q, is_hit=(lambda h, a=ans: a in h.text), filters=Filters(doc_id=[doc_id]), kind="en",
                 meta={"answer": ans})
            for doc_id, _title, q, ans in questions[::every]]


_HEAD_EN = re.compile(r"^\s*Article\s+\d+\s*")
_HEAD_ZH = re.compile(r"^\s*第\S+?条\s*")


def crosslang_set(settings: Any, source_lang: str) -> list[Item]:
    """Each article of a `source_lang` law asked (its first sentence, heading stripped) of the translation."""
    from bot.retrieve import Retriever
    from bot.types import Filters
    from indexer.ledger import Ledger

    r = Retriever(settings)
    led, cat = Ledger(r.engine), r.catalog()
    target = "zh" if source_lang == "en" else "en"
    out = []
    for d, doc in sorted(cat.docs.items()):
        other = cat.translations.get(d)
        if doc.language != source_lang or other is None or cat.docs[other].language == source_lang:
            continue
        gold = {p["section_number"] for p in led.passages_of(other) if p["section_kind"] == "article"}
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
            n = p["section_number"]
            out.append(Item(q=q, is_hit=(lambda h, o=other, n=n: h.doc.doc_id == o and h.section_number == n),
                            filters=Filters(language=[target]), kind=f"{source_lang}->{target}"))
    return out

