"""Section retrieval: three rankings of the guideline's sections fused by reciprocal rank fusion.

A section is the unit of ranking (a long section's chunks count once, by their best one):

- dense: the best cosine similarity of any of the section's chunks (Chroma);
- words: BM25 over fugashi content lemmas of the section's title path, department and body;
- chars: BM25 over character bigrams of the same text folded to one form (NFKC, lower case,
  katakana as hiragana), which survives half-width katakana, kana spellings of a term and typos;
- title: the sections whose own title the query names (後援, 補助・助成 → 補助 or 助成);
- department: the sections of a department the query names (chapter 5's 危機管理室 …);
- asked: the section whose listed question (``corpus/questions.toml``, how staff ask about each
  section) is nearest the query as the dense ranking reads it, when it leads every other section's by
  a margin (hybrid only);
- previous: for a follow-up, the sections the previous answer cited.

Queries are expanded with the staff-word glossary (``corpus/glossary.toml``) for the two keyword
rankings. Every hit says why it was chosen: its fused score and each ranking's rank and score.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field, PrivateAttr

from assistant.index.embeddings import embed_queries
from assistant.index.store import Index
from assistant.ingestion.corpus import Document, Section
from assistant.ingestion.glossary import Glossary, fold
from assistant.ingestion.japanese import Tokenizer, without_places
from assistant.ingestion.sections import CLIPPED_DEPARTMENT, DEPARTMENT_NAMED, clips, department_stem

MODES = ("hybrid", "dense", "bm25")
RANKINGS = ("dense", "words", "chars", "title", "department", "asked", "previous")
# Who a question is about: the kinds of partner the guideline names (第２章 １: 個人, グループ, 団体, 町内会,
# ＮＰＯ, 企業) and the words for them. The whole guideline is about working with them, so naming one says
# who, not what is asked: in 「町内会に頼むとき、市ができないことも言っといたほうがいい？」 町内会 would
# lead to the case that writes it most (第５章（５）), not to 4-1, which says what to tell them. In the
# keyword rankings such a word counts once, as a glossary word does; the question's other words count
# twice. The general words 市民, 相手 and パートナー are not among them: the rules themselves are written with
# them (「相手方と相談しながら」, 「興味を持ってくれる市民が少ない」).
PARTNERS = re.compile(r"町内会|自治会|町会|npo|企業|団体|ボランティア|個人|グループ", re.I)


# how near the question's meaning (the dense ranking) a section must be for a heading term the glossary
# reads a staff word as to name it
READ_TITLE_DENSE_RANK = 3


def title_words(title: str) -> tuple[str, ...]:
    """The terms a heading names, folded, split at ・ and 、 (補助・助成 → 補助, 助成)."""
    return tuple(w for w in (fold(part) for part in re.split(r"[・･、\s]", title)) if len(w) >= 2)


def asks(title: str) -> bool:
    """Whether a heading is a question (Ｑ＆Ａ's 「協働は、経費削減のためですか？」): its pieces are a
    sentence's grammar (協働は, どうしたらいいですか), not terms, so a question naming them names no heading."""
    return title.rstrip().endswith(("？", "?"))


def without_partners(query: str) -> tuple[str, list[str]]:
    """The query with the partners it names taken out, and those partners (``PARTNERS``)."""
    text = unicodedata.normalize("NFKC", query)
    found = [m.group() for m in PARTNERS.finditer(text)]
    if not found:
        return query, []
    return PARTNERS.sub("、", text), found


# a partner that is the question's topic, named first and marked as such (「町内会って市内にいくつある？」
# 「ＮＰＯとは？」「企業は何してくれるの？」, a follow-up's 「企業の場合は？」): what it asks about, so the sections
# saying what it is or does rank by it; not a partner named as who the work is done with (「町内会に事業を…」)
PARTNER_TOPIC = re.compile(rf"^({PARTNERS.pattern})(?:って|とは|は|の場合|なら)", re.I)
# The end or the course of the work (「…が終わったら」「途中で」「何年も続くとき」), folded: chapter 4 says what to
# do then, in the general 協働 (「協働による一連の取組が終了した時には」). A heading's subject named before it
# (「共催のイベントが終わったら…」) is the scene, as a partner is who: it names no section, and the dense
# ranking reads it as 協働.
PHASE = re.compile(r"終わっ|おわっ|終え|終了|途中|何年も続|長く続|ずっと続")


def char_ngrams(text: str, n: int = 2) -> list[str]:
    folded = fold(text)
    if len(folded) < n:
        return [folded] if folded else []
    return [folded[i : i + n] for i in range(len(folded) - n + 1)]


# --------------------------------------------------------------------------- hits


@dataclass(frozen=True)
class SectionHit:
    """One retrieved section: what it is, its fused score and each ranking's rank and score.

    The same object travels from retrieval into the answer's contexts and its JSON.
    """

    doc_id: str
    section_id: str
    title: str  # title path: 第３章 協働の形態 ＞ （７）後援
    text: str
    score: float
    ranks: dict[str, int] = field(default_factory=dict)  # 1-based, by ranking name (dense, words, chars)
    scores: dict[str, float] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.doc_id, self.section_id)

    def to_json(self) -> dict[str, Any]:
        return {
            "doc_id": self.doc_id,
            "section_id": self.section_id,
            "title": self.title,
            "score": self.score,
            "ranks": self.ranks,
            "scores": self.scores,
            "text": self.text,
        }

    def to_document(self) -> LCDocument:
        meta = {k: v for k, v in self.to_json().items() if k != "text"}
        return LCDocument(page_content=self.text, metadata=meta)


