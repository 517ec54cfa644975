"""Metadata: front-matter mapping, value normalisation, and inference from EN and ZH text; plus normalize_text."""

from __future__ import annotations

import datetime as dt

import pytest

from indexer.metadata import (
    build_meta,
    detect_language,
    effective_on_publication,
    find_comment_deadline,
    find_effective_date,
    find_issuer,
    find_published_date,
    find_standard_numbers,
    infer_doc_type,
    infer_title,
    is_draft,
    normalize_doc_type,
    normalize_language,
    normalize_status,
    parse_date,
    slugify_doc_id,
)
from indexer.models import DOC_TYPES, STATUSES
from indexer.normalize import content_hash, normalize_text

TODAY = dt.date(2025, 6, 1)

# --- normalize_text / content_hash ------------------------------------------------------------------------


def test_normalize_text_line_ends_invisibles_and_spaces() -> None:
    raw = "\ufeff第一条\u200b 为了保护\u00a0个人信息权益，\r\n\r\n\r\n\r\n　　第二条　自然人\t\t的个人信息受法律保护。   \rArticle 1  This Law"
    assert normalize_text(raw) == "第一条 为了保护 个人信息权益，\n\n第二条 自然人 的个人信息受法律保护。\nArticle 1 This Law"


def test_normalize_text_keeps_full_width_punctuation() -> None:
    # NFKC would turn these into ASCII; article quotes and the structure parser rely on them.
    s = "《中华人民共和国网络安全法》（2016年）：第一条，ＧＢ／Ｔ"
    assert normalize_text(s) == s


def test_content_hash_ignores_whitespace_only_changes() -> None:
    a = "第一条 为了保护个人信息权益。\n\n第二条 自然人的个人信息受法律保护。"
    b = "第一条  为了保护个人信息权益。\r\n第二条\u3000自然人的个人信息\n受法律保护。  \n\n\n"
    assert content_hash(a) == content_hash(b)
    assert content_hash(a) != content_hash(a.replace("第二条", "第三条"))


# --- dates ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (dt.date(2021, 11, 1), "2021-11-01"),
        (dt.datetime(2024, 3, 22, 10, 30), "2024-03-22"),
        ("2024-03-15", "2024-03-15"),
        ("2024/3/5", "2024-03-05"),
        ("2024.03.15", "2024-03-15"),
        ("2024年3月15日", "2024-03-15"),
        ("２０２４年３月１５日", "2024-03-15"),
        ("二〇二一年十一月一日", "2021-11-01"),
        ("二〇二一年八月二十日", "2021-08-20"),
        ("15 March 2024", "2024-03-15"),
        ("1st May 2025", "2025-05-01"),
        ("March 15, 2024", "2024-03-15"),
        ("Sept. 1, 2021", "2021-09-01"),
        ("November 1st , 2021", "2021-11-01"),
        ("2022-07-07 18:35", "2022-07-07"),
        ("2024-02-30", None),
        ("April 2024", None),
        ("", None),
        (None, None),
        (2024, None),
    ],
)
def test_parse_date(value: object, expected: str | None) -> None:
    assert parse_date(value) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("第七十四条 本法自2021年11月1日起施行。", "2021-11-01"),
        ("现予公布，自2022年9月1日起施行。", "2022-09-01"),
        ("Article 74  This Law shall come into force as of November 1st , 2021.", "2021-11-01"),
        ("This Law shall come into force on November 1, 2021.", "2021-11-01"),
        ("These Regulations shall be effective as of January 1, 2025.", "2025-01-01"),
        ("The Measures take effect on 1 May 2025.", "2025-05-01"),
        ("Effective from 15 August 2023, providers must label content.", "2023-08-15"),
        ("Implementation date: 2024-10-01", "2024-10-01"),
        ("2024-03-15发布  2024-10-01实施", "2024-10-01"),
        ("实施日期：2025年9月1日", "2025-09-01"),
        ("第十四条 本规定自公布之日起施行。", None),
        ("No commencement here; 第七条 自收到申报材料之日起5个工作日内完成查验。", None),
    ],
)
def test_find_effective_date(text: str, expected: str | None) -> None:
    assert find_effective_date(text) == expected


