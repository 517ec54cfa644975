"""The English gloss of Chinese text that lets the English-only bundled model place Chinese passages and questions."""

from __future__ import annotations

import re
from pathlib import Path

from indexer.gloss import Glosser, cedict, make_glosser
from indexer.glossary import Glossary, TermGroup
from indexer.models import DocMeta, Passage
from indexer.pipeline import embed_text
from tests.conftest import make_settings

GLOSSARY = Glossary([TermGroup(en=("outbound data transfer security assessment",), zh=("数据出境安全评估",)),
                     TermGroup(en=("security assessment",), zh=("安全评估",))])


def test_glossary_terms_win_and_the_longest_term_is_taken() -> None:
    out = Glosser(GLOSSARY).gloss("申报数据出境安全评估")
    assert "outbound data transfer security assessment" in out
    assert out.count("security assessment") == 1  # the shorter term inside the longer one is not glossed again


def test_dictionary_senses_prefer_the_common_reading() -> None:
    d = cedict()
    assert d["结果"] == "outcome"  # jie2guo3, not jie1guo3 "to bear fruit"
    assert d["年"] == "year"  # not the old variant 秊 "grain"
    assert d["延长"] == "prolong"  # "to prolong" loses its "to "
    assert len(d) > 100_000


def test_articles_numbers_and_latin_text_survive() -> None:
    out = Glosser(Glossary.empty()).gloss("第九条 评估结果有效期为3年。GB/T 43697-2024")
    assert out.startswith("Article 9 ")
    assert "year" in out and "3" in out and "GB/T 43697-2024" in out


def test_function_words_are_dropped_and_english_is_left_alone() -> None:
    g = Glosser(Glossary.empty())
    assert "of" not in g.gloss("个人的信息").split()
    assert g.gloss("Article 38 of the PIPL") == "Article 38 of the PIPL"


def test_embed_text_glosses_chinese_passages_only() -> None:
    g = Glosser(GLOSSARY)
    zh = Passage(doc_id="d", ordinal=0, section="第五条", section_number=5, section_kind="article",
                 chapter_path=[], text="第五条 数据处理者应当开展数据出境安全评估。")
    en = Passage(doc_id="e", ordinal=0, section="Article 5", section_number=5, section_kind="article",
                 chapter_path=[], text="Article 5 A processor shall carry out an assessment.")
    assert "outbound data transfer security assessment" in embed_text(zh, DocMeta(title="办法", language="zh"), g)
    assert embed_text(zh, DocMeta(title="办法", language="zh"), None).endswith("数据出境安全评估。")
    assert embed_text(en, DocMeta(title="Rules"), g) == "Rules\nArticle 5 A processor shall carry out an assessment."


def test_switched_off_embeds_chinese_as_it_is(tmp_path: Path) -> None:
    from indexer.gloss import embedding_glosser

    off = make_settings(tmp_path, gloss_chinese=False)
    g = make_glosser(off, GLOSSARY)
    assert g is not None  # the wide gloss (word list, evidence) is there whatever the model
    assert embedding_glosser(off, g) is None
    assert embedding_glosser(make_settings(tmp_path), g) is g
    on = make_glosser(make_settings(tmp_path))  # the bundled glossary
    assert on is not None and "outbound data transfer security assessment" in on.gloss("数据出境安全评估")


def test_amounts_and_dates_read_as_english_writes_them() -> None:
    g = Glosser(Glossary.empty())
    assert "100,000" in g.gloss("不满10万人个人信息")  # not "10 ten thousand people"
    out = g.gloss("处十万元以上一百万元以下罚款")
    assert "100,000 yuan or more" in out and "1,000,000 yuan or less" in out
    assert "1.5" not in g.gloss("1.5万元") and "15,000" in g.gloss("1.5万元")
    assert "January 1" in g.gloss("自当年1月1日起") and "moon" not in g.gloss("自当年1月1日起")
    assert "March 22, 2024" in g.gloss("2024年3月22日")
    assert g.gloss("13月45日") .count("13") == 1  # not a date: left to the dictionary


def test_statute_senses_replace_misleading_first_senses() -> None:
    g = Glosser(Glossary.empty())
    out = g.gloss("自当年1月1日起累计向境外提供不满10万人个人信息（不含敏感个人信息）")
    for wrong in ("resentful", "in those days", "keep in the mouth", "sun"):
        assert wrong not in out, out
    assert "less than" in out and "excluding" in out and "the current year" in out
    assert "from the date" in g.gloss("自收到通知书之日起")


def test_unknown_compounds_split_into_known_words_not_characters() -> None:
    g = Glosser(Glossary.empty(), dictionary={"行政": "administration", "处罚": "penalize", "行": "walk",
                                                "政": "political", "处": "reside", "罚": "punish"})
    assert g.gloss("行政处罚") == "administrative penalty"  # a statute sense wins over the dictionary
    # jieba keeps 数据安全 as one word, which this dictionary lacks: its known pieces, not its characters
    g2 = Glosser(Glossary.empty(), dictionary={"数据": "data", "安全": "safe", "数": "count", "据": "according to",
                                                "安": "calm", "全": "all"})
    assert g2.gloss("数据安全") == "data safe"  # not "count according to calm all"


