"""Rules over time, without an index: lineage links, the article mapping across versions, per-article status words,
in-force windows and dates in questions, on the shared texts (parsed in place) and a small corpus written here."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.currency import Currency, date_in_question
from indexer.article_map import articles_of, map_articles, render_word_diff, word_diff
from indexer.glossary import load_glossary
from indexer.lineage import Doc, build_lineage
from indexer.models import Passage
from indexer.parse import parse_file
from indexer.settings import BUNDLED_CORPUS, Settings
from indexer.structure import split_passages
from tests.conftest import require_shared

CSL_2016, CSL_2026, CSL_2026_EN = "csl_2016_zh", "csl_2026-consolidated_zh", "csl_2026-consolidated_en"
MEASURES_2022 = "outbound-data-transfer-security-assessment-measures_2022_zh"
PROVISIONS_2024 = "cross-border-data-flow-provisions_2024_zh"


def load(root: Path, files: list[str] | None = None) -> tuple[list[Doc], dict[str, list[Passage]], dict[str, str]]:
    settings = Settings(data_dir=root / ".unused")
    docs, passages, texts = [], {}, {}
    for path in sorted(files and [root / f for f in files] or root.rglob("*.md")):
        parsed = parse_file(path, settings=settings, display_path=str(path.relative_to(root)))
        m = parsed.meta
        doc_id = str(m.doc_id)
        docs.append(Doc(doc_id, m.title, m.doc_type, m.status, m.language, str(path.relative_to(root)), m.to_dict()))
        passages[doc_id] = split_passages(doc_id, parsed.text, max_chars=1500, overlap=200)
        texts[doc_id] = parsed.text
    return docs, passages, texts


def currency(root: Path, files: list[str] | None = None) -> Currency:
    docs, passages, texts = load(root, files)
    lineage = build_lineage(docs, texts.__getitem__, load_glossary(BUNDLED_CORPUS / "glossary.yaml"))
    return Currency(lineage, passages.__getitem__)


@pytest.fixture(scope="module")
def shared() -> Currency:
    return currency(require_shared())


# --- the CSL 2016 -> 2026 consolidation -------------------------------------------------------------------------

# Checked by hand against CSL_2016_zh.md and CSL_2026-consolidated_zh.md: 2016 article -> (kind, 2026 articles).
CSL_PINS = {
    1: ("unchanged", [1]),
    3: ("moved", [4]),  # the 2026 text inserts a new Article 3 (party leadership)
    18: ("split", [19, 20]),  # its second paragraph became part of the new AI article, Article 20
    21: ("moved", [23]),  # multi-level protection scheme
    37: ("moved", [39]),  # data localisation (the 2026 Article 37 is the national security review)
    40: ("amended", [42]),  # a paragraph referring to the Civil Code and PIPL added
    41: ("moved", [43]),
    44: ("moved", [46]),
    59: ("amended", [61]),  # fines of the security-duty penalty raised and a third paragraph added
    61: ("amended", [64]),  # real-name penalty
    64: ("merged", [71]),  # PI penalty, now "依照有关法律、行政法规的规定处理、处罚"
    65: ("amended", [67]),  # security-review penalty ("责令限期改正、停止使用、消除对国家安全的影响")
    66: ("merged", [71]),  # CII data abroad penalty
    70: ("merged", [71]),  # prohibited information
    79: ("moved", [81]),  # 本法自2017年6月1日起施行
}


def test_csl_chain(shared: Currency) -> None:
    lin = shared.lineage
    assert lin.chain(CSL_2016)[0] == CSL_2016
    assert {CSL_2026, CSL_2026_EN, "cac_2025-03-28_csl-amendment-draft-2nd-round"} <= set(lin.chain(CSL_2016))
    assert [x.new for x in lin.successors(CSL_2016, ("supersedes",))] == [CSL_2026_EN, CSL_2026]
    assert lin.in_force_until(CSL_2016)[0] == "2025-12-31"
    finals = [x for x in lin.links if x.kind == "final_of" and x.old == "cac_2025-03-28_csl-amendment-draft-2nd-round"]
    assert [x.new for x in finals] == [CSL_2026] and finals[0].source == "title"
    assert lin.translations(CSL_2026) == [CSL_2026_EN]


def test_every_2016_article_is_mapped_or_repealed(shared: Currency) -> None:
    amap = shared.article_map(CSL_2016, CSL_2026)
    assert len(amap.old) == 79 and len(amap.new) == 81
    for a in amap.old:
        rows = [x for x in amap.links if a.number in x.old]
        assert len(rows) == 1, a.label
        assert rows[0].kind == "repealed" or rows[0].new, a.label
    news = [n for x in amap.links for n in x.new]
    assert sorted(news) == list(range(1, 82))  # each 2026 article once: mapped to, or new
    assert sorted(n for x in amap.links if x.kind == "new" for n in x.new) == [3, 63, 73]


@pytest.mark.parametrize("old", sorted(CSL_PINS))
def test_csl_mapping_pins(shared: Currency, old: int) -> None:
    link = shared.article_map(CSL_2016, CSL_2026).of_old(old)
    assert link is not None
    assert (link.kind, link.new) == CSL_PINS[old]


def test_csl_mapping_across_languages(shared: Currency) -> None:
    """The English 2026 text is reached through its Chinese original: a translation keeps the article numbers."""
    amap = shared.article_map(CSL_2016, CSL_2026_EN)
    link = amap.of_old(37)
    assert link is not None and link.new == [39]
    target = amap.new_article(39)
    assert target is not None and "critical information infrastructure" in target.text.lower()


def test_csl_article_37_word_diff_is_only_the_label(shared: Currency) -> None:
    amap = shared.article_map(CSL_2016, CSL_2026)
    old, new = amap.old_article(37), amap.new_article(39)
    assert old is not None and new is not None
    changed = [(op, t) for op, t in word_diff(old.text, new.text) if op != "="]
    assert changed == [("-", "第三十七条"), ("+", "第三十九条")]


def test_csl_penalty_word_diff_shows_the_new_amounts(shared: Currency) -> None:
    amap = shared.article_map(CSL_2016, CSL_2026)
    old, new = amap.old_article(59), amap.new_article(61)
    assert old is not None and new is not None
    ops = word_diff(old.text, new.text)
    added = "".join(t for op, t in ops if op == "+")
    assert "二百万元" in added and "五万元" in added  # the serious-consequence fines the 2025 amendment added
    assert "一万元以上十万元以下罚款" in old.text
    text = render_word_diff(ops)
    assert "{+" in text and "[-第二十一条-]" in text  # the cited articles were renumbered


# --- the 2022 Measures overridden by the 2024 Provisions ----------------------------------------------------------

def test_2022_measures_partly_superseded_articles(shared: Currency) -> None:
    links = shared.lineage.successors(MEASURES_2022)
    assert [(x.new, x.kind, x.articles) for x in links] == [(PROVISIONS_2024, "partly_supersedes", [4, 14])]
    # From the note of the 2022 file, and from the text of the 2024 Provisions' Article 13
    # ("《数据出境安全评估办法》（国家互联网信息办公室令第11号）…与本规定不一致的，适用本规定").
    assert links[0].source == "note"
    standard = [x for x in shared.lineage.links if x.old == "pi-export-standard-contract-measures_2023_zh"]
    assert [(x.new, x.kind, x.source) for x in standard] == [(PROVISIONS_2024, "partly_supersedes", "text")]


def test_threshold_change_2022_to_2024(shared: Currency) -> None:
    amap = shared.article_map(MEASURES_2022, PROVISIONS_2024)
    validity = amap.of_old(14)
    assert validity is not None and validity.new == [9]
    old, new = amap.old_article(14), amap.new_article(9)
    assert old is not None and new is not None
    ops = word_diff(old.text, new.text)
    assert ("-", "2") in ops and "3" in "".join(t for op, t in ops if op == "+")  # valid 2 years -> 3 years
    thresholds = amap.of_old(4)
    assert thresholds is not None and 7 in thresholds.new
    old4, new7 = amap.old_article(4), amap.new_article(7)
    assert old4 is not None and new7 is not None
    ops = word_diff(old4.text, new7.text)
    assert ("-", "上年") in ops and ("+", "当年") in ops  # counted from 1 January of this year, not last year
    assert "100万人以上个人信息（不含敏感个人信息）" in new7.text


def test_article_status_words(shared: Currency) -> None:
    st = shared.article_status(MEASURES_2022, 4, "2025-06-01")
    assert st is not None and st.words == "superseded by 促进和规范数据跨境流动规定 Article 7 on 2024-03-22"
    assert shared.article_status(MEASURES_2022, 14, "2025-06-01").words.endswith("Article 9 on 2024-03-22")  # type: ignore[union-attr]
    assert shared.article_status(MEASURES_2022, 4, "2023-06-01") is None  # before the Provisions
    assert shared.article_status(MEASURES_2022, 2, "2025-06-01") is None  # not one of the overridden articles
    assert "still applies" in (shared.caveat(MEASURES_2022, 2, "2025-06-01") or "")
    assert shared.article_status(CSL_2016, 37, "2026-02-01").words == "superseded by 中华人民共和国网络安全法（2025年修正） Article 39 on 2026-01-01"  # type: ignore[union-attr]
    assert shared.article_status(CSL_2016, 37, "2025-06-01") is None


def test_windows_and_point_in_time(shared: Currency) -> None:
    assert shared.window(CSL_2016) == ("2017-06-01", "2025-12-31")
    assert shared.window(CSL_2026) == ("2026-01-01", None)
    assert shared.in_force_on(CSL_2016, "2025-06-01") and not shared.in_force_on(CSL_2026, "2025-06-01")
    assert shared.in_force_on(CSL_2026, "2026-01-01") and not shared.in_force_on(CSL_2016, "2026-01-01")
    assert shared.window_words(CSL_2016) == "in force from 2017-06-01 to 2025-12-31"
    assert shared.open_for_comment_on("cac_2025-03-28_csl-amendment-draft-2nd-round", "2025-04-01")
    assert not shared.open_for_comment_on("cac_2025-03-28_csl-amendment-draft-2nd-round", "2025-06-01")


def test_closed_comment_period_and_finalised_draft(shared: Currency) -> None:
    assert shared.draft_words("tc260_2025-01_ai-security-standards-system-v1-0-draft", "2026-12-02") == \
        "comment period closed 2025-02-21"
    assert shared.draft_words("tc260_2025-01_ai-security-standards-system-v1-0-draft", "2025-02-01") == \
        "open for comment until 2025-02-21"
    assert shared.doc_words("cac_2023-09-28_cross-border-data-flow-provisions-draft", "2026-12-02") == \
        "Draft for comment, not in force; comment period closed 2023-10-15; finalised as 促进和规范数据跨境流动规定"


# --- a small corpus: a draft and its final text, a repeal, a replaced standard -----------------------------------

DRAFT = """---
title: 数据出境合规审计办法（征求意见稿）
doc_type: draft
status: draft
language: zh
published: '2025-01-10'
comment_deadline: '2025-02-10'
---
第一条 为了规范数据出境合规审计，制定本办法。

