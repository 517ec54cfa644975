"""The sources registry: loading with defaults, validation errors that name the entry, add/remove round trips."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from indexer.errors import ConfigError
from indexer.sources import Source, add_source, cron_trigger, load_sources, remove_source, save_sources

REGISTRY = """\
# Sources regwatch watches. Edit by hand or with `regwatch sources add`.
version: 1
defaults: {schedule: "0 8 * * *", jurisdiction: CN}
sources:
  # ---- laws ----
  - {name: pipl-en, kind: page, url: "http://example.org/pipl", issuer: NPC, doc_type: law, topics: [privacy],
     language: en, schedule: "0 8 * * 1", include: [], exclude: [], enabled: true, notes: official translation}
  - {name: bundled-briefs, kind: folder, path: corpus/briefs}

  # ---- standards: check the listing on first run ----
  - name: tc260
    kind: rss
    url: http://example.org/tc260.xml
    include: ["征求意见", "draft"]
    enabled: false
"""


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "sources.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_load_applies_file_defaults_but_not_over_explicit_values(tmp_path: Path) -> None:
    sources = {s.name: s for s in load_sources(_write(tmp_path, REGISTRY))}
    assert list(sources) == ["pipl-en", "bundled-briefs", "tc260"]
    assert sources["pipl-en"].schedule == "0 8 * * 1"
    assert sources["bundled-briefs"].schedule == "0 8 * * *"
    assert sources["tc260"].jurisdiction == "CN" and not sources["tc260"].enabled
    assert sources["pipl-en"].meta_defaults() == {
        "issuer": "NPC", "doc_type": "law", "jurisdiction": "CN", "language": "en", "topics": ["privacy"]
    }


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{name: a, kind: ftp, url: 'http://x'}", "kind"),
        ("{name: a, kind: rss, url: 'http://x', include: ['(unclosed']}", "bad regex '(unclosed'"),
        ("{name: a, kind: rss, url: 'http://x', schedule: '0 8 * *'}", "bad cron expression"),
        ("{name: a, kind: rss, url: 'http://x', schedule: '0 25 * * *'}", "bad cron expression"),
        ("{name: a, kind: rss}", "needs an http(s) 'url'"),
        ("{name: a, kind: folder}", "needs 'path'"),
        ("{name: a, kind: page, url: 'http://x', doc_type: memo}", "doc_type"),
        ("{name: 'a b', kind: page, url: 'http://x'}", "no spaces"),
        ("{name: a, kind: page, url: 'http://x', colour: red}", "colour"),
    ],
)
def test_validation_errors_name_the_entry_and_the_problem(tmp_path: Path, entry: str, message: str) -> None:
    path = _write(tmp_path, f"version: 1\nsources:\n  - {{name: ok, kind: folder, path: x}}\n  - {entry}\n")
    with pytest.raises(ConfigError) as e:
        load_sources(path)
    assert "source #2" in str(e.value) and message in str(e.value)


def test_duplicate_names_are_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "version: 1\nsources:\n  - {name: a, kind: folder, path: x}\n  - {name: a, kind: folder, path: y}\n")
    with pytest.raises(ConfigError, match=r"duplicate source name 'a' \(entries #1 and #2\)"):
        load_sources(path)


def test_broken_yaml_and_missing_file_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_sources(_write(tmp_path, "sources: [\n"))
    with pytest.raises(ConfigError, match="not found"):
        load_sources(tmp_path / "nope.yaml")


def test_add_and_remove_keep_the_other_entries_as_written(tmp_path: Path) -> None:
    path = _write(tmp_path, REGISTRY)
    before = yaml.safe_load(REGISTRY)
    add_source(path, Source(name="cac-news", kind="listing", url="http://example.org/cac/", include=[r"/c\d+\.htm"]))
    after = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert after["sources"][:3] == before["sources"]  # no defaults expanded into the untouched entries
    assert after["sources"][3] == {"name": "cac-news", "kind": "listing", "url": "http://example.org/cac/",
                                   "include": [r"/c\d+\.htm"]}
    assert after["defaults"] == before["defaults"]
    text = path.read_text(encoding="utf-8")
    assert text.startswith(REGISTRY)  # comments and layout untouched: the new entry is appended
    assert "# ---- standards: check the listing on first run ----" in text
    assert [s.name for s in load_sources(path)] == ["pipl-en", "bundled-briefs", "tc260", "cac-news"]

    remove_source(path, "bundled-briefs")
    text = path.read_text(encoding="utf-8")
    after = yaml.safe_load(text)
    assert [s["name"] for s in after["sources"]] == ["pipl-en", "tc260", "cac-news"]
    assert after["sources"][0] == before["sources"][0]
    assert "bundled-briefs" not in text and text.count("# ----") == 2


def test_add_then_remove_leaves_the_bundled_registry_byte_for_byte(tmp_path: Path) -> None:
    from indexer.settings import BUNDLED_CORPUS

    bundled = BUNDLED_CORPUS / "sources.yaml"
    if not bundled.is_file():
        pytest.skip("corpus/sources.yaml is not in this checkout")
    original = bundled.read_text(encoding="utf-8")
    path = _write(tmp_path, original)
    add_source(path, Source(name="zz-test", kind="rss", url="http://example.org/f.xml", topics=["ai"]))
    assert load_sources(path)[-1].name == "zz-test"
    remove_source(path, "zz-test")
    assert path.read_text(encoding="utf-8") == original
    first = load_sources(path)[0].name
    remove_source(path, first)
    assert original.count("\n#") == path.read_text(encoding="utf-8").count("\n#")  # every comment line survives
    assert [s.name for s in load_sources(path)] == [s.name for s in load_sources(bundled)][1:]


def test_files_that_cannot_be_edited_in_place_are_rewritten_whole(tmp_path: Path) -> None:
    path = _write(tmp_path, "# header\nsources: [{name: a, kind: folder, path: x}]\nversion: 1\n")  # flow-style list
    add_source(path, Source(name="b", kind="folder", path="y"))
    assert [s.name for s in load_sources(path)] == ["a", "b"]
    assert path.read_text(encoding="utf-8").startswith("# header\n")


def test_add_refuses_a_duplicate_without_touching_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, REGISTRY)
    with pytest.raises(ConfigError, match="duplicate source name 'pipl-en'"):
        add_source(path, Source(name="pipl-en", kind="page", url="http://example.org/other"))
    assert path.read_text(encoding="utf-8") == REGISTRY


def test_remove_unknown_name_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no source named 'ghost'"):
        remove_source(_write(tmp_path, REGISTRY), "ghost")


def test_add_creates_a_missing_file_and_save_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "new" / "sources.yaml"
    add_source(path, Source(name="one", kind="page", url="https://example.org/a"))
    assert [s.name for s in load_sources(path)] == ["one"]
    two = [Source(name="x", kind="folder", path="docs", topics=["ai"]), Source(name="y", kind="rss", url="http://e/f")]
    save_sources(path, two, defaults={"schedule": "30 7 * * *"})
    loaded = load_sources(path)
    assert [(s.name, s.schedule, s.topics) for s in loaded] == [("x", "30 7 * * *", ["ai"]), ("y", "30 7 * * *", [])]


def test_include_and_exclude_filtering() -> None:
    s = Source(name="t", kind="rss", url="http://e/f", include=["征求意见", r"draft"], exclude=[r"\.zip$"])
    assert s.wants("http://e/notice/1.html", "关于征求意见稿的通知")
    assert s.wants("http://e/draft-standard.html", None)
    assert not s.wants("http://e/draft.zip", "draft")
    assert not s.wants("http://e/news/2.html", "会议新闻")
    assert Source(name="all", kind="rss", url="http://e/f").wants("anything")


@pytest.mark.parametrize(
    ("expr", "weekdays"),
    [
        ("0 8 * * 1", {0}),  # crontab Monday (APScheduler's own from_crontab would give Tuesday)
        ("0 8 * * 0", {6}),
        ("0 8 * * 7", {6}),
        ("0 8 * * 1-5", {0, 1, 2, 3, 4}),
        ("0 8 * * */2", {6, 1, 3, 5}),
        ("0 8 * * sat,sun", {5, 6}),
        ("0 8 * * *", set(range(7))),
    ],
)
def test_cron_weekdays_are_read_the_crontab_way(expr: str, weekdays: set[int]) -> None:
    from datetime import UTC, datetime, timedelta

    trigger = cron_trigger(expr, "Asia/Shanghai")
    fired, t = set(), datetime(2026, 6, 1, tzinfo=UTC)  # a Monday
    for _ in range(7):
        t = trigger.get_next_fire_time(None, t) + timedelta(minutes=1)
        fired.add(t.weekday())
    assert fired == weekdays
