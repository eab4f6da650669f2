"""What a staff member receives: an ``Answer`` quoting the guideline, with its citations.

The default answerer is extractive: it picks the sentences of the retrieved
sections that best answer the question and quotes them in the guideline's own
words and order, grouped by section, each group marked with its citation.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from assistant.answering.sentences import SectionSentences
from assistant.errors import AssistantError
from assistant.ingestion.corpus import Document, Section
from assistant.ingestion.japanese import Tokenizer, split_sentences
from assistant.retrieval import SectionHit

MAX_QUESTION_CHARS = 300  # the query embedding's time grows faster than the length (1,000 characters: ~8 s)
ABSTENTION_TEXT = "ガイドラインには該当する記載が見つかりませんでした。"

# "Which form / which case / which department" questions are answered by naming the section.
WHICH_QUESTION = re.compile(
    r"(どの|どんな|何という|なんという|何の|どこの|どちらの|どういう)(形態|事例|取組|取り組み|課|部署|部|担当|章|項目)"
    r"|(担当|所管)(課|部署)|どこ(が|で)(担当|所管|実施)|何課|どこの課"
)
# After such a sentence the bullet items that follow belong to it.
LIST_INTRO = re.compile(r"次の(項目|こと|点)")


class QuestionError(AssistantError):
    ja = "質問を読み取れませんでした。"


@dataclass(frozen=True)
class Citation:
    doc_id: str
    section_id: str
    title: str  # display title path: 第３章 協働の形態 ＞ （７）後援
    quote: str  # the exact quoted text, a substring of the section's text
    name: str = ""  # the document and the section, as an answer names them: 協働ガイドライン 第３章（７）後援


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
            "contexts": [
                {"doc_id": c.doc_id, "section_id": c.section_id, "score": c.score, "text": c.text}
                for c in self.contexts
            ],
            "suggestions": [
                {"doc_id": c.doc_id, "section_id": c.section_id, "title": c.title, "name": c.name}
                for c in self.suggestions
            ],
            "flagged": self.flagged,
            "notes": self.notes,
        }


MAX_HISTORY_MESSAGES = 12


def _visible(text: str) -> str:
    """Text without lone surrogates, invisible format characters and controls other than line breaks."""
    return "".join(
        ch
        for ch in unicodedata.normalize("NFC", text.encode("utf-8", "replace").decode("utf-8"))
        if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn")
    )


def clean_history(history: Any) -> list[dict[str, str]]:
    """The last turns of a conversation as {role, content}, with unreadable characters dropped and
    each message capped: a history is input too, from a browser or a batch file."""
    if not isinstance(history, list):
        return []
    turns = []
    for message in history[-MAX_HISTORY_MESSAGES:]:
        if isinstance(message, dict) and message.get("role") in ("user", "assistant"):
            content = message.get("content")
            if isinstance(content, str) and content.strip():
                turns.append({"role": message["role"], "content": _visible(content)[:4000]})
    return turns


def validate_question(text: Any) -> str:
    """The question as it will be used, or a ``QuestionError`` saying in Japanese what is wrong."""
    if not isinstance(text, str):
        raise QuestionError(f"question must be text, not {type(text).__name__}")
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        raise QuestionError(
            "lone surrogate in question", ja="質問に読み取れない文字が含まれています。入力し直してください。"
        )
    cleaned = re.sub(r"\s+", " ", _visible(text)).strip()
    if not cleaned:
        raise QuestionError("empty question", ja="質問が空です。知りたいことを入力してください。")
    if len(cleaned) > MAX_QUESTION_CHARS:
        raise QuestionError(
            f"question of {len(cleaned)} characters (limit {MAX_QUESTION_CHARS})",
            ja=f"質問が長すぎます（{len(cleaned)}文字）。{MAX_QUESTION_CHARS}文字以内にまとめてください。",
        )
    if not any(ch.isalnum() for ch in cleaned):
        raise QuestionError(
            "question has no letters", ja="質問に文字が含まれていません。知りたいことを文章で入力してください。"
        )
    return cleaned


# --------------------------------------------------------------------------- extractive


@dataclass(frozen=True)
class ScoredSentence:
    section_id: str
    start: int
    end: int
    score: float


class ExtractiveAnswerer:
    """Quotes the best sentences of the best retrieved sections; invents nothing.

    A sentence's score is the IDF-weighted share of the question's terms it contains
    plus ``dense_weight`` × the cosine similarity of its embedding to the question's.
    """

    name = "extractive"

    def __init__(
        self,
        documents: list[Document],
        tokenizer: Tokenizer,
        idf: dict[str, float],
        sentences: dict[tuple[str, str], SectionSentences],
        max_sections: int = 2,
        max_sentences: int = 4,
        dense_weight: float = 5.0,
        second_section_margin: float = 0.0,
    ) -> None:
        self.documents = {d.doc_id: d for d in documents}
        self.tokenizer = tokenizer
        self.idf = idf
        self.sentences = sentences  # spans, vectors and lemmas of each section's sentences
        self.max_sections = max_sections
        self.max_sentences = max_sentences
        self.dense_weight = dense_weight
        self.second_section_margin = second_section_margin

    def section(self, doc_id: str, section_id: str) -> Section:
        return self.documents[doc_id].section(section_id)

    def rank_sections(self, hits: list[SectionHit]) -> list[tuple[str, str, float]]:
        """(doc_id, section_id, best fused score) of the retrieved sections, best first."""
        return [(h.doc_id, h.section_id, h.score) for h in hits]

    def score_sentences(
        self, doc_id: str, section_id: str, terms: dict[str, float], query_vector: list[float] | None
    ) -> list[ScoredSentence]:
        sentences = self.sentences[(doc_id, section_id)]
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

    def query_terms(self, question: str, context_question: str = "") -> dict[str, float]:
        """Question terms weighted by IDF; terms carried from an earlier turn count half."""
        terms: dict[str, float] = {}
        for term in self.tokenizer.content_lemmas(context_question):
            terms[term] = 0.5 * self.idf.get(term, 1.0)
        for term in self.tokenizer.content_lemmas(question):
            terms[term] = self.idf.get(term, 1.0)
        return terms

    def answer(
        self, question: str, hits: list[SectionHit], query_vector: list[float] | None, context_question: str = ""
    ) -> tuple[str, list[Citation]]:
        """The answer text and its citations (empty when nothing was retrieved)."""
        sections = [(d, s) for d, s, _ in self.rank_sections(hits) if (d, s) in self.sentences]
        if not sections:
            return "", []
        terms = self.query_terms(question, context_question)
        scored = {key: self.score_sentences(*key, terms, query_vector) for key in sections[: self.max_sections + 1]}
        best = {key: max(s.score for s in sentences) for key, sentences in scored.items()}
        top = sections[0]
        # A further section is quoted only when its best sentence answers about as well as the top one's.
        chosen = [top] + [
            key for key in sections[1 : self.max_sections] if best[key] >= best[top] - self.second_section_margin
        ]
        blocks: list[str] = []
        citations: list[Citation] = []
        for doc_id, section_id in chosen:
            section = self.section(doc_id, section_id)
            spans = self.pick_sentences(doc_id, section_id, scored[(doc_id, section_id)])
            document = self.documents[doc_id]
            title, name = document.title_path(section_id), document.citation_name(section_id)
            quotes = [section.text[s:e] for s, e in _contiguous_runs(section.text, spans)]
            citations += [Citation(doc_id, section_id, title, q, name) for q in quotes]
            blocks.append(f"■ {name}{_department(section)}\n" + "\n".join(quotes) + f"［{section_id} {section.title}］")
        lead = self._lead(question, [self.section(d, s) for d, s in chosen])
        return lead + "\n\n" + "\n\n".join(blocks), citations

    def pick_sentences(self, doc_id: str, section_id: str, scored: list[ScoredSentence]) -> list[tuple[int, int]]:
        """The best sentences of a section in the guideline's order; a list's intro brings its items."""
        order = sorted(range(len(scored)), key=lambda i: (-scored[i].score, i))
        keep = set(order[: self.max_sentences])
        text = self.section(doc_id, section_id).text
        for i in sorted(keep):
            if LIST_INTRO.search(text[scored[i].start : scored[i].end]):
                j = i + 1
                while j < len(scored) and text[scored[j].start : scored[j].end].startswith("・"):
                    keep.add(j)
                    j += 1
        return [(scored[i].start, scored[i].end) for i in sorted(keep)]

    @staticmethod
    def _lead(question: str, sections: list[Section]) -> str:
        first = sections[0]
        if WHICH_QUESTION.search(question):
            return (
                f"該当するのは「{first.heading}」{_department(first)}です。ガイドラインには次のように書かれています。"
            )
        return "ガイドラインには次のように書かれています。"


FRAMING = re.compile(
    r"^(ガイドラインには次のように書かれています。|該当するのは「.*」.*です。ガイドラインには次のように書かれています。)$"
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
