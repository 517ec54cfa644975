"""The registry of watched sources: `corpus/sources.yaml` loaded, validated, and edited one entry at a time."""

from __future__ import annotations

import os
import re
import tempfile
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from .errors import ConfigError
from .models import DOC_TYPES, LANGUAGES

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger

    from .fetch.policy import FetchPolicy

DEFAULT_SCHEDULE = "0 8 * * *"
SCHEMA_VERSION = 1
_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_DEFAULTABLE = ("issuer", "doc_type", "topics", "jurisdiction", "language", "schedule", "include", "exclude", "enabled")


class Source(BaseModel):
    """One watched source. `page`, `listing` and `rss` need a `url`; `folder` needs a `path`."""

    model_config = ConfigDict(extra="forbid")

    name: str
    kind: Literal["folder", "page", "listing", "rss"]
    url: str | None = None
    path: str | None = None
    issuer: str | None = None
    doc_type: str | None = None
    topics: list[str] = []
    jurisdiction: str | None = "CN"
    language: str | None = None
    schedule: str = DEFAULT_SCHEDULE
    include: list[str] = []  # regexes searched in a link's URL or text (file path for folders); empty: all
    exclude: list[str] = []
    enabled: bool = True
    notes: str | None = None
    # The fetch policy (indexer/fetch/policy.py): private, loopback and link-local addresses are refused unless
    # the source allows them for its own origin; feed items linking to other hosts are followed only for these hosts.
    allow_private: bool = False
    allow_hosts: list[str] = []
    follow_symlinks: bool = False  # folder sources: follow symlinks that lead out of the folder

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not re.fullmatch(r"[\w][\w.\-]*", v):
            raise ValueError("use letters, digits, '.', '-' or '_' (no spaces)")
        return v

    @field_validator("doc_type")
    @classmethod
    def _doc_type(cls, v: str | None) -> str | None:
        if v is not None and v not in DOC_TYPES:
            raise ValueError(f"must be one of {', '.join(DOC_TYPES)}")
        return v

    @field_validator("language")
    @classmethod
    def _language(cls, v: str | None) -> str | None:
        if v is not None and v not in LANGUAGES:
            raise ValueError(f"must be one of {', '.join(LANGUAGES)}")
        return v

    @field_validator("include", "exclude")
    @classmethod
    def _regexes(cls, v: list[str]) -> list[str]:
        for pattern in v:
            try:
                re.compile(pattern)
            except re.error as e:
                raise ValueError(f"bad regex {pattern!r}: {e}") from None
        return v

    @field_validator("schedule")
    @classmethod
    def _cron(cls, v: str) -> str:
        try:
            cron_trigger(v, "UTC")
        except ValueError as e:
            raise ValueError(f"bad cron expression {v!r} (want 5 fields: minute hour day month weekday): {e}") from None
        return v

    @model_validator(mode="after")
    def _location(self) -> Source:
        if self.kind == "folder":
            if not self.path:
                raise ValueError("a folder source needs 'path'")
        elif not self.url or not re.match(r"https?://", self.url):
            raise ValueError(f"a {self.kind} source needs an http(s) 'url'")
        elif not self.allow_private and (reason := private_literal(self.url)):
            raise ValueError(f"url {self.url!r} is a {reason} address; regwatch fetches only public addresses unless "
                             "the source says allow_private: true (`sources add --allow-private`)")
        return self

    def policy(self) -> FetchPolicy:
        """What fetches for this source may reach (its url's origin is its own)."""
        from .fetch.policy import FetchPolicy

        assert self.url is not None
        return FetchPolicy.for_url(self.url, allow_private=self.allow_private, allow_hosts=self.allow_hosts)

    def wants(self, *texts: str | None) -> bool:
        """True when the include patterns (if any) match one of `texts` and no exclude pattern does."""
        present = [t for t in texts if t]
        if self.include and not any(re.search(p, t) for p in self.include for t in present):
            return False
        return not any(re.search(p, t) for p in self.exclude for t in present)

    def meta_defaults(self) -> dict[str, Any]:
        """The metadata this source gives every document it yields (parse_bytes' extra_meta)."""
        fields = {"issuer": self.issuer, "doc_type": self.doc_type, "jurisdiction": self.jurisdiction,
                  "language": self.language}
        meta: dict[str, Any] = {k: v for k, v in fields.items() if v is not None}
        if self.topics:
            meta["topics"] = list(self.topics)
        return meta


