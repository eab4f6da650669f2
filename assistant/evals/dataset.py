"""The eval cases: what a case says, and the loader that checks every line of a JSONL dataset.

Every case belongs to a split: ``dev`` is what retrieval and answering are tuned on (and what the
abstention threshold is calibrated on); ``test`` is never tuned on and is only measured. The
expected outcome is ``answer``, ``partial`` (the guideline covers the topic but not the asked
detail: the answer must say that detail is missing) or ``abstain`` (out of scope).

A line of the dataset::

    {"id": "...", "split": "dev", "question": "...", "expected": "answer",
     "gold_sections": ["3-5", "3-6"], "sides": [["3-5"], ["3-6"]],
     "reference_answer": "...", "must_include": ["..."], "missing": [],
     "history": [{"role": "user", "content": "..."},
                 {"role": "assistant", "content": "...［3-7 後援］",
                  "citations": [{"doc_id": "kyodo-guideline", "section_id": "3-7"}]}],
     "tags": ["ch3"], "style": ["comparison"]}

``sides``, ``missing``, ``history``, ``style``, ``lead`` and ``note`` (free text for the reviewer of a
draft case, e.g. the 👎 comment; not used by the evaluator) may be left out.

``lead`` (in-scope cases only) lists short phrases copied from the guideline sentence that answers the
question, any one of which the answer's lead must contain: ``"lead": ["財政的な支援等はありません"]``
for 「後援なら市からお金は出る？」. It is written from the guideline, not from an answer, and left out
where no single sentence answers (a list of points, both sides of a comparison).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.errors import AssistantError
from assistant.settings import bundled_dir

DATASET_DIR = bundled_dir("evals") / "datasets"  # the checkout's evals/, or the copy in the wheel
DEV_DATASET = DATASET_DIR / "guideline_qa.jsonl"
TEST_DATASET = DATASET_DIR / "test.jsonl"
DEFAULT_DATASET = DEV_DATASET  # the quiz and the benchmark draw on dev questions only
EVAL_DATASETS = (DEV_DATASET, TEST_DATASET)

SPLITS = ("dev", "test")
OUTCOMES = ("answer", "partial", "abstain")
STYLES = (
    "colloquial",
    "terse",
    "abbreviation",
    "typo",
    "half-width",
    "comparison",
    "two-part",
    "missing-detail",
    "department",
    "follow-up",
    "topic-switch",
    "out-of-scope",
)
REQUIRED_FIELDS = ("id", "split", "question", "expected", "gold_sections", "reference_answer", "must_include", "tags")


class DatasetError(AssistantError):
    ja = "評価データセットの形式が正しくありません。"


@dataclass(frozen=True)
class EvalCase:
    id: str
    question: str
    gold_sections: list[str]
    reference_answer: str
    must_include: list[str]
    tags: list[str]
    split: str = "dev"
    expected: str = "answer"  # answer | partial | abstain
    history: list[dict[str, Any]] = field(default_factory=list)
    sides: list[list[str]] = field(default_factory=list)  # comparison / two-part: each side's gold sections
    missing: list[str] = field(default_factory=list)  # partial: words, any of which names the missing detail
    lead: list[str] = field(default_factory=list)  # phrases of the answering sentence, any of which the lead holds
    style: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def out_of_scope(self) -> bool:
        return self.expected == "abstain"

    @property
    def previous_sections(self) -> list[str]:
        """The sections the last answer in the history cited (what a follow-up leans on)."""
        for message in reversed(self.history):
            if message["role"] == "assistant":
                return [c["section_id"] for c in message.get("citations", [])]
        return []


def load_dataset(path: Path) -> list[EvalCase]:
    """Read a JSONL dataset; a malformed line is reported with its line number."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"cannot read {path}: {exc}", ja=f"評価データセットを読み込めません: {path}") from None
    cases: list[EvalCase] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(
                f"{where}: not valid JSON ({exc.msg})", ja=f"{where} 行目が JSON として読めません。"
            ) from None
        case = _case(row, where)
        if case.id in seen:
            raise DatasetError(f"{where}: duplicate id {case.id!r}", ja=f"{where} 行目の id が重複しています。")
        seen.add(case.id)
        cases.append(case)
    if not cases:
        raise DatasetError(f"{path}: no cases", ja=f"評価データセットが空です: {path}")
    return cases


def load_datasets(paths: list[Path] | tuple[Path, ...]) -> list[EvalCase]:
    """Several datasets as one list; an id may not repeat across them either."""
    cases: list[EvalCase] = []
    seen: dict[str, Path] = {}
    for path in paths:
        for case in load_dataset(path):
            if case.id in seen:
                raise DatasetError(
                    f"{path}: id {case.id!r} also in {seen[case.id]}",
                    ja=f"{path}: id {case.id} が {seen[case.id]} にもあります。",
                )
            seen[case.id] = path
            cases.append(case)
    return cases


