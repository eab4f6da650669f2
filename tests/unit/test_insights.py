"""The insights as data: questions per day, grouping by similar wording, section hits with the
never-cited sections, 👎 with comments, the CSV and a logged question as a draft eval case."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path

from assistant.database import Database
from assistant.evals.dataset import load_dataset
from assistant.feedback import FeedbackRecord, FeedbackStore
from assistant.ingestion.japanese import default_tokenizer
from assistant.insights import DAYS_SHOWN, Insights, SimilarWording
from assistant.questions import LoggedQuestion, QuestionLog, utc_now

S = lambda section_id: {"doc_id": "kyodo-guideline", "section_id": section_id}  # noqa: E731


def test_similar_wordings_are_grouped_and_unrelated_ones_are_not() -> None:
    log = [
        LoggedQuestion(q, "abstain", [], 10, id=i)
        for i, q in enumerate(
            [
                "補助金の振込日はいつ？",
                "補助金はいつ振り込まれますか",
                "補助金の振込日はいつですか",
                "補助金の振込日はいつ？",
                "協働協定の様式はどこにありますか",
                "今日の天気は？",
            ],
            start=1,
        )
    ]
    groups = SimilarWording(default_tokenizer()).group(log)
    assert [(g.question, g.count) for g in groups] == [
        ("補助金の振込日はいつ？", 4),
        ("協働協定の様式はどこにありますか", 1),
        ("今日の天気は？", 1),
    ]
    assert groups[0].entry_id == 4  # the latest of the most frequent wording
    assert groups[0].examples == ["補助金はいつ振り込まれますか", "補助金の振込日はいつですか"]


def test_report_counts_days_sections_and_downvotes(tmp_path: Path, guideline) -> None:
    db = Database(tmp_path / "db.sqlite3")
    questions, feedback = QuestionLog(db, retention_days=90), FeedbackStore(db)
    now = utc_now()
    for days, question, outcome, sections in [
        (0, "後援とは？", "answer", [S("3-7")]),
        (0, "後援名義とは何ですか", "answer", [S("3-7"), S("3-5")]),
        (1, "補助金の振込日は？", "partial", [S("3-4")]),
        (3, "今日の天気は？", "abstain", []),
        (40, "古いけれど保存期間内の質問", "answer", [S("3-7")]),
    ]:
        questions.add(LoggedQuestion(question, outcome, sections, 30, "staff", asked_at=now - timedelta(days=days)))
    feedback.add(FeedbackRecord("down", "後援とは？", [], "後援とは…", [], comment="期限が書いていない"))
    feedback.add(FeedbackRecord("up", "委託とは？", [], "…", []))

    report = Insights(questions, feedback, default_tokenizer()).report([guideline], today=now.date())
    assert report.total == 5 and report.outcomes == {"answer": 3, "partial": 1, "abstain": 1}
    assert len(report.days) == DAYS_SHOWN and report.days[-1][0] == now.date()
    assert [sum(c.values()) for _, c in report.days[-4:]] == [1, 0, 1, 2]  # the 40-day-old one is not shown
    assert [(g.question, g.count) for g in report.unanswered] == [("補助金の振込日は？", 1), ("今日の天気は？", 1)]
    hits = {s.section_id: s.hits for s in report.sections}
    assert (hits["3-7"], hits["3-5"], hits["3-4"]) == (3, 1, 1)
    assert len(report.sections) == len(guideline.sections)
    assert len(report.never_cited) == len(guideline.sections) - 3
    assert report.sections[0].label.startswith("協働ガイドライン")
    assert report.downvoted == [
        {
            "created_at": report.downvoted[0]["created_at"],
            "question": "後援とは？",
            "comment": "期限が書いていない",
            "answer": "後援とは…",
        }
    ]


def test_csv_and_draft_cases(tmp_path: Path) -> None:
    db = Database(tmp_path / "db.sqlite3")
    questions = QuestionLog(db)
    insights = Insights(questions, FeedbackStore(db), default_tokenizer())
    answered = questions.add(LoggedQuestion('後援とは？, "引用"', "answer", [S("3-7"), S("6-Q4")], 12, "admin"))
    partial = questions.add(LoggedQuestion("補助金の振込日は？", "partial", [S("3-4")], 12, "staff"))
    abstained = questions.add(LoggedQuestion("今日の天気は？", "abstain", [], 12, ""))

    text = insights.csv()
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert [(r["question"], r["outcome"], r["sections"], r["role"]) for r in rows] == [
        ('後援とは？, "引用"', "answer", "3-7 6-Q4", "admin"),
        ("補助金の振込日は？", "partial", "3-4", "staff"),
        ("今日の天気は？", "abstain", "", ""),
    ]

    drafts = [insights.draft_case(i) for i in (answered, partial, abstained)]
    assert insights.draft_case(999) is None
    path = tmp_path / "drafts.jsonl"
    path.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in drafts), encoding="utf-8")
    cases = load_dataset(path)
    assert [(c.id, c.split, c.expected, c.gold_sections) for c in cases] == [
        (f"log-{answered}", "dev", "answer", ["3-7", "6-Q4"]),
        (f"log-{partial}", "dev", "answer", ["3-4"]),
        (f"log-{abstained}", "dev", "abstain", []),
    ]
    assert "was-partial" in cases[1].tags and all("needs-review" in c.tags for c in cases)