def private_literal(url: str) -> str | None:
    """Why `url`'s host, when it is an IP literal, is not public (e.g. 'link-local'); None for names and public IPs.

    Host names are checked when they are fetched, after DNS; a literal is refused already here."""
    from urllib.parse import urlsplit

    from .fetch.policy import blocked, literal_ip

    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return None
    ip = literal_ip(host)
    return blocked(ip) if ip is not None else None


def cron_trigger(expr: str, timezone: str) -> CronTrigger:
    """An APScheduler trigger for a standard 5-field crontab line, weekdays read the crontab way (0 and 7 = Sunday).

    APScheduler 3's own `from_crontab` counts weekdays from Monday = 0, so "0 8 * * 1" would fire on Tuesdays."""
    from apscheduler.triggers.cron import CronTrigger

    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(f"Wrong number of fields; got {len(fields)}, expected 5")
    minute, hour, day, month, weekday = fields
    return CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=_weekdays(weekday),
                       timezone=timezone)


def _weekdays(field: str) -> str:
    """Crontab weekday numbers (ranges, lists, steps) as names, which APScheduler reads unambiguously."""
    out: list[str] = []
    for part in field.split(","):
        m = re.fullmatch(r"(\*|(\d)(?:-(\d))?)(?:/(\d+))?", part)
        if not m:
            out.append(part)  # names such as mon-fri mean the same to both
            continue
        if m.group(1) == "*" and not m.group(4):
            return "*"
        first, last = (0, 6) if m.group(1) == "*" else (int(m.group(2)), int(m.group(3) or m.group(2)))
        if first > 7 or last > 7 or first > last:
            raise ValueError(f"bad weekday {part!r} (0-7, Sunday is 0 or 7)")
        names = [_DAY_NAMES[d % 7] for d in range(first, last + 1, int(m.group(4) or 1))]
        out.extend(n for n in names if n not in out)
    return ",".join(out)


def load_sources(path: Path) -> list[Source]:
    """Every source in the file, file-level defaults applied; ConfigError names the entry and the problem."""
    return _validate(path, _read(path))


