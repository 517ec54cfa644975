"""describe_change on synthetic EN and ZH article sets: add, remove, change, renumber, minor edits, status moves."""

from __future__ import annotations

from dataclasses import replace

import pytest

from indexer.changes import MAX_DIFF_CHARS, describe_change
from indexer.models import DocMeta, Passage
from indexer.structure import split_passages

EN_DUTIES = [
    "protect personal information against unauthorised access",
    "notify affected individuals of a breach within seventy-two hours",
    "appoint a person responsible for personal information protection",
    "keep records of processing activities for three years",
    "carry out a personal information protection impact assessment before sensitive processing",
    "encrypt sensitive personal information at rest",
    "train staff who handle personal information every year",
    "report large-scale incidents to the competent department",
]
ZH_DUTIES = [
    "采取必要措施保障所处理的个人信息的安全",
    "发生个人信息泄露的，应当立即采取补救措施并通知履行个人信息保护职责的部门",
    "处理个人信息达到国家网信部门规定数量的，应当指定个人信息保护负责人",
    "定期对其处理个人信息遵守法律、行政法规的情况进行合规审计",
    "处理敏感个人信息前应当进行个人信息保护影响评估",
    "对敏感个人信息采取加密、去标识化等安全技术措施",
    "定期对从业人员进行安全教育和培训",
    "向境外提供个人信息的，应当通过国家网信部门组织的安全评估",
]
ZH_NUM = "零一二三四五六七八九十"


def zh_numeral(n: int) -> str:
    if n <= 10:
        return ZH_NUM[n]
    tens, ones = divmod(n, 10)
    return (ZH_NUM[tens] if tens > 1 else "") + "十" + (ZH_NUM[ones] if ones else "")


def en_law(duties: list[str]) -> str:
    arts = [f"Article {i} A personal information processor shall {d}." for i, d in enumerate(duties, 1)]
    return "Personal Information Test Law\n\nChapter I General Provisions\n\n" + "\n\n".join(arts)


def zh_law(duties: list[str]) -> str:
    arts = [f"第{zh_numeral(i)}条 个人信息处理者应当{d}。" for i, d in enumerate(duties, 1)]
    return "个人信息测试法\n\n第一章 总则\n\n" + "\n\n".join(arts)


def passages(text: str, **kw: int) -> list[Passage]:
    return split_passages("doc", text, **kw)


def meta(**kw: object) -> DocMeta:
    return DocMeta(**{"title": "Test Law", "doc_type": "law", "status": "in_force", **kw})  # type: ignore[arg-type]


def change(old_text: str, new_text: str, old_meta: DocMeta | None = None, new_meta: DocMeta | None = None, **kw: int):  # type: ignore[no-untyped-def]
    return describe_change(old_meta or meta(), passages(old_text, **kw), new_meta or meta(), passages(new_text, **kw))


# --- new documents ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "kind", "summary_bit"),
    [
        ({"doc_type": "draft", "status": "draft", "comment_deadline": "2026-12-20"}, "new_draft", "comments due 2026-12-20"),
        ({"doc_type": "standard", "status": "draft", "standard_number": "GB/T 99999-2026"}, "new_draft", "GB/T 99999-2026"),
        ({"doc_type": "standard", "status": "published", "standard_number": "GB 45438-2025"}, "new_standard", "GB 45438-2025"),
        ({"doc_type": "law", "effective": "2026-01-01"}, "new_regulation", "effective 2026-01-01"),
        ({"doc_type": "regulation"}, "new_regulation", "New regulation"),
        ({"doc_type": "commentary", "issuer": "Linklaters"}, "commentary", "by Linklaters"),
        ({"doc_type": "news"}, "commentary", "New news"),
        ({"doc_type": "guideline"}, "new_document", "New guideline"),
    ],
)
def test_new_document_kind_follows_status_then_type(fields: dict[str, str], kind: str, summary_bit: str) -> None:
    info = describe_change(None, None, meta(**fields), passages(en_law(EN_DUTIES)))
    assert info is not None and info.kind == kind
    assert summary_bit in info.summary
    assert info.changed_sections == {"added": [], "removed": [], "changed": []}


# --- nothing, metadata only -------------------------------------------------------------------------------


def test_identical_text_and_metadata_only_moves_are_not_changes() -> None:
    text = en_law(EN_DUTIES)
    assert change(text, text) is None
    assert change(text, text, meta(published="2026-01-01"), meta(published="2026-06-01", title="Re-published")) is None


# --- amendments -------------------------------------------------------------------------------------------


