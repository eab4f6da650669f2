"""Kanji typed as it sounds, read back as the guideline writes it: a table over the real guideline and
the pinned dictionary (the readings are UniDic's), then through the real chain."""

from __future__ import annotations

import pytest

from assistant.answering.spelling import Respelling, Spelling
from assistant.ingestion.japanese import default_tokenizer


@pytest.fixture(scope="module")
def spelling(guideline):
    return Spelling([guideline], default_tokenizer())


@pytest.mark.parametrize(
    ("typed", "searched", "respelled"),
    [
        (
            "こうえんめいぎを出せないのはどんなとき？",
            "後援名義を出せないのはどんなとき?",
            [("こうえんめいぎ", "後援名義")],
        ),
        ("ｷｮｳﾃｲってどんな相手と結ぶの", "協定ってどんな相手と結ぶの", [("キョウテイ", "協定")]),
        ("じっこういいんかいはいつ解散する", "実行委員会はいつ解散する", [("じっこういいんかい", "実行委員会")]),
        ("ジチキホンジョウレイ", "自治基本条例", [("ジチキホンジョウレイ", "自治基本条例")]),
        ("ほじょきんはいくら", "補助金はいくら", [("ほじょきん", "補助金")]),
        ("いたく先の責任", "委託先の責任", [("いたく", "委託")]),
        ("きょうさいとこうえんのちがい", "共催と後援のちがい", [("きょうさい", "共催"), ("こうえん", "後援")]),
        # an IME's homophone in a compound the guideline never writes
        ("公園名義の申請を断る基準", "後援名義の申請を断る基準", [("公園名義", "後援名義")]),
        # a homophone of a noun that asks for a detail, where the question asks about it
        ("後援の申請の機嫌はいつまで?", "後援の申請の期限はいつまで?", [("機嫌", "期限")]),
        ("協定書の洋式ってある?", "協定書の様式ってある?", [("洋式", "様式")]),
        # one kanji slipped, leaving no word: read as the one heading word it is one kanji from
        ("協動とは何?", "協働とは何?", [("協動", "協働")]),
        ("後緑名義って?", "後援名義って?", [("後緑", "後援")]),
        ("共崔と後援の違い", "共催と後援の違い", [("共崔", "共催")]),
        ("対東な立場とは", "対等な立場とは", [("対東", "対等")]),  # an adjectival noun of a heading
        # an adjectival noun typed in kana, and a phrase typed all in katakana (one word to MeCab)
        ("たいとうな関係とは", "対等な関係とは", [("たいとう", "対等")]),
        ("セキニンノショザイは?", "責任ノ所在は?", [("セキニン", "責任"), ("ショザイ", "所在")]),
        # a term in kana inside a compound read as one: the compound, not the kana term inside it too
        ("ｷｮｳﾄﾞｳ事業の期間は?", "協働事業の期間は?", [("キョウドウ事業", "協働事業")]),
        # a kanji typed twice, and one slipped in a long compound where the slip left no word
        ("実行委委員会って何?", "実行委員会って何?", [("実行委委員会", "実行委員会")]),
        ("情報強有って何?", "情報共有って何?", [("情報強有", "情報共有")]),
        ("自治基本冗例の冊子", "自治基本条例の冊子", [("自治基本冗例", "自治基本条例")]),
    ],
)
def test_terms_typed_as_they_sound_are_searched_as_written(spelling, typed, searched, respelled):
    assert spelling.correct(typed) == (searched, [Respelling(*r) for r in respelled])


@pytest.mark.parametrize(
    "question",
    [
        "後援名義とは？",  # as the guideline writes it
        "ボランティアの募集方法は？",  # kana the guideline itself writes
        "地震が起きたら職員はどこに集まる？",  # a word of its own (地震), not a slip for 自身
        "協働すること自体をゴールにしてもいいんでしょうか",  # いいん|で is no 委員
        "どうしたらいいですか",
        "そういうことなんですね",
        "よろしくおねがいします",
        "市民の機嫌を損ねない説明のしかた",  # 機嫌 not asked about: no 期限
        "ガイドラインの要旨は？",  # no value asked: 要旨 as typed, not a slip for 用紙
        "協議会の関係機関は？",  # 機関 is the guideline's own word, not a slip for 期間
        "残業代は出る？",  # a word of its own, one kanji from 事業
        "各課の担当は？",  # 各|課: single characters, but one kanji from no heading word alone
        "後援の申請って何日前までに出せばいい？",  # 日|前 is one kanji from 事前, in the first place
        "選挙の投票立会人を町内会にお願いするには？",  # 立|会|人: a compound MeCab lacks, not 立場
        "協労の意味は？",  # one kanji from 協働, 協力, 協定 and 協議: which one is a guess
        "月に何回活動すればいいの？",  # 何|回 is a count: 回活動 is not 町内会活動's 会活動
        "３回会議をする",  # the same after a digit
        "町内会会議の議事録は？",  # 会会議: the kanji twice in two words, not a compound typed twice
        "協働事例を教えて",  # two words of their own, one kanji from 協働事業 but no slip
        # an adverb MeCab knows whole, not a term in kana: だいたい is no 代替 (2-3's 「代替の提案」)
        "補助って、だいたい何割くらいまで出せる？",
    ],
)
def test_words_that_are_not_slips_are_left_as_typed(spelling, question):
    assert spelling.correct(question) == (question, [])