def add_source(path: Path, source: Source) -> None:
    """Append `source`; the rest of the file (other entries, comments, layout) is kept as it was."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    raw: dict[str, Any] = _read(path) if text else {"version": SCHEMA_VERSION, "defaults": {}, "sources": []}
    entry = source.model_dump(exclude_unset=True, exclude_none=True)
    raw["sources"] = [*(raw.get("sources") or []), entry]
    _validate(path, raw)  # refuses duplicates before anything is written
    edited = None
    if (found := _entry_spans(text)) and found[1]:
        lines, spans = found
        at = spans[-1][1]
        indent = " " * _indent(lines[spans[-1][0]])
        block = yaml.safe_dump([entry], sort_keys=False, allow_unicode=True, width=120)
        lines[at:at] = [indent + line + "\n" for line in block.splitlines()]
        if at and not lines[at - 1].endswith("\n"):
            lines[at - 1] += "\n"
        edited = "".join(lines)
    _save(path, raw, edited)


def remove_source(path: Path, name: str) -> None:
    """Drop the entry called `name` (ConfigError if there is none); the rest of the file is kept as it was."""
    raw = _read(path)
    kept = [s for s in raw.get("sources", []) if not (isinstance(s, dict) and s.get("name") == name)]
    if len(kept) == len(raw.get("sources", [])):
        raise ConfigError(f"{path}: no source named {name!r}", hint="`regwatch sources list` shows the names")
    raw["sources"] = kept
    edited = None
    if found := _entry_spans(path.read_text(encoding="utf-8")):
        lines, spans = found
        for start, end in spans:
            item = yaml.safe_load(textwrap.dedent("".join(lines[start:end])))
            if isinstance(item, list) and item and isinstance(item[0], dict) and item[0].get("name") == name:
                del lines[start:end]
                edited = "".join(lines)
                break
    _save(path, raw, edited)


def save_sources(path: Path, sources: list[Source], *, defaults: dict[str, Any] | None = None) -> None:
    """Write a whole registry (used when creating a file); entries keep only the fields that were set."""
    raw = {
        "version": SCHEMA_VERSION,
        "defaults": defaults or {},
        "sources": [s.model_dump(exclude_unset=True, exclude_none=True) for s in sources],
    }
    _validate(path, raw)
    _save(path, raw, None)


def _read(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"sources file not found: {path}", hint="set REGWATCH_SOURCES_FILE or create it") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("sources", []), list):
        raise ConfigError(f"{path}: expected a mapping with a 'sources' list")
    if raw.get("version", SCHEMA_VERSION) != SCHEMA_VERSION:
        raise ConfigError(f"{path}: unsupported version {raw.get('version')!r} (this regwatch reads version 1)")
    return raw


def _validate(path: Path, raw: dict[str, Any]) -> list[Source]:
    defaults = raw.get("defaults") or {}
    unknown = sorted(set(defaults) - set(_DEFAULTABLE))
    if unknown:
        raise ConfigError(f"{path}: defaults: unknown field(s) {', '.join(unknown)}")
    sources: list[Source] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(raw.get("sources") or [], start=1):
        label = f"source #{i}" + (f" {entry.get('name')!r}" if isinstance(entry, dict) and entry.get("name") else "")
        if not isinstance(entry, dict):
            raise ConfigError(f"{path}: {label}: expected a mapping, got {type(entry).__name__}")
        try:
            source = Source.model_validate({**defaults, **entry})
        except ValidationError as e:
            raise ConfigError(f"{path}: {label}: {explain_errors(e)}") from None
        if source.name in seen:
            raise ConfigError(f"{path}: duplicate source name {source.name!r} (entries #{seen[source.name]} and #{i})")
        seen[source.name] = i
        sources.append(source)
    return sources


def explain_errors(e: ValidationError) -> str:
    """A pydantic error as one line: `field: message; field: message`."""
    parts = []
    for err in e.errors():
        where = ".".join(str(x) for x in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "literal_error":
            msg = f"{msg} (got {err['input']!r})"
        parts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(parts)


def _entry_spans(text: str) -> tuple[list[str], list[tuple[int, int]]] | None:
    """The file's lines and the line span of each entry of its block-style `sources:` list (None: no such list).

    Comment and blank lines after an entry are left out of its span: they usually introduce the next section."""
    lines = text.splitlines(keepends=True)
    head = next((i for i, line in enumerate(lines) if re.match(r"sources:\s*(#.*)?$", line)), None)
    if head is None:
        return None
    starts: list[int] = []
    end = len(lines)
    for i in range(head + 1, len(lines)):
        if re.match(r"[^\s#-]", lines[i]):  # the next top-level key ends the list
            end = i
            break
        if re.match(r"\s*- ", lines[i]) and (not starts or _indent(lines[i]) == _indent(lines[starts[0]])):
            starts.append(i)
    spans = []
    for k, start in enumerate(starts):
        stop = starts[k + 1] if k + 1 < len(starts) else end
        while stop > start + 1 and re.match(r"\s*(#.*)?$", lines[stop - 1]):
            stop -= 1
        spans.append((start, stop))
    return lines, spans


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _save(path: Path, raw: dict[str, Any], edited: str | None) -> None:
    """Write the edited text if it reads back as exactly `raw` (comments kept), else a fresh dump of `raw`."""
    if edited is None or yaml.safe_load(edited) != raw:
        # Fallback: at least keep the opening comment block, which usually explains the schema.
        header = ""
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
                if line.strip() and not line.startswith("#"):
                    break
                header += line
        edited = header + yaml.safe_dump(raw, sort_keys=False, allow_unicode=True, width=120)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".sources-", suffix=".yaml")
    with os.fdopen(fd, "w", encoding="utf-8") as f:  # write-then-rename: a crash never leaves half a registry
        f.write(edited)
    os.replace(tmp, path)
