"""The new-hire tab: a walk through the guideline chapter by chapter, and a short quiz drawn from
the eval dataset: the learner's answer is checked for the model answer's keywords word by word
(fugashi lemmas, negation noticed); where that cannot decide, the learner compares with the model
answer and its evidence and marks the answer themselves.

Quiz progress is a plain dict kept in the browser session::

    {"ids": ["ch3-kouen-01", …], "position": 0, "answered": 0, "correct": 0, "graded": False,
     "unsure": False}
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from assistant.evals.dataset import EvalCase
from assistant.ingestion.corpus import Document
from assistant.ingestion.japanese import Token, Tokenizer, normalize, split_sentences
from assistant.ingestion.sections import section_label
from assistant.ui.render import body_html, chapter_html, find_section, notice_html

QUIZ_LENGTH = 5

# Counters are written as the guideline writes 第１章, in full-width digits: 「第1章 / 全6章」 stood
# in half-width right beside the chapter's heading 「第１章 ガイドライン策定の目的」.
_FULL_WIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")


def _count(n: int) -> str:
    return str(n).translate(_FULL_WIDTH_DIGITS)


# --------------------------------------------------------------------------- chapters


@dataclass(frozen=True)
class ChapterPage:
    index: int
    total: int
    title: str
    html: str

    @property
    def progress(self) -> str:
        return f"第{_count(self.index + 1)}章／全{_count(self.total)}章"

    @property
    def has_previous(self) -> bool:
        return self.index > 0

    @property
    def has_next(self) -> bool:
        return self.index < self.total - 1


def chapter_page(document: Document, index: int) -> ChapterPage:
    """Chapter ``index`` (0-based, clamped to the chapters there are) for reading through."""
    chapters = document.children(None)
    index = max(0, min(int(index), len(chapters) - 1))
    chapter = chapters[index]
    return ChapterPage(index, len(chapters), chapter.heading, chapter_html(document, chapter.section_id))


# --------------------------------------------------------------------------- quiz

GRADING_RULE = (
    "採点のしかた：模範解答のキーワードが全部入っていれば正解、半分以上なら模範解答と見比べて自分で判定、"
    "半分未満は不正解です。言葉の形の違い（「伝える」と「伝えて」など）は同じ言葉として数えます。"
    "キーワードを「〜ない」のように逆の意味で使っているときは、入っていないものとして数えます。"
)
NEGATIONS = {("助動詞", "ない"), ("助動詞", "ず"), ("助動詞", "ぬ"), ("形容詞", "無い"), ("形容詞", "ない")}


def _bigrams(text: str) -> set[str]:
    text = "".join(normalize(text).split())
    return {text[i : i + 2] for i in range(len(text) - 1)}


def evidence_sentences(section_text: str, reference: str) -> list[str]:
    """The section's sentences a model answer was drawn from, to be marked: for each sentence of the
    model answer, the section's sentence sharing the most character bigrams with it, when the shared
    ones make up at least half of the shorter sentence's. Model answers paraphrase and abridge
    (「後援：市民が主催する…」), so looking for them word for word would mark nothing for many."""
    sentences = [section_text[s:e] for s, e in split_sentences(section_text)]
    grams = [_bigrams(sentence) for sentence in sentences]
    marked: list[str] = []
    for s, e in split_sentences(reference):
        wanted = _bigrams(reference[s:e])
        if not wanted:
            continue
        shares = [len(wanted & g) / min(len(wanted), len(g)) if g else 0.0 for g in grams]
        best = max(range(len(shares)), key=shares.__getitem__, default=None)
        if best is not None and shares[best] >= 0.5 and sentences[best] not in marked:
            marked.append(sentences[best])
    return marked


def quiz_cases(cases: Sequence[EvalCase], documents: Sequence[Document] = ()) -> list[EvalCase]:
    """The cases a new hire can answer alone: answered by the guideline (not out of scope, not a
    detail it lacks), one turn, with a reference answer and keywords; given the documents, only
    those whose evidence can be shown marked (not an answer that only names a department)."""

    def evidenced(case: EvalCase) -> bool:
        for section_id in case.gold_sections:
            document = find_section(documents, section_id)
            if document and evidence_sentences(document.section(section_id).text, case.reference_answer):
                return True
        return False

    return [
        c
        for c in cases
        if c.expected == "answer"
        and not c.history
        and c.reference_answer.strip()
        and any(p.strip() and _written_in(p, c.reference_answer) for p in c.must_include)
        and (not documents or evidenced(c))
    ]


def _compact(text: str) -> str:
    return "".join(normalize(text).split())


def _written_in(phrase: str, text: str) -> bool:
    return _compact(phrase) in _compact(text)


def quiz_keywords(case: EvalCase, tokenizer: Tokenizer) -> list[str]:
    """The keywords a quiz answer is graded on: those of the case that its model answer itself says.
    A case's keywords are written for retrieval and may come from the section rather than the
    model answer (「合意書」 for an answer that never names it): grading a learner on them would fail
    the model answer itself."""
    phrases = [p for p in case.must_include if p.strip()]
    return [
        m.phrase
        for m in match_keywords(case.reference_answer, case.reference_answer, phrases, tokenizer)
        if m.score >= 1
    ]


def new_quiz(cases: Sequence[EvalCase], rng: random.Random, length: int = QUIZ_LENGTH) -> dict[str, Any]:
    chosen = rng.sample(list(cases), min(length, len(cases)))
    return {"ids": [c.id for c in chosen], "position": 0, "answered": 0, "correct": 0, "graded": False, "unsure": False}


def quiz_finished(state: dict[str, Any]) -> bool:
    return state["position"] >= len(state["ids"])


def quiz_progress(state: dict[str, Any]) -> str:
    """``第２問／全５問　（これまで１問中１問正解）``; before any answer, the question's place alone."""
    score = f"{_count(state['answered'])}問中{_count(state['correct'])}問正解"
    if quiz_finished(state):
        return f"クイズ終了　{score}でした。"
    place = f"第{_count(state['position'] + 1)}問／全{_count(len(state['ids']))}問"
    return f"{place}　（これまで{score}）" if state["answered"] else place