# --------------------------------------------------------------------------- retriever


@dataclass(frozen=True)
class _Entry:
    doc_id: str
    section: Section
    title: str
    searchable: str  # title path, department and body: what the keyword rankings see
    department: str  # folded, "" when the section names none
    title_words: tuple[str, ...]  # the terms its own title names (none for a question heading)


class _BM25:
    """Okapi BM25 over token lists, Lucene's variant (idf log(1 + (N - df + 0.5) / (df + 0.5)), k1 1.5,
    b 0.75), computed as bm25s 0.3 computed it (each term's score per document in float32, a query's
    terms added in order), so its rankings are the same: a few lines of numpy instead of bm25s, whose
    import brings scipy (~0.1 s of a cold start's CPU)."""

    k1 = 1.5
    b = 0.75

    def __init__(self, corpus: list[list[str]]) -> None:
        counts = [Counter(doc) for doc in corpus]
        frequencies = Counter(term for tf in counts for term in tf)
        n = len(corpus)
        idf = {term: np.float32(math.log(1 + (n - df + 0.5) / (df + 0.5))) for term, df in frequencies.items()}
        average = np.array([len(doc) for doc in corpus]).mean()
        postings: dict[str, tuple[list[int], list[np.ndarray]]] = {term: ([], []) for term in frequencies}
        for d, (doc, tf) in enumerate(zip(corpus, counts, strict=True)):
            frequency = np.array(list(tf.values()), dtype=np.float32)
            saturated = frequency / (self.k1 * ((1 - self.b) + self.b * len(doc) / average) + frequency)
            weights = np.array([idf[term] for term in tf], dtype=np.float32) * saturated
            for term, weight in zip(tf, weights.astype(np.float32), strict=True):
                postings[term][0].append(d)
                postings[term][1].append(weight)
        self.size = n
        # each term: the documents using it and its score in each
        self.postings = {
            term: (np.array(docs, dtype=np.int64), np.array(weights, dtype=np.float32))
            for term, (docs, weights) in postings.items()
        }

    def rank(self, terms: list[str], n: int) -> list[tuple[int, float]]:
        if not terms:
            return []
        scores = np.zeros(self.size, dtype=np.float32)
        for term in terms:  # one by one, in the query's order: float32 sums depend on it
            if term in self.postings:
                docs, weights = self.postings[term]
                scores[docs] += weights
        order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))[:n]
        return [(i, float(scores[i])) for i in order if scores[i] > 0]


