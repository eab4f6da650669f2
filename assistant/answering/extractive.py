"""What a staff member receives: an ``Answer`` quoting the guideline, with its citations.

The default answerer is extractive: it picks the sentences of the retrieved
sections that best answer the question and quotes them in the guideline's own
words and order, grouped by section, each group marked with its citation.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from assistant.answering.question import Question
from assistant.answering.sentences import SectionSentences
from assistant.ingestion.corpus import Document, Section
from assistant.ingestion.japanese import Tokenizer, split_sentences
from assistant.limits import MAX_QUESTION_CHARS, visible_text
from assistant.retrieval import SectionHit

ABSTENTION_TEXT = "ガイドラインには該当する記載が見つかりませんでした。"

# After such a sentence the bullet items that follow belong to it.
LIST_INTRO = re.compile(r"次の(項目|こと|点)")


@dataclass(frozen=True)
class Citation:
    doc_id: str
    section_id: str
    title: str  # display title path: 第３章 協働の形態 ＞ （７）後援
    quote: str  # the exact quoted text: section.text[start:end]
    name: str = ""  # the document and the section, as an answer names them: 協働ガイドライン 第３章（７）後援
    start: int = 0
    end: int = 0


@dataclass
class Answer:
    question: str
    answer: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    contexts: list[SectionHit] = field(default_factory=list)
    suggestions: list[Citation] = field(default_factory=list)  # nearest sections offered on abstention
    evidence: float = 0.0  # the score abstention is decided on
    resolved_query: str = ""  # what retrieval was run with (after follow-up resolution)
    answerer: str = "extractive"
    flagged: bool = False  # the citation check removed something
    partial: bool = False  # the question asks for a detail the guideline does not state
    notes: list[str] = field(default_factory=list)

    @property
    def cited_sections(self) -> list[str]:
        return list(dict.fromkeys(c.section_id for c in self.citations))

    def to_json(self) -> dict[str, Any]:
        """The CLI's JSON form."""
        return {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "citations": [asdict(c) for c in self.citations],
            "contexts": [c.to_json() for c in self.contexts],
            "suggestions": [
                {"doc_id": c.doc_id, "section_id": c.section_id, "title": c.title, "name": c.name}
                for c in self.suggestions
            ],
            "partial": self.partial,
            "flagged": self.flagged,
            "notes": self.notes,
        }


MAX_HISTORY_MESSAGES = 12
# An earlier question could not be longer than a question; an earlier answer quotes a few sentences.
# What a history brings to the tokenizer and the LLM is bounded by these, whoever sent it.
MAX_HISTORY_CHARS = {"user": MAX_QUESTION_CHARS, "assistant": 4_000}


def clean_history(history: Any) -> list[dict[str, Any]]:
    """The last turns of a conversation as {role, content}, with unreadable characters dropped and
    each message capped: a history is input too, from a browser or a batch file. An assistant
    message keeps the sections it cited as data: {"citations": [{"doc_id", "section_id"}, …]}."""
    if not isinstance(history, list):
        return []
    turns: list[dict[str, Any]] = []
    for message in history[-MAX_HISTORY_MESSAGES:]:
        if isinstance(message, dict) and message.get("role") in ("user", "assistant"):
            content = message.get("content")
            if isinstance(content, str) and content.strip():
                role = message["role"]
                turn: dict[str, Any] = {"role": role, "content": visible_text(content)[: MAX_HISTORY_CHARS[role]]}
                cited = message.get("citations")
                if role == "assistant" and isinstance(cited, list):
                    turn["citations"] = [
                        {"doc_id": c["doc_id"], "section_id": c["section_id"]}
                        for c in cited[:20]
                        if isinstance(c, dict)
                        and isinstance(c.get("doc_id"), str)
                        and isinstance(c.get("section_id"), str)
                    ]
                turns.append(turn)
    return turns


# --------------------------------------------------------------------------- extractive


@dataclass(frozen=True)
class ScoredSentence:
    section_id: str
    start: int
    end: int
    score: float


