"""`regwatch watch`, `changes`, `diff` and `sources`: the change-monitoring commands (thin: parse, call, render)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from indexer.changes import CHANGE_KINDS
from indexer.errors import RegwatchError

sources_app = typer.Typer(help="List, add, remove and test the sources regwatch watches (corpus/sources.yaml).",
                          no_args_is_help=True)


def watch_cmd(
    once: Annotated[bool, typer.Option("--once", help="Check every enabled source now, then exit.")] = False,
    source: Annotated[str | None, typer.Option("--source", help="Only this source (by name), even if disabled.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the watch report as JSON.")] = False,
) -> None:
    """Watch regulators' pages and feeds; index what is new or changed and record each change for alerts.

    Without --once it runs overdue sources, then each source on its own cron schedule (in REGWATCH_TIMEZONE) until
    interrupted. A failing source is recorded with its error and the others go on.
    """
    from indexer.watch import failing_for_days, run_watch

    from .cli import emit_json, load_settings
    from .render.terminal import console

    settings = load_settings()
    report = run_watch(settings, once=once, source=source)
    if as_json:
        emit_json(report.to_json())
    else:
        for s in report.sources:
            idx = s.index
            what = (f"{idx.added} new, {idx.changed} changed, {idx.unchanged} unchanged" if idx is not None
                    else f"{s.not_modified} not modified" if s.not_modified else "nothing new")
            mark = "[green]ok[/green]" if s.ok else f"[red]failed[/red] {s.error}"
            console.print(f"{s.name:32} {s.kind:8} {mark}  {what}")
            for p in s.problems[:5]:
                console.print(f"    [yellow]{p}[/yellow]")
        for health, days in failing_for_days(settings, min_days=1.0):
            console.print(f"[red]{health.name} has been failing for {days:.1f} days:[/red] {health.last_error}")
    if report.failed:
        raise typer.Exit(1)


def changes_cmd(
    since: Annotated[str | None, typer.Option("--since", help="7d, 12h, 2w or a date (2026-11-01).")] = None,
    kind: Annotated[list[str] | None, typer.Option("--kind", help=f"Only these kinds: {', '.join(CHANGE_KINDS)}.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """List detected changes: new drafts, standards and regulations, amendments, status changes, commentary."""
    from indexer.db import get_engine, utcnow
    from indexer.ledger import Ledger

    from .cli import emit_json, load_settings
    from .render.terminal import console
    from .timeparse import parse_since

    for k in kind or []:
        if k not in CHANGE_KINDS:
            raise RegwatchError(f"unknown change kind {k!r}", hint=f"choose from {', '.join(CHANGE_KINDS)}")
    ledger = Ledger(get_engine(load_settings()))
    rows = ledger.changes_since(parse_since(since, utcnow()) if since else None, kind or None)
    from .currency import from_ledger

    cur = from_ledger(ledger) if rows else None
    # What is current about each document today, in the words answers and digests use (bot/currency.py).
    items = [{**_change_json(r), "now": cur.doc_words(r["doc_id"]) if cur and r["doc_id"] in cur.lineage.docs else None}
             for r in rows]
    if as_json:
        emit_json(items)
        return
    if not items:
        console.print("No changes recorded in that period.")
    for c in items:
        sections = c["changed_sections"] or {}
        console.print(f"[bold]{c['detected_at'][:16]}[/bold] {c['kind']:14} {c['title']} [dim]({c['doc_id']}, {c['status']})[/dim]")
        if c["now"]:
            console.print(f"    [yellow]now: {c['now']}[/yellow]", highlight=False)
        console.print(f"    {c['summary']}")
        for label in ("added", "changed", "removed"):
            if sections.get(label):
                console.print(f"    {label}: {', '.join(sections[label][:12])}")
        if c["url"]:
            console.print(f"    {c['url']}")


def _change_json(r: dict[str, Any]) -> dict[str, Any]:
    from indexer.db import as_utc

    return {
        "change_id": r["change_id"], "kind": r["kind"], "doc_id": r["doc_id"], "title": r["title"],
        "doc_type": r["doc_type"], "status": r["status"], "url": r["url"],
        "detected_at": _iso(as_utc(r["detected_at"])), "summary": r["summary"],
        "changed_sections": r["changed_sections"], "from_version": r["from_version"], "to_version": r["to_version"],
    }


def diff_cmd(
    doc_id: Annotated[str, typer.Argument(help="The document's id (see `regwatch status`).")],
    other: Annotated[str | None, typer.Argument(help="A second, linked document (see `regwatch lineage`): compare the two texts.")] = None,
    from_v: Annotated[int | None, typer.Option("--from", help="Older version (default: the one before --to).")] = None,
    to_v: Annotated[int | None, typer.Option("--to", help="Newer version (default: the current one).")] = None,
    article: Annotated[int | None, typer.Option("--article", help="With two documents: this article of the older one, beside what it became, word by word.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the article-level diff as JSON.")] = False,
) -> None:
    """Article-level diff between two versions of a document, or between two linked documents.

    One document: its versions (--from, --to): articles added, removed and changed. Two documents (an old law and
    its consolidation, a draft and its final text, a measure and the provisions that override it): each old article
    mapped to its new article by text, renumbering and all: unchanged, moved, amended, split, merged, new, repealed.

    Examples: [bold]regwatch diff csl_2016_zh csl_2026-consolidated_zh[/bold] ·
    [bold]regwatch diff csl_2016_zh csl_2026-consolidated_zh --article 37[/bold]
    """
    if other is not None:
        if from_v is not None or to_v is not None:
            raise typer.BadParameter("--from/--to compare versions of one document; give one document", param_hint="--from")
        from .timeline_cli import instrument_diff

        instrument_diff(doc_id, other, article=article, as_json=as_json)
        return
    if article is not None:
        raise typer.BadParameter("--article needs two documents: `regwatch diff OLD NEW --article N`", param_hint="--article")
    from indexer.changes import describe_change
    from indexer.db import get_engine
    from indexer.ledger import Ledger
    from indexer.models import DocMeta
    from indexer.structure import split_passages

    from .cli import emit_json, load_settings
    from .render.terminal import console

    settings = load_settings()
    ledger = Ledger(get_engine(settings))
    doc = ledger.get_doc(doc_id)
    if doc is None:
        raise RegwatchError(f"no document {doc_id!r} in the index", hint="`regwatch status` lists the document ids")
    to_v = to_v or doc["current_version"]
    from_v = from_v or (to_v - 1 if to_v else None)
    if not from_v or from_v < 1:
        raise RegwatchError(f"{doc_id} has only version {to_v}", hint="a diff needs two versions")
    old, new = ledger.version(doc_id, from_v), ledger.version(doc_id, to_v)
    if old is None or new is None:
        raise RegwatchError(f"{doc_id} has no version {from_v if old is None else to_v}",
                            hint=f"versions: {[v['version'] for v in ledger.versions_of(doc_id)]}")

    def split(v: dict[str, Any]) -> list[Any]:
        return split_passages(doc_id, v["text"], max_chars=settings.max_passage_chars, overlap=settings.passage_overlap_chars)

    info = describe_change(DocMeta.from_dict(old["meta"]), split(old), DocMeta.from_dict(new["meta"]), split(new))
    out = {"doc_id": doc_id, "from": from_v, "to": to_v, "kind": info.kind if info else None,
           "summary": info.summary if info else "No meaningful change.",
           "changed_sections": info.changed_sections if info else {}, "diff": info.diff if info else ""}
    if as_json:
        emit_json(out)
        return
    console.print(f"[bold]{doc['title']}[/bold]  v{from_v} -> v{to_v}: {out['summary']}")
    console.print(out["diff"], markup=False, highlight=False)


@sources_app.command("list")
def sources_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The watched sources and their health."""
    from indexer.db import get_engine
    from indexer.fetch.health import HealthBook
    from indexer.sources import load_sources

    from .cli import emit_json, load_settings
    from .render.terminal import console

    settings = load_settings()
    sources = load_sources(settings.resolved_sources_file)
    health = HealthBook(get_engine(settings)).all()
    rows = [{**s.model_dump(), "last_ok": _iso(getattr(health.get(s.name), "last_ok", None)),
             "last_error": getattr(health.get(s.name), "last_error", None)} for s in sources]
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        state = "" if r["enabled"] else " [dim](disabled)[/dim]"
        err = f" [red]last error: {r['last_error']}[/red]" if r["last_error"] else ""
        console.print(f"{r['name']:34} {r['kind']:8} {r['url'] or r['path']}{state}{err}")