def draft_case(
    case_id: str,
    question: str,
    *,
    sections: list[str],
    abstained: bool = False,
    history: list[dict[str, Any]] | None = None,
    tags: list[str] | None = None,
    note: str = "",
) -> dict[str, Any]:
    """A dataset line (split dev) drafted from real use, for a maintainer to review before it is added.

    The cited sections become its gold sections; an abstained question (or one with nothing cited)
    is drafted as out of scope. The reviewer corrects ``gold_sections``, writes ``reference_answer``
    and ``must_include``, and removes the ``needs-review`` tag.
    """
    gold = list(dict.fromkeys(s for s in sections if isinstance(s, str) and s))
    out_of_scope = abstained or not gold
    row: dict[str, Any] = {
        "id": case_id,
        "split": "dev",
        "question": question,
        "expected": "abstain" if out_of_scope else "answer",
        "gold_sections": [] if out_of_scope else gold,
        "reference_answer": "",
        "must_include": [],
        "tags": [*(tags or []), "needs-review"],
    }
    turns = [
        {"role": m["role"], "content": m["content"]}
        for m in history or []
        if m.get("role") in ("user", "assistant") and isinstance(m.get("content"), str)
    ]
    if turns:
        row["history"] = turns
    if out_of_scope:
        row["style"] = ["out-of-scope"]
    if note:
        row["note"] = note
    _case(row, case_id)  # a draft the loader would refuse is a bug here, not the reviewer's problem
    return row


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(x, str) and x for x in value)


def _case(row: Any, where: str) -> EvalCase:
    def fail(problem: str) -> DatasetError:
        return DatasetError(f"{where}: {problem}", ja=f"{where} 行目: {problem}")

    if not isinstance(row, dict):
        raise fail("each line must be a JSON object")
    missing = [f for f in REQUIRED_FIELDS if f not in row]
    if missing:
        raise fail(f"missing field(s) {', '.join(missing)}")
    unknown = sorted(set(row) - {*REQUIRED_FIELDS, "sides", "missing", "history", "style", "lead", "note"})
    if unknown:
        raise fail(f"unknown field(s) {', '.join(unknown)}")
    if not isinstance(row["id"], str) or not row["id"]:
        raise fail("id must be a non-empty string")
    if row["split"] not in SPLITS:
        raise fail(f"split must be one of {', '.join(SPLITS)}")
    if not isinstance(row["question"], str) or not row["question"].strip():
        raise fail("question must be a non-empty string")
    if row["expected"] not in OUTCOMES:
        raise fail(f"expected must be one of {', '.join(OUTCOMES)}")
    for name in ("gold_sections", "must_include", "tags"):
        if not isinstance(row[name], list) or not all(isinstance(x, str) for x in row[name]):
            raise fail(f"{name} must be a list of strings")
    if not isinstance(row["reference_answer"], str):
        raise fail("reference_answer must be a string")
    expected, gold = row["expected"], row["gold_sections"]
    if expected == "abstain" and (gold or row["must_include"]):
        raise fail("an abstain case has no gold_sections or must_include")
    if expected != "abstain" and not gold:
        raise fail("an in-scope case needs gold_sections")

    sides = row.get("sides", [])
    if sides and not (isinstance(sides, list) and len(sides) >= 2 and all(_strings(s) and s for s in sides)):
        raise fail("sides must be two or more non-empty lists of section ids")
    if any(s not in gold for side in sides for s in side):
        raise fail("every section of sides must be in gold_sections")
    detail = row.get("missing", [])
    if not _strings(detail) or (expected == "partial") != bool(detail):
        raise fail("a partial case names its missing detail in missing (and only a partial case)")
    lead = row.get("lead", [])
    if not _strings(lead) or ("lead" in row and not lead):
        raise fail("lead must be a non-empty list of phrases")
    if lead and expected == "abstain":
        raise fail("an abstain case has no lead")
    style = row.get("style", [])
    if not _strings(style) or not set(style) <= set(STYLES):
        raise fail(f"style must be a list of: {', '.join(STYLES)}")
    history = _history(row.get("history", []), fail)
    if not isinstance(row.get("note", ""), str):
        raise fail("note must be a string")

    if bool({"comparison", "two-part"} & set(style)) != bool(sides):
        raise fail("comparison and two-part cases (and only they) give sides")
    if {"follow-up", "topic-switch"} & set(style) and not history:
        raise fail("follow-up and topic-switch cases need a history")
    if ("missing-detail" in style) != (expected == "partial"):
        raise fail("style missing-detail goes with expected partial")
    if ("out-of-scope" in style) != (expected == "abstain"):
        raise fail("style out-of-scope goes with expected abstain")
    return EvalCase(
        id=row["id"],
        question=row["question"],
        gold_sections=list(gold),
        reference_answer=row["reference_answer"],
        must_include=list(row["must_include"]),
        tags=list(row["tags"]),
        split=row["split"],
        expected=expected,
        history=history,
        sides=[list(s) for s in sides],
        missing=list(detail),
        lead=list(lead),
        style=list(style),
        note=row.get("note", ""),
    )


def _history(history: Any, fail: Any) -> list[dict[str, Any]]:
    """Earlier turns: {role: user|assistant, content}, an assistant turn optionally with the
    citations it gave ({doc_id, section_id}), as the chat passes them back."""
    if not isinstance(history, list):
        raise fail("history must be a list of {role: user|assistant, content}")
    turns: list[dict[str, Any]] = []
    for m in history:
        if not (isinstance(m, dict) and m.get("role") in ("user", "assistant") and isinstance(m.get("content"), str)):
            raise fail("history must be a list of {role: user|assistant, content}")
        if set(m) - {"role", "content", "citations"}:
            raise fail("a history message has only role, content and citations")
        turn: dict[str, Any] = {"role": m["role"], "content": m["content"]}
        if "citations" in m:
            citations = m["citations"]
            if m["role"] != "assistant" or not (
                isinstance(citations, list)
                and all(
                    isinstance(c, dict)
                    and set(c) == {"doc_id", "section_id"}
                    and all(isinstance(v, str) and v for v in c.values())
                    for c in citations
                )
            ):
                raise fail("history citations are {doc_id, section_id} objects on an assistant message")
            turn["citations"] = [dict(c) for c in citations]
        turns.append(turn)
    return turns
