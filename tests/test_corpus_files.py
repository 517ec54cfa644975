"""Checks on the material we write by hand: corpus/sources.yaml, corpus/briefs/, corpus/glossary.yaml, bench/questions.yaml."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from indexer.models import DOC_TYPES

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"
SHARED = REPO.parent / "shared" / "regulations"  # read in place, never copied (see ../shared/README.md)

SOURCE_KINDS = {"folder", "page", "listing", "rss"}
LANGUAGES = {"en", "zh"}
QUESTION_KINDS = {"en", "zh", "cross", "unanswerable"}
BRIEF_RECORD = "regwatch plain-language brief; not the official text; cites the instrument and article"
CJK = re.compile(r"[\u4e00-\u9fff]")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

needs_shared = pytest.mark.skipif(
    not SHARED.is_dir(),
    reason=f"shared regulations not found at {SHARED}: gold files and URLs cannot be checked on this machine",
)


# ---- helpers ------------------------------------------------------------------------------------------------------

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}


def cn_to_int(text: str) -> int:
    """Chinese numerals as used in article headings ('十二', '二十三', '一百零五') to int."""
    total, digit = 0, None
    for ch in text:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
        elif ch in _CN_UNITS:
            total += (1 if digit is None else digit) * _CN_UNITS[ch]  # '十二' has no leading digit
            digit = None
        else:
            raise ValueError(f"not a Chinese numeral: {text!r}")
    return total + (digit or 0)


EN_HEADING = re.compile(r"^\s*Article\s+(\d+)\b", re.M)
ZH_HEADING = re.compile(r"^\s*第([零〇一二两三四五六七八九十百千]+)条", re.M)


def article_numbers(text: str) -> set[int]:
    """Article numbers that appear as headings ('Article N' or '第N条' at the start of a line)."""
    found = {int(n) for n in EN_HEADING.findall(text)}
    found |= {cn_to_int(n) for n in ZH_HEADING.findall(text)}
    return found


def split_front_matter(path: Path) -> tuple[dict, str]:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n"), f"{path.name}: no front matter"
    _, fm, body = text.split("---\n", 2)
    meta = yaml.safe_load(fm)
    assert isinstance(meta, dict), f"{path.name}: front matter is not a mapping"
    return meta, body


def load_yaml(path: Path) -> dict:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path} is not a YAML mapping"
    return data


def test_cn_to_int() -> None:
    cases = {
        "一": 1,
        "十": 10,
        "十二": 12,
        "二十": 20,
        "二十三": 23,
        "六十二": 62,
        "八十一": 81,
        "一百": 100,
        "一百零五": 105,
    }
    for text, expected in cases.items():
        assert cn_to_int(text) == expected, text
    assert article_numbers("第十三条 x\n第七十四条　y\nArticle 23  z\n see Article 5") == {13, 74, 23}


# ---- corpus/sources.yaml --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sources() -> dict:
    return load_yaml(CORPUS / "sources.yaml")


def test_sources_header(sources: dict) -> None:
    assert sources["version"] == 1
    assert set(sources["defaults"]) >= {"schedule", "jurisdiction"}
    assert sources["defaults"]["jurisdiction"] == "CN"
    assert len(sources["defaults"]["schedule"].split()) == 5
    assert isinstance(sources["sources"], list) and sources["sources"]


def test_source_names_unique_and_slugs(sources: dict) -> None:
    names = [s["name"] for s in sources["sources"]]
    dupes = [n for n, c in Counter(names).items() if c > 1]
    assert not dupes, f"duplicate source names: {dupes}"
    for name in names:
        assert re.fullmatch(r"[a-z0-9][a-z0-9-]*", name), f"name is not a slug: {name!r}"


def test_each_source_is_well_formed(sources: dict) -> None:
    for s in sources["sources"]:
        name = s["name"]
        assert s["kind"] in SOURCE_KINDS, f"{name}: kind {s['kind']!r}"
        if s["kind"] == "folder":
            assert "path" in s and "url" not in s, f"{name}: a folder has a path, not a url"
            folder = REPO / s["path"]
            assert folder.is_dir(), f"{name}: folder {s['path']} does not exist under the repo root"
        else:
            url = urlparse(s.get("url", ""))
            assert url.scheme in {"http", "https"} and url.netloc, (
                f"{name}: url must be http(s): {s.get('url')!r}"
            )
        if "doc_type" in s:
            assert s["doc_type"] in DOC_TYPES, f"{name}: doc_type {s['doc_type']!r} not in {DOC_TYPES}"
        if "language" in s:
            assert s["language"] in LANGUAGES, f"{name}: language"
        if "schedule" in s:
            assert len(str(s["schedule"]).split()) == 5, f"{name}: schedule is not a 5-field cron"
        assert isinstance(s.get("enabled", True), bool), f"{name}: enabled must be true/false"
        assert isinstance(s.get("topics", []), list), f"{name}: topics must be a list"
        for key in ("include", "exclude"):
            patterns = s.get(key, [])
            assert isinstance(patterns, list), f"{name}: {key} must be a list"
            if patterns:
                assert s["kind"] == "listing", f"{name}: {key} only applies to listings"
            for p in patterns:
                re.compile(p)


def test_enabled_sources_do_not_fetch_the_same_url_twice(sources: dict) -> None:
    urls = [s["url"] for s in sources["sources"] if s.get("enabled", True) and "url" in s]
    dupes = [u for u, c in Counter(urls).items() if c > 1]
    assert not dupes, f"enabled sources share a url: {dupes}"


def test_bundled_briefs_folder_is_listed(sources: dict) -> None:
    assert any(s["kind"] == "folder" and s.get("path") == "corpus/briefs" for s in sources["sources"])


@needs_shared
def test_every_shared_instrument_has_a_source(sources: dict) -> None:
    urls = {s.get("url") for s in sources["sources"]}
    for path in sorted((SHARED / "en").glob("*.md")) + sorted((SHARED / "zh").glob("*.md")):
        meta, _ = split_front_matter(path)
        assert meta.get("url") in urls, (
            f"{path.relative_to(SHARED)}: its url {meta.get('url')!r} is not in sources.yaml"
        )


# ---- corpus/briefs/ -------------------------------------------------------------------------------------------------

BRIEFS = sorted((CORPUS / "briefs").glob("*.md"))
ARTICLE_REF = re.compile(r"Article \d+|Articles \d+|第[零一二三四五六七八九十百]+条|GB(?:/T)? \d+-\d{4}")
NUMBERED_HEADING = re.compile(r"^## (\d+)\. \S", re.M)


def test_brief_count_and_languages() -> None:
    assert 10 <= len(BRIEFS) <= 14, f"{len(BRIEFS)} briefs"
    langs = Counter(split_front_matter(p)[0]["language"] for p in BRIEFS)
    assert 3 <= langs["zh"] <= 4, langs
    assert langs["en"] >= 7, langs


@pytest.mark.parametrize("path", BRIEFS, ids=lambda p: p.name)
def test_brief_front_matter(path: Path) -> None:
    meta, _ = split_front_matter(path)
    assert str(meta["title"]).startswith("Brief: ")
    assert meta["doc_type"] == "commentary"
    assert meta["status"] == "published"
    assert meta["issuer"] == "regwatch (plain-language brief)"
    assert meta["language"] in LANGUAGES
    assert meta["jurisdiction"] == "CN"
    assert isinstance(meta["topics"], list) and meta["topics"]
    assert isinstance(meta["published"], str) and ISO_DATE.match(meta["published"]), (
        "published: quoted ISO date"
    )
    assert meta["record"] == BRIEF_RECORD
    assert meta["brief"] is True
    assert isinstance(meta["cites"], list) and meta["cites"]
    assert all(isinstance(c, str) and c.strip() for c in meta["cites"])


@pytest.mark.parametrize("path", BRIEFS, ids=lambda p: p.name)
def test_brief_body(path: Path) -> None:
    meta, body = split_front_matter(path)
    label = "不是法规原文" if meta["language"] == "zh" else "not the official text"
    assert label in body.split("\n## ")[0], "the body must open with the not-official-text label"
    numbers = [int(n) for n in NUMBERED_HEADING.findall(body)]
    assert len(numbers) >= 3 and numbers == list(range(1, len(numbers) + 1)), f"headings numbered {numbers}"
    for section in re.split(r"^## ", body, flags=re.M)[1:]:
        heading = section.split("\n", 1)[0]
        assert ARTICLE_REF.search(section), f"section {heading!r} names no article or standard"
    # A line starting with 'Article N' / '第N条' would look like an article of an official text to the parser.
    assert not re.search(r"^\s*(Article \d|第[零一二三四五六七八九十百]+条)", body, re.M)
    if meta["language"] == "zh":
        assert CJK.search(body)


def test_a_brief_answers_the_demo_question() -> None:
    """'Do we need separate consent to share personal information with a partner?' -> PIPL Art. 23 (and Art. 14)."""
    for path in BRIEFS:
        meta, body = split_front_matter(path)
        first = NUMBERED_HEADING.search(body)
        if (
            meta["language"] == "en"
            and {"PIPL Art. 23", "PIPL Art. 14"} <= set(meta["cites"])
            and first
            and "separate consent" in body[first.start() : body.find("\n", first.start())].lower()
            and "PIPL Article 23" in body
        ):
            return
    pytest.fail("no English brief leads with separate consent for sharing and cites PIPL Art. 23 and 14")


# ---- corpus/glossary.yaml -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def glossary() -> dict:
    return load_yaml(CORPUS / "glossary.yaml")


def test_glossary_entries(glossary: dict) -> None:
    assert glossary["version"] == 1
    terms = glossary["terms"]
    assert len(terms) >= 200, f"only {len(terms)} entries"
    for i, entry in enumerate(terms):
        assert set(entry) == {"en", "zh"}, f"entry {i}: keys {sorted(entry)}"
        for lang in ("en", "zh"):
            values = entry[lang]
            assert isinstance(values, list) and values, f"entry {i}: {lang} must be a non-empty list"
            assert all(isinstance(v, str) and v.strip() for v in values), (
                f"entry {i}: {lang} has a non-string {values}"
            )
        assert all(CJK.search(v) for v in entry["zh"]), f"entry {i}: zh term without Chinese: {entry['zh']}"
        assert not any(CJK.search(v) for v in entry["en"]), f"entry {i}: Chinese in en: {entry['en']}"


def test_glossary_has_no_duplicates(glossary: dict) -> None:
    en = Counter(v.casefold() for e in glossary["terms"] for v in e["en"])
    zh = Counter(v for e in glossary["terms"] for v in e["zh"])
    assert not [t for t, c in en.items() if c > 1], "English terms listed twice"
    assert not [t for t, c in zh.items() if c > 1], "Chinese terms listed twice"


def test_glossary_covers_core_terms(glossary: dict) -> None:
    pairs = {(v.casefold(), z) for e in glossary["terms"] for v in e["en"] for z in e["zh"]}
    for en, zh in [
        ("separate consent", "单独同意"),
        ("personal information processor", "个人信息处理者"),
        ("entrusted party", "受托人"),
        ("important data", "重要数据"),
        ("core data", "核心数据"),
        ("sensitive personal information", "敏感个人信息"),
        ("network operator", "网络运营者"),
        ("cii operator", "关键信息基础设施运营者"),
        ("security assessment", "安全评估"),
        ("generative ai", "生成式人工智能"),
        ("tc260", "全国网络安全标准化技术委员会"),
        ("pipl", "个人信息保护法"),
    ]:
        assert (en, zh) in pairs, f"glossary lacks {en} <-> {zh}"


@needs_shared
def test_glossary_chinese_terms_mostly_match_the_texts(glossary: dict) -> None:
    """Most Chinese variants should be the exact wording of the shared texts (others are common names and abbreviations)."""
    text = "".join(p.read_text(encoding="utf-8") for p in SHARED.glob("*/*.md"))
    zh_terms = [v for e in glossary["terms"] for v in e["zh"]]
    found = sum(1 for v in zh_terms if v in text)
    assert found / len(zh_terms) >= 0.8, (
        f"only {found}/{len(zh_terms)} Chinese terms occur in the shared texts"
    )
    firsts_missing = [
        e["zh"][0] for e in glossary["terms"] if e["zh"][0] not in text and any(z in text for z in e["zh"])
    ]
    assert not firsts_missing, f"put the wording used in the texts first: {firsts_missing}"


# ---- bench/questions.yaml -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def questions() -> list[dict]:
    data = load_yaml(REPO / "bench" / "questions.yaml")
    assert data["version"] == 1
    return data["questions"]


def test_question_set_shape(questions: list[dict]) -> None:
    assert len(questions) >= 72, f"only {len(questions)} questions"
    ids = Counter(q["id"] for q in questions)
    assert not [i for i, c in ids.items() if c > 1], "duplicate ids"
    texts = Counter(q["q"].strip() for q in questions)
    assert not [t for t, c in texts.items() if c > 1], "duplicate question texts"
    kinds = Counter(q["kind"] for q in questions)
    assert set(kinds) <= QUESTION_KINDS, kinds
    assert kinds["en"] >= 20 and kinds["zh"] >= 15 and kinds["cross"] >= 12 and kinds["unanswerable"] >= 12, (
        kinds
    )


def test_each_question_is_well_formed(questions: list[dict]) -> None:
    for q in questions:
        qid = q["id"]
        assert set(q) == {"id", "q", "lang", "kind", "gold"}, f"{qid}: keys {sorted(q)}"
        assert q["lang"] in LANGUAGES and q["kind"] in QUESTION_KINDS, qid
        assert bool(CJK.search(q["q"])) == (q["lang"] == "zh"), (
            f"{qid}: lang does not match the question text"
        )
        assert isinstance(q["gold"], list), qid
        assert (q["kind"] == "unanswerable") == (not q["gold"]), (
            f"{qid}: only unanswerable questions have no gold"
        )
        for g in q["gold"]:
            assert set(g) <= {"file", "article"} and isinstance(g["file"], str), f"{qid}: {g}"
            assert not g["file"].startswith("/") and ".." not in g["file"], (
                f"{qid}: gold paths are relative to regulations/"
            )
            if "article" in g:
                assert isinstance(g["article"], int) and g["article"] > 0, f"{qid}: {g}"
        if q["kind"] in ("en", "zh"):
            assert q["lang"] == q["kind"], f"{qid}: kind {q['kind']} but lang {q['lang']}"


def test_the_demo_question_is_covered(questions: list[dict]) -> None:
    assert any(
        {"file": "en/PIPL_2021_en.md", "article": 23} in q["gold"] for q in questions if q["lang"] == "en"
    )
    assert any(
        {"file": "zh/PIPL_2021_zh.md", "article": 23} in q["gold"] for q in questions if q["lang"] == "zh"
    )


@needs_shared
def test_gold_files_and_articles_exist(questions: list[dict]) -> None:
    cache: dict[str, tuple[str, set[int]]] = {}
    problems = []
    for q in questions:
        gold_langs = set()
        for g in q["gold"]:
            path = SHARED / g["file"]
            if not path.is_file():
                problems.append(f"{q['id']}: no file {g['file']}")
                continue
            if g["file"] not in cache:
                meta, body = split_front_matter(path)
                cache[g["file"]] = (meta["language"], article_numbers(body))
            lang, numbers = cache[g["file"]]
            gold_langs.add(lang)
            if "article" in g and g["article"] not in numbers:
                problems.append(f"{q['id']}: {g['file']} has no heading for article {g['article']}")
            if "article" not in g and numbers:
                problems.append(f"{q['id']}: {g['file']} has articles; name the article")
        if q["kind"] in ("en", "zh") and q["lang"] not in gold_langs:
            problems.append(f"{q['id']}: kind {q['kind']} needs a gold document in {q['lang']}")
        if q["kind"] == "cross" and q["lang"] in gold_langs:
            problems.append(f"{q['id']}: cross question has a gold document in its own language")
    assert not problems, "\n".join(problems)
