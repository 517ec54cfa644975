"""The generated answer as it streams in: shown live on a terminal, then replaced by the verified answer."""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console
from rich.live import Live
from rich.text import Text

from bot.types import Answer


def streamed(console: Console, run: Callable[[Callable[[str], None] | None], Answer]) -> Answer:
    """`run(on_token)` with its tokens shown live (dim: not yet checked); the live text goes when it returns, and
    the caller renders the verified answer in its place. Not a terminal: nothing is shown until then."""
    if not console.is_terminal:
        return run(None)
    parts: list[str] = []
    with Live(Text("…", style="dim"), console=console, transient=True, refresh_per_second=10) as live:

        def on_token(text: str) -> None:
            parts.append(text)
            live.update(Text("".join(parts) + " (checking against the sources…)", style="dim"))

        return run(on_token)
