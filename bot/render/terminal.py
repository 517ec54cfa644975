"""Terminal rendering with rich: index reports, status, answers with citations and links."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console()
err_console = Console(stderr=True)


@contextmanager
def progress_bar(*, enabled: bool = True) -> Iterator[Any]:
    """Yields a callback (done, total, path) that drives a rich progress bar on stderr, or None."""
    if not enabled or not err_console.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("[bold]Indexing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.description}"), console=err_console, transient=True) as prog:
        task = prog.add_task("", total=None)

        def update(done: int, total: int, path: str) -> None:
            prog.update(task, completed=done, total=total, description=path[-50:])

        yield update


def print_index_report(report: Any) -> None:
    t = Table(show_header=False, box=None)
    for label in ("added", "changed", "unchanged", "removed", "failed"):
        t.add_row(label, str(getattr(report, label)))
    t.add_row("passages", f"{report.passages} live, {report.embedded} embedded this run")
    t.add_row("seconds", f"{report.seconds:.1f}")
    console.print(t)
    if any(report.repaired.values()):
        console.print(f"[yellow]Repaired after an interrupted run:[/yellow] {report.repaired}")
    for e in report.errors:
        console.print(f"[red]failed[/red] {e.source_path}: {e.error}" + (f" [dim]({e.hint})[/dim]" if e.hint else ""))


def print_status(st: dict[str, Any]) -> None:
    c = st["counts"]
    console.print(f"[bold]{c['documents']} documents[/bold], {c['passages']} passages, {c['versions']} versions, "
                  f"{c['changes']} changes recorded ({c['removed']} removed)")
    console.print(f"store: {st['chroma']}   state: {st['state_store']}")
    for key in ("by_doc_type", "by_status", "by_language"):
        console.print(f"{key.removeprefix('by_')}: " + ", ".join(f"{k} {v}" for k, v in sorted(st[key].items())))
    if st["pending"]:
        console.print(f"[yellow]pending (an interrupted run; the next `regwatch index` completes them):[/yellow] {st['pending']}")
    t = Table("doc_id", "type", "status", "lang", "v", "title")
    for d in st["documents"]:
        t.add_row(d["doc_id"], d["doc_type"], d["status"], d["language"], str(d["version"]), d["title"][:70])
    console.print(t)