def test_effective_on_publication() -> None:
    assert effective_on_publication("第十四条 本规定自公布之日起施行。")
    assert effective_on_publication("These Provisions shall take effect upon promulgation.")
    assert not effective_on_publication("本法自2021年11月1日起施行。")
    assert not effective_on_publication("应当自收到申报材料之日起5个工作日内完成")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("意见反馈截止时间为2024年10月14日。", "2024-10-14"),
        ("反馈意见截止时间为2024年6月22日", "2024-06-22"),
        ("征求意见截止日期：2024年7月22日", "2024-07-22"),
        ("意见反馈截止日期为2024-07-22。", "2024-07-22"),
        ("请于2024年6月22日前将意见发送至以下邮箱。", "2024-06-22"),
        ("公众可在线提交意见，截至2024年8月1日。", "2024-08-01"),
        ("截至2024年12月31日，全国共登记数据知识产权5.8万件。", None),  # 'as of', not a deadline
        ("Comments are due by June 22, 2024.", "2024-06-22"),
        ("The comment period ends on 22 July 2024.", "2024-07-22"),
        ("Deadline for comments: 2024-07-22", "2024-07-22"),
        ("- Comment deadline: 15 Oct 2023", "2023-10-15"),
        ("comment period 2025-01-26 to 2025-02-21", "2025-02-21"),
        ("The public may submit comments until 15 October 2023.", "2023-10-15"),
        ("The Measures take effect on 1 May 2025.", None),
    ],
)
def test_find_comment_deadline(text: str, expected: str | None) -> None:
    assert find_comment_deadline(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("（2021年8月20日第十三届全国人民代表大会常务委员会第三十次会议通过）", "2021-08-20"),
        ("2024-03-15发布 2024-10-01实施", "2024-03-15"),
        ("发布日期：2024年3月22日", "2024-03-22"),
        ("Published: 13 November 2023", "2023-11-13"),
        ("adopted at the 29th Meeting of the Standing Committee of the 13th NPC on June 10, 2021, is hereby", "2021-06-10"),
        ("The CAC released the draft for public comment on 29 October 2021.", "2021-10-29"),
        ("国家互联网信息办公室\n2024年9月14日\n", "2024-09-14"),
        ("No dates here at all.", None),
    ],
)
def test_find_published_date(text: str, expected: str | None) -> None:
    assert find_published_date(text) == expected


# --- standard numbers, drafts, issuers, language, title ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("GB/T 43697-2024 数据安全技术 数据分类分级规则", ["GB/T 43697-2024"]),
        ("GB／T43697—2024", ["GB/T 43697-2024"]),
        ("强制性国家标准GB 45438—2025《网络安全技术 人工智能生成合成内容标识方法》", ["GB 45438-2025"]),
        ("GB/T 35273 - 2020 and GB/T 45654—2025", ["GB/T 35273-2020", "GB/T 45654-2025"]),
        ("YD/T 2781-2014 telecom standard", ["YD/T 2781-2014"]),
        ("TC260－003 and TC260-003 again", ["TC260-003"]),
        ("GB/Z 20986-2007", ["GB/Z 20986-2007"]),
        ("draft GB/T 45654—20XX", ["GB/T 45654-20XX"]),
        ("a 500 GB disk and 12 GB of logs", []),
        ("Article 43697-2024 is not a standard", []),
    ],
)
def test_find_standard_numbers(text: str, expected: list[str]) -> None:
    assert find_standard_numbers(text) == expected


@pytest.mark.parametrize(
    ("title", "opening", "expected"),
    [
        ("个人信息保护法（草案）", "", True),
        ("人工智能生成合成内容标识办法（征求意见稿）", "", True),
        ("关于公开征求《网络数据安全管理条例》意见的通知", "", True),
        ("Draft for comment — 人工智能安全标准体系 (V1.0)", "", True),
        ("Exposure Draft: Measures on Data Export", "", True),
        ("Personal Information Protection Law (Draft)", "", True),
        ("Notice", "The CAC published a draft for public comment today.", True),
        ("中华人民共和国个人信息保护法", "第一条 为了保护个人信息权益，制定本法。", False),
        ("Data Security Law", "Drafting units are listed below.", False),
    ],
)
def test_is_draft(title: str, opening: str, expected: bool) -> None:
    assert is_draft(title, opening) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("全国信息安全标准化技术委员会秘书处发布通知", "TC260"),
        ("全国网络安全标准化技术委员会（TC260）", "TC260"),
        ("国家互联网信息办公室令 第16号", "CAC"),
        ("The Cyberspace Administration of China (CAC) issued", "CAC"),
        ("工业和信息化部办公厅关于印发", "MIIT"),
        ("（2021年8月20日第十三届全国人民代表大会常务委员会第三十次会议通过）", "NPC Standing Committee"),
        ("adopted at the 29th Meeting of the Standing Committee of the Thirteenth National People's Congress",
         "NPC Standing Committee"),
        ("中华人民共和国国务院令 第745号", "State Council"),
        ("The State Council promulgated", "State Council"),
        ("nothing official", None),
    ],
)
def test_find_issuer(text: str, expected: str | None) -> None:
    assert find_issuer(text) == expected


