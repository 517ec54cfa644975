"""`regwatch ask`: registered on the main app by bot.cli. Imports stay light: no model library is loaded here."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from indexer.models import DOC_TYPES, LANGUAGES, STATUSES

from .types import Filters


def _date(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value.strip()).isoformat()
    except ValueError as e:
        raise typer.BadParameter(f"{value!r} is not a date (use YYYY-MM-DD)", param_hint=name) from e


def _split(values: list[str] | None) -> list[str]:
    """Repeated options and comma lists alike: --status in_force --status draft == --status in_force,draft."""
    return [v.strip() for x in values or [] for v in x.split(",") if v.strip()]


def _choices(values: list[str] | None, allowed: tuple[str, ...], name: str) -> list[str]:
    """`_split`, and each value one of `allowed`: a mistyped status would otherwise match nothing and read as
    'no indexed passage answers this question'."""
    out = _split(values)
    wrong = [v for v in out if v not in allowed]
    if wrong:
        raise typer.BadParameter(f"{', '.join(map(repr, wrong))}: use {', '.join(allowed)}", param_hint=name)
    return out


def ask_cmd(
    question: Annotated[str, typer.Argument(help="The question, in English or Chinese.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object: question, answer, abstained, citations, timings_ms.")] = False,
    k: Annotated[int | None, typer.Option("-k", "--top-k", min=1, max=50, help="How many passages to consider and cite at most.")] = None,
    doc_type: Annotated[list[str] | None, typer.Option("--doc-type", help="law, regulation, standard, draft, guideline, commentary, news, enforcement.")] = None,
    status: Annotated[list[str] | None, typer.Option("--status", help="in_force, draft, published, partly_superseded, superseded, repealed.")] = None,
    issuer: Annotated[list[str] | None, typer.Option("--issuer", help="Issuer contains this text (case-insensitive), e.g. CAC or 国家互联网信息办公室.")] = None,
    language: Annotated[list[str] | None, typer.Option("--language", help="en or zh: the language of the passages.")] = None,
    jurisdiction: Annotated[list[str] | None, typer.Option("--jurisdiction", help="e.g. CN.")] = None,
    topic: Annotated[list[str] | None, typer.Option("--topic", help="e.g. cross-border, personal-information.")] = None,
    doc_id: Annotated[list[str] | None, typer.Option("--doc-id", help="Only these documents (see `regwatch status`).")] = None,
    effective_from: Annotated[str | None, typer.Option("--effective-from", help="Effective on or after YYYY-MM-DD.")] = None,
    effective_to: Annotated[str | None, typer.Option("--effective-to", help="Effective on or before YYYY-MM-DD.")] = None,
    published_from: Annotated[str | None, typer.Option("--published-from", help="Published on or after YYYY-MM-DD.")] = None,
    published_to: Annotated[str | None, typer.Option("--published-to", help="Published on or before YYYY-MM-DD.")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Answer from the texts in force on YYYY-MM-DD (drafts open for comment that day are named beside). A date in the question does the same.")] = None,
    thread: Annotated[str | None, typer.Option("--thread", help="A conversation id: a follow-up ('and Article 39?') is rewritten from its earlier turns into a standalone question, which is shown.")] = None,
) -> None:
    """Answer a compliance question, quoting the passages it relies on.

    Every sentence of the answer is quoted from an indexed passage and cited [n] with its document, article,
    version, status and link. When no passage supports an answer, regwatch says so instead of guessing.

    With a model configured (REGWATCH_LLM_BASE_URL, REGWATCH_LLM_MODEL) the answer is written by it in the
    question's language from the same passages, and every sentence that its cited passage does not support is
    dropped; when what is left does not answer, the quoted answer is given and says why (--json: mode,
    dropped_sentences, notice).

    Examples: [bold]regwatch ask "PIPL Article 38"[/bold] ·
    [bold]regwatch ask "数据出境安全评估的有效期是多久？" --status in_force --json[/bold] ·
    [bold]regwatch ask "What did the CSL require for data localisation?" --as-of 2025-06-01[/bold]
    [bold]regwatch ask --thread hr "and Article 39?"[/bold]
    """
    from .cli import emit_json, load_settings

    if not question.strip():
        raise typer.BadParameter("the question is empty", param_hint="QUESTION")
    filters = Filters(
        doc_type=_choices(doc_type, DOC_TYPES, "--doc-type"), status=_choices(status, STATUSES, "--status"),
        issuer=_split(issuer), language=_choices(language, LANGUAGES, "--language"),
        jurisdiction=_split(jurisdiction), topics=_split(topic), doc_id=_split(doc_id),
        effective_from=_date(effective_from, "--effective-from"), effective_to=_date(effective_to, "--effective-to"),
        published_from=_date(published_from, "--published-from"), published_to=_date(published_to, "--published-to"),
        as_of=_date(as_of, "--as-of"),
    )
    for lo, hi, name in ((filters.effective_from, filters.effective_to, "--effective-from"),
                         (filters.published_from, filters.published_to, "--published-from")):
        if lo and hi and lo > hi:
            raise typer.BadParameter(f"{lo} is after the range's end, {hi}: no text could match", param_hint=name)
    settings = load_settings()
    if thread is not None and not thread.strip():
        raise typer.BadParameter("the thread id is empty", param_hint="--thread")
    from rich.console import Console

    console = Console()
    if thread is None and not settings.llm_configured:
        from .answer import Asker

        answer = Asker(settings).ask(question, k=k, filters=None if filters.is_empty() else filters)
    else:
        from .generate.assistant import Assistant
        from .render.stream import streamed

        assistant = Assistant(settings)
        f = None if filters.is_empty() else filters
        if thread is None:
            answer = streamed(console if not as_json else Console(quiet=True),
                              lambda on_token: assistant.ask(question, k=k, filters=f, on_token=on_token))
        else:
            from indexer.db import get_engine

            from .generate.session import ask_in_thread
            from .generate.threads import cli_key

            answer = streamed(console if not as_json else Console(quiet=True), lambda on_token: ask_in_thread(
                settings, get_engine(settings), assistant, cli_key(thread.strip()), question, k=k, filters=f,
                on_token=on_token))
    if as_json:
        emit_json(answer.to_json())
        return
    from .render.terminal_answer import render_answer

    render_answer(answer, console)


def chat_cmd(
    k: Annotated[int | None, typer.Option("-k", "--top-k", min=1, max=50, help="How many passages to consider and cite at most.")] = None,
    thread: Annotated[str | None, typer.Option("--thread", help="Continue this conversation id (default: a new one).")] = None,
) -> None:
    """Ask questions one after another; follow-ups ('and Article 39?', '那罚款呢？') build on the earlier ones.

    Each follow-up is rewritten into a standalone question from the conversation's earlier turns (by the
    configured model, else by carrying over the laws and articles asked about) and the rewritten question is
    shown. An empty line, 'exit' or Ctrl-D ends the chat; `regwatch ask --thread ID` continues it later.
    """
    import uuid

    from rich.console import Console
    from rich.text import Text

    from indexer.db import get_engine

    from .cli import load_settings
    from .generate.assistant import Assistant
    from .generate.session import ask_in_thread
    from .generate.threads import cli_key
    from .render.stream import streamed
    from .render.terminal_answer import render_answer

    settings = load_settings()
    console = Console()
    tid = (thread or "").strip() or uuid.uuid4().hex[:8]
    assistant = Assistant(settings)
    engine = get_engine(settings)
    mode = f"answers written by {settings.llm_model}, each sentence checked" if assistant.model else "quoted answers"
    console.print(Text(f"Conversation {tid} ({mode}). Empty line or 'exit' to stop; continue later with "
                       f"`regwatch ask --thread {tid} …`.", style="dim"))
    while True:
        try:
            question = console.input("[bold cyan]? [/bold cyan]").strip()
        except EOFError:
            break
        if not question or question.lower() in ("exit", "quit", "退出"):
            break
        answer = streamed(console, lambda on_token, q=question: ask_in_thread(  # type: ignore[misc]
            settings, engine, assistant, cli_key(tid), q, k=k, on_token=on_token))
        render_answer(answer, console)
        console.print()


def register(app: typer.Typer) -> None:
    app.command("ask")(ask_cmd)
    app.command("chat")(chat_cmd)
