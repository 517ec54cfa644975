"""Answer benchmark: does the answer state the fact asked for, in quotes that keep the sense?

Over bench/answer_questions.yaml (written for it; see its header) on an index of ../shared/regulations. Per run:
  fact stated      share of answerable questions whose lead line or quotes match one of the question's fact regexes
  lead states      the same, in the answer's first line alone
  gold cited       share whose citations include a gold unit
  fragments        share of answers with a quote piece that is not whole units of the source (a paragraph cut,
                   a sentence out of its paragraph, an item without its lead-in counts as a whole item here), or
                   that is a heading or label alone ('FACTS')
  abstention       answerable questions refused, unanswerable questions answered

The checks read only the Answer (its text and citations) and the source files, so the same script measures any
version of the code: `--code DIR` puts that checkout first on the import path.

  python bench/answer_bench.py [--data-dir DIR [--build]] [--code DIR] [--label NAME] [--out bench/results/answer.json]

With --build (or without --data-dir) the index of ../shared/regulations is built first, by the code measured. Runs with
different labels are kept side by side in the output file.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
REGS = REPO.parent / "shared" / "regulations"
QUESTIONS = REPO / "bench" / "answer_questions.yaml"
OUT = REPO / "bench" / "results" / "answer.json"

_FRONT = re.compile(r"\A---\s*\n.*?\n---\s*\n", re.S)
_ITEM = re.compile(r"^\s*(?:[(（][0-9一二三四五六七八九十a-z]{1,4}[)）]|\d{1,3}[.、)]\s|[一二三四五六七八九十]+、|[-*•·]\s)")
_ARTICLE = re.compile(r"^\s*(?:\*\*)?(?:Article\s+\d+|第[0-9一二三四五六七八九十百千零〇]+条)(?:\*\*)?[\s\u3000:：.]*")
_ARTICLE_SQUASHED = re.compile(r"^(?:Article\d+|第[0-9一二三四五六七八九十百千零〇]+条)[:：.]?")
_HEADING = re.compile(r"^\s*(?:#{1,6}\s|第[0-9一二三四五六七八九十]+[章节编]|(?:Chapter|Part|Section)\s+[IVXLC\d]+)")
_CAPS = re.compile(r"^[A-Z][A-Z0-9 &/,'()\-]{1,60}$")
_ANSWER_LINE = re.compile(r"^\s*(?P<where>.*?)[:：]\s*“(?P<quote>.*)” \[(?P<n>\d+)\]\s*$")
_WS = re.compile(r"\s+")


def squash(s: str) -> str:
    return _WS.sub("", s.replace("**", ""))


def is_label(line: str) -> bool:
    """A heading or label line: says what follows, states nothing."""
    t = line.strip()
    if _HEADING.match(t) or (_CAPS.match(t) and len(t.split()) <= 6):
        return True
    if _ITEM.match(t):
        return False
    cjk = bool(re.search(r"[\u4e00-\u9fff]", t))
    if cjk:  # a title or label line: no clause punctuation
        return len(t) <= 24 and not re.search(r"[。；：:，,]", t)
    return len(t.split()) <= 6 and not t.endswith((".", ";", ":", "。")) and not re.search(r"\d", t)


class Source:
    """A source file as units: paragraphs (blank-line separated; hard-wrapped lines inside one are one unit), list
    items and headings. Offsets are in the whitespace-free text, so a quote is compared whatever its spacing."""

    def __init__(self, text: str) -> None:
        body = _FRONT.sub("", text, count=1)
        units: list[tuple[str, bool]] = []  # (squashed text, is a label)
        for para in re.split(r"\n\s*\n", body):
            lines = [x for x in para.split("\n") if x.strip()]
            current: list[str] = []
            for i, line in enumerate(lines):
                starts = (i == 0 or _ITEM.match(line) or _ARTICLE.match(line) or _HEADING.match(line)
                          or is_label(lines[i - 1]) or is_label(line))
                if starts and current:
                    units.append(("".join(current), is_label(" ".join(current)) and len(current) == 1))
                    current = []
                current.append(squash(line))
            if current:
                units.append(("".join(current), len(current) == 1 and is_label(lines[-1])))
        self.text = ""
        self.starts: set[int] = set()
        self.ends: set[int] = set()
        self.labels: set[str] = set()
        for u, label in units:
            if not u:
                continue
            self.starts.add(len(self.text))
            m = _ARTICLE_SQUASHED.match(u)
            if m and m.end() < len(u):  # answers strip the article's own label: the text after it starts the unit
                self.starts.add(len(self.text) + m.end())
            self.text += u
            self.ends.add(len(self.text))
            if label:
                self.labels.add(u)

    def whole(self, piece: str) -> bool:
        """Whether `piece` is one or more consecutive whole units of the source."""
        p = squash(piece)
        if not p:
            return True
        at = self.text.find(p)
        while at >= 0:
            if at in self.starts and at + len(p) in self.ends:
                return True
            at = self.text.find(p, at + 1)
        return False


def pieces(quote: str) -> list[str]:
    return [x.strip() for x in re.split(r"…|\.\.\.|\n", quote) if x.strip()]


def answer_quotes(a: dict[str, Any]) -> tuple[list[tuple[str, int]], str]:
    """(quote, citation n) of every answer line that quotes, and the first such line's quote (the lead)."""
    out: list[tuple[str, int]] = []
    for line in a["answer"].splitlines():
        m = _ANSWER_LINE.match(line)
        if m:
            out.append((m.group("quote"), int(m.group("n"))))
    return out, (out[0][0] if out else "")


