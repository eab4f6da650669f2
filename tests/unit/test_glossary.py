"""The staff-word glossary: folded matching, expansion, and the check that every term exists."""

from __future__ import annotations

import pytest

from assistant.cli import main
from assistant.ingestion.glossary import Glossary, GlossaryError, abbreviates, fold
from assistant.retrieval import char_ngrams
from tests.conftest import CORPUS_DIR


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("ｼﾝﾎﾟｼﾞｳﾑ", "しんぽじうむ"),
        ("シンポジウム", "しんぽじうむ"),
        ("ＮＰＯ法人", "npo法人"),
        ("後援、とは？", "後援とは"),
    ],
)
def test_fold(text, folded):
    assert fold(text) == folded


@pytest.mark.parametrize(
    ("word", "term", "abbreviation"),
    [
        ("ステパト", "ステーションパトロール隊", True),
        ("ｽﾃﾊﾟﾄ", "ステーションパトロール隊", True),
        ("クリサポ", "クリーンアップ・サポーター", True),
        ("町連", "町内会連合会", True),
        ("顔ぶれ", "固定化", False),  # another word for it, not cut from it
        ("メリデメ", "メリット", False),  # デメ is no part of メリット
        ("委託", "委託", False),  # the term itself
    ],
)
def test_an_abbreviation_is_cut_from_its_term_in_order(word, term, abbreviation):
    assert abbreviates(word, term) is abbreviation


def test_char_ngrams_are_bigrams_of_the_folded_text():
    assert char_ngrams("ｺﾞﾐ袋") == ["ごみ", "み袋"]
    assert char_ngrams("後") == ["後"]


def test_the_repository_glossary_points_only_at_terms_the_guideline_uses(guideline):
    glossary = Glossary.load(CORPUS_DIR / "glossary.toml")
    assert len(glossary.entries) >= 30
    assert glossary.missing_terms([guideline]) == []
    assert glossary.expand("ｱｳﾄｿｰｼﾝｸﾞしたい") == ["委託", "外注"]
    assert glossary.expand("後援とは") == []


def test_a_target_the_guideline_lacks_is_reported(tmp_path, guideline):
    path = tmp_path / "glossary.toml"
    path.write_text('[terms]\n"外注" = ["委託"]\n"有給" = "有給休暇"\n', encoding="utf-8")
    assert Glossary.load(path).missing_terms([guideline]) == [("有給", "有給休暇")]


def test_a_malformed_glossary_is_refused_in_japanese(tmp_path):
    path = tmp_path / "glossary.toml"
    path.write_text('[terms]\n"外注" = []\n', encoding="utf-8")
    with pytest.raises(GlossaryError) as raised:
        Glossary.load(path)
    assert "外注" in raised.value.ja
    path.write_text("[terms\n", encoding="utf-8")
    with pytest.raises(GlossaryError):
        Glossary.load(path)


def test_cli_glossary_check(tmp_path, monkeypatch, capsys):
    assert main(["glossary", "check"]) == 0
    assert "すべてガイドラインにあります" in capsys.readouterr().out
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "kyodo-guideline.txt").write_bytes((CORPUS_DIR / "kyodo-guideline.txt").read_bytes())
    (corpus / "documents.json").write_bytes((CORPUS_DIR / "documents.json").read_bytes())
    (corpus / "glossary.toml").write_text('[terms]\n"有給" = ["有給休暇"]\n', encoding="utf-8")
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(corpus))
    assert main(["glossary", "check"]) == 1
    assert "「有給」→「有給休暇」" in capsys.readouterr().err
