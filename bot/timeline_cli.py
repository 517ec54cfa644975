"""`regwatch lineage` and `regwatch calendar`, and the two-document form of `regwatch diff` (thin: parse, call, render)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from indexer.errors import RegwatchError

from .commands import _date

if TYPE_CHECKING:
    from .currency import Currency


def _currency() -> Currency:
    from indexer.db import get_engine
    from indexer.glossary import load_glossary
    from indexer.ledger import Ledger

    from .cli import load_settings
    from .currency import from_ledger

    settings = load_settings()
    return from_ledger(Ledger(get_engine(settings)), load_glossary(settings.resolved_glossary))


def _doc(cur: Currency, ref: str) -> str:
    from indexer.lineage import resolve_ref

    doc_id = resolve_ref(cur.lineage.docs, ref)
    if doc_id is None:
        raise RegwatchError(f"no document {ref!r} in the index", hint="`regwatch status` lists the document ids")
    return doc_id


# --- lineage -------------------------------------------------------------------------------------------------

def lineage_json(cur: Currency, doc_id: str, today: str | None = None) -> dict[str, Any]:
    chain = cur.lineage.chain(doc_id)
    rows = []
    for d_id in chain:
        d = cur.lineage.docs[d_id]
        start, end = cur.window(d_id)
        rows.append({
            "doc_id": d_id, "title": d.title, "instrument": d.name, "doc_type": d.doc_type, "status": d.status,
            "language": d.language, "published": d.date("published"), "effective": d.date("effective"),
            "comment_deadline": d.date("comment_deadline"), "in_force_from": start,
            "in_force_to": None if end == "?" else end, "words": cur.doc_words(d_id, today) or "in force",
            "url": d.meta.get("url"),
        })
    links = [x.to_json() for x in cur.lineage.links if x.old in chain and x.new in chain]
    return {"doc_id": doc_id, "chain": rows, "links": links}


def lineage_cmd(
    doc: Annotated[str, typer.Argument(help="A document id (see `regwatch status`), e.g. csl_2016_zh.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the chain and its links as JSON.")] = False,
) -> None:
    """The instrument's chain: its drafts, versions, consolidations, translations and the texts that replaced or
    override it, oldest first, with dates and statuses, and why each link is there (front matter, a note, the text).

    Example: [bold]regwatch lineage csl_2016_zh[/bold]
    """
    from .cli import emit_json
    from .render.terminal import console

    cur = _currency()
    out = lineage_json(cur, _doc(cur, doc))
    if as_json:
        emit_json(out)
        return
    for r in out["chain"]:
        window = (f"in force {r['in_force_from']} – {r['in_force_to'] or 'now'}" if r["in_force_from"]
                  else f"comments due {r['comment_deadline']}" if r["comment_deadline"] else "no dates")
        mark = "[bold]" if r["doc_id"] == out["doc_id"] else ""
        console.print(f"{mark}{r['instrument']}[/] [dim]({r['doc_id']}, {r['language']})[/dim]" if mark else
                      f"{r['instrument']} [dim]({r['doc_id']}, {r['language']})[/dim]")
        console.print(f"    {r['doc_type']} · {r['status'].replace('_', ' ')} · published {r['published'] or '?'}"
                      f" · {window} · {r['words']}", highlight=False)
    if out["links"]:
        console.print("[bold]Links[/bold]")
    for x in out["links"]:
        arts = f" (Articles {', '.join(map(str, x['articles']))})" if x["articles"] else ""
        verb = {"supersedes": "superseded by", "partly_supersedes": "partly superseded by",
                "final_of": "finalised as", "translation": "translated as"}[x["kind"]]
        console.print(f"  {x['old']} {verb} {x['new']}{arts}  [dim]{x['source']}: {x['evidence'][:90]}[/dim]",
                      highlight=False, markup=True)


# --- diff of two linked documents ----------------------------------------------------------------------------

def instrument_diff(a: str, b: str, *, article: int | None, as_json: bool) -> None:
    from indexer.article_map import render_word_diff, word_diff

    from .cli import emit_json
    from .render.terminal import console

    cur = _currency()
    old, new = _doc(cur, a), _doc(cur, b)
    path = cur.lineage.path(old, new)
    if path is None and (back := cur.lineage.path(new, old)) is not None:
        old, new, path = new, old, back  # given newest first: compare old to new all the same
    if path is None:
        raise RegwatchError(f"{old} and {new} are not linked as versions of one instrument",
                            hint=f"`regwatch lineage {old}` shows what it is linked to; front matter `supersedes:` "
                                 "links two documents")
    amap = cur.article_map(old, new)
    relation = [x.kind for x in path]
    partial = "partly_supersedes" in relation
    head = {"old": old, "new": new, "relation": relation,
            "old_title": cur.lineage.docs[old].title, "new_title": cur.lineage.docs[new].title}
    if article is not None:
        link = amap.of_old(article)
        src = amap.old_article(article)
        if link is None or src is None:
            nums = [x.number for x in amap.old if x.number is not None]
            raise RegwatchError(f"{old} has no Article {article}",
                                hint=f"its articles run from {min(nums)} to {max(nums)}" if nums else "it has no articles")
        targets = [t for t in (amap.new_article(n) for n in link.new if n is not None) if t is not None]
        new_text = "\n\n".join(t.text for t in targets)
        # The labels differ whenever the article moved; the header says so, the word diff is about the wording.
        ops = word_diff(_body(src.text), "\n\n".join(_body(t.text) for t in targets)) if targets else []
        kind = "not replaced" if partial and link.kind == "repealed" else link.kind
        out = {**head, "article": article, "kind": kind, "link": link.to_json(), "old_text": src.text,
               "new_text": new_text, "changes": [{"op": op, "text": t} for op, t in ops]}
        if as_json:
            emit_json(out)
            return
        to = ", ".join(link.new_labels) or "—"
        others = [lab for lab in link.old_labels if lab != src.label]
        with_ = f" (with {', '.join(others)})" if others else ""
        console.print(f"[bold]{src.label}[/bold]{with_} of {head['old_title']} -> [bold]{to}[/bold] of "
                      f"{head['new_title']}: {kind}"
                      + (f" (similarity {link.similarity:.2f})" if link.similarity is not None else ""), highlight=False)
        if not targets:
            console.print(src.text, markup=False, highlight=False)
            return
        if all(op == "=" for op, _ in ops):
            console.print("[dim]wording unchanged (citations of other articles follow the new numbering)[/dim]")
        if not console.is_terminal:  # a file or a pipe: the [-removed-]{+added+} marks, which survive without colour
            console.print(render_word_diff(ops), markup=False, highlight=False)
            return
        from rich.text import Text

        t = Text()
        for op, s in ops:
            t.append(s, style="" if op == "=" else "red strike" if op == "-" else "green bold")
        console.print(t)
        return
    links = [x.to_json() | ({"kind": "not replaced"} if partial and x.kind == "repealed" else {}) for x in amap.links]
    out = {**head, "counts": amap.counts(), "links": links}
    if as_json:
        emit_json(out)
        return
    c = amap.counts()
    console.print(f"[bold]{head['old_title']}[/bold] -> [bold]{head['new_title']}[/bold] ({' / '.join(relation)})")
    console.print(", ".join(f"{n} {k}" for k, n in c.items() if n), highlight=False)
    for x in links:
        if x["kind"] in ("unchanged",):
            continue
        sim = f" ({x['similarity']:.2f})" if x["similarity"] is not None else ""
        console.print(f"  {', '.join(x['old_labels']) or '—':>24} -> {', '.join(x['new_labels']) or '—':24} "
                      f"{x['kind']}{sim}", highlight=False)
    console.print("[dim]`--article N` shows one old article beside what it became, with word-level changes.[/dim]")


def _body(text: str) -> str:
    from indexer.changes import _LABEL

    return _LABEL.sub("", text, count=1).strip()


# --- calendar ------------------------------------------------------------------------------------------------

def calendar_cmd(
    start: Annotated[str | None, typer.Option("--from", help="From this day (YYYY-MM-DD); default: the earliest.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="To this day (YYYY-MM-DD), inclusive; default: the latest.")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="deadline (comment deadlines) or effective (effective dates).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
    ics: Annotated[Path | None, typer.Option("--ics", help="Also write an iCalendar file here (import or subscribe in a calendar app).")] = None,
) -> None:
    """Every comment deadline and effective date the index knows, past and future, with instrument, status, link.

    The .ics file's events keep their UIDs across exports, so importing a newer file updates events rather than
    duplicating them. The Slack bot serves the same file at /calendar.ics (REGWATCH_CALENDAR_TOKEN).

    Examples: [bold]regwatch calendar --from 2026-01-01 --to 2026-12-31[/bold] ·
    [bold]regwatch calendar --kind deadline --ics deadlines.ics[/bold]
    """
    from .calendar import KINDS, calendar_entries, calendar_text, to_ics
    from .cli import emit_json
    from .render.terminal import console

    if kind is not None and kind not in KINDS:
        raise typer.BadParameter(f"{kind!r}: use {' or '.join(KINDS)}", param_hint="--kind")
    lo, hi = _date(start, "--from"), _date(end, "--to")
    if lo and hi and lo > hi:
        raise typer.BadParameter(f"{lo} is after {hi}", param_hint="--from")
    entries = calendar_entries(_currency(), start=lo, end=hi, kind=kind)
    if ics is not None:
        try:
            ics.write_bytes(to_ics(entries))
        except OSError as e:
            raise RegwatchError(f"could not write {ics}: {e.strerror}", hint="choose a writable path") from e
    if as_json:
        emit_json([e.to_json() for e in entries])
        return
    if not entries:
        console.print("No comment deadlines or effective dates in that period.")
    else:
        console.print(calendar_text(entries), markup=False, highlight=False)
    if ics is not None:
        console.print(f"[dim]wrote {len(entries)} events to {ics}[/dim]")


def register(app: typer.Typer) -> None:
    app.command("lineage")(lineage_cmd)
    app.command("calendar")(calendar_cmd)
