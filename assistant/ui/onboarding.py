"""The new-hire tab: a walk through the guideline chapter by chapter, and a short quiz drawn from
the eval dataset, scored with the same matching the evals use (``match_answer``).

Quiz progress is a plain dict kept in the browser session::

    {"ids": ["ch3-kouen-01", …], "position": 0, "answered": 0, "correct": 0, "graded": False}
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from assistant.evals.dataset import EvalCase
from assistant.evals.evaluator import match_answer
from assistant.evals.metrics import coverage
from assistant.ingestion.corpus import Document
from assistant.ingestion.japanese import Tokenizer, normalize
from assistant.ui.render import body_html, chapter_html, find_section, notice_html, section_label

QUIZ_LENGTH = 5


# --------------------------------------------------------------------------- chapters


@dataclass(frozen=True)
class ChapterPage:
    index: int
    total: int
    title: str
    html: str

    @property
    def progress(self) -> str:
        return f"第{self.index + 1}章 / 全{self.total}章"

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


def quiz_cases(cases: Sequence[EvalCase]) -> list[EvalCase]:
    """The cases a new hire can answer alone: answered by the guideline (not out of scope, not a
    detail it lacks), one turn, with a reference answer."""
    return [c for c in cases if c.expected == "answer" and not c.history and c.reference_answer.strip()]


def new_quiz(cases: Sequence[EvalCase], rng: random.Random, length: int = QUIZ_LENGTH) -> dict[str, Any]:
    chosen = rng.sample(list(cases), min(length, len(cases)))
    return {"ids": [c.id for c in chosen], "position": 0, "answered": 0, "correct": 0, "graded": False}


def quiz_finished(state: dict[str, Any]) -> bool:
    return state["position"] >= len(state["ids"])


def quiz_progress(state: dict[str, Any]) -> str:
    """``第2問 / 全5問　これまで 1問中1問正解``."""
    total = len(state["ids"])
    score = f"{state['answered']}問中{state['correct']}問正解"
    if quiz_finished(state):
        return f"クイズ終了　{score}でした。"
    return f"第{state['position'] + 1}問 / 全{total}問　（これまで {score}）"


def quiz_question(cases: dict[str, EvalCase], state: dict[str, Any]) -> str:
    if quiz_finished(state):
        return "すべての問題に答えました。「新しいクイズを始める」で別の問題に挑戦できます。"
    return cases[state["ids"][state["position"]]].question


def next_question(state: dict[str, Any]) -> dict[str, Any]:
    if quiz_finished(state):
        return state
    return {**state, "position": state["position"] + 1, "graded": False}


@dataclass(frozen=True)
class QuizResult:
    state: dict[str, Any]
    html: str


def grade_answer(
    cases: dict[str, EvalCase],
    documents: Sequence[Document],
    tokenizer: Tokenizer,
    state: dict[str, Any],
    text: str,
) -> QuizResult:
    """Score the new hire's answer against the case's reference, then show the reference and the
    gold sections. An empty answer, or a second answer to the same question, is not counted."""
    if quiz_finished(state):
        return QuizResult(state, notice_html("クイズは終了しました。「新しいクイズを始める」を押してください。"))
    if state["graded"]:
        return QuizResult(state, notice_html("この問題は採点済みです。「次の問題へ」を押してください。"))
    if not text or not text.strip():
        return QuizResult(
            state, notice_html("答えが空です。自分の言葉で答えを入力してから「採点する」を押してください。")
        )
    case = cases[state["ids"][state["position"]]]
    match = match_answer(text, case.reference_answer, case.must_include, tokenizer)
    new_state = {
        **state,
        "answered": state["answered"] + 1,
        "correct": state["correct"] + int(match.passed),
        "graded": True,
    }
    verdict = "合格" if match.passed else "もう一歩"
    css = "pass" if match.passed else "retry"
    phrases = "".join(
        f'<li class="{"hit" if coverage(text, [p], normalize=normalize) else "miss"}">{escape(p)}</li>'
        for p in case.must_include
    )
    gold = []
    for section_id in case.gold_sections:
        document = find_section(documents, section_id)
        if document is None:
            continue
        gold.append(
            f"<details><summary>{escape(section_label(document, section_id))}</summary>"
            f"{body_html(document.section(section_id).text, [])}</details>"
        )
    html = f"""<div class="quiz-result">
<p class="verdict {css}">{verdict}</p>
<table class="scores">
<tr><th>キーワードの含有率</th><td>{match.must_include:.0%}</td></tr>
<tr><th>模範解答との一致度（単語F1）</th><td>{match.token_f1:.2f}</td></tr>
</table>
<p class="hint">キーワードの半分以上を含むか、一致度が 0.40 以上で合格です。</p>
<p class="quiz-heading">キーワード（✓ は含まれていたもの）</p><ul class="phrases">{phrases}</ul>
<p class="quiz-heading">模範解答</p><p class="reference">{escape(case.reference_answer)}</p>
<p class="quiz-heading">根拠となるガイドラインの箇所（クリックで本文を表示）</p>{"".join(gold)}
</div>"""
    return QuizResult(new_state, html)