def quiz_question(cases: dict[str, EvalCase], state: dict[str, Any]) -> str:
    if quiz_finished(state):
        return "すべての問題に答えました。「最初からやり直す」で別の問題に挑戦できます。"
    return cases[state["ids"][state["position"]]].question


def next_question(state: dict[str, Any]) -> dict[str, Any]:
    if quiz_finished(state):
        return state
    return {**state, "position": state["position"] + 1, "graded": False, "unsure": False}


def self_mark(state: dict[str, Any], correct: bool) -> dict[str, Any]:
    """The learner's own verdict on an answer the grading could not decide (counted once)."""
    if not state.get("unsure"):
        return state
    return {**state, "correct": state["correct"] + int(correct), "unsure": False}


@dataclass(frozen=True)
class KeywordMatch:
    phrase: str
    found: float  # share of the keyword's content words (lemmas) that the answer uses
    reversed: bool  # the answer negates what the model answer affirms, or the other way round

    @property
    def score(self) -> float:
        return 0.0 if self.reversed else self.found


def _negated_after(tokens: Sequence[Token], index: int) -> bool:
    """Whether the clause from ``tokens[index]`` to the next punctuation is negated (an odd number
    of ない/ず/ぬ: 「示さない」 is, 「しなければならない」 is not)."""
    count = 0
    for token in tokens[index:]:
        if token.pos == "補助記号":
            break
        count += (token.pos, token.lemma) in NEGATIONS
    return count % 2 == 1


def _polarity(tokens: Sequence[Token], lemmas: Sequence[str]) -> bool | None:
    """Negated or not where the keyword's last word first occurs in ``tokens``; None if it does not."""
    for i, token in enumerate(tokens):
        if token.lemma == lemmas[-1]:
            return _negated_after(tokens, i)
    return None


def _said_alike(lemma: str, answer_tokens: Sequence[Token], reference_tokens: Sequence[Token]) -> bool:
    """Whether the answer uses the word, negated as the model answer has it (if it has it)."""
    said = _polarity(answer_tokens, [lemma])
    expected = _polarity(reference_tokens, [lemma])
    return said is not None and (expected is None or said == expected)


