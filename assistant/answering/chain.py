"""The answering chain: question (+ history) → follow-up resolution → hybrid retrieval
→ answerer (extractive, or an LLM) → citation check → ``Answer``.

It is a LangChain runnable (``build_chain``); ``AnswerChain.stream`` also yields the
LLM's tokens as they come, for the chat UI.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field, replace

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable, RunnableLambda

from assistant.answering.extractive import (
    ABSTENTION_TEXT,
    Answer,
    Citation,
    ExtractiveAnswerer,
    QuestionError,
    clean_history,
    idf_table,
    validate_question,
)
from assistant.answering.llm import LLMAnswerer, make_chat_model
from assistant.answering.sentences import section_sentences
from assistant.errors import LLMError
from assistant.retrieval import SectionHit
from assistant.service import Service, load_service
from assistant.settings import Settings

# A follow-up that leans on the previous turn: 「それは…」「その場合…」「他には？」
ELLIPTIC = re.compile(
    r"^(それ|その|そう|これ|この|あれ|あの|そこ|では|じゃあ|なら|他に|ほかに|逆に|同じ|また|さらに|あと)|それ|その場合|そちら"
)
MARKER = re.compile(r"[\[［]\s*([0-9０-９]+(?:-[0-9０-９A-Za-zＱ]+)*)(?:[\s　][^\]］]*)?[\]］]")
SUGGESTIONS = 3

log = logging.getLogger(__name__)


@dataclass
class Turn:
    """What flows through the chain, one step adding to it."""

    question: str
    history: list[dict[str, str]] = field(default_factory=list)
    doc_ids: frozenset[str] = frozenset()  # only these documents (empty: all)
    resolved_query: str = ""
    context_question: str = ""  # the earlier turn a follow-up leans on
    query_vector: list[float] | None = None
    hits: list[SectionHit] = field(default_factory=list)
    evidence: float = 0.0
    answer: Answer | None = None


def previous_user_question(history: list[dict[str, str]]) -> str:
    for message in reversed(history):
        if message.get("role") == "user" and str(message.get("content", "")).strip():
            return str(message["content"])
    return ""


def previous_cited_titles(history: list[dict[str, str]], service: Service) -> list[str]:
    """Titles of the sections the last assistant answer cited (its ［3-7 後援］ markers)."""
    for message in reversed(history):
        if message.get("role") == "assistant":
            titles = []
            for section_id in MARKER.findall(str(message.get("content", ""))):
                for document in service.documents:
                    if section_id in document:
                        titles.append(document.section(section_id).title)
            return list(dict.fromkeys(titles))
    return []


class AnswerChain:
    """Answers questions for one loaded ``Service``; safe to share between threads."""

    def __init__(
        self, service: Service, chat_model: BaseChatModel | None = None, model_id: str = "", warning: str = ""
    ) -> None:
        self.service = service
        self.settings = service.settings
        self.idf = idf_table(service.index.terms)
        sentences = section_sentences(service.documents, service.tokenizer, service.embeddings)
        self.extractive = ExtractiveAnswerer(service.documents, service.tokenizer, self.idf, sentences)
        self.llm = (
            LLMAnswerer(chat_model, self.extractive, timeout=self.settings.llm_timeout, model_id=model_id)
            if chat_model is not None
            else None
        )
        self.warning = warning  # shown with every answer, e.g. when the configured LLM failed to load
        self.runnable: Runnable = (
            RunnableLambda(self.resolve, name="resolve_follow_up")
            | RunnableLambda(self.retrieve, name="hybrid_retrieval")
            | RunnableLambda(self.answer, name="answer")
            | RunnableLambda(self.check, name="citation_check")
        ).with_config(run_name="guideline_qa")

    # ------------------------------------------------------------------ steps

    def resolve(self, turn: Turn) -> Turn:
        """Make an elliptic follow-up self-contained for retrieval."""
        turn.question = validate_question(turn.question)
        turn.history = clean_history(turn.history)
        turn.resolved_query = turn.question
        if not turn.history:
            return turn
        if self.llm is not None:
            turn.resolved_query = self.llm.condense(turn.question, turn.history)
            return turn
        known = [t for t in self.service.tokenizer.content_lemmas(turn.question) if t in self.idf]
        if ELLIPTIC.search(turn.question) or len(known) < 2:
            earlier = previous_user_question(turn.history)
            carried = " ".join(previous_cited_titles(turn.history, self.service))
            turn.context_question = f"{earlier} {carried}".strip()
            turn.resolved_query = f"{turn.context_question} {turn.question}".strip()
        return turn

    def retrieve(self, turn: Turn) -> Turn:
        turn.query_vector = self.service.embeddings.embed_query(turn.resolved_query)
        turn.hits = self.service.retriever.search(
            turn.resolved_query, query_vector=turn.query_vector, doc_ids=turn.doc_ids
        )
        turn.evidence = self.evidence(turn.resolved_query, turn.query_vector, turn.doc_ids)
        return turn

    def evidence(self, query: str, query_vector: list[float], doc_ids: frozenset[str] = frozenset()) -> float:
        """How well the guideline covers the query: best cosine similarity of any chunk, plus the
        IDF-weighted share of the query's terms that the guideline uses at all."""
        best = self.service.index.dense(query_vector, 1, doc_ids)
        dense = best[0][1] if best else 0.0
        terms = self.service.tokenizer.content_lemmas(query)
        unknown_weight = max(self.idf.values(), default=1.0)
        total = sum(self.idf.get(t, unknown_weight) for t in terms)
        coverage = sum(self.idf[t] for t in terms if t in self.idf) / total if total else 0.0
        return dense + self.settings.abstain_lexical_weight * coverage

    @staticmethod
    def _base(turn: Turn) -> Answer:
        """The answer before an answerer fills it in: what was asked, found and how strongly."""
        return Answer(
            question=turn.question,
            answer="",
            abstained=False,
            contexts=list(turn.hits),
            evidence=turn.evidence,
            resolved_query=turn.resolved_query,
        )

    def _too_weak(self, turn: Turn) -> bool:
        return turn.evidence < self.settings.abstain_threshold or not turn.hits

    def answer(self, turn: Turn) -> Turn:
        base = self._base(turn)
        if self._too_weak(turn):
            turn.answer = self.abstention(base, turn.hits)
            return turn
        if self.llm is not None:
            turn.answer = self.llm.answer(base, turn.hits, turn.query_vector)
            return turn
        text, citations = self.quote(turn)
        turn.answer = replace(base, answer=text, citations=citations)
        return turn

    def quote(self, turn: Turn) -> tuple[str, list[Citation]]:
        """The extractive answer. For a follow-up, sentences are chosen by what the follow-up itself
        asks (「お金の支援も？」); the earlier turn only chose the sections."""
        focus = turn.query_vector
        if turn.context_question:
            focus = self.service.embeddings.embed_query(turn.question)
        return self.extractive.answer(turn.question, turn.hits, focus, turn.context_question)

    def check(self, turn: Turn) -> Turn:
        """Never an answer without a citation to a retrieved section."""
        answer = turn.answer
        assert answer is not None
        if self.warning and self.warning not in answer.notes:
            answer = replace(answer, notes=[*answer.notes, self.warning])
        retrieved = {(c.doc_id, c.section_id) for c in answer.contexts}
        if answer.abstained:
            turn.answer = answer
            return turn
        valid = [c for c in answer.citations if (c.doc_id, c.section_id) in retrieved]
        if len(valid) != len(answer.citations):
            answer = replace(answer, citations=valid, flagged=True)
        if not valid:
            text, citations = self.quote(turn)
            note = "生成された回答に有効な出典がなかったため、ガイドラインの該当箇所をそのまま示します。"
            answer = replace(
                answer, answer=text, citations=citations, answerer="extractive", notes=[*answer.notes, note]
            )
            if not citations:
                answer = self.abstention(answer, turn.hits)
        turn.answer = answer
        return turn

    def abstention(self, base: Answer, hits: list[SectionHit]) -> Answer:
        suggestions = []
        for doc_id, section_id, _ in self.extractive.rank_sections(hits)[:SUGGESTIONS]:
            document = self.service.document(doc_id)
            title, name = document.title_path(section_id), document.citation_name(section_id)
            suggestions.append(Citation(doc_id, section_id, title, "", name))
        text = ABSTENTION_TEXT
        if suggestions:
            text += "\n\n近い内容の箇所:\n" + "\n".join(f"・{s.name}［{s.section_id}］" for s in suggestions)
        return replace(base, answer=text, abstained=True, citations=[], suggestions=suggestions)

    # ------------------------------------------------------------------ entry points

    def _documents(self, doc_ids: Collection[str]) -> frozenset[str]:
        """The chosen documents, checked: an unknown id is an error, not an empty answer."""
        known = {d.doc_id for d in self.service.documents}
        unknown = sorted(set(doc_ids) - known)
        if unknown:
            raise QuestionError(
                f"unknown document {unknown[0]!r}",
                ja=f"文書「{unknown[0]}」は登録されていません（登録済み: {'、'.join(sorted(known))}）。",
            )
        return frozenset(doc_ids)

    def ask(self, question: str, history: list[dict[str, str]] | None = None, doc_ids: Collection[str] = ()) -> Answer:
        """Answer one question; ``doc_ids`` limits the answer to those documents."""
        turn = self.runnable.invoke(Turn(question, list(history or []), self._documents(doc_ids)))
        assert turn.answer is not None
        return turn.answer

    def stream(
        self, question: str, history: list[dict[str, str]] | None = None, doc_ids: Collection[str] = ()
    ) -> Iterator[str | Answer]:
        """Yield text pieces as they are generated (LLM mode), then the checked ``Answer``."""
        turn = self.retrieve(self.resolve(Turn(question, list(history or []), self._documents(doc_ids))))
        if self.llm is None or self._too_weak(turn):
            yield self.check(self.answer(turn)).answer  # type: ignore[misc]
            return
        answer = None
        for piece in self.llm.stream(self._base(turn), turn.hits, turn.query_vector):
            if isinstance(piece, Answer):
                answer = piece
            else:
                yield piece
        turn.answer = answer
        yield self.check(turn).answer  # type: ignore[misc]


def build_chain(chain: AnswerChain) -> Runnable:
    """The LangChain runnable: ``{"question", "history"}`` → ``Answer``."""
    return (
        RunnableLambda(lambda x: Turn(x["question"], list(x.get("history") or []), frozenset(x.get("doc_ids") or ())))
        | chain.runnable
        | RunnableLambda(lambda turn: turn.answer)
    )


def load_chain(settings: Settings, progress: bool = False) -> AnswerChain:
    """The chain over a freshly loaded service (index built on first use), with the LLM the settings choose.

    An LLM that cannot be loaded is reported and the chain answers extractively.
    """
    service = load_service(settings, progress=progress)
    try:
        chosen = make_chat_model(settings)
    except LLMError as exc:
        log.warning("%s", exc.one_line())
        return AnswerChain(service, warning=exc.ja)
    if chosen is None:
        return AnswerChain(service)
    return AnswerChain(service, chat_model=chosen[0], model_id=chosen[1])
