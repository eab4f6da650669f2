"""Whether a question is within the guideline's scope: a small logistic model over evidence that
the retrieval already computed, instead of one similarity threshold.

The e5-small similarity of colloquial in-scope questions (0.82–0.85) overlaps that of out-of-scope
questions in the guideline's own vocabulary (職員のボーナスの支給日, 避難所の開設手順), so the model
also asks whether the *nouns* of the question are found in the sections retrieved for it (a staff
word the guideline lacks is usually a verb or an adverb: トラブる, ピンとこない; an out-of-scope
question's lack is its topic: 有給休暇, 除雪車), whether the question names a heading, a department
or a glossary word, and how high dense and keyword search rank the top section, and whether it
names a *compound* the guideline never writes: an out-of-scope question in the guideline's own
words builds its topic from them (職員＋証, 人事＋評価, 市民＋税, 投票＋立会人), while a colloquial
in-scope one rarely does (its missing words are verbs and adverbs), and, what none of those can see,
what the question is *about*: how much nearer it is to the nearest of the city's other business
(``corpus/offtopic.toml``: 住民票の写しの交付, 職員の給与・ボーナスの支給日, 家庭ごみの分別と出し方,
written from a city hall's departments, not from eval questions) than to the nearest sentence of any
indexed document, so a document that covers such a topic once indexed wins over the list. Weights and threshold are fitted on the dev
split only (``fit`` below, 5-fold cross-validation), the threshold chosen for few false
abstentions: a wrong refusal hurts staff more than a weak answer. (Tried on dev and left out, each
within ±0.015 of abstention recall under cross-validation at the same false-abstention rate: the
content words' IDF-weighted coverage by the top one or three sections and by the whole guideline,
whether the question's head noun is a guideline word, dense and keyword search agreeing on the
top section, and the top section's margin in the fused and the dense scores.)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import astuple, dataclass

import numpy as np

from assistant.ingestion.glossary import fold
from assistant.ingestion.japanese import Token
from assistant.retrieval import SectionHit

FEATURES = (
    "evidence",
    "uncovered_nouns",
    "uncovered_idf",
    "names_title",
    "names_department",
    "glossary_word",
    "words_rank",
    "dense_rank",
    "unknown_compound",
    "off_topic",
)
RANK_CAP = 31  # a ranking that did not find the top section counts as this far down
# How the asker feels about what they ask, not what it is about (「…残業増えそうで不安」「…押し付けちゃダメ
# ってこと？」「…しても大丈夫？」): staff put their worries so, and the guideline never writes these words,
# so as nouns it lacks they made in-scope worries look out of scope (lemmas: ダメ → 駄目; 「…NG？」 is
# 駄目 in shorthand, and 「固定化NG」 names 固定化, no compound the guideline lacks).
STANCE = frozenset({"不安", "心配", "悩み", "疑問", "懸念", "気掛かり", "駄目", "大丈夫", "ng"})
# Affixes that make no new thing of the noun they join: the polite お・ご (お金, お祭り), a plural or a
# title (自分たち, 市民ら, 担当さん), 向け (消費者向け) and 持ち (who bears it: 向こう持ち, 市持ち). 会 (後援会),
# 証 (職員証), 料 (使用料) do make one.
NEUTRAL_AFFIXES = frozenset({"御", "達", "等", "共", "さん", "様", "向け", "持ち"})


def scene_words(tokens: Sequence[Token]) -> set[int]:
    """The positions of words of time or whose (今度, 去年, 来月, うち; UniDic's 副詞可能) that stand
    without a noun of another kind beside them: staff set the scene with them (「今度うちの課で…」),
    they name nothing the question is about. Joined to one (年末＋調整) they are part of a thing."""
    scene: set[int] = set()
    i = 0
    while i < len(tokens):
        j = i
        while j < len(tokens) and tokens[j].pos == "名詞" and (j == i or tokens[j].start == tokens[j - 1].end):
            j += 1
        if j > i and all(t.pos_type == "副詞可能" for t in tokens[i:j]):
            scene.update(range(i, j))
        i = max(j, i + 1)
    return scene


@dataclass(frozen=True)
class ScopeFeatures:
    evidence: float  # best chunk similarity + weighted term coverage (``AnswerChain.evidence``)
    uncovered_nouns: float  # how many of its nouns none of the top three sections uses
    uncovered_idf: float  # the rarest of those (IDF; a word the guideline never uses counts as rarest)
    names_title: float  # a top-three section was found because the question names its heading
    names_department: float  # … or its department
    glossary_word: float  # the question uses a staff word of the glossary
    words_rank: float  # log rank of the top section in the keyword ranking
    dense_rank: float  # log rank of the top section in the dense ranking
    unknown_compound: float  # the question names a compound the guideline never writes (職員証, 粗大ごみ)
    off_topic: float  # its similarity to the nearest of the city's other business minus to the nearest indexed sentence


def scope_features(
    evidence: float,
    tokens: Sequence[Token],
    hits: Sequence[SectionHit],
    section_terms: Callable[[tuple[str, str]], frozenset[str]],
    idf: dict[str, float],
    glossary_words: Iterable[str],
    mode: str = "hybrid",
    guideline_text: str = "",
    off_topic: float = math.nan,
) -> ScopeFeatures:
    """The features of one question (``tokens``: of its topic text) and what was retrieved for it.
    A feature the retrieval ``mode`` does not compute (dense: the keyword, title and department
    rankings; bm25: the dense one) is NaN, which the model reads as its fitted mean: a missing
    ranking must not count as one that did not find the top section. ``guideline_text``: every
    document's text in its ``fold`` form, where the question's compounds are looked for."""
    rarest = max(idf.values(), default=1.0)
    scene = scene_words(tokens)
    nouns = [
        t.lemma
        for i, t in enumerate(tokens)
        if t.is_content and t.pos == "名詞" and i not in scene and len(t.lemma) >= 2 and t.lemma not in STANCE
    ]
    top3 = frozenset().union(*(section_terms(h.key) for h in hits[:3]))
    uncovered = list(dict.fromkeys(n for n in nouns if n not in top3))  # distinct: a repeated noun counts once

    def rank(name: str) -> float:
        return math.log(min(hits[0].ranks.get(name, RANK_CAP), RANK_CAP)) if hits else math.log(RANK_CAP)

    keywords = mode in ("hybrid", "bm25")
    dense = mode in ("hybrid", "dense")
    return ScopeFeatures(
        evidence=evidence,
        uncovered_nouns=float(len(uncovered)),
        uncovered_idf=max((idf.get(n, rarest) for n in uncovered), default=0.0),
        names_title=float(any("title" in h.ranks for h in hits[:3])) if keywords else math.nan,
        names_department=float(any("department" in h.ranks for h in hits[:3])) if keywords else math.nan,
        glossary_word=float(any(True for _ in glossary_words)),
        words_rank=rank("words") if keywords else math.nan,
        dense_rank=rank("dense") if dense else math.nan,
        unknown_compound=float(any(c not in guideline_text for c in compounds(tokens))),
        off_topic=off_topic,
    )


def compounds(tokens: Sequence[Token]) -> list[str]:
    """The question's compound nouns of two words or more, as ``fold`` writes them: 職員＋証,
    粗大＋ごみ, 人事＋評価, 協働＋事業. Its single words are known or not to the guideline on their
    own (``uncovered_nouns``); a compound of words the guideline does use (市民＋税, 来庁＋者＋駐車＋場)
    names the other topic those words serve in the city's work, which it never writes. A neutral
    affix or a stance word ends a compound: お金 is 金, 固定化NG is 固定化; so do a word of time or whose
    (今度うち) and a suffix that makes an adjective or a verb, not a noun (目的っぽい)."""
    found: list[str] = []
    run: list[Token] = []
    scene = scene_words(tokens)
    for i, token in enumerate([*tokens, None]):
        joins = (
            token is not None
            and token.lemma not in NEUTRAL_AFFIXES
            and token.lemma not in STANCE
            and (
                (token.pos == "名詞" and token.is_content and token.pos_detail != "数詞" and i not in scene)
                or token.pos == "接頭辞"
                or (token.pos == "接尾辞" and token.pos_detail == "名詞的")
            )
        )
        # a space ends a compound too: 「減量対策課 協働」 names a department and 協働, not one thing
        if run and (token is None or not joins or token.start != run[-1].end):
            folded = fold("".join(t.surface for t in run))
            if len(run) >= 2 and any(t.pos == "名詞" for t in run) and len(folded) >= 2:
                found.append(folded)
            run = []
        if joins:
            run.append(token)
    return found


@dataclass(frozen=True)
class ScopeModel:
    """Logistic regression over standardised features: ``score`` is the log-odds that a question is
    out of scope; it abstains above ``threshold``."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float

    def score(self, features: ScopeFeatures) -> float:
        x = np.nan_to_num((np.asarray(astuple(features)) - self.mean) / self.scale, nan=0.0)
        return float(x @ np.asarray(self.weights) + self.bias)

    def out_of_scope(self, features: ScopeFeatures) -> bool:
        return self.score(features) > self.threshold


# Fitted on the dev split (519 cases, 104 out of scope; the unreadable one left out) by
# ``assistant eval --split dev --mode hybrid --calibrate``, the threshold letting FALSE_RATE of the
# in-scope cases through as abstentions. 5-fold CV, mean of 16 fold seeds: abstention recall 0.835,
# false abstentions 0.029 (seed means 0.808–0.856 / 0.019–0.036; folds: sd 0.071 and 0.021, ranges
# 0.62–1.00 and 0.000–0.078). Without ``off_topic`` at the same rate 0.687 / 0.031 (folds: sd 0.099,
# range 0.31–0.89); without ``unknown_compound`` too (on 403 cases) 0.634 / 0.027.
FALSE_RATE = 0.025
SCOPE_MODEL = ScopeModel(
    mean=(0.897052, 0.961464, 2.040224, 0.339114, 0.013487, 0.117534, 0.3054, 0.471995, 0.381503, -0.037608),
    scale=(0.037252, 1.043587, 1.742081, 0.473408, 0.11535, 0.322055, 0.648843, 0.812794, 0.485756, 0.044336),
    weights=(-0.344459, 0.377274, 0.284113, -0.019896, -0.117719, -0.513098, -0.059929, 0.068234, 0.453988, 1.63026),
    bias=-1.369256,
    threshold=0.807667,
)


def _logistic(x: np.ndarray, y: np.ndarray, l2: float = 10.0, steps: int = 50) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression by Newton's method, classes weighted to balance."""
    X = np.hstack([x, np.ones((len(x), 1))])
    weight = np.where(y, len(y) / (2 * y.sum()), len(y) / (2 * (~y).sum()))
    beta = np.zeros(X.shape[1])
    penalty = np.diag([l2] * x.shape[1] + [0.0])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-X @ beta))
        gradient = X.T @ (weight * (p - y)) + penalty @ beta
        hessian = (X * (weight * p * (1 - p))[:, None]).T @ X + penalty
        beta -= np.linalg.solve(hessian, gradient)
    return beta[:-1], float(beta[-1])