def test_one_changed_article_is_named_and_diffed_en() -> None:
    duties = list(EN_DUTIES)
    duties[1] = "notify affected individuals of a breach within twenty-four hours"
    info = change(en_law(EN_DUTIES), en_law(duties))
    assert info is not None and info.kind == "amendment"
    assert info.changed_sections == {"added": [], "removed": [], "changed": ["Article 2"]}
    assert info.summary == "Amended: Article 2 changed."
    assert "-Article 2 A personal information processor shall notify affected individuals of a breach within seventy" in info.diff
    assert "+Article 2 A personal information processor shall notify affected individuals of a breach within twenty" in info.diff
    assert "Article 3" not in info.diff


def test_changed_and_added_articles_zh_keep_their_own_labels() -> None:
    duties = list(ZH_DUTIES)
    duties[2] = "处理个人信息达到国家网信部门规定数量的，应当指定个人信息保护负责人，并公开其联系方式"
    duties.append("每年向主管部门报送个人信息保护工作报告")
    info = change(zh_law(ZH_DUTIES), zh_law(duties))
    assert info is not None and info.kind == "amendment"
    assert info.changed_sections == {"added": ["第九条"], "removed": [], "changed": ["第三条"]}
    assert info.summary == "Amended: Article 3 changed; Article 9 added."
    assert "+第九条 个人信息处理者应当每年向主管部门报送个人信息保护工作报告。" in info.diff


@pytest.mark.parametrize("law", [en_law, zh_law], ids=["en", "zh"])
def test_inserting_an_article_is_one_addition_not_a_cascade_of_changes(law) -> None:  # type: ignore[no-untyped-def]
    duties = [f"{d} ({i})" for i in range(8) for d in (EN_DUTIES if law is en_law else ZH_DUTIES)][:60]
    inserted = "obtain separate consent before processing biometric data" if law is en_law else "处理生物识别信息应当取得个人的单独同意"
    new = duties[:4] + [inserted] + duties[4:]
    info = change(law(duties), law(new))
    assert info is not None and info.kind == "amendment"
    label = "Article 5" if law is en_law else "第五条"
    assert info.changed_sections == {"added": [label], "removed": [], "changed": []}
    assert info.summary == "Amended: Article 5 added. 56 articles renumbered."
    assert info.diff.count("+++ ") == 1


def test_removing_an_article_and_editing_a_later_one() -> None:
    duties = [d for i, d in enumerate(EN_DUTIES) if i != 2]
    duties[4] = "encrypt sensitive personal information at rest and in transit"  # Article 6, now Article 5
    info = change(en_law(EN_DUTIES), en_law(duties))
    assert info is not None
    assert info.changed_sections == {"added": [], "removed": ["Article 3"], "changed": ["Article 5"]}
    assert info.summary == "Amended: Article 5 changed; former Article 3 removed. 5 articles renumbered."
    assert "--- a/Article 6\n+++ b/Article 5" in info.diff
    assert "-Article 6 A personal information processor shall encrypt sensitive personal information at rest." in info.diff


def test_long_articles_split_in_parts_compare_as_one_article() -> None:
    long = "; ".join(f"clause {i}: the processor shall document measure number {i} in detail" for i in range(40))
    duties = [*EN_DUTIES[:2], long, *EN_DUTIES[2:]]
    edited = [*duties]
    edited[2] = long.replace("measure number 33", "measure number 33 and publish it")
    old_p, new_p = passages(en_law(duties), max_chars=400, overlap=80), passages(en_law(edited), max_chars=400, overlap=80)
    assert sum(1 for p in old_p if p.section == "Article 3") > 2  # the article really is split
    info = describe_change(meta(), old_p, meta(), new_p)
    assert info is not None and info.changed_sections["changed"] == ["Article 3"]
    # One line per clause once the parts are joined: with the overlaps left in, clause 30 would sit further down.
    assert "@@ -31,7 +31,7 @@" in info.diff
    assert info.diff.count("-clause 33:") == info.diff.count("+clause 33:") == 1


# --- minor edits ------------------------------------------------------------------------------------------


