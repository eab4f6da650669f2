"""The answering chain: one LangChain graph ``resolve | retrieve | rerank | compose | check`` for the
CLI, the chat (streaming), the /ask API and the eval.

- resolve: analyse the question; decide from evidence whether a follow-up needs the previous turn;
- retrieve: rank the guideline's sections (and each side of a comparison);
- rerank: reorder them (default: the answerer's own evidence; optionally a cross-encoder);
- compose: an extractive answer (or an LLM's), or a partial or full abstention;
- check: never an answer without a citation of a retrieved section.
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
from langchain_core.runnables import Runnable, RunnableGenerator, RunnableLambda

from assistant.answering.extractive import (
    ABSTENTION_TEXT,
    DECIDING,
    NOTHING_MORE,
    OPEN_QUESTION,
    SITUATION,
    UNDECIDED,
    Answer,
    Citation,
    ExtractiveAnswerer,
    clean_history,
    content_sentences,
    idf_table,
    names_aspect,
)
from assistant.answering.llm import LLMAnswerer
from assistant.answering.question import (
    ASKS_WHICH_DEPARTMENT,
    BEARER,
    CONTACT,
    DEPARTMENT_WORDS,
    EXAMPLES,
    HOW_TO,
    PROPOSED,
    QUESTION_NOUNS,
    RECORDS,
    SAME_DEPARTMENT,
    Detail,
    Question,
    analyze,
    asks_if_included,
    counted_nouns,
    noun_phrases,
    number_of_pattern,
)
from assistant.answering.rerank import CrossEncoderReranker, EvidenceReranker, Reranker
from assistant.answering.scope import SCOPE_MODEL, STANCE, ScopeFeatures, ScopeModel, scope_features
from assistant.answering.sentences import section_sentences
from assistant.answering.spelling import Respelling, Spelling
from assistant.ingestion.corpus import OFFTOPIC
from assistant.ingestion.glossary import abbreviates, fold
from assistant.ingestion.japanese import NOMINAL_POS, Token, noun_runs
from assistant.ingestion.offtopic import OffTopics
from assistant.ingestion.sections import Section, source_label
from assistant.ingestion.token_cache import TOKENS_FILE, remembered_tokens
from assistant.limits import QuestionError, validate_question
from assistant.retrieval import PARTNER_TOPIC, PARTNERS, HybridRetriever, SectionHit, asks
from assistant.service import Service
from assistant.settings import Settings

if TYPE_CHECKING:  # only with an LLM configured; a plain ask never imports LangChain's chat models
    from langchain_core.language_models import BaseChatModel

# A question that points back at the previous turn: 「それは…」「その場合…」「じゃあ…」
ASKS = re.compile(r"いつ|誰|だれ|どこ|どれ|どっち|どちら|なぜ|なんで|どう|いくら|いくつ|何|なに|なん")
POINTS_BACK = re.compile(
    r"^(それ|その|そう|これ|この|あれ|あの|そこ|では|じゃあ|なら|他に|ほかに|逆に|反対に|同じ|また|さらに|あと)"
)
# A first message made only of words that relate to something said before (「それ」「両方」「違いは？」
# 「vs」「他には？」) or that acknowledge it (「ok」): with no conversation, nothing to search for.
RELATIONAL = frozenset(
    {"両方", "両者", "双方", "其々", "違い", "違う", "差", "比較", "比べる", "共通", "vs", "対", "他", "以外"}
    | {"続き", "同じ", "詳しい", "詳細", "もっと", "どう", "ok", "okay", "了解"}
)
# An opener saying the question leaves the conversation (「別の話だけど、」「話変わるけど、」「ところで、」):
# it says nothing of what is asked, and the previous turn is not searched with it.
NEW_TOPIC = re.compile(
    r"^(?:(?:全然|まったく|全く)?別の話(?:題)?|別件|話(?:題)?(?:は|が)?(?:変わ|かわ)(?:る|ります|って)?|ところで)"
    r"(?:だけど|だけれど|ですが|なんだけど|なんですが|けど|が)?[、,，\s]*"
)
# 「じゃあ逆に共催は？」 after 後援: a contrast asked of a heading's subject the conversation has not
# touched turns to that subject; 「逆にデメリットは？」 names none and stays with it.
CONTRAST = re.compile(r"^(?:じゃあ|じゃ|では|なら|それなら)?[、,，\s]*(?:逆に|反対に|一方で?|対して)")
# 「じゃあ後援は？」 after 委託 and 補助: the next thing asked of in a row, nothing else said of it
NEXT_ONE = re.compile(r"^(?:じゃあ|じゃ|では|なら|それなら)[、,，\s]*(?=[^、。？?]+(?:は|って|だと|なら)[？?]?$)")
# 「委託だと？」「実行委員会の場合は？」 after a question about another form: a thing alone, as a case of
# the previous question (``AnswerChain.asked_again``); not 「委託とは？」, which asks what it is
BARE_CASE = re.compile(
    r"(?:(?:じゃあ|じゃ|では|なら|それなら|で)[、,，\s]*)?(?P<thing>[^、。？?\s]+?)"
    r"(?:の場合は?|のときは?|の時は?|だと|では|なら|だったら|は|って)[？?]?"
)
# How much nearer the city's other business (``corpus/offtopic.toml``) than any indexed sentence a
# question in a conversation must be to be judged on its own by its meaning. Dev: 0.03 changed no case
# and refused three unrelated next questions (駐車場, 残業代, 入札 after 後援 or 委託); 0.02 also refused
# 「申請の締め切りは？」 (+0.013 for 「あと、申請の期限は？」 after 後援, which asks about 後援).
OFF_TOPIC_SWITCH = 0.03
# … and a follow-up naming one thing only, in a word the guideline never uses: on dev the in-scope ones
# reach +0.007 (「会社も入る？」「費用はどっち持ち？」), the city's other business asked so starts at +0.033
# (「定年は？」 after 後援; 「ボーナスは？」 +0.022)
ONE_THING_SWITCH = 0.02
# … and a question asking a value of a thing the guideline names only in passing (``value_of_other_business``).
# Dev: the city's other business asked so is +0.014 and more (パークゴルフ場の使用料 +0.014, 有料のごみ袋は１枚
# いくら +0.016, 市の職員は何人 +0.018), the in-scope ones +0.009 at most (「日本語教室はどこでやっているん
# ですか？」, a place the guideline does not give: partial).
OFF_TOPIC_VALUE = 0.01
# How much less an off-topic topic or an indexed sentence counts when it shares no word with the
# question (``AnswerChain.off_topic``). Dev, the fitted model unchanged: 0.005 refuses one more question
# out of scope (協働事業の残業代) and one fewer in scope (屋台の衛生面 and 後援); 0.01 also answers one out
# of scope and refuses two more in scope.
UNGROUNDED = 0.005
# Sources shown in an earlier answer's text (［第３章（７）後援］, a block's 「■ 第３章（７）後援」, an older
# ［3-7 後援］), for histories that carry no citations as data.
MARKER = re.compile(r"［([^］\n]{1,200})］|^■ ([^\n（]+)", re.MULTILINE)
SECTION_ID = re.compile(r"^\s*([0-9０-９]+(?:-[0-9０-９A-Za-zＱ]+)*)(?:[\s　]|$)")
# Nouns that ask for more of whatever is being talked about (「具体例は？」「申請の締め切りは？」): they
# name no topic, so a follow-up made of them is not out of scope on its own.
CONVERSATIONAL = frozenset(
    {
        "具体",
        "具体例",
        "例",
        "詳細",
        "理由",
        "根拠",
        "ポイント",
        "注意点",
        "留意点",
        "要点",
        "続き",
        "例外",
        "申請",
        "申し込み",
        "提出",
        "手続き",
        "以外",  # 「ホームページ以外には？」: more of the same, not a thing of its own
        "ケース",  # 「使わせちゃダメなケースは？」: the guideline's 場合, a situation, not a thing
        "他",
    }
)
ASKS_WHO = re.compile(r"(どこ|誰|だれ|何処)(が|から)")
# who a thing just mentioned is with (「協定の相手は？」「後援はどこの団体？」): that one's party, not the form's
ASKS_PARTY = re.compile(r"どこ|誰|だれ|何処")
# 「協定はどこと結んだの？」「誰と協定を…」: asked with whom, not where or by whom
WITH_WHOM = re.compile(r"(どこ|誰|だれ|何処)と")
# what 「Xも…？」 asks when it asks whether X belongs to what was just listed
# The last kana of a verb's noun form (話し合い, 見直し): the guideline may write the verb (話し合って)
DEVERBAL = "いきしちにひみりぎじび"
BELONGS = frozenset({"入る", "含む", "含める", "対象", "該当", "当てはまる", "参加", "加わる"})
PARTIES = frozenset({"相手", "相手方", "先", "パートナー", "主催", "主催者", "事業者", "団体"})
# 「どんな相手と結んでるの？」「どこと組んでるの？」: who an act is done with, asked as a party
ASKS_WITH_WHOM = re.compile(r"(どこ|誰|だれ|何処|(どんな|どういう|どの)(相手|団体|ところ|人))と")
# 「ホームページ以外には？」「講座のほかには？」「他には？」: more of what was just said, not it again
BESIDES = re.compile(r"(以外|(の|その)?(ほか|他)(に|には|は|で|の)|^(ほか|他)(に|には|は)?[？?]?$)")
# 「…こともある？」 asks whether it may happen; a sentence 「…こともあります。」 says it may
SOMETIMES = re.compile(r"(こと|場合)も(ある|あります|あり得る|ありえる)")
OTHERS = re.compile(r"他|ほか|以外|別の")
# a pointer word that is a determiner (「その協定は…」): the noun after it says what is pointed at
DETERMINERS = frozenset({"その", "この", "あの"})
SUGGESTIONS = 3
SUGGESTIONS_HEADING = "近い内容の箇所："  # before the nearest sections listed in a refusal's text
NOT_COVERED = "ガイドラインでは扱っていない内容のようです。"  # a refusal with no section near the question
# Log-odds that a question with a history is better searched with the previous turn, fitted by
# logistic regression (L2 1.0, classes balanced) on the 57 dev cases where searching with and without
# the previous turn give a different outcome (35 better with it). 5-fold CV over the 107 dev cases with a
# history, 8 seeds: 0.835 right (fold sd 0.078, seed means 0.823–0.850) against 0.775 for the hand
# rule it replaces (a topic of its own: alone; else with the previous turn when its evidence gains
# 0.01). Tried and not better under CV: adding the evidence alone, the previous section's rank in the
# question's own ranking, the share of its words its own top three sections use and the scope score
# (0.828–0.836 by L2); a threshold rule on the evidence gain, new words and the scope score (0.791).
FOLLOW_UP_WEIGHTS = {
    "bias": 2.44,
    "gain": 21.68,  # evidence with the previous turn minus alone (typically -0.02 … +0.12)
    "previous_cover": 2.30,  # share of the question's words the previous sections use (0 … 1)
    "new_words": -0.84,  # each word of the question the previous sections never use
    "terms": -0.56,  # each content word of the question: a long question says what it is about
    "has_topic": -3.67,  # a heading's subject, a glossary word or a department of its own
    "points_back": 2.57,  # 「それは…」「その場合…」「じゃあ…」
}
# A chapter named by number: 第４章, 第4章
CHAPTER_NUMBER = re.compile(r"第?\s*([0-9０-９]+)\s*章")  # 第４章, and as typed: ４章, GL4章
# a question about how a document is laid out as a whole: its chapters
STRUCTURE = re.compile(r"何章|章立て|章構成|構成|目次|全体像|どんな章|各章|章ごと")
# words that name a document's parts, not a topic in them (「第５章って何項目？」)
STRUCTURE_WORDS = frozenset(
    {"章", "章立て", "構成", "目次", "全体", "全体像", "各", "何", "まで", "項目", "幾", "つ", "個", "数"}
)
# Heading words most sections use (協働 0.31, 市 0.64, 取り組み 0.75) name no chapter; 心得, 形態, 事例 do
CHAPTER_WORD_IDF = 1.0
RESCUED_TERMS = 3  # a follow-up of more content words than this says what it is about itself
# how a thing is done, asked as such or by what to do 「具体的に」 (「具体的には何で発信すればいいの？」)
HOW_ASKED = re.compile(rf"{HOW_TO.pattern}|具体的に[^？?]*(すれば|したら|やれば)")
HOW_WORDS = re.compile(rf"{HOW_TO.pattern}|具体的に(は)?")
HOW_ELSEWHERE_RANKS = 3  # the how is looked for in the next two sections ranked, not further down
TOPIC_IDF = 1.5  # title words more common than this (協働, 市, 事業) name no topic of their own
# the second-ranked section is quoted in a block of its own when the ranking barely tells it from the
# first (its score within this share of the first's) and its best sentence answers at least as well: two
# sources that both answer; closer calls than this on dev were mostly a neighbour that only adds noise
SECOND_BLOCK_SCORE_SHARE = 0.98
OWN_WORDS_WINDOW = 3  # the retrieved sections a follow-up's own words are looked for in (the best and two more)
COUNTED_WINDOW = 5  # the retrieved sections a number of the thing counted is looked for in (the best and four more)
# What a part asks for when it asks for examples: the cases of chapter 5 answer it.
CASE_NOUNS = frozenset({"例", "事例", "実例", "具体例", "実績"})
# what a department question says besides its subject (「協定の取組の担当課は？」 → 協定): the department
# asked for, examples, and 取組, which every case is
NOT_SUBJECT = DEPARTMENT_WORDS | CASE_NOUNS | {"取組", "取り組み"}
# Asked which department, where the sections quoted name none (「後援の担当課は？」: （７）後援 says what
# 後援 is, not who grants it), the answer says the guideline does not name it; a section saying that each
# department takes 協働 on (Ｑ１, １ ガイドラインの内容: 「各担当部署において…」) does answer who.
DEPARTMENT_MISSING = "担当課"
DEPARTMENT_STATED = fold("担当部署")

# what a partner does, asked by an interrogative before a verb of doing (「何してるの」「どんな活動を」「どういう
# ことに取り組んでる」); not what it is (「どういう組織？」)
PARTNER_DOES = re.compile(r"(何|なに|なん|どんな|どういう)[^。？?]*(活動|して|する|やって|やる|取り組|取組)")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FollowUpEvidence:
    """What the follow-up decision is made on (``AnswerChain.searched_with_previous``)."""

    gain: float  # evidence of the question with the previous turn, minus the question alone
    previous_cover: float  # IDF-weighted share of the question's words the previous sections use
    new_words: int  # the question's words (two characters or more) the previous sections never use
    terms: int  # the question's content words
    has_topic: bool
    points_back: bool


@dataclass
class Turn:
    """What flows through the chain, one step adding to it."""

    question: str  # as searched: kana and IME slips respelled as the guideline writes its terms
    history: list[dict[str, Any]] = field(default_factory=list)
    typed: str = ""  # the question as typed
    respelled: list[Respelling] = field(default_factory=list)
    guessed: frozenset[str] = frozenset()  # the lemmas of the respelled terms (コウエン → 後援): a guess
    read_as: list[tuple[str, list[str]]] = field(default_factory=list)  # shorthand searched as the guideline's terms
    doc_ids: frozenset[str] = frozenset()  # only these documents (empty: all)
    analysis: Question | None = None
    resolved_query: str = ""
    context_question: str = ""  # the earlier turn a follow-up leans on
    previous: list[tuple[str, str]] = field(default_factory=list)  # what the previous answer cited
    query_vector: list[float] | None = None
    alone_vector: list[float] | None = None  # the question's own embedding (differs for a follow-up)
    part_vectors: list[list[float]] = field(default_factory=list)  # each part's, for a question of several
    vectors: dict[str, list[float]] = field(default_factory=dict)  # every text embedded for this turn
    nearest: dict[str, list[tuple[int, float]]] = field(default_factory=dict)  # each text's nearest chunks
    headings: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # sections naming each side
    alone_evidence: float = 0.0
    hits: list[SectionHit] = field(default_factory=list)
    blocks: list[SectionHit] = field(default_factory=list)  # the sections to quote, one block each
    missing: str = ""  # a detail asked for that the quoted sections do not state
    missing_parts: list[str] = field(default_factory=list)  # parts of a two-part question not covered
    listed: tuple[str, str] | None = None  # a section whose sub-sections a count asked for counts
    items: tuple[int, int] | None = None  # the bulleted list of the first block a count asked for counts
    groups: list[int] = field(default_factory=list)  # or the headed groups of its list (their headings)
    said: frozenset[str] = frozenset()  # sentences a 「ほかには？」 follow-up has already been shown
    exhausted: bool = False  # 「ほかには？」 when the section just discussed says nothing more
    examples: bool = False  # the cases of a form asked for examples (「協定を結んだ例ある？」) are quoted
    contrast: bool = True  # every side of a comparison found by a heading naming it: their difference is shown
    unreadable: bool = False  # nothing in the question to search for (「あ」)
    described_case: bool = False  # a follow-up only describing a case (「会員だけ参加できるイベントは？」)
    evidence: float = 0.0
    scope: ScopeFeatures | None = None  # what out-of-scope is decided on (``assistant.answering.scope``)
    answer: Answer | None = None


@dataclass
class TurnChunk:
    """What the compose and check steps stream: a generated piece of text, or the finished turn.
    Chunks add up (as LangChain's message chunks do), so ``invoke`` gets the whole."""

    text: str = ""
    turn: Turn | None = None

    def __add__(self, other: TurnChunk) -> TurnChunk:
        return TurnChunk(self.text + other.text, other.turn or self.turn)


def spelled_out(question: str, read_as: list[tuple[str, list[str]]]) -> str:
    """The question with each abbreviation the glossary reads written out as the term it abbreviates
    (「ステパトって何してるの？」 → 「ステーションパトロール隊って…」): the embedding model and the
    listed questions know the term, not the shorthand, which only the keyword rankings' glossary
    expansion would otherwise find. A partner's name (町連 → 町内会連合会) stays as typed: the rankings
    read a partner written out as who the question is about (``PARTNERS``), not what it asks."""
    text = unicodedata.normalize("NFKC", question)
    for word, terms in read_as:
        term = next((t for t in terms if abbreviates(word, t)), None)
        if term is not None and not PARTNERS.search(unicodedata.normalize("NFKC", term)):
            text = text.replace(unicodedata.normalize("NFKC", word), term)
    return text if text != unicodedata.normalize("NFKC", question) else question


# The citizens as staff speak of them, politely (住民さん, 住民の方), read as the guideline's 市民: as typed,
# 住民 drew such questions to the few sections that write it of someone in particular (第６章 Ｑ５ 「地域住民
# であれば誰でも加入できる」, 第５章（３）「住民と市とが協力して」). Plain 住民 stays: it names those too
# (住民組織). Not 地元の人: 地元 is a word the guideline lacks, and read as 市民 it made 「地元の人の祭りの日程
# っていつ？」 look in scope; nor 役所 as 市, which made 「役所のルールで服装の決まりってある？」 answered.
CITIZENS = re.compile(r"(?:住民|市民)の?(?:さん|皆さん|皆様|みなさん|方々|方(?![法針向式面]))(?:たち|達)?")


def as_citizens(question: str) -> str:
    """The question with the citizens, as staff speak of them, named as the guideline names them:
    「住民さんでできることは住民さんでやってもらうってこと？」 → 「市民でできることは市民で…」."""
    return CITIZENS.sub("市民", question)


def parent(key: tuple[str, str]) -> tuple[str, str]:
    """The section a section is under, by its id (3-5 → 3, 2-1-1 → 2-1, 3 → "")."""
    doc_id, section_id = key
    return doc_id, section_id.rsplit("-", 1)[0] if "-" in section_id else ""


def previous_user_question(history: list[dict[str, Any]]) -> str:
    for message in reversed(history):
        if message.get("role") == "user" and str(message.get("content", "")).strip():
            return str(message["content"])
    return ""


def previous_answer(history: list[dict[str, Any]]) -> str:
    for message in reversed(history):
        if message.get("role") == "assistant":
            return str(message.get("content", ""))
    return ""


def lead_of(answer_text: str) -> list[str]:
    """The sentences an answer leads with (its first paragraph), framing lines aside."""
    return content_sentences(answer_text.split("\n\n", 1)[0])


def compounds(phrase: list[Token]) -> list[list[Token]]:
    """The compound nouns of a noun phrase (its nouns joined directly, not by の) that name something:
    with a content noun, and cut before a noun that asks (「協定期間何年」 names 協定期間)."""
    runs: list[list[Token]] = []
    for t in phrase:
        if runs and runs[-1] and t.start == runs[-1][-1].end and t.surface != "の":
            runs[-1].append(t)
        else:
            runs.append([] if t.surface == "の" else [t])
    found = []
    for run in runs:
        asking = next((i for i, t in enumerate(run) if t.surface in QUESTION_NOUNS), len(run))
        if any(t.is_content and t.pos == "名詞" for t in run[:asking]):
            found.append(run[:asking])
    return found


def previous_citations(history: list[dict[str, Any]], service: Service) -> list[tuple[str, str]]:
    """(doc_id, section_id) the last answer cited: its citations as data, else its ［3-7 後援］ markers."""
    for message in reversed(history):
        if message.get("role") != "assistant":
            continue
        if message.get("citations"):
            keys = [(c["doc_id"], c["section_id"]) for c in message["citations"]]
        else:
            labels = {
                source_label(service.documents, d.doc_id, s.section_id): (d.doc_id, s.section_id)
                for d in service.documents
                for s in d.sections
            }
            keys = []
            for match in MARKER.finditer(str(message.get("content", ""))):
                shown = (match.group(1) or match.group(2)).strip()
                if shown in labels:
                    keys.append(labels[shown])
                elif old := SECTION_ID.match(shown):
                    keys += [(d.doc_id, old.group(1)) for d in service.documents if old.group(1) in d]
        return [k for k in dict.fromkeys(keys) if any(d.doc_id == k[0] and k[1] in d for d in service.documents)]
    return []


def make_reranker(settings: Settings, answerer: ExtractiveAnswerer, retriever: HybridRetriever) -> Reranker:
    if settings.reranker_model:
        return CrossEncoderReranker(settings.reranker_model)
    return EvidenceReranker(answerer, listed=retriever.listed_similarity)


def leading(hits: list[SectionHit], hit: SectionHit) -> list[SectionHit]:
    """``hits`` with ``hit`` first, at the score of the one it displaces."""
    return [replace(hit, score=hits[0].score), *(h for h in hits if h.key != hit.key)]


def lead_with(turn: Turn, hit: SectionHit) -> None:
    """``hit`` leads the turn's sections and is the one to quote."""
    turn.hits = leading(turn.hits, hit)
    turn.blocks = [turn.hits[0]]


class AnswerChain:
    """Answers questions for one loaded ``Service``; safe to share between threads."""

    def __init__(
        self,
        service: Service,
        chat_model: BaseChatModel | None = None,
        model_id: str = "",
        warning: str = "",
        reranker: Reranker | None = None,
        scope_model: ScopeModel = SCOPE_MODEL,
    ) -> None:
        self.service = service
        self.settings = service.settings
        # what loading tokenizes (~600 texts of the guideline) is read back from the build when an
        # earlier process kept it there: a cold ask then skips about half a second of MeCab
        with remembered_tokens(service.tokenizer, service.index.build_dir / TOKENS_FILE):
            self.idf = idf_table(service.index.terms)
            sentences = section_sentences(service.documents, service.tokenizer, service.embeddings)
            self.topics = self.topic_terms()
            # headings that join words with ・ (補助・助成): what the question analysis keeps as one thing
            self.units = frozenset(s.title for d in service.documents for s in d.sections if "・" in s.title)
            # a question's analysis, kept: a follow-up looks at the previous question's again, and the
            # answerer at each part of a two-part question
            self.analyze = lru_cache(maxsize=1024)(
                lambda text: analyze(text, service.tokenizer, self.topics, self.units)
            )
            self.extractive = ExtractiveAnswerer(
                service.documents,
                service.tokenizer,
                self.idf,
                sentences,
                glossary=service.retriever.glossary,
                analyzer=self.analyze,
            )
            self.reranker = reranker or make_reranker(self.settings, self.extractive, service.retriever)
            self.spelling = Spelling(service.documents, service.tokenizer)
            self.scope_model = scope_model
            self._section_text = {
                (d.doc_id, s.section_id): fold(f"{s.title}{s.text}") for d in service.documents for s in d.sections
            }
            self._section_terms = {
                key: self.extractive.title_terms(*key).union(*found.terms)
                for key, found in self.extractive.sentences.items()
            }
            # what the scope model counts as a section's words: its department's too (「男女平等参画課 協働」
            # names 第５章（７）'s department, no word it lacks)
            self._scope_terms = {
                key: terms | frozenset(service.tokenizer.content_lemmas(self.extractive.section(*key).department or ""))
                for key, terms in self._section_terms.items()
            }
            # the sentences of every indexed document beside the city's other business: a topic some
            # indexed document covers is nearer one of its sentences than any off-topic phrase
            self._sentence_matrix = np.vstack(
                [found.vectors for found in self.extractive.sentences.values()] or [np.zeros((0, 1), np.float32)]
            )
            self._sentence_terms = [
                frozenset(terms) for found in self.extractive.sentences.values() for terms in found.terms
            ]
            # and their headings that name a thing (not a Ｑ＆Ａ's question): a string of nouns (「後援 申請
            # 期限」) is as near a short off-topic phrase (「児童手当の申請」) as a question gets, and nearer a
            # heading it names a word of; one it names none of is no nearer for that (「今日の天気は？」)
            titled = [key for key in self.extractive.sentences if not asks(self.extractive.section(*key).title)]
            self._headings = (
                np.asarray(
                    service.embeddings.embed_documents([self.extractive.section(*key).title for key in titled]),
                    dtype=np.float32,
                )
                if titled
                else np.zeros((0, 1), np.float32)
            )
            self._heading_terms = [self.extractive.title_terms(*key) for key in titled]
            topics = OffTopics.load(self.settings.corpus_dir / OFFTOPIC).topics
            self._off_topics = (
                np.asarray(service.embeddings.embed_documents(topics), dtype=np.float32) if topics else None
            )
            self._off_topic_terms = [frozenset(service.tokenizer.content_lemmas(t)) for t in topics]
            self.shorthand = self.shorthand_words()
        self.llm = (
            LLMAnswerer(chat_model, self.extractive, timeout=self.settings.llm_timeout, model_id=model_id)
            if chat_model is not None
            else None
        )
        self.warning = warning  # shown with every answer, e.g. when the configured LLM failed to load
        # compose and check are generators: ``stream`` yields the answer's pieces as they are made and
        # ``invoke`` adds them up (``TurnChunk.__add__``), so both run this one graph
        self.runnable: Runnable = (
            RunnableLambda(self.resolve, name="resolve")
            | RunnableLambda(self.retrieve, name="retrieve")
            | RunnableLambda(self.rerank, name="rerank")
            | RunnableGenerator(self.compose, name="compose")
            | RunnableGenerator(self.check_stream, name="check")
        ).with_config(run_name="guideline_qa")

    # ------------------------------------------------------------------ steps

    def resolve(self, turn: Turn) -> Turn:
        """Analyse the question and decide, from evidence, whether it leans on the previous turn."""
        turn.typed = validate_question(turn.question)
        turn.question, turn.respelled = self.spelling.correct(turn.typed)
        turn.guessed = frozenset(
            lemma for r in turn.respelled for lemma in self.service.tokenizer.content_lemmas(r.term)
        )
        turn.history = clean_history(turn.history)
        new_topic = NEW_TOPIC.search(turn.question)
        if new_topic and new_topic.end() < len(turn.question):
            turn.question = turn.question[new_topic.end() :]
        turn.read_as = self.read_as(turn.question)
        turn.question = as_citizens(spelled_out(turn.question, turn.read_as))
        # the previous question asked again of another thing (「委託だと？」 after 「共催の責任は誰が負うの？」)
        # or a new aspect of both things just compared (「注意点は？」 after 「委託と補助の違いは？」): the
        # question it stands for is answered as if asked alone
        asked_again = self.asked_again(turn) if turn.history and not new_topic else ""
        if asked_again:
            turn.question = asked_again
        turn.analysis = self.analyze(turn.question)
        turn.resolved_query = turn.question
        # a request for a detail is in scope when its topic is: the detail's own words (書類, 謝礼)
        # are what the guideline may lack, not what the question is about
        topic = self.scope_topic(turn.analysis)
        own_topic = topic != turn.question and bool(self.service.tokenizer.content_lemmas(topic))
        terms = self.service.tokenizer.content_lemmas(turn.question)
        # nothing to search for (「あ」), unless, in a conversation, it points back or asks about what
        # was just said (「いつまで？」「誰が？」 after an answer)
        if turn.history and not new_topic:
            turn.unreadable = not (terms or POINTS_BACK.search(turn.question) or ASKS.search(turn.question))
        else:  # alone, 「それ」「両方」 point at nothing
            turn.unreadable = all(t in RELATIONAL for t in terms)
        context = combined = ""
        if turn.history and not turn.unreadable and not new_topic:
            turn.previous = previous_citations(turn.history, self.service)
            if self.llm is None and not asked_again:  # the question with the previous turn, should it lean on it
                earlier = self.spelling.correct(previous_user_question(turn.history))[0]
                titles = " ".join(self.extractive.section(*key).title for key in turn.previous)
                context = f"{earlier} {titles}".strip()
                combined = f"{context} {turn.question}".strip()
        # the parts the comparison step searches or judges, embedded in the question's call: the
        # engine's time grows with the tokens embedded, and a side a heading names needs no vector
        # to be found. A question asking two things is judged out of scope by its nearest part
        # (``scope_features``): there each part counts (「共催の注意点と、公用車の使い方」 is answered)
        parts = self.side_queries(turn) if turn.analysis.compares else []
        if turn.analysis.asks_other_parts:
            parts = list(dict.fromkeys(parts + turn.analysis.sides))
        # the dense ranking's reading of the question (a partner named read as 相手) in the same call
        dense = [self.service.retriever.dense_text(text) for text in filter(None, [turn.question, combined])]
        searched = [turn.question] + [topic] * own_topic + [combined] * bool(combined) + dense
        vectors = self.embed(turn, searched + parts)
        # and how well the index covers each text and each text's dense ranking in one Chroma query
        self.nearest(turn, searched)
        turn.part_vectors = [vectors[part] for part in parts] if self._off_topics is not None else []
        turn.alone_vector = turn.query_vector = vectors[turn.question]
        turn.alone_evidence = self.evidence(turn, turn.question)
        if own_topic:
            turn.alone_evidence = self.evidence(turn, topic)
        if not turn.history or turn.unreadable or new_topic or asked_again:
            return turn
        if self.llm is not None:
            turn.resolved_query = self.llm.condense(turn.question, turn.history)
            if turn.resolved_query != turn.question:
                turn.context_question = previous_user_question(turn.history)
                turn.query_vector = self.embed(turn, [turn.resolved_query])[turn.resolved_query]
            return turn
        topic_terms = self.service.tokenizer.content_lemmas(topic)
        points_back = bool(POINTS_BACK.search(turn.question))
        alone_hits = self.search(turn, turn.question)
        alone_vector = vectors[topic] if own_topic else turn.alone_vector
        alone = self.scope_of(topic, turn.alone_evidence, alone_hits, alone_vector, turn.guessed)
        # the switches below were set on the nearness by meaning alone, a topic's words aside: grounding
        # it in shared words moved 「申請の締め切りは？」 after 後援 (申請: no word of the guideline) over 0.03
        nearer = self.off_topic(alone_vector)
        # a suffix (政治＋家, 懇親＋会) is part of the word before it, not a word the guideline lacks
        # and a thing is named by a noun: 「学校も入るの？」's verb is no business of its own
        # how the asker feels (ダメ, 不安) names no thing either
        things = [
            t.lemma
            for t in self.service.tokenizer.tokenize(topic)
            if t.is_content and t.pos == "名詞" and t.lemma not in STANCE
        ]
        # a follow-up asking a value by an interrogative (「返事もらえるまで何日くらいかかる？」 after 後援)
        # leans on the conversation as a pointer does: the thing it is asked of was just discussed
        # and so does the value of a detail the previous answer's sections name (「期限は最長で何年？」
        # after 補助: 第３章（６）'s 「期限や使途の制限を設ける」)
        earlier_text = "".join(self._section_text.get(key, "") for key in turn.previous)
        asks_value = any(
            d.needs_value and (not d.words or any(fold(w) in earlier_text for w in d.words))
            for d in turn.analysis.details
        )
        # a follow-up that only describes a case (「入場料で稼ぐのが目的のコンサートだったら？」) asks the
        # previous question again of that case: the scene's words are new by nature, so they do not make
        # it out of scope; only its meaning does (「年休を半日だけ取るときは？」 is the city's other business)
        turn.described_case = self.describes_a_listed_case(turn)
        case = turn.described_case or self.only_names_a_case(turn.question, turn.previous)
        # a follow-up naming one thing only (「費用はどっち持ち？」 after 共催, 「会社も入る？」 after the partners,
        # 「反対にマイナス面は？」 after the merits) names it in the staff's word for what was just said: that
        # the guideline never writes the word says nothing, so it is refused only by its meaning, at a
        # closer margin than a longer question (「ボーナスは？」 is the city's other business)
        one_thing = self.names_one_thing(turn.question)
        pointing = points_back or asks_value
        bound = self.bound_words(topic)
        by_words = not (case or one_thing) and self.out_of_scope_alone(things, turn.previous, pointing, bound)
        if by_words and not self.out_of_scope_alone(things, turn.previous, pointing):
            # its only word of the previous answer's is part of a thing the guideline never names (町内 of
            # 町内会長): judged as it is alone, by the question's own meaning (「町内会長の任期は？」)
            alone = self.scope_of(topic, turn.alone_evidence, alone_hits, turn.alone_vector, turn.guessed)
        if (
            not turn.analysis.asks_department
            # by its words, or by its meaning: clearly nearer the city's other business than any
            # indexed sentence, and naming a thing the guideline never does (「じゃあ、市役所の駐車場は
            # 何時まで使える？」 after 後援; 「あと、申請の期限は？」 is only a little nearer)
            and (
                by_words
                or (
                    nearer > (ONE_THING_SWITCH if one_thing and not case else OFF_TOPIC_SWITCH)
                    and any(t not in self.idf for t in things)
                )
                # 「その日に粗大ごみは出せる？」 after ゼロごみの日: the pointer only sets the day or place,
                # what is asked is a thing the guideline never names; judged as it would be alone
                or (self.sets_scene(turn.question) and any(t not in self.idf for t in things))
            )
            and self.scope_model.score(alone) > self.scope_model.threshold
        ):
            return turn  # out of scope on its own, 「それ」 or not: the conversation does not rescue it
        if self.points_elsewhere(turn.question, turn.previous):
            return turn  # 「そのパトロール隊は…」 after ゼロごみの日: the noun, not 「その」, says what is meant
        if self.turns_to(turn.question, turn.previous):
            return turn  # 「じゃあ逆に共催は？」 after 後援: 共催 itself, not 後援 again
        if self.names_what_was_said(turn) or self.asks_only_with_whom(turn.question):
            # 「協定の相手は？」 after レジ袋削減's 「…と自主協定を結んでいます。」: the 協定 just mentioned
            turn.context_question = context
            turn.resolved_query, turn.query_vector = combined, vectors[combined]
            return turn
        vector = vectors[combined]
        combined_evidence = self.evidence(turn, combined)
        evidence = self.follow_up_evidence(turn, topic_terms, points_back, combined_evidence)
        if (
            self.searched_with_previous(evidence)
            or BESIDES.search(turn.question)
            or case  # only a case: asked again of it (above)
            # 「それって安く外注するってこと？」 proposes a reading of what was just said, in words of its own
            or PROPOSED.search(turn.question)
            or self.rescued_by_previous(turn, topic, alone, nearer, combined, vector, combined_evidence)
        ):
            turn.context_question = context
            turn.resolved_query, turn.query_vector = combined, vector
        return turn

    def asked_again(self, turn: Turn) -> str:
        """The question a short follow-up stands for, or "": the previous question asked of another thing
        that a heading of the same level names (「委託だと？」 after 「共催の責任は誰が負うの？」 → 「委託の責任は
        誰が負うの？」; 「じゃあ後援は？」 after 「委託とは？」 → 「後援とは？」), or an aspect asked of both things
        the previous question compared (「注意点は？」 after 「委託と補助の違いは？」 → 「委託と補助の注意点は？」).
        What is asked is then the new thing's, or both things', not the previous answer's again."""
        earlier = self.spelling.correct(previous_user_question(turn.history))[0]
        if not (ASKS.search(earlier) or re.search(r"[？?]\s*$", earlier)):
            return ""  # 「後援名義を出すか迷ってる」 asks nothing to ask again
        case = BARE_CASE.fullmatch(turn.question.strip())
        return (case and self.asked_of_sibling(case.group("thing"), earlier, turn)) or self.asked_of_both(
            turn.question, earlier, turn
        )

    def asked_of_sibling(self, thing: str, earlier: str, turn: Turn) -> str:
        """``earlier`` with the one thing it asks about replaced by ``thing``, when a heading names each
        and the two headings are siblings (第３章's （１）共催 and （５）委託), else ""."""
        tokenizer = self.service.tokenizer
        tokens = tokenizer.tokenize(thing)
        if not tokens or not all(t.pos in NOMINAL_POS for t in tokens):
            return ""
        mine = self.heading_sections(thing, turn)[:1]
        if not mine:
            return ""
        found = []
        for run in noun_runs(tokenizer.tokenize(earlier)):
            start, end = run[0].start, run[-1].end
            theirs = self.heading_sections(earlier[start:end], turn)[:1]
            if theirs and theirs != mine and parent(theirs[0]) == parent(mine[0]):
                found.append((start, end))
        if len(found) != 1:
            return ""  # none, or two things (a comparison): which one the new thing stands for is unsaid
        start, end = found[0]
        return f"{earlier[:start]}{thing}{earlier[end:]}"

    def asked_of_both(self, question: str, earlier: str, turn: Turn) -> str:
        """「委託と補助の注意点は？」 for 「注意点は？」 after 「委託と補助の違いは？」: a follow-up naming an aspect
        (a noun first) and nothing of its own, after a question comparing things each a heading names."""
        tokenizer = self.service.tokenizer
        before = self.analyze(earlier)
        if not before.compares or len(before.sides) < 2:
            return ""
        if not all(self.heading_sections(side, turn) for side in before.sides):
            return ""
        tokens = tokenizer.tokenize(question)
        if (
            not tokens
            or not (tokens[0].is_content and tokens[0].pos == "名詞")
            or self.has_topic(question)
            or POINTS_BACK.search(question)
            or len(tokenizer.content_lemmas(question)) > RESCUED_TERMS
            or self.analyze(question).compares
        ):
            return ""
        return f"{'と'.join(before.sides)}の{question}"

    def previous_terms(self, previous: Iterable[tuple[str, str]]) -> frozenset[str]:
        """The words (lemmas of the headings and sentences) of the sections the previous answer came from."""
        return frozenset().union(*(self._section_terms.get(key, frozenset()) for key in previous))

    def only_names_a_case(self, question: str, previous: Collection[tuple[str, str]] = ()) -> bool:
        """Whether a follow-up is only a case (「町内会の一部の人だけが対象のイベントだったら？」「会員限定の
        集まりのときは？」): a condition with nothing asked of it, so it asks the previous question again of
        that case, however many words describe it. One naming a heading's subject (「共催だったら？」 after
        後援) asks about that subject instead; a glossary word read as words of the ``previous`` sections
        (「お寺が主催するお祭りだったら？」 after 後援's list: お寺 → 宗教) describes a case of them."""
        said = self.previous_terms(previous)
        return (
            bool(SITUATION.search(question))
            and not ASKS.search(question)
            and not self.has_topic(question, besides=said)
        )

    def describes_a_listed_case(self, turn: Turn) -> bool:
        """Whether a follow-up is only a thing described, asked nothing but 「は？」 (「会員だけ参加できる
        イベントは？」「じゃあ営利企業のイベントは？」 after 後援), and what answers it alone, by its own words and
        meaning, is an item of a list in the sections just discussed (「・ 特定の市民のみを対象として
        いる。」): a case of that list, as 「…イベントだったら？」 is. 「気をつけることは？」 is answered by
        a list's lead-in, or by no list, and asks what it says."""
        assert turn.analysis is not None
        tokens = [t for t in self.service.tokenizer.tokenize(turn.question) if t.pos not in ("補助記号", "空白")]
        if (
            len(tokens) < 3
            or tokens[-1].surface not in ("は", "って")
            or not (tokens[-2].pos == "名詞" and tokens[-2].is_content)  # not 「気をつけることは？」
            # described: by a clause (「会員だけ参加できる」) or a thing's own (「営利企業の」)
            or not any(t.pos in ("動詞", "形容詞", "助動詞") or t.surface == "の" for t in tokens[:-2])
            or turn.analysis.details
            or ASKS.search(turn.question)
        ):
            return False
        if self.has_topic(turn.question, besides=self.previous_terms(turn.previous)):
            return False
        terms = self.extractive.query_terms(turn.question)
        return any(self.extractive.item_answers(key, terms, turn.alone_vector) for key in dict.fromkeys(turn.previous))

    def names_one_thing(self, question: str) -> bool:
        """Whether the question names a single thing: one run of nouns (マイナス＋面 is one), a
        contrast's opener aside (「反対に」 turns, it names nothing)."""
        opener = CONTRAST.search(question)
        tokens = self.service.tokenizer.tokenize(question[opener.end() :] if opener else question)
        runs, end = 0, None  # where the current run of nouns (and their suffixes) ends
        for token in tokens:
            if token.is_content and token.pos == "名詞" and token.lemma not in STANCE:
                runs += token.start != end
                end = token.end
            else:
                end = token.end if token.pos == "接尾辞" and token.start == end else None
        return runs == 1

    def names_what_was_said(self, turn: Turn) -> bool:
        """Whether a short follow-up asks about something the previous answer mentioned in passing: a
        heading's subject (協定) that the answer's text uses though its sections are not about it
        (レジ袋削減's 「…と自主協定を結んでいます。」), asked who it is with: 「協定の相手は？」, and as the
        topic or object of the question, 「協定はどこと結んだの？」「誰と協定を結んでるの？」; a bare noun
        just used refers back to it, as 「その」 would. A definition (「協定とは？」) asks about the
        term itself."""
        assert turn.analysis is not None
        if turn.analysis.defined or turn.analysis.compares or not turn.previous:
            return False
        tokens = self.service.tokenizer.tokenize(turn.question)
        # the thing asked about: the first noun, after a question word asking with whom (「誰と」)
        first = 2 if len(tokens) > 2 and ASKS_PARTY.fullmatch(tokens[0].surface) and tokens[1].surface == "と" else 0
        if len(tokens) < first + 3 or tokens[first].lemma not in self.topics:
            return False
        if tokens[first + 1].surface == "の":
            if tokens[first + 2].lemma not in PARTIES and not ASKS_PARTY.search(turn.question):
                return False  # 「後援の条件は？」 after a case under 後援 asks about 後援 itself, not that one
        elif tokens[first + 1].surface not in ("は", "って", "を") or not WITH_WHOM.search(turn.question):
            return False
        if len(self.service.tokenizer.content_lemmas(turn.question)) > RESCUED_TERMS:
            return False
        said = set(self.service.tokenizer.content_lemmas(" ".join(content_sentences(previous_answer(turn.history)))))
        titles = set().union(*(self.extractive.title_terms(*key) for key in turn.previous))
        return tokens[first].lemma in said - titles

    def asks_only_with_whom(self, question: str) -> bool:
        """Whether a follow-up asks only with whom something was done, naming no thing but a party
        (「どんな相手と結んでるの？」 after 協定): what was done with them is what was just discussed."""
        nouns = [t.lemma for t in self.service.tokenizer.tokenize(question) if t.is_content and t.pos == "名詞"]
        return bool(ASKS_WITH_WHOM.search(question)) and all(n in PARTIES for n in nouns)

    def sets_scene(self, question: str) -> bool:
        """Whether the question's pointer only says when or where (「その日に」「その会場で」: 「その」,
        nouns, then に or で): the conversation sets the scene, and what is asked is the rest."""
        tokens = self.service.tokenizer.tokenize(question)
        if len(tokens) < 3 or tokens[0].surface not in DETERMINERS:
            return False
        i = 1
        while i < len(tokens) and tokens[i].pos in ("名詞", "接尾辞"):
            i += 1
        return i > 1 and i < len(tokens) and tokens[i].pos == "助詞" and tokens[i].surface in ("に", "で")

    def points_elsewhere(self, question: str, previous: list[tuple[str, str]]) -> bool:
        """Whether a question opening with 「その」「この」「あの」 names, right after it, the subject of a
        heading that the previous answer's sections never use (「その協定は…」 after 地区別避難計画): what it
        points at is that thing, wherever the guideline says it, not the last case."""
        tokens = self.service.tokenizer.tokenize(question)
        if not tokens or tokens[0].surface not in DETERMINERS:
            return False
        named = []
        for token in tokens[1:]:
            if token.pos not in ("名詞", "接頭辞", "接尾辞"):
                break
            named.append(token.lemma)
        distinctive = [t for t in named if t in self.topics]  # a heading's subject: not その場合, そのうち
        earlier = self.previous_terms(previous)
        return bool(distinctive) and not any(t in earlier for t in distinctive)

    def turns_to(self, question: str, previous: list[tuple[str, str]]) -> bool:
        """Whether a question opening with a contrast (「逆に」「一方」), or asking 「じゃあ…は？」 of a thing
        alone, names a heading's subject that the previous answer's sections never use (「じゃあ逆に共催は？」
        after 後援, 「じゃあ後援は？」 after 補助): it asks about that one."""
        opener = CONTRAST.search(question) or NEXT_ONE.search(question)
        if not opener:
            return False
        named = [t for t in self.service.tokenizer.content_lemmas(question[opener.end() :]) if t in self.topics]
        earlier = self.previous_terms(previous)
        return bool(named) and not any(t in earlier for t in named)

    def rescued_by_previous(
        self,
        turn: Turn,
        topic: str,
        alone: ScopeFeatures,
        nearer: float,
        combined: str,
        vector: list[float],
        combined_evidence: float,
    ) -> bool:
        """Whether a short follow-up that names nothing of its own, in the guideline's words (「学校も
        入るの？」 after 協働のパートナー), and that alone would be refused is answered with the previous
        turn: the conversation says what it is about, and with it the question is in scope. ``nearer``:
        how much nearer the city's other business the question alone is, by meaning (``off_topic``)."""
        tokenizer = self.service.tokenizer
        terms = [t for t in tokenizer.content_lemmas(turn.question) if t not in CONVERSATIONAL]
        nouns = [t.lemma for t in tokenizer.tokenize(turn.question) if t.is_content and t.pos == "名詞"]
        unknown = set(nouns) - self.idf.keys()
        if (
            len(terms) > RESCUED_TERMS
            # 「市役所の食堂のメニューは？」 names other business in two words the guideline never uses; one
            # such word is a staff word for what was just said (「会社も入る？」 after the partners, 費用 for
            # 経費, 赤字): refused only by its meaning, clearly nearer the city's other business
            or len(unknown) >= 2
            or (unknown and nearer > ONE_THING_SWITCH)
            or self.has_topic(turn.question)
            or not self.scope_model.out_of_scope(alone)
        ):
            return False
        hits = self.search(turn, combined, previous=turn.previous)
        return not self.scope_model.out_of_scope(self.scope_of(topic, combined_evidence, hits, vector, turn.guessed))

    def follow_up_evidence(
        self,
        turn: Turn,
        terms: list[str],
        points_back: bool,
        combined_evidence: float,
    ) -> FollowUpEvidence:
        """What decides whether a question leans on the previous turn, all from the question alone
        and with the previous turn."""
        assert turn.analysis is not None
        terms = [t for t in dict.fromkeys(terms) if t not in CONVERSATIONAL]
        previous = self.previous_terms(turn.previous)
        rarest = max(self.idf.values(), default=1.0)
        weight = {t: self.idf.get(t, rarest) for t in terms}
        total = sum(weight.values()) or 1.0
        return FollowUpEvidence(
            gain=combined_evidence - turn.alone_evidence,
            previous_cover=sum(w for t, w in weight.items() if t in previous) / total,
            new_words=sum(1 for t in terms if t not in previous and len(t) >= 2),
            terms=len(terms),
            # a staff word the glossary reads as words of the sections just discussed (販促 → 営利 after
            # 後援) names nothing new: it asks about what was said
            has_topic=self.has_topic(turn.question, besides=previous),
            points_back=points_back,
        )

    @staticmethod
    def searched_with_previous(f: FollowUpEvidence) -> bool:
        """Whether the question is searched with the previous turn: a small logistic decision
        (``FOLLOW_UP_WEIGHTS``) instead of a hand rule, so a question in plain words about something
        new (「市民に興味を持ってもらうには？」 after 補助) leaves the previous topic behind."""
        w = FOLLOW_UP_WEIGHTS
        log_odds = (
            w["bias"]
            + w["gain"] * f.gain
            + w["previous_cover"] * f.previous_cover
            + w["new_words"] * f.new_words
            + w["terms"] * f.terms
            + w["has_topic"] * f.has_topic
            + w["points_back"] * f.points_back
        )
        return log_odds > 0

    def shorthand_words(self) -> frozenset[str]:
        """The glossary's staff words that an answer says it read as the guideline's terms: nouns the
        guideline never uses (メリデメ, 町会, 委託先), not a phrase (お金を出) or a stem whose word the
        dictionary completes (振り返 → 振り返し, 名義貸 → 貸し)."""

        def whole_noun(word: str) -> bool:
            tokens = self.service.tokenizer.tokenize(word)
            return all(
                t.pos in NOMINAL_POS and not (t.lemma != t.surface and t.lemma.startswith(t.surface)) for t in tokens
            )

        glossary = self.service.retriever.glossary.entries
        return frozenset(w for w in glossary if fold(w) not in self.spelling.text and whole_noun(w))

    def read_as(self, question: str) -> list[tuple[str, list[str]]]:
        """The shorthand a question uses, with the guideline's terms it was searched as."""
        return [(w, terms) for w, terms in self.service.retriever.glossary.readings(question) if w in self.shorthand]

    def topic_terms(self) -> frozenset[str]:
        """The nouns the guideline's headings are about (共催, 後援, ゼロごみ …), Q&A questions aside."""
        tokenizer = self.service.tokenizer
        return frozenset(
            t.lemma
            for d in self.service.documents
            for s in d.sections
            if "Q" not in s.section_id
            for t in tokenizer.tokenize(s.title)
            if t.is_content and t.pos == "名詞" and len(t.lemma) >= 2 and self.idf.get(t.lemma, 0.0) >= TOPIC_IDF
        )

    def has_topic(self, question: str, besides: frozenset[str] = frozenset()) -> bool:
        """Whether the question names something of its own: a heading's subject used as a noun, a
        glossary word or a department. (「共催とは？」 does; 「お金の負担はどうなるの？」 and
        「どこが後援してるの？」, where 後援 is what someone does, do not.) A glossary word one of whose
        readings is said in ``besides`` (the words of the sections just discussed) names that, nothing new:
        取り決め (協定, 合意書) after 第５章（13）'s 「…合意書を交わしています。」."""
        retriever = self.service.retriever
        readings = [
            word
            for word, terms in retriever.glossary.readings(question)
            if not besides or not any(set(self.service.tokenizer.content_lemmas(r)) <= besides for r in terms)
        ]
        if readings or retriever.named_departments(question):
            return True
        tokens = self.service.tokenizer.tokenize(question)
        # 「どこが後援してるの？」 asks who does it to something left unsaid: the act is no topic
        asks_who = bool(ASKS_WHO.search(question))
        return any(
            t.is_content
            and t.lemma in self.topics
            and not (asks_who and i + 1 < len(tokens) and tokens[i + 1].lemma == "為る")
            for i, t in enumerate(tokens)
        )

    def out_of_scope_alone(
        self, terms: list[str], previous: list[tuple[str, str]], pointing: bool = False, bound: Collection[str] = ()
    ) -> bool:
        """Most of the question's words are words the guideline never uses (有給休暇の申請), or some
        are and none of the others is a word of the previous answer's sections (今日の天気). A question
        pointing back (「それで…」) names what it asks in few words: one staff word the guideline does
        not use (「逆にデメリットは？」) is not enough, two are (「それで職員の懇親会の費用も払える？」)."""
        terms = [t for t in terms if t not in CONVERSATIONAL]
        unknown = [t for t in terms if t not in self.idf]
        if not terms or not unknown or (pointing and len(set(unknown)) < 2):
            return False
        if len(unknown) * 2 > len(terms):
            return True
        earlier = {
            t
            for key in previous
            if key in self.extractive.sentences
            for s in self.extractive.sentences[key].terms
            for t in s
        }
        # a known word inside a compound with an unknown one (町内＋会長) names that other thing, not
        # the previous answer's (町内会): 「町内会長の任期は？」 after 町内会 is as out of scope as alone
        return not any(t in earlier for t in terms if t not in unknown and t not in bound)

    def bound_words(self, text: str) -> frozenset[str]:
        """The known words of ``text``'s compound nouns that hold a noun the guideline never uses."""
        return frozenset(
            t.lemma
            for run in noun_runs(self.service.tokenizer.tokenize(text))
            if any(t.is_content and t.pos == "名詞" and t.lemma not in self.idf for t in run)
            for t in run
            if t.lemma in self.idf
        )

    def retrieve(self, turn: Turn) -> Turn:
        previous = turn.previous if turn.context_question else None
        turn.hits = self.search(turn, turn.resolved_query, previous=previous)
        turn.evidence = self.evidence(turn, turn.resolved_query) if turn.context_question else turn.alone_evidence
        return turn

    def rerank(self, turn: Turn) -> Turn:
        """Reorder the sections, then choose what to quote: the best one, or one per side."""
        assert turn.analysis is not None
        related = self.service.retriever.glossary.expand(turn.question)
        terms = self.extractive.query_terms(turn.question, turn.context_question, related)
        yes_no = turn.analysis.kind == "yes-no"
        to_do = turn.question if turn.analysis.asks_what_to_do and not turn.analysis.asks_department else ""
        turn.hits = self.reranker.rerank(
            turn.resolved_query, turn.hits, terms, turn.alone_vector, yes_no, to_do, turn.question
        )
        if not turn.hits:
            return turn
        done = self.what_partner_does(turn)
        if done is not None:
            turn.hits = leading(turn.hits, done)
        if turn.analysis.asks_department and not turn.analysis.compares:
            turn.hits = self.department_first(turn.hits, turn.question)
            turn.hits = self.who_takes_it_on(turn)
        if turn.analysis.defined:
            turn.hits = self.definition_first(turn.analysis.defined, turn)
        turn.blocks = [turn.hits[0]]
        if turn.analysis.compares:
            turn.blocks = self.sides(turn)
        else:
            # a department named in the question, or asked for: the top section's siblings of that department
            named = {self.extractive.section(*h.key).department for h in turn.hits[:1]}
            if self.service.retriever.named_departments(turn.question):
                turn.blocks += [
                    h
                    for h in turn.hits[1:3]
                    if None not in named and self.extractive.section(*h.key).department in named
                ]
            elif turn.analysis.asks_department and (cases := self.cases_of_form(turn)):
                turn.blocks = cases
            elif turn.analysis.asks_department:
                # asked which department does one thing: its other cases only for another part asked
                turn.blocks += [
                    h
                    for h in turn.hits[1:3]
                    if None not in named
                    and self.extractive.section(*h.key).department in named
                    and self.adds_part(h, turn.blocks, turn.question)
                ]
            elif cases := self.examples_of_form(turn):
                # 「協定を結んだ例ある？」: the form's own section, when it ranks first, then its cases
                turn.blocks = [h for h in turn.blocks if not self.is_case(h.key)] + cases
            elif turn.analysis.asks_cases and None in named and done is None:
                # what is actually done: a department's own case (chapter 5) beside a section without one
                turn.blocks += [h for h in turn.hits[1:3] if self.extractive.section(*h.key).department][:1]
            elif turn.analysis.kind == "which" and None in named:
                # 「レジ袋削減でお店と結んだ取り決めは、協働の形態でいうとどれに当たる？」: the case the
                # question names is quoted beside the form it asks which one of
                turn.blocks += [h for h in turn.hits[1:3] if self.names_case(turn.question, h.key)][:1]
            # (not after 「…以外には？」, whose blocks ``besides`` chooses from what was not shown yet)
            if len(turn.blocks) == 1 and not (
                turn.analysis.asks_department
                or turn.analysis.defined
                or (turn.context_question and BESIDES.search(turn.question))
            ):
                turn.blocks = self.both_answer(turn, terms, yes_no) or turn.blocks
        chapter = None
        if not (
            turn.analysis.compares or turn.analysis.asks_department or turn.analysis.kind == "which" or turn.examples
        ):
            chapter = self.named_chapter(turn.question)
        if chapter is not None and (
            CHAPTER_NUMBER.search(turn.question)
            or turn.hits[0].key == chapter
            or self.within_section(turn.hits[0].key, chapter)
        ):
            # 「協働の心得って何？」「第４章には何が書いてある？」 ask for the chapter as a whole: its opening
            # text (else its best retrieved sub-section) leads, and its sub-sections are named; named by
            # its heading's words, only when the ranking agrees (「市民でできることは市民がやるって考え方で
            # いいの？」 asks about 1-2-1's idea, not about 第２章 協働の考え方)
            turn.listed = chapter
            lead = self.service.retriever.get(chapter) if chapter in self.extractive.sentences else None
            if lead is None:
                lead = next((h for h in turn.hits if self.within_section(h.key, chapter)), None)
            if lead is not None:
                ours = next((h for h in turn.hits if h.key == lead.key), None)
                lead = replace(ours or lead, score=turn.hits[0].score)
                turn.hits = [lead, *(h for h in turn.hits if h.key != lead.key)]
                turn.blocks = [lead]
        whole = self.whole_document(turn) if chapter is None else None
        if whole is not None:
            # 「このガイドラインって何章まである？」: its chapters are named above its opening section
            turn.listed = whole
            lead = next(
                (
                    self.service.retriever.get((whole[0], s.section_id))
                    for s in self.service.document(whole[0]).sections
                    if (whole[0], s.section_id) in self.extractive.sentences
                ),
                None,
            )
            if lead is not None:
                lead = replace(lead, score=turn.hits[0].score)
                turn.hits = [lead, *(h for h in turn.hits if h.key != lead.key)]
                turn.blocks = [lead]
        others = self.same_department(turn)
        if others is not None:
            # 「その課は他にどんな事例をやってる？」 after a case: that department's other cases, each quoted
            hits = [next((h for h in turn.hits if h.key == k), None) or self.service.retriever.get(k) for k in others]
            top = turn.hits[0].score
            found = [replace(h, score=max(h.score, top)) for h in hits if h is not None]
            if found:  # what answers ranks first
                turn.hits = [*found, *(h for h in turn.hits if h.key not in set(others))]
                turn.blocks = found
            else:  # the department's only case is the one just discussed
                turn.exhausted = True
                ours = self.service.retriever.get(turn.previous[0])
                if ours is not None:
                    if ours not in turn.hits:
                        turn.hits.append(ours)
                    turn.blocks = [ours]
        elif turn.context_question and BESIDES.search(turn.question) and not turn.analysis.compares:
            self.besides(turn)
        elif turn.context_question and (
            (yes_no and not self.has_topic(turn.question)) or self.names_what_was_said(turn)
        ):
            # 「町内会も入るの？」 after 協働のパートナー: the section just discussed, when it names what is
            # asked, answers it, not a neighbour the question with the previous turn ranked first
            asked = self.added_nouns(turn)
            ours = next((k for k in turn.previous if asked & self._section_terms.get(k, frozenset())), None)
            if ours is not None and turn.blocks[0].key not in turn.previous:
                hit = next((h for h in turn.hits if h.key == ours), None) or self.service.retriever.get(ours)
                if hit is not None:
                    if hit not in turn.hits:
                        turn.hits.append(hit)
                    turn.blocks = [hit]
        including = self.counts_it_in(turn) if yes_no and not turn.analysis.compares else None
        if including is not None:
            lead_with(turn, including)
        counted = self.counted_elsewhere(turn)
        if counted is not None:
            lead_with(turn, counted)
        own = self.said_in_own_words(turn)
        if own is not None:
            lead_with(turn, own)
        # (a yes/no question, 「町内会も入るの？」, asks whether it is among them: the overview's list says so)
        if turn.context_question and not (turn.analysis.compares or yes_no) and turn.blocks[0].key in turn.previous:
            child = self.narrowed_to(turn)
            if child is not None:
                turn.blocks = [child]
        # (asked alone or with the previous turn: 「どうやって市民に情報を届ければいい？」 names its own topic)
        if not turn.analysis.compares and HOW_ASKED.search(turn.question) and turn.blocks[0].key in turn.previous:
            how = self.gives_the_how(turn)
            if how is not None:
                lead_with(turn, how)
        # a detail is missing when none of the sections to quote states it (checked on their text)
        missing = [
            d for d in turn.analysis.details if d.asked and not any(d.supplied_by(h.text, h.title) for h in turn.blocks)
        ]
        missing += self.bearers_missing(turn, missing)
        if missing and turn.context_question and not turn.analysis.compares:
            # a follow-up asking a detail no section states (「何日前までに？」 after 後援) is answered
            # from the conversation's section, not from whatever the combined query ranked first
            ours = next((h for h in turn.hits if h.key in turn.previous), None)
            if ours is not None and turn.blocks[0].key not in turn.previous:
                turn.blocks = [ours]
                missing = [d for d in turn.analysis.details if d.asked and not d.supplied_by(ours.text, ours.title)]
        if turn.listed is not None:
            missing = [d for d in missing if not d.counts]  # the chapters or sub-sections named are the count
        # a case's own details (where, who by name, when) are asked of the case the question names, or
        # that the conversation is about (「いつ？」 after まちづくりトーク); when a thing happened, of anything
        if any(d.of_case and not d.happened for d in missing) and not (
            self.names_case(turn.question, turn.blocks[0].key)
            or (turn.context_question and turn.blocks[0].key in turn.previous and self.is_case(turn.blocks[0].key))
        ):
            missing = [d for d in missing if not d.of_case or d.happened]
        # what is asked of a thing the question names (whether it is required, how it is done) is missing
        # only of a thing the guideline never writes, nor a glossary word it reads as one of its terms: of
        # 市の職員 or 取り決め (協定) it says what it says elsewhere
        missing = [d for d in missing if not d.unwritten or not self.writes(d.words[0], turn.question)]
        # a detail of a part already named as not covered (「…と、残業代の申請のしかた」) is not named again
        missing = [d for d in missing if not any(turn.question[slice(*d.span)] in part for part in turn.missing_parts)]
        if any(d.counts for d in missing):
            # 「協働の形態っていくつ？」 counts the guideline's own headings: the sub-sections of the section
            # (or of its chapter) that the question names
            turn.listed = next(
                (k for h in [*turn.blocks[:1], *turn.hits[:3]] if (k := self.counted_section(turn.question, h.key))),
                None,
            )
            if turn.listed is not None and not self.name_things(
                self.extractive.documents[turn.listed[0]].children(turn.listed[1])
            ):
                # （１）対等の立場で協力する…: precepts, not the kinds counted; the section itself is quoted
                listed = self.service.retriever.get(turn.listed)
                turn.listed = None
                if listed is not None and listed.key in self.extractive.sentences:
                    turn.blocks = [next((h for h in turn.hits if h.key == listed.key), listed)]
                    if listed.key not in {h.key for h in turn.hits}:
                        turn.hits.append(listed)
            if turn.listed is not None:
                missing = [d for d in missing if not d.counts]
                # the section counted is the one quoted, when it has text of its own (第５章's is its sub-sections')
                listed = next((h for h in turn.hits if h.key == turn.listed), None) or self.service.retriever.get(
                    turn.listed
                )
                if listed is not None and listed.key in self.extractive.sentences:
                    if listed not in turn.hits:
                        turn.hits.append(listed)
                    turn.blocks = [listed]
            elif any(d.counts_items for d in missing):
                # 「…場合っていくつある？」 counts the bulleted list of the section quoted: its items
                turn.items = self.extractive.counted_list(turn.blocks[0].key, terms)
                if turn.items is None:
                    turn.groups = self.extractive.counted_groups(turn.blocks[0].key, terms)
                if turn.items is not None or turn.groups:
                    missing = [d for d in missing if not d.counts_items]
            # 「協働のパートナーって何種類？」: the kinds are listed in a sentence, their number is not said
            missing = [
                d for d in missing if not (d.counts_items and self.enumerated(turn.question, d, turn.blocks[0].key))
            ]
        if self.asks_which_department(turn) and self.names_case(turn.question, turn.blocks[0].key):
            # 「まちづくりトークの窓口はどこの課？」: the department of the case named is the contact asked
            # for; not of a thing a case only touches (「DV被害の相談窓口はどこの課？」: no desk is named)
            missing = [d for d in missing if d.kind != CONTACT]
        self.quote_what_names(turn, missing)
        names = [d.name for d in missing[:2]]
        if not names and self.department_unnamed(turn):
            names = [DEPARTMENT_MISSING]
        turn.missing = "・".join(names)
        turn.scope = self.scope_features(turn)
        return turn

    def both_answer(self, turn: Turn, terms: dict[str, float], yes_no: bool) -> list[SectionHit] | None:
        """The first two sections, each in a block of its own, when the second deserves one: the ranking
        barely tells them apart (``SECOND_BLOCK_SCORE_SHARE``) and its best sentence answers the question
        at least as well as the first's (the evidence the rerank step weighed). The first still leads: a
        better sentence score alone is weak evidence (「お金のこととか期間とか、最初にはっきりさせておくべき？」
        scores Ｑ２'s 「最初は、難しいと…」 above （２）'s 「…期間…を明確にしてください。」). 「住民と組むと手間
        ばっかり増えない？」: Ｑ７'s advice, then Ｑ３'s 「手間や時間がかかることもあります。」."""
        if len(turn.hits) < 2 or turn.hits[0].score <= 0:
            return None
        first, second = turn.hits[:2]
        if second.score < SECOND_BLOCK_SCORE_SHARE * first.score:
            return None
        if (
            turn.analysis is not None
            and turn.analysis.asks_what_to_do
            and self.extractive.only_describes(turn.question, second, terms, turn.alone_vector, yes_no)
        ):
            return None  # what a thing the question does not name is, for a question asking what to do
        best = [self.extractive.best_sentence(h, terms, turn.alone_vector, yes_no) for h in (first, second)]
        if best[0] is None or best[1] is None or best[1].score < best[0].score:
            return None
        return [first, second]

    def counts_it_in(self, turn: Turn) -> SectionHit | None:
        """For a yes/no question asking whether a thing belongs (「企業もはいる？」 after the partners' traits),
        a top section that counts it in by a sentence (第２章 １: 「…ＮＰＯや企業も含めて、まちづくりを進める
        パートナーとして捉えています。」) when the section chosen only speaks of it (（１）'s 「企業は、社員
        ボランティア制度…」): that sentence decides."""
        assert turn.analysis is not None
        if not turn.blocks or not asks_if_included(turn.question):
            return None
        extractive = self.extractive
        if extractive.including_sentence(turn.blocks[0].key, turn.question) is not None:
            return None
        return next(
            (
                h
                for h in turn.hits[:3]
                if h.key in extractive.sentences and extractive.including_sentence(h.key, turn.question) is not None
            ),
            None,
        )

    def counted_elsewhere(self, turn: Turn) -> SectionHit | None:
        """A retrieved section that states the number asked of the thing the question counts, when the
        one to quote does not: 「町内会って市内にいくつある？」 is answered by 第１章 ３'s 「市内にある８０を
        超える町内会」, not by （５）まちづくりトーク, which names 町内会 more often but gives no number."""
        assert turn.analysis is not None
        # how many of a thing (いくつ, 何個); a number of times or people has a counter of its own
        counts = [d for d in turn.analysis.details if d.asked and d.counts_items]
        if (
            not counts
            or turn.analysis.compares
            or any(d.supplied_by(h.text, h.title) for d in counts for h in turn.blocks)
        ):
            return None
        # a follow-up (「市内にいくつあるの？」 after 町内会) counts the thing the question before it named
        earlier = previous_user_question(turn.history) if turn.context_question else ""
        nouns = [
            t.surface
            for t in counted_nouns(self.service.tokenizer.tokenize(f"{turn.question} {earlier}"))
            if self.idf.get(t.lemma, 0.0) >= TOPIC_IDF  # the thing counted, not a unit (年, 月)
        ]
        if not nouns:
            return None
        number_of = re.compile(number_of_pattern(nouns))
        candidates = turn.hits[1:COUNTED_WINDOW]
        if earlier:
            # searched with that question, not with the titles of the sections it was answered from (第２章
            # １ 協働のパートナーは様々 outranks 第１章 ３'s 「市内にある８０を超える町内会」)
            candidates += self.search(turn, f"{earlier} {turn.question}")[:COUNTED_WINDOW]
        return next((h for h in candidates if number_of.search(h.text)), None)

    def said_in_own_words(self, turn: Turn) -> SectionHit | None:
        """For a follow-up searched with the previous turn and answered from a section just discussed, a
        section among the best few that says, in one sentence, every thing the question names itself (two
        or more), when the section chosen has no such sentence: 「市民の関心が高いところからでもいい？」
        after Ｑ６ is 第４章's 「市民の関心が高い部分から試行することも有効です。」. The previous question's
        words, searched with it, outweigh the few of its own."""
        assert turn.analysis is not None
        if (
            not turn.context_question
            or turn.analysis.asks_department  # 「担当部署はどこ？」 names no thing of its own
            # a staff word the glossary reads names it in other words than the guideline's (お金の支援: 補助・
            # 助成・財政支援), not by 金 and 支援
            or self.service.retriever.glossary.readings(turn.question)
            or not turn.blocks
            or turn.blocks[0].key not in turn.previous
        ):
            return None
        # a noun of circumstance (ところ, 場合, 時: 副詞可能) names no thing; a compound (町内＋会) names one
        things = [
            {
                t.lemma
                for t in run
                if t.is_content
                and t.pos == "名詞"
                and t.pos_type != "副詞可能"
                and t.lemma not in STANCE
                and t.lemma in self.idf
            }
            for run in noun_runs(self.service.tokenizer.tokenize(turn.question))
        ]
        things = [t for t in things if t]
        if len(things) < 2:
            return None
        nouns = set().union(*things)

        def says(key: tuple[str, str], words: set[str]) -> bool:
            return key in self.extractive.sentences and any(words <= s for s in self.extractive.sentences[key].terms)

        # the section chosen speaks of it when it says the question's distinctive things together (「それって
        # 経費は市だけが持つの？」 after 共催: 「経費負担や社会的責任については、双方にある…」; 市 is everywhere)
        if says(turn.blocks[0].key, {n for n in nouns if self.idf[n] >= TOPIC_IDF}):
            return None
        return next((h for h in turn.hits[1:OWN_WORDS_WINDOW] if says(h.key, nouns)), None)

    def narrowed_to(self, turn: Turn) -> SectionHit | None:
        """「企業だとどんな活動してる？」「町内会ってどんなことやってるの？」 after the partners (2-1): the
        section just discussed names the thing only in passing, and one of its sub-sections among the
        hits speaks of it (its heading, or a sentence opening with it: 2-1-1's 「また、町内会や自治会は、
        …」), so that sub-section answers, not the overview again."""
        asked = self.added_nouns(turn)
        if not asked:
            return None
        parent = turn.blocks[0].key
        if self.speaks_of(parent, asked):
            return None
        return next(
            (
                h
                for h in turn.hits[:5]
                if h.key != parent and self.within_section(h.key, parent) and self.speaks_of(h.key, asked)
            ),
            None,
        )

    def gives_the_how(self, turn: Turn) -> SectionHit | None:
        """「具体的にどうやって発信すればいい？」 after 情報共有 (2-2): the overview just shown says that it is to be
        done; the next section among the hits not shown yet that speaks of what is asked (発信: Ｑ６'s 「ホームページ
        などを通じて、積極的に情報発信を行いましょう。」) says how, and answers; None when none does."""
        known = set().union(*(self.extractive.title_terms(*key) for key in turn.previous))
        said = HOW_WORDS.sub(" ", turn.question)  # the words asking how (どう of どうやって) name nothing
        asked = {t for t in self.service.tokenizer.content_lemmas(said) if self.idf.get(t, 0.0) >= TOPIC_IDF} - known
        for hit in turn.hits[1:HOW_ELSEWHERE_RANKS] if asked else []:
            if hit.key in turn.previous or hit.key not in self.extractive.sentences:
                continue
            if any(asked & set(terms) for terms in self.extractive.sentences[hit.key].terms):
                return hit
        return None

    def speaks_of(self, key: tuple[str, str], nouns: set[str]) -> bool:
        """Whether a section's heading names one of ``nouns``, or one of its sentences opens with one
        (past a connective such as また): the sentence is about that thing."""
        if nouns & self.extractive.title_terms(*key):
            return True
        section = self.extractive.sentences.get(key)
        hit = self.service.retriever.get(key)
        if section is None or hit is None:
            return False
        for start, end in section.spans:
            first = next(
                (t for t in self.service.tokenizer.tokenize(hit.text[start:end]) if t.is_content and t.pos == "名詞"),
                None,
            )
            if first is not None and first.lemma in nouns:
                return True
        return False

    def besides(self, turn: Turn) -> None:
        """「ホームページ以外には？」「他には？」: what the last answer showed, and what names the thing
        already known, come last; the section that names that thing beside others (Ｑ６'s 「ホームページ
        などを通じて…」 after 第２章 ２) is quoted first, else more of the section just discussed, else
        it says that section names nothing more. A thing the section just discussed names is left to
        its own list."""
        known = [
            t.surface
            for t in self.service.tokenizer.tokenize(BESIDES.split(turn.question)[0])
            if t.is_content and t.pos == "名詞" and self.idf.get(t.lemma, 0.0) >= TOPIC_IDF
        ]
        pool = {h.key: h for h in turn.hits}
        ours = [pool.get(key) or self.service.retriever.get(key) for key in turn.previous]
        if any(k in h.text for h in ours if h is not None for k in known):
            return  # named in the section just discussed: its own list (「町内会のほかには？」) answers
        said = set(content_sentences(previous_answer(turn.history)))
        candidates = list(
            {h.key: h for h in [*turn.hits[:3], *ours] if h is not None and h.key in self.extractive.sentences}.values()
        )
        for hit in candidates:
            text = self.extractive.section(*hit.key).text
            said |= {
                text[a:b].strip()
                for a, b in self.extractive.sentences[hit.key].spans
                if any(k in text[a:b] for k in known)
            }

        def new(hit: SectionHit) -> bool:
            text = self.extractive.section(*hit.key).text
            return any(text[a:b].strip() not in said for a, b in self.extractive.sentences[hit.key].spans)

        # the thing named beside others, else more of the section just discussed: not some other
        # section the words happen to rank (Ｑ８ 「この他にも…」 after Ｑ７)
        naming = [h for h in candidates if known and any(k in h.text for k in known) and new(h)]
        pick = next(iter(naming), None) or next((h for h in ours if h is not None and new(h)), None)
        others = [b for b in turn.blocks[1:] if pick is None or b.key != pick.key]  # a case asked for beside it
        if pick is None:
            turn.exhausted = not others
            pick = next((h for h in ours if h is not None), None)
        if pick is not None:
            if pick.key not in pool:
                turn.hits.append(pick)  # retrieved for this follow-up: citable
            turn.blocks = [pick, *others]
        turn.said = frozenset(said)

    def same_department(self, turn: Turn) -> list[tuple[str, str]] | None:
        """The other cases of the department whose case was just discussed, when the follow-up asks for
        them (「その課は他にどんな事例をやってる？」); None when it does not ask that."""
        if not (turn.previous and SAME_DEPARTMENT.search(turn.question) and OTHERS.search(turn.question)):
            return None
        department = next((self.extractive.section(*k).department for k in turn.previous if self.is_case(k)), None)
        if department is None:
            return None
        return [
            (d.doc_id, s.section_id)
            for d in self.service.documents
            for s in d.sections
            if s.department == department
            and (d.doc_id, s.section_id) not in turn.previous
            and (d.doc_id, s.section_id) in self.extractive.sentences
        ]

    def cases_of_form(self, turn: Turn) -> list[SectionHit]:
        """Asked which department does a form, not one case (「協定の担当課は？」, or 「担当はどこ？」 after
        「協定の例ある？」): every case of the city's that uses the form's word (災害に関する協定, レジ袋削減's
        自主協定, ＩＴ学習支援's パートナーシップ協定), when they belong to more than one department; else
        none, and the best case answers. A question naming nothing of its own asks of the previous one's
        subject; one naming a case (「災害協定の担当は？」's 災害) keeps to the cases that use its words."""
        subject = self.department_subject(turn)
        if subject is None:
            return []
        text, nouns = subject
        keys = [k for k in self.extractive.sentences if self.is_case(k) and (not turn.doc_ids or k[0] in turn.doc_ids)]
        if not self.names_form(nouns) or any(self.names_case(text, k) for k in keys):
            return []
        found = [k for k in keys if nouns <= self._section_terms.get(k, frozenset())]
        if len({self.extractive.section(*k).department for k in found}) < 2:
            return []
        return self.cited_cases(turn, found)

    def what_partner_does(self, turn: Turn) -> SectionHit | None:
        """A partner that is the question's topic, asked what it does (「町内会ってふだん何してるの」「自治会は
        どんなことに取り組んでるの？」), is answered by the section with a clause whose subject it is (第２章
        １（１）'s 「また、町内会や自治会は、…様々な活動を継続してきました。」), not by a case naming it as who
        took part (まちづくりトーク) nor by what it is (Ｑ５'s 「…基礎的な住民組織です。」); None otherwise."""
        topic = PARTNER_TOPIC.match(unicodedata.normalize("NFKC", turn.question))
        if topic is None or not PARTNER_DOES.search(turn.question):
            return None
        retriever = self.service.retriever
        keys = [k for k in retriever.written_of_keys(topic.group(1)) if not turn.doc_ids or k[0] in turn.doc_ids]
        found = next((h for h in turn.hits if h.key in keys), None)
        if found is None and keys:
            found = retriever.get(keys[0])
        return found

    def examples_of_form(self, turn: Turn) -> list[SectionHit]:
        """Asked for examples of a form (「協定を結んだ例ある？」「共催の実績は？」「パートナーシップ協定の
        実例は？」): every case of the city's that writes the question's noun naming the form, with the words
        joined to it (災害に関する協定, レジ袋削減's 自主協定 and ＩＴ学習支援's パートナーシップ協定 for 協定;
        only the last for パートナーシップ協定); none when the question names one case or no form."""
        if not RECORDS.search(turn.question):
            return []
        tokenizer = self.service.tokenizer
        keys = [k for k in self.extractive.sentences if self.is_case(k) and (not turn.doc_ids or k[0] in turn.doc_ids)]
        if any(self.names_case(turn.question, k) for k in keys):
            return []
        for start, end in noun_phrases(turn.question, tokenizer):
            tokens = tokenizer.tokenize(turn.question[start:end])
            named = next(
                (
                    i
                    for i, t in enumerate(tokens)
                    if self.idf.get(t.lemma, 0.0) >= TOPIC_IDF
                    and t.lemma not in NOT_SUBJECT
                    and self.names_form({t.lemma})
                ),
                None,
            )
            if named is None:
                continue
            phrase = tokens[: named + 1]
            words = fold("".join(t.surface for t in phrase))
            found = [
                k
                for k in keys
                if {t.lemma for t in phrase} <= self._section_terms.get(k, frozenset())
                and words in self._section_text[k]
            ]
            if found:
                turn.examples = True
                return self.cited_cases(turn, found)
        return []

    def department_subject(self, turn: Turn) -> tuple[str, set[str]] | None:
        """The question a department question is about and its distinctive nouns besides the department
        and examples asked for (「協定の取組の担当課は？」 → 協定): its own, else the previous question's
        (「担当はどこ？」 after 「協定の例ある？」); none when neither names anything."""
        tokenizer = self.service.tokenizer
        asked = [turn.question]
        if turn.history:
            asked.append(self.spelling.correct(previous_user_question(turn.history))[0])
        for text in asked:
            nouns = {
                t.lemma
                for t in tokenizer.tokenize(text)
                if t.is_content and t.pos == "名詞" and self.idf.get(t.lemma, 0.0) >= TOPIC_IDF
            } - NOT_SUBJECT
            if nouns:
                return text, nouns
        return None

    def names_form(self, nouns: set[str]) -> bool:
        """Whether one of the nouns is in the heading of a section that is no case (協定 in （３）協定)."""
        return any(
            n in self.extractive.title_terms(*k)
            for n in nouns
            for k in self.extractive.sentences
            if not self.is_case(k)
        )

    def cited_cases(self, turn: Turn, found: list[tuple[str, str]]) -> list[SectionHit]:
        """The cases found as hits, in retrieval order, each scored as the best hit at least so that all
        are quoted; those not retrieved join the hits, so citing them stays checked."""
        rank = {h.key: i for i, h in enumerate(turn.hits)}
        found = sorted(found, key=lambda k: rank.get(k, len(rank)))
        pool = {h.key: h for h in turn.hits}
        hits = [pool.get(k) or self.service.retriever.get(k) for k in found]
        top = turn.hits[0].score
        cases = [replace(h, score=max(h.score, top)) if h.key not in pool else h for h in hits if h is not None]
        turn.hits += [h for h in cases if h.key not in pool]  # found for this question: citable
        return cases

    def writes(self, noun: str, question: str) -> bool:
        """Whether the guideline uses the noun (its lemma, in any section's text or heading) or the
        question's glossary words name it."""
        if any(noun in word or word in noun for word, _ in self.service.retriever.glossary.readings(question)):
            return True
        # a verb's noun form (話し合い) the guideline writes as the verb (話し合って)
        return any(
            t.lemma in self.idf or (t.surface[-1] in DEVERBAL and fold(t.surface[:-1]) in self.spelling.text)
            for t in self.service.tokenizer.tokenize(noun)
            if t.is_content
        )

    def who_takes_it_on(self, turn: Turn) -> list[SectionHit]:
        """Asked which department does 協働 itself, naming nothing of its own (「協働ってどの課がやるもの
        なの？」): no case answers that, the sentence saying who takes it on does (Ｑ１ 「…各担当部署において
        主体的に取り組むことになります。」): the best of the top five sections that states it leads, in
        place of one that states nothing of who (Ｑ８'s fields)."""
        hits = turn.hits
        if not self.asks_which_department(turn):
            return hits
        if self.is_case(hits[0].key) or DEPARTMENT_STATED in fold(hits[0].text):
            return hits
        if self.department_subject(turn) is not None or self.service.retriever.named_departments(turn.question):
            return hits
        found = next((h for h in hits[1:5] if DEPARTMENT_STATED in fold(h.text)), None)
        if found is None:
            return hits
        return [replace(found, score=hits[0].score), *(h for h in hits if h is not found)]

    @staticmethod
    def asks_which_department(turn: Turn) -> bool:
        """Whether the question asks which department (「…の担当課は？」「どこの部署？」「誰に聞けばいい？」),
        not only speaks of one (「うちの課は予算が…」「担当してる団体の人たちが…」); not a comparison."""
        assert turn.analysis is not None
        return (
            turn.analysis.asks_department
            and not turn.analysis.compares
            and bool(ASKS_WHICH_DEPARTMENT.search(turn.question))
        )

    def department_unnamed(self, turn: Turn) -> bool:
        """Whether a question asking which department (「後援の担当課は？」) is answered by sections that
        name none: no case of the city's (chapter 5's, each with its department), and no sentence saying
        who takes it on (Ｑ１'s 「…各担当部署において主体的に取り組む…」). Naming a department asks what
        it does (「危機管理室の取組は？」), not which one; a comparison names each side's department."""
        assert turn.analysis is not None
        if not self.asks_which_department(turn) or not turn.blocks:
            return False
        if self.service.retriever.named_departments(turn.question):
            return False
        return not any(self.is_case(b.key) or DEPARTMENT_STATED in fold(b.text) for b in turn.blocks)

    def is_case(self, key: tuple[str, str]) -> bool:
        """Whether a section is a case of the city's own (chapter 5's, each with its department)."""
        return bool(self.extractive.section(*key).department)

    def names_case(self, question: str, key: tuple[str, str]) -> bool:
        """Whether the question names the case the section is (a chapter-5 example, with its department):
        a noun of the question that this section's heading or text writes and no other section does
        (「まちづくりトークの講師は誰？」 names （５）まちづくりトークの実施; 「防災の協働はどこでやってる？」 none)."""
        if not self.is_case(key):
            return False
        for start, end in noun_phrases(question, self.service.tokenizer):
            word = fold(question[start:end])
            if len(word) >= 2 and [k for k, text in self._section_text.items() if word in text] == [key]:
                return True
        return False

    def counted_section(self, question: str, key: tuple[str, str]) -> tuple[str, str] | None:
        """The section, or its parent, that has sub-sections and whose heading names what the question
        counts (形態 in 第３章 協働の形態, 事例 in 第５章 本市での主な取組事例), or None."""
        document = self.extractive.documents[key[0]]
        asked = self.asked_lemmas(question)  # 協働の形 → 形態 too
        section = document.section(key[1])
        for candidate in (section, document.section(section.parent) if section.parent else None):
            if candidate is None or len(document.children(candidate.section_id)) < 2:
                continue
            title = self.extractive.title_terms(key[0], candidate.section_id)
            if any(self.idf.get(t, 0.0) >= TOPIC_IDF for t in title & asked):
                return key[0], candidate.section_id
        return None

    def name_things(self, sections: list[Section]) -> bool:
        """Whether most headings name a thing (end in a noun: （１）共催, （４）結果の評価), not a precept
        to follow (（１）対等の立場で協力する): only kinds named so are what a count of kinds counts."""
        tokenizer = self.service.tokenizer
        nouns = sum(
            1 for s in sections if (tokens := tokenizer.tokenize(s.title)) and tokens[-1].pos in ("名詞", "接尾辞")
        )
        return nouns * 2 > len(sections)

    def enumerated(self, question: str, detail: Detail, key: tuple[str, str]) -> bool:
        """Whether a sentence of the section lists what a count asks the number of, in prose: a noun
        the question names before the count, after items joined by 、 and や (「個人、…グループや団体、
        町内会のほか、ＮＰＯや企業も含めて、…パートナーとして捉えています。」). The noun counted is the
        last one before the count (「…計画づくりには町内会がいくつ」 counts 町内会, not 計画, which a sentence
        of clauses joined by 、 happens to end with)."""
        if key not in self.extractive.sentences:
            return False
        tokens = self.service.tokenizer.tokenize(question[: detail.span[0]])
        nouns = [t.surface for t in tokens if t.pos == "名詞" and len(t.surface) >= 2]
        counted = set(nouns[-1:])
        text = self.extractive.section(*key).text
        for a, b in self.extractive.sentences[key].spans:
            for noun in counted:
                at = text.find(noun, a, b)
                if at > a and text.count("、", a, at) + text.count("や", a, at) >= 3:
                    return True
        return False

    def named_chapter(self, question: str) -> tuple[str, str] | None:
        """The chapter a question asks about as a whole, or None: it names the chapter by its number
        (第４章) or by every word of its heading that few sections use (心得 in 協働の心得; 協働, 市 and
        取組 are everywhere), and nothing else the guideline speaks of (「協働の心得で大事なことは？」,
        not 「協働の形態で名前だけ貸すのは？」, which asks about （７）後援)."""
        asked = self.asked_lemmas(CHAPTER_NUMBER.sub(" ", question))
        numbers = {unicodedata.normalize("NFKC", n) for n in CHAPTER_NUMBER.findall(question)}
        named = []
        for document in self.service.documents:
            for chapter in document.children(None):
                if len(document.children(chapter.section_id)) < 2:
                    continue
                key = (document.doc_id, chapter.section_id)
                title = self.extractive.title_terms(*key)
                words = {t for t in title if self.idf.get(t, 0.0) >= CHAPTER_WORD_IDF}
                label = unicodedata.normalize("NFKC", chapter.label)
                if (words and words <= asked) or any(label == f"第{n}章" for n in numbers):
                    # the document's own name is no other topic (「ガイドラインの３章って何の話？」)
                    named_doc = set(self.service.tokenizer.content_lemmas(document.title))
                    others = {
                        t for t in asked - title - named_doc - STRUCTURE_WORDS if self.idf.get(t, 0.0) >= TOPIC_IDF
                    }
                    if not others:
                        named.append(key)
        return named[0] if len(named) == 1 else None

    def whole_document(self, turn: Turn) -> tuple[str, str] | None:
        """(doc_id, "") when the question asks how the document it is about is laid out, its chapters
        (「このガイドラインって何章まである？」「ガイドラインの構成を教えて」), naming nothing in them."""
        if not turn.hits or not STRUCTURE.search(turn.question) or CHAPTER_NUMBER.search(turn.question):
            return None
        doc_id = turn.hits[0].doc_id
        title = set(self.service.tokenizer.content_lemmas(self.service.document(doc_id).title))
        asked = self.asked_lemmas(turn.question) - title - STRUCTURE_WORDS
        if any(self.idf.get(t, 0.0) >= TOPIC_IDF for t in asked):
            return None
        return (doc_id, "")

    def within_section(self, key: tuple[str, str], ancestor: tuple[str, str]) -> bool:
        """Whether section ``key`` lies under ``ancestor`` (at any depth)."""
        return key[0] == ancestor[0] and self.extractive.documents[key[0]].lies_under(key[1], ancestor[1])

    def definition_first(self, defined: str, turn: Turn) -> list[SectionHit]:
        """A section whose heading is the very word asked the meaning of (「協働とは」 for 「協働って
        どういう意味？」, （７）後援 for 「後援の意味は？」) is its definition: it leads."""
        wanted = {fold(defined), fold(f"{defined}とは")}
        for document in self.service.documents:
            if turn.doc_ids and document.doc_id not in turn.doc_ids:
                continue
            for section in document.sections:
                if fold(section.title) not in wanted or (document.doc_id, section.section_id) == turn.hits[0].key:
                    continue
                hit = next((h for h in turn.hits if h.key == (document.doc_id, section.section_id)), None)
                hit = hit or self.service.retriever.get((document.doc_id, section.section_id))
                if hit is not None:
                    return [hit, *(h for h in turn.hits if h.key != hit.key)]
                break
        return turn.hits

    def names_heading_word(self, question: str, hit: SectionHit) -> bool:
        """Whether the question uses a content word of the section's heading."""
        tokenizer = self.service.tokenizer
        return bool(set(tokenizer.content_lemmas(question)) & set(tokenizer.content_lemmas(hit.title)))

    def department_first(self, hits: list[SectionHit], question: str = "") -> list[SectionHit]:
        """Only a section that names its department can say which department does something: asked
        「どの課？」, the best such section among the top three leads in place of one without (Q&A 8's
        list of fields before 第５章（２）国際交流に係る取組)."""
        if self.extractive.section(*hits[0].key).department:
            return hits
        if DEPARTMENT_STATED in fold(hits[0].text):
            # a section saying which department takes a thing on answers too (「市民から企画を持ち込まれる
            # のはどこの部署？」: ３ 提案は協働のきっかけ's 「直接、担当部署に企画が持ち込まれる…」), not a
            # case that uses one of its words (（12）'s 「事業の企画」)
            return hits
        found = next((h for h in hits[1:3] if self.extractive.section(*h.key).department), None)
        # nor past a section whose heading the question names, unless the case's heading is named too
        # (「災害協定の担当は？」: 災害に関する協定): 「後援の担当課は？」 asks about 第３章（７）, which names
        # none, not about a case that mentions a 後援 it received
        if found is None or ("title" in hits[0].ranks and not self.names_heading_word(question, found)):
            return hits
        return [replace(found, score=hits[0].score), *(h for h in hits if h is not found)]

    def scope_features(self, turn: Turn) -> ScopeFeatures:
        """The evidence out-of-scope is decided on, from the question's topic (its asked-for details
        aside) and the sections ranked for it."""
        assert turn.analysis is not None
        topic = self.scope_topic(turn.analysis)
        vector = turn.query_vector
        if turn.analysis.asks_department and not turn.context_question and topic in turn.vectors:
            # the words asking which department (担当課) are not what is asked about, by meaning either:
            # they draw the question nearer the city's other business, listed by department
            vector = turn.vectors[topic]
        evidence = turn.evidence
        placeless = self.service.retriever.placeless(topic)
        if placeless != topic:
            # a place named (「苫小牧の天気は？」) is where, not what, the question asks about: by meaning
            # and by words it drew the question to the few sections naming the city's partners
            vector, evidence = self.embed(turn, [placeless])[placeless], self.evidence(turn, placeless)
            topic = placeless
        features = self.scope_of(topic, evidence, turn.hits, vector, turn.guessed)
        if turn.part_vectors:
            # a question of several parts is as near the indexed documents as its nearest part: an
            # off-topic part (「委託の注意点と、残業代の申請のしかた」) is named as missing, the rest answered
            words = self.service.tokenizer.content_lemmas(topic)
            nearest = min([features.off_topic, *(self.off_topic(v, words, turn.guessed) for v in turn.part_vectors)])
            features = replace(features, off_topic=nearest)
        return features

    def scope_topic(self, analysis: Question) -> str:
        """What the question's scope is judged on: its topic, the details it asks for aside (書類 and 謝礼
        are what the guideline may lack, not what 「補助金の申請に要る書類は？」 is about), unless that
        topic names only words the guideline uses in passing, none its own subject (a heading's, a glossary
        word, a department): in 「市長の任期は何年？」 市長 is such a word and 任期 is what is asked about,
        so only the words asking its value (何年) are left out. A word the guideline never writes (申請 of
        「申請の締め切りは？」) is weighed by the scope model as it is."""
        topic = analysis.topic_text
        return analysis.valueless_text if self.named_in_passing(topic) else topic

    def named_in_passing(self, topic: str) -> bool:
        """Whether a question's topic names only words the guideline uses, none of them its own subject
        (a heading's, a glossary word, a department): 市長, 職員, ごみ袋."""
        named = [t.lemma for t in self.service.tokenizer.tokenize(topic) if t.is_content and t.pos == "名詞"]
        return bool(named) and all(n in self.idf for n in named) and not self.has_topic(topic)

    def value_of_other_business(self, turn: Turn) -> bool:
        """Whether the question asks a value (何人, いくら, 何年) of a thing the guideline names only in
        passing and is nearer the city's other business than any indexed sentence by ``OFF_TOPIC_VALUE``:
        「ごみ袋はいくら？」 asks the price of the city's bags, which 第５章（13） only says are provided
        to volunteers, and 「市の職員は何人？」 the city's staff numbers, not the staff's part in 協働. The
        scope model weighs the thing alone (its value asked is what the guideline may lack), where nothing
        tells it out of scope: every word is the guideline's."""
        assert turn.analysis is not None and turn.scope is not None
        return (
            any(d.asked and d.needs_value for d in turn.analysis.details)
            and turn.scope.off_topic >= OFF_TOPIC_VALUE
            and self.named_in_passing(turn.analysis.topic_text)
            and not self.states_count(turn)
        )

    def states_count(self, turn: Turn) -> bool:
        """Whether the section to quote states a number of a thing the question counts (「町内会って何個くらい
        あるんだっけ」: 第１章 ３'s 「８０を超える町内会」): the guideline gives the value asked, so it is no
        value of the city's other business, however near that business the question reads."""
        assert turn.analysis is not None
        if not turn.blocks or not any(d.asked and d.counts_items for d in turn.analysis.details):
            return False
        nouns = [t.surface for t in counted_nouns(self.service.tokenizer.tokenize(turn.question))]
        return bool(nouns) and bool(re.search(number_of_pattern(nouns), turn.blocks[0].text))

    def scope_of(
        self,
        topic: str,
        evidence: float,
        hits: list[SectionHit],
        vector: list[float] | None,
        guessed: frozenset[str] = frozenset(),
    ) -> ScopeFeatures:
        return scope_features(
            evidence,
            self.service.tokenizer.tokenize(topic),
            hits,
            lambda key: self._scope_terms.get(key, frozenset()),
            self.idf,
            self.service.retriever.glossary.expand(topic),
            self.settings.mode,
            self.spelling.text,
            self.off_topic(vector, self.service.tokenizer.content_lemmas(topic), guessed),
        )

    def off_topic(
        self, vector: list[float] | None, words: Iterable[str] = (), guessed: frozenset[str] = frozenset()
    ) -> float:
        """How much nearer the question is to the city's other business (``corpus/offtopic.toml``)
        than to any sentence of the indexed documents; NaN without the list (the model reads its mean).
        A topic or a sentence sharing none of the question's ``words`` (content lemmas) counts
        ``UNGROUNDED`` less: near by meaning alone, at e5's similarities of 0.80–0.86 for anything
        short, is as often chance (「会社も入る？」 is nearest 保育所の入所申込み), and a topic's wording
        should pull only questions that say something of it (「職員の定年と再任用」 drew 「トイレに
        チラシを置いたやつ、担当課は？」 under the refusal line)."""
        if self._off_topics is None or vector is None or not len(self._sentence_matrix):
            return math.nan
        q = np.asarray(vector, dtype=np.float32)
        words = frozenset(words)
        topics = self._off_topics @ q - UNGROUNDED * np.asarray([not (words & t) for t in self._off_topic_terms])
        sentences = self._sentence_matrix @ q - UNGROUNDED * np.asarray([not (words & t) for t in self._sentence_terms])
        # a heading counts through a word the question wrote, not one its kana was guessed to be: 「コウエンの
        # 駐車場どこ？」 is not near （７）後援 for a コウエン that meant 公園
        written = words - guessed
        named = [i for i, t in enumerate(self._heading_terms) if written & t]
        nearest = max([float(sentences.max()), *(float(self._headings[i] @ q) for i in named)])
        return float(topics.max() - nearest)

    def embed(self, turn: Turn, texts: list[str]) -> dict[str, list[float]]:
        """The turn's vectors, with those of ``texts`` it lacks embedded in one call: side by side on
        two cores they cost about one query's time, and each call waits for the engine."""
        new = [text for text in dict.fromkeys(texts) if text not in turn.vectors]
        if new:
            turn.vectors.update(zip(new, self.service.embeddings.embed_queries(new), strict=True))
        return turn.vectors

    def sides(self, turn: Turn) -> list[SectionHit]:
        """One section per side of a comparison: the section whose heading names the side best
        (「災害協定」 → （４）災害に関する協定 before （３）協定), else the side's best retrieved section;
        a side the question leaves implicit (「後援とはどう違うの？」) is the previous answer's topic."""
        assert turn.analysis is not None
        chosen: list[SectionHit] = []
        sides = turn.analysis.sides
        topics = self.side_topics(turn)
        judged = [topic for topic in topics if not self.names_only_known(topic)]
        if (
            not judged
            and turn.hits
            and len(sides) >= 2  # 「業者に丸投げするのと何が違うの？」 leaves the other side implicit
            and all(self.heading_section(side, turn, set()) is None for side in sides)
            and self.names_every_side(turn.hits[0], sides)
        ):
            # 「ボラさんと町内会、それぞれの強みは？」: no heading names a side, and the section that
            # answers the whole question speaks of every side (第２章 １（１）); each side searched alone
            # would find a case that merely mentions it
            return [turn.hits[0]]
        vectors = self.embed(turn, judged)  # embedded by ``resolve`` already
        together = 0  # sides whose heading is a side's already chosen: 「実行委員会と協議会」, both （２）
        renamed = self.service.retriever.other_names(turn.question) if turn.analysis.kind == "comparison" else {}
        for i, side in enumerate(sides):
            if topics and topics[i] in judged and not self.part_covered(topics[i], vectors[topics[i]], turn):
                turn.missing_parts.append(side)
                continue
            if any(w in side and any(t in other for other in sides if other != side) for w, t in renamed.items()):
                # 「協定と覚書の違いは？」: 覚書 is no word of the guideline's, only read as the 協定 the other side
                # names; what sets them apart is not written
                turn.missing_parts.append(side)
                continue
            if (
                turn.analysis.kind == "comparison"
                and chosen
                and self.heading_section(side, turn, set()) in {h.key for h in chosen}
            ):
                # one section that names both sides in its heading answers both: no unrelated second block
                together += 1
                continue
            hit, named = self.side_section(side, turn, chosen)
            turn.contrast = turn.contrast and named
            if hit is not None:
                chosen.append(hit)
        wanted = max(1, 2 - len(turn.missing_parts) - together)
        pool = {h.key: h for h in turn.hits}
        if len(chosen) < wanted and turn.previous:
            for key in turn.previous:
                if turn.analysis.kind == "comparison" and any(h.key == key for h in chosen):
                    # the side left implicit is the previous answer's, which the named side's section is
                    # too (「協議会とはどう違うの？」 after 実行委員会: both （２）): that one section answers
                    wanted = len(chosen)
                    break
                hit = pool.get(key) or self.service.retriever.get(key)
                if hit is not None and hit not in chosen:
                    if key not in pool:
                        turn.hits.append(hit)  # retrieved for this side: citable
                    chosen.append(hit)
                    break
        for hit in turn.hits:
            if len(chosen) >= wanted:
                break
            if hit not in chosen:
                chosen.append(hit)
        return chosen

    def names_every_side(self, hit: SectionHit, sides: list[str]) -> bool:
        """Whether the section speaks of each side: it uses the words (or glossary readings) that carry
        at least half of the side's IDF weight. A shared common word is not enough: 第２章 ２ uses the 市民
        and 対応 of 「市民提案への対応の留意点」 but not its 提案 or 留意."""

        def spoken_of(side: str) -> bool:
            weights = {t: self.idf.get(t, 0.0) for t in self.asked_lemmas(side)}
            total = sum(weights.values())
            return total > 0 and sum(w for t, w in weights.items() if t in terms) >= 0.5 * total

        terms = self._section_terms.get(hit.key, frozenset())
        return all(spoken_of(side) for side in sides)

    def side_topics(self, turn: Turn) -> list[str]:
        """Each part's topic, when the question asks two things the guideline may or may not cover."""
        assert turn.analysis is not None
        if not turn.analysis.asks_other_parts:
            return []
        return [analyze(side, self.service.tokenizer).topic_text for side in turn.analysis.sides]

    def side_queries(self, turn: Turn) -> list[str]:
        """What ``sides`` needs a vector for: the parts' topics the scope model judges (those naming a
        thing the guideline never speaks of), and the sides no heading names, searched for their own
        sections."""
        assert turn.analysis is not None
        judged = [topic for topic in self.side_topics(turn) if not self.names_only_known(topic)]
        unnamed = [side for side in turn.analysis.sides if self.heading_section(side, turn, set()) is None]
        return list(dict.fromkeys(judged + unnamed))

    def adds_part(self, hit: SectionHit, chosen: list[SectionHit], question: str) -> bool:
        """Whether a section answers a part of the question the chosen ones do not: it uses a word of
        the question (or of its glossary reading) that names something (IDF above ``TOPIC_IDF``) and
        that none of them uses. Asked 「避難計画づくりを所管している部署は？」, 第５章（４）災害に関する協定
        shares only its department with （３）地区別避難計画の作成: it answers nothing more."""
        asked = self.asked_lemmas(question)
        covered = set().union(*(self._section_terms.get(h.key, frozenset()) for h in chosen))
        new = asked & self._section_terms.get(hit.key, frozenset()) - covered
        return any(self.idf.get(t, 0.0) >= TOPIC_IDF for t in new)

    def names_only_known(self, topic: str) -> bool:
        """Every thing the part names, the guideline speaks of: 「市が上に立つ感じ」「どこの課」."""
        tokens = self.service.tokenizer.tokenize(topic)
        return all(t.lemma in self.idf for t in tokens if t.is_content and t.pos == "名詞")

    def part_covered(self, topic: str, vector: list[float], turn: Turn) -> bool:
        """Whether the guideline covers one part of a comparison or two-part question that names
        something it never uses (公用車, 残業代): judged as that part asked alone would be (its
        asked-for details aside, ``topic``), the scope model finds it in scope."""
        hits = self.search(turn, topic, part=True)
        evidence = self.evidence(turn, topic)
        # the model's own boundary (more likely out than in), not the refusal threshold shifted to
        # let few in-scope questions be refused: the answer still quotes the other parts
        return self.scope_model.score(self.scope_of(topic, evidence, hits, vector, turn.guessed)) <= 0.0

    def side_section(self, side: str, turn: Turn, chosen: list[SectionHit]) -> tuple[SectionHit | None, bool]:
        """The section one side is about: the section its heading names (``heading_section``), else
        the side's own best retrieved section; and whether a
        heading named it. A section found only for this side joins the retrieved ones, so citing it
        stays checked."""
        pool = {h.key: h for h in turn.hits}
        taken = {h.key for h in chosen}
        best = self.heading_section(side, turn, taken)
        named = best is not None
        if self.asks_for_cases(side) and not (best is not None and self.is_case(best)):
            # 「市の事業が…後援を受けている例ってある？」 asks for a case: the best retrieved one, not the
            # section whose heading names what the case is of (（７）後援)
            case = next((h.key for h in turn.hits if h.key not in taken and self.is_case(h.key)), None)
            if case is not None:
                best, named = case, False
        if best is None:
            found = self.search(turn, side, k=3, part=True)
            best = next((h.key for h in found if h.key in pool and h.key not in taken), None)
            if best is None:
                best = next((h.key for h in found if h.key not in taken), None)
        if best is None:
            return None, False
        hit = pool.get(best) or self.service.retriever.get(best)
        if hit is not None and best not in pool:
            turn.hits.append(hit)
        return hit, named

    def asks_for_cases(self, side: str) -> bool:
        """Whether a part asks for examples (例, 事例, 実例, 具体例): cases are what answer it."""
        return any(t.pos == "名詞" and t.surface in CASE_NOUNS for t in self.service.tokenizer.tokenize(side))

    def quote_what_names(self, turn: Turn, missing: list[Detail]) -> None:
        """A detail only a rule states (保険), missing, and named by no section quoted: the guideline's
        one section that names it (第５章（13）「保険の加入などについて合意書を交わしています」) is the
        nearest text, not whatever else ranked first; it leads the contexts too, as the section the answer
        stands on (the question's other words drew the ranking to 協働's general sections: ４ 協働の心得, Ｑ８)."""
        for d in missing:
            if not d.by_value or any(w in h.text for w in d.words for h in turn.blocks):
                continue
            naming = [
                (s.doc_id, s.section_id)
                for doc in self.service.documents
                for s in doc.sections
                if any(w in s.text for w in d.words[1:])
            ]
            if len(naming) == 1 and (hit := self.service.retriever.get(naming[0])) is not None:
                hit = replace(hit, score=turn.hits[0].score)
                turn.hits = [hit, *(h for h in turn.hits if h.key != hit.key)]
                turn.blocks = [hit]
                return

    def bearers_missing(self, turn: Turn, missing: list[Detail]) -> list[Detail]:
        """Who bears a cost, asked of a comparison's sides together (「事業協力と共催の違いは？あと経費は誰
        持ち？」): one side's section stating it (3-1's 双方) does not state it of the other, so it is missing
        of each side whose own quoted section does not (「事業協力の経費の負担者」)."""
        found = []
        for d in turn.analysis.details if turn.analysis.compares else []:
            if d.kind != BEARER or d in missing or any(side in d.name for side in turn.analysis.sides):
                continue  # asked of one side (「…事業協力の経費は誰持ち？」): the quoted sections were checked
            for side in turn.analysis.sides:
                own = [h for h in turn.blocks if h.key in self.heading_sections(side, turn)[:1]]
                if own and not any(d.supplied_by(h.text, h.title) for h in own):
                    found.append(replace(d, name=f"{side}の{d.name}"))
        return found

    def heading_section(self, side: str, turn: Turn, taken: set[tuple[str, str]]) -> tuple[str, str] | None:
        """The section whose heading names the side best, not taken yet (``heading_sections``)."""
        return next((key for key in self.heading_sections(side, turn) if key not in taken), None)

    def heading_sections(self, side: str, turn: Turn) -> list[tuple[str, str]]:
        """The sections whose heading names the side, best first: most of the side's distinctive words
        in its heading (then the fewest other words there). Ranked once a turn: ``side_queries``,
        ``sides`` and ``side_section`` each ask it of the same side."""
        if side in turn.headings:
            return turn.headings[side]
        terms = {t for t in self.service.tokenizer.content_lemmas(side) if self.idf.get(t, 0.0) >= TOPIC_IDF}
        scored: list[tuple[tuple[int, float], tuple[str, str]]] = []
        for document in self.service.documents:
            if turn.doc_ids and document.doc_id not in turn.doc_ids:
                continue
            for section in document.sections:
                key = (document.doc_id, section.section_id)
                title = {t for t in self.extractive.title_terms(*key) if self.idf.get(t, 0.0) >= TOPIC_IDF}
                shared = len(terms & title)
                # the heading names the side: it holds half of the side's words, or all of its own
                names = shared and (shared * 2 >= len(terms) or shared == len(title))
                if not title and section.title and section.title in side:
                    # a heading of common words only (（４）事業協力: 事業, 協力) names a side that writes it whole
                    names = True
                # its chapter's heading may name the rest (「協定の形態としての説明」: （３）協定 under
                # 第３章 協働の形態, before the chapter itself)
                above = set().union(
                    *(self.extractive.title_terms(key[0], a.section_id) for a in document.ancestors(section.section_id))
                )
                score = (len(terms & (title | above)), shared / len(title) if title else 0.0)
                if names and key in self.extractive.sentences:
                    scored.append((score, key))
        # a stable sort: of equal scores the section met first leads, as the guideline orders them
        scored.sort(key=lambda pair: pair[0], reverse=True)
        turn.headings[side] = [key for _, key in scored]
        return turn.headings[side]

    def nearest(self, turn: Turn, texts: list[str]) -> dict[str, list[tuple[int, float]]]:
        """The indexed chunks nearest to each text (chunk position, cosine similarity), with those of
        ``texts`` the turn lacks asked of the index in one query: how well it covers a text and the
        text's dense ranking read the same list."""
        new = [text for text in dict.fromkeys(texts) if text not in turn.nearest]
        if new:
            vectors = self.embed(turn, new)
            found = self.service.index.dense(
                [vectors[text] for text in new], self.service.retriever.candidates, turn.doc_ids
            )
            turn.nearest.update(zip(new, found, strict=True))
        return turn.nearest

    def search(
        self,
        turn: Turn,
        text: str,
        k: int | None = None,
        previous: list[tuple[str, str]] | None = None,
        part: bool = False,
    ) -> list[SectionHit]:
        """The retriever's best sections for ``text``, from the turn's embedding and nearest chunks;
        ``part``: one side or part of a question, whose partner (「ＮＰＯみたいな団体」) is what it names,
        so its dense ranking reads it as typed."""
        dense = text if part else self.service.retriever.dense_text(text)
        vectors = self.embed(turn, [text, dense])
        return self.service.retriever.search(
            text,
            k=k,
            query_vector=vectors[text],
            previous=previous,
            doc_ids=turn.doc_ids,
            nearest=self.nearest(turn, [dense])[dense],
            reading_vector=vectors[dense],
        )

    def evidence(self, turn: Turn, query: str) -> float:
        """How well the guideline covers the query: best cosine similarity of any chunk, plus the
        IDF-weighted share of the query's terms that the guideline uses at all."""
        best = self.nearest(turn, [query])[query]
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
            question=turn.typed or turn.question,
            answer="",
            abstained=False,
            contexts=list(turn.hits),
            evidence=turn.evidence,
            resolved_query=turn.resolved_query,
            # a word typed twice is read once: one note each
            notes=list(
                dict.fromkeys(
                    [f"「{r.typed}」を「{r.term}」として調べました。" for r in turn.respelled]
                    + [f"「{word}」を「{'・'.join(terms)}」として調べました。" for word, terms in turn.read_as]
                )
            ),
        )

    def _too_weak(self, turn: Turn) -> bool:
        # rerank judges the scope whenever something was retrieved
        return (
            turn.unreadable
            or turn.scope is None
            or self.scope_model.out_of_scope(turn.scope)
            or self.value_of_other_business(turn)
            or self.asks_of_another_department(turn)
        )

    def asks_of_another_department(self, turn: Turn) -> bool:
        """Whether the question asks about a department the guideline has no case of (「観光振興課が
        やってる協働事例は？」) and names none it has: the case found leading is another department's,
        and quoting another department's case would answer for the one asked about."""
        retriever = self.service.retriever
        return (
            any(self.extractive.section(*b.key).department for b in turn.blocks or turn.hits[:1])
            and bool(retriever.unknown_departments(turn.question))
            and not retriever.named_departments(turn.question)
        )

    def compose(self, turns: Iterator[Turn]) -> Iterator[TurnChunk]:
        """The answer: generated pieces as they come (LLM), then the turn with its ``Answer``."""
        for turn in turns:
            base = self._base(turn)
            if self._too_weak(turn):
                turn.answer = self.abstention(base, turn)
            elif self.llm is not None:
                for piece in self.llm.stream(base, turn.hits, turn.query_vector):
                    if isinstance(piece, Answer):
                        turn.answer = piece
                    else:
                        yield TurnChunk(text=piece)
            else:
                text, citations = self.quote(turn)
                partial = bool(turn.missing or turn.missing_parts)
                turn.answer = replace(base, answer=text, citations=citations, partial=partial)
            yield TurnChunk(turn=turn)

    def check_stream(self, chunks: Iterator[TurnChunk]) -> Iterator[TurnChunk]:
        """Pieces pass through as they come; the finished turn is checked."""
        for chunk in chunks:
            yield chunk if chunk.turn is None else TurnChunk(chunk.text, self.check(chunk.turn))

    def quote(self, turn: Turn) -> tuple[str, list[Citation]]:
        """The extractive answer. For a follow-up, sentences are chosen by what the follow-up itself
        asks (「お金の支援も？」); the earlier turn only chose the sections. A yes/no follow-up whose lead
        would repeat the last answer's (「名義だけってこと？」 after 後援) leads with a deciding sentence
        not shown yet, else says the text does not decide it."""
        assert turn.analysis is not None
        related = self.service.retriever.glossary.expand(turn.question)
        # 「逆にデメリットは？」 after メリット: the other side of what was shown; the earlier question's
        # words would choose what was shown again
        contrast = bool(turn.context_question and CONTRAST.search(turn.question))

        # when the last answer showed the whole section, the other side is what it did not lead with
        led = frozenset(lead_of(previous_answer(turn.history))) if contrast else frozenset()
        # a follow-up answered from a section the last answer quoted does not quote again what it showed
        shown = frozenset(content_sentences(previous_answer(turn.history))) if turn.previous else frozenset()

        def answer(said: frozenset[str]) -> tuple[str, list[Citation]]:
            assert turn.analysis is not None
            return self.extractive.answer(
                turn.analysis,
                turn.blocks or turn.hits[:1],
                turn.alone_vector,
                "" if contrast else turn.context_question,
                turn.missing,
                related,
                turn.missing_parts,
                turn.listed,
                turn.contrast,
                items=turn.items,
                groups=turn.groups,
                case=turn.described_case,
                settled=not self.heading_in_doubt(turn),
                said=said,
                led=led,
                shown=shown,
            )

        said = turn.said
        # the other side is what the last answer did not show, unless the question names it (「逆にダメなのは
        # どういうとき？」 after 後援's definition: the refusing sentence, though shown below its lead)
        if contrast and not names_aspect(turn.question):
            said |= frozenset(content_sentences(previous_answer(turn.history)))
        text, citations = answer(said)
        if self.case_gives_the_example(turn, text) or self.names_the_case(turn):
            # 「実際の例ってある？」 after 後援: 後援's text gives none, the city's cases under it do
            turn.blocks = [*turn.blocks[1:], turn.blocks[0]]
            text, citations = answer(said)
        if turn.exhausted:
            return f"{NOTHING_MORE}\n{text}", citations
        plain_yes_no = turn.analysis.kind == "yes-no" and not (
            ASKS.search(turn.question) or OPEN_QUESTION.search(turn.question) or "どの" in turn.question
        )
        if not (turn.context_question and plain_yes_no and not turn.missing):
            return text, citations  # 「どんなイベントで…？」「どのくらい…？」 ask what, not whether
        before = lead_of(previous_answer(turn.history))
        lead = lead_of(text)
        if not lead or not set(lead) <= set(before) or self.names_asked(turn, lead):
            return text, citations  # something new, or the line naming what is asked (「ＰＴＡも入ってる？」)
        other, other_citations = answer(turn.said | frozenset(before))
        if any(DECIDING.search(s) for s in lead_of(other)) and not set(lead_of(other)) <= set(before):
            return other, other_citations
        if self.lead_speaks_of(turn.question, lead):
            return text, citations  # 「市ができないことも言うの？」: the lead says 「できないこと。」を伝える
        return f"{UNDECIDED}\n{text}", citations

    def lead_speaks_of(self, question: str, lead: list[str]) -> bool:
        """Whether one lead sentence uses every word of what a yes/no follow-up asks about: the
        phrase its topic particle marks (「市ができないこと」 in 「市ができないことも言うの？」), or the
        whole question without one; negation included, so 「できないこと」 is not 「できること」. Such a
        lead answers the question by saying it, though it was shown before."""
        tokens = self.service.tokenizer.tokenize(question)
        marked = [i for i, t in enumerate(tokens) if t.pos == "助詞" and t.surface in ("は", "も")]
        phrase = tokens[: marked[-1]] if marked else tokens
        if SOMETIMES.search(question) and any(SOMETIMES.search(s) for s in lead):
            return True  # 「断ることもあるの？」: 「…提案に沿うことができないこともあります。」 says it does

        def words(part: list) -> set[str]:
            return {
                t.lemma
                for t in part
                if t.pos in ("名詞", "動詞", "形容詞", "形状詞") or (t.pos == "助動詞" and t.lemma == "ない")
            } - CONVERSATIONAL

        asked = words(phrase)
        if len(asked) < 2:  # 「市にもメリットあるの？」: 「市に」 alone names too little; the whole question says it
            asked = words(tokens)
        if len(asked) < 2:
            return False
        return any(asked <= set(t.lemma for t in self.service.tokenizer.tokenize(s)) for s in lead)

    def case_gives_the_example(self, turn: Turn, text: str) -> bool:
        """Whether a question asking for examples by name (事例, 具体例, 「…の例」) is better led by the
        departments' cases quoted after a section of no department: that section's lead gives no instance
        of its own subject (no 「…など」 naming it, as 第３章（３）協定's 「…企業との協定、…など」 does;
        第３章（１）共催's 「フォーラムの開催など…」 lists events, not 共催s)."""
        if not ((turn.examples or EXAMPLES.search(turn.question)) and len(turn.blocks) >= 2):
            return False
        first, *cases = (self.extractive.section(*b.key) for b in turn.blocks)
        if first.department or not all(case.department for case in cases):
            return False
        subject = self.extractive.title_terms(*turn.blocks[0].key)
        tokenizer = self.service.tokenizer
        return not any("など" in s and subject & set(tokenizer.content_lemmas(s)) for s in lead_of(text))

    def names_the_case(self, turn: Turn) -> bool:
        """Whether the question names the city's case quoted beside a section of no department by a
        distinctive word of the case's heading that the section's lacks (リーダー養成 of （15）リーダー養成事業
        beside 第３章（７）後援, 災害 of （４）災害に関する協定 beside （３）協定): what that case did answers it."""
        if len(turn.blocks) != 2:
            return False
        first, case = turn.blocks
        if self.extractive.section(*first.key).department or not self.extractive.section(*case.key).department:
            return False
        own = self.extractive.title_terms(*case.key) - self.extractive.title_terms(*first.key)
        named = {t for t in own if self.idf.get(t, 0.0) >= TOPIC_IDF}
        return bool(named & set(self.service.tokenizer.content_lemmas(turn.question)))

    def names_asked(self, turn: Turn, lead: list[str]) -> bool:
        """Whether the lead names what a follow-up asks about that the earlier question did not: a
        distinctive noun of its own (ＰＴＡ in 「ＰＴＡも入ってる？」, 政治 in 「政治団体は含まれる？」)."""
        asked = self.added_nouns(turn)
        return any(asked & set(self.service.tokenizer.content_lemmas(sentence)) for sentence in lead)

    def added_nouns(self, turn: Turn) -> set[str]:
        """The distinctive nouns a follow-up adds to the earlier question (ＰＴＡ in 「ＰＴＡも入ってる？」)."""
        tokenizer = self.service.tokenizer
        earlier = set(tokenizer.content_lemmas(previous_user_question(turn.history)))
        return {
            t.lemma
            for t in tokenizer.tokenize(turn.question)
            if t.is_content and t.pos == "名詞" and self.idf.get(t.lemma, 0.0) >= TOPIC_IDF and t.lemma not in earlier
        }

    def asked_lemmas(self, question: str) -> set[str]:
        """The question's content lemmas with those of the glossary's readings of it (市の名前を貸す → 後援)."""
        related = self.service.retriever.glossary.expand(question)
        return set(self.service.tokenizer.content_lemmas(" ".join([question, *related])))

    def heading_in_doubt(self, turn: Turn) -> bool:
        """Whether the question, as typed or as the glossary reads it, names the heading of another of
        the top three sections and not the first's (「市の名前だけ貸す」 reads as 後援: （７）後援 is named,
        the first section （２）実行委員会・協議会 is not): the first is then no settled answer. The first's
        own chapter is no rival: 第３章 協働の形態 names what 「どの形態？」 asks among."""
        if not turn.hits:
            return False
        asked = self.asked_lemmas(turn.question)

        def named(hit: SectionHit) -> bool:
            return any(self.idf.get(t, 0.0) >= TOPIC_IDF for t in asked & self.extractive.title_terms(*hit.key))

        first = turn.hits[0]
        parents = set()
        parent = self.extractive.section(*first.key).parent
        while parent is not None:
            parents.add((first.doc_id, parent))
            parent = self.extractive.section(first.doc_id, parent).parent
        rivals = [h for h in turn.hits[1:3] if h.key not in parents]
        return not named(first) and any(named(h) for h in rivals)

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
                answer = self.abstention(answer, turn)
        turn.answer = answer
        return turn

    def abstention(self, base: Answer, turn: Turn) -> Answer:
        """「記載が見つかりませんでした」 with the sections nearest to the question itself: those sharing
        a word with it; when it shares none (an unrelated suggestion helps nobody), that the guideline
        seems not to cover it, not that other words might find it."""
        suggestions = []
        if not turn.unreadable:
            near = self.search(turn, turn.question, k=10)
            # sharing a word that says what is asked: not 職員 or 日 of 「職員の有給休暇は何日ある？」 (Ｑ５,
            # ゼロごみの日), which only say whose 有給休暇, a thing the guideline never names
            words = self.suggesting_words(turn.question)
            nearest = [h for h in near if "words" in h.ranks and words & self._scope_terms.get(h.key, frozenset())]
            nearest = nearest[:SUGGESTIONS]
            # in a conversation, the section being talked about is among the nearest when the question
            # is about it; an unrelated one (「職員の有給休暇は？」 after 後援) is refused as it is alone
            ours = next((self.service.retriever.get(k) for k in turn.previous[:1] if self.about(turn, k)), None)
            if ours is not None and ours.key not in {h.key for h in nearest}:
                nearest = [ours, *nearest[: SUGGESTIONS - 1]]
            for hit in nearest:
                suggestions.append(
                    Citation(
                        hit.doc_id,
                        hit.section_id,
                        hit.title,
                        "",
                        self.extractive.citation_name(hit),
                        label=self.extractive.label(*hit.key),
                    )
                )
        text = ABSTENTION_TEXT
        if turn.unreadable:
            text += "知りたいことを、もう少し詳しく入力してください。"
        elif suggestions:
            text += f"\n\n{SUGGESTIONS_HEADING}\n" + "\n".join(f"・［{s.label}］" for s in suggestions)
        else:
            text += NOT_COVERED
        return replace(base, answer=text, abstained=True, citations=[], suggestions=suggestions)

    def suggesting_words(self, question: str) -> set[str]:
        """The question's words (two characters or more; the glossary's readings too) that a refusal's
        nearest sections may share with it: not those of a noun phrase (compounds joined by の) with a
        compound (nouns joined directly) that the guideline never writes and the glossary does not read,
        for it names a thing the guideline lacks (住民票 is no 住民; 「職員の有給休暇」, 「市役所の駐車場の料金」)."""
        tokens = self.service.tokenizer.tokenize(question)
        side: set[str] = set()
        phrase: list = []
        for i, t in enumerate([*tokens, None]):
            joins = t is not None and (
                t.pos in NOMINAL_POS
                or (t.surface == "の" and bool(phrase) and i + 1 < len(tokens) and tokens[i + 1].pos in NOMINAL_POS)
            )
            if joins:
                phrase.append(t)
                continue
            if any(self.names_a_lack(compound, question) for compound in compounds(phrase)):
                side |= {p.lemma for p in phrase if p.is_content and p.pos == "名詞"}
            phrase = []
        return {w for w in self.asked_lemmas(question) - CONVERSATIONAL - RELATIONAL - side if len(w) >= 2}

    def names_a_lack(self, compound: list[Token], question: str) -> bool:
        """Whether a compound noun of a question names a thing the guideline lacks: it has a noun the
        guideline never uses, of two characters or more (有給休暇, 駐車場) or of one (票 of 住民票, 税 of
        市民税) where the guideline never writes the compound whole and the glossary does not read it
        (市後援, 委託料, 政治団体 name kinds of what the guideline speaks of, in its own words)."""
        unknown = [t for t in compound if t.pos == "名詞" and t.lemma not in self.idf]
        if any(len(t.lemma) >= 2 for t in unknown):
            return True
        written = question[compound[0].start : compound[-1].end]
        return (
            bool(unknown)
            and fold(written) not in self.spelling.text
            and not self.service.retriever.glossary.readings(written)
        )

    def about(self, turn: Turn, key: tuple[str, str]) -> bool:
        """Whether a question speaks of a section: it points back at it (「それで…」), asks only for
        more of it (「具体例は？」「ホームページ以外には？」), uses one of its words that names something (IDF
        above ``TOPIC_IDF``; the glossary's readings included), or names nothing of its own in words the
        guideline uses (「学校も入るの？」)."""
        asked = self.asked_lemmas(turn.question) - CONVERSATIONAL
        shared = asked & self._section_terms.get(key, frozenset())
        return (
            bool(POINTS_BACK.search(turn.question) or BESIDES.search(turn.question))
            or self.adds_to_what_was_said(turn.question)
            or not asked
            or any(self.idf.get(t, 0.0) >= TOPIC_IDF for t in shared)
            or (not self.has_topic(turn.question) and all(t in self.idf for t in asked))
        )

    def adds_to_what_was_said(self, question: str) -> bool:
        """Whether a question opens with a thing marked by 「も」 and asks only whether it belongs
        (「会社も入る？」「会社も？」): "that too?" adds it to what the last answer listed, so it speaks of
        that answer's section even in words the guideline never uses."""
        tokens = self.service.tokenizer.tokenize(question)
        i = 0
        while i < len(tokens) and tokens[i].pos in ("名詞", "接頭辞", "接尾辞"):
            i += 1
        if not (0 < i < len(tokens) and tokens[i].surface == "も"):
            return False
        after = [t for t in tokens[i + 1 :] if t.pos != "補助記号"]
        # asked whether it belongs (入る, 含まれる, 対象, 参加): not 「有給休暇も取れる？」, a thing of its own
        return not after or after[0].lemma in BELONGS

    # ------------------------------------------------------------------ entry points

    def _documents(self, doc_ids: Collection[str]) -> frozenset[str]:
        """The chosen documents, checked: an unknown id is an error, not an empty answer."""
        known = {d.doc_id for d in self.service.documents}
        unknown = sorted(set(doc_ids) - known)
        if unknown:
            raise QuestionError(
                f"unknown document {unknown[0]!r}",
                ja=f"文書「{unknown[0]}」は登録されていません（登録済み：{'、'.join(sorted(known))}）。",
            )
        return frozenset(doc_ids)

    def ask(self, question: str, history: list[dict[str, Any]] | None = None, doc_ids: Collection[str] = ()) -> Answer:
        """Answer one question; ``doc_ids`` limits the answer to those documents."""
        result = self.runnable.invoke(Turn(question, list(history or []), doc_ids=self._documents(doc_ids)))
        assert result.turn is not None and result.turn.answer is not None
        return result.turn.answer

    def stream(
        self, question: str, history: list[dict[str, Any]] | None = None, doc_ids: Collection[str] = ()
    ) -> Iterator[str | Answer]:
        """Yield text pieces as they are generated (LLM mode), then the checked ``Answer``: the same
        graph as ``ask``, streamed through every step."""
        for chunk in self.runnable.stream(Turn(question, list(history or []), doc_ids=self._documents(doc_ids))):
            if chunk.text:
                yield chunk.text
            if chunk.turn is not None:
                assert chunk.turn.answer is not None
                yield chunk.turn.answer
