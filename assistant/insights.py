"""What the guideline's owner learns from use (the admins' insights page), as plain data.

From the question log and the feedback: questions per day by outcome, the most asked questions,
the ones abstained or only partly answered (grouped by similar wording: the best list of what the
next revision should cover), 👎 answers with their comments, and how often each section was
cited, the never-cited ones included. A logged question becomes a draft eval case (a dataset
line the loader accepts, split dev) in one call; the whole log is exported as CSV.

Similar wording: two questions are grouped when their content-word lemmas (fugashi) and their
character bigrams overlap enough — no model is needed, and 「補助金の振込日はいつ？」 meets
「補助金はいつ振り込まれますか」.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from assistant.evals.dataset import draft_case
from assistant.feedback import FeedbackStore
from assistant.ingestion.japanese import Tokenizer
from assistant.ingestion.sections import Document
from assistant.questions import LoggedQuestion, QuestionLog, utc_now

SIMILAR_AT = 0.25  # mean of the two Jaccard overlaps (lemmas, character bigrams); unrelated questions ~0.05
MAX_GROUPS = 30
MAX_DOWNVOTES = 50
RECENT_QUESTIONS = 50
DAYS_SHOWN = 14
CSV_COLUMNS = ("id", "asked_at", "question", "outcome", "sections", "latency_ms", "role")
_NOT_WORDING = re.compile(r"[\W_]+")


@dataclass
class QuestionGroup:
    """Questions worded alike: the most frequent wording stands for the group."""

    question: str
    entry_id: int  # the logged question a draft case is made from
    count: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)  # other wordings, most frequent first


@dataclass
class SectionHits:
    doc_id: str
    section_id: str
    label: str
    hits: int


@dataclass
class InsightsReport:
    total: int
    outcomes: Counter[str]
    days: list[tuple[date, Counter[str]]]  # the last DAYS_SHOWN days, oldest first
    most_asked: list[QuestionGroup]
    unanswered: list[QuestionGroup]  # abstained or partly answered
    downvoted: list[dict[str, Any]]  # {"created_at", "question", "comment", "answer"}
    sections: list[SectionHits]  # every section of every document, in document order
    recent: list[LoggedQuestion]
    logging_enabled: bool
    retention_days: int

    @property
    def never_cited(self) -> list[SectionHits]:
        return [s for s in self.sections if s.hits == 0]


class SimilarWording:
    """Groups questions by the overlap of their lemmas and character bigrams."""

    def __init__(self, tokenizer: Tokenizer, threshold: float = SIMILAR_AT) -> None:
        self.tokenizer = tokenizer
        self.threshold = threshold

    def features(self, question: str) -> tuple[frozenset[str], frozenset[str]]:
        text = _NOT_WORDING.sub("", unicodedata.normalize("NFKC", question).lower())
        bigrams = frozenset(text[i : i + 2] for i in range(len(text) - 1)) or frozenset([text])
        return frozenset(self.tokenizer.content_lemmas(question)), bigrams

    def similarity(self, a: tuple[frozenset[str], frozenset[str]], b: tuple[frozenset[str], frozenset[str]]) -> float:
        return (_jaccard(a[0], b[0]) + _jaccard(a[1], b[1])) / 2

    def group(self, entries: list[LoggedQuestion]) -> list[QuestionGroup]:
        """Groups, largest first; each wording joins the group whose first wording it is most like."""
        by_wording: dict[str, list[LoggedQuestion]] = {}
        for entry in entries:
            by_wording.setdefault(_wording_key(entry.question), []).append(entry)
        wordings = sorted(by_wording.values(), key=lambda same: (-len(same), same[0].id or 0))
        groups: list[tuple[tuple[frozenset[str], frozenset[str]], QuestionGroup]] = []
        for same in wordings:
            features = self.features(same[0].question)
            best = max(groups, key=lambda g: self.similarity(features, g[0]), default=None)
            if best is None or self.similarity(features, best[0]) < self.threshold:
                best = (features, QuestionGroup(same[-1].question, same[-1].id or 0))
                groups.append(best)
            else:
                best[1].examples.append(same[-1].question)
            best[1].count += len(same)
            best[1].outcomes.update(e.outcome for e in same)
        return sorted((g for _, g in groups), key=lambda g: (-g.count, g.entry_id))


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def _wording_key(question: str) -> str:
    return _NOT_WORDING.sub("", unicodedata.normalize("NFKC", question).lower())


class Insights:
    """The insights over one question log, one feedback store and the documents answered from."""

    def __init__(self, questions: QuestionLog, feedback: FeedbackStore, tokenizer: Tokenizer) -> None:
        self.questions = questions
        self.feedback = feedback
        self.wording = SimilarWording(tokenizer)

    def report(self, documents: list[Document], today: date | None = None) -> InsightsReport:
        entries = self.questions.entries()
        today = today or utc_now().date()
        first_day = today - timedelta(days=DAYS_SHOWN - 1)
        per_day: dict[date, Counter[str]] = {first_day + timedelta(days=i): Counter() for i in range(DAYS_SHOWN)}
        hits: Counter[tuple[str, str]] = Counter()
        for entry in entries:
            if entry.asked_at.date() in per_day:
                per_day[entry.asked_at.date()][entry.outcome] += 1
            hits.update((s["doc_id"], s["section_id"]) for s in entry.sections)
        downvoted = [
            {"created_at": r.created_at, "question": r.question, "comment": r.comment, "answer": r.answer}
            for r in reversed(self.feedback.downvoted()[-MAX_DOWNVOTES:])
        ]
        return InsightsReport(
            total=len(entries),
            outcomes=Counter(e.outcome for e in entries),
            days=sorted(per_day.items()),
            most_asked=self.wording.group(entries)[:MAX_GROUPS],
            unanswered=self.wording.group([e for e in entries if e.outcome != "answer"])[:MAX_GROUPS],
            downvoted=downvoted,
            sections=[
                SectionHits(d.doc_id, s.section_id, d.citation_name(s.section_id), hits[(d.doc_id, s.section_id)])
                for d in documents
                for s in d.sections
            ],
            recent=list(reversed(entries[-RECENT_QUESTIONS:])),
            logging_enabled=self.questions.enabled,
            retention_days=self.questions.retention.days,
        )

    def csv(self) -> str:
        """The whole question log as CSV (UTF-8 with a BOM, so that Excel reads the Japanese)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        for e in self.questions.entries():
            sections = " ".join(s["section_id"] for s in e.sections)
            writer.writerow(
                (e.id, e.asked_at.isoformat(timespec="seconds"), e.question, e.outcome, sections, e.latency_ms, e.role)
            )
        return "\ufeff" + out.getvalue()

    def draft_case(self, entry_id: int) -> dict[str, Any] | None:
        """A logged question as a draft eval case (split dev, needs review); None when there is no such row."""
        entry = self.questions.get(entry_id)
        if entry is None:
            return None
        note = f"質問ログ {entry.id}（{entry.asked_at.isoformat(timespec='seconds')}、結果: {entry.outcome}）"
        return draft_case(
            f"log-{entry.id}",
            entry.question,
            sections=[s["section_id"] for s in entry.sections],
            abstained=entry.outcome == "abstain",
            tags=["question-log", *(["was-partial"] if entry.outcome == "partial" else [])],
            note=note,
        )