def _iso(v: Any) -> str | None:
    return v.isoformat() if v else None


@sources_app.command("add")
def sources_add(
    name: Annotated[str, typer.Argument(help="A unique slug, e.g. tc260-drafts.")],
    url: Annotated[str, typer.Argument(help="URL of the page, listing or feed; a folder path for --kind folder.")],
    kind: Annotated[str, typer.Option("--kind", help="rss | page | listing | folder")] = "page",
    issuer: Annotated[str | None, typer.Option(help="Default issuer of what this source yields.")] = None,
    doc_type: Annotated[str | None, typer.Option("--doc-type", help="Default doc_type (law, regulation, standard, draft, ...).")] = None,
    topic: Annotated[list[str] | None, typer.Option("--topic", help="Topics (repeatable).")] = None,
    jurisdiction: Annotated[str, typer.Option(help="Jurisdiction code.")] = "CN",
    schedule: Annotated[str | None, typer.Option(help="Cron expression, e.g. '0 8 * * 1-5'.")] = None,
    include: Annotated[list[str] | None, typer.Option(help="Regex a link must match (listing/rss; repeatable).")] = None,
    exclude: Annotated[list[str] | None, typer.Option(help="Regex that drops a link (repeatable).")] = None,
    allow_private: Annotated[bool, typer.Option("--allow-private", help="Let this source's own origin be a private, loopback or link-local address (an intranet mirror).")] = False,
    allow_host: Annotated[list[str] | None, typer.Option("--allow-host", help="rss: also follow feed items linking to this host (repeatable).")] = None,
) -> None:
    """Add a source to the sources file (its comments and layout are kept).

    regwatch fetches only public addresses: a literal private or link-local address (10.0.0.1, 169.254.169.254) is
    refused unless --allow-private, and names resolving to one are refused when fetched."""
    from indexer.sources import Source, add_source

    from .cli import load_settings

    fields: dict[str, Any] = {"name": name, "kind": kind, "issuer": issuer, "doc_type": doc_type,
                              "topics": topic or [], "jurisdiction": jurisdiction, "include": include or [],
                              "exclude": exclude or []}
    fields["path" if kind == "folder" else "url"] = url
    if allow_private:
        fields["allow_private"] = True
    if allow_host:
        fields["allow_hosts"] = allow_host
    if schedule:
        fields["schedule"] = schedule
    from pydantic import ValidationError

    from indexer.sources import explain_errors

    try:
        source = Source(**fields)
    except ValidationError as e:
        raise RegwatchError(f"invalid source: {explain_errors(e)}",
                            hint="--allow-private lets a source's own origin be private (an intranet mirror)"
                            if "allow_private" in str(e) else None) from None
    settings = load_settings()
    add_source(settings.resolved_sources_file, source)
    typer.echo(f"added {name} to {settings.resolved_sources_file}")