def _fit_once(x: np.ndarray, y: np.ndarray, false_rate: float) -> ScopeModel:
    mean, spread = x.mean(0), x.std(0)
    scale = np.where(spread > 0, spread, 1.0)  # a feature constant in these cases (no department named)
    weights, bias = _logistic((x - mean) / scale, y)
    scores = ((x - mean) / scale) @ weights + bias
    in_scope = np.sort(scores[~y])[::-1]
    threshold = float(in_scope[min(int(false_rate * len(in_scope)), len(in_scope) - 1)])
    return ScopeModel(
        *(tuple(round(float(v), 6) for v in a) for a in (mean, scale, weights)), round(bias, 6), round(threshold, 6)
    )


def fit(
    features: Sequence[ScopeFeatures], out_of_scope: Sequence[bool], false_rate: float = FALSE_RATE, seed: int = 0
) -> tuple[ScopeModel, dict[str, float]]:
    """The model fitted on all of ``features`` (dev cases only), its threshold letting ``false_rate``
    of the in-scope cases through as abstentions, and its 5-fold cross-validated abstention recall
    and false-abstention rate (each fold's threshold chosen on its own training part)."""
    x = np.asarray([astuple(f) for f in features], dtype=float)
    y = np.asarray(out_of_scope, dtype=bool)
    order = np.random.default_rng(seed).permutation(len(y))
    folds = [order[i::5] for i in range(5)]
    predicted = np.zeros(len(y), dtype=bool)
    for held in folds:
        train = np.setdiff1d(order, held)
        model = _fit_once(x[train], y[train], false_rate)
        predicted[held] = [model.out_of_scope(features[i]) for i in held]
    figures = {"abstention_recall": float(predicted[y].mean()), "false_abstention_rate": float(predicted[~y].mean())}
    return _fit_once(x, y, false_rate), figures