第二条 处理100万人以上个人信息的数据处理者，应当每两年至少开展一次合规审计。

第三条 数据处理者未按照规定开展合规审计的，由网信部门责令改正，处五十万元以下罚款。

第四条 本办法自2025年7月1日起施行。
"""
FINAL = """---
title: 数据出境合规审计办法
doc_type: regulation
language: zh
published: '2025-06-01'
effective: '2025-07-01'
---
第一条 为了规范数据出境合规审计，保护个人信息权益，制定本办法。

第二条 处理1000万人以上个人信息的数据处理者，应当每两年至少开展一次合规审计。

第三条 合规审计可以由数据处理者自行开展，也可以委托专业机构开展。

第四条 数据处理者未按照规定开展合规审计的，由网信部门责令改正，处一百万元以下罚款。

第五条 本办法自2025年7月1日起施行。2019年公布的《个人信息出境审计暂行规定》同时废止。
"""
OLD_RULE = """---
title: 个人信息出境审计暂行规定
doc_type: regulation
language: zh
published: '2019-03-01'
effective: '2019-04-01'
---
第一条 个人信息出境应当审计。
"""
EN_DRAFT = """---
title: Draft Measures on Data Audits (draft for comment)
doc_id: en-audit-draft
doc_type: draft
status: draft
language: en
published: '2025-01-10'
comment_deadline: '2025-02-10'
---
Article 1 These Measures are formulated to regulate data audits.

