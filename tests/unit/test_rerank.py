"""The rerank step's two implementations: the default (the answerer's evidence, no model) and a
sentence-transformers CrossEncoder, whose plumbing is tested with a tiny model built here from a config."""

from __future__ import annotations

import dataclasses

import pytest

from assistant.answering.chain import AnswerChain, make_reranker
from assistant.answering.extractive import DECIDING_BONUS
from assistant.answering.rerank import CrossEncoderReranker, EvidenceReranker, RerankerError


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory, guideline):
    """A 2-layer BERT with one output, random weights, a character vocabulary of the guideline."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("sentence_transformers")
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny-cross-encoder")
    characters = sorted({ch for s in guideline.sections for ch in s.title + s.text if not ch.isspace()})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *characters]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = transformers.BertTokenizer(str(folder / "vocab.txt"), do_lower_case=False, tokenize_chinese_chars=True)
    config = transformers.BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
        num_labels=1,
    )
    transformers.BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_the_default_reranker_is_the_answerers_evidence(chain):
    assert isinstance(chain.reranker, EvidenceReranker)
    hits = chain.service.retriever.search("協定と事業協力の違い", k=5)
    terms = chain.extractive.query_terms("協定と事業協力の違い")
    reranked = chain.reranker.rerank("協定と事業協力の違い", hits, terms, None)
    assert {h.key for h in reranked} == {h.key for h in hits}
    assert [h.score for h in reranked] == sorted((h.score for h in reranked), reverse=True)
    # every score gained the weighted evidence of its best sentence, none lost
    before = {h.key: h.score for h in hits}
    assert all(h.score >= before[h.key] for h in reranked)


def test_an_overview_yields_to_its_sub_section_when_that_answers_better(chain):
    question = "町内会はどんな役割を果たしてきたの？"
    terms = chain.extractive.query_terms(question)
    vector = chain.service.embeddings.embed_query(question)
    overview, sub, other = (chain.service.retriever.get(("kyodo-guideline", s)) for s in ("2-1", "2-1-1", "6-Q5"))
    # the overview ranked first by retrieval, its sub-section second
    hits = [dataclasses.replace(h, score=score) for h, score in ((overview, 0.08), (sub, 0.06), (other, 0.05))]
    evidence = {h.section_id: chain.extractive.best_sentence(h, terms, vector).score for h in hits}
    assert evidence["2-1-1"] > evidence["2-1"]
    reranked = chain.reranker.rerank(question, hits, terms, vector)
    assert [h.section_id for h in reranked] == ["2-1-1", "2-1", "6-Q5"]
    assert [h.score for h in reranked] == sorted((h.score for h in reranked), reverse=True)
    # a section that is not the overview's own sub-section does not jump it
    unrelated = [dataclasses.replace(h, score=score) for h, score in ((overview, 0.08), (other, 0.06))]
    assert chain.reranker.rerank(question, unrelated, terms, vector)[0].section_id == "2-1"


def test_a_yes_no_question_is_reranked_by_the_sentence_that_decides_it(chain):
    question = "協働って短期間で成果が出るもの？"
    terms = chain.extractive.query_terms(question)
    vector = chain.service.embeddings.embed_query(question)
    qa, first_chapter = (chain.service.retriever.get(("kyodo-guideline", s)) for s in ("6-Q5", "1-1"))
    # 1-1 decides it: 「協働は、すぐに成果が現れるものでも…ものでもありません。」; Q&A 5 does not
    deciding = chain.extractive.best_sentence(first_chapter, terms, vector, yes_no=True)
    plain = chain.extractive.best_sentence(first_chapter, terms, vector)
    assert deciding.score == pytest.approx(plain.score + DECIDING_BONUS)
    assert first_chapter.text[deciding.start : deciding.end].endswith("ものでもありません。")
    assert chain.extractive.best_sentence(qa, terms, vector, yes_no=True) == chain.extractive.best_sentence(
        qa, terms, vector
    )
    # retrieval ranked Q&A 5 just above 1-1: the deciding sentence moves 1-1 up only for a yes/no question
    hits = [dataclasses.replace(qa, score=0.0470), dataclasses.replace(first_chapter, score=0.0465)]
    assert chain.reranker.rerank(question, hits, terms, vector)[0].section_id == "6-Q5"
    assert chain.reranker.rerank(question, hits, terms, vector, yes_no=True)[0].section_id == "1-1"


@pytest.mark.slow  # imports torch
def test_a_cross_encoder_given_by_folder_reorders_the_sections(service, tiny_cross_encoder):
    settings = service.settings.model_copy(update={"reranker_model": str(tiny_cross_encoder)})
    chain = AnswerChain(dataclasses.replace(service, settings=settings))
    assert isinstance(chain.reranker, CrossEncoderReranker)
    hits = service.retriever.search("後援名義を使わせてはいけないのはどんな場合？", k=5)
    reranked = chain.reranker.rerank("後援名義を使わせてはいけないのはどんな場合？", hits, {}, None)
    assert sorted(h.key for h in reranked) == sorted(h.key for h in hits)
    scores = [h.score for h in reranked]
    assert scores == sorted(scores, reverse=True)
    assert scores != [h.score for h in hits]  # the model's scores, not the fused ones
    answer = chain.ask("後援とは？")
    assert answer.citations and not answer.abstained


@pytest.mark.slow  # imports torch
def test_a_missing_cross_encoder_is_reported_in_japanese(service, tmp_path):
    pytest.importorskip("sentence_transformers")
    settings = service.settings.model_copy(update={"reranker_model": str(tmp_path / "no-such-model")})
    with pytest.raises(RerankerError) as raised:
        make_reranker(settings, None, None)  # type: ignore[arg-type]
    assert "再順位付けモデル" in raised.value.ja


def test_a_leader_first_by_dense_similarity_alone_yields_to_what_words_and_listed_questions_agree_on(chain):
    # Ｑ１ (how the city spreads 協働) is nearest by dense similarity; both keyword rankings put
    # （５）相手方の固定化を避ける above it, and so do the listed questions: its rule answers
    question = "協働の相手はどのくらいの間隔で入れ替えればいい？"
    hits = chain.service.retriever.search(question, k=5)
    assert hits[0].section_id == "6-Q1"
    answer = chain.ask(question)
    assert answer.citations[0].section_id == "4-5"
    # (after the line saying the interval is not given: 「一定期間ごとに」 says there is one, not how long)
    assert "\n協働事業の相手方が特定の団体や個人に固定化しないよう、一定期間ごとに見直しを行う" in answer.answer


def test_agreeing_words_and_listed_questions_move_only_a_leader_they_did_not_vote_for(chain):
    get = chain.service.retriever.get
    qa, rule, overview, sub = (get(("kyodo-guideline", s)) for s in ("6-Q1", "4-5", "2-1", "2-1-1"))
    listed = {qa.key: 0.90, rule.key: 0.92, overview.key: 0.94, sub.key: 0.89}
    agreed_first = chain.reranker.agreed_first

    def hit(section, score, **ranks):
        return dataclasses.replace(section, score=score, ranks=ranks)

    # a Ｑ＆Ａ answer first by dense similarity yields when one keyword ranking agrees with the listed questions
    leader = hit(qa, 0.05, dense=1, words=3, chars=6)
    moved = agreed_first([leader, hit(sub, 0.045, dense=2, words=8), hit(rule, 0.04, words=2)], listed)
    assert [h.section_id for h in moved] == ["4-5", "6-Q1", "2-1-1"]  # 2-1-1: below in words, farther listed
    assert moved[0].score == leader.score
    assert agreed_first([leader, hit(rule, 0.04, words=4, chars=7)], listed)[0] == leader
    # nearer, but not by the margin
    assert agreed_first([leader, hit(rule, 0.04, words=2)], {**listed, rule.key: 0.905})[0] == leader
    # of several that agree, the one whose listed question is nearest
    both = [leader, hit(rule, 0.045, words=2, chars=2), hit(overview, 0.04, words=1, chars=1)]
    assert agreed_first(both, listed)[0].section_id == "2-1"
    # a body section yields only when both keyword rankings agree
    body = hit(rule, 0.05, dense=1, words=3, chars=3)
    assert agreed_first([body, hit(overview, 0.04, words=1, chars=9)], listed)[0] == body
    assert agreed_first([body, hit(overview, 0.04, words=1, chars=1)], listed)[0].section_id == "2-1"
    # a sub-section stays before its own overview (the evidence put it there), and a leader the listed
    # questions voted for (the asked ranking) stays
    first = hit(sub, 0.05, dense=1, words=3, chars=3)
    assert agreed_first([first, hit(overview, 0.04, words=1, chars=1)], listed)[0] == first
    voted = hit(qa, 0.05, dense=1, words=3, chars=6, asked=1)
    assert agreed_first([voted, hit(rule, 0.04, words=1, chars=1)], listed)[0] == voted


def test_a_near_tied_sibling_whose_heading_the_question_names_leads(chain):
    # いつも同じ is read as 固定化, the word of （５）相手方の固定化を避ける; Ｑ２ (大切なこと) names only 協働
    question = "協同の相手がいつも同じ団体なのはまずい？"
    terms = chain.extractive.query_terms(question, related=chain.service.retriever.glossary.expand(question))
    vector = chain.service.embeddings.embed_query(question)
    qa, rule = (chain.service.retriever.get(("kyodo-guideline", s)) for s in ("6-Q2", "4-5"))
    hits = [dataclasses.replace(qa, score=0.0481), dataclasses.replace(rule, score=0.0470)]
    assert [h.section_id for h in chain.reranker.rerank(question, hits, terms, vector)] == ["4-5", "6-Q2"]
    # ranked far below, it stays there: the heading decides only between near ties
    far = [dataclasses.replace(qa, score=0.0481), dataclasses.replace(rule, score=0.0400)]
    assert chain.reranker.rerank(question, far, terms, vector)[0].section_id == "6-Q2"
    answer = chain.ask(question)
    assert answer.citations[0].section_id == "4-5"
    assert "固定化しないよう" in answer.answer.split("。")[0]


def test_an_overview_the_listed_questions_favour_keeps_its_place_before_a_barely_better_sub_section(chain):
    # （１）'s 「ボランティアとしての個人は機動性に…」 shares the question's words about as well as 第２章 １'s
    # list of partners, but staff asking whether someone can be a partner ask 第２章 １
    answer = chain.ask("ボランティアの個人でも協働の相手になれるの？")
    assert answer.citations[0].section_id == "2-1"
    assert "まちづくりを進めるパートナーとして捉えています" in answer.answer.split("［")[0]
    # while a sub-section that answers clearly better still takes its place (see above)
    assert chain.ask("ＮＰＯってどんな特性があるの？").citations[0].section_id == "2-1-1"


def test_the_same_contractor_every_time_is_read_as_a_fixed_partner(chain):
    # glossary: 同じ業者 → 固定化, the word of （５）相手方の固定化を避ける
    answer = chain.ask("同じ業者さんにばかり協働をお願いしてるのってまずい？")
    assert answer.citations[0].section_id == "4-5"
    assert "固定化しないよう" in answer.answer.split("［")[0]
