"""The rerank step: reorder the retrieved sections before the answer is composed.

Two implementations behind one small interface:

- ``EvidenceReranker`` (default, no model): adds to each section's fused retrieval score a share of
  the evidence the answerer computes anyway, its best sentence's score for the question, which
  separates sibling sections whose titles and vocabulary overlap (3-3 協定 vs 3-4 事業協力); and an
  overview yields to its own sub-section when the sub-section's best sentence answers better (a
  chapter's opening 「第４章 協働の進め方」 before （２）事業実施 for 「何を明確にしておけばいい？」);
  and a leader first by dense similarity yields to a section the keyword rankings put above it and
  whose listed questions (how staff ask about it) are nearer the question (``agreed_first``); and,
  for a question asking what to do, a leader whose best sentence only says what a thing is yields to
  one that says something else (``what_to_do_first``); and, between near ties, the section whose heading
  the question names and whose evidence is clearly better leads (``named_first``);
- ``CrossEncoderReranker``: a sentence-transformers ``CrossEncoder`` given by name or folder
  (``ASSISTANT_RERANKER_MODEL``, e.g. a copied Japanese reranker), scoring (question, section) pairs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

from assistant.errors import AssistantError
from assistant.retrieval import SectionHit, asks

if TYPE_CHECKING:
    from assistant.answering.extractive import ExtractiveAnswerer


# how much nearer (cosine similarity) a section's listed question must be than the leader's for the words to
# move the leader: half the ``asked`` ranking's margin, as the keyword rankings must agree too
LISTED_MARGIN = 0.01
WHAT_TO_DO_SCORE_SHARE = 0.9  # how near the first a section answering what to do must rank to lead in its place
# a sibling whose heading the question names: how near the first it must rank, and by how much (IDF weight of the
# question's terms) its heading must name the question more than the leader's
NAMED_SCORE_SHARE = 0.95
NAMED_HEADING_MARGIN = 1.5
# an overview the listed questions favour by this much keeps its place before a sub-section whose evidence is
# better only by less than ``EVIDENCE_NOISE`` (two sentences sharing the question's words score within it)
OVERVIEW_LISTED_MARGIN = 0.025
EVIDENCE_NOISE = 0.3


class RerankerError(AssistantError):
    ja = "再順位付けモデル（ASSISTANT_RERANKER_MODEL）を読み込めません。"


class Reranker(Protocol):
    name: str

    def rerank(
        self,
        question: str,
        hits: list[SectionHit],
        terms: dict[str, float],
        query_vector: list[float] | None,
        yes_no: bool = False,
        to_do: str = "",
        asked: str = "",
    ) -> list[SectionHit]:
        """The same hits, best first, each with its new ``score``; ``yes_no``: the question asks
        whether (a section whose sentence decides it answers); ``to_do``: the question as asked, when it
        asks what to do (「…やるべき？」); ``asked``: the question as asked (``question`` may carry an
        earlier turn's words)."""
        ...


class EvidenceReranker:
    """Fused score + ``weight`` × the best sentence's score, for the first ``depth`` hits."""

    name = "evidence"

    def __init__(
        self,
        answerer: ExtractiveAnswerer,
        weight: float = 0.002,
        depth: int = 10,
        listed: Callable[[list[float]], dict[tuple[str, str], float]] | None = None,
    ) -> None:
        self.answerer = answerer
        self.weight = weight
        self.depth = depth
        self.listed = listed  # the retriever's listed_similarity: how near each section's listed questions are

    def rerank(
        self,
        question: str,
        hits: list[SectionHit],
        terms: dict[str, float],
        query_vector: list[float] | None,
        yes_no: bool = False,
        to_do: str = "",
        asked: str = "",
    ) -> list[SectionHit]:
        if self.weight:
            hits = self.by_evidence(hits, terms, query_vector, yes_no, asked)
        if to_do:
            hits = self.what_to_do_first(to_do, hits, terms, query_vector, yes_no)
        return self.named_first(hits, terms, query_vector, yes_no)

    def named_first(
        self, hits: list[SectionHit], terms: dict[str, float], query_vector: list[float] | None, yes_no: bool
    ) -> list[SectionHit]:
        """Between near ties, the section whose heading the question names: the leader yields to one of the
        next two ranked nearly as high (``NAMED_SCORE_SHARE``) whose heading holds the question's words
        (IDF-weighted, the glossary's readings at half) by ``NAMED_HEADING_MARGIN`` more than the leader's, and
        whose best sentence answers better by ``EVIDENCE_NOISE`` or more: both the heading and the evidence
        agree. 「協同の相手がいつも同じ団体なのはまずい？」 reads いつも同じ as 固定化, the word of 第４章（５）相手方
        の固定化を避ける, while Ｑ２「協働していく上で、大切なことは何ですか？」 names only 協働."""
        if len(hits) < 2 or hits[0].score <= 0 or hits[0].key not in self.answerer.sentences:
            return hits
        answerer = self.answerer

        def named(hit: SectionHit) -> float:
            return sum(terms.get(t, 0.0) for t in answerer.title_terms(*hit.key))

        def evidence(hit: SectionHit) -> float:
            best = answerer.best_sentence(hit, terms, query_vector, yes_no)
            return best.score if best else 0.0

        top = hits[0]
        found = [
            h
            for h in hits[1:3]
            if h.score >= NAMED_SCORE_SHARE * top.score
            and h.key in answerer.sentences
            and named(h) >= named(top) + NAMED_HEADING_MARGIN
            and evidence(h) >= evidence(top) + EVIDENCE_NOISE
        ]
        if not found:
            return hits
        best = max(found, key=named)
        return [
            replace(best, score=top.score),
            *(replace(top, score=best.score) if h is top else h for h in hits if h is not best),
        ]

    def by_evidence(
        self,
        hits: list[SectionHit],
        terms: dict[str, float],
        query_vector: list[float] | None,
        yes_no: bool,
        question: str = "",
    ) -> list[SectionHit]:
        """The first ``depth`` hits rescored by their best sentence's evidence, then ``agreed_first``."""
        head, tail = hits[: self.depth], hits[self.depth :]
        rescored, evidence = [], {}
        for hit in head:
            best = self.answerer.best_sentence(hit, terms, query_vector, yes_no)
            evidence[hit.key] = best.score if best else 0.0
            rescored.append(replace(hit, score=hit.score + self.weight * evidence[hit.key]))
        ranked = sorted(rescored, key=lambda h: -h.score)
        if len(ranked) > 1:
            top = ranked[0]
            # an overview's sub-section among the next two that answers better leads in its place
            better = [
                h
                for h in ranked[1:3]
                if self.within(h, top)
                and evidence[h.key] > evidence[top.key]
                and not self.names_overview(question, top, h)
                and not self.listed_overview(top, h, evidence[h.key] - evidence[top.key], query_vector)
            ]
            if better:  # it takes the overview's place and score
                ranked.remove(better[0])
                ranked.insert(0, replace(better[0], score=top.score))
        if self.listed is not None and query_vector is not None and len(ranked) > 1:
            ranked = self.agreed_first(ranked, self.listed(query_vector))
        return ranked + tail

    def agreed_first(self, ranked: list[SectionHit], listed: dict[tuple[str, str], float]) -> list[SectionHit]:
        """The leader yields to one of the next three that the keyword rankings put above it and whose
        listed question is nearer the question than the leader's by ``LISTED_MARGIN`` (the nearest such): the question's words
        and the way it is asked agree against a leader that dense similarity put first. Both keyword
        rankings must agree against a body section; one is enough against a Ｑ＆Ａ answer, whose embedded
        text opens with a question and so is near any question asked in the same shape: it wins worries
        in plain words that way (「うちで対応できない部分は、始める前に先方へ伝えておくべき？」 is near Ｑ６'s
        「事前にどのような準備をするといいですか？」, while 第４章（１）役割の分担 states 「市にできること、
        できないこと。」). A sibling yields too (第２章 １（１） to 第２章 １ for 「協働のパートナーって何種類
        あるの？」). A leader the listed questions themselves voted for (the ``asked`` ranking) stays, and so
        does a sub-section against its own overview: the evidence decides between them (above)."""
        top = ranked[0]
        if "asked" in top.ranks or top.key not in listed:
            return ranked
        needed = 1 if asks(top.title) else 2

        def above(hit: SectionHit) -> int:
            return sum(hit.ranks.get(name, 10**6) < top.ranks.get(name, 10**6) for name in ("words", "chars"))

        nearer = listed[top.key] + LISTED_MARGIN
        agreed = [
            h
            for h in ranked[1:4]
            if above(h) >= needed and listed.get(h.key, -1.0) >= nearer and not self.within(top, h)
        ]
        if not agreed:
            return ranked
        best = max(agreed, key=lambda h: listed[h.key])
        return [replace(best, score=top.score), *(h for h in ranked if h is not best)]

    def what_to_do_first(
        self,
        question: str,
        hits: list[SectionHit],
        terms: dict[str, float],
        query_vector: list[float] | None,
        yes_no: bool,
    ) -> list[SectionHit]:
        """A question asking what to do is not answered by a section whose best sentence only says what
        a thing the question does not name is: 「イベント終わったら反省会みたいなことってやるべき？」 ranks
        （２）実行委員会・協議会 first for イベント, whose best sentence is 「実行委員会は…形態です。」. The next
        section among the top three, ranked nearly as high (``WHAT_TO_DO_SCORE_SHARE``), whose best
        sentence says something else (（４）結果の評価's 「…評価してください。」) leads in its place."""
        if len(hits) < 2 or hits[0].score <= 0:
            return hits
        answerer = self.answerer
        if not answerer.only_describes(question, hits[0], terms, query_vector, yes_no):
            return hits
        found = next(
            (
                h
                for h in hits[1:3]
                if h.score >= WHAT_TO_DO_SCORE_SHARE * hits[0].score
                and h.key in answerer.sentences
                and not answerer.only_describes(question, h, terms, query_vector, yes_no, unnamed=False)
            ),
            None,
        )
        if found is None:
            return hits
        # the two swap places and scores: the first, now second, is as far behind as the other was
        first = replace(hits[0], score=found.score)
        return [
            replace(found, score=hits[0].score),
            *(first if h is hits[0] else h for h in hits if h is not found),
        ]

    def listed_overview(
        self, overview: SectionHit, sub: SectionHit, lead: float, query_vector: list[float] | None
    ) -> bool:
        """Whether the overview's listed questions are nearer the question than its sub-section's by
        ``OVERVIEW_LISTED_MARGIN`` while the sub-section's evidence leads by less than ``EVIDENCE_NOISE``: the
        way staff ask about the overview decides what the evidence does not (「ボランティアの個人でも協働の相手に
        なれるの？」 asks 第２章 １ who the partners are; （１）'s 「ボランティアとしての個人は機動性に…」 shares
        its words). Not the previous answer's overview: a follow-up narrows it (「その中でNPOの特徴は？」), and is
        near its listed questions for the earlier question's words."""
        if self.listed is None or query_vector is None or lead >= EVIDENCE_NOISE or "previous" in overview.ranks:
            return False
        listed = self.listed(query_vector)
        return listed.get(overview.key, -1.0) >= listed.get(sub.key, -1.0) + OVERVIEW_LISTED_MARGIN

    def names_overview(self, question: str, overview: SectionHit, sub: SectionHit) -> bool:
        """Whether the question names the overview's heading (two of its words or more: 協働 and パートナー of
        「協働のパートナーは様々」 in 「きょうどうのパートナーってだれ？」) and no word of its sub-section's: it asks
        what the overview says (who the partners are), not what the sub-section's sentence shares a word with."""
        if not question:
            return False
        asked = set(self.answerer.tokenizer.content_lemmas(question))
        named = asked & self.answerer.title_terms(*overview.key)
        return len(named) >= 2 and not asked & self.answerer.title_terms(*sub.key)

    def within(self, hit: SectionHit, overview: SectionHit) -> bool:
        """Whether ``hit`` is a sub-section (at any depth) of ``overview``."""
        return hit.doc_id == overview.doc_id and self.answerer.documents[hit.doc_id].lies_under(
            hit.section_id, overview.section_id
        )


class CrossEncoderReranker:
    """A sentence-transformers cross-encoder reading (question, title + section) pairs."""

    name = "cross-encoder"

    def __init__(self, model: str, depth: int = 10, device: str = "cpu") -> None:
        try:
            from sentence_transformers import CrossEncoder
        except ImportError as exc:
            raise RerankerError(
                "sentence-transformers is not installed (pip install 'kyodo-assistant[sentence-transformers]')",
                ja="再順位付けモデルには sentence-transformers が必要です: pip install 'kyodo-assistant[sentence-transformers]'",
            ) from exc
        try:
            self.model = CrossEncoder(model, device=device)
        except Exception as exc:
            raise RerankerError(
                f"cannot load the cross-encoder {model!r}: {exc}",
                ja=f"再順位付けモデル「{model}」を読み込めません。名前かフォルダの場所を確認してください。",
            ) from None
        self.model_id = model
        self.depth = depth
        self._lock = threading.Lock()  # one forward pass at a time on the shared model

    def rerank(
        self,
        question: str,
        hits: list[SectionHit],
        terms: dict[str, float],
        query_vector: list[float] | None,
        yes_no: bool = False,
        to_do: str = "",
        asked: str = "",
    ) -> list[SectionHit]:
        head, tail = hits[: self.depth], hits[self.depth :]
        if not head:
            return hits
        with self._lock:
            scores = self.model.predict([(question, f"{h.title}\n{h.text}") for h in head], show_progress_bar=False)
        rescored = [replace(h, score=float(s)) for h, s in zip(head, scores, strict=True)]
        return sorted(rescored, key=lambda h: -h.score) + tail
