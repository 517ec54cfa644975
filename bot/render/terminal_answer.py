"""An answer in the terminal: the cited answer, then each citation with its locator, status, date and link.

Every text from a question or a document goes through rich's Text (never markup), so '[bold]' or an escape
sequence inside a regulation is shown as it is written and cannot restyle or hijack the terminal.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.text import Text

from bot.types import Answer, Citation

_STATUS_STYLE = {"in_force": "green", "published": "green", "draft": "yellow", "partly_superseded": "yellow",
                 "superseded": "red", "repealed": "red"}


def link_of(c: Citation) -> str:
    """The citation's URL, else a file:// link to its source file (absolute paths only), else the path as given."""
    if c.url:
        return c.url
    p = Path(c.source_path)
    return p.resolve().as_uri() if p.is_absolute() else c.source_path


def render_answer(a: Answer, console: Console) -> None:
    console.print(Text("Q: ", style="bold") + Text(a.question))
    if a.asked_as:
        console.print(Text("Asked as: ", style="dim bold") + Text(a.asked_as, style="dim"))
    console.print()
    console.print(Text(a.answer, style="bold yellow" if a.abstained else ""))
    if a.notice:
        console.print(Text(a.notice, style="yellow"))
    elif a.mode == "generated":
        dropped = len(a.dropped_sentences)
        console.print(Text("Written by the configured model; every sentence checked against its cited passage"
                           + (f" ({dropped} unsupported sentence{'s' if dropped != 1 else ''} dropped)." if dropped
                              else "."), style="dim"))
    if not a.citations:
        return
    console.print()
    heading = "Closest passages (they do not answer the question):" if a.abstained else "Sources:"
    console.print(Text(heading, style="bold"))
    for c in a.citations:
        console.print(_citation(c))
    total = a.timings_ms.get("total")
    if total is not None:
        console.print(Text(f"\n{total:.0f} ms", style="dim"))


def _citation(c: Citation) -> Text:
    t = Text()
    t.append(f"[{c.n}] ", style="bold cyan")
    t.append(c.short_title or c.title, style="bold")
    t.append(f" — {c.section}")
    if c.chapter_path:
        t.append(f" ({' / '.join(c.chapter_path)})", style="dim")
    t.append("\n    ")
    t.append(c.status.replace("_", " "), style=_STATUS_STYLE.get(c.status, ""))
    t.append(f" · {c.doc_type}")
    if c.effective:
        t.append(f" · effective {c.effective}")
    t.append(f" · v{c.version} · {c.doc_id}")
    if c.caveat:
        t.append("\n    ⚠ " + c.caveat, style="yellow")
    t.append("\n    “")
    t.append(c.quote, style="italic")
    t.append("”\n    ")
    link = link_of(c)
    t.append(link, style=f"link {link}" if "://" in link else "")
    return t