def test_a_kana_question_is_answered_from_the_terms_section_and_says_how_it_was_read(chain):
    answer = chain.ask("ｷｮｳﾃｲってどんな相手と結ぶの？")
    assert not answer.abstained
    assert answer.cited_sections[0] == "3-3"
    assert answer.question == "ｷｮｳﾃｲってどんな相手と結ぶの？"  # shown as typed
    assert "「キョウテイ」を「協定」として調べました。" in answer.notes


def test_a_word_typed_twice_is_noted_once(chain):
    answer = chain.ask("コウエンの申請は？コウエンって何？")
    assert answer.notes.count("「コウエン」を「後援」として調べました。") == 1


def test_an_ime_slip_is_answered_like_the_term_it_sounds_like(chain):
    slip, meant = chain.ask("公園名義の申請を断る基準は？"), chain.ask("後援名義の申請を断る基準は？")
    assert not slip.abstained
    assert slip.cited_sections == meant.cited_sections == ["3-7"]
    assert "宗教的又は政治的色彩" in slip.answer


def test_a_slipped_kanji_is_answered_like_the_heading_word_and_says_how_it_was_read(chain):
    answer = chain.ask("協動の相手ってどんな人たち？")
    assert not answer.abstained and "「協動」を「協働」として調べました。" in answer.notes
    assert answer.cited_sections == chain.ask("協働の相手ってどんな人たち？").cited_sections


def test_a_detail_hidden_by_a_homophone_is_said_to_be_missing(chain):
    answer = chain.ask("後援の申請の機嫌はいつまで？")
    assert answer.partial and "「機嫌」を「期限」として調べました。" in answer.notes
    assert answer.answer.startswith("ガイドラインには申請の期限についての記載はありません。")


def test_a_question_in_the_guidelines_own_words_carries_no_note(chain):
    assert chain.ask("協定とは？").notes == []


def test_a_slip_in_the_first_kanji_is_answered_where_mecab_reads_it_as_a_name(chain):
    # 堤 of 堤案 is a surname to MeCab: no word of its own there, so 提案 is what was meant
    answer = chain.ask("市民からの堤案に沿えないときはどうすればいい？")
    assert not answer.abstained and "「堤案」を「提案」として調べました。" in answer.notes
    assert answer.cited_sections[0] == "2-3"
    assert "理由を分かりやすく説明しなければなりません" in answer.answer


@pytest.mark.parametrize(
    ("question", "note", "says"),
    [
        (
            "実行委委員会って期間限定の組織なの？",
            "「実行委委員会」を「実行委員会」として調べました。",
            "期間を限定した組織",
        ),
        ("情報強有ってなんで必要なの？", "「情報強有」を「情報共有」として調べました。", "市民との情報共有が必要"),
        (
            "自治基本冗例の子ども向け冊子は誰と作った？",
            "「自治基本冗例」を「自治基本条例」として調べました。",
            "編集ボランティア",
        ),
    ],
)
def test_a_kanji_doubled_or_slipped_in_a_long_compound_is_answered_as_the_term(chain, question, note, says):
    answer = chain.ask(question)
    assert not answer.abstained and answer.notes == [note]
    assert says in answer.answer


def test_a_kana_term_inside_a_compound_is_read_once_as_the_compound(chain):
    answer = chain.ask("ｷｮｳﾄﾞｳ事業の期間とか責任の所在って決めとくべき？")
    assert answer.notes == ["「キョウドウ事業」を「協働事業」として調べました。"]
    assert answer.cited_sections[0] == "4-2" and "責任の所在を明確にしてください" in answer.answer


@pytest.mark.parametrize(
    ("typed", "searched"),
    [
        ("協同ってなに？", "協働ってなに?"),
        ("協同の分野ってどんなのがある", "協働の分野ってどんなのがある"),
        ("協同組合の組合員になるには", "協同組合の組合員になるには"),
        ("共同住宅のごみ出し", "共同住宅のごみ出し"),
        ("共同主催のイベント", "共同主催のイベント"),
        ("共済に入る", "共済に入る"),
    ],
)
def test_the_guideline_subject_s_homophone_is_read_as_the_subject_alone_not_in_a_compound_of_its_own(
    spelling, typed, searched
):
    assert spelling.correct(typed)[0] == searched