def match_keywords(text: str, reference: str, keywords: Sequence[str], tokenizer: Tokenizer) -> list[KeywordMatch]:
    """Each keyword of the model answer against the learner's answer, word by word on lemmas
    (fugashi), so 「伝えて」 matches 「伝える」; a keyword said the opposite way is caught."""
    answer_tokens = tokenizer.tokenize(text)
    reference_tokens = tokenizer.tokenize(reference)
    matches = []
    for phrase in keywords:
        lemmas = tokenizer.content_lemmas(phrase)
        written = _written_in(phrase, text)
        if not lemmas:  # a keyword of function words only: look for it as written
            matches.append(KeywordMatch(phrase, float(written), False))
            continue
        # as written counts whole: alone, a phrase may be cut into other words than in a sentence
        # (「見回り」 alone is not the 見回り of 「ごみステーションの見回りをして」 to MeCab)
        expected = _polarity(reference_tokens, lemmas)
        if expected is None:
            expected = _polarity(tokenizer.tokenize(phrase), lemmas)
        # a word of the keyword counts when said the model answer's way: 「わからない」 earned half a
        # step (△) towards 「理由を分かりやすく説明」 and was told 「もう一歩」
        found = (
            1.0
            if written
            else sum(_said_alike(lemma, answer_tokens, reference_tokens) for lemma in lemmas) / len(lemmas)
        )
        said = _polarity(answer_tokens, lemmas)
        matches.append(KeywordMatch(phrase, found, said is not None and said != expected))
    return matches


@dataclass(frozen=True)
class QuizResult:
    state: dict[str, Any]
    html: str
    unsure: bool = False  # the learner is asked to mark the answer themselves


def _keyword_item(match: KeywordMatch) -> str:
    if match.reversed:
        return f'<li class="miss">{escape(match.phrase)}（逆の意味になっています）</li>'
    if match.found >= 1:
        return f'<li class="hit">{escape(match.phrase)}</li>'
    if match.found > 0:
        return f'<li class="partial">{escape(match.phrase)}（一部の言葉だけ）</li>'
    return f'<li class="miss">{escape(match.phrase)}</li>'


def grade_answer(
    cases: dict[str, EvalCase],
    documents: Sequence[Document],
    tokenizer: Tokenizer,
    state: dict[str, Any],
    text: str,
) -> QuizResult:
    """Grade the new hire's answer by the rule in ``GRADING_RULE``, then show the model answer and
    the sections it comes from with the model answer's sentences marked. An empty answer, or a
    second answer to the same question, is not counted."""
    if quiz_finished(state):
        return QuizResult(state, notice_html("クイズは終了しました。「最初からやり直す」を押してください。"))
    if state["graded"]:
        return QuizResult(state, notice_html("この問題は採点済みです。「次の問題へ」を押してください。"))
    if not text or not text.strip():
        return QuizResult(
            state, notice_html("答えが空です。自分の言葉で答えを入力してから「採点する」を押してください。")
        )
    case = cases[state["ids"][state["position"]]]
    matches = match_keywords(text, case.reference_answer, quiz_keywords(case, tokenizer), tokenizer)
    score = sum(m.score for m in matches) / len(matches)
    passed, unsure = score >= 1, 0.5 <= score < 1
    new_state = {
        **state,
        "answered": state["answered"] + 1,
        "correct": state["correct"] + int(passed),
        "graded": True,
        "unsure": unsure,
    }
    if passed:
        verdict = '<p class="verdict pass">正解です</p>'
    elif unsure:
        verdict = (
            '<p class="verdict unsure">自動では判定できませんでした</p>'
            '<p class="hint">キーワードの一部が入っています。下の模範解答と見比べて、'
            "「合っていた」か「違っていた」を押してください。</p>"
        )
    elif score > 0:
        verdict = '<p class="verdict retry">不正解です（もう一歩）</p>'
    else:  # not one keyword: 「もう一歩」 would tell the learner they were nearly right
        verdict = '<p class="verdict retry">不正解です</p>'
    gold = []
    for section_id in case.gold_sections:
        document = find_section(documents, section_id)
        if document is None:
            continue
        text = document.section(section_id).text
        gold.append(
            f"<details open><summary>{escape(section_label(document, section_id))}</summary>"
            f"{body_html(text, evidence_sentences(text, case.reference_answer))}</details>"
        )
    html = f"""<div class="quiz-result">
{verdict}
<p class="quiz-heading">キーワード（✓ 入っていた　△ 一部だけ　✗ 入っていなかった）</p>
<ul class="phrases">{"".join(_keyword_item(m) for m in matches)}</ul>
<p class="quiz-heading">模範解答</p><p class="reference">{escape(case.reference_answer)}</p>
<p class="quiz-heading">根拠となるガイドラインの箇所（色の付いた部分が模範解答のもとになった文です）</p>{"".join(gold)}
</div>"""
    return QuizResult(new_state, html, unsure)
