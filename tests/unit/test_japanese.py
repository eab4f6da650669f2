"""Tokenization, normalization and sentence splitting, as tables tied to the pinned dictionary."""

from __future__ import annotations

import threading

import pytest

from assistant.ingestion.japanese import (
    MAX_MECAB_CHARS,
    Tokenizer,
    default_tokenizer,
    dictionary_version,
    mecab_pieces,
    normalize,
    noun_runs,
    split_sentences,
)


def test_the_tables_below_are_for_this_dictionary():
    assert dictionary_version() == "unidic-lite 1.0.8"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # (surface, lemma, pos1)
        ("後援名義", [("後援", "後援", "名詞"), ("名義", "名義", "名詞")]),
        (
            "ＮＰＯと協働する",
            [("ＮＰＯ", "npo", "名詞"), ("と", "と", "助詞"), ("協働", "協働", "名詞"), ("する", "為る", "動詞")],
        ),
        ("ボランティア", [("ボランティア", "ボランティア", "名詞")]),
        (
            "取り組んでいます",
            [
                ("取り組ん", "取り組む", "動詞"),
                ("で", "て", "助詞"),
                ("い", "居る", "動詞"),
                ("ます", "ます", "助動詞"),
            ],
        ),
        ("２００人", [("２００", "200", "名詞"), ("人", "人", "接尾辞")]),
    ],
)
def test_tokens(text, expected):
    tokens = default_tokenizer().tokenize(text)
    assert [(t.surface, t.lemma, t.pos) for t in tokens] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # (surface, pos2, pos3): UniDic's 助数詞 tells a counter from a noun asked about
        ("何歳", [("何", "数詞", ""), ("歳", "名詞的", "助数詞")]),
        ("何回", [("何", "数詞", ""), ("回", "普通名詞", "助数詞可能")]),
        ("何準備", [("何", "数詞", ""), ("準備", "普通名詞", "サ変可能")]),
    ],
)
def test_tokens_carry_unidics_third_part_of_speech(text, expected):
    assert [(t.surface, t.pos_detail, t.pos_type) for t in default_tokenizer().tokenize(text)] == expected


@pytest.mark.parametrize(
    ("text", "lemmas"),
    [
        ("後援名義を使用させることは適切でありません。", ["後援", "名義", "使用", "適切"]),
        ("それはお金の支援もありますか？", ["金", "支援"]),
        ("イベントに市の名前だけ貸すのは何という形態？", ["イベント", "市", "名前", "貸す", "形態"]),
        ("ＤＶ防止のリーフレットを作ったのはどの課？", ["dv", "防止", "リーフレット", "作る", "課"]),
        ("こと、もの、ため、など", []),
    ],
)
def test_content_lemmas_for_keyword_search(text, lemmas):
    assert default_tokenizer().content_lemmas(text) == lemmas


@pytest.mark.parametrize(
    ("text", "runs"),
    [
        ("町内会長の任期は？", ["町内会長", "任期"]),
        ("市後援の申請書はどこ？", ["市後援", "申請書"]),
        ("委託 先", ["委託", "先"]),  # a space ends a compound
        ("共催と後援の違い", ["共催", "後援", "違い"]),
        ("ああ、そうか", []),
    ],
)
def test_noun_runs_are_the_compounds_of_a_text(text, runs):
    assert ["".join(t.surface for t in run) for run in noun_runs(default_tokenizer().tokenize(text))] == runs


def test_offsets_point_at_the_original_characters(guideline):
    tokenizer = default_tokenizer()
    for section in guideline.sections:
        text = section.text + " \u3000 " + section.title
        for token in tokenizer.tokenize(text):
            assert text[token.start : token.end] == token.surface


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("ＰＴＡ活動", "pta活動"),
        ("平成２５年", "平成25年"),
        ("ｶﾀｶﾅ", "カタカナ"),
        ("  複数の　空白\n改行 ", "複数の 空白 改行"),
        ("Ｑ＆Ａ", "q&a"),
    ],
)
def test_normalize(text, normalized):
    assert normalize(text) == normalized


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("一つ目です。二つ目です！三つ目？", ["一つ目です。", "二つ目です！", "三つ目？"]),
        (
            "「どうやったら実現できるか。」、「どんな支援ができるか。」について検討します。次です。",
            ["「どうやったら実現できるか。」、「どんな支援ができるか。」について検討します。", "次です。"],
        ),
        (
            "次のとおりです。\n・ 営利を目的としている。\n・ 高齢者支援\n分野",
            ["次のとおりです。", "・ 営利を目的としている。", "・ 高齢者支援", "分野"],
        ),
        ("終わりのない文", ["終わりのない文"]),
        ("", []),
        ("。。", ["。。"]),
    ],
)
def test_sentence_splitter(text, sentences):
    assert [text[s:e] for s, e in split_sentences(text)] == sentences