def test_detect_language() -> None:
    assert detect_language("第一条 为了保护个人信息权益，规范个人信息处理活动，制定本法。") == "zh"
    assert detect_language("第三条 依照 GB/T 43697-2024 对 important data 进行分类分级管理。") == "zh"
    assert detect_language("Article 1 This Law is enacted to protect personal information (个人信息).") == "en"
    assert detect_language("") == "en"


def test_infer_title() -> None:
    assert infer_title("\n\n# 中华人民共和国数据安全法\n\n第一条 …") == "中华人民共和国数据安全法"
    assert infer_title("---\n\nData Rules\nbody") == "Data Rules"
    long_line = "word " * 100
    assert len(infer_title(long_line)) <= 201
    assert infer_title("", "folder/PIPL_2021_en.md") == "PIPL_2021_en"


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("中华人民共和国个人信息保护法", "law"),
        ("中华人民共和国网络安全法（2016年）", "law"),
        ("个人信息出境标准合同办法", "regulation"),  # ends in 法, but 办法 is a regulation
        ("网络数据安全管理条例", "regulation"),
        ("Personal Information Protection Law of the People's Republic of China", "law"),
        ("Regulations on Network Data Security Management", "regulation"),
        ("Interim Measures for the Management of Generative AI Services", "regulation"),
        ("GB/T 43697-2024 数据安全技术 数据分类分级规则", "standard"),
        ("人工智能安全治理实践指南", "guideline"),
        ("Key Points Of China's Cybersecurity Law Amendments", "commentary"),
        ("Quarterly newsletter", None),
    ],
)
def test_infer_doc_type(title: str, expected: str | None) -> None:
    assert infer_doc_type(title) == expected


# --- value normalisation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("law", "law"), ("Law", "law"), ("national standard", "standard"), ("GB/T", "standard"),
        ("administrative regulation", "regulation"), ("departmental rule", "regulation"), ("Measures", "regulation"),
        ("部门规章", "regulation"), ("draft for comment", "draft"), ("征求意见稿", "draft"), ("blog", "commentary"),
        ("client alert", "commentary"), ("Client-Alert", "commentary"), ("law-firm client briefing", "commentary"),
        ("news report", "news"), ("press release", "news"), ("practice guide", "guideline"),
        ("administrative penalty", "enforcement"), ("something else", None), (None, None), ("", None),
    ],
)
def test_normalize_doc_type(value: object, expected: str | None) -> None:
    assert normalize_doc_type(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("in_force", "in_force"), ("in force", "in_force"), ("Effective", "in_force"), ("现行有效", "in_force"),
        ("draft for comment", "draft"), ("征求意见稿", "draft"), ("published", "published"),
        ("not yet in force", "published"), ("尚未生效", "published"), ("partly_superseded", "partly_superseded"),
        ("partially superseded", "partly_superseded"), ("部分失效", "partly_superseded"),
        ("superseded", "superseded"), ("repealed", "repealed"), ("已废止", "repealed"), ("失效", "repealed"),
        ("whatever", None),
    ],
)
def test_normalize_status(value: object, expected: str | None) -> None:
    assert normalize_status(value) == expected


def test_every_alias_lands_in_the_model_vocabulary() -> None:
    from indexer import metadata

    assert set(metadata._DOC_TYPE_ALIASES.values()) <= set(DOC_TYPES)
    assert {t for t, _ in metadata._DOC_TYPE_KEYWORDS} <= set(DOC_TYPES)
    assert set(metadata._STATUS_ALIASES.values()) <= set(STATUSES)
    assert {t for t, _ in metadata._STATUS_KEYWORDS} <= set(STATUSES)


def test_normalize_language() -> None:
    assert [normalize_language(v) for v in ("zh", "zh-CN", "Chinese", "中文", "en", "en-US", "English", "fr", None)] == [
        "zh", "zh", "zh", "zh", "en", "en", "en", None, None,
    ]


# --- slugify_doc_id ---------------------------------------------------------------------------------------


