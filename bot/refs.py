"""Explicit references in a question: 'PIPL Article 38', '《数据安全法》第二十一条', 'GB/T 43697-2024', law names."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from indexer.glossary import Glossary, is_cjk
from indexer.numerals import zh_to_int

_EN_ART = re.compile(
    r"\b(?:articles?|arts?\.?)\s*(?P<nums>\d{1,3}(?:\s*(?:,|and|or|&|to|-|–)\s*\d{1,3})*)", re.IGNORECASE
)
_ZH_ART = re.compile(r"第\s*(?P<n>[零〇一二三四五六七八九十百千两\d]{1,8})\s*条")
_STD = re.compile(
    r"(?<![A-Za-z])(?P<p>GB|YD|JR|GA|SJ|WS|GM|MH|JT|DL|HJ|SN|YY)\s*(?:[/／-]?\s*(?P<t>[TZ]))?\s*[-‐]?\s*"
    r"(?P<n>\d{3,6}(?:\.\d{1,2})?)(?:\s*[-‐‑–—－]\s*(?P<y>\d{4}))?(?![\d.])",
    re.IGNORECASE,
)
_TC260 = re.compile(r"(?<![A-Za-z])TC\s*260\s*[-‐‑–—－]?\s*(?P<n>\d{3})(?!\d)", re.IGNORECASE)
_ZH_PREFIX = "中华人民共和国"
_EN_SUFFIX = re.compile(r"\s+of\s+the\s+people'?s\s+republic\s+of\s+china\b.*$", re.IGNORECASE)
_PAREN_TAIL = re.compile(r"\s*[（(][^（）()]*[)）]\s*$")
_LANG_SUFFIX = re.compile(r"[_\-.](?:en|zh|cn)$", re.IGNORECASE)
_OF = re.compile(r"\s*(?:of|in|under)?\s*(?:the\s+)?[《“\"']?\s*", re.IGNORECASE)
PAIR_WINDOW = 40
_NAMED_INSTRUMENT = re.compile(
    r"((?:[A-Z][\w'’-]*\s+){0,5}?[A-Z][\w'’-]*)\s+(?:Law|Act|Directive|Code|Ordinance)\b"
)
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")
_ZH_BOOK = re.compile(r"《([^》]{2,40})》")  # characters between a law name and its article number


@dataclass
class ArticleRef:
    name: str
    numbers: list[int]
    doc_ids: list[str]


@dataclass
class References:
    articles: list[ArticleRef] = field(default_factory=list)
    standards: dict[str, list[str]] = field(default_factory=dict)  # number as written -> doc_ids
    named_docs: list[str] = field(default_factory=list)  # documents named without an article
    bare_articles: list[int] = field(default_factory=list)  # 'Article 38' with no law named
    name_spans: list[tuple[int, int]] = field(default_factory=list)  # where the question names a law
    # Where the question names a passage outright: an article with its law ('PIPL', 'Article 38'), a standard's number.
    ref_spans: list[tuple[int, int]] = field(default_factory=list)
    bare_spans: list[tuple[int, int]] = field(default_factory=list)  # where it names an article of no law

    def rest(self, text: str) -> str:
        """`text` without what it names outright (and articles it names without a law): 'What does PIPL Article 38
        say about certification?' -> 'What does   say about certification?'."""
        for start, end in sorted(set(self.ref_spans + self.bare_spans), reverse=True):
            text = text[:start] + " " + text[end:]
        return text

    @property
    def explicit(self) -> bool:
        return bool(self.articles or self.standards)


def std_key(number: str) -> tuple[str, str, str]:
    """('GB/T', '43697', '2024') from any spelling; the year may be ''."""
    m = _STD.search(number)
    if m:
        prefix = m["p"].upper() + (f"/{m['t'].upper()}" if m["t"] else "")
        return prefix, m["n"], m["y"] or ""
    t = _TC260.search(number)
    if t:
        return "TC260", t["n"], ""
    return number.upper(), "", ""


