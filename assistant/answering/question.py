"""Question analysis: what kind of answer a question wants, the parts it puts side by side, and the
details it asks for (a deadline, an amount, a form …) that the guideline may not contain.

The analysis reads the question's structure through the tokenizer (nouns and their compounds,
coordinating particles, interrogatives with a counter such as 何日・何円・何人) and the table of detail
kinds (``DETAIL_KINDS``): each kind's nouns, interrogatives and question shapes. Whether a detail is
*missing* is not decided here: the chain checks each asked detail against the text of the sections it
retrieved (``Detail.supplied_by``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from itertools import pairwise

from assistant.ingestion.japanese import Token, Tokenizer, default_tokenizer, normalize

COMPARISON = re.compile(
    r"違い|違う|ちがい|ちがう|異なる|比較|比べ|くらべ|どっち|どちら|使い分け|差は|差って|変わる|かわる|vs|ＶＳ|ｖｓ"
)
# 「どっち／どちら」 alone asks which of two; asked of who bears, pays or decides something of one thing
# (「委託の最終責任ってどっち」) the two are the parties, not two things the question names
WHICH_ONE = re.compile(r"どっち|どちら")
PARTY_ASKED = re.compile(r"責任|負担|持つ|持ち|決め|払う|払わ|出す|負う|担う|主催|主体")
MULTI_PART = re.compile(r"それぞれ|両方|両者|あわせて|合わせて|ともに|及び|および|についても|も知りたい|もあわせて")
# the kind of detail asking whom to contact (窓口, 連絡先, 問い合わせ先): a case's department answers who
CONTACT = "窓口・連絡先"
# How a question speaks of a department, in one place: the department in charge named (担当課, 所管部署),
# which one asked (「どこの課？」「何課？」), the one just discussed (「その課」), and the nouns for it.
IN_CHARGE = r"(担当|所管)(課|部署)"
# who to turn to is who is in charge: 「担当どこ？」「誰に聞けばいい？」「どこに問い合わせれば？」
WHOM_TO_ASK = (
    r"(担当|所管)(って)?(どこ|誰|だれ)|(誰|だれ|どこ|どちら)(に|へ)(聞|訊|きけ|きく|きい|問い?合わせ|相談|確認)"
)
# 「どんな形で貢献してるの」 asks how (形 + で, the manner), not which form
WHICH = re.compile(
    r"(どの|どんな|何という|なんという|何の|どこの|どちらの|どういう)(形態|事例|取組|取り組み|課|部署|部|担当|章|項目|形(?!で))"
    rf"|{IN_CHARGE}|どこ(が|で)(担当|所管|実施|やって)|何課|どこの課|どこがやって|どれに(当たる|あたる|なる)"
)
DEPARTMENT_QUESTION = re.compile(
    rf"(どこの|どの|何)(課|部署)|(どこの|どの)(担当|所管)(?!者)|何課|部署は|課は|{IN_CHARGE}|{WHOM_TO_ASK}|(担当|所管)は|どこが(担当|所管|やって)|担当して|所管して"
)
# the words that ask which department (「…、担当課は？」「どこの部署？」): like a detail's, not what is asked about
ASKED_DEPARTMENT = re.compile(rf"(どこの|どの|何の?)(課|部署|部局)|何課|{IN_CHARGE}|{WHOM_TO_ASK}")
# a question asking which department, not one only speaking of one (「うちの課は予算が…」「担当してる団体の
# 人たちが…」): the words above, or its 担当 asked (「…の担当は？」「どこの所管？」「どこが担当してる？」)
ASKS_WHICH_DEPARTMENT = re.compile(
    rf"{ASKED_DEPARTMENT.pattern}|(どこの|どの)(担当|所管)(?!者)|(担当|所管)は(どこ|誰|だれ|[？?]?$)|どこが(担当|所管|やって)"
)
# 「その課は他にどんな事例をやってる？」「同じ課で他にやってることある？」: the department of the case just
# discussed, and its other cases
SAME_DEPARTMENT = re.compile(r"(その|この|そこの?|同じ|担当の?)(課|部署|部局|部門|担当課|所管課?)|担当課|所管課")
# the nouns a question names the department it asks for by (「担当課は？」「所管の部署は？」): not its subject
DEPARTMENT_WORDS = frozenset({"担当", "所管", "課", "部署", "部局", "部門", "担当課", "所管課"})
# (not the って of 「…にとって」「…によって」: 「協働って市民にとって何がうれしいの？」 asks a merit)
# 「協定ってざっくり教えて」「共催を簡単に説明して」: a thing asked to be told in brief is asked what it is
IN_BRIEF = r"(ざっくり|ざっと|簡単に|かんたんに|一言で|ひとことで|わかりやすく|分かりやすく)"
# (not the とは of 「…することは」「…あとは」: 「気をつけることは？」 asks a point to heed)
DEFINITION = re.compile(
    r"(?<![あこ])とは|(?<!にと)(?<!によ)って(何|なに)(?!か)|(?<!にと)(?<!によ)ってなん(?=です|でした|でしょ|だっけ|だろ|なの|だ?[？?]?$)"
    r"|の意味|意味は|(どういう|どんな)意味|定義|どういうもの|どういうこと|って？$|は？$"
    rf"|^[^、。？?\sの]{{1,10}}(って|を){IN_BRIEF}(と|で)?(教えて|おしえて|説明して|解説して)"
)
# what a definition question defines: the words before とは, って or の意味 (「協働ってどういう意味？」 → 協働)
DEFINED = re.compile(rf"^(.+?)(?:とは|って|の意味|の定義|を(?={IN_BRIEF}))")
# 「実行委員会・協議会ってどんな形態？」「協定ってそもそもどういうやり方？」 ask what their subject is by
# the kind of thing it is, though どんな形態 also asks which form (「町内会とやるならどんな形態？」); so do
# 「…の意味」「…の定義」. 「…ってどういうもの？」「…って何が載ってる？」 ask more broadly, and so does a
# kind of thing a verb's case follows (「共催ってどんな催しで採用されることが多い？」 asks where it is used).
DESCRIBED = re.compile(
    r"^([^、，,？?]+?)(?:とは|って)(?:そもそも|一体|いったい)?(?:どんな|どういう|どのような)(?!もの|こと)"
    r"[^、，,でにをへ]*[？?]?$"
)
MEANING = re.compile(rf"意味|定義|{IN_BRIEF}(と|で)?(教えて|おしえて|説明して|解説して)")
CLAUSE_BREAK = re.compile(r"[、，,]")
YES_NO = re.compile(
    r"(いい|良い|よい|いけない|ダメ|だめ|大丈夫|ある|あります|できる|できます|必要|べき|ですか|ますか|の|る"
    r"|OK|ok|Ok|ＯＫ|ｏｋ|オッケー|おっけー|アリ|可能|平気|構わない|かまわない|問題ない"
    r"|NG|ng|ＮＧ|ｎｇ|アウト|セーフ|含む|対象|該当)[？?]?$"
)
# A reading proposed to be confirmed (「それって安く外注するってこと？」「つまり経費削減のためってわけ？」) asks
# whether, as 「…の？」 does: the sentence that confirms or denies it answers, not what its subject is
PROPOSED = re.compile(
    r"(って|という|っていう|ってゆう)(こと|意味|わけ)(です|なの|なん|でしょう|だよね|ですよね)?(か|かな|ね|よね)?[？?]?$"
)
# The close of a yes/no question asking whether a thing is allowed or listed (「…は協働の対象？」「…ってNG？」):
# its words ask, they name nothing (the 対象 of 「…は後援の対象？」 is not 「特定の市民のみを対象としている。」's, nor
# the 必要 of 「情報共有って協働に必要なの？」 「市民が必要とする状況に…」's)
WHETHER = re.compile(
    r"(の|って|は|も|が)?(対象|該当|必要|必須|可能|NG|ng|ＮＧ|ｎｇ|アウト|セーフ|OK|ok|Ok|ＯＫ|ｏｋ|ダメ|だめ|駄目)"
    r"(になる|に入る|に含まれる|なの|なん|です|でしょう)*(か|かな)?[？?]?$"
)
# A yes/no question asking whether a thing is one the guideline's list names: it closes on what asks whether it
# is allowed or listed (WHETHER), or on a verb of belonging (「…は協働の分野に含まれる？」「…も入るの？」
# 「企業も協働の相手になれる？」)
BELONGS = re.compile(
    r"(入る|入ります|はいる|はいります|含む|含まれる|含まれます|該当する|該当します|当てはまる|当てはまります|になれる|になれます)"
    r"(の|ん|です|か|かな)*[？?]?$"
)
# 「…ＮＰＯや企業も含めて、まちづくりを進めるパートナーとして捉えています。」: a sentence counting a thing in
INCLUDES = re.compile(r"含め|含ま|含む|含み|として捉え")
# 「具体例ある？」「協定の例ってなにかある？」 ask for the examples or the list, not whether there are any
ASKS_FOR_LIST = re.compile(r"例(?!えば)|一覧|リスト")
# 「…んだっけ？」「…でしたっけ？」 asks whether, as 「…の？」 does, unless it asks what (「後援ってなんだっけ？」)
RECALLED = re.compile(r"っけ[？?]?$")
ASKS_WHAT = re.compile(r"何|なに|なん|どう|どこ|どれ|どんな|どの|いつ|誰|だれ|いくら|いくつ")
# 「企業だとどんな活動してる？」 ends as a yes/no question does but asks what: an interrogative word makes it
# no yes/no question (「何か決まりある？」's 何か is no interrogative), unless it asks inside a clause closed by
# か (「どの形でやるかはうちの課で決めちゃっていいの？」 asks whether)
INTERROGATIVE = re.compile(r"(どんな|どういう|どの|どこ|いつ|誰|だれ|なぜ|何(?!か))(?![^、。？?]*か[はをもが、])")
# Actual cases asked for by name; what someone is doing (progressive aspect) asks for them too.
# 例 as a noun of its own, after の or a clause (「協定を結んだ例」「どんな例」); not 条例, 例えば
EXAMPLE = r"(?<=[のたるなだ])例(?!え)"
CASES = re.compile(rf"事例|実例|具体例|実際|{EXAMPLE}")
# asked for examples by name (「後援の事例は？」「共催の例ってある？」), not only what is done
EXAMPLES = re.compile(rf"事例|実例|具体例|{EXAMPLE}")
# a form's examples are asked for by its record too (「共催の実績は？」; not 「協働の実績を作るには」, of no form)
RECORDS = re.compile(rf"{EXAMPLES.pattern}|実績")
HOW_TO = re.compile(r"どうやって|どうすれば|どうしたら|方法|やり方|進め方|手順|どのように")
# what to do, asked as a how-to or as whether one should (「…やるべき？」「何をすればいい？」「気をつけることは？」)
WHAT_TO_DO = re.compile(
    rf"{HOW_TO.pattern}|べき|(ほう|方)がいい|[ばら]いい|すれば|したら|とけば|ておけば|気を(付|つ)け|注意"
)

NUM = "[0-9０-９〇一二三四五六七八九十百千万]"
# What may stand between a number and its counter: 「200 を超える団体」「10〜20人」「８０余りの町内会」.
QUANTIFIED = (
    r"\s*(を超える|を超す|以上の?|以下の?|未満の?|余りの?|程度の?|ほどの?|近くの?|前後の?|[〜～~－-]\s*"
    + NUM
    + r"+)?\s*"
)


@dataclass(frozen=True)
class DetailKind:
    """A kind of detail staff ask for, one entry of ``DETAIL_KINDS``: its name in an answer (``label``),
    the shapes of question that ask for it, and what in a section's text states it.

    A question asks for it by
    - ``nouns``: a noun phrase naming it (期限, 様式, 会場), not inside a word that asks nothing (短期間);
    - ``heads``: a compound the question asks about whose last word makes it this measure (講師料, 実施日);
    - ``asks``: an interrogative, usually with a counter (何日前, いくら, 何人, 誰がハンコ), ``NEVER`` for none;
    - ``finder``: a shape of the whole question, read through its tokens, that asks it of a thing the
      question names (「入札で選ばないといけない？」「経費は誰が出す？」): returns the ``Detail`` or None.
    A section states it by ``value`` (a concrete value: ３０日前, ５万円, 様式第１号), by ``prose`` when its
    noun asked it, or by the noun itself (a Detail's ``words``); ``stated`` changes what states the value
    one interrogative asks (何人: a number of people, not any count)."""

    label: str
    nouns: tuple[str, ...]
    asks: str  # a regular expression over the question: 何日前, いくら …
    value: str  # a regular expression over a section's text: a concrete value (３０日前, ５万円, 様式第１号)
    # asked only of a case the answer quotes (a chapter-5 example: who exactly, which place); elsewhere
    # (「会場の借り方」) not named as missing, and never what a question's scope is judged without
    of_case: bool = False
    # asked of what the question is about, whatever that is (who bears its cost): no detail question
    # (``Detail.in_topic``)
    of_topic: bool = False
    # of a case's detail, what follows its noun (or precedes it) when the noun asks for it: 「会場はどこ？」
    # asks for a place, 「ごみ出し場所を巡回している…」 names one; "": wherever it is named
    after_noun: str = ""
    before_noun: str = ""
    # what states it in words, when it is asked by its noun and not by an interrogative: 「確認の頻度は？」
    # is answered by 「随時、…確認してください。」, 「何年おきに？」 only by a number
    prose: str = ""
    heads: tuple[str, ...] = ()
    # what states the value an interrogative asks, given its match (``asks`` is its group 1), when the
    # kind's ``value`` does not; "" for the value
    stated: Callable[[re.Match[str]], str] | None = None
    # いつ asked of a past clause (「いつ改定されたの？」) asks when that happened, of anything: named with the
    # clause, stated by a date or by a past time in words (近年, 今日) too
    happened: bool = False
    finder: Callable[[str, list[Token], list[tuple[int, int]]], Detail | None] | None = None
    # nouns that ask for it only as what the question closes on (「申請窓口ってどこ？」「協定を結ぶまでの流れを
    # 教えて」) or asks which one of (「どこの窓口に…」), not in a clause of its own (「昨日窓口で…言われた」,
    # 「市民と一緒にやる流れになったの？」)
    closing: tuple[str, ...] = ()
    # what states it when its noun asks for it, when that is narrower than ``value`` (「決裁は誰まで？」 asks
    # for the city's own sign-off, which the parties' 「協議をして定め」 is not)
    noun_value: str = ""
    # stated only by ``value``: a section that only names the noun does not state it
    by_value: bool = False

    def asked_by_noun(self, text: str, start: int, end: int) -> bool:
        """Whether its noun named at ``text[start:end]`` asks for it: a case's detail only in the shapes
        ``after_noun`` and ``before_noun`` give."""
        return not self.of_case or bool(
            re.match(self.after_noun, text[end:]) or (self.before_noun and re.search(self.before_noun, text[:start]))
        )


# The counters of a rule's provisions (第３条第２項第１号)
PROVISIONS = frozenset({"条", "項", "号"})
# A count of things in general, which a list's items answer (not 何部, 何人).
ITEMS_COUNTED = re.compile(r"いくつ|幾つ|何(個|項目|種類|つ|通り|パターン)")
# 年何階 typed for 年何回 (both なんかい): a count a year, a month or a week, not a floor
MISTYPED_TIMES = re.compile(r"([年月週日]に?)何階")
# What may follow the past た a いつ asks of, to the end of the question: 「改定されたの？」「決まったものなの？」
PAST_END = re.compile(r"(の|ん|もの|っけ|か|かな|な|だ|です|よ|ね)*[？?。]?\s*")
# A past time in words, which states when too: 「近年、事案が増えています」「経済や社会が成熟した今日」
SINCE = r"近年|今日"
# A past clause named and asked when: 「できたのっていつ？」「見直されたのはいつ？」
PAST_NOMINAL = re.compile(r"(の|ん)(って|は|が)\s*")
PAST_ASKED = re.compile(
    r"^(頃|ごろ|ころ|くらい|ぐらい)?(なの|なん|だった|でした|ですか|だっけ|でしたっけ|か|の|です)*[？?]?\s*$"
)
# The close of a yes/no question asking whether a thing is required: 「…がいるの？」「…は必須？」, or
# whether it must be done (by some means): 「…で選ばないといけない？」「…で交わさないとだめ？」
NEEDED = re.compile(
    r"(が|は|って|も)?(いる|要る|いります|要ります|必要|必須)(なの|なん(です)?か?|ですか|でしょうか|の|か|かな)?[？?]?$"
)
OBLIGED = re.compile(
    r"(ないと|なければ|なきゃ|なくちゃ|なくては)(いけない|いけません|だめ|ダメ|駄目|まずい|ならない|なりません)?"
    r"(なの|なん(です)?か?|ですか|でしょうか|の|か|かな)?[？?]?$"
)
# After an act's noun, what asks how it is done: 「申請ってどうやるの？」「見積りのやり方は？」
PROCEDURE_ASKED = re.compile(
    r"^(って|は|の|を|も)?\s*(どうやって|どうやる|どうやれば|どうやったら|どうすれば|どうしたら|どうする|どのように"
    r"|どんな風に|どんなふうに|やり方|仕方|しかた|方法|流れ|手順)"
)
# The acts of an administrative procedure, by lemma: how each is done is a procedure (not 受付 or 募集,
# which the guideline's sections on proposals and partners describe)
PROCEDURE_ACTS = frozenset(
    {"申請", "申し込み", "届け出", "提出", "見積もり", "契約", "入札", "精算", "決算", "会計", "請求", "支払い"}
)
# What is done to a document that may be required (「…を作らないとだめ？」「…を交わさないといけない？」), by
# lemma: not 出す or 払う (「費用を出さないと」 asks whether to pay)
MADE = frozenset(
    {
        "作る",
        "作成",
        "策定",
        "用意",
        "準備",
        "交わす",
        "取り交わす",
        "結ぶ",
        "締結",
        "提出",
        "書く",
        "取る",
        "付ける",
        "添付",
    }
)
# How much, asked (「どのくらい」「どれくらい」…)
DEGREE = r"(どのくらい|どれくらい|どれぐらい|どのぐらい|どんくらい|どの程度)"
# Words that contain a detail noun without asking for it; a thing named as what to go by (「マニュアル通りに
# やればいい？」「様式どおりで大丈夫？」) is a way of working asked about, not the document asked for.
NOT_ASKED = re.compile(r"短期間|長期間|一定期間|期間中|長期|.+(通り|どおり)$")
# What a length until a thing is done follows (「締結するまでって普通どれくらいかかる？」), as lookbehinds
UNTIL = "|".join(f"(?<=まで{p}{a})" for p in ("", "って", "は", "に") for a in ("", "普通", "大体", "だいたい", "通常"))
# A length the guideline gives only in words (「一定期間、継続的な関係で」「一定期間ごとに見直し」「長期に及ぶ
# 場合」), asked how long it is in fact: 「一定期間って具体的に？」「…一定期間ってどのくらいの長さ？」「長期って
# 何年から？」 asks for a value no such word states
VAGUE_LENGTH = re.compile(r"一定期間|長期間|短期間|長期|短期")
CONCRETELY = re.compile(
    r"^(ごと)?(は|って|とか|も|が|の)?\s*(具体的(に|には|な)?|実際(に|には|は)?|だいたい|大体|およそ)?\s*"
    r"(どれくらい|どのくらい|どれぐらい|どのぐらい|どの程度|どんくらい|何(年|か月|ヶ月|カ月|日|週間)|いつ|長さ|[？?]|$)"
)

# the kind of a thing asked whether it is required (``required_detail``)
REQUIRED = "要否"
# who bears a cost (``bearer_detail``): 「事業協力の経費は誰が出す？」「費用って誰持ち？」
BEARER = "負担者"
COST = r"経費|費用|お金|資金|コスト|補助金|予算|運営費|事業費"
# the question asks who bears it, by an interrogative with a verb of bearing (PARTY_ASKED's): not what it
# costs (「委託の費用は？」)
BEARER_ASKED = re.compile(
    r"(誰|だれ|どっち|どちら|どこ)(が|の)?(負担|持ち|持つ|もち|もつ|払|出す|出し|出る)"
    r"|(負担|払う|出す)(の|するの|者)?(は|って)(誰|だれ|どっち|どちら|どこ)"
)
# who bears it, as what is to be settled (「費用、どっちが持つか決めとくべき？」): asks whether to settle it,
# which 「経費…を明確にしてください」 answers
SETTLED = re.compile(r"^[ぁ-ん]{0,4}?か[をはも]?(決|定め|話し合|相談|協議|明確|はっきり)")

DEADLINE = (
    rf"{NUM}+\s*(日|週間|か月|ヶ月|カ月|年|月)(前|以内|まで|以上|後|間|から)|{NUM}+\s*年度|{NUM}+\s*月\s*{NUM}+\s*日"
    r"|(平成|令和|昭和)\s*[0-9０-９元]"
)

# After a place's noun, what asks which place it is: 「会場はどこ？」「開催場所って？」; before it, どこの・どの
WHERE_ASKED = r"^(は|って|が|も)?(どこ|何処|どちら|？|\?|$)"
WHICH_ONE_OF = r"(どこ|どの)の?$"
# A place a case states: a kind of place where it is done or put (「…女性用トイレに設置」「区域内の町内会」), or
# the whole city (「全市的に」); 「市内の企業」 names no place of its own, as every case is the city's
PLACES = r"会場|場所|センター|会館|ホール|公園|学校|庁舎|施設|トイレ|道路|区域|地区|場"
A_PLACE = rf"({PLACES})(で|に(?!つい|関|対|よ)|にて|において|内)|全市"  # 「施設について」 says of what
# which one a thing a case names is, closing the question (「指定されてる建物はどこ？」「公園ってどこの公園？」):
# asked of the thing's noun, not of who (「主催はどこ？」「担当はどこ？」); 「…のはどこ？」 asks where in a text
WHICH_PLACE = re.compile(
    r"(は|って|が)\s*(どこ|何処)(の([^、。？?]+?))?(なの|なん|です|でしょう|だっけ|っけ|か|かな|よ|ね)*[？?]?\s*$"
)
# After a condition's or a budget's noun, the predicate that asks for it closes the question: 「参加できる
# 条件ってある？」「資格がいるの？」「予算ってどれくらいだった？」, not 「条件を付けたほうがいい？」
VALUE_ASKED = r"^((は|って|が|も|とか)[^、。をにで]{0,12})?[？?]?$"
# The counters a number of people is written with.
PERSONS = "人|名"
# Who a case's role is held by, as the guideline says it: a party, not a person's name.
PARTY = r"(団体|ボランティア|会員|協会|協議会|連合会|市民|企業|学校|大学|事業者|職員)"
NAMED = r"氏|さん|先生"
# nouns of who (a party, a role, a department), which 「…はどこ？」 asks as which one, not where
WHO_NOUNS = re.compile(rf"({PARTY}|{'|'.join(sorted(DEPARTMENT_WORDS))}|相手|主催|主体|パートナー|講師|者|窓口)$")
# an interrogative no question has (a kind asked only by its nouns or its finder)
NEVER = r"(?!)"


def _number_stated(asked: re.Match[str]) -> str:
    """何人 is stated by a number of people, not by any count (「年２回」 says nothing of 何人), or by a ratio
    (「何人を受け持つ？」: １対１); いくつ by any count (the kind's value)."""
    if not asked.group(0).startswith("何"):
        return ""
    counter = asked.group(0)[1:]
    return rf"{NUM}+{QUANTIFIED}({PERSONS if counter in ('人', '名') else counter})|{NUM}+\s*対\s*{NUM}"


def _holder_stated(asked: re.Match[str]) -> str:
    """「日本語教室の講師は誰？」 is answered by the party a clause makes the role's holder (「国際交流ボランティア
    には…日本語教室の講師…の協力を得ています」), not only by a name."""
    return rf"{NAMED}|{PARTY}(には|が|は)[^、。]*{asked.group(2)}"


# an amount given (「いくら出すの？」「いくらもらえる？」), which a section saying none is given states
GIVEN = re.compile(r"^\s*(くらい|ぐらい|ほど)?\s*(出す|出し|出る|出ま|もらえ|貰え|もら|くれ|払う|払っ|支給|補助|援助)")
YEN = rf"{NUM}+\s*(円|万円|千円)"


def _amount_stated(asked: re.Match[str]) -> str:
    """「後援したら市はいくら出すの？」 is answered by 「財政的な支援等はありません。」 (none is given); a fee or a
    price asked (「手数料って何円かかる？」) only by a sum."""
    return rf"{YEN}|(財政|金銭|資金)的な支援[^。]*(ありません|ない)" if GIVEN.match(asked.string[asked.end() :]) else ""


# The city's own sign-off on a thing, named: a section stating who approves it writes one of these
APPROVAL = r"決裁|承認|専決|許可"


def _approval_stated(asked: re.Match[str]) -> str:
    """「誰が決めるの？」 is answered by who settles it (「それぞれの役割など協議をして定め」, the kind's value);
    a sign-off asked for (「誰の承認がいるの？」「承認って誰がするの？」) only by one named."""
    return "" if "決め" in asked.group(0) else APPROVAL


def required_detail(text: str, tokens: list[Token], phrases: list[tuple[int, int]]) -> Detail | None:
    """Whether a thing is required, asked of the noun a yes/no question closes on (「…議会の議決がいるの？」
    「…入札で選ばないといけない？」 → 議会の議決, 入札), or None. Its words are the noun's, so a section
    writing it states it; the chain names it missing only of a thing the guideline never writes."""
    if needed := NEEDED.search(text):
        end = needed.start()
    elif obliged := OBLIGED.search(text):
        # the means a thing must be done by: 「入札で|選ば|ないと」, or a document that must be made or
        # exchanged: 「交付要綱を|作ら|ないと」「覚書を|交わさ|ないと」; not what is done (「費用を出さないと」
        # asks whether to pay, which 「経費負担…双方にある」 answers)
        before = [t for t in tokens if t.end <= obliged.start()]
        if before and before[-1].lemma == "為る" and len(before) >= 2 and before[-2].lemma in MADE:
            before = before[:-1]  # 「規約を作成しないと」: 作成|し
        verb = before[-2:]
        if (
            len(verb) < 2
            or verb[0].pos != "助詞"
            or not (
                (verb[-1].pos == "動詞" and verb[0].surface == "で")
                or (verb[-1].lemma in MADE and verb[0].surface == "を")
            )
        ):
            return None
        end = verb[0].start
    else:
        return None
    noun = next(((s, e) for s, e in phrases if e == end), None)
    if noun is None:
        return None
    # not a noun of circumstance before it: 「委託するとき仕様書っている？」 asks of 仕様書
    inside = [t for t in tokens if noun[0] <= t.start and t.end <= end]
    while len(inside) > 1 and inside[0].pos_type == "副詞可能":
        inside = inside[1:]
    start = inside[0].start
    owner = next((s for s, e in phrases if e == start - 1 and text[e] == "の"), None)  # 議会の議決
    name = text[start if owner is None else owner : end]
    inside = [t for t in tokens if start <= t.start and t.end <= end and t.pos == "名詞"]
    if not inside:
        return None
    nouns = [t.surface for t in inside]
    owned = []
    if owner is not None and inside[-1].pos_type == "サ変可能":
        # an act done to its owner (「期限の設定」「議会の議決」): a section writing the owner states it (3-6's
        # 「期限や使途の制限を設ける」)
        owned = [t.surface for t in tokens if owner <= t.start and t.end < start and t.pos == "名詞"]
    words = (nouns[-1], *nouns[:-1], *owned)
    return Detail(f"{name}が必要かどうか", REQUIRED, words, span=(start, end), unwritten=True)


def procedure_detail(text: str, tokens: list[Token], phrases: list[tuple[int, int]]) -> Detail | None:
    """How an act is done, asked of the act's noun (「後援名義の申請ってどうやるの？」「見積りのやり方は？」
    → 後援名義の申請の手続き), or None. The chain names it missing only of an act the guideline never writes."""
    for start, end in phrases:
        head = next((t for t in reversed(tokens) if t.end == end), None)
        if head is None or not PROCEDURE_ASKED.match(text[end:]) or head.lemma not in PROCEDURE_ACTS:
            continue
        owner = next((s for s, e in phrases if e == start - 1 and text[e] == "の"), None)
        name = text[start if owner is None else owner : end]
        return Detail(f"{name}の手続き", "手続き", (head.surface, text[start:end]), span=(start, end), unwritten=True)
    return None


# what to write in a document, asked (「覚書の中身って何を書けばいい？」「…中身には何を書いとけばいい？」)
CONTENTS_ASKED = re.compile(
    r"(中身|内容)(に|には|は|って|として)?\s*(何|なに|どんなこと|どういうこと)を?\s*(書|入れ|盛り込|記載|載せ)"
    r"|(何|なに|どんなこと)を(書|盛り込|記載)"
)
# the documents staff exchange or draw up, as the last word of a noun phrase
DOCUMENT = re.compile(r"(覚書|協定書|合意書|契約書|仕様書|計画書|報告書|申請書|規約|要綱|取り決め|取決め)$")
CONTENTS = "記載内容"


def contents_detail(text: str, tokens: list[Token], phrases: list[tuple[int, int]]) -> Detail | None:
    """What to write in a document the question names (「団体と覚書を交わすとき、中身には何を書いとけばいい？」
    → 覚書に書く内容), or None. Stated only by a sentence naming that document with what it covers (5-13's
    「…保険の加入などについて合意書を交わしています」): a document the guideline never writes (覚書, which the
    glossary reads as 協定 to find the sections near it) has no contents in it."""
    asked = CONTENTS_ASKED.search(text)
    if asked is None:
        return None
    document = next(((s, e) for s, e in phrases if e <= asked.start() and DOCUMENT.search(text[s:e])), None)
    if document is None:
        return None
    noun = DOCUMENT.search(text[document[0] : document[1]]).group(0)
    return Detail(
        f"{noun}に書く内容",
        CONTENTS,
        (noun,),
        needs_value=True,
        span=document,
        pattern=rf"(について|など)[^。]{{0,12}}{noun}を|{noun}[^。]{{0,12}}(について|には|に記載)",
    )


# who does an act, asked of the act's noun (「…監査って誰がやることになってる？」「補充は誰がしてるの？」)
DOER_ASKED = re.compile(r"(は|って|を)\s*(誰|だれ|どなた)が(やる|やって|やっ|する|して|し|担当|行う|行っ|実施)")
DOER = "担い手"


def doer_detail(text: str, tokens: list[Token], phrases: list[tuple[int, int]]) -> Detail | None:
    """Who does an act, asked of the act's noun before 「…って誰がやる？」 (「実行委員会のお金の監査って誰が
    やることになってる？」 → お金の監査の担い手), or None. The chain names it missing only of an act the guideline
    never writes: of 補充 or 評価 it says what it says."""
    asked = DOER_ASKED.search(text)
    if asked is None:
        return None
    act = next(((s, e) for s, e in phrases if e == asked.start()), None)
    head = next((t for t in reversed(tokens) if act and t.end == act[1]), None)
    if act is None or head is None or head.pos != "名詞" or head.pos_type != "サ変可能":
        return None  # an act, done by someone: not 「その団体って誰がやってる？」
    owner = next((s for s, e in phrases if e == act[0] - 1 and text[e] == "の"), None)
    name = text[act[0] if owner is None else owner : act[1]]
    return Detail(f"{name}の{DOER}", DOER, (head.surface, text[act[0] : act[1]]), span=act, unwritten=True)


def bearer_detail(text: str, tokens: list[Token], phrases: list[tuple[int, int]]) -> Detail | None:
    """Who bears a cost, asked of the cost's noun before the interrogative (「事業協力の経費は誰が出す？」 →
    事業協力の経費の負担者), or None; the cost's owner (事業協力の) named with it."""
    asked = BEARER_ASKED.search(text)
    if asked is None or SETTLED.match(text[asked.end() :]):
        return None
    cost = next(((s, e) for s, e in reversed(phrases) if e <= asked.start() and re.search(COST, text[s:e])), None)
    if cost is None:
        return None
    # not a noun of circumstance, nor a connective MeCab joins to it: 「…ときの費用」「あと経費」
    inside = [t for t in tokens if cost[0] <= t.start and t.end <= cost[1]]
    while len(inside) > 1 and inside[0].pos_type == "副詞可能":
        inside = inside[1:]
    start = inside[0].start
    owner = next(
        (
            s
            for s, e in phrases
            if e == start - 1 and text[e] == "の" and not any(t.end == e and t.pos_type == "副詞可能" for t in tokens)
        ),
        None,
    )
    name = text[start if owner is None else owner : cost[1]]
    return Detail(f"{name}の{BEARER}", BEARER, span=(start, cost[1]))


def place_detail(text: str, tokens: list[Token], phrases: list[tuple[int, int]]) -> Detail | None:
    """Which place a thing is, asked of its noun closing the question (「津波一時避難施設に指定されてる建物は
    どこ？」 → 建物の場所), or None: stated only by a place (``A_PLACE``), not by kinds of place listed with
    「…など」 (「公園ってどこの公園？」 is not answered by 「道路、公園、パークゴルフ場など」)."""
    asked = WHICH_PLACE.search(text)
    if asked is None or COMPARISON.search(text) or ASKED_DEPARTMENT.search(text):
        return None
    thing = next(((s, e) for s, e in phrases if e == asked.start()), None)
    # 「どこの公園？」: one noun after どこの, not a clause (「どこの団体から後援をもらってる？」); of who, neither
    # (「どこの担当？」)
    which = asked.span(4)
    if (
        thing is None
        or (which[0] >= 0 and which not in phrases)
        or any(WHO_NOUNS.search(text[s:e]) for s, e in (thing, which) if s >= 0)
    ):
        return None
    start, end = thing
    owner = next((s for s, e in phrases if e == start - 1 and text[e] == "の"), None)
    name = text[start if owner is None else owner : end]
    return Detail(f"{name}の場所", "場所", needs_value=True, span=(start, end), pattern=A_PLACE)


# what happens when a thing comes about, asked after its condition (「補助金が余ったらどうなるの？」「委託先が
# 倒産したらどうなる？」); the lemmas that only carry the condition's verb (中止に|なっ|たら, 倒産|し|たら,
# 失敗に|終わっ|たら)
# (not a time that names a thing: 「委託するときの事務の流れってどうなってる？」)
CONSEQUENCE_ASKED = re.compile(
    r"(たら|だら|場合|とき|時)(?!の)(は|って|に|には)?[、，,]?\s*[^、。？?]{0,12}?どうな[るりっ]"
)
LIGHT_VERBS = frozenset(
    {"為る", "成る", "終わる", "居る", "有る", "出来る", "仕舞う", "られる", "れる", "せる", "させる"}
)
CONSEQUENCE = "その場合の扱い"


def consequence_detail(text: str, tokens: list[Token], phrases: list[tuple[int, int]]) -> Detail | None:
    """What happens when a thing comes about, asked of the condition before 「…たらどうなる？」 (「補助金が
    使い切れずに余ったらどうなるの？」 → 補助金が使い切れずに余った場合の扱い), or None. The chain names it
    missing only of an event the guideline never writes: of 「うまくいかなかったら」 it says what 4-4 says."""
    asked = CONSEQUENCE_ASKED.search(text)
    if asked is None:
        return None
    end = asked.start() + (1 if asked.group(1) in ("たら", "だら") else 0)  # 余った|ら, 余った|場合
    events = [t for t in tokens if t.end <= asked.start() and t.is_content and t.lemma not in LIGHT_VERBS]
    if not events:
        return None
    start = max(text.rfind(c, 0, end) for c in "、，,。") + 1
    return Detail(f"{text[start:end]}場合の扱い", CONSEQUENCE, (events[-1].lemma,), span=(start, end), unwritten=True)


# The table of detail kinds: adding a kind is one entry (``DetailKind`` says what each field asks). Order
# matters: the first kind whose noun or interrogative a phrase matches names it (何年ごと is a frequency before
# it is a period), and of the finders asking of one thing (``unwritten``) the first that finds it (要否 before
# 手続き's how it is done).
DETAIL_KINDS: tuple[DetailKind, ...] = (
    DetailKind(
        "頻度・周期",
        ("頻度", "周期", "間隔"),
        r"何(年|か月|ヶ月|カ月)(ごと|毎|に一度|に1回|おき)",
        rf"{NUM}+\s*(年|か月|ヶ月)(ごと|毎|に一度|おき)|毎年|毎月|年{NUM}+回",
        # (not 「一定期間ごとに見直しを行う」: it says there is an interval, not how often)
        prose=r"随時|定期的|常時|例年",
    ),
    # a time of day (opening hours) is no deadline: 「何時から？」 (stated by an hour, or as a deadline was)
    DetailKind("時刻・時間帯", (), r"何時(から|まで|に|頃|ごろ)?", rf"{NUM}+\s*(時|：|:)|{DEADLINE}"),
    DetailKind(
        "期限・期間",
        (
            "期限",
            "締切",
            "締め切り",
            "締めきり",
            "〆切",
            "しめきり",
            "期日",
            "日程",
            "日時",
            "日付",
            "日にち",
            "開催日",
            "任期",
            "期間",
            "スケジュール",
            "納期",
        ),
        # 何月何日 is one date asked, not a day and a count of months
        r"何月何日|何日前|何日以内|何日まで|何日|何年|何(か|ヶ|カ)月|何週間|いつまで|いつから"
        # how long it takes, or how far ahead (「承認にどのくらい時間かかる？」「どのくらい前に出せばいい？」)
        rf"|{DEGREE}(くらい|ぐらい)?の?\s*(時間|期間|日数|日にち)(が|は)?\s*(かかる|かかり|要する)|{DEGREE}(くらい|ぐらい)?\s*前"
        # how long until a thing is done (「協定を締結するまでって普通どれくらいかかる？」), not what it costs
        # (named by what asks it: the lookbehinds keep 「まで…」 out of the match)
        rf"|(?:{UNTIL}){DEGREE}(くらい|ぐらい)?\s*(かかる|かかり)",
        DEADLINE,
        heads=("日",),
    ),
    DetailKind(
        "割合",
        ("割合", "比率", "補助率", "負担率", "助成率"),
        r"何割|何パーセント|何[％%]|何対何",
        rf"{NUM}+\s*(割|％|%|パーセント)|{NUM}+\s*対\s*{NUM}|{NUM}+\s*分の|半額|折半|全額",
        heads=("率",),
    ),
    DetailKind(
        "金額",
        (
            "金額",
            "上限額",
            "限度額",
            "予算額",
            "補助額",
            "助成額",
            "単価",
            "相場",
            "謝礼",
            "報酬",
            "奨励金",
            "手数料",
            "参加費",
            "料金",
            "委託料",
            "日当",
            "交通費",
            "謝金",
        ),
        r"いくら|何円|何万円|何千円",
        YEN,
        heads=("料", "費", "額", "代"),
        stated=_amount_stated,
    ),
    DetailKind(
        "数",
        ("人数", "定員", "回数", "件数", "団体数", "単位数"),
        r"何(人|名|回|件|団体|社|か所|カ所|ヶ所|単位|校|チーム)|いくつ",
        # 「一人ひとり」 is everyone, not a number of people
        rf"{NUM}+{QUANTIFIED}(人|名|回|件|団体|社|か所|カ所|単位|校)(?!ひとり|一人)|{NUM}+\s*を超える",
        heads=("数",),
        stated=_number_stated,
    ),
    DetailKind(
        "配点・審査基準",
        ("審査基準", "評価基準", "採点基準", "配点", "点数", "満点", "評価項目"),
        r"何点",
        rf"{NUM}+\s*点",
    ),
    # a measure of a result set beforehand: 「協働事業の成果のKPIって決めておくもの？」
    DetailKind(
        "指標・目標値",
        ("KPI", "ROI", "評価指標", "成果指標", "数値目標", "目標値", "費用対効果"),
        NEVER,
        rf"指標|目標値|{NUM}+\s*(%|％|割)",
    ),
    DetailKind(
        "様式・書式",
        (
            "様式",
            "書式",
            "ひな形",
            "雛形",
            "ひながた",
            "テンプレート",
            "テンプレ",
            "フォーマット",
            "申請書",
            "申込書",
            "届出書",
            "報告書",
            "計画書",
            "契約書",
            "協定書",
            "合意書",
            "書類",
            "記入例",
            "シート",
            "用紙",
            # a document that lays out how to do it: 「…立ち上げるときのマニュアルってある？」
            "マニュアル",
            "手引き",
            "手引書",
            "フローチャート",
            "チェックリスト",
        ),
        # (not 「何を書けば」: what to write in it, ``contents_detail``)
        r"書き方|記入方法|(?<!を)書けば",
        rf"様式第|別記様式|様式{NUM}",
        heads=("書",),
    ),
    DetailKind(CONTENTS, (), NEVER, NEVER, finder=contents_detail),
    # whether a thing the question names is required (「協定って議会の議決がいるの？」「入札で選ばないと
    # いけない？」): stated by a section that writes the thing, or that says what is required there (not
    # a care to take: 3-6's 「…ないよう注意が必要です」 requires no document)
    DetailKind(
        REQUIRED, (), NEVER, r"(?<!(注意|配慮|留意|用心)が)必要|必須|なければな|ねばな|義務", finder=required_detail
    ),
    # how an act is done is asked by its noun too (「申請ってどうやるの？」: ``procedure_detail``)
    DetailKind(
        "手続き",
        (
            "手続き",
            "手続",
            "申請方法",
            "申込方法",
            "申請手順",
            "積算方法",
            "契約方法",
            "提出先",
            # the steps of one thing the guideline names (「…入札とかの手順は決まってる？」); its 「全ての取組に
            # 共通する手順」 (1-1) and 「作業手順」 (4-2) state the word where it is asked of those
            "手順",
            # what is done, in order, to get a thing done (「協定を結ぶまでの流れを教えて」「委託の事務の流れって
            # どうなってる？」), asked as what the question closes on: not 「市民と一緒にやる流れになったの？」;
            # 2-2's 「結論に至った流れ」 states it where it is asked of that
            "流れ",
            "フロー",
        ),
        r"どこ[にへ](出|提出|申請|申し込|送|郵送)|どこで(もらえる|もらう|入手|申し込)",
        r"申請書を|提出してください|手続き",
        finder=procedure_detail,
        closing=("流れ", "フロー"),
    ),
    # who does an act the question names (``doer_detail``)
    DetailKind(DOER, (), NEVER, NEVER, finder=doer_detail),
    # who signs or stamps (「協定書って誰がハンコ押すの？」) is no decision the parties settle by consultation
    DetailKind(
        "署名・押印",
        ("押印", "署名者", "押印者"),
        r"(誰|だれ)が(判子|ハンコ|はんこ|印鑑|署名|サイン|押印)|(署名|押印|サイン)(は|って|するのは)(誰|だれ)",
        r"署名|押印|記名|調印|印鑑",
    ),
    # whose name a document or a reply goes out under (「協定書って誰の名前で署名するの？」「回答って誰の名前で
    # 出すの？」): stated by a name the text gives it under (後援名義, 市長名)
    DetailKind(
        "名義",
        ("名義人",),
        r"(誰|だれ|どなた)の(名前|名義)で|名義(は|って)(誰|だれ)",
        r"名義|(市長|理事長|会長|代表者?)(名|の名前)",
    ),
    DetailKind(
        "決裁・承認",
        ("決裁", "決裁者", "承認者", "決裁権者", "専決"),
        # 「後援の承認って誰がするの？」: the approval asked who gives it; 「誰の承認がいるの？」 whose
        r"(誰|だれ)が(決め|決裁|承認|許可)|(承認|許可|決裁)(?=(は|って|を)?(誰|だれ))"
        r"|(誰|だれ|どなた)の(決裁|承認|許可|了承|OK|ＯＫ|オーケー)",
        # 「それぞれの役割など協議をして定め」: settled by the parties' consultation says who decides
        rf"{APPROVAL}|(協議|話し合)[^。]{{0,6}}(定め|決め)",
        stated=_approval_stated,
        noun_value=APPROVAL,
    ),
    DetailKind(
        CONTACT,
        ("窓口", "連絡先", "問い合わせ先", "問合せ先", "電話番号", "内線", "メールアドレス", "担当者"),
        # where to ask, as a verb's place (「問い合わせる先は？」「相談する先」)
        r"どこに(問い合わせ|連絡|電話)|(問い?合わせ|問合せ|連絡|相談)(する|できる|る|れる)?先",
        r"電話|内線|@|＠",
        # the counter asked for, not where something happened (「昨日窓口で住民の方に…言われた」)
        closing=("窓口",),
    ),
    # where a case takes place, and who a case's person is by name: a case states them by a place
    # (「…施設などの女性用トイレに設置」「…センターで」) or a person's name (〇〇氏)
    DetailKind(
        "場所",
        ("会場", "開催場所", "実施場所", "開催地", "場所"),
        # 「リーフレットはどこに置いた？」: where a thing is put is a place too
        # (開かれ whole: its か is no 「何日か」)
        r"どこで(やって|やる|やった|開かれ|開|実施|行|して|する|した)|どこに(置|設置|配|貼|掲示|ある|あっ)",
        # (「パークゴルフ場など」 names kinds of place; 「企業や学校などと」 partners)
        rf"{A_PLACE}|({PLACES})など(?!と)",
        of_case=True,
        after_noun=WHERE_ASKED,
        before_noun=WHICH_ONE_OF,
        finder=place_detail,
    ),
    DetailKind(
        "人物・氏名",
        ("氏名", "講師名", "代表者名"),
        r"(講師|講演者|代表者?|会長|委員長|司会者?)(は|って|が)(誰|だれ|どなた|どんな人)",
        NAMED,
        of_case=True,
        after_noun=WHERE_ASKED,
        before_noun=WHICH_ONE_OF,
        stated=_holder_stated,
    ),
    # when a case was or is held, asked by a bare いつ (「まちづくりトークはいつやったの？」): stated by a
    # year, an era, a month or a season (「平成 25 年度は」「春と秋の年２回」「例年」)
    DetailKind(
        "実施時期",
        (),
        r"いつ(?!まで|から|も|でも|の間)",
        rf"{NUM}+\s*(月|年度|年)|(平成|令和|昭和)\s*[0-9０-９元]|[春夏秋冬]|毎年|毎月|例年|年\s*{NUM}+\s*回",
        of_case=True,
        happened=True,
    ),
    # what follows when a thing goes wrong or ends early: money given back, a sanction, a grant or an
    # agreement withdrawn (「補助金の残りって返さなきゃいけないの？」「違約金は取れる？」「後援名義を後から取り
    # 消せる？」): stated only by a section writing one (the guideline writes none)
    DetailKind(
        "返還",
        ("返還", "返金", "返納", "返却"),
        # (not a reply: 「上司に言われたらどう返せばいい？」)
        r"(?<![繰振]り)(?<!どう)(?<!何て)(?<!なんて)返(さ|し|す|せ)",
        r"返還|返金|返納|返却",
    ),
    DetailKind(
        "罰則・違約金",
        ("罰則", "罰金", "ペナルティ", "違約金", "制裁", "賠償", "弁償"),
        r"罰(せ|す)|弁償|賠償",
        r"罰|違約|ペナルティ|制裁|賠償|弁償",
    ),
    DetailKind(
        "取消し・解約",
        ("取消し", "取り消し", "取消", "解約", "解除", "撤回", "打ち切り", "打切り"),
        r"取り?消(さ|し|す|せ)|打ち?切(ら|り|る|れ)",
        r"取り?消|取消|解約|解除|撤回|打ち?切",
    ),
    DetailKind("予算科目", ("予算科目", "費目", "科目"), r"どの予算", r"予算|科目|費目"),
    DetailKind("保険料", ("保険料",), r"保険料", r"保険料"),
    # insurance asked of (「ボランティアの保険はどうする？」): stated only by a rule on it (加入してください, 必要);
    # a case that names an agreement on it (「保険の加入などについて合意書を交わしています」) does not state one
    DetailKind(
        "保険",
        ("ボランティア保険", "傷害保険", "賠償責任保険", "行事保険", "保険"),
        NEVER,
        r"保険[^。]*(加入して|入って|掛けて|かけて|付けて)(ください|もらって)|保険[^。]*(必要|義務)",
        by_value=True,
    ),
    # what it takes to join a case, and what a case cost: the cases state neither (no 条件, 資格, 予算
    # is written anywhere in the guideline), so asked of a case they are named missing; asked of
    # anything else they are left alone (「後援の条件は？」 is answered by 3-7's list of cases)
    DetailKind(
        "条件・資格",
        ("参加条件", "参加資格", "応募条件", "応募資格", "条件", "資格", "要件"),
        NEVER,
        r"条件|資格|要件|であれば|に限|誰でも",
        of_case=True,
        after_noun=VALUE_ASKED,
    ),
    DetailKind(
        "予算", ("事業費", "予算"), NEVER, rf"予算|{NUM}+\s*(円|万円|千円)", of_case=True, after_noun=VALUE_ASKED
    ),
    # a limit asked for, its noun closing the question (「補助金の上限ってある？」「上限とか決まってる？」; MeCab
    # reads 上限って as 上 + 限って): stated by a number with its unit; not a limit to set (「上限を設けたほうが
    # いい？」), nor the value another word asks (「何パーセントが上限？」)
    DetailKind(
        "上限",
        (),
        r"(?<!が)(上限|下限)(?=[^、。をにで]{0,12}[？?]?$)",
        rf"{NUM}+\s*(円|万円|千円|人|名|回|件|割|％|%|パーセント|日|週間|か月|ヶ月|年|団体|社)",
    ),
    # stated by a sentence that names a cost with who bears it (「経費負担…双方にある」「市が補助金等で財政
    # 支援する」「資金…を出し合って」), or says there is none (「財政的な支援等はありません」)
    DetailKind(
        BEARER,
        (),
        NEVER,
        rf"({COST}|負担|財政|委託料)[^。]*(市|双方|相手方|それぞれ|ありません)|(市|双方|相手方)[^。]*({COST}|負担|財政|委託料)",
        of_topic=True,
        finder=bearer_detail,
    ),
    # whether a thing can go on past its term (「後援名義の使用って、次の年も更新できるの？」「翌年度も続けて
    # 申請できる？」): stated by a renewal or a term the text gives (毎年, ３年ごと)
    DetailKind(
        "更新・継続",
        ("更新", "延長", "再申請", "継続申請"),
        r"(翌年度?|来年度?|次の年度?|次年度)も",
        rf"更新|延長|再申請|{NUM}+\s*(年|か月|ヶ月)(ごと|毎)|毎年",
    ),
    # a time asked by a noun (開催時期) can be stated in prose (「取組が終了した時には」), by a year or a season
    DetailKind(
        "時期",
        ("時期",),
        NEVER,
        rf"(時|際|段階|時点|前|後)(に|には|は|まで)|{NUM}+\s*(月|年度)|(平成|令和|昭和)\s*[0-9０-９元]"
        rf"|[春夏秋冬]|毎年|毎月|年\s*{NUM}+\s*回",
        heads=("時期",),
    ),
    # what happens when a thing the question names comes about (``consequence_detail``)
    DetailKind(CONSEQUENCE, (), NEVER, NEVER, finder=consequence_detail),
)
KIND_BY_LABEL = {k.label: k for k in DETAIL_KINDS}
FORM = "様式・書式"
WHOSE = frozenset({"名義", "署名・押印", "決裁・承認"})
PERIOD = "期限・期間"

# What may follow a compound that the question asks about: a topic particle, then an interrogative,
# a predicate of existence or a request, then the end of the sentence (「講師料は？」「店舗数っていくら？」);
# a compound followed by を or で is the means of something else (「活動費を補助で出していい？」).
ASKED_AFTER = re.compile(
    r"^(は|って|とか|も|が)?(いくら|どのくらい|どれくらい|どれぐらい|どのぐらい|何|なに|なん|いつ|どう|ある|あります"
    r"|あるの|決まって|定まって|かかる|かかります|必要|知りたい|を知りたい|教えて|を教えて)?(です|ですか|ますか|の|か)?"
    r"(ください)?\s*([？?。]|$)"
)
# Between a noun and the interrogative that asks its value: 「周期は何年」「締切っていつまで」.
VALUE_OF = re.compile(r"^(は|って|とか|も|が)?(だいたい|大体|およそ|大概)?\s*$")
# After a detail's noun, what asks how much of it (「期限ってどのくらいにすればいい？」): its value, not
# the noun, answers, so a section that names 期限 without a length does not state it.
HOW_MUCH = re.compile(
    r"^(は|って|とか|も|が)?(だいたい|大体|およそ)?(どれくらい|どのくらい|どれぐらい|どのぐらい|どの程度|どんくらい)"
)
# Case particles after a noun that make it part of a clause about something else.
MODIFIES = frozenset("のにをでへ")
# 何 + a counter: 何歳, 何部, 何世帯, 何種類 — a number is asked for, stated as a number of that counter.
COUNTER = "具体的な数値"
# 何年も is "for years" and 何年か "some years" (「何年か続けて…」「何人かで回ってる」): no number is asked;
# 「何日かかる？」 and 「何年か教えて」 do ask one
# (「いくらもらえる？」's も begins もらえる: a value is asked)
INDEFINITE = r"(?!も(?!ら)|か(?!か|を|は|が|って|[、。？?]|$|教|知|分|わか|決|確|調|聞))"


@dataclass(frozen=True)
class Detail:
    """One detail a question asks for: ``name`` as an answer names it (the question's own words and
    the kind), ``words`` that a section stating it would use, and whether only a value states it."""

    name: str
    kind: str
    words: tuple[str, ...] = ()
    needs_value: bool = False
    span: tuple[int, int] = (0, 0)  # where the question names it
    also: tuple[int, int] = (0, 0)  # where an interrogative asks for its value (「補助率は何パーセント」)

    pattern: str = ""  # what states its value, when its kind's does not (a counter's number)
    asked: bool = True  # False: a detail's noun that only says where (協定書に貼る…): not named as missing
    # when something happened (「いつ改定されたの？」): asked of anything, not only of a case
    happened: bool = False
    # asked of a thing the question names (whether 入札 is required, how 申請 is done): named missing only
    # of a thing the guideline never writes; the question keeps its kind and its scope is judged with it
    unwritten: bool = False
    # the nouns of the thing it is asked of, when the question names one with の (申請 of 「申請の期限」):
    # a section naming the detail's noun states it only if it also names that thing (「期限や使途の制限を
    # 設ける」 is a 期限 of the support, not of an application, which 第３章（６） never mentions)
    owner: tuple[str, ...] = ()

    @property
    def of_case(self) -> bool:
        """Whether it is asked only of a case (``DetailKind.of_case``)."""
        kind = KIND_BY_LABEL.get(self.kind)
        return kind is not None and kind.of_case

    @property
    def in_topic(self) -> bool:
        """Whether it is asked of what the question is about (a case's place or time, a thing the question
        names, who bears its cost): it makes no detail question, and the question's scope is judged with
        its words."""
        kind = KIND_BY_LABEL.get(self.kind)
        return self.of_case or self.unwritten or (kind is not None and kind.of_topic)

    @property
    def by_value(self) -> bool:
        """Whether only a rule stating it states it (``DetailKind.by_value``)."""
        kind = KIND_BY_LABEL.get(self.kind)
        return kind is not None and kind.by_value

    @property
    def value(self) -> re.Pattern[str]:
        return re.compile(self.pattern or KIND_BY_LABEL[self.kind].value)

    @property
    def counts_items(self) -> bool:
        """Whether it asks how many of anything (いくつ, 何個, 何項目): a list's items may answer it, not
        a count of copies or people (何部, 何人)."""
        return self.counts and bool(ITEMS_COUNTED.search(self.name))

    @property
    def counts(self) -> bool:
        """Whether it asks how many (いくつ, 何種類, 何件): a count of headings may answer it."""
        return self.needs_value and self.kind in ("数", COUNTER)

    def supplied_by(self, text: str, title: str = "") -> bool:
        """Whether a section's text states this detail: a concrete value of its kind, or (for a
        noun such as 合意書 or 期限) the noun itself; an interrogative (何日前) needs a value. The thing it
        is asked of (``owner``) may be named by the section's ``title`` (クリーンアップ・サポーター)."""
        if self.value.search(text):
            return True
        if self.needs_value:
            return False
        kind = KIND_BY_LABEL.get(self.kind)
        if kind is not None and kind.by_value:
            return False
        if kind is not None and kind.prose and re.search(kind.prose, text):
            return True
        folded = normalize(text)
        named = normalize(title) + folded
        return any(normalize(w) in folded for w in self.words) and all(normalize(w) in named for w in self.owner)


@dataclass(frozen=True)
class Question:
    text: str
    kind: str  # definition, comparison, multi-part, yes-no, which, how-to, detail or other
    sides: list[str] = field(default_factory=list)  # comparison / multi-part: what each side is about
    details: list[Detail] = field(default_factory=list)  # the details asked for (a deadline, an amount …)
    asks_department: bool = False
    asks_cases: bool = False  # what is actually done: 「実際の事例は？」「どこが後援してるの？」

    @property
    def asks_other_parts(self) -> bool:
        """Whether the question asks two things, each of which the guideline may or may not cover (a
        comparison's sides, or a second question going on with the first, are asked together)."""
        return self.kind == "multi-part" and bool(ANOTHER_PART.search(self.text))

    @property
    def asks_what_to_do(self) -> bool:
        """Whether the question asks what to do (or whether to do it), not what something is."""
        return self.kind not in ("comparison", "multi-part", "which") and bool(WHAT_TO_DO.search(self.text))

    @property
    def compares(self) -> bool:
        return self.kind in ("comparison", "multi-part")

    @property
    def defined(self) -> str:
        """What a definition question asks the meaning of (「協働ってどういう意味？」 → 協働), else ""."""
        found = DEFINED.search(self.text) if self.kind == "definition" else None
        if not found:
            return ""
        # the words before って are defined only when the definition is asked of them in the same clause:
        # in 「協働って初めてなんだけど、最初の一歩は？」 the は？ asks about 最初の一歩, not 協働
        ask = next((m for m in DEFINITION.finditer(self.text) if m.end() > found.end()), None)
        between = self.text[found.end() : ask.start()] if ask else ""
        return "" if CLAUSE_BREAK.search(between) else found.group(1).strip()

    @property
    def described(self) -> str:
        """What the question asks to be described by the kind of thing it is: the subject of 「…ってどんな
        形態？」 (実行委員会・協議会) or of 「…ってどういう意味？」, else ""."""
        if self.compares:
            return ""
        found = DESCRIBED.search(self.text)
        if found:
            return found.group(1).strip()
        return self.defined if MEANING.search(self.text) else ""

    @property
    def topic_text(self) -> str:
        """The question without the details it asks for: what its scope is judged on
        (「補助金の交付申請に要る書類は？」 → 「補助金の交付申請に要るは？」), nor which department it asks
        for (「…催し、担当課は？」: 担当課 is no thing the guideline lacks)."""
        kept = [d for d in self.details if not d.in_topic]
        return self._without({s for d in kept for s in (d.span, d.also)})

    @property
    def valueless_text(self) -> str:
        """The question without what asks a detail's value (何年, いくら, 何人) nor which department: the
        detail's noun stays (「市長の任期は何年？」 → 「市長の任期は？」), as what the question is about
        when nothing else it names is the guideline's (``AnswerChain.scope_topic``)."""
        kept = [d for d in self.details if not d.in_topic]
        return self._without({d.also for d in kept} | {d.span for d in kept if not d.words})

    def _without(self, spans: set[tuple[int, int]]) -> str:
        text = self.text
        if self.asks_department:
            spans |= {
                m.span()
                for m in ASKED_DEPARTMENT.finditer(text)
                if not any(a < m.end() and m.start() < b for a, b in spans)
            }
        for start, end in sorted(spans, reverse=True):
            text = text[:start] + text[end:]
        return text


def analyze(
    text: str,
    tokenizer: Tokenizer | None = None,
    topics: frozenset[str] = frozenset(),
    units: frozenset[str] = frozenset(),
) -> Question:
    """The kind of a question, its sides and the details it asks for. ``topics`` are the nouns the
    guideline's headings are about (委託, 後援 …): two parts naming different ones make a two-part
    question even without a word such as 違い or それぞれ. ``units`` are headings that join words with
    ・ (補助・助成): one thing, never two sides."""
    tokenizer = tokenizer or default_tokenizer()
    details = asked_details(text, tokenizer)
    asks_cases = _asks_cases(text, tokenizer)
    if asks_cases:
        # 「保険とかってどう取り決めてる例がある？」: a case asked for, what it agreed on answers
        details = [d for d in details if not d.by_value]
    asks_department = bool(DEPARTMENT_QUESTION.search(text))
    sides = _sides_of_units(text, tokenizer, units)
    named = [s for s in sides if topics & set(tokenizer.content_lemmas(s))]
    if len(named) >= 2:
        sides = named  # 「委託と補助、それぞれの注意点は？」: the parts naming a topic, not 注意点
    party = len(named) < 2 and _asks_party(text, tokenizer)
    if COMPARISON.search(text) and not party:
        kind = "comparison"
    elif not party and (
        _asks_together(text, tokenizer)
        or (len(sides) >= 2 and (_questions(text) >= 2 or len(named) >= 2))
        or (len(sides) >= 2 and named and LISTED.search(text) and all(_is_noun_phrase(s, tokenizer) for s in sides))
        or _whole_phrases(sides, tokenizer)
    ):
        kind = "multi-part"
    elif any(not d.in_topic for d in details):
        kind = "detail"
    elif ((which := WHICH.search(text)) and not _describes_form(text, which, tokenizer, topics)) or asks_department:
        kind = "which"
    elif PROPOSED.search(text) and not INTERROGATIVE.search(text):
        kind = "yes-no"
    elif HOW_TO.search(text):
        kind = "how-to"
    elif DEFINITION.search(text):
        kind = "definition"
    elif not ASKS_FOR_LIST.search(text) and (
        (YES_NO.search(text) and not INTERROGATIVE.search(text))
        or (RECALLED.search(text) and not ASKS_WHAT.search(text))
    ):
        kind = "yes-no"
    else:
        kind = "other"
    if kind not in ("comparison", "multi-part"):
        sides = []
    return Question(text, kind, sides, details, asks_department, asks_cases)


def asks_if_listed(text: str) -> bool:
    """Whether a yes/no question asks if a thing is allowed or listed (「飲み会は後援の対象？」「…ってNG？」「…含む？」)."""
    return bool(WHETHER.search(text.strip()) or BELONGS.search(text.strip()))


def asks_if_included(text: str) -> bool:
    """Whether a yes/no question closes on a verb of belonging (「企業もはいる？」「…は協働の分野に含まれる？」)."""
    return bool(BELONGS.search(text.strip()))


def asked_whether(text: str) -> str:
    """A yes/no question without the words closing it that only ask whether (「飲み会は後援の対象？」 → 「飲み会は後援」)."""
    return WHETHER.sub("", text.strip())


def _describes_form(text: str, which: re.Match[str], tokenizer: Tokenizer, topics: frozenset[str]) -> bool:
    """Whether a question asking 「どんな形（態）」 names the form itself (「共催ってどんな形？」): it asks
    what that form is like, not which form answers it (「町内会ってどんな形態？」「お金を出して任せる形は
    何ていうの？」). A case asked of a form (「共催ってどんな事例がある？」) is still which case."""
    found = DESCRIBED.search(text)
    return "形" in which.group(0) and bool(found and topics & set(tokenizer.content_lemmas(found.group(1))))


def _sides_of_units(text: str, tokenizer: Tokenizer, units: frozenset[str]) -> list[str]:
    """The sides of a question with each heading that joins words (補助・助成) kept whole: 「補助・助成を
    出すときの注意点は？」 asks about one form, as 「委託・補助の違いは？」 sets two against each other."""
    whole = {unit.replace("・", ""): unit for unit in units if unit in text}
    for joined, unit in whole.items():
        text = text.replace(unit, joined)
    sides = _sides(text, tokenizer)
    for joined, unit in whole.items():
        sides = [side.replace(joined, unit) for side in sides]
    return sides


def _asks_party(text: str, tokenizer: Tokenizer) -> bool:
    """Whether 「どっち／どちら」 asks which party bears, pays or decides something of one thing named
    (「共催するとき、経費はどっちが負担するの？」), not which of two: no other comparing word (違い, 比べ …),
    and nothing before it joins two things, by a coordinating particle (「市と市民、どっちが主体？」,
    「費用や責任はどっち」) or by a comma before a bare noun (「共催、後援どっち？」)."""
    which = WHICH_ONE.search(text)
    if which is None or not PARTY_ASKED.search(text):
        return False
    if any(not WHICH_ONE.fullmatch(m.group(0)) for m in COMPARISON.finditer(text)):
        return False
    head = text[: which.start()]
    tokens = tokenizer.tokenize(head)
    for before, t, after in zip([None, *tokens], tokens, [*tokens[1:], None], strict=False):
        # a particle after a noun joins things (「市と市民」); 「後援だと」's と is a condition
        joins = t.pos in ("助詞", "接続詞") and t.surface in COORDINATORS and not _verb_case(t, after)
        if (joins and before is not None and before.pos in ("名詞", "接尾辞")) or t.surface in ("・", "／", "/"):
            return False
    # a comma joins two things when a bare noun follows it up to どっち (「共催、後援のどっち」), not a clause
    # that goes on to what is asked (「委託でやった事業、最終的な責任は」)
    last = re.split(r"[、，,]", head)
    if len(last) >= 2:
        after_comma = tokenizer.tokenize(re.sub(r"の\s*$", "", last[-1]))
        if after_comma and all(t.pos in ("名詞", "接尾辞", "接頭辞") for t in after_comma):
            return False
    return True


def _asks_together(text: str, tokenizer: Tokenizer) -> bool:
    """Whether a word asks for parts together (それぞれ, 両方, あわせて …) as a word of its own, not
    inside another: 「協働の形を組み合わせてもいい？」's 組み合わせる asks whether forms may be combined."""
    starts = {t.start for t in tokenizer.tokenize(text)}
    return any(m.start() in starts for m in MULTI_PART.finditer(text))


def _whole_phrases(sides: list[str], tokenizer: Tokenizer) -> bool:
    """Whether と joins two whole noun phrases, each a noun of its own with what it is of (「結果の評価の
    しかたと相手方の見直し」): two things asked. A bare noun before と may share the head after it
    (「市民と市の役割」 is one thing: the roles of both)."""
    return len(sides) == 2 and all("の" in s and _is_noun_phrase(s, tokenizer) for s in sides)


def _is_noun_phrase(part: str, tokenizer: Tokenizer) -> bool:
    """Whether a part ends in a noun (「公用車の使い方」), not a verb or adjective (「どう協働すればいい」)."""
    tokens = tokenizer.tokenize(part)
    return bool(tokens) and tokens[-1].pos in ("名詞", "接尾辞")


def _asks_cases(text: str, tokenizer: Tokenizer) -> bool:
    """Whether the question asks what is actually done: it names cases (事例, 実際), or asks about an
    action in progress (している, してる, もらってる). Not an action the asker only describes: one in a
    clause closed by a conjunctive particle (「同じ団体に頼んでるけど問題ある？」「…しているので」) or
    quoted (「…していると書かれてる？」) is the setting of the question, not what it asks. Nor 成る's
    (「…保険ってどうなってる？」「…ことになってる？」): how a thing stands, which a rule says, not a deed."""
    if CASES.search(text):
        return True
    tokens = tokenizer.tokenize(text)
    after = [t.lemma if t.surface not in ("て", "で") else "て" for t in tokens[1:]] + ["", ""]
    for i, t in enumerate(tokens):
        if t.pos != "動詞" or t.lemma == "成る":
            continue
        if after[i] == "てる":
            end = i + 2
        elif after[i] == "て" and after[i + 1] == "居る":
            end = i + 3
        else:
            continue
        if not _describes(tokens[end : end + 2]):
            return True
    return False


def _describes(following: list[Token]) -> bool:
    """Whether what follows an action ends a clause that only sets the scene: a conjunctive particle
    (けど, から, のに; ので as の + で), or the quotative と."""
    if not following:
        return False
    first = following[0]
    if first.pos == "助詞" and first.pos_detail == "接続助詞":
        return True
    if first.surface == "と" and first.pos_detail == "格助詞":
        return True
    return first.surface == "の" and len(following) > 1 and following[1].surface == "で"


def noun_phrases(text: str, tokenizer: Tokenizer) -> list[tuple[int, int]]:
    """Spans of compound nouns (名詞・接頭辞・接尾辞 in a row): 委託料, 上限額, 評価シート."""
    spans: list[tuple[int, int]] = []
    joined = False  # the previous token was part of a compound ending where this one starts
    previous_end = -1
    for t in tokenizer.tokenize(text):
        nominal = t.pos in ("名詞", "接頭辞", "接尾辞")
        if nominal and joined and t.start == previous_end:
            spans[-1] = (spans[-1][0], t.end)
        elif nominal:
            spans.append((t.start, t.end))
        joined, previous_end = nominal, t.end
    return spans


# a verb asking where to take or get a thing, and the noun that names that place
WHERE_TO = (
    ("どこ[にへ](出|提出)", "提出先"),
    ("どこ[にへ](送|郵送)", "送付先"),
    ("どこ(に|で)(申請|申し込)", "申込先"),
    ("どこで(もらえる|もらう|入手)", "入手先"),
)
# what joins the thing asked about to the verb: 「提案ってどこに…」「申請書はどこで…」「申請書をどこに…」
THING_OF = ("って", "は", "を", "の", "")


# nouns that ask (いくら, 何人, いくつ): with the particle left out (「上限額いくら？」) MeCab joins them to
# the compound before, which names the detail without them (「補助金の上限額（金額）」)
QUESTION_NOUNS = frozenset({"いくら", "何", "なん", "いく", "幾"})


def _before_question_word(start: int, end: int, tokens: list[Token]) -> int:
    """Where a compound noun ends before a noun that asks, unless it begins with one (何月何日)."""
    asking = [t.start for t in tokens if start <= t.start < end and t.surface in QUESTION_NOUNS]
    return asking[0] if asking and asking[0] > start else end


def counted_nouns(tokens: Iterable[Token]) -> list[Token]:
    """The nouns a count may be of (町内会, 団体): two characters or more, no numeral."""
    return [t for t in tokens if t.pos == "名詞" and t.pos_detail != "数詞" and len(t.surface) >= 2]


def number_of_pattern(things: list[str]) -> str:
    """A number of one of ``things`` (「８０を超える町内会」)."""
    return rf"{NUM}+{QUANTIFIED}({'|'.join(map(re.escape, things))})"


def asked_details(text: str, tokenizer: Tokenizer) -> list[Detail]:
    """The details a question asks for, each named in the question's own words: 「委託料の積算方法
    （手続き）」, 「期限・期間（何日前）」."""
    text = MISTYPED_TIMES.sub(r"\1何回", text)  # same length: the spans stay the question's
    tokens = tokenizer.tokenize(text)
    phrases = noun_phrases(text, tokenizer)
    found: list[tuple[int, int, DetailKind, list[str]]] = []
    vague: set[tuple[int, int]] = set()  # a length given in words, asked how long it is (「一定期間って具体的に？」)
    for start, end in phrases:
        if VAGUE_LENGTH.search(text[start:end]) and CONCRETELY.match(text[end:]):
            found.append((start, end, KIND_BY_LABEL[PERIOD], []))
            vague.add((start, end))
            continue
        for kind in DETAIL_KINDS:
            words = [n for n in kind.nouns if n in NOT_ASKED.sub("", text[start:end])]
            if words and not kind.asked_by_noun(text, start, end):
                continue  # 「ごみ出し場所を巡回している…」 names a place, 「会場はどこ？」 asks for one
            if words and set(words) <= set(kind.closing) and not _closes(text, start, end):
                continue  # 「昨日窓口で…言われた」 asks for no counter
            if words:
                found.append((start, end, kind, words))
                break
        else:
            measured = _measured(text, start, end, tokens)
            if measured is not None:
                found.append((start, end, measured, []))
    details: list[Detail] = []
    seen: set[str] = set()
    # 「合意書って様式決まってる？」: of two nouns of one kind, the one said of the other (its topic) is asked
    topics = {(e, s) for s, _, k, _ in found for _, e, k2, _ in found if k2 == k and text[e:s] in ("って", "は")}
    if vague:
        # 「事業期間が長期ってどれくらいから？」: how long 長期 is, not the 事業期間 the section names
        found = [f for f in found if (f[0], f[1]) in vague or f[2].label != PERIOD]
    for start, end, kind, words in found:
        if kind.label in seen or any(
            (s == end + 1 and text[end] == "の") or (end, s) in topics for s, _, _, _ in found
        ):
            continue  # 「委託料の積算方法」 asks for the 積算方法, 委託料 only says whose
        seen.add(kind.label)
        phrase = text[start : _before_question_word(start, end, tokens)]
        # the noun that owns it, one step back: 「委託料の積算方法」, 「協働事業の評価シート」
        # (not a noun of circumstance that ends a clause: 「申請するときの書類」 names no owner)
        owner = next(
            (
                (s, e)
                for s, e in phrases
                if ((e == start - 1 and text[e] == "の") or (e, start) in topics)
                and not any(t.end == e and t.pos_type == "副詞可能" for t in tokens)
            ),
            None,
        )
        name = f"{text[owner[0] : owner[1]]}の{phrase}" if owner else phrase
        if (start, end) in vague:
            # stated only by a length in numbers: the guideline's own 一定期間 is what is asked about
            details.append(Detail(f"{name}の具体的な長さ", kind.label, needs_value=True, span=(start, end)))
            continue
        if not any(w in name for w in kind.label.split("・")):
            name += f"（{kind.label}）"
        owned = (
            tuple(t.surface for t in tokens if owner[0] <= t.start and t.end <= owner[1] and t.is_content)
            if owner and text[owner[1]] == "の"
            else ()
        )
        inside = [t for t in tokens if start <= t.start and t.end <= end]
        if len(inside) >= 2 and inside[0].lemma in PROCEDURE_ACTS and phrase not in words:
            # 「申請期限」「提出期限」: the deadline of an act the guideline never writes; 3-6's 「期限や使途の
            # 制限を設ける」 is a limit on the support, not the application's deadline
            words = []
        details.append(
            Detail(name, kind.label, (phrase, *words), span=(start, end), owner=owned, pattern=kind.noun_value)
        )
    for i, d in enumerate(details):
        if how_much := HOW_MUCH.match(text[d.span[1] :]):
            span = (d.span[1] + how_much.start(3), d.span[1] + how_much.end(3))
            name = d.name.split("（")[0]  # 「委託料（金額）」 → 「委託料がどのくらいか」
            if d.span not in vague:  # 「一定期間の具体的な長さ」 says how much already
                name = f"{name}が{how_much.group(3)}か"
            details[i] = replace(d, name=name, needs_value=True, also=span)
    named = len(details)
    for kind in DETAIL_KINDS:
        match = re.search(f"({kind.asks}){INDEFINITE}", text)
        if match is None or any(a < match.end() and match.start() < b for d in details for a, b in (d.span, d.also)):
            continue  # 「何年ごと」 asks one interval, not also a period (何年)
        # 「周期は何年？」「期限は何日前？」: the noun just named is asked for its value, whatever its kind
        # (named before it: 「交付決定を取り消す要件は？」 asks no value of 要件)
        asked = next(
            (
                d
                for d in details[:named]
                if d.span[1] <= match.start() and VALUE_OF.match(text[d.span[1] : match.start()])
            ),
            None,
        )
        document = ""
        if asked is not None and asked.kind == FORM and kind.label in WHOSE:
            # 「協定書って誰の名前で署名するの？」 asks whose name the document goes out under, not its form
            document = asked.name.split("（")[0]
            details.remove(asked)
            named -= 1
            asked = None
        # 「報告書はどこに出せばいい？」 asks where the document goes: named so, not by its form
        where_to = next((noun for verb, noun in WHERE_TO if re.match(verb, match.group(0))), None)
        if asked is None and kind.label in seen:
            asked = next(d for d in details if d.kind == kind.label)
        if asked is not None:
            # named with what asks its value (「期限（何年）」): the noun alone may be the section's
            # (「期限や使途の制限を設ける」), its value is what it lacks
            counted = "何" in match.group(0) and "（" not in asked.name and match.group(0) not in asked.name
            name = f"{asked.name}（{match.group(0)}）" if counted else asked.name
            if where_to and asked.kind == FORM:
                name = f"{asked.name.split('（')[0]}の{where_to}"
            details = [replace(d, name=name, needs_value=True, also=match.span()) if d is asked else d for d in details]
        else:
            seen.add(kind.label)
            asked_as = match.group(0)
            # the kind's own word asked (「承認って誰が…」) names it with what it is of (「補助金の上限」), not
            # 「決裁・承認（承認）」
            name = asked_as if asked_as in kind.label.split("・") else f"{kind.label}（{asked_as}）"
            owner = next((s for s, e in phrases if e == match.start() - 1 and text[e] == "の"), None)
            if owner is not None and name == asked_as:
                name = text[owner : match.end()]
            if document:
                name = f"{document}の{kind.label}"
            # where to take or get a thing, asked by a verb (「どこに出せば」), is named by the place's noun with
            # the thing the question says it is of: 「協働事業の提案ってどこに出せばいい？」 → 協働事業の提案の
            # 提出先, not 「手続き（どこに出）」
            if place := next((noun for verb, noun in WHERE_TO if re.match(verb, asked_as)), None):
                thing = next(
                    ((s, e) for s, e in phrases if e <= match.start() and text[e : match.start()] in THING_OF), None
                )
                name = f"{text[thing[0] : thing[1]]}の{place}" if thing else place
            happened = _happened(match.start(), match.end(), text, tokens) if kind.happened else ""
            pattern = kind.stated(match) if kind.stated else ""
            if happened:
                pattern = f"{kind.value}|{SINCE}"
            details.append(
                Detail(
                    f"{happened}時期（{asked_as}）" if happened else name,
                    kind.label,
                    needs_value=True,
                    span=match.span(),
                    pattern=pattern,
                    happened=bool(happened),
                )
            )
    if len(details) > named:
        # a value asked on its own: a noun that stands in a clause of its own (「協定書に貼る印紙はいくら？」
        # 「協定書の印紙税は？」) says where, not what is asked; as a detail's noun it is still no topic (a value
        # asked before it is of something else: 「委託を途中で打ち切るときの違約金の額は？」 asks the 違約金)
        later = [d.span[0] for d in details[named:]]
        details = [
            d
            if d.needs_value
            or text[d.span[1] : d.span[1] + 1] not in MODIFIES
            or not any(start >= d.span[1] for start in later)
            else replace(d, asked=False)
            for d in details[:named]
        ] + details[named:]
    # spans already asked for, and 何課 / どの部署: which one, not how many
    asked = [s for d in details for s in (d.span, d.also)]
    asked += [m.span() for pattern in (WHICH, DEPARTMENT_QUESTION) for m in pattern.finditer(text)]
    counted = [t.surface for t in counted_nouns(tokens)]
    for number, counter, after in zip(tokens, tokens[1:], [*tokens[2:], None], strict=False):
        if (
            number.surface == "何"
            and number.pos_detail == "数詞"
            and counter.start == number.end
            # a counter (何歳, 何部, 何世帯, 何種類), not a verbal noun whose object 何 is (何準備すれば)
            and (counter.pos == "接尾辞" or (counter.pos == "名詞" and counter.pos_type != "サ変可能"))
            and not any(a <= number.start < b for a, b in asked)
            and (after is None or after.surface not in ("も", "か"))  # 何度も, 何人か: no number asked
        ):
            ordinal = number.start > 0 and text[number.start - 1] == "第"
            span = (number.start - ordinal, counter.end)
            asked_as = text[span[0] : span[1]]
            name = f"{COUNTER}（{asked_as}）"
            if counter.surface in PROVISIONS:
                # 第何条, 何項: a rule's provision, where it says something, not a number; named with
                # the rule it is of (「自治基本条例の条文（第何条）」)
                owner = next((s for s, e in phrases if e == span[0] - 1 and text[e] == "の"), span[0])
                name = f"{text[owner : span[0]]}条文（{asked_as}）"
            details.append(
                Detail(
                    name,
                    COUNTER,
                    needs_value=True,
                    span=span,
                    # a number of the counter, or of the thing counted (何個 → 「８０を超える町内会」)
                    pattern=number_of_pattern([counter.surface, *counted]),
                )
            )
    # the shapes of the whole question (``DetailKind.finder``): of one thing it names, asked whether it is
    # required or how it is done (``unwritten``), the first not already asked; a cost asked who bears it
    thing_asked = False
    for kind in DETAIL_KINDS:
        of_thing = kind.finder(text, tokens, phrases) if kind.finder else None
        if of_thing is None:
            continue
        if not of_thing.unwritten and kind.label in seen:
            continue  # 「会場はどこ？」: asked by its noun already
        if of_thing.unwritten:
            if thing_asked or any(a < of_thing.span[1] and of_thing.span[0] < b for a, b in asked):
                continue
            thing_asked = True
            # 「申請の流れは？」「申請の手順は？」: one procedure asked, named of the act (the noun after it says
            # only that a procedure is asked: 4-2's 「作業手順」 is no application's)
            details = [
                replace(d, asked=False) if d.kind == of_thing.kind and d.span[0] == of_thing.span[1] + 1 else d
                for d in details
            ]
        details.append(of_thing)
    return details


def _closes(text: str, start: int, end: int) -> bool:
    """Whether the noun at ``text[start:end]`` is what the question closes on (「申請窓口ってどこ？」「…流れを
    教えて」「流れってどうなってる？」) or asks which one of (「どこの窓口に…」)."""
    after = text[end:]
    return bool(ASKED_AFTER.match(after) or re.match(VALUE_ASKED, after) or re.search(WHICH_ONE_OF, text[:start]))


def _measured(text: str, start: int, end: int, tokens: list[Token]) -> DetailKind | None:
    """The kind of measure a compound noun asked about names by its last word (講師料 → 金額, by its
    ``heads``), or None."""
    inside = [t for t in tokens if start <= t.start and t.end <= end]
    if len(inside) < 2 or not ASKED_AFTER.match(text[end:]):
        return None
    return next((k for k in DETAIL_KINDS if inside[-1].surface in k.heads), None)


def _happened(start: int, end: int, text: str, tokens: list[Token]) -> str:
    """The past clause a いつ asks when of, in the question's words (「いつ改定されたの？」 → 改定された,
    「協働ガイドラインができたのっていつ？」 → できた), or "": a conditional (「いつ相談したらいい？」) or an
    adjective's past (「いつ相談すればよかった？」) asks of no past event."""
    past = [i for i, t in enumerate(tokens) if t.surface == "た" and t.pos == "助動詞" and i > 0]
    if PAST_ASKED.fullmatch(text[end:]):  # 「…できたのっていつ？」: the clause named before it
        ta = next((i for i in past if PAST_NOMINAL.fullmatch(text[tokens[i].end : start])), None)
    else:  # 「いつ改定されたの？」: the clause after it, to the question's end
        ta = next((i for i in past if tokens[i].start >= end and PAST_END.fullmatch(text[tokens[i].end :])), None)
        if ta is not None and CLAUSE_BREAK.search(text[end : tokens[ta].start]):
            return ""
    if ta is None or tokens[ta - 1].pos not in ("動詞", "助動詞"):
        return ""
    if tokens[ta].start >= end:
        first = next(t for t in tokens if t.start >= end)
        return text[first.start : tokens[ta].end]
    first = ta - 1
    while first > 0 and (
        tokens[first - 1].pos in ("動詞", "助動詞")
        or (tokens[first - 1].pos == "名詞" and tokens[first].lemma == "為る")  # 改定|さ|れ|た
    ):
        first -= 1
    return text[tokens[first].start : tokens[ta].end]


# Two noun phrases listed with と and a comma, one naming a topic, ask two things: 「共催の注意点と、公用車の
# 使い方を教えて」 (without the comma と may mean "with": 「町内会と協働するには」).
LISTED = re.compile(r"と[、，,]")
# A part announced as another one: listed (と、) or opened by a connective after the first (「…？あと、…」
# 「…。それと…」); a second question without one goes on with the first (「…協力すべき？市が上に立つ感じ？」).
ANOTHER_PART = re.compile(r"と[、，,]|[？?。、，,\s](それと|それから|あと|また|ついでに|あわせて|合わせて)")
# Words that ask who, where or what: a と after one joins the partner asked for, not two things.
INTERROGATIVES = frozenset({"どこ", "誰", "だれ", "どの", "どんな", "どういう", "何", "なに"})
# Coordinators between the parts of a comparison or a two-part question.
COORDINATORS = frozenset({"と", "や", "か", "及び", "および", "または", "又は", "それとも", "あと", "また"})
PART_NOISE = re.compile(
    r"^(それと|それから|あと|また|ついでに|そもそも|の|って|は|を|で|に|が|も|、|\s)+|(の|って|は|を|で|に|が|も|何が|なにが|どう|どこが|にする|する|場合|、|\s)+$"
)
QUESTION_WORD = re.compile(
    r"^(どう|何|なに|なん|どこ|どれ|どんな|いつ|誰|違い|それぞれ|どっち|どちら|いくら|いくつ|どのくらい|どれくらい)\W*$"
)
# Words that end a part without being what it is about: particles, auxiliaries, interrogatives.
TRAILING_POS = frozenset({"助詞", "助動詞", "補助記号", "空白"})
TRAILING_LEMMAS = frozenset(
    {"何", "何処", "如何", "どう", "何れ", "幾ら", "其れ其れ", "それぞれ", "違い", "違う"}
    # what asks rather than what is asked about: 「…について教えて」「…も知りたい」
    | {"教える", "知る", "聞く", "つく", "関する", "下さる", "頂く", "欲しい", "合わせる"}
    # a role the parts are asked in (「協働の相手として」): と + 為る ends a part, names none
    | {"為る"}
)


# A subject set before the parts (「情報共有について、基本的な考え方と…の両方」): each part is asked of it.
SUBJECT = re.compile(r"^([^、，,]+?)(?:について|に関して|に関する)[、，,]")


# A sentence that only asks to be told, and how (「ざっくり教えて」「簡単に説明して」「詳しく知りたい」): it
# asks nothing of its own, so it is no second part of the question before it
TELL_ONLY = re.compile(
    r"^(もっと|もう少し|もうちょっと|ちょっと|少し|すこし)?"
    r"(ざっくり|ざっと|簡単に|かんたんに|手短に|短く|詳しく|くわしく|わかりやすく|分かりやすく|具体的に|一言で|ひとことで)?"
    r"(と|で)?(教えて|おしえて|説明して|解説して|知りたい)(ください|下さい|ほしい|欲しい|もらえる|くれる|くれ)?"
    r"(ますか|ません|か|な)?[。！!…]*$"
)


def asked_sentences(text: str) -> list[str]:
    """The question's sentences that ask something (not 「ざっくり教えて」)."""
    return [q.strip() for q in re.split(r"[？?]", text) if q.strip() and not TELL_ONLY.match(q.strip())]


def _questions(text: str) -> int:
    return len(asked_sentences(text))


def _sides(text: str, tokenizer: Tokenizer) -> list[str]:
    """The parts a question puts side by side, cut at coordinating particles and commas (from the
    tokenizer, so と in とき or ところ is no cut): 「委託と補助の違いは？」 → 委託, 補助;
    「後援の場合と共催の場合で…」 → 後援, 共催. Two questions in one are two parts."""
    questions = asked_sentences(text)
    match = COMPARISON.search(text)
    if len(questions) >= 2 and not match:
        asked = [_trim(PART_NOISE.sub("", q), tokenizer) for q in questions]
        return [q for q in asked if len(q) >= 2 and not QUESTION_WORD.match(q)][:3]
    cue = bool(match or _asks_together(text, tokenizer))
    head = text[: match.start()] if match else text
    head = re.sub(r"(って|とは)(何|なに|なん)(で|、|？|\?)", "、", head)  # 「共催って何で後援と…」
    head = re.split(r"それぞれ|両方|両者", head)[0]  # what follows is asked of every part
    tokens = tokenizer.tokenize(head)
    first_asking = next((i for i, t in enumerate(tokens) if t.surface in INTERROGATIVES), len(tokens))
    cuts = [
        (t.start, t.end)
        for i, (t, after) in enumerate(zip(tokens, [*tokens[1:], None], strict=False))  # 「使い分け」: no head
        if _cuts_here(t, after, asked_before=first_asking < i, cue=cue)
    ]
    parts, begin = [], 0
    for start, end in cuts:
        parts.append(head[begin:start])
        begin = end
    parts.append(head[begin:])
    if len(parts) >= 2:
        # 「共催と後援で経費負担の違いは？」: what follows the last side's で is what is compared of the sides
        last = tokenizer.tokenize(parts[-1])
        cut = next(
            (t.start for t, after in pairwise(last) if t.surface == "で" and t.pos == "助詞" and after.pos == "名詞"),
            None,
        )
        if cut is not None:
            parts[-1] = parts[-1][:cut]
    cleaned = [_trim(PART_NOISE.sub("", p), tokenizer) for p in parts]
    sides = [p for p in cleaned if len(p) >= 2 and not QUESTION_WORD.match(p)]
    topic = SUBJECT.match(head)
    if topic and len(sides) >= 3 and sides[0] == topic.group(1):
        # 「災害時の協定について、形態としての説明と市の実際の事例を…」: what both parts are about, not a part
        return [f"{topic.group(1)}の{p}" for p in sides[1:3]]
    return sides[:3]


def _cuts_here(token: Token, after: Token | None, asked_before: bool, cue: bool) -> bool:
    """Whether one side ends and the next begins at ``token``: ・ and ／ always; a comma only when ``cue``
    (a comparing word or 「それぞれ」 lists the parts); a coordinating particle unless it is a verb's case
    (「形態として」), と is the topic's とは, と follows what is asked (``asked_before``), or や lists the
    examples of one thing."""
    if token.surface in ("・", "／", "/"):
        return True
    if token.surface in ("、", "，", ","):
        return cue  # a comma lists parts only in a comparison or 「それぞれ」
    return (
        token.pos in ("助詞", "接続詞")
        and token.surface in COORDINATORS
        and not _verb_case(token, after)
        and not (token.surface == "と" and after is not None and after.surface == "は")  # 「共催とは…」
        # 「どこの団体と共催したの？」: と after what is asked is its partner (with whom), no second thing
        and not (token.surface == "と" and asked_before)
        # without a word that compares or asks for each, や lists examples of one thing
        # (「企業や学校と結んでいる協定は？」「子育て支援や高齢者支援は…」), not parts to answer apart
        and (cue or token.surface != "や")
    )


def _verb_case(particle: Token, after: Token | None) -> bool:
    """Whether と is the case particle of the verb right after it, not a coordinator: 「形態として」
    (と + 為る), 「町内会といった団体」 (と + 言う), 「委託となる」 join no two parts."""
    return particle.surface == "と" and after is not None and after.start == particle.end and after.pos == "動詞"


def _trim(part: str, tokenizer: Tokenizer) -> str:
    """A part without its trailing particles and interrogatives: 「提案を受けたときに気をつけることは？」
    → 「提案を受けたときに気をつけること」."""
    tokens = tokenizer.tokenize(part)
    while tokens and (tokens[-1].pos in TRAILING_POS or tokens[-1].lemma in TRAILING_LEMMAS):
        tokens.pop()
    return part[: tokens[-1].end].strip() if tokens else ""
