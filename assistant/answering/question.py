"""Question analysis: what kind of answer a question wants, the sides of a comparison, and the
detail it asks for (a deadline, an amount, a form …) that the guideline may not contain.

Rules over the question's own words: cheap, explainable, and tested as a table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

KINDS = ("definition", "comparison", "multi-part", "yes-no", "which", "how-to", "detail", "other")

COMPARISON = re.compile(r"違い|違う|ちがい|ちがう|異なる|比較|比べ|どっち|どちら|使い分け|vs|ＶＳ|ｖｓ")
MULTI_PART = re.compile(r"それぞれ|両方|あわせて|合わせて|ともに|及び|および|と、.+も|について.+と.+について")
WHICH = re.compile(
    r"(どの|どんな|何という|なんという|何の|どこの|どちらの|どういう)(形態|事例|取組|取り組み|課|部署|部|担当|章|項目|形)"
    r"|(担当|所管)(課|部署)|どこ(が|で)(担当|所管|実施|やって)|何課|どこの課|どこがやって|どれに(当たる|あたる|なる)"
)
DEPARTMENT_QUESTION = re.compile(
    r"(どこの|どの|何)(課|部署)|何課|部署は|課は|(担当|所管)(課|部署|は)|どこが(担当|所管|やって)|担当して|所管して"
)
DEFINITION = re.compile(r"とは|って何|ってなに|とはなに|の意味|意味は|定義|どういうもの|どういうこと|って？$|は？$")
YES_NO = re.compile(
    r"(いい|良い|よい|いけない|ダメ|だめ|ある|あります|できる|できます|必要|べき|ですか|ますか|の|る)[？?]?$"
)
HOW_TO = re.compile(r"どうやって|どうすれば|どうしたら|方法|やり方|進め方|手順|どのように")

# A detail the guideline may lack: (its name in the answer, what asks for it, what in a section supplies it).
# The supplying patterns are concrete values (a number of days, an amount, a form's number), so a section
# that merely uses the word 期限 in passing does not count as stating the deadline.
NUM = "[0-9０-９一二三四五六七八九十百千]"
DETAILS: tuple[tuple[str, re.Pattern[str], re.Pattern[str]], ...] = (
    (
        "期限（何日前・何日以内か）",
        re.compile(r"何日前|何日以内|何日まで|何日|いつまで|期限|締め?切|〆切"),
        re.compile(rf"{NUM}+日(前|以内|まで)|期限は"),
    ),
    (
        "金額",
        re.compile(r"いくら|金額|上限額|上限|何円|予算額|単価|限度額"),
        re.compile(rf"{NUM}+(円|万円)|上限は"),
    ),
    (
        "様式・書式",
        re.compile(r"様式|書式|テンプレ|ひな形|雛形|ひながた|フォーマット|シート|記入例|申請書|契約書"),
        re.compile(rf"様式第|別記様式|様式{NUM}|書式"),
    ),
    (
        "負担の割合",
        re.compile(r"何対何|割合|比率|何割|何パーセント|何％|何%"),
        re.compile(rf"{NUM}+(割|％|%|対{NUM})"),
    ),
    (
        "頻度・周期",
        re.compile(r"何年ごと|何年に一度|何年おき|何年毎|頻度|周期|何か月ごと|何ヶ月ごと|何回"),
        re.compile(rf"{NUM}+(年|か月|ヶ月)(ごと|毎|に一度)|毎年|{NUM}+回"),
    ),
    ("保険料", re.compile(r"保険料|保険代|保険の費用"), re.compile(r"保険料")),
    ("人数", re.compile(r"何人|人数|定員"), re.compile(rf"{NUM}+人|定員")),
)

# Words around the sides of 「AとBの違い」 that are not part of either side.
SIDE_SPLIT = re.compile(r"と|や|か|、|，|,|・|／|/|vs|ＶＳ|ｖｓ|及び|および|または|又は")
QUESTION_WORD = re.compile(r"^(どう|何|なに|なん|どこ|どれ|どんな|いつ|誰|違い)\W*$")
SIDE_NOISE = re.compile(
    r"^(の|って|は|を|で|に|が|も|、|\s)+|(の|って|は|を|で|に|が|も|何が|なにが|どう|どこが|にする|する|、|\s)+$"
)


@dataclass(frozen=True)
class Question:
    text: str
    kind: str
    sides: list[str] = field(default_factory=list)  # comparison / multi-part: what each side is about
    detail: str = ""  # the detail asked for, by its name in an answer; "" when none
    detail_pattern: re.Pattern[str] | None = None  # what in a section would supply that detail
    asks_department: bool = False

    @property
    def compares(self) -> bool:
        return self.kind in ("comparison", "multi-part")


def analyze(text: str) -> Question:
    """The kind of a question, its sides and the detail it asks for."""
    detail, supplies = "", None
    for name, asks, supplied in DETAILS:
        if asks.search(text):
            detail, supplies = name, supplied
            break
    asks_department = bool(DEPARTMENT_QUESTION.search(text))
    sides = _sides(text)
    if COMPARISON.search(text):
        kind = "comparison"
    elif MULTI_PART.search(text) or (len(sides) >= 2 and re.search(r"[？?].+[？?]", text)):
        kind = "multi-part"
    elif detail:
        kind = "detail"
    elif WHICH.search(text) or asks_department:
        kind = "which"
    elif HOW_TO.search(text):
        kind = "how-to"
    elif DEFINITION.search(text):
        kind = "definition"
    elif YES_NO.search(text):
        kind = "yes-no"
    else:
        kind = "other"
    if kind not in ("comparison", "multi-part"):
        sides = []
    return Question(text, kind, sides, detail, supplies, asks_department)


def _sides(text: str) -> list[str]:
    """The parts a comparison or two-part question puts side by side: 「委託と補助の違いは？」 → 委託, 補助."""
    match = COMPARISON.search(text)
    head = text[: match.start()] if match else text
    # two questions in one: 「…ある？そもそも後援ってどういうもの？」
    questions = [q for q in re.split(r"[？?。]", text) if q.strip()]
    if not match and len(questions) >= 2:
        return [q.strip() for q in questions[:3]]
    head = re.sub(r"とは|って|については|について", " ", head)
    parts = [SIDE_NOISE.sub("", p).strip() for p in SIDE_SPLIT.split(head)]
    return [p for p in parts if len(p) >= 2 and not QUESTION_WORD.match(p)][:3]