def name_variants(name: str) -> set[str]:
    """A title and its common shortenings: without 中华人民共和国 / 'of the PRC' / a trailing '(2016)'."""
    out = {name.strip()}
    for v in list(out):
        out.add(_PAREN_TAIL.sub("", v))
    for v in list(out):
        if v.startswith(_ZH_PREFIX):
            out.add(v[len(_ZH_PREFIX):])
        out.add(_EN_SUFFIX.sub("", v))
    return {v.strip() for v in out if _long_enough(v.strip())}


def _long_enough(v: str) -> bool:
    return len(v) >= 3 if is_cjk(v) else len(v) >= 3 and not v.isdigit()


def sibling_key(source_path: str) -> str:
    """'…/zh/PIPL_2021_zh.md' -> 'pipl_2021': the language versions of one instrument share it."""
    stem = source_path.rstrip("/").rsplit("/", 1)[-1]
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    return _LANG_SUFFIX.sub("", stem).lower()


class NameIndex:
    """Law names and standard numbers of the indexed documents, for resolving references in questions."""

    def __init__(self, docs: Iterable[Any], glossary: Glossary) -> None:
        self.aliases: dict[str, set[str]] = {}  # lower-cased alias -> doc_ids
        self.standards: dict[str, tuple[tuple[str, str, str], str]] = {}
        siblings: dict[str, set[str]] = {}
        docs = list(docs)
        self.years: dict[str, set[str]] = {}
        for d in docs:
            self.years[d.doc_id] = set(_YEAR.findall(" ".join(
                str(x or "") for x in (d.title, d.short_title, d.source_path.rsplit("/", 1)[-1], d.published))))
            siblings.setdefault(sibling_key(d.source_path), set()).add(d.doc_id)
        for d in docs:
            if d.doc_type in ("commentary", "news"):
                continue  # a commentary's title names the law it discusses; a name means the law itself
            names: set[str] = set()
            for n in (d.short_title, d.title):
                if n:
                    names |= name_variants(n)
            for n in list(names):
                names |= {a for a in glossary.aliases(n) if _long_enough(a)}
            group = siblings.get(sibling_key(d.source_path), {d.doc_id})
            for n in names:
                self.aliases.setdefault(n.lower(), set()).update(group)
            if d.standard_number:
                self.standards[d.doc_id] = (std_key(d.standard_number), d.doc_id)
                # A standard is also asked about by its name ('《数据分类分级规则》'): the glossary knows it.
                for a in glossary.aliases(d.standard_number):
                    if _long_enough(a) and std_key(a)[1] != std_key(d.standard_number)[1]:
                        self.aliases.setdefault(a.lower(), set()).update(group)
        self.glossary = glossary
        # Longest first, so 'Network Data Security Management Regulations' wins over a shorter alias inside it.
        self._ordered = sorted(self.aliases, key=len, reverse=True)
        self._en_patterns = {a: re.compile(rf"(?<![a-z0-9]){re.escape(a)}(?![a-z0-9])") for a in self._ordered if not is_cjk(a)}

    def find_names(self, text: str) -> list[tuple[int, int, set[str]]]:
        """(start, end, doc_ids) of every law name in `text`, longest match wins where they overlap."""
        low = text.lower()
        taken: list[tuple[int, int]] = []
        out: list[tuple[int, int, set[str]]] = []
        for a in self._ordered:
            if is_cjk(a):
                spans = [(m.start(), m.end()) for m in re.finditer(re.escape(a), low)]
            else:
                spans = [(m.start(), m.end()) for m in self._en_patterns[a].finditer(low)]
            for s, e in spans:
                if any(s < te and ts < e for ts, te in taken):
                    continue
                taken.append((s, e))
                out.append((s, e, self._by_year(self.aliases[a], low[max(0, s - 12) : s] + " " + low[e : e + 12])))
        return sorted(out, key=lambda x: x[0])

    def _by_year(self, doc_ids: set[str], around: str) -> set[str]:
        """'the 2016 Cybersecurity Law' / '2016年版网络安全法': only the versions of that year, if any match."""
        years = set(_YEAR.findall(around))
        if not years:
            return doc_ids
        picked = {d for d in doc_ids if self.years.get(d, set()) & years}
        return picked or doc_ids

    def unresolved_instruments(self, text: str) -> list[str]:
        """Laws and acts the question names that are not indexed: 'the GDPR', 'China's Anti-Monopoly Law', '《劳动合同法》'.

        No indexed passage can say what such an instrument provides, so the answerer abstains.
        """
        known = [(s, e) for s, e, _ in self.find_names(text)]
        out: list[str] = []
        for m in _NAMED_INSTRUMENT.finditer(text):
            if not any(s < m.end() and m.start() < e for s, e in known) and not self._glossary_knows(m.group(1)):
                out.append(m.group().strip())
        for m in _ZH_BOOK.finditer(text):
            name = m.group(1)
            if not any(s < m.end() and m.start() < e for s, e in known) and not self._glossary_knows(name):
                out.append(m.group())
        return out

    def _glossary_knows(self, name: str) -> bool:
        low = name.lower()
        for g in self.glossary.groups:
            for f in (*g.en, *g.zh):
                fl = f.lower()
                if len(fl) >= 4 and (fl in low or (low in fl and len(low) >= 4)):
                    return True
        return False

    def find_standards(self, text: str) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for m in [*_STD.finditer(text), *_TC260.finditer(text)]:
            if m.re is _STD and not (m["t"] or m["y"] or len(m["n"]) >= 4):
                continue
            want = std_key(m.group())
            docs = [
                doc_id for doc_id, (have, _) in self.standards.items()
                if have[:2] == want[:2] and (not want[2] or not have[2] or have[2] == want[2])
            ]
            if docs:
                out[m.group().strip()] = sorted(docs)
        return out

    @staticmethod
    def _pair(text: str, names: list[tuple[int, int, set[str]]], s: int, e: int) -> int | None:
        """The name an article mention belongs to: 'Article 38 of the PIPL' first, else the nearest before it."""
        after = [i for i, (ns, _ne, _d) in enumerate(names) if ns >= e and ns - e <= PAIR_WINDOW]
        if after and _OF.fullmatch(text[e : names[after[0]][0]]):
            return after[0]
        before = [i for i, (_ns, ne, _d) in enumerate(names) if ne <= s and s - ne <= PAIR_WINDOW]
        if before and not re.search(r"[。；;.!?？！]", text[names[before[-1]][1] : s]):
            return before[-1]
        return after[0] if after else None

    def resolve(self, text: str) -> References:
        refs = References(standards=self.find_standards(text))
        names = self.find_names(text)
        refs.name_spans = [(s, e) for s, e, _ in names]
        used: set[int] = set()
        mentions: list[tuple[int, int, list[int]]] = []
        for m in _EN_ART.finditer(text):
            nums = [int(x) for x in re.findall(r"\d{1,3}", m["nums"])]
            if re.search(r"\bto\b|-|–", m["nums"]) and len(nums) == 2 and 0 < nums[1] - nums[0] <= 10:
                nums = list(range(nums[0], nums[1] + 1))
            mentions.append((m.start(), m.end(), nums))
        for m in _ZH_ART.finditer(text):
            n = zh_to_int(m["n"])
            if n:
                mentions.append((m.start(), m.end(), [n]))
        for s, e, nums in sorted(mentions):
            best = self._pair(text, names, s, e)
            if best is None:
                refs.bare_articles.extend(nums)
                refs.bare_spans.append((s, e))
                continue
            used.add(best)
            ns, ne, docs = names[best]
            refs.articles.append(ArticleRef(name=text[ns:ne], numbers=nums, doc_ids=sorted(docs)))
            refs.ref_spans += [(s, e), (ns, ne)]
        refs.ref_spans += [(m.start(), m.end()) for m in [*_STD.finditer(text), *_TC260.finditer(text)]
                           if m.group().strip() in refs.standards]
        for i, (_s, _e, docs) in enumerate(names):
            if i not in used:
                refs.named_docs.extend(d for d in sorted(docs) if d not in refs.named_docs)
        return refs
