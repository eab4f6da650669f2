"""The tokens a chain's loading keeps beside its index build (``assistant.ingestion.token_cache``):
a second process over the same build gives MeCab none of them, and a file that is broken or was
written for other tokens is never believed."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest

import assistant.answering.chain as chain_module
from assistant.answering.chain import AnswerChain
from assistant.ingestion.japanese import Tokenizer
from assistant.ingestion.token_cache import fingerprint, read_tokens, write_tokens

QUESTIONS = ["委託とは？", "こうえんめいぎの申請はいつまで？", "後援と共催の違いは？", "町会に頼むときの注意点は"]


class CountingTagger:
    """The real MeCab tagger, counting the texts it is given."""

    def __init__(self, tagger) -> None:
        self.tagger = tagger
        self.texts: list[str] = []

    def __call__(self, text: str):
        self.texts.append(text)
        return self.tagger(text)


def load(service) -> tuple[AnswerChain, CountingTagger]:
    """A chain over the session's build with a tokenizer of its own, as a new process has."""
    tokenizer = Tokenizer()
    tagger = tokenizer._tagger = CountingTagger(tokenizer._tagger)
    return AnswerChain(dataclasses.replace(service, tokenizer=tokenizer)), tagger


def what_it_knows(chain: AnswerChain) -> tuple:
    """What a chain derived from the tokens when it loaded, and its answers."""
    answers = [chain.ask(q) for q in QUESTIONS]
    return (
        chain.spelling.terms,
        chain.spelling.heading_words,
        {key: found.terms for key, found in chain.extractive.sentences.items()},
        chain._scope_terms,
        chain.topics,
        chain.shorthand,
        [a.to_json() for a in answers],
    )


@pytest.fixture
def tokens_file(service, monkeypatch):
    """A tokens file of this test's own in the session's build (the shared one stays as it was)."""
    path = service.index.build_dir / "tokens-test.json"
    path.unlink(missing_ok=True)
    monkeypatch.setattr(chain_module, "TOKENS_FILE", path.name)
    yield path
    path.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def fresh(service):
    """What a chain knows that tokenized everything itself."""
    chain, _ = load(service)
    return what_it_knows(chain)


def test_a_second_chain_over_a_build_reads_its_tokens_instead_of_tokenizing(service, tokens_file, fresh):
    first, first_tagger = load(service)
    assert tokens_file.is_file()
    assert len(first_tagger.texts) > 500  # every sentence, section, heading and glossary word
    second, second_tagger = load(service)
    assert second_tagger.texts == []
    assert what_it_knows(second) == what_it_knows(first) == fresh


def broken_in_the_middle(path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def other_fingerprint(path) -> None:
    head, _, body = path.read_bytes().partition(b"\n")
    header = json.loads(head)
    path.write_bytes(json.dumps({**header, "fingerprint": "0 unidic-lite 0.0 fugashi 0.0"}).encode() + b"\n" + body)


def a_lemma_changed(path) -> None:
    """One byte of a lemma differs (後援 read as 講演): the file no longer matches its digest."""
    path.write_bytes(path.read_bytes().replace('"後援","名詞"'.encode(), '"講演","名詞"'.encode(), 1))


def tokens_of_another_text(path) -> None:
    """The tokens of one text filed under another (the digest made to fit, as a careless writer would)."""
    texts = json.loads(path.read_bytes().partition(b"\n")[2])
    keys = [k for k in texts if len(k) > 20]
    texts[keys[0]], texts[keys[1]] = texts[keys[1]], texts[keys[0]]
    write_raw(path, texts)


def write_raw(path, texts) -> None:
    body = json.dumps(texts, ensure_ascii=False).encode()
    header = {"fingerprint": fingerprint(), "sha256": hashlib.sha256(body).hexdigest()}
    path.write_bytes(json.dumps(header).encode() + b"\n" + body)


@pytest.mark.parametrize(
    "damage",
    [
        lambda path: path.write_bytes(b"\x00\xff garbage"),
        lambda path: path.write_bytes(b""),
        broken_in_the_middle,
        other_fingerprint,
        a_lemma_changed,
        tokens_of_another_text,
        lambda path: write_raw(path, {"委託とは": [["委託", None]], "後援": "後援"}),
    ],
    ids=["garbage", "empty", "cut", "stale", "altered", "misfiled", "malformed"],
)
def test_a_broken_or_stale_tokens_file_changes_nothing_and_is_written_again(service, tokens_file, fresh, damage):
    load(service)
    kept = read_tokens(tokens_file)
    assert len(kept) > 500
    damage(tokens_file)
    chain, tagger = load(service)
    assert tagger.texts  # what the file could not vouch for was tokenized again
    assert what_it_knows(chain) == fresh
    assert read_tokens(tokens_file) == kept  # and the file is whole again


def test_tokens_read_back_equal_the_tokenizer_s(guideline, tmp_path):
    tokenizer = Tokenizer()
    texts = [s.text for s in guideline.sections if s.text] + ["ＮＰＯ法人と協働するには？", "", "ｺｳｴﾝ\x00名義"]
    tokens = {text: tuple(tokenizer.tokenize(text)) for text in texts}
    write_tokens(tmp_path / "tokens.json", tokens)
    assert read_tokens(tmp_path / "tokens.json") == {
        text: found for text, found in tokens.items() if all(text[t.start : t.end] == t.surface for t in found)
    }
    assert len(read_tokens(tmp_path / "tokens.json")) >= len(texts) - 1


def test_a_folder_that_cannot_be_written_only_costs_the_next_process_its_tokenizing(service, tokens_file, fresh):
    tokens_file.mkdir()  # the file's name is taken by a folder: nothing can be written there
    try:
        chain, _ = load(service)
        assert what_it_knows(chain) == fresh
        _, tagger = load(service)
        assert tagger.texts
    finally:
        tokens_file.rmdir()