@sources_app.command("remove")
def sources_remove(name: Annotated[str, typer.Argument(help="The source's name.")]) -> None:
    """Remove a source from the sources file."""
    from indexer.sources import remove_source

    from .cli import load_settings

    settings = load_settings()
    remove_source(settings.resolved_sources_file, name)
    typer.echo(f"removed {name}")


@sources_app.command("test")
def sources_test(name: Annotated[str, typer.Argument(help="The source's name.")],
                 as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Fetch a source now and show what it yields, without indexing or caching anything."""
    from indexer.sources import load_sources

    from .cli import emit_json, load_settings
    from .render.terminal import console

    settings = load_settings()
    chosen = [s for s in load_sources(settings.resolved_sources_file) if s.name == name]
    if not chosen:
        raise RegwatchError(f"no source named {name!r}", hint="`regwatch sources list` shows the names")
    result = probe_source(settings, chosen[0])
    if as_json:
        emit_json(result)
        return
    console.print(f"[bold]{name}[/bold] ({result['kind']}): {result['summary']}")
    for item in result["items"][:30]:
        console.print(f"  - {item}")


def probe_source(settings: Any, source: Any) -> dict[str, Any]:
    """What a source yields right now: feed items, matching links, the page's metadata or the folder's files."""
    from indexer.fetch import Fetcher, extract_links, parse_feed
    from indexer.parse import iter_documents, parse_bytes
    from indexer.watch import resolve_folder

    out: dict[str, Any] = {"name": source.name, "kind": source.kind, "items": []}
    if source.kind == "folder":
        root = resolve_folder(settings.resolved_sources_file, source.path or "")
        out["items"] = [str(p) for p in iter_documents([root]) if source.wants(str(p.relative_to(root)))]
        out["summary"] = f"{len(out['items'])} files under {root}"
        return out
    with Fetcher(settings, state=None) as fetcher:  # no state: a test must not make the next real run get a 304
        res = fetcher.fetch(source.url, conditional=False, policy=source.policy())
    if res.skipped:
        out["summary"] = f"skipped: {res.skipped}"
        return out
    size = len(res.content or b"")
    out["summary"] = f"HTTP {res.status}, {res.content_type}, {size} bytes"
    if source.kind == "rss":
        items = [i for i in parse_feed(res.content or b"", res.final_url) if source.wants(i.link, i.title)]
        out["items"] = [f"{i.published or '':10} {i.title} <{i.link}>" for i in items]
    elif source.kind == "listing":
        out["items"] = [f"{ln.text[:60]} <{ln.url}>" for ln in extract_links(res.text, res.final_url, source.include, source.exclude)]
    else:
        doc = parse_bytes(res.content or b"", name=res.url, settings=settings, content_type=res.content_type,
                          url=res.url, extra_meta=source.meta_defaults())
        m = doc.meta
        out["items"] = [f"title: {m.title}", f"doc_type: {m.doc_type}, status: {m.status}, language: {m.language}",
                        f"standard: {m.standard_number}", f"effective: {m.effective}, comment deadline: {m.comment_deadline}"]
    return out


def register(app: typer.Typer) -> None:
    app.command("watch")(watch_cmd)
    app.command("changes")(changes_cmd)
    app.command("diff")(diff_cmd)
    app.add_typer(sources_app, name="sources")