def test_punctuation_spacing_and_full_width_only_is_a_minor_edit_zh() -> None:
    duties = list(ZH_DUTIES)
    duties[3] = duties[3].replace("、", "，")  # punctuation swapped
    duties[1] = duties[1].replace("，", ",  ")  # half-width comma and extra spaces
    old = zh_law(ZH_DUTIES).replace("第八条 个人信息处理者", "第八条 个人信息处理者在２０２６年起")
    new = zh_law(duties).replace("第八条 个人信息处理者", "第八条 个人信息处理者在2026年起")  # full-width digits -> ASCII
    info = change(old, new)
    assert info is not None and info.kind == "minor_edit"
    assert info.changed_sections == {"added": [], "removed": [], "changed": ["第二条", "第四条", "第八条"]}
    assert info.summary.startswith("Minor edits only") and "Articles 2, 4, 8" in info.summary


def test_minor_edit_en() -> None:
    duties = list(EN_DUTIES)
    duties[0] = duties[0].replace("unauthorised access", "unauthorised  access;")
    info = change(en_law(EN_DUTIES), en_law(duties))
    assert info is not None and info.kind == "minor_edit" and info.changed_sections["changed"] == ["Article 1"]


# --- status -----------------------------------------------------------------------------------------------


def test_status_only_change() -> None:
    text = en_law(EN_DUTIES)
    info = change(text, text, meta(status="in_force"), meta(status="repealed"))
    assert info is not None and info.kind == "status_change"
    assert info.summary == "Status changed from in force to repealed."


def test_status_change_with_small_text_edit_stays_status_change_and_names_both() -> None:
    duties = list(EN_DUTIES)
    duties[7] = "report large-scale incidents to the national cyberspace administration"
    info = change(en_law(EN_DUTIES), en_law(duties), meta(status="draft", doc_type="draft"), meta(status="published"))
    assert info is not None and info.kind == "status_change"
    assert info.summary == "Status changed from draft to published. Amended: Article 8 changed."
    assert info.changed_sections["changed"] == ["Article 8"]


def test_status_change_with_large_rewrite_is_an_amendment_that_names_the_status() -> None:
    duties = [*EN_DUTIES[:5], "file an annual compliance report", "appoint a representative in China"]
    duties[0] = "protect personal information against unauthorised access, alteration and loss"
    info = change(en_law(EN_DUTIES), en_law(duties), meta(status="draft"), meta(status="in_force"))
    assert info is not None and info.kind == "amendment"
    assert info.summary.startswith("Status changed from draft to in force. Amended: Article 1 changed; Articles 6, 7 added;")
    assert info.changed_sections == {"added": ["Article 6", "Article 7"], "removed": ["Article 6", "Article 7", "Article 8"],
                                     "changed": ["Article 1"]}


# --- other documents --------------------------------------------------------------------------------------


def test_documents_without_articles_compare_by_section() -> None:
    old = "# Guide\n\n## 1 Scope\n\nThis guide covers data export.\n\n## 2 Terms\n\nPersonal information means any data.\n"
    new = old.replace("covers data export.", "covers data export and storage.") + "\n## 3 Contacts\n\nWrite to us.\n"
    info = change(old, new, meta(doc_type="guideline"), meta(doc_type="guideline"))
    assert info is not None and info.kind == "amendment"
    assert info.changed_sections["changed"] == ["1 Scope"] and info.changed_sections["added"] == ["3 Contacts"]
    assert info.summary == "Amended: 1 section (1 Scope) changed; 1 section (3 Contacts) added."


def test_updated_commentary_is_reported_as_commentary() -> None:
    old = "Client alert\n\nThe draft was published for comment.\n\nComments are due in June."
    new = old.replace("due in June.", "due on 30 June; we expect a second round.")
    info = change(old, new, meta(doc_type="commentary"), meta(doc_type="commentary"))
    assert info is not None and info.kind == "commentary"


def test_diff_is_truncated() -> None:
    old_duties = [f"keep record {i} " + "x" * 600 for i in range(80)]
    new_duties = [f"keep record {i} " + "y" * 600 for i in range(80)]
    info = change(en_law(old_duties), en_law(new_duties), max_chars=5000)
    assert info is not None and len(info.diff) <= MAX_DIFF_CHARS + 40 and info.diff.endswith("diff truncated …")


def test_old_passages_may_be_missing() -> None:
    info = describe_change(meta(status="draft"), None, meta(), passages(en_law(EN_DUTIES)))
    assert info is not None and info.kind == "amendment"  # every article is new relative to nothing
    assert len(info.changed_sections["added"]) == len(EN_DUTIES)


def test_describe_change_is_pure() -> None:
    old, new = passages(en_law(EN_DUTIES)), passages(en_law(EN_DUTIES[:-1]))
    snapshot = [replace(p) for p in old]
    describe_change(meta(), old, meta(), new)
    assert old == snapshot
