"""Test documents built at test time (PDF, DOCX, HTML, encodings): nothing binary is committed."""

from __future__ import annotations

import io
import zlib
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"
REGULATIONS = SHARED / "regulations"


def _pdf(objects: list[bytes]) -> bytes:
    """A PDF file from numbered object bodies (1 0 obj is the catalog), with a correct xref table."""
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def _stream(content: bytes, extra: bytes = b"") -> bytes:
    data = zlib.compress(content)
    return b"<< /Length %d /Filter /FlateDecode %s>>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def make_text_pdf(pages: list[list[str]]) -> bytes:
    """One page per list of lines, set in Helvetica: a real text layer that pypdf can extract."""
    n = len(pages)
    page_ids = [4 + 2 * i for i in range(n)]
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % i for i in page_ids), n),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    for lines, page_id in zip(pages, page_ids, strict=True):
        ops = [b"BT", b"/F1 11 Tf", b"14 TL", b"72 770 Td"]
        for line in lines:
            escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops.append(b"(" + escaped.encode("cp1252") + b") Tj T*")
        ops.append(b"ET")
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> "
            b"/Contents %d 0 R >>" % (page_id + 1)
        )
        objects.append(_stream(b"\n".join(ops)))
    return _pdf(objects)


def make_scanned_pdf() -> bytes:
    """A page that only paints an image, like a scan without OCR: no text layer at all."""
    pixels = bytes([200, 30, 30] * 64 * 64)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /Im1 5 0 R >> >> "
        b"/Contents 4 0 R >>",
        _stream(b"q 400 0 0 400 100 300 cm /Im1 Do Q"),
        _stream(pixels, b"/Type /XObject /Subtype /Image /Width 64 /Height 64 /ColorSpace /DeviceRGB "
                        b"/BitsPerComponent 8 "),
    ]
    return _pdf(objects)


def make_encrypted_pdf(lines: list[str], password: str = "s3cret") -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_text_pdf([lines]))))
    writer.encrypt(user_password=password, owner_password=password + "-owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def make_docx(title: str, sections: list[tuple[str, list[str]]], table: list[list[str]] | None = None,
              core_title: str | None = None) -> bytes:
    """A Word document with a Title, Heading 1 sections of paragraphs, and an optional table at the end."""
    import docx

    document = docx.Document()
    document.add_heading(title, level=0)
    for heading, paragraphs in sections:
        document.add_heading(heading, level=1)
        for paragraph in paragraphs:
            document.add_paragraph(paragraph)
    if table:
        t = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                t.cell(r, c).text = value
    if core_title:
        document.core_properties.title = core_title
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


ARTICLE_HTML = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>数据出境安全评估办法_中央网络安全和信息化委员会办公室</title>
<meta name="ArticleTitle" content="数据出境安全评估办法">
<meta name="PubDate" content="2022-07-07 18:35">
<script>var tracking = "SCRIPTJUNK";</script>
<style>.nav { color: red }</style>
</head><body>
<header><div class="logo">SITEHEADER 中国网信网</div></header>
<nav><ul><li><a href="/">首页 NAVJUNK</a></li><li><a href="/a">机构职能 NAVJUNK</a></li>
<li><a href="/b">政策法规 NAVJUNK</a></li><li><a href="/c">网信动态 NAVJUNK</a></li></ul></nav>
<div class="main"><article>
<h1>数据出境安全评估办法</h1>
<p>《数据出境安全评估办法》已经2022年5月19日国家互联网信息办公室2022年第10次室务会议审议通过，现予公布，自2022年9月1日起施行。</p>
<h2>第一章 总则</h2>
<p>第一条 为了规范数据出境活动，保护个人信息权益，维护国家安全和社会公共利益，促进数据跨境安全、自由流动，根据有关法律，制定本办法。</p>
<p>第二条 数据处理者向境外提供在中华人民共和国境内运营中收集和产生的重要数据和个人信息的安全评估，适用本办法。</p>
<p>第十二条</p>
<p>国家网信部门应当自向数据处理者发出书面受理通知书之日起45个工作日内完成数据出境安全评估。</p>
<p>第二十条 本办法自2022年9月1日起施行。</p>
</article></div>
<aside>相关阅读 ASIDEJUNK</aside>
<footer><p>版权所有 FOOTERJUNK 中央网络安全和信息化委员会办公室 京ICP备14042428号</p></footer>
</body></html>
"""

# A page where the "article" is too short and oddly built for main-text extraction: the fallback must still
# return its text.
TINY_HTML = "<html><body><div>Notice</div><div>Article 1 Short text.</div></body></html>"

GBK_TEXT = (
    "网络数据安全管理条例\n\n"
    "第一条 为了规范网络数据处理活动，保障网络数据安全，促进网络数据依法合理有效利用，制定本条例。\n\n"
    "第六十四条 本条例自2025年1月1日起施行。\n"
)

DRAFT_ZH = """关于《人工智能生成合成内容标识办法（征求意见稿）》公开征求意见的通知