class HybridRetriever(BaseRetriever):
    """A LangChain retriever over the guideline's sections; ``mode`` picks hybrid, dense or bm25
    (the two keyword rankings). ``invoke(query, k=n)`` returns at most ``n`` sections."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: Index
    embeddings: Embeddings
    tokenizer: Tokenizer
    documents: list[Document]
    glossary: Glossary = Glossary()
    mode: str = "hybrid"
    k: int = 5
    candidates: int = 30  # how deep the dense chunk list goes before sections are formed
    rrf_k: int = 60
    asked_margin: float = 0.02  # how far the asked section must lead the next (cosine similarity)
    weights: dict[str, float] = Field(default_factory=lambda: dict.fromkeys(RANKINGS, 1.0))

    _entries: list[_Entry] = PrivateAttr()
    _position: dict[tuple[str, str], int] = PrivateAttr()
    _words: _BM25 = PrivateAttr()
    _chars: _BM25 = PrivateAttr()
    _asked_rows: np.ndarray = PrivateAttr()  # the section position of each listed question's vector
    _written: str = PrivateAttr()  # every section's title and text, folded
    _headings: frozenset[str] = PrivateAttr()  # every section's title words

    def model_post_init(self, context: Any) -> None:
        self._entries = []
        for document in self.documents:
            for section in document.sections:
                if not section.text.strip():
                    continue
                title = document.title_path(section.section_id)
                searchable = "\n".join(filter(None, [title, section.department or "", section.text]))
                words = () if asks(section.title) else title_words(section.title)
                self._entries.append(
                    _Entry(document.doc_id, section, title, searchable, fold(section.department or ""), words)
                )
        self._position = {(e.doc_id, e.section.section_id): i for i, e in enumerate(self._entries)}
        self._words = _BM25([self.tokenizer.content_lemmas(e.searchable) or ["\x00"] for e in self._entries])
        self._chars = _BM25([char_ngrams(e.searchable) or ["\x00"] for e in self._entries])
        self._asked_rows = np.asarray([self._position.get(key, -1) for key in self.index.asked.sections], dtype=int)
        self._written = fold("".join(e.searchable for e in self._entries))
        self._headings = frozenset(w for e in self._entries for w in e.title_words)

    def rankings(
        self,
        query: str,
        mode: str | None = None,
        query_vector: list[float] | None = None,
        doc_ids: Collection[str] | None = None,
        nearest: list[tuple[int, float]] | None = None,
        reading_vector: list[float] | None = None,
    ) -> dict[str, list[tuple[int, float]]]:
        """Each ranking's (section position, score) list, best first; ``doc_ids``: only those documents;
        ``nearest`` and ``reading_vector``: the index's nearest chunks to the text the dense ranking
        reads, ``dense_text(query)``, and its embedding, if already known (``query_vector`` is the
        query's own embedding: the same when the query names no partner)."""
        mode = mode or self.mode
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        ranked: dict[str, list[tuple[int, float]]] = {}
        n = len(self._entries)
        if mode in ("hybrid", "dense"):
            best: dict[int, float] = {}
            asks = mode == "hybrid" and len(self._asked_rows) > 0
            dense_text = self.dense_text(query)
            if dense_text == query and reading_vector is None:
                reading_vector = query_vector
            if reading_vector is None and (nearest is None or asks):
                reading_vector = embed_queries(self.embeddings, [dense_text])[0]
            if nearest is None:
                nearest = self.index.dense([reading_vector], self.candidates, doc_ids)[0]
            for pos, similarity in nearest:
                chunk = self.index.chunks[pos]
                section = self._position.get((chunk.doc_id, chunk.section_id))
                if section is not None and similarity > best.get(section, -2.0):
                    best[section] = similarity
            ranked["dense"] = sorted(best.items(), key=lambda item: (-item[1], item[0]))
            if asks:
                # the listed questions meet the question as the dense ranking reads it: a partner named
                # (団体) says who, and drew questions to 4-5's 「毎回同じ団体にお願いしてもいいの？」
                ranked["asked"] = self.asked(reading_vector)
        if mode in ("hybrid", "bm25"):
            # the query's own words count twice the glossary's and the partners it names: an expansion
            # must not outvote the question, nor who it is about what it asks
            rest, partners = without_partners(self.placeless(query))
            topic = PARTNER_TOPIC.match(unicodedata.normalize("NFKC", query))
            scene = self.scene_words(query)
            for word in scene:
                rest = rest.replace(word, "、")
            extra = " ".join([*self.glossary.expand(query), *partners, *scene])
            words = self.tokenizer.content_lemmas(rest) * 2 + self.tokenizer.content_lemmas(extra)
            chars = char_ngrams(rest) * 2 + [g for term in extra.split() for g in char_ngrams(term)]
            ranked["words"] = self._words.rank(words, n)
            ranked["chars"] = self._chars.rank(chars, n)
            folded = fold(query)
            titled = [
                i for i, e in enumerate(self._entries) if any(w in folded and w not in scene for w in e.title_words)
            ]
            # a staff word the glossary reads as a heading's whole term names that heading too (名前だけ →
            # 後援), not a term that is only part of one (評価 of 結果の評価), when the question's meaning is
            # near that section as well: 「協働って要は市の仕事の丸投げでしょ」 asks what 協働 is, not about 委託
            read_as = {fold(term) for term in self.glossary.expand(query)}
            near = {i for i, _ in ranked.get("dense", [])[:READ_TITLE_DENSE_RANK]}
            other = {fold(term) for term in self.other_names(query).values()}
            titled += [
                i
                for i, e in enumerate(self._entries)
                if (i in near or other & set(e.title_words))
                and i not in titled
                and any(w in read_as and w not in scene for w in e.title_words)
            ]
            if topic:
                titled += [i for i in self.written_of(topic.group(1)) if i not in titled]
            if titled:
                ranked["title"] = [(i, 1.0) for i in titled]
            named = self.named_departments(query)
            if named:
                ranked["department"] = [(i, 1.0) for i in named]
        if doc_ids:
            ranked = {
                name: [(i, v) for i, v in ranking if self._entries[i].doc_id in doc_ids]
                for name, ranking in ranked.items()
            }
        return ranked

    def other_names(self, query: str) -> dict[str, str]:
        """The heading terms the query names by another name, by the staff word: a noun the guideline never
        writes that the glossary reads as one heading's whole term (覚書 → 協定, 共同開催 → 共催; not
        PDCA → 評価). Such a noun is the thing itself, which the dense ranking does not know by that name
        (「覚書ってどう書けばいい？」 read nearest to 後援), unlike a word read as several terms or as a way
        of speaking (丸投げ → 委託・外注・下請け)."""
        return {
            word: targets[0]
            for word, targets in self.glossary.readings(query)
            if len(targets) == 1
            and fold(targets[0]) in self._headings
            and fold(word) not in self._written
            and all(t.pos == "名詞" for t in self.tokenizer.tokenize(word))
        }

    def dense_text(self, query: str) -> str:
        """The query as the dense ranking reads it: a partner it names beside what it asks read as the
        general 相手 the rules are written with (「ＮＰＯに業務をまる投げしてもいい？」 → 「相手に業務を…」).
        A partner's name brings its own meaning into the question's vector: 団体 drew questions about a
        group's strength or workload to （５）相手方の固定化を避ける, whose text names 団体, and ＮＰＯ drew
        「…まる投げしてもいい？」 to the case of an ＮＰＯ (第５章（７）). A partner that is the question's
        topic (「町内会って…」), or all it names (a comparison's side 「ＮＰＯみたいな団体」), is what is asked.
        The city's name is left out (``placeless``) for the same reason: it brings its partners' names.
        A heading's thing the question opens on by another name is read by the heading's term (``other_names``)."""
        text = unicodedata.normalize("NFKC", query)
        scene = self.scene_words(query)
        for word in scene:
            text = text.replace(word, "協働")
        # (only the thing the question opens on: 「…取り決め、結んだ例ある？」 read as 協定 drew the cases that
        # write 協定 before 第５章（４）, whose 飲料提供 the question describes)
        renamed = {word: term for word, term in self.other_names(query).items() if text.startswith(word)}
        for word, term in renamed.items():
            text = text.replace(word, term)
        placeless = self.placeless(text)
        rest, partners = without_partners(placeless)
        if not partners or PARTNER_TOPIC.search(placeless) or not self.tokenizer.content_lemmas(rest):
            return placeless if scene or renamed or placeless != text else query
        # ボランティア団体, 相手の団体, 団体さん: one 相手
        return re.sub(rf"(?:相手の)?(?:{PARTNERS.pattern})+(?:さん)?", "相手", placeless, flags=re.I)

    def placeless(self, query: str) -> str:
        """The query without the places the documents name (``without_places``: 苫小牧 sets the scene)."""
        return without_places(query, self.tokenizer.tokenize(query), self._words.postings)

    def written_of(self, partner: str) -> list[int]:
        """Positions of the sections with a clause whose subject is the partner, alone or in a list (「企業は、
        社員ボランティア制度や…」「町内会や自治会は、…」), not one qualified by what it does (「…に取り組む企業は」):
        what the guideline says the partner is or does, which no heading names."""
        subject = re.compile(rf"(?:^|[。、])(?:[^。、]{{0,10}}[やの])?{re.escape(partner)}[^。、]{{0,8}}は", re.I)
        return [
            i
            for i, e in enumerate(self._entries)
            if not asks(e.section.title)  # as for headings: a question's answer is what it asks
            and subject.search(unicodedata.normalize("NFKC", e.section.text).replace("\n", ""))
        ]

    def written_of_keys(self, partner: str) -> list[tuple[str, str]]:
        """The (doc_id, section_id) of the sections ``written_of`` the partner, in document order."""
        return [(self._entries[i].doc_id, self._entries[i].section.section_id) for i in self.written_of(partner)]

    def scene_words(self, query: str) -> list[str]:
        """The headings' subjects the query names as the scene of the work's end or course (``PHASE``):
        「共催のイベントが終わったら…」 → 共催; not its topic (「実行委員会ってイベントが終わったら…」), nor
        part of a longer noun (補助金)."""
        text = unicodedata.normalize("NFKC", query)
        phase = PHASE.search(text)
        if phase is None:
            return []
        before = text[: phase.start()]
        return sorted(
            {
                w
                for e in self._entries
                for w in e.title_words
                if re.search(rf"{re.escape(w)}(?![一-龥])", before)
                and not re.match(rf"{re.escape(w)}(?:って|とは|は)", text)
            },
            key=len,
            reverse=True,
        )

    def asked(self, query_vector: list[float]) -> list[tuple[int, float]]:
        """[(section position, similarity)] of the section with the listed question nearest the query,
        when it leads every other section's nearest listed question by ``asked_margin``; else []
        (two sections' questions about as near: the question's own words decide)."""
        best = self._nearest_listed(query_vector)
        first, second = np.argsort(-best, kind="stable")[:2] if len(best) > 1 else (0, 0)
        if not np.isfinite(best[first]) or (first != second and best[first] - best[second] < self.asked_margin):
            return []
        return [(int(first), float(best[first]))]

    def _nearest_listed(self, query_vector: list[float]) -> np.ndarray:
        """Per section position, the cosine similarity of its listed question nearest the query (-inf
        for a section with none)."""
        best = np.full(len(self._entries), -np.inf)
        if not len(self._asked_rows):
            return best
        similarity = self.index.asked.vectors @ np.asarray(query_vector, dtype=np.float32)
        known = self._asked_rows >= 0
        np.maximum.at(best, self._asked_rows[known], similarity[known])
        return best

    def listed_similarity(self, query_vector: list[float]) -> dict[tuple[str, str], float]:
        """(doc_id, section_id) → how near its nearest listed question is to the query: how staff ask
        about each section (``corpus/questions.toml``); empty without listed questions."""
        best = self._nearest_listed(query_vector)
        return {
            (e.doc_id, e.section.section_id): float(v)
            for e, v in zip(self._entries, best, strict=True)
            if np.isfinite(v)
        }

    def get(self, key: tuple[str, str]) -> SectionHit | None:
        """The section with this (doc_id, section_id) as a hit of its own (score 0), if indexed."""
        pos = self._position.get(key)
        return None if pos is None else self.hit(pos, 0.0, {}, {})

    def named_departments(self, query: str) -> list[int]:
        """Positions of the sections whose department the query names: in full, without its 課 or 室
        (「危機管理って…」), or clipped as staff say it, some of its name before 課, 室 or 部 (「清掃課」
        for 清掃事業課, 「男女参画課」 for 男女平等参画課, 「市民自治推進部」 for 市民自治推進課)."""
        folded = fold(query)
        clipped = [m.group(1) for m in CLIPPED_DEPARTMENT.finditer(folded)]
        return [
            i
            for i, e in enumerate(self._entries)
            if e.department
            and (department_stem(e.department) in folded or any(clips(part, e.department) for part in clipped))
        ]

    def unknown_departments(self, query: str) -> list[str]:
        """The departments the query names by their 課 that no indexed section is of (「税務課の協働の
        事例ってある？」), none of them clipped from one that is."""
        departments = {e.department for e in self._entries if e.department}
        return [
            m.group(0)
            for m in DEPARTMENT_NAMED.finditer(fold(query))
            if not any(clips(m.group(1), d) for d in departments)
        ]

    def search(
        self,
        query: str,
        k: int | None = None,
        mode: str | None = None,
        query_vector: list[float] | None = None,
        previous: list[tuple[str, str]] | None = None,
        doc_ids: Collection[str] | None = None,
        nearest: list[tuple[int, float]] | None = None,
        reading_vector: list[float] | None = None,
    ) -> list[SectionHit]:
        """The ``k`` best sections for a query, best first (``query_vector``: its embedding, if known;
        ``previous``: the (doc_id, section_id) a follow-up's previous answer cited; ``doc_ids``: only
        from these documents; ``nearest``, ``reading_vector``: as for ``rankings``)."""
        k = self.k if k is None else k
        rankings = self.rankings(query, mode, query_vector, doc_ids, nearest, reading_vector)
        if previous:
            rankings["previous"] = [
                (self._position[key], 1.0)
                for key in previous
                if key in self._position and (not doc_ids or key[0] in doc_ids)
            ]
        return self.fuse(rankings)[:k]

    def fuse(self, rankings: dict[str, list[tuple[int, float]]]) -> list[SectionHit]:
        """Weighted reciprocal rank fusion of ranked lists of (section position, score)."""
        fused: dict[int, float] = {}
        ranks: dict[int, dict[str, int]] = {}
        scores: dict[int, dict[str, float]] = {}
        for name, ranked in rankings.items():
            for rank, (pos, score) in enumerate(ranked, start=1):
                fused[pos] = fused.get(pos, 0.0) + self.weights.get(name, 1.0) / (self.rrf_k + rank)
                ranks.setdefault(pos, {})[name] = rank
                scores.setdefault(pos, {})[name] = score
        order = sorted(fused, key=lambda pos: (-fused[pos], pos))
        return [self.hit(pos, fused[pos], ranks[pos], scores[pos]) for pos in order]

    def hit(self, pos: int, score: float, ranks: dict[str, int], scores: dict[str, float]) -> SectionHit:
        entry = self._entries[pos]
        s = entry.section
        return SectionHit(entry.doc_id, s.section_id, entry.title, s.text, score, ranks, scores)

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[LCDocument]:
        return [hit.to_document() for hit in self.search(query, k=kwargs.get("k"))]
