"""What a staff member receives: an ``Answer`` quoting the guideline, with its citations.

The default answerer is extractive: it picks the sentences of the retrieved
sections that best answer the question and quotes them in the guideline's own
words and order, grouped by section, each group marked with its citation.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from assistant.answering.question import (
    ANOTHER_PART,
    COST,
    INCLUDES,
    Question,
    analyze,
    asked_sentences,
    asked_whether,
    asks_if_included,
    asks_if_listed,
    noun_phrases,
)
from assistant.answering.scope import STANCE
from assistant.answering.sentences import SectionSentences
from assistant.ingestion.corpus import Document, Section
from assistant.ingestion.glossary import Glossary
from assistant.ingestion.japanese import SENTENCE_ENDS, Tokenizer, split_sentences
from assistant.ingestion.sections import source_label
from assistant.limits import MAX_QUESTION_CHARS, visible_text
from assistant.retrieval import SectionHit

ABSTENTION_TEXT = "ガイドラインには該当する記載が見つかりませんでした。"

# After such a sentence the bullet items that follow belong to it.
LIST_INTRO = re.compile(r"(次|以下)の")
# the words of money: a question asking of it (``COST`` and 負担), and the guideline's words for it
COST_ASKED = re.compile(rf"{COST}|負担|金")  # お金's lemma is 金
COST_WORDS = "経費 負担 財政 資金 お金"
# a list's lead-in saying the items are the cases where a rule applies: 「次の項目に当てはまる場合は、…」
CASE_LIST = re.compile(r"(次|以下)の[^。]*(当てはまる|該当する)場合")
BULLET = "・"


@dataclass(frozen=True)
class Citation:
    doc_id: str
    section_id: str
    title: str  # display title path: 第３章 協働の形態 ＞ （７）後援
    quote: str  # the exact quoted text: section.text[start:end]
    name: str = ""  # the document and the section, as an answer names them: 協働ガイドライン 第３章（７）後援
    start: int = 0
    end: int = 0
    label: str = (
        ""  # how it is shown (source_label): 第３章（７）後援, with the document's title when there are several
    )


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
                {"doc_id": c.doc_id, "section_id": c.section_id, "title": c.title, "name": c.name, "label": c.label}
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
        glossary: Glossary | None = None,
        analyzer: Callable[[str], Question] | None = None,
    ) -> None:
        self.documents = {d.doc_id: d for d in documents}
        self.glossary = glossary or Glossary()
        self.document_list = list(documents)
        self.tokenizer = tokenizer
        self.idf = idf
        self.sentences = sentences  # spans, vectors and lemmas of each section's sentences
        self.max_sentences = max_sentences
        self.dense_weight = dense_weight
        # how a question is analysed: the chain's, which keeps each analysis for the turns that follow
        self.analyze = analyzer or (lambda text: analyze(text, tokenizer))

    def section(self, doc_id: str, section_id: str) -> Section:
        return self.documents[doc_id].section(section_id)

    def citation_name(self, hit: SectionHit) -> str:
        """協働ガイドライン 第３章（７）後援: the document and the section, as an answer names them."""
        return self.documents[hit.doc_id].citation_name(hit.section_id)

    def label(self, doc_id: str, section_id: str) -> str:
        """第３章（７）後援: the source as shown, the document named when there are several."""
        return source_label(self.document_list, doc_id, section_id)

    @functools.cache  # noqa: B019 - one answerer per chain, a few dozen sections
    def title_terms(self, doc_id: str, section_id: str) -> frozenset[str]:
        """The content lemmas of a section's heading (後援 for （７）後援): what the section is about,
        read by the answerer and the chain alike."""
        return frozenset(self.tokenizer.content_lemmas(self.section(doc_id, section_id).title))

    def score_sentences(
        self,
        doc_id: str,
        section_id: str,
        terms: dict[str, float],
        query_vector: list[float] | None,
        yes_no: bool = False,
    ) -> list[ScoredSentence]:
        """Each sentence's score for the question; for a yes/no question, a sentence that decides
        (「…はありません。」「…ではない…」) counts ``DECIDING_BONUS`` more: it is the answer."""
        sentences = self.sentences[(doc_id, section_id)]
        # the section's own subject (後援 in 3-7) tells none of its sentences apart: what else is asked does
        topic = self.title_terms(doc_id, section_id)
        terms = {t: w * TITLE_TERM_SHARE if t in topic else w for t, w in terms.items()}
        total = sum(terms.values()) or 1.0
        lexical = [sum(w for t, w in terms.items() if t in lemmas) / total for lemmas in sentences.terms]
        if query_vector is None:
            dense = np.zeros(len(sentences.spans))
        else:
            dense = sentences.vectors @ np.asarray(query_vector, dtype=np.float32)
        text = self.section(doc_id, section_id).text
        return [
            ScoredSentence(
                section_id,
                s,
                e,
                lex + self.dense_weight * float(cos) + (DECIDING_BONUS if yes_no and decides(text[s:e]) else 0),
            )
            for (s, e), lex, cos in zip(sentences.spans, lexical, dense, strict=True)
        ]

    def best_sentence(
        self, hit: SectionHit, terms: dict[str, float], query_vector: list[float] | None, yes_no: bool = False
    ) -> ScoredSentence | None:
        """The section's sentence that answers best: the evidence the rerank step weighs."""
        if hit.key not in self.sentences:
            return None
        return max(self.score_sentences(*hit.key, terms, query_vector, yes_no), key=lambda s: s.score)

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
        missing_parts: list[str] | None = None,
        listed: tuple[str, str] | None = None,
        contrast: bool = True,
        settled: bool = True,
        items: tuple[int, int] | None = None,
        groups: list[int] | None = None,
        case: bool = False,
        said: frozenset[str] = frozenset(),
        led: frozenset[str] = frozenset(),
        shown: frozenset[str] = frozenset(),
    ) -> tuple[str, list[Citation]]:
        """The answer text and its citations; ``blocks`` are the sections to quote, one block each
        (for a comparison, one per side); ``missing`` names a detail none of them states and
        ``missing_parts`` the parts of a two-part question the guideline does not cover; ``listed`` a
        section whose sub-sections a count asked for counts (they are named, in order), ``items`` the
        bulleted list of the first block it counts (its lead-in's index, how many items), ``groups`` the
        headings of the headed groups of a list it counts instead (their indexes), ``case`` whether the
        question only describes a case, as 「…だったら？」 does; ``contrast``
        whether the sides were found by the headings that name them (else no line of differences).
        Unless ``settled``, the first section is not announced as the one asked for (「該当するのは…」).
        Sentences in ``said`` (what the conversation already showed) come after any that are not, and
        those in ``led`` (what the last answer led with) after those only shown below it. A supporting
        quote made only of sentences in ``shown`` (what the last answer quoted) is left out of a section
        the answer cites otherwise, under a lead saying something new."""
        blocks = [b for b in blocks if b.key in self.sentences]
        if not blocks:
            return "", []
        # 「断る場合は？」: the earlier turn chose the section; what the follow-up asks chooses the sentence
        # and so does a case only described (「会員だけ参加できるイベントは？」, ``case``)
        situation = bool(context_question and (case or SITUATION.search(question.text)))
        terms = self.query_terms(question.text, "" if situation else context_question, related)
        yes_no = question.kind == "yes-no"
        scored = {
            b.key: self.quotable(b.key, self.score_sentences(*b.key, terms, query_vector, yes_no), terms)
            for b in blocks
        }
        if said or led:
            for key, sentences in scored.items():
                text = self.section(*key).text
                scored[key] = [
                    replace(s, score=s.score - SAID_PENALTY * times_shown(text[s.start : s.end].strip(), said, led))
                    for s in sentences
                ]
        if question.compares and len(blocks) >= 2:
            # a side's sentence that speaks of what another side is (後援's 「財政的な支援等はありません。」
            # beside 補助's 「…財政支援する形態です。」) is the one that states the difference
            for key, sentences in scored.items():
                others = {t for b in blocks if b.key != key for t in self.defining_terms(b.key)}
                others -= self.title_terms(*key)
                terms_of = dict(zip(self.sentences[key].spans, self.sentences[key].terms, strict=True))
                scored[key] = [
                    replace(s, score=s.score + CONTRAST_BONUS)
                    if len(others & terms_of[(s.start, s.end)]) >= CONTRAST_SHARED
                    else s
                    for s in sentences
                ]
        if yes_no and not question.compares:
            # 「後援もらったら市から補助金でる？」 names another form (補助, the glossary's reading of 補助金): the
            # quoted section's deciding sentence that speaks of what that form is (「財政的な支援等はありません。」
            # shares 財政 and 支援 with 補助's 「…財政支援する形態です。」) answers it, though it shares no word
            key = blocks[0].key
            scored[key] = self.speaking_of_named(key, scored[key], question.text, related or [])
            scored[key] = self.yes_no_lead(key, scored[key], question.text, terms)
        lead_lines = [f"{part}{MISSING_PART}" for part in missing_parts or []]
        citations: list[Citation] = []
        if missing and not asks_if_listed(question.text):
            # a detail the guideline lacks (an amount, a form, a term) is not answered by a list of the cases
            # a thing is refused in (3-7's 「次の項目に当てはまる場合は、…適切でありません。」): quoted, it reads
            # as if it were
            scored = {key: self.without_case_lists(key, found, terms) for key, found in scored.items()}
        first = self.section(*blocks[0].key)
        # (not what is asked of a thing the question names: 「…入札がいるの？」's deciding sentence leads)
        stated = [d for d in question.details if d.asked and not d.unwritten and d.supplied_by(first.text, first.title)]
        if stated and not question.compares:
            # the sentence that states the detail asked for (a date, an amount, the form) leads, not the
            # section's first sentence or its definition
            text = first.text
            scored[blocks[0].key] = [
                replace(s, score=s.score + DETAIL_BONUS)
                if any(d.supplied_by(text[s.start : s.end], first.title) for d in stated)
                else s
                for s in scored[blocks[0].key]
            ]
        aspect = [said for asks, said in ASPECTS if asks.search(question.text)]
        if aspect and not question.compares:
            # 「補助金を出すときに気をつけることは？」「後援するとどんなメリットがある？」: the sentence saying a
            # point to heed or a merit leads, not the section's definition that the question's other words favour
            text = first.text
            scored[blocks[0].key] = [
                replace(s, score=s.score + DETAIL_BONUS) if any(p.search(text[s.start : s.end]) for p in aspect) else s
                for s in scored[blocks[0].key]
            ]
        pair = self.pair_heading(question, blocks[0].key)
        # a definition asked of a section's own subject (「協定とは？」「きょうさいってなんだっけ」) is answered
        # by the sentence saying what it is, not by its examples; not a question asking what a text contains
        asks_meaning = not ASKS_CONTENTS.search(question.text)
        described = question.described or (question.defined if context_question or pair or asks_meaning else "")
        defined = set(self.tokenizer.content_lemmas(described)) if described else set()
        if (pair and not question.defined) or (
            defined and defined <= self.title_terms(*blocks[0].key) and not question.compares
        ):
            # 「後援ってどういう意味？」「協定ってそもそもどういうやり方？」, and 「協定とは？」 after 「協定って
            # どんな例がある？」: the sentence saying what the section's subject is leads, not the one its other
            # words favour (意味 or やり方 in a sentence on judging, the earlier question's examples)
            span = self.defining_sentence(blocks[0].key)
            scored[blocks[0].key] = [
                replace(s, score=s.score + DETAIL_BONUS) if (s.start, s.end) == span else s
                for s in scored[blocks[0].key]
            ]
        if self.restates_question(question, blocks[0].key):
            # 「協働で何かやりたいとき、事前に何を準備しておけばいい？」 asks what Ｑ６ asks: its answer's
            # opening sentence (「市民との情報共有が、協働の第一歩です。」) leads, not one from its middle
            span = self.sentences[blocks[0].key].spans[0]
            scored[blocks[0].key] = [
                replace(s, score=s.score + DETAIL_BONUS) if (s.start, s.end) == span else s
                for s in scored[blocks[0].key]
            ]
        if not question.compares and ASKS_WHO.search(question.text):
            # 「パソコン教室で操作を手伝ってくれるのは誰？」: the sentence naming a party the question does not,
            # about what it asks of its topic (操作, not パソコン教室: 「操作支援に当たっては、ボランティア団体
            # との…協力を得ています。」), leads; not the one repeating the question's words
            text = first.text
            rest = self.asked_of_topic(question.text)
            terms_of = dict(zip(self.sentences[blocks[0].key].spans, self.sentences[blocks[0].key].terms, strict=True))
            heading = self.title_terms(*blocks[0].key)
            scored[blocks[0].key] = [
                replace(s, score=s.score + WHO_BONUS)
                if any(
                    # a party the heading names (協議会 of 実行委員会・協議会) is what is asked about, not who
                    m.group(0) not in question.text and not set(self.tokenizer.content_lemmas(m.group(0))) <= heading
                    for m in PARTY.finditer(text[s.start : s.end])
                )
                and (not rest or rest & terms_of[(s.start, s.end)])
                else s
                for s in scored[blocks[0].key]
            ]
        taken_by: dict[tuple[str, str], set[tuple[int, int]]] = {b.key: set() for b in blocks}
        attribute: set[str] = set()
        apart: set[str] = set()  # what another part asks of the sides (「…の違い、それと経費は誰が出す？」)
        if question.compares and len(blocks) >= 2:
            attribute = self.attribute_terms(question, blocks, self.comparing_part(question.text))
            apart = self.attribute_terms(question, blocks, question.text) - attribute
        sides = [(hit, self.defining_sentence(hit.key)) for hit in blocks]
        if attribute:
            # 「共催と後援で経費負担の違いは？」: what each side says of the attribute asked, not what it is
            sides = [(hit, self.attribute_sentence(hit.key, scored[hit.key], attribute)) for hit in blocks]
        each = question.kind == "multi-part" and bool(attribute) and bool(EACH.search(question.text))
        contrasted = False
        if (
            (question.kind == "comparison" or each)
            and contrast
            and len(blocks) >= 2
            and not missing_parts
            # a detail asked of the sides (「保険料はどっちが払う？」) is not their difference, unless asked in a
            # part of its own (「…の違いは？あと経費は誰持ち？」)
            and (not missing or ANOTHER_PART.search(question.text))
            and all(s for _, s in sides)
        ):
            # the difference in the text's own words: what each side's section says it is
            contrasted = True
            taken_by = {hit.key: {span} for hit, span in sides if span}
            citations += [self.citation(hit, *span) for hit, span in sides if span]
            lead_lines.append(
                (EACH_SIDE if each else CONTRAST)
                + "／".join(
                    f"{self.section(*hit.key).title}「{self.section(*hit.key).text[slice(*span)]}」{self.marker(hit)}"
                    for hit, span in sides
                    if span
                )
            )
            for hit, _ in sides if apart else []:
                # the other part answered in the lead too, by each side's sentence that states it
                span = self.attribute_sentence(hit.key, scored[hit.key], apart, alone=False)
                if span is not None:
                    taken_by[hit.key].add(span)
                    citations.append(self.citation(hit, *span))
                    section = self.section(*hit.key)
                    lead_lines.append(f"{section.title}「{section.text[slice(*span)]}」{self.marker(hit)}")
        if listed is not None and not listed[1]:  # a whole document: its chapters
            document = self.documents[listed[0]]
            chapters = document.children(None)
            lead_lines.append(
                f"「{document.title}」は次の{str(len(chapters)).translate(WIDE_DIGITS)}章からなります："
                + "、".join(c.heading for c in chapters)
                + "。"
            )
        elif listed is not None:
            children = self.documents[listed[0]].children(listed[1])
            lead_lines.append(
                f"「{self.section(*listed).heading}」には次の{str(len(children)).translate(WIDE_DIGITS)}項目があります："
                + "、".join(c.heading for c in children)
                + "。"
            )
        if items is not None:
            lead_lines.append(f"挙げられているのは次の{str(items[1]).translate(WIDE_DIGITS)}項目です。")
        if groups:
            # named by what the headings end in alike (「…分野」 → 分野), when they do
            spans = self.sentences[blocks[0].key].spans
            ends = {self.tokenizer.tokenize(first.text[slice(*spans[i])].strip())[-1].surface for i in groups}
            unit = f"の{ends.pop()}" if len(ends) == 1 else ""
            lead_lines.append(f"挙げられているのは次の{str(len(groups)).translate(WIDE_DIGITS)}つ{unit}です。")
        if missing:
            lead_lines.append(f"ガイドラインには{missing}についての記載はありません。{NEARBY}")
        elif question.asks_department and len({s.department for s in self.cases(blocks)}) >= 2:
            # the cases of a form asked about (「協定の担当課は？」), each with its own department
            lead_lines.append(
                f"{BY_CASE}：" + "、".join(f"{s.department}（「{s.heading}」）" for s in self.cases(blocks)) + "。"
            )
        elif question.asks_department and first.department:
            lead_lines.append(f"担当は{first.department}です（「{first.heading}」）。")
        elif question.kind == "which" and settled:
            lead_lines.append(f"該当するのは「{first.heading}」{_department(first)}です。")
        # the department is named once: by the line saying 「担当は…です」 or 「該当するのは…」, not again by
        # the lead's source and its block's heading
        department_said = (
            bool(first.department)
            and not missing
            and (question.asks_department or (settled and question.kind == "which"))
        )
        # what each block quotes: for one section, the sentence or two that answer lead and a few more
        # support them; a comparison quotes each side alike. A comparison or two-part question whose sides
        # are not two sections each named by its heading (one heading names both, 「実行委員会と協議会は…」;
        # two questions one section answers, 「振り返りって必要？記録は残すべき？」) still leads with the
        # sentence that answers it, not with nothing before the first block; two named sections without a
        # line of differences (「パトロール隊とゼロごみの日、どっちも清掃事業課？」) are quoted alike
        single = not question.compares or not (contrasted or (contrast and len(blocks) >= 2))
        lead: list[tuple[int, int]] = []
        picked = False  # the lead is the list item the question names
        if single:
            best = sorted(scored[blocks[0].key], key=lambda s: -s.score)
            if ASKS_CONTENTS.search(question.text):
                # 「ガイドラインには何が書いてある？」 is answered by what it gives, not by what it does not
                # (「…を示すことはできません。」)
                best = [s for s in best if not NEGATED.search(first.text[s.start : s.end])] or best
            chosen = [best[0]] + [s for s in best[1:2] if s.score >= best[0].score - LEAD_SECOND_MARGIN]
            defining = self.asked_to_define(question, blocks[0].key)
            if defining is not None and defining not in {(s.start, s.end) for s in chosen}:
                # 「共催ってどういう形？あと経費はどっちが持つの？」: the first question is answered too, by
                # what the section's subject is, beside the sentence stating what the second asks
                chosen = [*chosen[:1], next(s for s in best if (s.start, s.end) == defining)]
            lead = self.with_context(first, sorted((s.start, s.end) for s in chosen))
            if items is not None:  # the list counted leads, with its lead-in
                spans = self.sentences[blocks[0].key].spans
                lead = self.with_context(first, [spans[items[0]], *self.list_items(blocks[0].key, items[0])])
            elif groups:  # the groups counted lead, each heading with its items
                spans = self.sentences[blocks[0].key].spans
                lead = self.with_context(first, [spans[i] for i in groups])
            # 「そのうち…のはどれ？」, or a plain yes/no (「…でもいいの？」, not 「…ときはどうする？」)
            elif PICKS.search(question.text) or (yes_no and not OPEN_QUESTION.search(question.text)):
                asked = self.asked_nouns(asked_whether(question.text), blocks[0].key)
                named, dropped = self.named_items(blocks[0].key, asked, [(s.start, s.end) for s in chosen])
                readings = set(self.tokenizer.content_lemmas(" ".join(related or [])))
                readings -= self.title_terms(*blocks[0].key)
                if readings and (not named or len(_items(first.text, named)) > 1):
                    # 「儲け目的のイベントは後援の対象？」「お年寄りの支援も…」: the item the glossary reads its
                    # staff word as (営利, 高齢者), when its own words name none or several (every 「…支援」)
                    read = self.named_items(blocks[0].key, asked | readings, [(s.start, s.end) for s in chosen])
                    if read[0] and (not named or len(_items(first.text, read[0])) < len(_items(first.text, named))):
                        named, dropped = read
                picked = bool(named)
                excluding = self.excluding_sentence(blocks[0].key, asked | readings, named)
                if excluding is not None:
                    # 「宗教法人がやるお祭りに協働で関われる？」: the item (「・ お祭り」) would say yes, but the
                    # sentence excluding what the question says of the case (「ただし、宗教活動・…」) decides
                    lead = self.with_context(first, [excluding])
                elif named:
                    # the item the question names decides it (「宗教系のイベントに後援名義ってNG？」: 「・ 宗教的又は
                    # 政治的色彩を有している。」; 「国際交流は協働の分野に含む？」: 「・ 国際交流」): it leads under its
                    # list's lead-in, not after a sentence that only scored well
                    lead = [sp for sp in self.with_context(first, named) if sp not in dropped]
                    taken_by[blocks[0].key] |= dropped
                elif (
                    yes_no
                    and not OPEN_QUESTION.search(question.text)
                    and asks_if_listed(question.text)
                    and self.names_unlisted(blocks[0].key, lead, asked)
                ):
                    lead_lines.append(NOT_LISTED)
            elif situation and not OPEN_QUESTION.search(question.text):  # not 「どういう場合？」: which ones
                # 「断る場合は？」 after the points to heed: the item about that situation leads, not the list
                dropped = self.situation_items(blocks[0].key, lead, scored[blocks[0].key], question.text)
                if dropped:  # the item with its lead-in, not a sentence the situation's word happens to match
                    kept = [sp for sp in lead if sp not in dropped and _in_item(first.text, sp)]
                    lead = [sp for sp in self.with_context(first, kept) if sp not in dropped]
                    taken_by[blocks[0].key] |= dropped
        supports: list[list[tuple[int, int]]] = []
        for hit in blocks:
            room = self.max_sentences
            if hit is blocks[0] and single:  # the lead's context counts against its section's room
                room = max(1, min(self.max_sentences - 1, self.max_sentences + 1 - len(lead)))
            section = self.section(*hit.key)
            taken = (set(lead) if hit is blocks[0] else set()) | taken_by[hit.key]
            order = sorted((s for s in scored[hit.key] if (s.start, s.end) not in taken), key=lambda s: -s.score)
            chosen = order[:room]
            if hit is blocks[0] and picked:
                # under the list item that decides, a sentence earns its place by a word of what is asked
                # (「財政的な支援等はありません。」 adds nothing to 「それって宗教団体でもOK？」) or by continuing the lead
                chosen = [s for s in chosen if self.adds_to(hit.key, s, terms, lead)]
            spans = [
                sp for sp in self.with_context(section, sorted((s.start, s.end) for s in chosen)) if sp not in taken
            ]
            supports.append(spans)
        if lead:
            # a supporting sentence that continues the lead (「そして、何より大切なのは…」) joins it
            leans = self.sentences[blocks[0].key]
            position = {span: i for i, span in enumerate(leans.spans)}
            joined = {position[sp] for sp in lead}
            for span in supports[0]:
                if leans.leans[position[span]] and position[span] - 1 in joined:
                    joined.add(position[span])
                elif position[span] - 1 in joined and self.in_list(
                    first, *leans.spans[position[span] - 1 : position[span] + 1]
                ):
                    joined.add(position[span])  # the items of a list whose lead-in joined
            lead = [leans.spans[i] for i in sorted(joined)]
            supports[0] = [sp for sp in supports[0] if sp not in lead]
        if lead:
            runs = _contiguous_runs(first.text, lead)
            citations += [self.citation(blocks[0], start, end) for start, end in runs]
            lead_lines.append(
                "\n".join(first.text[a:b] for a, b in runs)
                + self.marker(blocks[0])
                + ("" if department_said else _department(first))
            )
        # a lead that only repeats the last answer's (「市はどのくらい関わるの？」 after 事業協力) leaves the
        # answer to a supporting sentence (「…市が補完的に協力します。」), shown before or not
        new_lead = bool(shown) and any(first.text[a:b].strip() not in shown for a, b in lead)
        parts: list[str] = []
        for hit, spans in zip(blocks, supports, strict=True):
            section = self.section(*hit.key)
            runs = _contiguous_runs(section.text, spans)
            if new_lead and any((c.doc_id, c.section_id) == hit.key for c in citations):
                # 「じゃあ後援ってお金も出る？」 after an answer that quoted 後援's list: the new sentence
                # leads, and the list is not quoted again under it
                runs = [
                    (a, b)
                    for a, b in runs
                    if any(section.text[s:e].strip() not in shown for s, e in spans if a <= s and e <= b)
                ]
            if not runs:
                continue
            citations += [self.citation(hit, start, end) for start, end in runs]
            parts.append(
                f"■ {self.label(*hit.key)}{'' if department_said and hit is blocks[0] else _department(section)}\n"
                + "\n".join(section.text[a:b] for a, b in runs)
            )
        return "\n".join(lead_lines) + ("\n\n" if lead_lines and parts else "") + "\n\n".join(parts), citations

    def adds_to(
        self, key: tuple[str, str], sentence: ScoredSentence, terms: dict[str, float], lead: list[tuple[int, int]]
    ) -> bool:
        """Whether a supporting sentence adds to the answer: it uses a word of the question (its own, the
        conversation's or the glossary's), or it continues the lead (leans on it, or is an item of its list)."""
        sentences = self.sentences[key]
        i = sentences.spans.index((sentence.start, sentence.end))
        if set(terms) & set(sentences.terms[i]):
            return True
        if i == 0 or sentences.spans[i - 1] not in lead:
            return False
        return sentences.leans[i] or self.in_list(self.section(*key), sentences.spans[i - 1], sentences.spans[i])

    @staticmethod
    def in_list(section: Section, before: tuple[int, int], span: tuple[int, int]) -> bool:
        """Whether ``span`` is an item of the list that ``before`` opens (「次の…」) or is an item of."""
        text = section.text
        return _in_item(text, span) and (_in_item(text, before) or bool(LIST_INTRO.search(text[slice(*before)])))

    def named_items(
        self, key: tuple[str, str], asked: set[str], chosen: list[tuple[int, int]]
    ) -> tuple[list[tuple[int, int]], set[tuple[int, int]]]:
        """For a question that picks one thing (「そのうち宗教に関係するのはどれ？」「…でもいいの？」): the
        sentences of the section's list items that use most of the words ``asked`` (宗教 in 「・ 宗教的又は政治的
        色彩を有している。」), and those of the other items; none when no item or every item does (the whole list
        answers), or when a ``chosen`` sentence outside the list uses more of them (「市の基本計画づくりも協働の
        対象になる？」: 「この他にも、市の基本的な計画や…」, not 「・ 花壇作りなどの美化活動」 for its 作り)."""
        sentences = self.sentences[key]
        text = self.section(*key).text
        lemmas = dict(zip(sentences.spans, sentences.terms, strict=True))
        items = _items(text, sentences.spans)
        shared = [len(asked & {t for sp in item for t in lemmas[sp]}) for item in items]
        # the items sharing most (「子育て支援って協働の対象？」: 「・ 子育て支援」, not every 「…支援」)
        named = [item for item, n in zip(items, shared, strict=True) if n and n == max(shared)]
        outside = [
            len(asked & lemmas[sp])
            for sp in chosen
            if not _in_item(text, sp) and not LIST_INTRO.search(text[slice(*sp)]) and not _is_heading(text[slice(*sp)])
        ]
        if not named or len(named) == len(items) or max(outside, default=0) > max(shared):
            return [], set()
        return [sp for item in named for sp in item], {sp for item in items if item not in named for sp in item}

    def excluding_sentence(
        self, key: tuple[str, str], asked: set[str], named: list[tuple[int, int]]
    ) -> tuple[int, int] | None:
        """For a yes/no question whose case a list item names (「・ お祭り」): a sentence outside the section's
        lists that decides against (``decides``, ending in a negation) a word ``asked`` that no named item
        uses (宗教 of 「宗教法人がやるお祭り…」: 「ただし、宗教活動・政治活動を目的とする事業…は、…適しません。」),
        if any. A list's lead-in (「次の項目に当てはまる場合は、…」) is not one: its items say what it excludes."""
        sentences = self.sentences[key]
        text = self.section(*key).text
        lemmas = dict(zip(sentences.spans, sentences.terms, strict=True))
        beside = asked - {t for sp in named for t in lemmas[sp]}
        for span in sentences.spans if named and beside else []:
            sentence = text[slice(*span)]
            if (
                not _in_item(text, span)
                and decides(sentence)
                and NEGATED.search(sentence)
                and beside & set(lemmas[span])
            ):
                return span
        return None

    def without_case_lists(
        self, key: tuple[str, str], found: list[ScoredSentence], terms: dict[str, float]
    ) -> list[ScoredSentence]:
        """The scored sentences but a list of cases (「次の項目に当てはまる場合は、…」) and its items, unless an
        item names a distinctive word of the question's or the glossary's (「参加費で儲けるための講演会なら？」:
        儲け, read as 営利, is a case of the list); all of them when nothing else is left."""
        section = self.section(*key)
        sentences = self.sentences[key]
        spans = sentences.spans
        texts = [section.text[a:b] for a, b in spans]
        asked = {t for t in terms if self.idf.get(t, math.inf) >= DISTINCTIVE_IDF}
        dropped: set[tuple[int, int]] = set()
        for i, sentence in enumerate(texts):
            if CASE_LIST.search(sentence):
                j = i + 1
                while j < len(spans) and _in_item(section.text, spans[j]):
                    j += 1
                if j > i + 1 and not asked & set().union(*sentences.terms[i + 1 : j]):
                    dropped |= set(spans[i:j])
        kept = [s for s in found if (s.start, s.end) not in dropped]
        return kept or found

    def names_unlisted(self, key: tuple[str, str], lead: list[tuple[int, int]], asked: set[str]) -> bool:
        """Whether a question asking if a thing is listed, led by a whole list (no item named), names a thing the
        section never does (「飲み会は後援の対象？」): the list neither includes nor excludes it by name."""
        sentences = self.sentences[key]
        used = set().union(*sentences.terms)
        return len(_items(self.section(*key).text, lead)) >= 2 and bool(asked - used)

    def cases(self, blocks: list[SectionHit]) -> list[Section]:
        """The sections quoted that are cases of the city's own (each with its department)."""
        return [s for b in blocks if (s := self.section(*b.key)).department]

    def asked_nouns(self, question: str, key: tuple[str, str]) -> set[str]:
        """The distinctive nouns of the question that the section's heading does not already name (a noun
        the guideline never uses, 飲み会, most of all; not how the asker feels, 駄目)."""
        return {
            t.lemma
            for t in self.tokenizer.tokenize(question)
            if t.is_content
            and t.pos == "名詞"
            and self.idf.get(t.lemma, math.inf) >= DISTINCTIVE_IDF
            and t.lemma not in STANCE
        } - self.title_terms(*key)

    def situation_items(
        self, key: tuple[str, str], lead: list[tuple[int, int]], scored: list[ScoredSentence], question: str
    ) -> set[tuple[int, int]]:
        """For a follow-up asking about one situation (「断る場合は？」) whose lead is a whole list: the
        items but the one about it. That one says what cannot be done when the question asks of a
        refusal or an impossibility (「・ 内容によっては、提案に沿うことができないこともあります。その場合
        には、…」, not 「「どうやったら実現できるか。」…」 for 「実現できないときは？」); among those, one
        naming a word of the question, else the best scored. None when no item fits."""
        text = self.section(*key).text
        score = {(s.start, s.end): s.score for s in scored}
        items = _items(text, lead)
        if NEGATIVE_ASK.search(question):
            items_fit = [i for i in items if any(NEGATIVE_TEXT.search(text[slice(*sp)]) for sp in i)]
        else:
            items_fit = items
        if len(items) < 2 or not items_fit:
            return set()
        lemmas = dict(zip(self.sentences[key].spans, self.sentences[key].terms, strict=True))
        asked = self.asked_nouns(question, key)
        named = [i for i in items_fit if any(asked & set(lemmas.get(sp, ())) for sp in i)]
        best = max(named or items_fit, key=lambda i: max(score.get(sp, float("-inf")) for sp in i))
        return {sp for item in items if item is not best for sp in item}

    def list_items(self, key: tuple[str, str], intro: int) -> list[tuple[int, int]]:
        """The sentences of the bulleted list that follows sentence ``intro`` of a section."""
        text = self.section(*key).text
        spans = self.sentences[key].spans
        found = []
        for start, end in spans[intro + 1 :]:
            if not text[text.rfind("\n", 0, start) + 1 :].startswith(BULLET):
                break
            found.append((start, end))
        return found

    def counted_list(self, key: tuple[str, str], terms: dict[str, float]) -> tuple[int, int] | None:
        """The bulleted list of a section a count question counts: of the lists (a lead-in sentence and
        the items after it), the one whose words share most of the question's weight; its lead-in's
        index and how many items it has. None when no list shares a word with the question, or when
        another list shares as much: Ｑ８'s four groups of fields, each headed 「…分野」, are no list of
        three for 「分野って何種類？」."""
        if key not in self.sentences:
            return None
        text = self.section(*key).text
        sentences = self.sentences[key]
        best, best_score, tied = None, 0.0, False
        for i in range(len(sentences.spans) - 1):
            if text[slice(*sentences.spans[i])].startswith(BULLET):
                continue
            listed = self.list_items(key, i)
            count = sum(text[s:e].startswith(BULLET) for s, e in listed)
            if count < 2:
                continue
            words = set().union(*sentences.terms[i : i + 1 + len(listed)])
            score = sum(w for t, w in terms.items() if t in words)
            if score > best_score:
                best, best_score, tied = (i, count), score, False
            elif score == best_score and best is not None:
                tied = True
        return None if tied else best

    def asked_of_topic(self, question: str) -> set[str]:
        """The question's words beside its topic (the noun before は, って or で, which names what it is
        about: パソコン教室 in 「パソコン教室で操作を手伝ってくれるのは誰？」 leaves 操作, 手伝う)."""
        tokens = self.tokenizer.tokenize(question)
        topic: set[str] = set()
        for start, end in noun_phrases(question, self.tokenizer):
            if re.match(r"(は|って|で)(?![きす])", question[end:]):
                topic |= {t.lemma for t in tokens if start <= t.start and t.end <= end}
        return set(self.tokenizer.content_lemmas(question)) - topic

    def attribute_terms(self, question: Question, blocks: list[SectionHit], text: str) -> set[str]:
        """What a comparison or 「それぞれ」 question asks of its sides beyond what they are (経費・負担 in
        「共催と後援で経費負担の違いは？」): its distinctive words that are no side's, no heading's and no
        word of comparing, when a sentence of some side uses one; else none. Read from ``text``, the question
        or the part of it that asks the difference."""
        asked = {t.lemma for t in self.tokenizer.tokenize(text) if t.is_content and t.pos == "名詞"}
        asked -= set(self.tokenizer.content_lemmas(" ".join(question.sides)))
        asked -= COMPARING
        for hit in blocks:
            asked -= self.title_terms(*hit.key)
            # a department asked of both (「どっちも清掃事業課？」) is who is in charge, not what they say
            asked -= set(self.tokenizer.content_lemmas(self.section(*hit.key).department or ""))
        if any(COST_ASKED.fullmatch(t) for t in asked):
            # staff ask of money in words the guideline may not use (お金, 費用): each side's sentence on money
            # answers, in whatever words it says it (共催's 経費負担, 後援's 「財政的な支援等はありません。」);
            # not a side named by one (補助金 of 「補助金って何？あと後援との違いは？」)
            asked |= set(self.tokenizer.content_lemmas(COST_WORDS))
        asked = {t for t in asked if self.idf.get(t, 0.0) >= DISTINCTIVE_IDF}
        used = any(asked & terms for hit in blocks for terms in self.sentences[hit.key].terms)
        return asked if used else set()

    def comparing_part(self, text: str) -> str:
        """The part of a question of several parts that asks the difference (「事業協力と共催の違い、それと経費は
        誰が出す？」: 「事業協力と共催の違い」); what another part asks (経費) is no attribute of the 違い line,
        which then quotes like with like: what each side is. The whole question when no one part asks it."""
        cuts = [0, *(m.start() + 1 for m in ANOTHER_PART.finditer(text)), len(text)]
        parts = [text[a:b] for a, b in itertools.pairwise(cuts) if text[a:b].strip()]
        comparing = [p for p in parts if COMPARING & set(self.tokenizer.content_lemmas(p))]
        return "".join(comparing) if 0 < len(comparing) < len(parts) else text

    def attribute_sentence(
        self, key: tuple[str, str], scored: list[ScoredSentence], attribute: set[str], alone: bool = True
    ) -> tuple[int, int] | None:
        """A side's sentence on the attribute asked: the best that uses one of its words (readable alone: not
        one leaning on the sentence before), else (with ``alone``) what the side is (its defining sentence)."""
        sentences = self.sentences[key]
        terms_of = dict(zip(sentences.spans, sentences.terms, strict=True))
        leaning = {span for span, leans in zip(sentences.spans, sentences.leans, strict=True) if leans}
        candidates = [s for s in scored if (s.start, s.end) not in leaning]
        using = [s for s in candidates if attribute & terms_of[(s.start, s.end)]]
        if not using:
            return self.defining_sentence(key) if alone else None
        best = max(using, key=lambda s: s.score)
        return best.start, best.end

    def counted_groups(self, key: tuple[str, str], terms: dict[str, float]) -> list[int]:
        """The headed groups of a list a count question counts (Ｑ８'s four 「…分野」 groups of bullets):
        the indexes of the group headings, when there are two or more and every one of them uses a word
        of the question (分野 for 「分野って何種類？」); else none."""
        if key not in self.sentences:
            return []
        text = self.section(*key).text
        sentences = self.sentences[key]
        headings = _group_headings(text, sentences.spans)
        if len(headings) < 2 or not all(set(terms) & set(sentences.terms[i]) for i in headings):
            return []
        return headings

    def pair_heading(self, question: Question, key: tuple[str, str]) -> bool:
        """Whether the question names a heading that joins things with ・, or one of them (実行委員会 of
        （２）実行委員会・協議会), and asks what it is or who takes part in it: the sentence naming one beside
        the other (「実行委員会は…また、協議会は…」) says how they differ, while what the thing is and who
        provides for it is what the section says both are (「市民と市とが資金や人的資源を出し合って…」)."""
        title = self.section(*key).title
        if "・" not in title or ASKS_CONTENTS.search(question.text):
            return False
        if question.defined:
            return set(self.tokenizer.content_lemmas(question.defined)) <= self.title_terms(*key)
        return bool(PROVIDED_BY.search(question.text)) and bool(
            self.title_terms(*key) & set(self.tokenizer.content_lemmas(question.text))
        )

    def restates_question(self, question: Question, key: tuple[str, str]) -> bool:
        """Whether an open question asks what a Ｑ＆Ａ section's question asks: it shares two of the
        question's nouns that the chapter's title does not give every Ｑ (事前 and 準備 of Ｑ６, not 協働),
        and names nothing the question does not (「…市民の側には…メリットがある？」 asks one of Ｑ３'s)."""
        section = self.section(*key)
        if not section.label.startswith(("Ｑ", "Q")) or question.kind in ("yes-no", "comparison", "multi-part"):
            return False
        common = self.title_terms(key[0], section.parent) if section.parent else frozenset()
        title = self.title_terms(*key)
        tokens = [t for t in self.tokenizer.tokenize(question.text) if t.is_content]
        # not a noun that only places or times what is asked (とき, 前, 上)
        named = {t.lemma for t in tokens if t.pos == "名詞" and t.pos_type != "副詞可能"}
        shared = (title - common) & named
        return len(shared) >= 2 and named <= title | common and not self.sentences[key].leans[0]

    def asked_to_define(self, question: Question, key: tuple[str, str]) -> tuple[int, int] | None:
        """The section's defining sentence when one of a question's two or more questions asks what the
        section's subject is (「後援って何？お金も出るの？」), else None."""
        parts = asked_sentences(question.text)
        if len(parts) < 2:
            return None
        title = self.title_terms(*key)
        for part in parts:
            asked = self.analyze(part)
            subject = asked.described or asked.defined
            if subject and set(self.tokenizer.content_lemmas(subject)) <= title:
                return self.defining_sentence(key)
        return None

    def defining_sentence(self, key: tuple[str, str]) -> tuple[int, int] | None:
        """The sentence that says what a section's subject is, readable alone: the first that says …とは
        or ends in a noun and です (「…財政支援する形態です。」「…名を連ねることです。」), or None."""
        text = self.section(*key).text
        sentences = self.sentences[key]
        for (start, end), leans in zip(sentences.spans, sentences.leans, strict=True):
            sentence = text[start:end]
            if leans:
                continue
            tokens = [t for t in self.tokenizer.tokenize(sentence) if t.pos != "補助記号"]
            if DEFINES.search(sentence) or (
                len(tokens) >= 2 and tokens[-1].lemma == "です" and tokens[-2].pos == "名詞"
            ):
                return start, end
        return None

    def described(self, key: tuple[str, str], span: tuple[int, int]) -> frozenset[str] | None:
        """What a sentence says its subject is, when it says only that: it ends in a noun and です
        (「実行委員会は…期間を限定した組織であることが多い形態です。」), the noun neither こと nor もの
        (「…現場に出て行くことです。」 says what to do) nor one that qualifies (「…必要です。」). Returns the
        thing described, the section's subject and the sentence's own (the nouns before its は), else None."""
        tokens = [t for t in self.tokenizer.tokenize(self.section(*key).text[span[0] : span[1]]) if t.pos != "補助記号"]
        if not (
            len(tokens) >= 2
            and tokens[-1].lemma == "です"
            and tokens[-2].pos == "名詞"
            and tokens[-2].lemma not in FORMAL_NOUNS
            and tokens[-2].pos_type != "形状詞可能"
        ):
            return None
        topic = next((i for i, t in enumerate(tokens) if t.surface == "は" and t.pos == "助詞"), 0)
        return self.title_terms(*key) | {t.lemma for t in tokens[:topic] if t.is_content and t.pos == "名詞"}

    def only_describes(
        self,
        question: str,
        hit: SectionHit,
        terms: dict[str, float],
        query_vector: list[float] | None,
        yes_no: bool = False,
        unnamed: bool = True,
    ) -> bool:
        """Whether a section's best sentence for the question only says what a thing is (``described``),
        and, with ``unnamed``, a thing the question does not name by a word of its own (実行委員会 is named
        by 「実行委員会を立ち上げるとき…」; 会 of 反省会 names nothing)."""
        best = self.best_sentence(hit, terms, query_vector, yes_no)
        thing = None if best is None else self.described(hit.key, (best.start, best.end))
        if thing is None:
            return False
        asked = {
            t.lemma
            for t in self.tokenizer.tokenize(question)
            if t.is_content and t.pos == "名詞" and len(t.surface) >= 2
        }
        return not (unnamed and thing & asked)

    def speaking_of_named(
        self, key: tuple[str, str], scored: list[ScoredSentence], question: str, related: list[str]
    ) -> list[ScoredSentence]:
        """``scored`` with ``CONTRAST_BONUS`` added to each deciding sentence that shares
        ``CONTRAST_SHARED`` distinctive words with the definition of another section the question names
        by its heading's distinctive words (in its own words or the glossary's reading of them)."""
        asked = set(self.tokenizer.content_lemmas(" ".join([question, *related])))
        own = self.title_terms(*key)
        named = {
            k
            for k in self.sentences
            if k[0] == key[0]
            and k != key
            and {t for t in self.title_terms(*k) if self.idf.get(t, 0.0) >= DISTINCTIVE_IDF} - own & asked
        }
        others = {t for k in named for t in self.defining_terms(k)} - own - asked
        if not others:
            return scored
        text = self.section(*key).text
        terms_of = dict(zip(self.sentences[key].spans, self.sentences[key].terms, strict=True))
        return [
            replace(s, score=s.score + CONTRAST_BONUS)
            if decides(text[s.start : s.end]) and len(others & terms_of[(s.start, s.end)]) >= CONTRAST_SHARED
            else s
            for s in scored
        ]

    def yes_no_lead(
        self, key: tuple[str, str], scored: list[ScoredSentence], question: str, terms: Collection[str]
    ) -> list[ScoredSentence]:
        """``scored`` weighed for what answers a yes/no question rather than what it is about, in two steps.
        The section's opening definition (「…名を連ねることです。」) is known to whoever asks 「後援なら市から
        お金は出る？」: it counts ``DEFINITION_PENALTY`` less, and so leads only when no other sentence answers
        nearly as well, unless it names something asked beyond the subject (「…主催者はどちら？」: 「…その組織が
        主催者となって…」). Then, when the best sentence decides only by its ending, each sentence that speaks
        of a distinctive noun the question asks about counts ``DECIDING_BONUS`` more: 「…責任は相手側にあるの？」
        is settled by 「事業における最終的な責任については、市にあります。」, not by 「相手方は、安上がりの下請けでは
        ありません。」."""
        sentences = self.sentences[key]
        title = self.title_terms(*key)
        own = title | self.subject_words(title, question)
        defining = self.defining_sentence(key)
        asked = {t for t in terms if self.idf.get(t, 0.0) >= DISTINCTIVE_IDF} - own
        if defining == sentences.spans[0] and not asked & sentences.terms[0]:
            scored = [
                replace(s, score=s.score - DEFINITION_PENALTY) if (s.start, s.end) == defining else s for s in scored
            ]
        text = self.section(*key).text
        best = max(scored, key=lambda s: s.score, default=None)
        terms_of = dict(zip(sentences.spans, sentences.terms, strict=True))
        nouns = {
            t.lemma
            for t in self.tokenizer.tokenize(asked_whether(question))
            if t.pos == "名詞" and self.idf.get(t.lemma, 0.0) >= DISTINCTIVE_IDF
        } - own
        including = self.including_sentence(key, question) if asks_if_included(question) else None
        if including is not None:
            # 「企業もはいる？」: the sentence counting the thing in (「…ＮＰＯや企業も含めて、…パートナーとして
            # 捉えています。」) says yes, not one that only speaks of it
            return [replace(s, score=s.score + DETAIL_BONUS) if (s.start, s.end) == including else s for s in scored]
        if best is None or not decides(text[best.start : best.end]) or nouns & terms_of[(best.start, best.end)]:
            return scored
        return [replace(s, score=s.score + DECIDING_BONUS) if nouns & terms_of[(s.start, s.end)] else s for s in scored]

    def including_sentence(self, key: tuple[str, str], question: str) -> tuple[int, int] | None:
        """For a question asking whether a thing belongs (「企業もはいる？」), the section's sentence that
        counts a noun of it in, named before the words that do (``INCLUDES``: 「…ＮＰＯや企業も含めて、…
        パートナーとして捉えています。」), if any: not one that only names it, nor one counting other things
        in for it (まちづくり of 「…まちづくりを進めるパートナー…」)."""
        text = self.section(*key).text
        asked = {
            t.lemma
            for t in self.tokenizer.tokenize(asked_whether(question))
            if t.is_content and t.pos == "名詞" and t.lemma not in STANCE
        } - self.title_terms(*key)
        for start, end in self.sentences[key].spans if asked else []:
            found = INCLUDES.search(text, start, end)
            if found and asked & set(self.tokenizer.content_lemmas(text[start : found.start()])):
                return start, end
        return None

    def subject_words(self, title: frozenset[str], question: str) -> set[str]:
        """The words of the question's staff words that the glossary reads as the section's subject (``title``,
        its heading's ``title_terms``), and of those readings: 金 of 補助金 or of お金を出す, and 財政支援, name
        （６）補助・助成 as 補助 does, not something asked of it."""
        return {
            term
            for word, targets in self.glossary.readings(question)
            if title & set(self.tokenizer.content_lemmas(" ".join(targets)))
            for term in self.tokenizer.content_lemmas(" ".join([word, *targets]))
        }

    def defining_terms(self, key: tuple[str, str]) -> frozenset[str]:
        """The distinctive words of what a section says its subject is (its defining sentence, else its
        first): 補助金, 財政, 支援 for （６）補助・助成; words most sections use (市民, 事業) left out."""
        sentences = self.sentences[key]
        if not sentences.spans:
            return frozenset()
        span = self.defining_sentence(key) or sentences.spans[0]
        terms = sentences.terms[sentences.spans.index(span)]
        return frozenset(t for t in terms if self.idf.get(t, 0.0) >= DISTINCTIVE_IDF)

    def citation(self, hit: SectionHit, start: int, end: int) -> Citation:
        section = self.section(*hit.key)
        return Citation(
            hit.doc_id,
            hit.section_id,
            hit.title,
            section.text[start:end],
            self.citation_name(hit),
            start,
            end,
            self.label(*hit.key),
        )

    def marker(self, hit: SectionHit) -> str:
        """［第３章（７）後援］ after a quote: one grammar wherever a source is shown in text."""
        return f"［{self.label(*hit.key)}］"

    def item_answers(self, key: tuple[str, str], terms: dict[str, float], query_vector: list[float] | None) -> bool:
        """Whether the section's sentence that answers best is an item of a bulleted list."""
        if key not in self.sentences:
            return False
        scored = self.score_sentences(*key, terms, query_vector)
        if not scored:
            return False
        best = max(scored, key=lambda s: s.score)
        return _in_item(self.section(*key).text, (best.start, best.end))

    def quotable(
        self, key: tuple[str, str], scored: list[ScoredSentence], terms: Collection[str] = ()
    ) -> list[ScoredSentence]:
        """The sentences that can be chosen on their own: not a heading that names a group of list
        items (「多様な主体の参画が求められる分野」 says nothing alone; it comes with its items), unless
        the question names that group: two of its own words (not those every group heading shares,
        求める and 分野), or its only one (「地域社会の主体的な取組が求められる分野って何？」)."""
        text = self.section(*key).text
        sentences = self.sentences[key]
        headings = _group_headings(text, sentences.spans)
        shared = frozenset.intersection(*(frozenset(sentences.terms[i]) for i in headings)) if headings else frozenset()

        def named(i: int) -> bool:
            own = set(sentences.terms[i]) - shared
            return bool(own) and len(own & set(terms)) >= min(2, len(own))

        group = {sentences.spans[i] for i in headings if not named(i)}
        return [s for s in scored if (s.start, s.end) not in group] or scored

    def with_context(self, section: Section, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """Sentence spans plus what they need to be read, within the section: a list item's lead-in (or
        the heading of its group, 「多様な主体の参画が求められる分野」), the items a lead-in announces
        (「次の項目…」), and the sentence before one that leans on it (「また、…」「ですから、…」; after a
        list, 「この他にも、…」 leans on the sentence that opens the list)."""
        sentences = self.sentences[(section.doc_id, section.section_id)]
        all_spans = sentences.spans
        text = section.text
        texts = [text[a:b] for a, b in all_spans]
        # a sentence is part of a list item when its line is: 「・ …こともあります。その場合には、…」
        item = [text[text.rfind("\n", 0, a) + 1 :].startswith(BULLET) for a, _ in all_spans]
        index = {span: i for i, span in enumerate(all_spans)}

        def opening(i: int) -> int:
            """The sentence before the list (its items and group headings) that ``i`` stands in."""
            while i >= 0 and (item[i] or _is_heading(texts[i])):
                i -= 1
            return i

        def lead_in(i: int) -> int:
            while i >= 0 and item[i]:
                i -= 1
            return i

        keep: set[int] = set()
        chosen = [index[s] for s in spans if s in index]
        todo = list(chosen)
        while todo:
            i = todo.pop()
            if i < 0 or i in keep:
                continue
            keep.add(i)
            if item[i]:
                # an item's later sentence needs the item's first; the first, the list's lead-in (or its
                # group's heading)
                todo.append(i - 1 if not texts[i].startswith(BULLET) else lead_in(i - 1))
            elif sentences.leans[i] and i > 0:
                todo.append(opening(i - 1) if item[i - 1] else i - 1)
        # a lead-in that announces 「次の…」 says nothing without its items; a group heading's other items
        # are only more of the same
        for i in [*chosen, *(k for k in keep if LIST_INTRO.search(texts[k]))]:
            if LIST_INTRO.search(texts[i]) or _is_heading(texts[i]):
                j = i + 1
                while j < len(texts) and item[j]:
                    keep.add(j)
                    j += 1
        return [all_spans[i] for i in sorted(keep)]


def _items(text: str, lead: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """The list items among the lead's sentences, each item's sentences together, in order."""
    items: list[list[tuple[int, int]]] = []
    for span in sorted(lead):
        if not _in_item(text, span):
            continue
        if text[span[0] : span[1]].startswith(BULLET) or not items:
            items.append([span])
        else:
            items[-1].append(span)
    return items


def _in_item(text: str, span: tuple[int, int]) -> bool:
    """Whether a sentence is part of a list item: its line is (「・ …こともあります。その場合には、…」)."""
    return text[text.rfind("\n", 0, span[0]) + 1 :].startswith(BULLET)


def _group_headings(text: str, spans: list[tuple[int, int]]) -> list[int]:
    """The indexes of the sentences that head a group of list items: a heading line with an item after it."""
    return [
        i
        for i in range(len(spans) - 1)
        if _is_heading(text[slice(*spans[i])]) and text[slice(*spans[i + 1])].startswith(BULLET)
    ]


def _is_heading(sentence: str) -> bool:
    """A line inside a list that names a group of items rather than saying something (no 。)."""
    return not sentence.startswith(BULLET) and not sentence.rstrip().endswith(tuple(SENTENCE_ENDS))


# A question that picks one thing of several: 「そのうち…のはどれ？」「その中で…」「どっち？」
PICKS = re.compile(r"どれ(?!くらい|ぐらい|だけ|ほど)|どっち|どちら|(その|この)(うち|中)")
OPEN_QUESTION = re.compile(r"どう|何|なに|なん|いつ|誰|だれ|どこ|どんな|いくら|いくつ")
# A question asking who (「…のは誰？」「誰と作ったの？」), and the parties a sentence may name as doing it.
ASKS_WHO = re.compile(r"誰|だれ|どなた")
# a follow-up asking about one situation of what was just said: 「断る場合は？」「実現できないときは？」
SITUATION = re.compile(r"(場合|とき|時|なら|だったら|たら)(は|には|って|だと)?[？?]?$")
NEGATIVE_ASK = re.compile(r"ない|なかっ|ず|断|無理|だめ|ダメ|不可")
NEGATIVE_TEXT = re.compile(r"ない|なく|ません|ず[、。に]")
PARTY = re.compile(
    r"[^\s、。・「」（）]*(団体|会員|ボランティア|町内会|自治会|企業|学校|ＮＰＯ|事業者|協議会|連合会|協会|センター|住民|個人|スーパー)"
)
# who takes part or provides (「誰が出すの」「どこから集めるの」)
PROVIDED_BY = re.compile(r"誰|だれ|どなた|どこ(から|が)")
WHO_BONUS = 1.0  # above any sentence's own score: a sentence naming a party leads
# A question asking what something contains (「ガイドラインには何が書いてある？」), and a sentence that denies.
# 「協働とは、…」 says what a thing is; the とは of 「…できることは、」 is こと's
DEFINES = re.compile(r"(?<!こ)とは")
ASKS_CONTENTS = re.compile(r"(何|なに|なん|どんなこと|どういうこと)(が|を)?(書|載|示|定|まとめ|わか|分か)")
NEGATED = re.compile(r"(ません|ない|ではない)。?$")
# 「それぞれ…」 asks each side for the same thing; the words a comparison asks with (and 場合, which only
# frames a side: 「委託する場合と…」) are no attribute.
EACH = re.compile(r"それぞれ|各々|おのおの")
COMPARING = frozenset(
    {
        "違い",
        "違う",
        "比較",
        "比べる",
        "差",
        "異なる",
        "変わる",
        "使い分け",
        "使い分ける",
        "其れ其れ",
        "両方",
        "両者",
        "場合",
    }
)
EACH_SIDE = "それぞれ："
# A sentence that settles a yes/no question one way or the other.
DECIDING = re.compile(r"(ありません|できません|いけません|なりません|適しません|ではない|必要です)。$")
DECIDING_BONUS = 0.3
FORMAL_NOUNS = frozenset({"事", "物"})  # こと・もの: 「…出て行くことです。」 names an action, not a kind of thing
DEFINITION_PENALTY = 0.3  # a yes/no question's answer is rarely what its subject is


def decides(sentence: str) -> bool:
    """Whether a sentence settles a yes/no question by itself (「財政的な支援等はありません。」). A list's
    lead-in (「次の項目に当てはまる場合は、…適切でありません。」) settles only what its items name, and an
    item the question names is found by its own words."""
    return bool(DECIDING.search(sentence)) and not LIST_INTRO.search(sentence)


SAID_PENALTY = 2.0  # below any sentence not yet shown: 「ほかには？」 and a yes/no follow-up want what is new


def times_shown(quote: str, *shown: Collection[str]) -> int:
    """In how many of ``shown`` (the last answer's quotes, its lead) ``quote`` already appeared."""
    return sum(quote in quotes for quotes in shown)


DETAIL_BONUS = 1.0  # above any sentence's own score: the sentence stating the asked detail leads
# What a question asks of its section's subject, and how the guideline says it: a point to heed (「気を付ける
# ことは？」「注意点は？」) with 注意・留意・念頭に置く or 「…ないよう」; a merit (「どんなメリットがある？」
# 「何が得なの？」「プラスになる？」) with 期待, メリット, 良い影響 or a widening 可能性; a drawback with 手間 or
# 時間がかかる, so 「メリットとデメリットを教えて」 leads with both. A question that permits (「言っていいこと」)
# asks for no merit.
ASKED_LAST = r"(は|って|とか)?[？?]?\s*$"  # a noun that closes the question, as keywords are typed
ASPECTS = (
    (re.compile(r"気を(付|つ)け|注意|留意"), re.compile(r"注意|留意|念頭に置|ないよう")),
    (
        re.compile(
            r"(?<!デ)メリット|利点|長所|(?<![てで])(良い|いい)(点|こと|ところ)|プラス(?!チック)|(何が|何の|お)得"
        ),
        re.compile(r"期待|(?<!デ)メリット|良い影響|可能性が広が"),
    ),
    (re.compile(r"デメリット|短所|欠点|マイナス|大変な(こと|ところ|点)"), re.compile(r"デメリット|手間|時間がかか")),
    # asked by the noun that ends the question, as keywords are typed (not the scene of 「…費用が減らないなら、
    # やる意味ってある？」): 「後援 お金は？」 is answered by the form's sentence on money (「財政的な支援等は
    # ありません。」), 「補助金 条件」 by the case a sentence says it applies in (「財政支援を行う場合は、…」)
    (re.compile(rf"(お金|費用|経費|資金|予算){ASKED_LAST}"), re.compile(r"財政|経費|資金|費用|予算")),
    (re.compile(rf"(条件|要件){ASKED_LAST}"), re.compile(r"場合は|ときは|であれば")),
    # what to do when something happens (「企画を持ち込まれたらどうすればいい？」): a sentence saying what to do,
    # not the one restating that it happens (「…担当部署に企画が持ち込まれることも、…場合もあります。」)
    (
        re.compile(r"(たら|れば|ときは?|際は?)[、，,]?\s*(どう|何を|なにを)(すれば|したら|する|対応|扱)"),
        re.compile(r"ください|必要です|なければなりません|ましょう|大切です|有効です"),
    ),
    # with whom it was done (「誰と一緒にやったの？」 after まちづくりトーク): the sentence naming the partner
    # (「…連合会との共催で実施しました。」), not the one saying what was done
    (
        re.compile(r"(誰|だれ|どこ|何処|(どんな|どういう|どの)(相手|団体|人|ところ))と"),
        re.compile(r"との[^、。]{0,12}(共催|協力|協定|連携)|と(とも|共)に|と(協力|連携|一緒)|と(自主)?協定を|と行"),
    ),
    # when it is not allowed (「逆にダメなのはどういうとき？」 after 後援): the sentence refusing it
    (
        re.compile(
            r"(ダメ|だめ|駄目|NG|ＮＧ|(出せ|使え|でき|やれ|認められ)ない)(なの|な|の)?(は|って)?(どういう|どんな|いつ|とき|時|場合)"
        ),
        re.compile(r"適切で(は)?ありません|適しません|いけません"),
    ),
)


def names_aspect(question: str) -> bool:
    """Whether the question names what it asks of its subject (a point to heed, a drawback, when it is
    not allowed: ``ASPECTS``)."""
    return any(asks.search(question) for asks, _ in ASPECTS)


TITLE_TERM_SHARE = 0.5
NEARBY = "関連する箇所には次のように書かれています。"
# A yes/no follow-up the section just quoted does not settle either way (its lead would repeat the last answer)
UNDECIDED = "ガイドラインの文面からは、はい・いいえのどちらとも言えません。"
# 「ほかには？」 when the section just discussed says nothing more
NOTHING_MORE = "ガイドラインがこの点で挙げているのは、前の回答の内容だけです。"
# said of a thing a yes/no question asks about when the list that decides it does not name it: not a yes, nor a no
NOT_LISTED = "ガイドラインの一覧は、お尋ねのものを名前では挙げていません。"
MISSING_PART = "については、ガイドラインに記載が見つかりませんでした。"
CONTRAST = "違い："
BY_CASE = "担当は事例ごとに次のとおりです"  # a form's cases at several departments, each named
WIDE_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")  # as the guideline writes its numbers
CONTRAST_BONUS = 1.0  # above any sentence's own score: the sentence that contrasts is quoted
CONTRAST_SHARED = 2  # distinctive words of another side's definition a sentence must share to contrast with it
DISTINCTIVE_IDF = 1.9  # words more common than this (協働, 市民, 形態) tell no section's subject apart
LEAD_SECOND_MARGIN = 0.1  # a second sentence leads too when it answers nearly as well as the best
# Lines that frame the quotes rather than quote: a missing detail or part, the section that answers, the
# department, the contrast of a comparison (its quotes are cited spans). Older answers wrote a
# half-width colon (「違い: 」「（担当: …）」), and a client may send one back as history.
FRAMING = re.compile(
    r"^(ガイドラインには.*(記載はありません|書かれています)。.*|該当するのは「.*」.*です。.*|担当は.*です（「.*」）。"
    rf"|{BY_CASE}[:：].*"
    r"|「.*」には次の\d+項目があります[:：].*|挙げられているのは次の(\d+項目|\d+つ(の.*)?)です。"
    rf"|{UNDECIDED}.*|{NOTHING_MORE}.*|.*{MISSING_PART}|{CONTRAST[:-1]}[:：].*|{EACH_SIDE[:-1]}[:：].*)$"
)


def content_sentences(answer_text: str) -> list[str]:
    """The sentences of an answer that make a claim: without framing lines, headings and markers."""
    sentences = []
    for line in answer_text.splitlines():
        line = re.sub(r"[\[［][^\]］\n]{1,80}[\]］](（担当[:：] ?[^）\n]+）)?", "", line).strip()
        if not line or line.startswith("■") or FRAMING.match(line):
            continue
        sentences += [line[s:e] for s, e in split_sentences(line)]
    return sentences


def _department(section: Section) -> str:
    return f"（担当：{section.department}）" if section.department else ""


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