为规范人工智能生成合成内容标识，国家互联网信息办公室起草了《人工智能生成合成内容标识办法（征求意见稿）》，现向社会公开征求意见。
公众可通过以下途径和方式提出反馈意见：
通过电子邮件方式发送至：example@cac.gov.cn。
意见反馈截止时间为2024年10月14日。

国家互联网信息办公室
2024年9月14日
"""

DRAFT_EN = """Exposure Draft: Measures for the Security Assessment of Cross-Border Data Transfers

The Cyberspace Administration of China (CAC) released the draft for public comment on 29 October 2021.
Comments are due by November 28, 2021. Submit comments to the address below.
"""


# A small corpus shaped like ../shared/regulations, for the answer's quoting tests (tests/test_quote_units.py): a law
# whose penalty article has its maximum in a later paragraph, a list article with its lead-in, a hard-wrapped fact
# record, a rule indexed in Chinese only, and one indexed in both languages. Fictional instruments, real shapes.
QUOTE_CORPUS = {
    "en/Data-Care-Law_en.md": """---
title: Data Care Law of the Republic
short_title: DCL
doc_type: law
status: in_force
language: en
jurisdiction: CN
published: '2021-08-20'
effective: '2021-11-01'
---

Chapter I General Provisions

Article 1 This Law is formulated to protect the rights and interests of individuals in their data.

Article 2 Data processors may provide personal data to a recipient outside the Republic if one of the following conditions is met:

(1) they have passed the outbound data security assessment organized by the Data Office;

(2) they have obtained data care certification from a specialized institution;

(3) they have concluded a standard contract with the overseas recipient formulated by the Data Office.

Article 3 A data processor shall keep the records of a data care impact assessment for at least three years.

Chapter II Legal Liability

Article 4 Where data is processed in violation of this Law, the departments with data care duties shall order the violator to make corrections, give a warning and confiscate the illegal gains; where the violator refuses to make corrections, a fine of not more than RMB one million yuan shall be imposed, and the directly liable persons in charge shall each be fined not less than RMB 10,000 yuan nor more than RMB 100,000 yuan, the departments taking into account the nature, the duration and the gravity of the violation, the number of individuals affected, the measures taken to mitigate the harm, and any previous violations by the same processor.

In case of an illegal act as prescribed in the preceding paragraph and the circumstances are serious, the departments with data care duties at or above the provincial level shall order the violator to make corrections, confiscate the illegal gains, and impose a fine of not more than RMB 50 million yuan or not more than five percent of the previous year's turnover; they may also order the suspension of relevant businesses, and shall impose a fine of not less than RMB 100,000 yuan but not more than RMB 1 million yuan upon each of the directly liable persons in charge.
""",
    "zh/Data-Care-Law_zh.md": """---
title: 数据关护法
short_title: 数据关护法
doc_type: law
status: in_force
language: zh
jurisdiction: CN
published: '2021-08-20'
effective: '2021-11-01'
---

第一章 总则

第一条 为了保护个人的数据权益，制定本法。

第二条 数据处理者因业务需要，确需向境外提供个人数据的，应当具备下列条件之一：

（一）通过数据办公室组织的数据出境安全评估；

（二）经专业机构进行数据关护认证；

（三）按照数据办公室制定的标准合同与境外接收方订立合同。

第三条 数据处理者应当对数据关护影响评估报告和处理情况记录至少保存三年。

第二章 法律责任

第四条 违反本法规定处理数据的，由履行数据关护职责的部门责令改正，给予警告，没收违法所得；拒不改正的，并处一百万元以下罚款；对直接负责的主管人员处一万元以上十万元以下罚款。

有前款规定的违法行为，情节严重的，由省级以上履行数据关护职责的部门责令改正，没收违法所得，并处五千万元以下或者上一年度营业额百分之五以下罚款；对直接负责的主管人员处十万元以上一百万元以下罚款。
""",
    "zh/Drone-Registration-Measures_zh.md": """---
title: 无人机实名登记办法
short_title: 无人机登记办法
doc_type: regulation
status: in_force
language: zh
jurisdiction: CN
published: '2024-03-22'
effective: '2024-03-22'
---

第一条 为了规范无人机实名登记，制定本办法。

第二条 无人机所有者应当在购买无人机之日起十五个工作日内完成实名登记。

第三条 未按规定登记的，由民航管理部门处二千元以下罚款。
""",
    "commentary/Gateway-Brief.md": """---
title: Brief on the quantum gateway filing draft
doc_type: commentary
status: published
language: en
jurisdiction: CN
published: '2023-09-28'
record: fact record summarising the source; not the official text
---

FACTS
- Document type: departmental rules, draft for public comment
- Comment deadline: 15 Oct 2023
- Outcome: finalised as the Quantum Gateway Provisions, effective 2024-03-22

SUMMARY (own words)
The regulator proposed a set of clarifications to ease the three gateway filing mechanisms (registration,
inspection, certification). The final Provisions kept the approach and added volume-based
thresholds (e.g. fewer than 100,000 gateway users a year exempt for small operators) and negative lists.
""",
}


def write_quote_corpus(root: Path) -> Path:
    """The QUOTE_CORPUS files under `root`/docs; returns that folder."""
    docs = root / "docs"
    for rel, text in QUOTE_CORPUS.items():
        path = docs / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return docs