Article 2 A processor that fails to conduct an audit shall be fined not more than RMB 500,000 yuan.
"""
EN_FINAL = """---
title: Measures on Data Audits
doc_type: regulation
language: en
published: '2025-06-01'
effective: '2025-07-01'
final_of: en-audit-draft
---
Article 1 These Measures are formulated to regulate data audits and protect personal information rights.

Article 2 Audits may be conducted by the processor itself or by a professional agency.

Article 3 A processor that fails to conduct an audit shall be fined not more than RMB 1,000,000 yuan.
"""
STD_OLD = """---
title: 信息安全技术 个人信息安全规范
doc_type: standard
language: zh
standard_number: GB/T 35273-2017
published: '2017-12-29'
effective: '2018-05-01'
---
1 范围 本标准规范了开展收集、保存、使用个人信息等活动应遵循的原则和安全要求。
"""
STD_NEW = """---
title: 信息安全技术 个人信息安全规范（2020）
doc_type: standard
language: zh
standard_number: GB/T 35273-2020
published: '2020-03-06'
effective: '2020-10-01'
---
本标准代替GB/T 35273—2017。

1 范围 本标准规范了开展收集、存储、使用、共享、转让、公开披露、删除等个人信息处理活动应遵循的原则和安全要求。
"""


INTERIM = """---
title: 数据出境审计临时措施
doc_type: regulation
status: partly_superseded
language: zh
published: '2024-01-01'
effective: '2024-02-01'
superseded_by: rules/audit
superseded_articles:
  2: 4
  3: [2, 4]