def test_slugify_doc_id() -> None:
    assert slugify_doc_id("regulations/zh/PIPL_2021_zh.md") == "pipl_2021_zh"
    # front matter 'supersedes: zh/CSL_2016_zh' must point at the id of zh/CSL_2016_zh.md
    assert slugify_doc_id("zh/CSL_2016_zh") == slugify_doc_id("CSL_2016_zh.md")
    # a dot inside the stem is not a suffix
    assert slugify_doc_id("TC260_2025-01_AI-security-standards-system-v1.0-draft") == (
        "tc260_2025-01_ai-security-standards-system-v1-0-draft"
    )
    zh = slugify_doc_id("个人信息保护法.md")
    assert zh.isascii() and zh == slugify_doc_id("个人信息保护法.pdf") and zh != slugify_doc_id("数据安全法.md")
    mixed = slugify_doc_id("PIPL 个人信息保护法 2021.docx")
    assert mixed.startswith("pipl-u") and mixed.endswith("-2021")
    a = slugify_doc_id("https://www.cac.gov.cn/2024-03/22/index.html")
    b = slugify_doc_id("https://www.cac.gov.cn/2024-03/23/index.html")
    assert a != b and a.startswith("www-cac-gov-cn-2024-03-22")
    assert len(slugify_doc_id("x" * 300 + ".md")) <= 80
    assert slugify_doc_id("---.md").startswith("doc-")


# --- build_meta -------------------------------------------------------------------------------------------


def test_front_matter_fields_mapped_and_normalised() -> None:
    front = {
        "title": "中华人民共和国网络安全法（2016年）",
        "short_title": "网络安全法（2016）",
        "issuer": "全国人民代表大会常务委员会",
        "doc_type": "Law",
        "status": "superseded",
        "language": "zh-CN",
        "published": dt.date(2016, 11, 7),
        "effective": "2017年6月1日",
        "superseded_by": "zh/CSL_2026-consolidated_zh",
        "topics": "cybersecurity, personal-information",
        "url": "https://flk.npc.gov.cn",
        "provenance": "Retrieved via …",
        "note": "kept",
        "reviewed": dt.date(2026, 1, 2),
    }
    meta = build_meta(front, "第一条 为了保障网络安全，制定本法。", name="CSL_2016_zh.md", today=TODAY)
    assert (meta.doc_type, meta.status, meta.language) == ("law", "superseded", "zh")
    assert (meta.published, meta.effective) == ("2016-11-07", "2017-06-01")
    assert meta.superseded_by == ["zh/CSL_2026-consolidated_zh"]
    assert meta.topics == ["cybersecurity", "personal-information"]
    assert meta.short_title == "网络安全法（2016）"
    assert meta.url == "https://flk.npc.gov.cn"
    assert meta.doc_id == "csl_2016_zh"
    assert meta.extra == {"provenance": "Retrieved via …", "note": "kept", "reviewed": "2026-01-02"}


def test_explicit_null_date_is_not_guessed() -> None:
    front = {"title": "China ramps up data IP protection", "doc_type": "news", "published": None,
             "dates_note": "2025, after June 2025"}
    meta = build_meta(front, "Published: 13 June 2025\nBody text.", name="n.md", today=TODAY)
    assert meta.published is None
    assert meta.extra["dates_note"] == "2025, after June 2025"
    assert meta.status == "published"


def test_key_aliases_and_unknown_values() -> None:
    front = {"Title": "X", "type": "blog post", "date": "2024-04-02", "tags": ["a", "b"], "Doc-Type": None,
             "status": "under review"}
    meta = build_meta(front, "text", name="x.md", today=TODAY)
    assert meta.doc_type == "commentary"
    assert meta.published == "2024-04-02"
    assert meta.topics == ["a", "b"]
    assert meta.status == "published"  # unknown status: inferred, original kept
    assert meta.extra["status_raw"] == "under review"
    meta = build_meta({"title": "Y", "published": "spring 2024"}, "text", name="y.md", today=TODAY)
    assert meta.published is None and meta.extra["published_raw"] == "spring 2024"


def test_precedence_front_over_defaults_over_inference() -> None:
    text = "国家互联网信息办公室令\n第一条 为了规范数据出境活动，制定本办法。\n第二十条 本办法自2022年9月1日起施行。"
    inferred = build_meta({}, text, name="a.txt", today=TODAY)
    assert inferred.issuer == "CAC" and inferred.effective == "2022-09-01"
    with_defaults = build_meta({}, text, name="a.txt", defaults={"issuer": "CAC (watched source)", "topics": ["x"]},
                               today=TODAY)
    assert with_defaults.issuer == "CAC (watched source)" and with_defaults.topics == ["x"]
    with_front = build_meta({"issuer": "国家互联网信息办公室"}, text, name="a.txt",
                            defaults={"issuer": "CAC (watched source)"}, today=TODAY)
    assert with_front.issuer == "国家互联网信息办公室"