@pytest.mark.parametrize(
    ("text", "cuts"),
    [
        ("後援とは？", []),  # a question: whole
        ("ア" * (2 * MAX_MECAB_CHARS + 5), [MAX_MECAB_CHARS, 2 * MAX_MECAB_CHARS]),  # a run: at the size
        ("あ" * 1500 + "。" + "い" * 1000, [1501]),  # after the sentence end in the second half
        ("あ" * 500 + "、" + "い" * 2000, [MAX_MECAB_CHARS]),  # a break in the first half is not used
    ],
)
def test_long_text_reaches_mecab_in_pieces(text, cuts):
    pieces = mecab_pieces(text)
    assert [start for start, _ in pieces[1:]] == cuts
    assert "".join(piece for _, piece in pieces) == text
    assert all(len(piece) <= MAX_MECAB_CHARS for _, piece in pieces)


def test_the_guideline_tokenizes_the_same_in_pieces(guideline):
    text = "\n".join(section.text for section in guideline.sections)
    assert len(text) > 3 * MAX_MECAB_CHARS
    tokenizer = default_tokenizer()
    assert [t.surface for t in tokenizer.tokenize(text)] == [w.surface for w in tokenizer._tagger(text)]


class _CountingLock:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.taken = 0

    def __enter__(self) -> None:
        self.lock.acquire()
        self.taken += 1

    def __exit__(self, *exc: object) -> None:
        self.lock.release()


def test_a_long_run_does_not_hold_the_tokenizer_in_one_go():
    """MeCab's unknown-word grouping is quadratic in a run of one kind of character: a document line
    of 20,000 × 「ア」 held the shared tokenizer, and every question waiting for it, for seconds
    (100,000: 89 s at load 15). Now MeCab gets it piece by piece, the tokenizer free in between, and
    the tokens still cover the run."""
    tokenizer = Tokenizer()
    tokenizer._lock = _CountingLock()
    run = "ア" * 20_000
    tokens = tokenizer.tokenize(run)
    assert tokenizer._lock.taken >= len(run) // MAX_MECAB_CHARS
    assert "".join(t.surface for t in tokens) == run
    assert all(run[t.start : t.end] == t.surface for t in tokens)


def test_a_question_tokenized_again_is_not_given_to_mecab_again():
    """One answer tokenizes its question ~20 times; MeCab sees it once, and each caller gets a list
    of its own."""
    tokenizer = Tokenizer()
    tokenizer._lock = _CountingLock()
    first = tokenizer.tokenize("後援名義の申請はいつまで？")
    first.clear()
    again = tokenizer.tokenize("後援名義の申請はいつまで？")
    assert tokenizer._lock.taken == 1
    assert [t.surface for t in again][:3] == ["後援", "名義", "の"]
    tokenizer.tokenize("ア" * (MAX_MECAB_CHARS + 1))
    tokenizer.tokenize("ア" * (MAX_MECAB_CHARS + 1))
    assert tokenizer._lock.taken == 1 + 2 * 2  # long texts (documents) are not kept


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # MeCab reads 「…会って」 as the verb 会う: 交流 + 会っ + て; a noun and the topic marker って it is
        ("交流会って後援もらえる？", [("交流", "名詞"), ("会", "名詞"), ("って", "助詞"), ("後援", "名詞")]),
        ("協議会ってなに", [("協議", "名詞"), ("会", "名詞"), ("って", "助詞"), ("なに", "代名詞")]),
        # a kana noun read as a verb's stem before って (心得る): a noun
        ("協働のこころえって", [("協働", "名詞"), ("の", "助詞"), ("こころえ", "名詞"), ("って", "助詞")]),
        # the verb 会う stays where it is one: after a particle, or a word saying when
        ("友達に会って", [("友達", "名詞"), ("に", "助詞"), ("会っ", "動詞"), ("て", "助詞")]),
        ("一度会って", [("一", "名詞"), ("度", "名詞"), ("会っ", "動詞"), ("て", "助詞")]),
        ("メール送っていい", [("メール", "名詞"), ("送っ", "動詞"), ("て", "助詞"), ("いい", "形容詞")]),
    ],
)
def test_a_noun_before_the_topic_marker_って_is_a_noun(text, expected):
    tokens = default_tokenizer().tokenize(text)
    assert [(t.surface, t.pos) for t in tokens][: len(expected)] == expected
    assert all(text[t.start : t.end] == t.surface for t in tokens)
