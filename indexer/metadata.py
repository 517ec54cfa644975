"""Document metadata: front matter mapped and normalised, and what is missing inferred from the text (EN and ZH)."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from indexer.models import DOC_TYPES, STATUSES, DocMeta, sha256
from indexer.tokenize import language_of

# --------------------------------------------------------------------------------------------------------------
# Field names
# --------------------------------------------------------------------------------------------------------------

_FIELDS = (
    "title", "short_title", "issuer", "doc_type", "status", "language", "jurisdiction", "published", "effective",
    "comment_deadline", "url", "topics", "supersedes", "superseded_by", "standard_number", "doc_id",
)
# Spellings seen in hand-written front matter and in sources.yaml defaults. Canonical names win over aliases.
_KEY_ALIASES = {
    "type": "doc_type", "document_type": "doc_type", "doctype": "doc_type", "kind": "doc_type",
    "lang": "language",
    "date": "published", "publish_date": "published", "published_date": "published", "publication_date": "published",
    "issued": "published", "issue_date": "published", "release_date": "published", "promulgated": "published",
    "effective_date": "effective", "implementation_date": "effective", "in_force_from": "effective",
    "commencement": "effective",
    "deadline": "comment_deadline", "comments_due": "comment_deadline", "comment_period_end": "comment_deadline",
    "source_url": "url", "link": "url",
    "tags": "topics", "keywords": "topics",
    "authority": "issuer", "issuing_body": "issuer",
    "id": "doc_id",
    "standard": "standard_number", "standard_no": "standard_number",
    "short_name": "short_title", "abbreviation": "short_title",
    "replaces": "supersedes", "replaced_by": "superseded_by",
}
_DATE_FIELDS = ("published", "effective", "comment_deadline")
_NON_NORMATIVE = ("commentary", "news")  # texts about rules, whose own dates and issuer differ from the rules'


def _canonical(mapping: dict[str, Any]) -> dict[str, Any]:
    """Keys lower-cased with '_' separators; aliases ('date', 'tags', 'lang') fill a field only if it is absent."""
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        k = re.sub(r"[\s\-]+", "_", str(key).strip().lower())
        target = _KEY_ALIASES.get(k, k)
        # A null never hides a value given under another spelling.
        if target not in out or (out[target] is None) or (k == target and value is not None):
            out[target] = value
    return out


# --------------------------------------------------------------------------------------------------------------
# Value normalisation: doc_type, status, language, dates, lists
# --------------------------------------------------------------------------------------------------------------

_DOC_TYPE_ALIASES = {
    "statute": "law", "法律": "law", "法": "law",
    "administrative regulation": "regulation", "regulations": "regulation", "departmental rule": "regulation",
    "departmental rules": "regulation", "rules": "regulation", "measures": "regulation", "provisions": "regulation",
    "normative document": "regulation", "decree": "regulation", "order": "regulation", "行政法规": "regulation",
    "部门规章": "regulation", "规章": "regulation", "规范性文件": "regulation", "条例": "regulation",
    "办法": "regulation", "规定": "regulation",
    "national standard": "standard", "mandatory national standard": "standard", "industry standard": "standard",
    "recommended national standard": "standard", "technical document": "standard", "gb": "standard",
    "gb/t": "standard", "国家标准": "standard", "行业标准": "standard", "标准": "standard",
    "draft for comment": "draft", "consultation draft": "draft", "exposure draft": "draft", "征求意见稿": "draft",
    "草案": "draft",
    "guidelines": "guideline", "guide": "guideline", "guidance": "guideline", "practice guide": "guideline",
    "faq": "guideline", "指南": "guideline", "指引": "guideline", "实践指南": "guideline",
    "blog": "commentary", "blog post": "commentary", "client alert": "commentary", "alert": "commentary",
    "article": "commentary", "analysis": "commentary", "legal update": "commentary", "newsletter": "commentary",
    "解读": "commentary", "评论": "commentary",
    "news report": "news", "press release": "news", "新闻": "news", "报道": "news",
    "penalty": "enforcement", "administrative penalty": "enforcement", "enforcement action": "enforcement",
    "处罚": "enforcement", "执法": "enforcement",
    "brief": "commentary", "briefing": "commentary", "client briefing": "commentary", "summary": "commentary",
    "简报": "commentary",
}
# Fallback for values not listed above: first keyword that occurs wins, so "draft" outranks "regulation".
_DOC_TYPE_KEYWORDS = (
    ("draft", ("draft", "征求意见", "草案")),
    ("commentary", ("comment", "blog", "alert", "article", "analysis", "insight", "解读")),
    ("news", ("news", "press")), ("enforcement", ("enforcement", "penalt", "处罚")), ("commentary", ("brief",)),
    ("standard", ("standard", "标准")), ("regulation", ("regulation", "measure", "rule", "provision", "条例", "办法")),
    ("guideline", ("guid", "指南", "指引")), ("law", ("law", "法")),
)
_STATUS_ALIASES = {
    "in force": "in_force", "effective": "in_force", "current": "in_force", "valid": "in_force", "active": "in_force",
    "现行有效": "in_force", "有效": "in_force", "现行": "in_force", "施行": "in_force", "生效": "in_force",
    "draft for comment": "draft", "open for comment": "draft", "consultation": "draft", "征求意见稿": "draft",
    "草案": "draft", "征求意见": "draft",
    "issued": "published", "adopted": "published", "promulgated": "published", "final": "published",
    "not yet in force": "published", "not yet effective": "published", "pending": "published",
    "已发布": "published", "发布": "published", "公布": "published", "尚未施行": "published", "尚未生效": "published",
    "partly superseded": "partly_superseded", "partially superseded": "partly_superseded",
    "部分失效": "partly_superseded", "部分废止": "partly_superseded",
    "replaced": "superseded", "已被修改": "superseded", "已修改": "superseded", "被修订": "superseded",
    "revoked": "repealed", "abolished": "repealed", "withdrawn": "repealed", "expired": "repealed",
    "废止": "repealed", "已废止": "repealed", "失效": "repealed", "已失效": "repealed",
}
_STATUS_KEYWORDS = (
    ("published", ("not yet", "尚未", "未生效")), ("partly_superseded", ("partly", "partial", "部分")),
    ("superseded", ("supersed", "replac")), ("repealed", ("repeal", "revok", "abolish", "废止", "失效")),
    ("draft", ("draft", "consult", "征求意见", "草案")), ("in_force", ("in force", "effective", "现行", "有效", "施行")),
    ("published", ("publish", "issued", "adopted", "promulgat", "公布", "发布")),
)


def _key(value: object) -> str:
    return re.sub(r"[\s_\-]+", " ", str(value).strip().lower())


def _lookup(value: object, allowed: Iterable[str], aliases: dict[str, str], keywords: tuple) -> str | None:
    if value is None or str(value).strip() == "":
        return None
    k = _key(value)
    if k.replace(" ", "_") in allowed:
        return k.replace(" ", "_")
    if k in aliases:
        return aliases[k]
    for target, words in keywords:
        if any(w in k for w in words):
            return str(target)
    return None


def normalize_doc_type(value: object) -> str | None:
    """One of models.DOC_TYPES, or None when the value means nothing we know."""
    return _lookup(value, DOC_TYPES, _DOC_TYPE_ALIASES, _DOC_TYPE_KEYWORDS)


def normalize_status(value: object) -> str | None:
    """One of models.STATUSES, or None when the value means nothing we know."""
    return _lookup(value, STATUSES, _STATUS_ALIASES, _STATUS_KEYWORDS)


def normalize_language(value: object) -> str | None:
    k = _key(value) if value is not None else ""
    if k.startswith(("zh", "chi", "cn")) or k in ("中文", "汉语", "chinese"):
        return "zh"
    if k.startswith("en") or k in ("英文", "英语"):
        return "en"
    return None


_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
_MONTH_RE = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
             r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?")
_CN_DIGITS = "〇零○Ｏ一二三四五六七八九"
_ISO = r"(?<!\d)\d{4}\s*[-/.]\s*\d{1,2}\s*[-/.]\s*\d{1,2}(?!\d)"
_ZH = rf"(?:\d{{4}}|[{_CN_DIGITS}]{{4}})\s*年\s*(?:\d{{1,2}}|[一二三四五六七八九十]{{1,3}})\s*月\s*(?:\d{{1,2}}|[一二三四五六七八九十]{{1,3}})\s*日"
_DMY = rf"(?<!\d)\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH_RE},?\s+\d{{4}}"
_MDY = rf"{_MONTH_RE}\s+\d{{1,2}}(?:st|nd|rd|th)?\s*,?\s*\d{{4}}"
DATE_PATTERN = rf"(?:{_ISO}|{_ZH}|{_DMY}|{_MDY})"
_ISO_RE = re.compile(r"(?<!\d)(\d{4})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{1,2})(?!\d)")
_ZH_RE = re.compile(r"(\S{4})\s*年\s*(\S{1,3}?)\s*月\s*(\S{1,3}?)\s*日")
_DMY_RE = re.compile(rf"(?<!\d)(\d{{1,2}})(?:st|nd|rd|th)?\s+({_MONTH_RE}),?\s+(\d{{4}})", re.IGNORECASE)
_MDY_RE = re.compile(rf"({_MONTH_RE})\s+(\d{{1,2}})(?:st|nd|rd|th)?\s*,?\s*(\d{{4}})", re.IGNORECASE)
_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９／－．", "0123456789/-.")


def _cn_number(s: str) -> int | None:
    """'2021', '二〇二一' (digit by digit), '十一', '二十一', '三十' -> int."""
    if s.isdigit():
        return int(s)
    digits = {c: i for i, c in enumerate("〇一二三四五六七八九")} | {"零": 0, "○": 0, "Ｏ": 0}
    if "十" not in s:
        if not all(c in digits for c in s):
            return None
        return int("".join(str(digits[c]) for c in s))
    tens, _, ones = s.partition("十")
    if (tens and tens not in digits) or (ones and ones not in digits):
        return None
    return (digits[tens] if tens else 1) * 10 + (digits[ones] if ones else 0)


def _iso(y: int | None, m: int | None, d: int | None) -> str | None:
    try:
        return dt.date(y, m, d).isoformat() if y and m and d else None
    except ValueError:
        return None


def parse_date(value: object) -> str | None:
    """A date as 'YYYY-MM-DD' from a YAML date, '2024-03-15', '2024年3月15日', '15 March 2024' or 'March 15, 2024'."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if not isinstance(value, str) or not value.strip():
        return None
    s = value.translate(_FULLWIDTH_DIGITS)
    if m := _ISO_RE.search(s):
        return _iso(int(m[1]), int(m[2]), int(m[3]))
    if m := _ZH_RE.search(s):
        return _iso(_cn_number(m[1]), _cn_number(m[2]), _cn_number(m[3]))
    if m := _DMY_RE.search(s):
        return _iso(int(m[3]), _MONTHS[m[2][:3].lower()], int(m[1]))
    if m := _MDY_RE.search(s):
        return _iso(int(m[3]), _MONTHS[m[1][:3].lower()], int(m[2]))
    return None