def gold_match(c: dict[str, Any], gold: list[dict[str, Any]]) -> bool:
    for g in gold:
        doc = Path(g["file"]).stem.lower()
        if c["doc_id"] != doc:
            continue
        if "article" in g and c.get("section_number") == g["article"]:
            return True
        if "section" in g and str(c.get("section", "")).startswith(g["section"]):
            return True
    return False


def judge(q: dict[str, Any], a: dict[str, Any], sources: dict[str, Source]) -> dict[str, Any]:
    quotes, lead = answer_quotes(a)
    cites = a["citations"]
    all_quotes = [x for x, _ in quotes] + [c["quote"] for c in cites]
    facts = [re.compile(f, re.I) for f in q.get("fact") or []]
    states = any(f.search(x) for f in facts for x in all_quotes) if not a["abstained"] else False
    lead_states = any(f.search(lead) for f in facts) if not a["abstained"] else False
    bad: list[str] = []
    if not a["abstained"]:
        by_n = {c["n"]: c for c in cites}
        checked = [(x, by_n.get(n)) for x, n in quotes] + [(c["quote"], c) for c in cites]
        for text, c in checked:
            if c is None:
                continue
            src = sources.get(c["source_path"])
            if src is None:
                path = Path(c["source_path"])
                src = sources[c["source_path"]] = Source(path.read_text(encoding="utf-8")) if path.is_file() \
                    else Source("")
            for piece in pieces(text):
                if squash(piece) in src.labels:
                    bad.append(f"heading-only [{c['n']}]: {piece[:60]}")
                elif src.text and not src.whole(piece):
                    bad.append(f"fragment [{c['n']}]: {piece[:80]}")
    return {
        "id": q["id"], "kind": q["kind"], "lang": q["lang"], "abstained": a["abstained"],
        "fact_stated": states, "lead_states": lead_states,
        "gold_cited": any(gold_match(c, q.get("gold") or []) for c in cites) if not a["abstained"] else False,
        "fragments": bad, "lead": lead[:300],
        "cited": [f"{c['doc_id']} {c['section']}" for c in cites],
        "answer": {"answer": a["answer"], "abstained": a["abstained"], "citations": [
            {k: c.get(k) for k in ("n", "doc_id", "section", "section_number", "source_path", "quote")} for c in cites]},
    }


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    answerable = [r for r in rows if r["kind"] != "unanswerable"]
    unanswerable = [r for r in rows if r["kind"] == "unanswerable"]
    answered = [r for r in rows if not r["abstained"]]

    def share(xs: list[dict[str, Any]], key: str) -> float:
        return round(sum(1 for r in xs if r[key]) / len(xs), 3) if xs else 0.0

    by_kind = {k: {"n": len(xs), "fact_stated": share(xs, "fact_stated"), "abstained": share(xs, "abstained")}
               for k in ("en", "zh", "cross") for xs in [[r for r in answerable if r["kind"] == k]]}
    return {
        "questions": len(rows), "answerable": len(answerable), "unanswerable": len(unanswerable),
        "fact_stated": share(answerable, "fact_stated"),
        "lead_states": share(answerable, "lead_states"),
        "gold_cited": share(answerable, "gold_cited"),
        "answers_with_fragment_or_heading": round(sum(1 for r in answered if r["fragments"]) / len(answered), 3)
        if answered else 0.0,
        "fragment_or_heading_quotes": sum(len(r["fragments"]) for r in rows),
        "answerable_refused": sum(1 for r in answerable if r["abstained"]),
        "unanswerable_answered": sum(1 for r in unanswerable if not r["abstained"]),
        "by_kind": by_kind,
    }