class ExtractiveAnswerer:
    """Quotes the best sentences of the chosen sections; invents nothing.

    A sentence's score is the IDF-weighted share of the question's terms it contains
    plus ``dense_weight`` × the cosine similarity of its embedding to the question's.
    The answer leads with the sentence or two that answer, then a few supporting quotes
    per section; a comparison gets one block per side.
    """

    name = "extractive"

    def __init__(
        self,
        documents: list[Document],
        tokenizer: Tokenizer,
        idf: dict[str, float],
        sentences: dict[tuple[str, str], SectionSentences],
        max_sentences: int = 3,
        dense_weight: float = 5.0,
    ) -> None:
        self.documents = {d.doc_id: d for d in documents}
        self.tokenizer = tokenizer
        self.idf = idf
        self.sentences = sentences  # spans, vectors and lemmas of each section's sentences
        self.max_sentences = max_sentences
        self.dense_weight = dense_weight

    def section(self, doc_id: str, section_id: str) -> Section:
        return self.documents[doc_id].section(section_id)

    def citation_name(self, hit: SectionHit) -> str:
        """協働ガイドライン 第３章（７）後援: the document and the section, as an answer names them."""
        return self.documents[hit.doc_id].citation_name(hit.section_id)

    def score_sentences(
        self, doc_id: str, section_id: str, terms: dict[str, float], query_vector: list[float] | None
    ) -> list[ScoredSentence]:
        sentences = self.sentences[(doc_id, section_id)]
        # the section's own subject (後援 in 3-7) tells none of its sentences apart: what else is asked does
        topic = self._title_terms(doc_id, section_id)
        terms = {t: w * TITLE_TERM_SHARE if t in topic else w for t, w in terms.items()}
        total = sum(terms.values()) or 1.0
        lexical = [sum(w for t, w in terms.items() if t in lemmas) / total for lemmas in sentences.terms]
        if query_vector is None:
            dense = np.zeros(len(sentences.spans))
        else:
            dense = sentences.vectors @ np.asarray(query_vector, dtype=np.float32)
        return [
            ScoredSentence(section_id, s, e, lex + self.dense_weight * float(cos))
            for (s, e), lex, cos in zip(sentences.spans, lexical, dense, strict=True)
        ]

    @functools.cache  # noqa: B019 - one answerer per chain, a few dozen sections
    def _title_terms(self, doc_id: str, section_id: str) -> frozenset[str]:
        return frozenset(self.tokenizer.content_lemmas(self.section(doc_id, section_id).title))

    def best_sentence(
        self, hit: SectionHit, terms: dict[str, float], query_vector: list[float] | None
    ) -> ScoredSentence | None:
        """The section's sentence that answers best: the evidence the rerank step weighs."""
        if hit.key not in self.sentences:
            return None
        return max(self.score_sentences(*hit.key, terms, query_vector), key=lambda s: s.score)

    def query_terms(
        self, question: str, context_question: str = "", related: list[str] | None = None
    ) -> dict[str, float]:
        """Question terms weighted by IDF; terms carried from an earlier turn, and the guideline's
        terms for the question's staff words (the glossary's), count half."""
        terms: dict[str, float] = {}
        for term in self.tokenizer.content_lemmas(" ".join([context_question, *(related or [])])):
            terms[term] = 0.5 * self.idf.get(term, 1.0)
        for term in self.tokenizer.content_lemmas(question):
            terms[term] = self.idf.get(term, 1.0)
        return terms

    def answer(
        self,
        question: Question,
        blocks: list[SectionHit],
        query_vector: list[float] | None,
        context_question: str = "",
        missing: str = "",
        related: list[str] | None = None,
    ) -> tuple[str, list[Citation]]:
        """The answer text and its citations; ``blocks`` are the sections to quote, one block each
        (for a comparison, one per side); ``missing`` names a detail none of them states."""
        blocks = [b for b in blocks if b.key in self.sentences]
        if not blocks:
            return "", []
        terms = self.query_terms(question.text, context_question, related)
        scored = {b.key: self.score_sentences(*b.key, terms, query_vector) for b in blocks}
        if question.kind == "yes-no":  # the sentence that decides (「…はありません。」) leads
            for key, sentences in scored.items():
                text = self.section(*key).text
                scored[key] = [
                    replace(s, score=s.score + DECIDING_BONUS) if DECIDING.search(text[s.start : s.end]) else s
                    for s in sentences
                ]
        lead_lines: list[str] = []
        citations: list[Citation] = []
        first = self.section(*blocks[0].key)
        if missing:
            lead_lines.append(f"ガイドラインには{missing}についての記載はありません。{NEARBY}")
        elif question.asks_department and first.department:
            lead_lines.append(f"担当は{first.department}です（「{first.heading}」）。")
        elif question.kind == "which":
            lead_lines.append(f"該当するのは「{first.heading}」{_department(first)}です。")
        quoted: set[tuple[str, int]] = set()
        if not question.compares:
            # the sentence or two that answer, before the supporting quotes
            best = sorted(scored[blocks[0].key], key=lambda s: -s.score)
            lead = [best[0]] + [s for s in best[1:2] if s.score >= best[0].score - LEAD_SECOND_MARGIN]
            spans = self.with_context(first, sorted((s.start, s.end) for s in lead))
            for start, end in _contiguous_runs(first.text, spans):
                lead_lines.append(first.text[start:end] + f"［{first.section_id} {first.title}］")
                citations.append(
                    Citation(
                        blocks[0].doc_id,
                        first.section_id,
                        blocks[0].title,
                        first.text[start:end],
                        self.citation_name(blocks[0]),
                        start,
                        end,
                    )
                )
                quoted |= {(first.section_id, s) for s, _ in spans}
        parts: list[str] = []
        for hit in blocks:
            section = self.section(*hit.key)
            rest = [s for s in scored[hit.key] if (hit.section_id, s.start) not in quoted]
            order = sorted(rest, key=lambda s: -s.score)[
                : self.max_sentences if question.compares or hit is not blocks[0] else self.max_sentences - 1
            ]
            if not order:
                continue
            spans = [
                sp
                for sp in self.with_context(section, sorted((s.start, s.end) for s in order))
                if (hit.section_id, sp[0]) not in quoted
            ]
            quotes = []
            for start, end in _contiguous_runs(section.text, spans):
                quotes.append(section.text[start:end])
                citations.append(
                    Citation(
                        hit.doc_id,
                        hit.section_id,
                        hit.title,
                        section.text[start:end],
                        self.citation_name(hit),
                        start,
                        end,
                    )
                )
            parts.append(
                f"■ {self.citation_name(hit)}{_department(section)}\n"
                + "\n".join(quotes)
                + f"［{hit.section_id} {section.title}］"
            )
        return "\n".join(lead_lines) + ("\n\n" if lead_lines and parts else "") + "\n\n".join(parts), citations

    def with_context(self, section: Section, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """Sentence spans plus what they need to be read: a list's lead-in for its items, the items
        after a lead-in, and the sentence before one that opens with a connective (「ですから、…」)."""
        all_spans = self.sentences[(section.doc_id, section.section_id)].spans
        index = {span: i for i, span in enumerate(all_spans)}
        keep = {index[s] for s in spans if s in index}
        text = section.text
        for i in sorted(keep):
            sentence = text[all_spans[i][0] : all_spans[i][1]]
            if sentence.startswith("・"):
                j = i - 1
                while j >= 0 and text[all_spans[j][0] : all_spans[j][1]].startswith("・"):
                    j -= 1
                if j >= 0:
                    keep.add(j)
            elif CONNECTIVE.match(sentence) and i > 0:
                keep.add(i - 1)
        for i in sorted(keep):
            if LIST_INTRO.search(text[all_spans[i][0] : all_spans[i][1]]):
                j = i + 1
                while j < len(all_spans) and text[all_spans[j][0] : all_spans[j][1]].startswith("・"):
                    keep.add(j)
                    j += 1
        return [all_spans[i] for i in sorted(keep)]


# A sentence that settles a yes/no question one way or the other.
DECIDING = re.compile(r"(ありません|できません|いけません|なりません|適しません|ではない|必要です)。$")
DECIDING_BONUS = 0.3
TITLE_TERM_SHARE = 0.5
NEARBY = "関連する箇所には次のように書かれています。"
LEAD_SECOND_MARGIN = 0.1  # a second sentence leads too when it answers nearly as well as the best
# A sentence that leans on the one before it.
CONNECTIVE = re.compile(
    r"^(ですから|そのため|このため|したがって|しかし|ただし|なお|つまり|そこで|こうした|そうした|その|この|これ|それ)"
)
FRAMING = re.compile(
    r"^(ガイドラインには.*(記載はありません|書かれています)。.*|該当するのは「.*」.*です。.*|担当は.*です（「.*」）。)$"
)


def content_sentences(answer_text: str) -> list[str]:
    """The sentences of an answer that make a claim: without framing lines, headings and markers."""
    sentences = []
    for line in answer_text.splitlines():
        line = re.sub(r"[\[［][^\]］\n]{1,80}[\]］]", "", line).strip()
        if not line or line.startswith("■") or FRAMING.match(line):
            continue
        sentences += [line[s:e] for s, e in split_sentences(line)]
    return sentences


def _department(section: Section) -> str:
    return f"（担当: {section.department}）" if section.department else ""


def _contiguous_runs(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merge sentence spans separated only by white space into one quote."""
    runs: list[tuple[int, int]] = []
    for s, e in spans:
        if runs and not text[runs[-1][1] : s].strip():
            runs[-1] = (runs[-1][0], e)
        else:
            runs.append((s, e))
    return runs


def idf_table(chunk_terms: list[list[str]]) -> dict[str, float]:
    """BM25-style IDF of each term over the chunks (for weighting question terms)."""
    n = len(chunk_terms)
    df: dict[str, int] = {}
    for terms in chunk_terms:
        for t in set(terms):
            df[t] = df.get(t, 0) + 1
    return {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
