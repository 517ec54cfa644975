"""Peak memory of hostile files, on this tree and (optionally) on another checkout of regwatch: a DOCX zip bomb, a
YAML alias bomb in front matter, and a 600 MB file in an indexed folder.

Each case runs in a fresh child process (its peak RSS from getrusage); a watchdog kills a child past --cap-mb, so
an old tree that would expand a bomb without bound cannot take the machine down. The DOCX and YAML cases time the
parser (parse_file, where the bombs went off); the 600 MB file runs `regwatch index` on a folder holding it, since
the index run read the whole file before any check. Baseline: the same `regwatch index` on a folder with one small
file that fails to parse (imports, stores, no model), so what a case adds can be read off.

    python bench/hostile_bench.py --other /path/to/old/checkout --out bench/results/hostile.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.hostile_files import docx_bomb, sparse_file, yaml_alias_bomb  # noqa: E402

PARSE = """
import sys
from pathlib import Path
from indexer.settings import Settings
from indexer.parse import parse_file
try:
    doc = parse_file(Path(sys.argv[1]), settings=Settings(_env_file=None))
    print("parsed:", len(doc.text), "chars;", len(str(doc.meta.to_dict())), "chars of metadata")
except Exception as e:
    print("refused:", str(e).splitlines()[0][:160])
"""


def _child(tree: Path, args: list[str], env_extra: dict[str, str], cap_mb: int) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REGWATCH_", "SLACK_"))}
    env.update(PYTHONPATH=str(tree), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", **env_extra)
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, *args], cwd=tree, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    killed = threading.Event()
    seen = [0]

    def watch() -> None:  # /proc, not psutil: no extra dependency for a bench
        while proc.poll() is None:
            try:
                with open(f"/proc/{proc.pid}/status") as f:
                    rss_kb = next(int(line.split()[1]) for line in f if line.startswith("VmRSS"))
            except (OSError, StopIteration, ValueError):
                rss_kb = 0
            seen[0] = max(seen[0], rss_kb)
            if rss_kb > cap_mb * 1024:
                killed.set()
                proc.kill()
            time.sleep(0.02)

    threading.Thread(target=watch, daemon=True).start()
    out, err = proc.communicate(timeout=1800)
    lines = out.strip().splitlines()
    peak = next((float(x.split()[1]) for x in lines if x.startswith("PEAK_RSS_MB")), None)
    body = "\n".join(x for x in lines if not x.startswith("PEAK_RSS_MB"))
    try:
        report = json.loads(body)
        result = {"added": report.get("added"), "errors": [e.get("error") for e in report.get("errors", [])]}
    except ValueError:
        result = body.splitlines()[-1][:300] if body else (err.strip().splitlines() or [""])[-1][:300]
    return {"peak_rss_mb": peak if peak is not None else round(seen[0] / 1024, 1), "killed_over_cap": killed.is_set(),
            "seconds": round(time.perf_counter() - t0, 2), "exit": proc.returncode, "result": result}


def run_tree(tree: Path, work: Path, cap_mb: int) -> dict[str, dict[str, object]]:
    """The cases, each in a fresh child that reports its own peak RSS (getrusage RUSAGE_SELF) when it ends."""
    results = {}
    cases = {
        "baseline_index_small_failing_file": ("index", work / "small"),
        "docx_bomb_400MiB_parse": ("parse", work / "bomb.docx"),
        "yaml_alias_bomb_parse": ("parse", work / "laughs.md"),
        "file_600MB_index": ("index", work / "big"),
    }
    for name, (kind, path) in cases.items():
        data = tempfile.mkdtemp(prefix="hostile-data-", dir=work)
        if kind == "parse":
            args = ["-c", LAUNCH, "-c", PARSE, str(path)]
        else:
            args = ["-c", LAUNCH, "-m", "bot.cli", "index", str(path), "--json"]
        results[name] = _child(tree, args, {"REGWATCH_DATA_DIR": data}, cap_mb)
        print(f"  {name}: {results[name]}", file=sys.stderr)
    return results


# Runs the real command and prints its own peak RSS last (getrusage RUSAGE_SELF), so each case's figure is its own.
LAUNCH = """
import resource, runpy, sys
mode, target, *rest = sys.argv[1:]
sys.argv = [target, *rest]
try:
    if mode == "-m":
        runpy.run_module(target, run_name="__main__", alter_sys=True)
    else:
        sys.argv = ["-c", *rest]
        exec(compile(target, "<case>", "exec"), {"__name__": "__main__"})
except SystemExit:
    pass
finally:
    print("PEAK_RSS_MB", round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1), flush=True)
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--other", type=Path, help="another regwatch checkout to compare (e.g. the code before the fix)")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "hostile.json")
    ap.add_argument("--cap-mb", type=int, default=6000, help="kill a child whose RSS passes this")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="hostile-") as tmp:
        work = Path(tmp)
        (work / "small").mkdir()
        (work / "small" / "empty.md").write_text(" \n", encoding="utf-8")
        (work / "big").mkdir()
        sparse_file(work / "big" / "big.txt", 600 * 1024 * 1024)
        (work / "bomb.docx").write_bytes(docx_bomb(400))
        (work / "laughs.md").write_text(yaml_alias_bomb(9), encoding="utf-8")
        files = {"docx_bomb_bytes": (work / "bomb.docx").stat().st_size,
                 "yaml_front_matter_bytes": len(yaml_alias_bomb(9).split("---")[1].encode())}
        out: dict[str, object] = {"files": files, "cap_mb": args.cap_mb}
        trees = {"this": REPO, **({"other": args.other.resolve()} if args.other else {})}
        for label, tree in trees.items():
            print(f"{label}: {tree}", file=sys.stderr)
            res = run_tree(tree, work, args.cap_mb)
            out[label] = {"tree": str(tree), "cases": res}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(out, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