---
第一条 为了开展数据出境审计，制定本措施。

第二条 未开展审计的，处十万元以下罚款。

第三条 处理10万人以上个人信息的，应当每年审计一次。
"""


def write_corpus(root: Path) -> Path:
    files = {"rules/interim.md": INTERIM, "drafts/audit-draft.md": DRAFT, "rules/audit.md": FINAL, "rules/old-rule.md": OLD_RULE,
             "drafts/en-audit-draft.md": EN_DRAFT, "rules/en-audit.md": EN_FINAL,
             "standards/gbt-35273-2017.md": STD_OLD, "standards/gbt-35273-2020.md": STD_NEW}
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def small(tmp_path: Path) -> Currency:
    return currency(write_corpus(tmp_path / "corpus"))


def test_draft_to_final_by_title(small: Currency) -> None:
    links = small.lineage.successors("audit-draft")
    assert [(x.new, x.kind, x.source) for x in links] == [("audit", "final_of", "title")]
    assert small.draft_words("audit-draft", "2025-03-01") == "comment period closed 2025-02-10"
    assert small.draft_words("audit-draft", "2025-08-01") == "comment period closed 2025-02-10; finalised as 数据出境合规审计办法"
    amap = small.article_map("audit-draft", "audit")
    assert [(x.kind, x.old, x.new) for x in amap.links] == [
        ("amended", [1], [1]), ("amended", [2], [2]), ("new", [], [3]), ("amended", [3], [4]), ("amended", [4], [5])]
    old, new = amap.old_article(3), amap.new_article(4)
    assert old is not None and new is not None
    ops = word_diff(old.text, new.text)
    assert ("-", "五十万元") in ops and ("+", "一百万元") in ops  # jieba keeps the amount whole


def test_draft_to_final_by_front_matter_in_english(small: Currency) -> None:
    links = small.lineage.successors("en-audit-draft")
    assert [(x.new, x.kind, x.source) for x in links] == [("en-audit", "final_of", "front matter")]
    amap = small.article_map("en-audit-draft", "en-audit")
    assert [(x.kind, x.old, x.new) for x in amap.links] == [("amended", [1], [1]), ("new", [], [2]), ("amended", [2], [3])]
    ops = word_diff(amap.old_article(2).text, amap.new_article(3).text)  # type: ignore[union-attr]
    assert ("-", "500,000") in ops and ("+", "1,000,000") in ops


def test_repeal_sentence_and_replaced_standard(small: Currency) -> None:
    repeal = small.lineage.successors("old-rule")
    assert [(x.new, x.kind, x.source) for x in repeal] == [("audit", "supersedes", "text")]
    assert "同时废止" in repeal[0].evidence
    assert small.window("old-rule") == ("2019-04-01", "2025-06-30")
    std = small.lineage.successors("gbt-35273-2017")
    assert [(x.new, x.kind, x.source) for x in std] == [("gbt-35273-2020", "supersedes", "text")]
    assert small.doc_words("gbt-35273-2017", "2021-01-01") == "superseded by 信息安全技术 个人信息安全规范（2020） on 2020-10-01"


def test_mapping_of_nothing() -> None:
    assert map_articles([], []).links == []
    only_old = map_articles(articles_of(split_passages("a", "第一条 甲。\n\n第二条 乙。", max_chars=1500, overlap=0)), [])
    assert [x.kind for x in only_old.links] == ["repealed", "repealed"]


# --- dates in questions ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("question", "day", "rest"), [
    ("What did the CSL require on 1 June 2025?", "2025-06-01", "What did the CSL require ?"),
    ("2025年6月1日网络安全法对数据本地化有什么要求？", "2025-06-01", "网络安全法对数据本地化有什么要求？"),
    ("data localisation as of 2026-01-15", "2026-01-15", "data localisation"),
    ("What applied on June 1, 2025 to CII operators?", "2025-06-01", "What applied to CII operators?"),
])
def test_date_in_question(question: str, day: str, rest: str) -> None:
    got = date_in_question(question)
    assert got is not None and got[0] == day
    assert " ".join(got[1].split()) == " ".join(rest.split())


@pytest.mark.parametrize("question", ["What is the 2025 threshold?", "PIPL Article 38", "on 31 February 2025", "GB/T 35273-2020"])
def test_no_date_in_question(question: str) -> None:
    assert date_in_question(question) is None


def test_superseded_articles_in_front_matter(small: Currency) -> None:
    links = small.lineage.successors("interim")
    assert [(x.new, x.kind, x.articles, x.to_articles) for x in links] == [
        ("audit", "partly_supersedes", [2, 3], {2: [4], 3: [2, 4]})]
    assert small.article_status("interim", 2, "2025-08-01").words == \
        "superseded by 数据出境合规审计办法 Article 4 on 2025-07-01"  # type: ignore[union-attr]
    assert small.article_status("interim", 3, "2025-08-01").words.endswith("Articles 2, 4 on 2025-07-01")  # type: ignore[union-attr]
    assert small.article_status("interim", 1, "2025-08-01") is None
    assert small.article_status("interim", 2, "2025-06-01") is None  # the replacement took effect on 1 July
    assert small.in_force_on("interim", "2025-08-01")  # its other articles still apply