def test_register_labels_no_longer_hide_a_sense() -> None:
    assert cedict()["给予"] == "give"  # "(literary) to give" used to be skipped, leaving 给予 unglossed


def test_a_phrase_of_one_word_and_stopwords_is_matched_as_written() -> None:
    g = Glossary([TermGroup(en=("in advance", "beforehand"), zh=("事前",)),
                  TermGroup(en=("cross-border transfer",), zh=("跨境传输",))])
    assert g.expand("Must we notify the regulator in advance?").zh_terms == ["事前"]
    assert g.expand("Which rules apply to advanced semiconductors?").zh_terms == []  # one stem, 'advanc', is not it
    assert g.expand("rules on cross-border transfers").zh_terms == ["跨境传输"]  # content words still match by stem


def test_every_sense_is_kept_for_word_matching() -> None:
    from indexer.gloss import cedict_senses

    assert cedict_senses("结果")[:2] == ("outcome", "result")  # the first sense stays first
    assert "appeal" not in cedict_senses("结果") and cedict_senses("不存在的词") == ()
    assert all("(" not in s for s in cedict_senses("申请"))  # "application form (CL:份)" loses its measure word
    g = Glosser(GLOSSARY)
    wide = g.lexical_gloss("对评估结果有异议的，可以申请数据出境安全评估")
    one = g.gloss("对评估结果有异议的，可以申请数据出境安全评估")
    assert "result" in wide.split() and "result" not in one.split()  # the question may say either
    assert "dissent" in wide and "outbound data transfer security assessment" in wide
    assert g.lexical_gloss("Article 38 of the PIPL") == "Article 38 of the PIPL"


def test_the_wide_gloss_says_which_chinese_word_each_sense_came_from() -> None:
    # The answer's evidence weighs a match through the gloss by the Chinese word behind it (bot/evidence.py), so the
    # pairs must be exactly what lexical_gloss prints, word by word, glossary terms whole.
    g = Glosser(GLOSSARY)
    text = "第十三条 对评估结果有异议的，可以申请数据出境安全评估"
    pairs = g.lexical_gloss_parts(text)[0]
    words = [w for w, _ in pairs]
    assert "数据出境安全评估" in words and "安全评估" not in words and "异议" in words
    assert dict(pairs)["数据出境安全评估"] == ["outbound data transfer security assessment"]
    wide = g.lexical_gloss(text)
    assert (re.findall(r"[a-z]+", " ".join(s for _, senses in pairs for s in senses))
            == re.findall(r"[a-z]+", wide.replace("Article 13", "")))
    assert g.lexical_gloss_parts("Article 38 of the PIPL") == ([], "Article 38 of the PIPL")


def test_the_gloss_in_parts_holds_the_same_words_as_the_gloss() -> None:
    # The evidence reads a Chinese sentence's gloss words from its (word, senses) pairs and the text between its
    # Chinese runs (bot/evidence.py) instead of rendering the gloss: article numbers, dates and amounts must survive.
    from indexer.tokenize import tokenize

    g = Glosser(GLOSSARY)
    for text in ("第十三条 对评估结果有异议的，可以申请数据出境安全评估",
                 "自2024年3月22日起，累计向境外提供10万人以上个人信息的，GB/T 35273适用。",
                 "Article 38 of the PIPL"):
        pairs, rest = g.lexical_gloss_parts(text)
        parts = set(tokenize(rest, bigrams=False)).union(*(tokenize(" ".join(s), bigrams=False) for _, s in pairs))
        assert parts == set(tokenize(g.lexical_gloss(text), bigrams=False))
    pairs, rest = g.lexical_gloss_parts("第十三条 对评估结果有异议的")
    assert "Article 13" in rest and "异议" in dict(pairs)


def test_the_fingerprint_follows_the_glossary() -> None:
    other = Glossary([TermGroup(en=("export security assessment",), zh=("数据出境安全评估",))])
    assert Glosser(GLOSSARY).fingerprint == Glosser(GLOSSARY).fingerprint != Glosser(other).fingerprint


def test_the_parsed_dictionary_is_cached_in_the_data_dir(tmp_path: Path) -> None:
    from indexer.gloss import _entries

    first = _entries(tmp_path)
    cached = list(tmp_path.glob("cedict-*.pickle"))
    assert len(cached) == 1 and first["结果"][0] == "outcome"
    _entries.cache_clear()
    assert _entries(tmp_path) == first  # read back from the pickle, not parsed again
    cached[0].write_bytes(b"not a pickle")
    _entries.cache_clear()
    assert _entries(tmp_path)["结果"][0] == "outcome"  # a broken cache is parsed again, not trusted
    _entries.cache_clear()