def rejudge(out_path: Path, questions_path: Path) -> int:
    import yaml

    questions = {q["id"]: q for q in yaml.safe_load(questions_path.read_text(encoding="utf-8"))["questions"]}
    out = json.loads(out_path.read_text(encoding="utf-8"))
    sources: dict[str, Source] = {}
    for label, run in out["runs"].items():
        run["questions"] = [judge(questions[r["id"]], r["answer"], sources) for r in run["questions"]
                            if r["id"] in questions]
        run["summary"] = summarise(run["questions"])
        print(json.dumps({label: {"commit": run["commit"], **run["summary"]}}, ensure_ascii=False, indent=1))
    out_path.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, help="the index to ask (built there with --build); default: a fresh "
                                                  "index of ../shared/regulations in a temporary folder")
    ap.add_argument("--build", action="store_true", help="index ../shared/regulations into --data-dir first")
    ap.add_argument("--code", type=Path, default=REPO, help="the checkout whose bot/ and indexer/ are measured")
    ap.add_argument("--label", default="this", help="the name of this run in the output file")
    ap.add_argument("--questions", type=Path, default=QUESTIONS)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--rejudge", action="store_true",
                    help="judge the answers stored in --out again (after editing the facts), without asking")
    args = ap.parse_args(argv)
    if args.rejudge:
        return rejudge(args.out, args.questions)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sys.path.insert(0, str(args.code.resolve()))
    import yaml

    from bot.answer import Asker
    from indexer.settings import Settings

    if args.data_dir is None:
        import tempfile

        args.data_dir, args.build = Path(tempfile.mkdtemp(prefix="regwatch-answer-bench-")), True
    settings = Settings(_env_file=None, data_dir=args.data_dir)  # type: ignore[call-arg]
    if args.build:
        from indexer.pipeline import Indexer

        idx = Indexer(settings)
        try:
            report = idx.index_paths([REGS])
        finally:
            idx.close()
        if report.failed:
            print(f"indexing failed for {report.failed} files", file=sys.stderr)
            return 1
    questions = yaml.safe_load(args.questions.read_text(encoding="utf-8"))["questions"]
    asker = Asker(settings)
    sources: dict[str, Source] = {}
    rows = [judge(q, asker.ask(q["q"]).to_json(), sources) for q in questions]
    summary = summarise(rows)
    commit = subprocess.run(["git", "-C", str(args.code), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    out: dict[str, Any] = json.loads(args.out.read_text()) if args.out.is_file() else {}
    out.setdefault("about", "bench/answer_bench.py over bench/answer_questions.yaml on an index of "
                            "../shared/regulations; each run names the commit it measured")
    out.setdefault("runs", {})[args.label] = {"commit": commit, "summary": summary, "questions": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({args.label: {"commit": commit, **summary}}, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