def _as_list(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [p.strip() for p in re.split(r"[,，;；]", value) if p.strip()]
    if isinstance(value, Iterable) and not isinstance(value, dict | bytes):
        return [str(v).strip() for v in value if v is not None and str(v).strip()]
    return [str(value)]


def _jsonable(value: Any) -> Any:
    """Front-matter extras travel through Chroma metadata and JSON: YAML dates become ISO strings."""
    if isinstance(value, dt.date):
        return parse_date(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


# --------------------------------------------------------------------------------------------------------------
# Inference from text: pure functions, each usable on its own
# --------------------------------------------------------------------------------------------------------------

def detect_language(text: str) -> str:
    """'zh' when CJK characters are at least 30% of letters (one hanzi carries about as much as a few Latin letters)."""
    return language_of(text[:20000], 0.3)


def infer_title(text: str, name: str = "") -> str:
    """The first non-empty line (Markdown '#' removed), cut to 200 characters; else the file name's stem."""
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line and not re.fullmatch(r"[-=*_—\s]+", line):
            if len(line) > 200:
                cut = line[:200]
                line = (cut.rsplit(" ", 1)[0] if " " in cut[100:] else cut) + "…"
            return line
    return _stem(name) or "Untitled"


_DRAFT = re.compile(
    r"征求意见稿|意见征求稿|送审稿|[（(]\s*草案|草案\s*[）)]|公开征求[^。\n]{0,60}意见|draft\s+for\s+(?:public\s+)?comments?"
    r"|exposure\s+draft|consultation\s+draft|\(\s*draft\s*\)|^\s*draft\b|comment\s+draft",
    re.IGNORECASE | re.MULTILINE,
)


def is_draft(title: str, opening: str = "") -> bool:
    """A draft for comment (征求意见稿, (草案), 'draft for comment', 'exposure draft', '(Draft)') by title or opening."""
    return bool(_DRAFT.search(title) or _DRAFT.search(opening[:1500]))


_STD_PREFIX = r"GB|YD|JR|GA|SJ|WS|GM|MH|JT|DL|HJ|SN|YY|DB\d{2}|T/[A-Z]{2,10}"
_STD = re.compile(
    rf"(?<![A-Za-z/])(?P<p>{_STD_PREFIX})\s*(?:[/／]\s*(?P<t>[TZ]))?\s*(?P<n>\d{{3,6}}(?:\.\d{{1,2}})?)"
    r"(?:\s*[-‐‑–—－―]{1,2}\s*(?P<y>\d{4}|20[Xx]{2}))?(?![\d.])"
)
_TC260 = re.compile(r"(?<![A-Za-z])TC\s*260\s*[-‐‑–—－]\s*(?P<n>\d{3})(?!\d)")


def find_standard_numbers(text: str) -> list[str]:
    """Standard numbers normalised as 'GB/T 43697-2024', 'GB 45438-2025', 'YD/T 2781-2014', 'TC260-003'."""
    found: list[tuple[int, str]] = []
    for m in _STD.finditer(text):
        # A bare 'GB 500' without year or /T is too often '500 GB' of something; demand one more sign.
        if not (m["t"] or m["y"] or len(m["n"]) >= 4):
            continue
        number = m["p"] + (f"/{m['t']}" if m["t"] else "") + f" {m['n']}" + (f"-{m['y'].upper()}" if m["y"] else "")
        found.append((m.start(), number))
    found += [(m.start(), f"TC260-{m['n']}") for m in _TC260.finditer(text)]
    return list(dict.fromkeys(n for _, n in sorted(found)))


_D = rf"(?P<date>{DATE_PATTERN})"
_ZH_DOC = r"(?:本|该)(?:法|条例|办法|规定|规则|细则|决定|标准|文件|通知|指南|指引|意见|规范|修正案)"
_EFFECTIVE = [re.compile(p, re.IGNORECASE) for p in (
    rf"{_ZH_DOC}[^。\n]{{0,10}}?自\s*{_D}\s*起\s*(?:施行|实施|生效)",
    rf"自\s*{_D}\s*起\s*(?:施行|实施|生效|执行)",
    rf"(?:实施|施行|生效)(?:日期|时间)\s*[：:为是]?\s*{_D}",
    rf"{_D}\s*起?\s*(?:实施|施行|生效)",
    rf"(?:come|comes|go|goes|enter|enters|entered|came|went)\s+into\s+(?:force|effect)\s+"
    rf"(?:on|as\s+of|from|with\s+effect\s+from)\s+{_D}",
    rf"(?:take|takes|took|taking)\s+effect\s+(?:on|as\s+of|from)\s+{_D}",
    rf"effective\s+(?:from|on|as\s+of)\s+{_D}",
    rf"(?:effective|implementation|commencement)\s+date\s*(?:is|:|：|-)?\s*{_D}",
    rf"(?:in\s+force|implemented|applicable)\s+(?:from|on|as\s+of)\s+{_D}",
)]
_ON_PUBLICATION = re.compile(
    r"自(?:公布|发布|印发|颁布)之日起(?:施行|实施|生效)|(?:come\s+into\s+(?:force|effect)|take\s+effect|effective)"
    r"\s+(?:on|from|as\s+of|upon)\s+(?:the\s+date\s+of\s+)?(?:its\s+)?(?:promulgation|publication|issuance)",
    re.IGNORECASE,
)


def _first_date(patterns: list[re.Pattern[str]], text: str, near: str | None = None) -> str | None:
    for pattern in patterns:
        for m in pattern.finditer(text):
            if near and near not in text[max(0, m.start() - 80): m.end() + 40]:
                continue
            if iso := parse_date(m["date"]):
                return iso
    return None


def find_effective_date(text: str) -> str | None:
    """'自2021年11月1日起施行', 'shall come into force on November 1, 2021', 'effective from …', '实施日期'.

    A relative commencement ('自公布之日起施行') has no date of its own: None (see `effective_on_publication`)."""
    return _first_date(_EFFECTIVE, text)


def effective_on_publication(text: str) -> bool:
    """'自公布之日起施行' / 'take effect upon promulgation': the effective date is the publication date."""
    return bool(_ON_PUBLICATION.search(text))


_DEADLINE = [re.compile(p, re.IGNORECASE) for p in (
    rf"(?:征求意见|反馈意见|意见反馈|意见征集|提交意见)的?\s*(?:截止|截至)(?:日期|时间)?\s*(?:为|是|到|至|：|:)?\s*{_D}",
    rf"comments?\s+(?:are\s+|is\s+)?due\s+(?:by\s+|on\s+|before\s+)?{_D}",
    rf"comment(?:ing)?\s+period\s+(?:ends|closes|will\s+end|will\s+close|expires|runs\s+until|until)\s+(?:on\s+)?{_D}",
    rf"deadline\s+for\s+(?:submitting\s+|public\s+)?(?:comments|feedback)\s*(?:is|:|：)?\s*(?:on\s+)?{_D}",
    rf"comment\s+deadline\s*(?:is|:|：)?\s*{_D}",
    rf"comment(?:ing)?\s+period[^.\n]{{0,40}}?(?:\bto|\buntil|\bthrough|[–—-])\s*{_D}",
    rf"(?:comments|feedback|submissions)[^.\n]{{0,80}}?\b(?:until|by|before|no\s+later\s+than)\s+{_D}",
)]
# '截至2024年底' and '于…前' are everyday phrases; they count only with 意见 close by.
_DEADLINE_NEAR_YIJIAN = [re.compile(p) for p in (
    rf"截(?:止|至)\s*(?:日期|时间)?\s*(?:为|：|:)?\s*{_D}",
    rf"(?:于|在)\s*{_D}\s*(?:24时|24:00)?\s*(?:前|之前|以前)",
)]


def find_comment_deadline(text: str) -> str | None:
    """'反馈意见截止时间为2024年6月22日', '征求意见截止', '截至…' near 意见, 'comments due by', 'comment period ends'."""
    return _first_date(_DEADLINE, text) or _first_date(_DEADLINE_NEAR_YIJIAN, text, near="意见")


_PUBLISHED = [re.compile(p, re.IGNORECASE | re.MULTILINE) for p in (
    rf"(?:发布|公布|印发|成文)(?:日期|时间)\s*[：:]?\s*{_D}",
    rf"{_D}\s*(?:发布|公布|印发)",
    rf"{_D}[^。\n）)]{{0,60}}?通过",
    rf"(?:date\s+of\s+(?:issue|publication|promulgation)|publication\s+date|issue\s+date|published|issued|released)"
    rf"\s*(?:on\s+|:\s*|：\s*)?{_D}",
    rf"(?:promulgated|adopted)\s+(?:at\s+[^.\n]{{0,200}}?\s+)?on\s+{_D}",
    rf"(?:released|published|issued)\b[^.\n]{{0,60}}?\bon\s+{_D}",
    rf"^[ \t]*{_D}[ \t]*$",  # the date line under a signature: '国家互联网信息办公室\n2024年9月14日'
)]


def find_published_date(text: str) -> str | None:
    """'发布日期：…', '2024-03-15发布', '（2021年8月20日…通过）', 'Published: 13 November 2023', 'adopted … on June 10,
    2021', and last a line holding only a date (the date under an issuer's signature)."""
    return _first_date(_PUBLISHED, text)


_ISSUERS = [(name, re.compile(p, re.IGNORECASE if name != "CAC" else 0)) for name, p in (
    ("TC260", r"全国(?:信息|网络)安全标准化技术委员会|\bTC\s?260\b"),
    ("CAC", r"国家互联网信息办公室|国家网信办|中央网信办|Cyberspace Administration of China|\bCAC\b"),
    ("MIIT", r"工业和信息化部|工信部|Ministry of Industry and Information Technology|\bMIIT\b"),
    ("NPC Standing Committee", r"全国人民代表大会常务委员会|全国人大常委会|NPC Standing Committee|\bNPCSC\b"
                               r"|Standing Committee of the (?:\w+ )?National People's Congress"),
    ("NPC", r"全国人民代表大会(?!常务委员会)|(?<!Standing Committee of the )National People's Congress"),
    ("State Council", r"国务院|\bState Council\b"),
    ("SAMR", r"国家市场监督管理总局|State Administration for Market Regulation|\bSAMR\b"),
    ("MPS", r"公安部|Ministry of Public Security"),
)]


def find_issuer(text: str) -> str | None:
    """The issuer named first in the text: TC260, CAC, MIIT, NPC Standing Committee, State Council, SAMR, MPS."""
    hits = [(m.start(), name) for name, p in _ISSUERS if (m := p.search(text))]
    return min(hits)[1] if hits else None


def _strip_tail_parenthetical(title: str) -> str:
    return re.sub(r"\s*[（(][^（）()]*[）)]\s*$", "", title.strip())


def infer_doc_type(title: str, opening: str = "") -> str | None:
    """A doc_type from the title's form (…法 -> law, …办法/条例 -> regulation, GB/T … -> standard), else None."""
    core = _strip_tail_parenthetical(_strip_tail_parenthetical(title))
    if find_standard_numbers(title) or re.search(r"国家标准|行业标准|national standard|技术文件", title, re.I):
        return "standard"
    if re.search(r"(?:办法|条例|规定|规则|细则|决定)$", core) or re.match(
        r"(?:the\s+)?(?:interim\s+|administrative\s+)?(?:regulations?|measures|provisions|rules|decision)\s+(?:on|for|of)\b",
        core, re.I):
        return "regulation"
    if re.search(r"法$", core) or re.search(r"^(?:the\s+)?[\w\s,'-]{0,80}\bLaw of the People's Republic of China", core, re.I):
        return "law"
    if re.search(r"指南|指引|\bguidelines?\b|\bguide\b", core, re.I):
        return "guideline"
    if re.search(r"解读|\bkey (?:points|changes|takeaways)\b|\bFAQs?\b|\banalysis\b|\binsights?\b", core, re.I):
        return "commentary"
    return None


def _stem(name: str) -> str:
    from indexer.parse.sniff import SUPPORTED_SUFFIXES  # local: indexer.parse imports this module

    base = re.split(r"[\\/]", name.rstrip("/\\"))[-1]
    stem, dot, suffix = base.rpartition(".")
    return stem if dot and f".{suffix.lower()}" in SUPPORTED_SUFFIXES else base


def slugify_doc_id(name: str) -> str:
    """A stable lowercase ASCII id from a file name ('zh/PIPL_2021_zh.md' -> 'pipl_2021_zh') or a URL.

    Non-ASCII runs become a short hash of themselves (no transliteration offline), so '个人信息保护法.md' gets the
    same id on every machine. Front matter `supersedes: zh/CSL_2016_zh` slugifies to the id of that file."""
    text = unicodedata.normalize("NFKC", name.strip())
    if m := re.match(r"^[a-z][a-z0-9+.-]*://([^?#]*)", text, re.I):
        base = re.sub(r"\.(?:s?html?|php|aspx?|jsp)$", "", m[1].rstrip("/"), flags=re.I)
    else:
        base = _stem(text)
    parts = []
    for chunk in re.findall(r"[A-Za-z0-9_]+|[^\x00-\x7f]+", base):
        parts.append(chunk.lower() if chunk.isascii() else "u" + sha256(chunk)[:8])
    slug = "-".join(parts).strip("-_")
    if not slug:
        return "doc-" + sha256(name)[:10]
    return slug if len(slug) <= 80 else f"{slug[:70].rstrip('-_')}-{sha256(slug)[:8]}"


# --------------------------------------------------------------------------------------------------------------
# Putting it together
# --------------------------------------------------------------------------------------------------------------

_HEAD_CHARS = 3000
_WINDOW_CHARS = (20000, 5000)  # head and tail scanned for dates: commencement is usually the last article


def _window(text: str) -> str:
    head, tail = _WINDOW_CHARS
    return text if len(text) <= head + tail else text[:head] + "\n" + text[-tail:]


def build_meta(
    front: dict[str, Any] | None,
    text: str,
    *,
    name: str,
    url: str | None = None,
    defaults: dict[str, Any] | None = None,
    today: dt.date | None = None,
) -> DocMeta:
    """Metadata for one document: front matter (or sidecar) > `defaults` (the watched source's) > inference.

    Rules worth knowing: an explicit `published: null` means "unknown" and is not guessed from the text; a draft
    detected in the title or opening overrides a source default (not front matter); unknown front-matter keys go
    to `extra`; `doc_id` is the front-matter id or `slugify_doc_id(name)`."""
    given = _canonical(dict(front or {}))
    dflt = _canonical(dict(defaults or {}))
    today = today or dt.date.today()
    extra: dict[str, Any] = {}

    def pick(key: str) -> tuple[str | None, Any]:
        if key in given and given[key] is not None:
            return "front", given[key]
        if key in dflt and dflt[key] is not None:
            return "defaults", dflt[key]
        return None, None

    title = str(pick("title")[1] or "").strip() or infer_title(text, name)
    title = re.sub(r"\s+", " ", title)
    head = text[:_HEAD_CHARS]
    window = _window(text)

    language = normalize_language(pick("language")[1]) or detect_language(text)
    draft = is_draft(title, head)

    type_src, type_raw = pick("doc_type")
    doc_type = normalize_doc_type(type_raw)
    if type_raw is not None and doc_type is None:
        extra["doc_type_raw"] = _jsonable(type_raw)
    if doc_type is None or type_src is None:
        doc_type = "draft" if draft else (infer_doc_type(title, head) or "guideline")
    normative = doc_type not in _NON_NORMATIVE

    dates: dict[str, str | None] = {}
    guess: dict[str, bool] = {}
    for field in _DATE_FIELDS:
        src, raw = pick(field)
        dates[field] = parse_date(raw)
        if raw is not None and dates[field] is None:
            extra[f"{field}_raw"] = _jsonable(raw)
        # Explicit null ('published: null' beside a dates_note) means the author knows it is unknown: do not guess.
        guess[field] = src is None and field not in given
    if guess["published"]:
        # Commentary names other documents' dates early on; only its byline zone can carry its own.
        dates["published"] = find_published_date(head if normative else head[:500])

    status_src, status_raw = pick("status")
    status = normalize_status(status_raw)
    if status_raw is not None and status is None:
        extra["status_raw"] = _jsonable(status_raw)
    if status_src != "front" and normative and (draft or doc_type == "draft"):
        status = "draft"  # a draft seen in the text outranks a watched source's default

    if guess["effective"] and normative and status != "draft":
        dates["effective"] = find_effective_date(window)
        if dates["effective"] is None and dates["published"] and effective_on_publication(window):
            dates["effective"] = dates["published"]
    if guess["comment_deadline"] and status == "draft":
        dates["comment_deadline"] = find_comment_deadline(window)

    superseded_by = _as_list(pick("superseded_by")[1])
    if status is None:
        status = _infer_status(doc_type, dates["effective"], superseded_by, today)

    standard_number = pick("standard_number")[1]
    if standard_number is None:
        # Beyond the title only the cover lines count: later text cites other standards (and successors).
        # A draft standard (doc_type draft, or standard with status draft) names its number on the cover too.
        cover = doc_type in ("standard", "draft") or bool(re.search(r"标准|standard", title, re.I))
        found = find_standard_numbers(title) or (find_standard_numbers(head[:400]) if cover else [])
        standard_number = found[0] if found else None

    issuer = pick("issuer")[1]
    if issuer is None and normative:
        issuer = find_issuer(title + "\n" + head[:1500])

    jurisdiction = given.get("jurisdiction", dflt.get("jurisdiction", "CN"))
    for source in (dflt, given):  # front-matter extras win over the source's
        extra.update({k: _jsonable(v) for k, v in source.items() if k not in _FIELDS})

    return DocMeta(
        title=title,
        doc_type=doc_type,
        status=status,
        language=language,
        short_title=_str_or_none(pick("short_title")[1]),
        issuer=_str_or_none(issuer),
        jurisdiction=_str_or_none(jurisdiction),
        published=dates["published"],
        effective=dates["effective"],
        comment_deadline=dates["comment_deadline"],
        url=_str_or_none(given.get("url")) or url or _str_or_none(dflt.get("url")),
        topics=_as_list(pick("topics")[1]),
        supersedes=_as_list(pick("supersedes")[1]),
        superseded_by=superseded_by,
        standard_number=_str_or_none(standard_number),
        doc_id=_str_or_none(pick("doc_id")[1]) or slugify_doc_id(name),
        extra=extra,
    )


def _infer_status(doc_type: str, effective: str | None, superseded_by: list[str], today: dt.date) -> str:
    if doc_type == "draft":
        return "draft"
    if superseded_by:
        return "superseded"
    if doc_type in ("law", "regulation", "standard") and effective:
        return "in_force" if effective <= today.isoformat() else "published"
    return "published"


def _str_or_none(value: object) -> str | None:
    if value is None:
        return None
    s = str(value).strip()
    return s or None
