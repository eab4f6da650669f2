"""The city's other business (``corpus/offtopic.toml``): its loading and validation, and what it does
through the real chain: a question nearer one of its topics than any indexed sentence is refused,
until a document that covers the topic is indexed."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.answering.extractive import ABSTENTION_TEXT
from assistant.cli import main
from assistant.ingestion.corpus import OFFTOPIC
from assistant.ingestion.offtopic import OffTopicError, OffTopics
from tests.conftest import CORPUS_DIR, copy_vector_caches

TAX_QUESTION = "市民税はどうやって納めればいいの？"
TAX_GUIDE = """# 市民税の納め方

## 納付の方法

市民税・県民税は、納税通知書に同封の納付書で、市役所の窓口、指定の金融機関またはコンビニエンスストアで納めることができます。
口座振替を申し込むと、納期ごとに指定の口座から引き落とされます。

## 納期

普通徴収の市民税・県民税の納期は、６月、８月、１０月、翌年１月の年４回です。
"""


def test_the_corpus_list_loads_with_short_distinct_topics():
    topics = OffTopics.load(CORPUS_DIR / OFFTOPIC)
    assert len(topics.fields) >= 10 and len(topics.topics) == len(set(topics.topics)) >= 80
    assert "職員の給与・ボーナスの支給日" in topics.topics


def test_an_absent_list_is_empty():
    assert OffTopics.load(CORPUS_DIR / "no-such.toml").topics == []


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('[topics]\n"税務" = "市民税"\n', "文字列の配列"),
        ('[topics]\n"税務" = []\n', "文字列の配列"),
        ('[topics]\n"税務" = ["市民税", ""]\n', "文字列の配列"),
        ('[topics]\n"税務" = ["市民税"]\n"市民課" = ["市民税"]\n', "二度"),
        ('[topics]\n"税務" = ["' + "税" * 41 + '"]\n', "長すぎます"),
        ('[topics]\n"税務" = ["市民税"\n', "読み込めません"),
        ('topics = ["市民税"]\n', "[topics] の表"),
    ],
)
def test_a_malformed_list_is_refused_saying_what_to_mend(tmp_path, text, says):
    path = tmp_path / OFFTOPIC
    path.write_text(text, encoding="utf-8")
    with pytest.raises(OffTopicError) as info:
        OffTopics.load(path)
    assert says in info.value.ja


def test_cli_offtopic_check(tmp_path, monkeypatch, capsys):
    assert main(["offtopic", "check"]) == 0
    assert "件の話題を読み込めました" in capsys.readouterr().out
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(corpus))
    assert main(["offtopic", "check"]) == 1  # no list
    (corpus / OFFTOPIC).write_text('[topics]\n"税務" = ["市民税", "市民税"]\n', encoding="utf-8")
    assert main(["offtopic", "check"]) != 0
    assert "二度" in capsys.readouterr().err


def test_a_question_near_other_business_leans_off_topic_and_one_on_the_guideline_does_not(chain):
    def off_topic(question: str) -> float:
        return chain.off_topic(chain.service.embeddings.embed_query(question))

    assert off_topic("職員のボーナスはいつ支給される？") > 0 > off_topic("後援名義の使用を申請するには？")
    assert off_topic(TAX_QUESTION) > off_topic("協働事業の相手方はどう選ぶ？")


@pytest.mark.parametrize("question", ["後援 申請", "後援 申請 期限"])
def test_keywords_naming_a_heading_are_answered_from_it_not_refused_as_other_business(chain, question):
    """A string of nouns is as near a short off-topic phrase (「児童手当の申請」) as a question gets; the
    headings of the guideline are such phrases too, so 「後援 申請」 is nearest （７）後援, not refused."""
    answer = chain.ask(question)
    assert not answer.abstained
    assert answer.cited_sections[0] == "3-7"
    assert "後援名義を使用させるかどうか" in answer.answer


@pytest.mark.parametrize("question", ["有休 申請", "住民票 申請", "職員 研修"])
def test_keywords_of_other_business_are_still_refused(chain, question):
    assert chain.ask(question).abstained


def test_a_heading_does_not_vouch_for_a_word_only_guessed_from_kana(chain):
    """「コウエン」 is read as 後援 to search, but it may have meant 公園: （７）後援's heading does not make
    「コウエンの駐車場どこ？」 near the guideline, so it is refused, with the reading said beside what to try."""
    answer = chain.ask("コウエンの駐車場どこ？")
    assert answer.abstained and answer.answer.startswith(ABSTENTION_TEXT)


def test_a_topic_an_indexed_document_covers_is_answered_from_it(chain, embedding_cache_dir, tmp_path):
    """The guideline alone: a tax question is refused. With a small tax guide indexed beside it, its
    sentences are nearer than the off-topic list's 市民税 topic, and the answer cites the guide."""
    from assistant.answering.chain import AnswerChain
    from assistant.ingestion.corpus import add_document
    from assistant.service import load_service
    from assistant.settings import Settings

    refused = chain.ask(TAX_QUESTION)
    assert refused.abstained and refused.answer.startswith(ABSTENTION_TEXT)

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("kyodo-guideline.txt", "documents.json", "glossary.toml", OFFTOPIC):
        (corpus / name).write_bytes((CORPUS_DIR / name).read_bytes())
    guide = tmp_path / "shiminzei.md"
    guide.write_text(TAX_GUIDE, encoding="utf-8")
    add_document(corpus, guide, title="市民税の納め方")
    settings = Settings.from_env({}, index_dir=tmp_path / "index", corpus_dir=corpus)
    copy_vector_caches(embedding_cache_dir, settings.index_dir / "cache")
    service = load_service(settings)
    try:
        answer = AnswerChain(service).ask(TAX_QUESTION)
    finally:
        service.close()
    assert not answer.abstained
    assert answer.citations and answer.citations[0].doc_id == "shiminzei"
    assert "口座振替" in answer.answer or "納付書" in answer.answer


def test_a_topic_sharing_no_word_with_a_question_does_not_pull_it_under_the_refusal_line(chain, monkeypatch):
    """As 「職員の定年と再任用」 the retirement topic was, by meaning alone, the nearest of the city's other
    business to 「トイレにチラシを置いたやつ、担当課は？」 (第５章（７）'s leaflet, asked by department) and
    put it under the refusal line: one topic's wording decided an in-scope question that says nothing of
    it. A topic sharing no word with the question counts a little less; one that does still refuses."""
    topics = [
        "職員の定年と再任用" if t == "職員の定年退職と再任用の手続き" else t
        for t in OffTopics.load(CORPUS_DIR / OFFTOPIC).topics
    ]
    assert "職員の定年と再任用" in topics
    vectors = np.asarray(chain.service.embeddings.embed_documents(topics), dtype=np.float32)
    monkeypatch.setattr(chain, "_off_topics", vectors)
    terms = [frozenset(chain.service.tokenizer.content_lemmas(t)) for t in topics]
    monkeypatch.setattr(chain, "_off_topic_terms", terms, raising=False)
    answer = chain.ask("トイレにチラシを置いたやつ、担当課は？")
    assert not answer.abstained and answer.citations[0].section_id == "5-7"
    assert chain.ask("市の職員の定年って何歳？").abstained
