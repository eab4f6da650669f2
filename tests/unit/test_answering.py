"""The answering chain with the real index: cited answers, abstention, follow-ups, bad input, CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from assistant.answering.chain import Turn
from assistant.answering.extractive import (
    ABSTENTION_TEXT,
    MAX_QUESTION_CHARS,
    clean_history,
    content_sentences,
)
from assistant.answering.question import analyze
from assistant.ingestion.sections import section_label
from assistant.limits import QuestionError, validate_question


def assert_grounded(answer, guideline):
    """Every citation quotes its section exactly; every content sentence stands in a cited section."""
    assert answer.citations
    cited_text = ""
    for citation in answer.citations:
        section = guideline.section(citation.section_id)
        assert citation.quote and citation.quote in section.text
        assert citation.title == guideline.title_path(citation.section_id)
        cited_text += section.text
    for sentence in content_sentences(answer.answer):
        assert sentence in cited_text, sentence


@pytest.mark.parametrize(
    ("question", "gold"),
    [
        ("後援名義を使わせてはいけないのはどんな場合？", "3-7"),
        ("委託先を安い下請けのように扱ってもいいですか？", "3-5"),
        ("協働は経費を減らすためにやるんですか？", "6-Q4"),
        ("協働の事業が終わったら、結果をどう評価すればいい？", "4-4"),
        ("情報を出すときにお役所言葉を使っていい？", "2-2"),
    ],
)
def test_covered_questions_get_cited_quotes(chain, guideline, question, gold):
    answer = chain.ask(question)
    assert not answer.abstained
    assert gold in answer.cited_sections
    assert_grounded(answer, guideline)
    assert f"［{section_label(guideline, gold)}］" in answer.answer  # one corpus document: the section alone


def test_quotes_keep_the_guidelines_order_and_list_items(chain):
    answer = chain.ask("後援名義を使わせてはいけないのはどんな場合？")
    positions = [c.start for c in answer.citations if c.section_id == "3-7"][1:]  # after the leading answer
    assert positions == sorted(positions)
    assert "次の項目に当てはまる場合は" in answer.answer
    assert "・ 宗教的又は政治的色彩を有している。" in answer.answer
    assert "・ 社会的な非難を受けるおそれがある。" in answer.answer


def test_which_department_questions_name_the_section(chain):
    answer = chain.ask("DV防止のリーフレットを作ったのはどの課？")
    assert answer.answer.startswith("担当は男女平等参画課です（「（７）女性に対する暴力をなくす啓発事業」）。")
    answer = chain.ask("市民の事業に後援名義を使わせるのは、どの形態？")
    assert answer.answer.startswith("該当するのは「（７）後援」です。")


def test_a_which_question_is_not_answered_with_authority_when_another_heading_is_named(chain):
    # 名前を貸す reads as 後援 (the glossary): （７）後援 is named by it, and now ranks first (a heading the glossary
    # reads a staff word as counts in the title ranking), so it is announced; with another section first it is not
    answer = chain.ask("イベントの主催者に市の名前を貸すのはどの形態？")
    assert answer.answer.startswith("該当するのは「（７）後援」です。")
    hit = {s: chain.service.retriever.get(("kyodo-guideline", s)) for s in ("3", "3-1", "3-2", "3-7")}
    turn = Turn("イベントの主催者に市の名前を貸すのはどの形態？", hits=[hit["3-2"], hit["3-7"], hit["3-1"]])
    assert chain.heading_in_doubt(turn)
    turn.hits = [hit["3-7"], hit["3-2"], hit["3-1"]]
    assert not chain.heading_in_doubt(turn)
    # the first section's own chapter names the kind asked among (形態), not a rival answer
    turn = Turn("常設の組織を作りたい。どの形態が合う？", hits=[hit["3-2"], hit["3"], hit["3-1"]])
    assert not chain.heading_in_doubt(turn)


def test_answers_write_full_width_colons_and_read_old_ones_back(chain):
    """Japanese labels take 「：」 (as the chat's own 担当：); a history an older answer wrote with 「: 」 is
    still read as framing and markers, not as claims of its own."""
    answer = chain.ask("ゼロごみの日ってどんな取組？").answer
    assert "（担当：清掃事業課）" in answer and "担当: " not in answer
    old = "違い: 委託「市が行うべき事業を委託します。」\n本文です。［第５章（10）ゼロごみ］（担当: 清掃事業課）"
    assert content_sentences(old) == ["本文です。"]
    refusal = chain.ask("協働事業の相手方への謝礼の支払い基準は？")
    assert refusal.abstained and refusal.suggestions and "\n\n近い内容の箇所：\n・［" in refusal.answer


def test_in_what_manner_is_not_which_form():
    assert analyze("企業はどんな形で地域に関わってるの？").kind != "which"
    assert analyze("どんな形の協働がある？").kind == "which"


def test_a_detail_kind_is_one_entry_of_the_table(monkeypatch):
    """A kind added to DETAIL_KINDS is asked by its noun, its interrogative and its finder (a shape of the
    whole question) and stated by its value, with nothing else to change."""
    from assistant.answering import question

    def distributor(text, tokens, phrases):
        at = text.find("誰が配る")
        return question.Detail("回覧板の配布者", "配布者", span=(at, at + 2)) if at >= 0 else None

    kinds = (
        *question.DETAIL_KINDS,
        question.DetailKind("配布数", ("回覧板",), r"何枚", rf"{question.NUM}+\s*枚"),
        question.DetailKind("配布者", (), question.NEVER, r"(市|町内会)が配", of_topic=True, finder=distributor),
    )
    monkeypatch.setattr(question, "DETAIL_KINDS", kinds)
    monkeypatch.setattr(question, "KIND_BY_LABEL", {k.label: k for k in kinds})
    [count] = analyze("回覧板って何枚いる？").details
    assert (count.name, count.needs_value) == ("回覧板（配布数）", True)
    assert count.supplied_by("回覧板は３枚です。") and not count.supplied_by("回覧板を回します。")
    [who] = [d for d in analyze("回覧板って誰が配るの？").details if d.kind == "配布者"]
    assert who.in_topic and who.supplied_by("町内会が配ります。")


@pytest.mark.parametrize(
    "question",
    [
        "有給休暇の残りの日数はどこで確認できますか？",
        "住民票の写しの手数料はいくらですか？",
        "出張旅費の精算方法を教えてください",
        "庁舎の駐車場の利用申請はどうすればいい？",
    ],
)
def test_unrelated_questions_are_declined_with_nearest_sections(chain, question):
    answer = chain.ask(question)
    assert answer.abstained
    assert answer.answer.startswith(ABSTENTION_TEXT)
    assert answer.citations == []
    assert len(answer.suggestions) <= 3  # only sections sharing a word with the question
    for suggestion in answer.suggestions:
        assert f"・［{suggestion.label}］" in answer.answer


def test_follow_up_resolves_to_the_previous_topic(chain):
    history = [
        {"role": "user", "content": "市民団体のイベントを後援してほしいと頼まれました。後援とは何ですか？"},
        {"role": "assistant", "content": chain.ask("後援とは何ですか？").answer},
    ]
    answer = chain.ask("それはお金の支援もありますか？", history)
    assert not answer.abstained
    assert answer.cited_sections[0] == "3-7"
    assert "財政的な支援等はありません。" in answer.answer
    assert "後援" in answer.resolved_query


def test_a_self_contained_question_is_not_rewritten(chain):
    history = [{"role": "user", "content": "後援とは何ですか？"}, {"role": "assistant", "content": "…［3-7 後援］"}]
    answer = chain.ask("委託するときに気をつけることは何ですか？", history)
    assert answer.resolved_query == "委託するときに気をつけることは何ですか？"
    assert answer.cited_sections[0] == "3-5"


def test_answers_carry_their_contexts_with_scores(chain):
    answer = chain.ask("補助金を出すときの注意点")
    assert answer.contexts and all(c.score > 0 for c in answer.contexts)
    assert {c.section_id for c in answer.citations} <= {c.section_id for c in answer.contexts}
    data = answer.to_json()
    assert set(data) >= {"question", "answer", "abstained", "citations", "contexts"}
    assert set(data["citations"][0]) == {"doc_id", "section_id", "title", "quote", "name", "start", "end", "label"}
    assert data["citations"][0]["name"].startswith("協働ガイドライン 第")
    assert set(data["contexts"][0]) == {"doc_id", "section_id", "title", "score", "ranks", "scores", "text"}


def test_the_langchain_runnable(chain):
    """``ask`` is one ``invoke`` of the graph; the graph is an ordinary LangChain runnable."""
    result = chain.runnable.invoke(Turn("共催とはどんな形態？", []))
    assert result.turn.answer.cited_sections[0] == "3-1"
    assert [step.name for step in chain.runnable.bound.steps] == ["resolve", "retrieve", "rerank", "compose", "check"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "空"),
        ("   \n\t ", "空"),
        ("\u200b\u200e\u202e", "空"),
        ("あ" * (MAX_QUESTION_CHARS + 1), "長すぎます"),
        ("後援\ud800とは", "読み取れない"),
        ("。。。？！", "文字が含まれていません"),
        (None, "読み取れません"),
    ],
)
def test_bad_questions_get_a_clear_japanese_message(raw, message):
    with pytest.raises(QuestionError) as info:
        validate_question(raw)
    assert message in info.value.ja


def test_odd_unicode_is_cleaned_not_refused():
    assert validate_question("\u202e後援\u200bとは\x07何ですか？\n") == "後援とは何ですか？"
    assert validate_question("ＮＰＯと協働したい 🙂") == "ＮＰＯと協働したい 🙂"
    assert len(validate_question("い" * MAX_QUESTION_CHARS)) == MAX_QUESTION_CHARS


def run_cli(service, *args, stdin=None):
    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(service.settings.index_dir)}
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args], input=stdin, capture_output=True, text=True, env=env, timeout=300
    )


@pytest.mark.slow
def test_cli_ask_human_and_json(service):
    human = run_cli(service, "ask", "後援と共催の違いは？")
    assert human.returncode == 0, human.stderr
    assert "出典：\n  ［第３章（７）後援］\n  ［第３章（１）共催］" in human.stdout
    data = json.loads(run_cli(service, "ask", "後援とは？", "--json").stdout)
    assert data["citations"][0]["section_id"] == "3-7" and data["abstained"] is False


def test_cli_ask_rejects_an_empty_question(service):
    result = run_cli(service, "ask", "  ")
    assert result.returncode == 2
    assert result.stderr.startswith("エラー: 質問が空です") and "Traceback" not in result.stderr


def test_a_one_shot_ask_imports_only_what_it_answers_with_and_still_ends_cleanly(service):
    """A cold `assistant ask` loads no LangChain chat model (none is configured), torch, gradio or
    SQLAlchemy; it ends without the interpreter's teardown (``cli.end_now``), yet its atexit handlers
    run, its whole answer arrives through a pipe and an error keeps its exit status."""
    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(service.settings.index_dir)}
    heavy = ("langchain_core.language_models.chat_models", "torch", "sentence_transformers", "gradio", "sqlalchemy")
    code = (
        "import atexit, sys\n"
        "from assistant import cli\n"
        f"atexit.register(lambda: print('loaded:', sorted(m for m in {heavy!r} if m in sys.modules)))\n"
        "sys.argv = ['assistant', 'ask', '委託とは？']\n"
        "cli.run()\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("出典：\n  ［第３章（５）委託］\nloaded: []\n"), result.stdout
    unknown = run_cli(service, "ask", "委託とは？", "--doc", "no-such-document")
    assert unknown.returncode == 2 and "no-such-document" in unknown.stderr and not unknown.stdout


@pytest.mark.slow
def test_cli_batch_reports_bad_lines_and_carries_on(service):
    result = run_cli(service, "ask", "--json", "-", stdin="後援とは？\n\n" + "あ" * 2000 + "\n委託とは？\n")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 4
    assert rows[0]["citations"][0]["section_id"] == "3-7"
    assert "空" in rows[1]["error"] and "長すぎます" in rows[2]["error"]
    assert rows[3]["citations"][0]["section_id"] == "3-5"


def test_a_batch_line_carries_the_previous_answers_citations(chain):
    """``assistant ask --json -``: a line's history may pass back the citations an earlier JSON row gave;
    the row is the library's answer with that history, and the follow-up answers from the cited section."""
    from assistant.cli import _answer_line

    first = chain.ask("後援とは？").to_json()
    history = [
        {"role": "user", "content": "後援とは？"},
        {"role": "assistant", "content": "（前の回答）", "citations": first["citations"]},  # no markers in the text
    ]
    row = _answer_line(chain, json.dumps({"question": "それはお金の支援もありますか？", "history": history}))
    assert "error" not in row, row
    assert row == json.loads(json.dumps(chain.ask("それはお金の支援もありますか？", history).to_json()))
    assert row["citations"][0]["section_id"] == "3-7" and "財政的な支援等はありません" in row["answer"]
    bad = dict(history[1], citations="3-1")
    refused = _answer_line(chain, json.dumps({"question": "その場合は？", "history": [history[0], bad]}))
    assert "citations" in refused["error"]


def test_history_messages_are_capped_by_role(chain):
    """An earlier question can be no longer than a question: a history (from a browser or a batch
    line) brings at most that much of it to the tokenizer and the LLM; an earlier answer 4,000."""
    history = [{"role": "user", "content": "後援名義" * 1_000}, {"role": "assistant", "content": "あ" * 10_000}]
    assert [len(m["content"]) for m in clean_history(history)] == [MAX_QUESTION_CHARS, 4_000]
    answer = chain.ask("その申請方法は？", history)
    assert len(answer.answer) > 0


def test_a_comparison_embeds_what_its_sides_need_in_one_call(chain, monkeypatch):
    """Each embedding call waits for the engine. A comparison whose sides no heading names embeds them
    side by side with the question, not one after another and not twice (they were a tail of the
    answer's latency)."""
    embeddings = chain.service.embeddings
    batch, calls = embeddings.embed_queries, []
    monkeypatch.setattr(embeddings, "embed_queries", lambda texts: (calls.append(list(texts)), batch(texts))[1])
    monkeypatch.setattr(embeddings, "embed_query", lambda text: pytest.fail(f"「{text}」 embedded on its own"))
    answer = chain.ask("個人ボランティアとNPOみたいな団体、それぞれの強みは？")
    assert len(calls) == 1 and {"個人ボランティア", "NPOみたいな団体"} <= set(calls[0]), calls
    assert answer.cited_sections == ["2-1-1"]  # the one section that speaks of both sides


def test_sides_a_heading_names_are_not_embedded(chain, monkeypatch):
    """The engine's time grows with the tokens it embeds: sides that headings name (後援, 共催) are
    found by their headings and need no vector of their own, so only the question is embedded."""
    embeddings = chain.service.embeddings
    batch, calls = embeddings.embed_queries, []
    monkeypatch.setattr(embeddings, "embed_queries", lambda texts: (calls.append(list(texts)), batch(texts))[1])
    answer = chain.ask("後援と共催の違いは？")
    assert calls == [["後援と共催の違いは？"]], calls
    assert {"3-1", "3-7"} <= {c.section_id for c in answer.citations}


@pytest.fixture
def chroma_queries(chain, monkeypatch) -> list[int]:
    """The number of vectors each Chroma query of the chain carries, one entry per query."""
    collection, queries = chain.service.index.collection, []

    class Counting:
        def query(self, **kwargs):
            queries.append(len(kwargs["query_embeddings"]))
            return collection.query(**kwargs)

    monkeypatch.setattr(chain.service.index, "collection", Counting())
    return queries


@pytest.mark.parametrize(
    ("question", "texts", "gold"),
    [
        ("後援名義って何？", 1, "3-7"),
        # the dense ranking reads ＮＰＯ as 相手: the question's vector and that reading's, side by side
        ("ＮＰＯに業務をまる投げしてもいい？", 2, "3-5"),
        # a detail request's scope is judged on its topic: question, topic and the 相手 reading
        ("町内会に補助金を出すときの申請期限は？", 3, "3-6"),
    ],
)
def test_a_question_queries_the_vectors_once_per_turn(chain, chroma_queries, question, texts, gold):
    """How well the index covers a question (its best chunk) and its topic, and the question's dense
    ranking, read one Chroma query carrying each text's vector (with a Chroma server, one round trip per
    answer); the next turn asks again."""
    answer = chain.ask(question)
    assert chroma_queries == [texts], chroma_queries
    assert gold in answer.cited_sections
    chain.ask(question)
    assert chroma_queries == [texts, texts], chroma_queries


def test_a_follow_up_queries_the_vectors_once(chain, chroma_queries):
    """A follow-up reads the question alone, with the previous turn and that text's dense reading from
    one Chroma query, as a first question does."""
    first = chain.ask("後援とは")
    history = [
        {"role": "user", "content": "後援とは"},
        {"role": "assistant", "content": first.answer, "citations": first.to_json()["citations"]},
    ]
    chroma_queries.clear()
    answer = chain.ask("町内会だったら？", history)
    assert len(chroma_queries) == 1, chroma_queries
    assert answer.cited_sections == ["3-7"]
