"""How staff ask about each section (corpus/questions.toml): the file's checks, the check command,
and the listed questions in the index (its digest, its integrity checks, the ranking)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from assistant.cli import main
from assistant.index.store import Index, IndexCorruptError, build_index
from assistant.ingestion.asked import AskedQuestions, AskedQuestionsError
from assistant.ingestion.corpus import QUESTIONS
from assistant.settings import Settings
from tests.conftest import CORPUS_DIR, copy_vector_caches

ENTRY = '[[section]]\ndoc = "kyodo-guideline"\nid = "{id}"\ntitle = "{title}"\nquestions = [{questions}]\n'
KOUEN = ENTRY.format(id="3-7", title="後援", questions='"名前だけ貸すってどういうこと？"')


def corpus_with(tmp_path, questions: str | None):
    corpus = tmp_path / "corpus"
    corpus.mkdir(exist_ok=True)
    for name in ("kyodo-guideline.txt", "documents.json", "glossary.toml", "offtopic.toml"):
        shutil.copy(CORPUS_DIR / name, corpus / name)
    (corpus / QUESTIONS).unlink(missing_ok=True)
    if questions is not None:
        (corpus / QUESTIONS).write_text(questions, encoding="utf-8")
    return corpus


def test_an_absent_file_lists_nothing(tmp_path):
    assert AskedQuestions.load(tmp_path / QUESTIONS).pairs == []


def test_a_well_formed_file_lists_its_questions_section_by_section(tmp_path, guideline):
    path = tmp_path / QUESTIONS
    path.write_text(
        KOUEN + ENTRY.format(id="3-5", title="委託", questions='"外注していい？", "丸投げはだめ？"'), "utf-8"
    )
    asked = AskedQuestions.load(path)
    asked.check([guideline])
    assert asked.pairs == [
        ("kyodo-guideline", "3-7", "名前だけ貸すってどういうこと？"),
        ("kyodo-guideline", "3-5", "外注していい？"),
        ("kyodo-guideline", "3-5", "丸投げはだめ？"),
    ]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[[section]\n", "読み込めません"),
        ('section = "後援"\n', "[[section]] の表"),
        ('[[section]]\ndoc = "kyodo-guideline"\nid = "3-7"\nquestions = ["後援って？"]\n', "title"),
        (ENTRY.format(id="3-7", title="後援", questions=""), "文字列の配列"),
        (ENTRY.format(id="3-7", title="後援", questions='"後援って？", ""'), "文字列の配列"),
        (KOUEN + ENTRY.format(id="3-7", title="後援", questions='"後援とは"'), "二度"),
        (KOUEN + ENTRY.format(id="3-1", title="共催", questions='"名前だけ貸すってどういうこと？"'), "二度"),
        (ENTRY.format(id="3-7", title="後援", questions='"' + "後援" * 41 + '"'), "長すぎます"),
    ],
)
def test_a_malformed_file_is_refused_saying_what_to_mend(tmp_path, text, says):
    path = tmp_path / QUESTIONS
    path.write_text(text, encoding="utf-8")
    with pytest.raises(AskedQuestionsError) as info:
        AskedQuestions.load(path)
    assert says in info.value.ja


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        (ENTRY.format(id="3-7", title="共催", questions='"後援って？"'), "見出し「後援」と違います"),
        (ENTRY.format(id="3-77", title="後援", questions='"後援って？"'), "節「3-77」"),
        (ENTRY.format(id="2", title="協働の考え方", questions='"協働の考え方は？"'), "本文のない見出し"),
        (KOUEN.replace("kyodo-guideline", "tax-guide"), "文書「tax-guide」は登録されていません"),
    ],
)
def test_a_section_the_guideline_lacks_or_titles_otherwise_is_refused(tmp_path, guideline, entry, says):
    path = tmp_path / QUESTIONS
    path.write_text(entry, encoding="utf-8")
    with pytest.raises(AskedQuestionsError) as info:
        AskedQuestions.load(path).check([guideline])
    assert says in info.value.ja


def test_a_title_counts_whatever_its_width_or_kana(tmp_path, guideline):
    path = tmp_path / QUESTIONS
    path.write_text(ENTRY.format(id="3-6", title="補助･助成", questions='"お金を出すのは？"'), "utf-8")
    AskedQuestions.load(path).check([guideline])  # the heading is 補助・助成


def test_cli_questions_check(tmp_path, monkeypatch, capsys):
    corpus = corpus_with(tmp_path, None)
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(corpus))
    assert main(["questions", "check"]) == 1  # no file
    assert "ありません" in capsys.readouterr().err
    (corpus / QUESTIONS).write_text(KOUEN, encoding="utf-8")
    assert main(["questions", "check"]) == 0
    out, err = capsys.readouterr()
    assert "1 節、1 件の質問を読み込めました" in out
    assert "節 3-6（補助・助成）には質問がありません" in err and "3-7" not in err
    (corpus / QUESTIONS).write_text(KOUEN.replace('"後援"', '"共催"'), encoding="utf-8")
    assert main(["questions", "check"]) != 0
    assert "見出し「後援」と違います" in capsys.readouterr().err


def test_the_listed_questions_are_embedded_into_the_build_and_editing_them_rebuilds(tmp_path, cached_embeddings):
    corpus = corpus_with(tmp_path, None)
    settings = Settings.from_env({}, index_dir=tmp_path / "index", corpus_dir=corpus)
    first = build_index(settings, cached_embeddings)
    index = Index(settings)
    assert index.asked.sections == [] and index.asked.vectors.shape == (0, 384)
    digest = index.manifest["corpus_digest"]
    index.close()

    (corpus / QUESTIONS).write_text(KOUEN, encoding="utf-8")
    second = build_index(settings, cached_embeddings)
    assert second.status == "updated" and second.build_id != first.build_id
    index = Index(settings)
    assert index.manifest["corpus_digest"] != digest
    assert index.asked.sections == [("kyodo-guideline", "3-7")]
    # embedded as a query (e5's "query: "), the way the question it is matched against is embedded
    expected = cached_embeddings.embed_queries(["名前だけ貸すってどういうこと？"])[0]
    assert np.allclose(index.asked.vectors[0], expected, atol=1e-5)
    index.close()

    (corpus / QUESTIONS).write_text(KOUEN.replace("名前だけ", "名義だけ"), encoding="utf-8")
    third = build_index(settings, cached_embeddings)
    assert third.status == "updated" and third.build_id != second.build_id
    assert build_index(settings, cached_embeddings).status == "unchanged"


def test_a_malformed_file_stops_the_build_and_the_previous_build_stays(tmp_path, cached_embeddings):
    corpus = corpus_with(tmp_path, KOUEN)
    settings = Settings.from_env({}, index_dir=tmp_path / "index", corpus_dir=corpus)
    good = build_index(settings, cached_embeddings)
    (corpus / QUESTIONS).write_text(KOUEN.replace("questions = [", "questions = ("), encoding="utf-8")
    with pytest.raises(AskedQuestionsError) as info:
        build_index(settings, cached_embeddings)
    assert "よくある聞き方の一覧を読み込めません" in info.value.ja
    index = Index(settings)
    assert index.build_id == good.build_id and index.asked.sections == [("kyodo-guideline", "3-7")]
    index.close()


def test_an_entry_a_document_update_left_behind_is_left_out_of_the_build(tmp_path, cached_embeddings, caplog):
    """A section renumbered or retitled must not stop the document's update: its entry is skipped
    (and logged; `assistant questions check` names it), the other entries are indexed."""
    stale = ENTRY.format(id="3-6", title="後援", questions='"名義だけ貸すのは？"')
    corpus = corpus_with(tmp_path, KOUEN + stale)
    settings = Settings.from_env({}, index_dir=tmp_path / "index", corpus_dir=corpus)
    build_index(settings, cached_embeddings)
    index = Index(settings)
    assert index.asked.sections == [("kyodo-guideline", "3-7")]
    index.close()
    assert "section 3-6 is titled '補助・助成'" in caplog.text


def test_damaged_question_vectors_are_refused_at_load(tmp_path, cached_embeddings):
    corpus = corpus_with(tmp_path, KOUEN)
    settings = Settings.from_env({}, index_dir=tmp_path / "index", corpus_dir=corpus)
    report = build_index(settings, cached_embeddings)
    vectors = settings.index_dir / "builds" / report.build_id / "questions.npy"
    np.save(vectors, np.zeros((1, 384), dtype=np.float32))
    with pytest.raises(IndexCorruptError) as info:
        Index(settings)
    assert "questions.npy" in info.value.ja


# 「住民からこんなことやりたいって言われたら？」 shares no content word with （３）提案は協働のきっかけ
# (its only one, 住民, the section never uses): alone, the chain answers from Q5 of chapter 6.
COLLOQUIAL = "住民からこんなことやりたいって言われたら？"
PROPOSALS = ENTRY.format(id="2-3", title="提案は協働のきっかけ", questions='"市民から持ち込まれたアイデアはどう扱う？"')


@pytest.mark.slow
def test_a_colloquial_question_is_answered_from_the_section_a_similar_listed_question_names(
    tmp_path, embedding_cache_dir, guideline
):
    from assistant.answering.chain import AnswerChain
    from assistant.ingestion.japanese import default_tokenizer
    from assistant.service import load_service

    tokenizer = default_tokenizer()
    section = next(s for s in guideline.sections if s.section_id == "2-3")
    assert not set(tokenizer.content_lemmas(COLLOQUIAL)) & set(tokenizer.content_lemmas(section.title + section.text))

    def ask(questions: str | None):
        corpus = corpus_with(tmp_path, questions)
        settings = Settings.from_env({}, index_dir=tmp_path / "index", corpus_dir=corpus)
        copy_vector_caches(embedding_cache_dir, settings.index_dir / "cache")
        service = load_service(settings)
        try:
            return AnswerChain(service).ask(COLLOQUIAL)
        finally:
            service.close()

    without = ask(None)
    assert not without.abstained and without.citations[0].section_id != "2-3"
    answered = ask(PROPOSALS)
    assert not answered.abstained and answered.citations[0].section_id == "2-3"
    assert "提案" in answered.answer


def test_the_repository_file_names_sections_by_their_own_titles(guideline):
    asked = AskedQuestions.load(CORPUS_DIR / QUESTIONS)
    asked.check([guideline])
    assert asked.unlisted([guideline]) == [] and len(asked.pairs) >= 200


def test_a_listed_question_ranks_its_own_section_first_in_the_asked_ranking(service):
    retriever = service.retriever
    for doc_id, section_id, question in AskedQuestions.load(CORPUS_DIR / QUESTIONS).pairs[::60]:
        hybrid = retriever.search(question, k=50, mode="hybrid")
        own = next(h for h in hybrid if h.key == (doc_id, section_id))
        # a listed question naming a partner meets the listed ones read as 相手, as the dense ranking reads it
        verbatim = retriever.dense_text(question) == question
        assert own.ranks["asked"] == 1 and own.scores["asked"] > (0.99 if verbatim else 0.95)
        assert [h.key for h in hybrid if "asked" in h.ranks] == [own.key]
        assert not any("asked" in h.ranks for h in retriever.search(question, k=50, mode="dense"))