def test_zh_law_inferred_from_text_alone() -> None:
    text = (
        "中华人民共和国个人信息保护法\n\n（2021年8月20日第十三届全国人民代表大会常务委员会第三十次会议通过）\n\n"
        "第一条 为了保护个人信息权益，制定本法。\n\n第七十四条 本法自2021年11月1日起施行。"
    )
    meta = build_meta({}, text, name="pipl.txt", today=TODAY)
    assert meta.title == "中华人民共和国个人信息保护法"
    assert (meta.doc_type, meta.status, meta.language) == ("law", "in_force", "zh")
    assert (meta.published, meta.effective) == ("2021-08-20", "2021-11-01")
    assert meta.issuer == "NPC Standing Committee"


def test_future_effective_date_is_published_not_in_force() -> None:
    text = "Regulations on Widgets\n\nArticle 30 These Regulations shall come into force on January 1, 2026."
    meta = build_meta({}, text, name="w.txt", today=TODAY)
    assert (meta.doc_type, meta.effective, meta.status) == ("regulation", "2026-01-01", "published")
    assert build_meta({}, text, name="w.txt", today=dt.date(2026, 1, 1)).status == "in_force"


def test_effective_on_publication_takes_published_date() -> None:
    text = "促进和规范数据跨境流动规定\n\n发布日期：2024年3月22日\n\n第十四条 本规定自公布之日起施行。"
    meta = build_meta({}, text, name="p.txt", today=TODAY)
    assert (meta.published, meta.effective, meta.status) == ("2024-03-22", "2024-03-22", "in_force")


def test_zh_draft_notice() -> None:
    text = (
        "关于《人工智能生成合成内容标识办法（征求意见稿）》公开征求意见的通知\n\n"
        "国家互联网信息办公室起草了《办法（征求意见稿）》，现向社会公开征求意见。\n"
        "意见反馈截止时间为2024年10月14日。\n\n国家互联网信息办公室\n2024年9月14日\n"
    )
    meta = build_meta({}, text, name="notice.html", today=TODAY)
    assert (meta.doc_type, meta.status, meta.language) == ("draft", "draft", "zh")
    assert (meta.comment_deadline, meta.published, meta.effective) == ("2024-10-14", "2024-09-14", None)
    assert meta.issuer == "CAC"


def test_en_draft_keeps_source_doc_type_but_becomes_draft() -> None:
    text = ("Draft Measures for Personal Information Protection Compliance Audits (Draft for Comment)\n\n"
            "Comments are due by September 2, 2023.\nArticle 20 These Measures shall come into force on ____.")
    meta = build_meta({}, text, name="d.txt", defaults={"doc_type": "regulation", "status": "in_force"}, today=TODAY)
    assert (meta.doc_type, meta.status, meta.comment_deadline) == ("regulation", "draft", "2023-09-02")
    assert build_meta({}, text, name="d.txt", today=TODAY).doc_type == "draft"


def test_commentary_about_a_draft_stays_commentary() -> None:
    front = {"title": "《生成式人工智能服务安全基本要求》(征求意见稿)要点解读", "doc_type": "commentary",
             "status": "published"}
    text = "The TC260 draft for comment shall come into force on 1 May 2024 if adopted. Comments due by 1 Dec 2023."
    meta = build_meta(front, text, name="c.md", today=TODAY)
    assert (meta.doc_type, meta.status, meta.effective, meta.comment_deadline) == ("commentary", "published", None, None)
    assert meta.issuer is None  # the CAC/TC260 named in commentary are not its issuer


def test_standard_number_in_title_makes_a_standard() -> None:
    text = "GB/T 43697-2024 数据安全技术 数据分类分级规则\n\n2024-03-15发布 2024-10-01实施\n\n国家市场监督管理总局 发布"
    meta = build_meta({}, text, name="std.txt", today=TODAY)
    assert (meta.doc_type, meta.standard_number) == ("standard", "GB/T 43697-2024")
    assert (meta.published, meta.effective, meta.status) == ("2024-03-15", "2024-10-01", "in_force")


def test_url_precedence_and_title_fallback() -> None:
    meta = build_meta({}, "", name="folder/empty-note.txt", url="https://example.org/a", today=TODAY)
    assert meta.title == "empty-note" and meta.url == "https://example.org/a"
    meta = build_meta({"url": "https://canonical"}, "x", name="a.md", url="https://fetched", today=TODAY)
    assert meta.url == "https://canonical"
    assert build_meta({"id": "my-id"}, "x", name="a.md", today=TODAY).doc_id == "my-id"
