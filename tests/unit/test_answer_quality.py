"""Every example of issue 14 through the real chain (real index, tokenizer and embedder):
follow-ups decided by evidence, comparisons, missing details, paraphrase, composition, departments."""

from __future__ import annotations

import pytest

from assistant.answering.chain import NOT_COVERED, as_citizens
from assistant.answering.extractive import ABSTENTION_TEXT, NEARBY, NOT_LISTED, NOTHING_MORE, UNDECIDED
from assistant.answering.question import analyze
from assistant.answering.sentences import leans_on_previous


def turn(chain, question):
    """A history of one question and the chain's own answer, its citations carried as data."""
    answer = chain.ask(question)
    cited = [{"doc_id": c.doc_id, "section_id": c.section_id} for c in answer.citations]
    return [{"role": "user", "content": question}, {"role": "assistant", "content": answer.answer, "citations": cited}]


# --------------------------------------------------------------------------- follow-ups


def test_a_new_topic_is_not_mixed_with_the_old_one(chain):
    answer = chain.ask("共催とは？", turn(chain, "後援とは？"))
    assert answer.cited_sections[0] == "3-1"
    assert "3-7" not in answer.cited_sections
    assert answer.resolved_query == "共催とは？"


def test_an_off_topic_question_after_an_on_topic_one_is_refused(chain):
    answer = chain.ask("有給休暇の申請ってどうやるの？", turn(chain, "後援とは？"))
    assert answer.abstained and answer.answer.startswith(ABSTENTION_TEXT)


def test_a_meaningless_message_mid_conversation_is_refused(chain):
    answer = chain.ask("あ", turn(chain, "協働とは何ですか？"))
    assert answer.abstained
    assert "詳しく入力してください" in answer.answer
    assert answer.suggestions == []


def test_a_bare_question_word_mid_conversation_asks_about_what_was_just_said(chain):
    """「いつまで？」 has no word to search for; after an answer it asks about that answer's topic."""
    answer = chain.ask("いつまで？", turn(chain, "後援名義って何？"))
    assert not answer.abstained
    assert answer.cited_sections[0] == "3-7"
    assert answer.answer.startswith("ガイドラインには期限")
    assert chain.ask("いつまで？").abstained  # alone, it still asks for more


def test_a_comparison_with_sore_is_not_a_follow_up(chain):
    answer = chain.ask("委託と補助、それぞれの注意点は？", turn(chain, "後援とは？"))
    assert answer.resolved_query == "委託と補助、それぞれの注意点は？"
    assert {"3-5", "3-6"} <= set(answer.cited_sections)
    assert "3-7" not in answer.cited_sections


def test_a_follow_up_proposing_a_reading_leads_with_the_sentence_that_settles_it(chain):
    """「…ってこと？」 proposes a reading of what was just said, in words of its own (業者, 安く, 丸投げ): it is
    asked of the last answer's section, and the sentence that confirms or denies it leads, not the definition."""
    history = turn(chain, "委託ってどういう形態？")
    cheap = chain.ask("要するに業者に安く頼むってこと？", history)
    assert cheap.cited_sections[0] == "3-5"
    assert "相手方は、安上がりの下請けではありません。" in lead(cheap)
    responsible = chain.ask("責任も相手に丸投げできるってこと？", history)
    assert lead(responsible).startswith("事業における最終的な責任については、市にあります。")


def test_a_follow_up_asking_how_after_an_overview_goes_to_the_section_that_says_how(chain):
    """2-2 says that the city is to send information; Ｑ６ says how (「ホームページなどを通じて、…」): 「具体的に
    どうやって発信すればいい？」 after 2-2 is answered from Ｑ６. A how the section just discussed says itself
    (「提案を断るならどうすればいい？」 after 2-3's points) stays with it: no other section speaks of 断る."""
    answer = chain.ask("具体的にどうやって発信すればいい？", turn(chain, "情報共有ってなんで大事なの？"))
    assert answer.cited_sections[0] == "6-Q6"
    assert "ホームページなどを通じて、積極的に情報発信を行いましょう。" in lead(answer)
    refusal = chain.ask("提案を断るならどうすればいい？", turn(chain, "市民から提案が来たときの留意点は？"))
    assert refusal.cited_sections[0] == "2-3"


def test_a_follow_up_that_needs_the_previous_turn_gets_it(chain):
    history = turn(chain, "後援名義を使わせてはいけないのはどんな場合？")
    answer = chain.ask("政治団体の集会だったら？", history)
    assert answer.cited_sections[0] == "3-7"
    assert "宗教的又は政治的色彩を有している。" in answer.answer


@pytest.mark.parametrize(
    ("first", "question"),
    [
        ("後援と共催ってどう違う？", "じゃあ後援ってお金も出る？"),
        ("後援名義を使わせてはいけないのはどんな場合？", "それはお金の支援もありますか？"),
    ],
)
def test_a_follow_up_from_the_same_section_does_not_quote_its_list_again(chain, first, question):
    """The last answer quoted （７）後援's list of cases; the follow-up leads with what is new and the
    list is not quoted again under it (it was, whole, after 「財政的な支援等はありません。」)."""
    history = turn(chain, first)
    assert "・ 公序良俗に反する。" in history[1]["content"]
    answer = chain.ask(question, history)
    assert answer.cited_sections[0] == "3-7"
    assert answer.answer.startswith("財政的な支援等はありません。")
    assert "公序良俗" not in answer.answer and "後援名義を使用させるかどうかは" not in answer.answer


def test_a_terse_follow_up_about_partners(chain):
    answer = chain.ask("企業だとどう？", turn(chain, "協働のパートナーにはどんな相手がいるの？"))
    assert not answer.abstained
    assert {"2-1", "2-1-1"} & set(answer.cited_sections)
    assert "企業" in answer.answer
    assert "パートナー" in answer.resolved_query  # searched with the previous turn


def test_a_follow_up_narrowing_an_overview_is_answered_from_its_sub_section(chain):
    history = turn(chain, "協働の相手にはどんな人がいる？")
    assert history[1]["citations"][0]["section_id"] == "2-1"  # the overview of the partners
    answer = chain.ask("その中でNPOの特徴は？", history)
    assert answer.cited_sections[0] == "2-1-1"  # its sub-section on each partner, not the overview again
    assert "ＮＰＯなどの団体は課題に対して組織的に対応できる" in answer.answer


@pytest.mark.parametrize(
    ("first", "question", "section", "quoted"),
    [
        ("協働のパートナーってどんな人たち", "企業だとどんな活動してる？", "2-1-1", "社員ボランティア制度"),
        ("協働の相手ってどういう人がいるの？", "町内会ってどんなことやってるの？", "2-1-1", "住人の親睦"),
    ],
)
def test_a_follow_up_about_one_thing_an_overview_names_in_passing_moves_to_its_sub_section(
    chain, first, question, section, quoted
):
    """2-1 names 企業 and 町内会 in a list; its sub-section 2-1-1 has a sentence about each."""
    history = turn(chain, first)
    assert history[1]["citations"][0]["section_id"] == "2-1"
    answer = chain.ask(question, history)
    assert answer.cited_sections[0] == section
    assert quoted in answer.answer


def test_a_question_with_an_interrogative_word_is_no_yes_no_question(chain):
    topics = chain.topics
    assert analyze("企業だとどんな活動してる？", chain.service.tokenizer, topics).kind != "yes-no"
    assert analyze("何か決まりある？", chain.service.tokenizer, topics).kind == "yes-no"
    assert analyze("どの形でやるかはうちの課で決めちゃっていいの？", chain.service.tokenizer, topics).kind == "yes-no"


def test_a_follow_up_in_colloquial_words_picking_the_cases_just_listed_is_answered(chain):
    """「ダメ」 says how the asker feels and 「ケース」 is the guideline's 場合: neither is a thing it never
    speaks of, so the conversation (後援's list of cases) says what is asked."""
    answer = chain.ask("じゃあ使わせちゃダメなケースは？", turn(chain, "後援ってなに"))
    assert not answer.abstained
    assert answer.cited_sections[0] == "3-7"
    assert "後援名義を使用させることは適切でありません" in answer.answer


def test_follow_up_markers_in_text_still_work_without_citation_data(chain):
    history = turn(chain, "後援とは？")
    del history[1]["citations"]
    answer = chain.ask("それはお金の支援もありますか？", history)
    assert answer.cited_sections[0] == "3-7"
    assert answer.answer.startswith("財政的な支援等はありません。") or "財政的な支援等はありません。" in answer.answer


# --------------------------------------------------------------------------- comparisons


@pytest.mark.parametrize(
    ("question", "sides"),
    [
        ("委託と補助の違いは？", ("3-5", "3-6")),
        ("後援と共催の違いは？", ("3-7", "3-1")),
        ("協定と事業協力ってどう違うんですか", ("3-3", "3-4")),
    ],
)
def test_comparisons_get_one_block_per_side(chain, question, sides):
    answer = chain.ask(question)
    assert set(sides) <= set(answer.cited_sections)
    blocks = [b for b in answer.answer.split("\n\n") if b.startswith("■")]
    assert len(blocks) == 2
    headings = {f"■ {chain.extractive.label('kyodo-guideline', side)}" for side in sides}
    assert {block.splitlines()[0].split("（担当")[0] for block in blocks} == headings


def test_a_comparison_opens_with_the_contrast_in_the_texts_own_words(chain):
    answer = chain.ask("委託と補助の違いは？")
    first = answer.answer.splitlines()[0]
    itaku = "市が行うよりも効率的・効果的に実施できる事業について、その全部又は一部を委託する形態です。"
    hojo = "市民が行う事業に対し、市が補助金等で財政支援する形態です。"
    assert first.startswith("違い：委託「") and itaku in first and hojo in first
    # each side's defining sentence is a cited quote, and is not quoted twice
    assert {itaku, hojo} <= {c.quote for c in answer.citations}
    assert answer.answer.count(hojo) == 1


@pytest.mark.parametrize("question", ["事業協力と共催の違いは？", "事業協力と共催の違いは？あと経費は誰持ち？"])
def test_a_heading_of_common_words_names_its_side_of_a_comparison(chain, question):
    """（４）事業協力's words (事業, 協力) are in most sections: written whole, they still name its heading."""
    first = chain.ask(question).answer.splitlines()[0]
    assert first.startswith("違い：事業協力「市民と市とが互いの特性を活かし")
    assert "／共催「" in first


def test_a_comparison_whose_sections_define_nothing_has_no_contrast_line(chain):
    answer = chain.ask("ゼロごみの日とごみステーションのパトロール、どう違う？")
    assert {"5-10", "5-11"} <= set(answer.cited_sections)
    assert not answer.answer.startswith("違い：")


@pytest.mark.parametrize(
    ("question", "part", "section"),
    [
        ("協定の結び方と、職員の出張旅費について教えて", "職員の出張旅費", "3-3"),
        ("実行委員会ってどんな形？それと、庁内LANのパスワードの変え方も", "庁内LANのパスワードの変え方", "3-2"),
    ],
)
def test_a_part_the_guideline_does_not_cover_is_named(chain, question, part, section):
    answer = chain.ask(question)
    assert answer.partial and not answer.abstained
    assert answer.answer.splitlines()[0] == f"{part}については、ガイドラインに記載が見つかりませんでした。"
    assert answer.cited_sections == [section]


@pytest.mark.parametrize(
    "question",
    [
        "共催の場合、費用や責任はどっちが持つの？",
        "ごみステーションのパトロール隊ができたきっかけは？どこの課？",
        "情報共有について、基本的な考え方と、事業前の準備としての扱いの両方を知りたい",
    ],
)
def test_parts_in_the_guidelines_words_are_not_called_missing(chain, question):
    answer = chain.ask(question)
    assert not answer.partial and "記載が見つかりませんでした" not in answer.answer


def test_a_which_side_question_whose_sides_no_heading_names_has_no_contrast_line(chain):
    # 市長名 and 市名 are options inside （７）後援, not sections: a 「違い:」 line would set 後援 against an
    # unrelated section
    answer = chain.ask("後援名義は市長名と市名どっち？")
    assert answer.cited_sections[0] == "3-7" and "違い：" not in answer.answer
    # two forms of 協働 to choose from, each named by a heading: their difference is what helps
    assert chain.ask("委託か補助か、どっちにすればいい？").answer.startswith("違い：委託「")


def test_a_follow_up_comparison_quotes_the_sentence_that_states_the_difference(chain):
    answer = chain.ask("じゃあ後援とは何が違うの？", turn(chain, "補助金で団体を支援するのってどういう形？"))
    assert {"3-6", "3-7"} <= set(answer.cited_sections)
    assert "財政的な支援等はありません。" in answer.answer


@pytest.mark.parametrize(
    ("question", "first_line", "chapter"),
    [
        ("協働の心得を教えて", "「第４章 協働の心得」には次の６項目があります：（１）役割の分担、", "4"),
        ("第３章には何が書かれてる？", "「第３章 協働の形態」には次の７項目があります：（１）共催、", "3"),
        # a chapter with no text of its own: its best sub-section is quoted under the list
        (
            "協働の考え方について知りたい",
            "「第２章 協働の考え方」には次の３項目があります：１ 協働のパートナーは様々、",
            "2-",
        ),
    ],
)
def test_a_chapter_asked_about_as_a_whole_names_its_sub_sections(chain, question, first_line, chapter):
    answer = chain.ask(question)
    assert answer.answer.splitlines()[0].startswith(first_line)
    assert answer.cited_sections[0] == chapter or answer.cited_sections[0].startswith(chapter)


@pytest.mark.parametrize(
    "question",
    [
        "協働の心得で、終わった後にやることは？",
        "イベントに市の名前だけ貸すのは何という形態？",
        "協働の形態の後援って何？",
    ],
)
def test_a_question_about_one_part_of_a_chapter_gets_no_list_of_it(chain, question):
    # it names the chapter (心得, 形態) and something one sub-section speaks of (終了, 後援)
    assert "項目があります" not in chain.ask(question).answer


def test_a_count_of_the_guidelines_own_headings_names_them(chain):
    answer = chain.ask("協働の形態って全部で何種類あるの？")
    first = answer.answer.splitlines()[0]
    assert not answer.partial and "記載はありません" not in answer.answer
    assert first.startswith("「第３章 協働の形態」には次の７項目があります：（１）共催、")
    assert first.endswith("（７）後援。") and "3" in answer.cited_sections
    assert chain.ask("協働の心得って何項目ある？").answer.startswith("「第４章 協働の心得」には次の６項目")


@pytest.mark.parametrize(
    ("question", "listed"),
    [
        # a chapter as typed, without 第, and beside the guideline's own name
        ("4章には何が書いてある？", "「第４章 協働の心得」には次の６項目があります："),
        ("ガイドラインの3章って何の話？", "「第３章 協働の形態」には次の７項目があります："),
        # a count of a chapter without text of its own names its sub-sections, not "not stated"
        ("第５章って何項目？", "「第５章 本市での主な取組事例」には次の１５項目があります："),
        # the document as a whole: its chapters
        (
            "このガイドラインって何章まである？",
            "「協働ガイドライン」は次の６章からなります：第１章 ガイドライン策定の目的、",
        ),
        ("ガイドラインの構成を教えて", "「協働ガイドライン」は次の６章からなります："),
    ],
)
def test_a_chapter_or_the_whole_document_asked_about_lists_its_parts(chain, question, listed):
    answer = chain.ask(question)
    assert answer.answer.startswith(listed) and "記載はありません" not in answer.answer
    if "６章" in listed:
        assert answer.answer.splitlines()[0].endswith("第６章 協働Ｑ＆Ａ。") and answer.cited_sections[0] == "1-1"


@pytest.mark.parametrize(
    ("question", "heading", "item"),
    [
        (
            "地域社会の主体的な取組が求められる分野って具体的に何？",
            "地域社会の主体的な取組が求められる分野",
            "・ 防犯や防災",
        ),
        ("当事者性を重視する分野ってどんなもの？", "当事者性を重視したきめ細かい対応が求められる分野", "・ 子育て支援"),
    ],
)
def test_a_group_of_a_list_named_by_its_heading_leads_with_its_items(chain, question, heading, item):
    """Ｑ８'s groups are headings without 。: named by the question, one leads with its items."""
    lines = chain.ask(question).answer.splitlines()
    assert lines[0] == heading and any(line.startswith(item) for line in lines[1:6])


@pytest.mark.parametrize(
    ("question", "cases"),
    [
        ("清掃課の協働の取組は？", {"5-10", "5-11"}),  # 清掃事業課
        ("減量課の事例は？", {"5-8", "5-9"}),  # 減量対策課, not respelled as 減量化
        ("危機管理課の協働事例は？", {"5-3", "5-4"}),  # 危機管理室
    ],
)
def test_a_department_clipped_as_staff_say_it_gets_its_cases(chain, question, cases):
    answer = chain.ask(question)
    assert cases <= set(answer.cited_sections) and not answer.notes


@pytest.mark.parametrize(
    ("question", "department", "cases"),
    [
        ("危機管理って市民とどんな協働してる？", "危機管理室", {"5-3", "5-4"}),  # without its 室
        ("男女参画課は団体と一緒に何をした？", "男女平等参画課", {"5-7"}),  # some of its name, in order
        ("市民自治推進部の協働事例は？", "市民自治推進課", {"5-1", "5-2"}),  # by the 部 above it
    ],
)
def test_a_department_named_as_staff_say_it_is_answered_with_its_cases(chain, question, department, cases):
    answer = chain.ask(question)
    assert cases <= set(answer.cited_sections)
    # each case with its department, named once (「担当は…です」 or 「（担当：…）」)
    assert answer.answer.count(department) >= len(cases)


@pytest.mark.parametrize(
    ("question", "history", "department"),
    [
        ("女子トイレにチラシを置いてる取組って誰に聞けばいい？", None, "男女平等参画課"),
        ("公園や道路の掃除を住民ボランティアにお願いしてる制度、どこに聞けばいい？", None, "緑地公園課他"),
        ("外国から来た人を家に泊めてくれるボランティアの件、担当どこ？", None, "市民自治推進課"),
        ("それ担当どこ？", "ゼロごみの日ってなに？", "清掃事業課"),
        ("日本語教室の講師ボランティアはどこの所管？", None, "市民自治推進課"),  # どこの所管 asks which
        # the contact of a case named, asked as which department, is its department: nothing is missing
        ("まちづくりトークの窓口はどこの課？", None, "市民生活課"),
    ],
)
def test_whom_to_ask_is_which_department(chain, question, history, department):
    answer = chain.ask(question, turn(chain, history) if history else None)
    assert answer.answer.startswith(f"担当は{department}です")


def test_the_words_asking_which_department_do_not_make_a_question_out_of_scope(chain):
    # by meaning, 担当課 drew it nearer the city's other business (listed by department): it was refused
    answer = chain.ask("春と秋の街の一斉清掃 担当課")
    assert answer.answer.startswith("担当は清掃事業課です")


def test_a_department_the_guideline_has_no_case_of_is_not_answered_with_anothers(chain):
    # the nearest case is 青少年課's リーダー養成事業 (地域振興): quoting it would answer for 観光振興課
    answer = chain.ask("観光振興課がやってる協働事例を教えて")
    assert answer.abstained and answer.answer.startswith(ABSTENTION_TEXT)
    assert "青少年課" not in answer.answer
    # a department the guideline has, clipped, is no other department
    assert not chain.ask("清掃課の協働の取組は？").abstained


def test_a_which_department_question_naming_a_heading_is_not_answered_by_a_case(chain):
    # 第５章（７） and （15） mention a 後援 they received: neither is who handles 第３章（７）後援
    for question in ("後援の担当課は？", "後援の申請は誰に相談すればいい？"):
        answer = chain.ask(question)
        assert answer.cited_sections[0] == "3-7" and "担当は" not in answer.answer


@pytest.mark.parametrize(
    ("question", "section"),
    [
        ("後援の担当課は？", "3-7"),
        ("後援の申請は誰に相談すればいい？", "3-7"),
        ("後援はどこが担当してる？", "3-7"),
        ("補助金の担当課ってどこ？", "3-6"),
    ],
)
def test_a_department_no_section_names_is_said_to_be_missing(chain, question, section):
    # （７）後援 says what 後援 is, not who grants it: the answer says so first, then what it says
    answer = chain.ask(question)
    assert answer.partial and not answer.abstained
    assert answer.answer.startswith(f"ガイドラインには担当課についての記載はありません。{NEARBY}")
    assert answer.cited_sections[0] == section


def test_a_question_only_speaking_of_a_department_is_not_told_one_is_missing(chain):
    # 課は and 担当して speak of a department here; neither asks which one
    for question in (
        "うちの課は予算がかなり厳しくて、正直経費を浮かせたくて市民団体に手伝ってもらおうかと思ってるんだけど、それってアリ？",
        "担当してる団体の人たちがまだ協働に慣れてなくて、正直しんどい",
    ):
        assert "担当課についての記載はありません" not in chain.ask(question).answer


def test_a_desk_for_what_a_case_only_touches_is_no_department_of_the_case(chain):
    # （７） is 男女平等参画課's leaflet, not a desk for DV victims: the desk is said to be missing
    answer = chain.ask("DV被害の相談窓口はどこの課？")
    assert answer.answer.startswith("ガイドラインにはDV被害の相談窓口についての記載はありません。")
    assert "担当は" not in answer.answer


@pytest.mark.parametrize(
    ("question", "sections", "phrase"),
    [
        # who takes 協働 on is stated (Ｑ１, １ ガイドラインの内容): not Ｑ８'s fields, nor a missing line
        ("協働ってどの課がやるものなの？", {"1-1", "6-Q1"}, "各担当部署において"),
        # ３ 提案は協働のきっかけ says where a proposal goes: not （12）'s case, whose text has 企画 too
        ("市民から企画を持ち込まれるのはどこの部署？", {"2-3"}, "直接、担当部署に企画が持ち込まれる"),
    ],
)
def test_a_section_saying_which_department_takes_it_on_answers_which_department(chain, question, sections, phrase):
    answer = chain.ask(question)
    assert not answer.partial and "記載はありません" not in answer.answer
    assert answer.cited_sections[0] in sections
    assert phrase in lead(answer)


def test_a_comparison_with_the_previous_topic(chain):
    answer = chain.ask("後援とはどう違うの？", turn(chain, "共催について教えて"))
    assert {"3-1", "3-7"} <= set(answer.cited_sections)


# --------------------------------------------------------------------------- missing details


@pytest.mark.parametrize(
    ("question", "section", "named"),
    [
        ("後援の申請って何日前までに出せばいい？", "3-7", "期限"),
        ("補助金の上限額っていくらまで？", "3-6", "金額"),
        ("委託するときの契約書の様式はどれを使う？", "3-5", "様式"),
        # named by grammar alone, not by a word of the detail lexicon
        ("まちづくりトークに来てもらう講師の講師料は？", "5-5", "講師料"),
        ("ごみのパトロール隊って何歳から入れる？", "5-11", "何歳"),
        ("国際交流ボランティアの登録者数は？", "5-2", "登録者数"),
    ],
)
def test_a_missing_detail_is_said_first_then_what_is_nearby(chain, question, section, named):
    answer = chain.ask(question)
    assert not answer.abstained and answer.partial
    first = answer.answer.splitlines()[0]
    assert first.startswith("ガイドラインには") and named in first and "記載はありません。" in first
    assert section in answer.cited_sections


def test_a_detail_the_guideline_states_is_not_called_missing(chain):
    answer = chain.ask("ゼロごみの日の清掃って年に何回あるの？")
    assert not answer.partial
    assert "年２回" in answer.answer


@pytest.mark.parametrize(
    ("question", "named"),
    [
        (
            "後援を申請するときの添付書類は？",
            "添付書類（様式・書式）",
        ),  # not 「ときの添付書類」: とき ends a clause, owns nothing
        ("協定の見直しって何年ごとにやるの？", "頻度・周期（何年ごと）"),  # one interval, not also 期限・期間（何年）
        ("ごみステーションのパトロール隊は何世帯くらいで1隊つくるの？", "具体的な数値（何世帯）"),
        # an article of a rule is where it says something, not a number
        ("自治基本条例の第何条に市民の権利が書いてある？", "自治基本条例の条文（第何条）"),
    ],
)
def test_a_missing_detail_is_named_once_as_the_question_names_it(chain, question, named):
    answer = chain.ask(question)
    assert answer.partial
    assert (
        answer.answer.splitlines()[0]
        == f"ガイドラインには{named}についての記載はありません。関連する箇所には次のように書かれています。"
    )


def test_a_time_stated_in_prose_is_not_called_missing(chain):
    answer = chain.ask("協働事業の評価の実施時期は？")
    assert not answer.partial
    assert "取組が終了した時" in answer.answer


def test_a_count_of_a_bulleted_list_counts_it(chain, guideline):
    answer = chain.ask("後援名義を使わせてはいけない場合っていくつある？")
    assert not answer.partial and "記載はありません" not in answer.answer
    lines = answer.answer.splitlines()
    assert lines[0] == "挙げられているのは次の７項目です。"
    items = [line for line in guideline.section("3-7").text.splitlines() if line.startswith("・")]
    assert len(items) == 7 and all(item in answer.answer for item in items)


def test_a_count_over_headed_groups_counts_the_groups(chain, guideline):
    """Ｑ８ lists fields in four groups, each headed 「…分野」: asked how many kinds of fields, the groups
    are counted and shown with their items, not the first group's three items (the trial found 「次の３
    項目です」) nor 「…の記載はありません」."""
    answer = chain.ask("協働の分野には何種類あるの？")
    assert "6-Q8" in answer.cited_sections
    assert not answer.partial and "記載はありません" not in answer.answer
    lines = answer.answer.splitlines()
    assert lines[0] == "挙げられているのは次の４つの分野です。"
    text = guideline.section("6-Q8").text
    headings = [line for line in text.splitlines() if line.endswith("求められる分野")]
    assert len(headings) == 4 and all(h in lines[1:19] for h in headings)
    assert lines.index(headings[0]) < lines.index("・ 高齢者支援") < lines.index(headings[1])


@pytest.mark.parametrize(
    ("question", "naming"),
    [
        ("パソコン教室で操作を手伝ってくれるのは誰？", "ボランティア団体とのパートナーシップ協定による協力"),
        ("リーフレットの補充って誰がやってるの？", "団体の会員が担当しています"),
        ("啓発リーフレットは誰と協力して作ったの？", "団体やＮＰＯと協力し"),
    ],
)
def test_who_does_something_in_a_case_leads_with_the_sentence_naming_who(chain, question, naming):
    assert naming in lead(chain.ask(question))


def test_what_the_guideline_contains_leads_with_what_it_gives(chain):
    for question in ("ガイドラインって何が載ってるの？", "このガイドラインには何が書かれているんですか？"):
        opening = lead(chain.ask(question))
        assert opening.startswith("このガイドラインでは、") and "市職員の心構えを示します。" in opening
        assert "示すことはできません" not in opening


def test_a_comparison_of_one_attribute_contrasts_what_the_sides_say_of_it(chain):
    answer = chain.ask("共催と後援で経費の負担はどう違う？")
    assert answer.cited_sections[:2] == ["3-1", "3-7"]
    contrast = answer.answer.splitlines()[0]
    assert contrast.startswith("違い：共催「経費負担や社会的責任については、双方にあることを念頭に置いてください。」")
    # 後援 speaks of money in words of its own (財政), not the question's
    assert contrast.endswith("後援「財政的な支援等はありません。」［第３章（７）後援］")
    # a side saying nothing of it is shown by what it is
    other = chain.ask("共催と協定で経費の負担はどう違う？").answer.splitlines()[0]
    assert "協定「市民と市とが共通の目的を果たすため、" in other
    # asked what they are, the definitions
    plain = chain.ask("共催と後援の違いは？").answer.splitlines()[0]
    assert plain.startswith("違い：共催「市民と市とが共に事業主体となり、")


@pytest.mark.parametrize(
    ("question", "each"),
    [
        # a part of its own asks it: the 違い line, then each side's sentence on money
        (
            "共催と後援の違いと、お金の負担はどうなる？",
            ["共催「経費負担や社会的責任については、", "後援「財政的な支援等はありません。」"],
        ),
        (
            "後援と共催、それぞれ費用は誰が持つの？",
            ["後援「財政的な支援等はありません。」", "共催「経費負担や社会的責任については、"],
        ),
    ],
)
def test_money_asked_of_each_side_is_answered_by_each_sides_words_for_it(chain, question, each):
    """お金 and 費用 are not the guideline's words: 共催 says 経費負担 and 後援 財政; both are quoted in the lead."""
    opening = lead(chain.ask(question))
    assert all(quote in opening for quote in each)


def test_a_side_named_by_a_word_of_money_asks_nothing_of_money(chain):
    """補助金 names the side 補助・助成: 「補助金って何？あと後援との違いは？」 asks what the sides are."""
    opening = lead(chain.ask("補助金って何？あと後援との違いは？"))
    assert "後援「市民が主催する事業に対して、" in opening
    assert "財政的な支援等はありません" not in opening


def test_a_department_asked_of_both_sides_is_no_attribute_to_contrast(chain):
    """「どっちも清掃事業課？」 asks who is in charge: no 違い line of two unrelated sentences that share
    a word of the department's name (清掃 in 「地域清掃」); both cases, with their department."""
    answer = chain.ask("ステーションパトロール隊とゼロごみの日、どっちも清掃事業課？")
    assert "違い:" not in answer.answer
    assert {"5-10", "5-11"} <= set(answer.cited_sections)
    assert answer.answer.count("担当：清掃事業課") == 2


def test_a_second_section_that_answers_as_well_gets_a_block_of_its_own(chain):
    """The ranking barely tells Ｑ７ from Ｑ３ for 「手間ばかり増える」, and Ｑ３'s best sentence answers it
    at least as well: it is quoted beside the first, so staff see 「手間や時間がかかることもあります。」.
    「下請け」 is answered by （５）委託 alone: the next section does not answer it as well."""
    answer = chain.ask("市民と一緒にやると手間ばかり増えるんじゃない？")
    assert answer.cited_sections == ["6-Q7", "6-Q3"]
    assert "■ 第６章 Ｑ３" in answer.answer and "手間や時間がかかることもあります。" in answer.answer
    assert chain.ask("NPOは市の下請けみたいな立場なの？").cited_sections == ["3-5"]


@pytest.mark.parametrize(
    ("question", "asks"),
    [
        ("イベントが終わったら何をすればいい？", True),
        ("振り返りってやるべき？", True),
        ("相手のことで気をつけることは？", True),
        ("どうやって決めるの？", True),
        ("実行委員会ってなに？", False),
        ("委託と補助、それぞれ注意することは？", False),  # two parts: one block per side
        ("どの形態にすればいい？", False),  # which form: the form is the answer
    ],
)
def test_what_to_do_is_asked_as_a_how_to_or_as_whether_one_should(question, asks):
    assert analyze(question).asks_what_to_do is asks


@pytest.mark.parametrize(
    ("section", "sentence", "thing"),
    [
        ("3-2", "実行委員会はイベントの開催や", "実行委員会"),  # …期間を限定した組織であることが多い形態です。
        ("3-6", "市民が行う事業に対し", "補助・助成"),  # …財政支援する形態です。
        ("6-Q5", "協働を理解する近道は", None),  # …現場に出て行くことです。: what to do
        ("3-7", "後援名義を使用させるかどうかは", None),  # …判断する必要があります。
        ("4-4", "協働による一連の取組が終了した時", None),  # …評価してください。
    ],
)
def test_a_sentence_only_saying_what_a_thing_is_names_that_thing(chain, section, sentence, thing):
    key = ("kyodo-guideline", section)
    text = chain.extractive.section(*key).text
    span = next((a, b) for a, b in chain.extractive.sentences[key].spans if text[a:b].startswith(sentence))
    described = chain.extractive.described(key, span)
    if thing is None:
        assert described is None
    else:  # as MeCab cuts the words (実行・委員・会)
        assert described is not None and set(chain.service.tokenizer.content_lemmas(thing)) <= described


def test_a_question_asking_what_to_do_is_not_answered_by_what_a_form_is(chain):
    """イベント ranks （２）実行委員会・協議会 first, whose best sentence only says what 実行委員会 is (「…期間を
    限定した組織であることが多い形態です。」); （４）結果の評価, ranked nearly as high, says what to do and is
    quoted alone. Asked of the form it names (協議会), the form's own text still answers."""
    answer = chain.ask("イベントが一段落したら、結果をまとめておくべき？")
    assert answer.cited_sections == ["4-4"]
    assert answer.answer.startswith("協働による一連の取組が終了した時には、相手方からの意見や感想を聴き、")
    assert chain.ask("協議会ってずっと続けるべき？").cited_sections == ["3-2"]


def test_sides_no_heading_names_are_answered_by_the_one_section_speaking_of_both(chain):
    """「町内会と企業の違いは？」: no heading names either side, and 第２章 １（１） speaks of both; each side
    searched alone found a case that merely mentions 町内会 (まちづくりトーク) as an unrelated second block."""
    answer = chain.ask("町内会と企業の違いは？")
    assert answer.cited_sections == ["2-1-1"]
    assert "町内会や自治会は" in answer.answer and "企業は、" in answer.answer


def test_each_sides_attribute_leads_a_two_part_question(chain):
    answer = chain.ask("委託と補助、それぞれ注意することは？")
    first = answer.answer.splitlines()[0]
    assert first.startswith("それぞれ：委託「")
    assert "補助・助成「財政支援することで、相手方との関係が損なわれることのないよう注意が必要です。」" in first
    assert {"3-5", "3-6"} <= set(answer.cited_sections)


def test_a_word_asking_for_parts_together_counts_only_as_a_word_of_its_own():
    # 組み合わせる asks whether forms may be combined: a yes/no question, not 「…もあわせて」
    question = analyze("複数の形態を組み合わせて使ってもいい？")
    assert question.kind == "yes-no" and question.sides == []
    assert analyze("協定の中身と事例もあわせて知りたい").kind == "multi-part"


def test_a_heading_that_joins_two_words_is_one_thing_not_two_sides():
    units = frozenset({"補助・助成", "実行委員会・協議会"})
    topics = frozenset({"補助", "助成", "委託", "実行", "委員", "協議"})
    for question in ("補助・助成ってどういう協働形態？", "実行委員会・協議会ってどんな形態？"):
        assert analyze(question, topics=topics, units=units).sides == []
    # beside another form it is one side of a comparison, named as the heading names it
    assert analyze("補助・助成と委託の違いは？", topics=topics, units=units).sides == ["補助・助成", "委託"]
    assert analyze("委託・補助の違いは？", topics=topics, units=units).sides == ["委託", "補助"]


def test_a_yes_no_question_leads_with_the_deciding_sentence_not_the_definition(chain):
    # （７）後援 opens with what 後援 is; 「財政的な支援等はありません。」 answers whether money comes with it
    text = chain.ask("後援なら市からお金は出る？").answer
    assert text.startswith("財政的な支援等はありません。")


@pytest.mark.parametrize(
    ("question", "lead", "not_lead"),
    [
        # a point to heed is said with 注意・留意・念頭に置く or 「…ないよう」, not by the definition the
        # question's other words (補助金) favour
        ("団体に補助金を交付するとき、気を付けることは？", "注意が必要です", "財政支援する形態です"),
        # the list of points leads with its lead-in, not with the section's definition
        ("市民に情報を出すときに気をつけることは？", "次のことを念頭に置いて進めてください", "情報共有とは"),
        # a merit is said with 期待, メリット or 良い影響
        ("市が後援すると主催者側にはどんなメリットがある？", "社会的信頼が高まること", "名を連ねることです"),
        ("地域活動に参加すると、自分の仕事にもプラスになる？", "良い影響がもたらされる", "様々な活動の場があります"),
        # うれしい is a merit too (the glossary reads it as メリット): the citizens' one, asked of 市民
        ("協働って市民にとって何がうれしいの？", "地域への愛着", "事業成果を向上させる"),
        # typed as keywords: a form's money is what its sentence on money says, and a condition is the
        # case a sentence says it applies in, not the definition the form's name favours
        ("後援 お金は？", "財政的な支援等はありません", "名を連ねることです"),
        ("補助金 条件", "期限や使途の制限を設ける", "財政支援する形態です"),
    ],
)
def test_a_question_asking_a_point_to_heed_or_a_merit_leads_with_the_sentence_saying_it(
    chain, question, lead, not_lead
):
    opening = chain.ask(question).answer.split("\n\n")[0]
    assert lead in opening
    assert not_lead not in opening


def test_a_question_asking_merits_and_drawbacks_leads_with_both(chain):
    opening = lead(chain.ask("市民と組むメリットとデメリットを教えて"))
    assert "可能性が広がります" in opening or "メリットがあります" in opening
    assert "手間や時間がかかることもあります" in opening


def test_a_staff_word_the_glossary_reads_as_the_subject_asks_nothing_beyond_it(chain):
    """「助成金を出し続けても問題ない？」: 金 of 助成金 is the subject （６）補助・助成 (the glossary reads it so), not
    something asked of it that its definition 「…補助金等で財政支援する形態です。」 would answer."""
    assert "関係が損なわれることのないよう注意が必要です。" in lead(chain.ask("助成金を出し続けても問題ない？"))


@pytest.mark.parametrize(
    ("question", "lead"),
    [
        # both sides are words of one heading (（２）実行委員会・協議会): no two sections to set against each other
        ("協議会と実行委員会、常設なのはどっち？", "常に組織されていることが多い形態です"),
        # two questions one section answers
        ("事業が終わったら評価する？相手の感想も聞くべき？", "相手方からの意見や感想を聴き"),
    ],
)
def test_a_question_read_as_parts_without_a_contrast_still_leads_with_its_answer(chain, question, lead):
    text = chain.ask(question).answer
    assert not text.startswith("■")
    assert lead in text.split("\n\n")[0]


def test_a_particle_that_names_a_partner_or_an_example_cuts_no_sides():
    topics = frozenset({"共催", "後援", "委託", "補助", "協定", "企業", "学校", "トーク"})
    # と after what is asked (どこの団体と) is with whom; とは defines; や without a comparing word lists examples
    for question in (
        "まちづくりトークはどこの団体と共催したの？",
        "共催とはどんな形態？",
        "市が企業や学校と結んでいる協定には何がある？",
    ):
        assert analyze(question, topics=topics).sides == [], question
    assert analyze("委託や補助の違いは？", topics=topics).sides == ["委託", "補助"]
    assert analyze("共催と後援、それぞれの注意点は？", topics=topics).sides == ["共催", "後援"]


@pytest.mark.parametrize(
    ("question", "lead"),
    [
        ("後援ってどういう意味？", "後援者として名を連ねることです"),
        ("実行委員会・協議会ってどんな形態？", "新たな組織を設立し"),
        ("共催ってそもそもどういうやり方？", "共に事業主体となり"),
    ],
)
def test_a_question_asking_what_a_heading_is_leads_with_its_definition(chain, question, lead):
    assert lead in chain.ask(question).answer.split("\n\n")[0]


@pytest.mark.parametrize(
    ("question", "definition"),
    [
        ("共催ってどんな形？", "市民と市とが共に事業主体となり"),
        ("協定ってどんな形態？", "市民と市とが共通の目的を果たすため"),
    ],
)
def test_a_question_naming_the_form_it_asks_about_is_not_answered_as_which_form(chain, question, definition):
    # the form is named: 「該当するのは「（１）共催」です。」 would tell the asker what they wrote
    assert chain.ask(question).answer.startswith(definition)
    # the form described, not named, is still asked which one
    assert chain.ask("市民が主催する催しに市が名前だけ貸すのはどんな形態？").answer.startswith(
        "該当するのは「（７）後援」"
    )


@pytest.mark.parametrize("question", ["実行委員会って何？", "協議会とは？", "実行委員会・協議会ってなに？"])
def test_a_definition_of_what_a_heading_joins_with_a_dot_leads_with_what_the_section_says_both_are(chain, question):
    """（２）実行委員会・協議会: 「実行委員会は…期間を限定した組織…。また、協議会は…」 names the thing asked
    and says how the two differ; what it is, is the definition of both."""
    assert lead(chain.ask(question)).startswith("市民と市とが資金や人的資源を出し合って")


def test_who_provides_for_one_of_a_headings_pair_leads_with_what_the_section_says_both_are(chain):
    """「実行委員会の費用は誰が出すの？」: who provides for a 実行委員会 is in the definition of both kinds, not in
    the sentence on how long a 実行委員会 lasts beside a 協議会."""
    assert "資金や人的資源を出し合って" in lead(chain.ask("実行委員会の費用は誰が出すの？"))


def test_a_yes_no_question_leads_with_the_sentence_that_speaks_of_what_it_asks(chain):
    # 「相手方は、安上がりの下請けではありません。」 decides by its ending; the question asks about 責任
    text = chain.ask("じゃあ事故の責任は相手側にあるの？", turn(chain, "委託ってどんな形態？")).answer
    assert text.startswith("事業における最終的な責任については、市にあります。")


def test_the_sides_of_a_comparison_end_before_what_is_compared_of_them():
    assert analyze("共催と後援で経費負担の違いは？").sides == ["共催", "後援"]
    assert analyze("後援の場合と共催の場合で何が違う？").sides == ["後援", "共催"]
    assert analyze("市が単独で行う事業と委託の違いは？").sides == ["市が単独で行う事業", "委託"]


def test_a_comparison_word_alone_has_no_sides_and_is_answered_or_refused(chain):
    """「使い分け」 leaves nothing before the comparison to cut into sides (the question storm found it)."""
    assert analyze("使い分け").sides == []
    answer = chain.ask("使い分け")
    assert answer.answer and (answer.abstained or answer.citations)


def test_the_parts_of_a_two_part_question_follow_its_grammar():
    # と before a verb (として, という) is the verb's case particle, not a coordinator
    assert analyze("形態としての説明と市の実際の事例を両方教えて").sides == ["形態としての説明", "市の実際の事例"]
    assert analyze("協定という協働形態の中身を教えて").kind != "multi-part"
    # a subject set before the parts is asked of each part
    assert analyze("災害時の協定について、形態としての説明と市の実際の事例をあわせて教えて").sides == [
        "災害時の協定の形態としての説明",
        "災害時の協定の市の実際の事例",
    ]
    # と between two whole の-phrases asks two things; a bare noun before と shares the head after it
    two = analyze("結果の評価のしかたと相手方の見直しについて教えて")
    assert two.kind == "multi-part" and two.sides == ["結果の評価のしかた", "相手方の見直し"]
    assert analyze("市民と市の役割について教えて").kind != "multi-part"


@pytest.mark.parametrize(
    ("question", "sides"),
    [
        ("結果の評価のしかたと相手方の見直しについて教えて", ("4-4", "4-5")),
        ("相手方の意見の聞き方と協働の経験の積み方を教えて", ("4-4", "4-6")),
        ("情報共有について、基本的な考え方と、事業前の準備としての扱いの両方を知りたい", ("2-2", "6-Q6")),
        # （３）協定 under 第３章 協働の形態 names both words of the first part; the case the second
        ("協定について、協働の形態としての位置づけと、危機管理室がやっている実例を両方知りたい", ("3-3", "5-4")),
    ],
)
def test_each_part_of_a_two_part_question_gets_its_own_section(chain, question, sides):
    answer = chain.ask(question)
    assert answer.cited_sections[:2] == list(sides)


def test_a_part_asking_for_examples_gets_a_case(chain):
    # the first part asks for an example (例): （15）リーダー養成事業 receives a 後援, not （７）後援 itself;
    # the second (opened by そもそも) asks what 後援 is
    answer = chain.ask("市の事業が逆に市民団体から後援を受けている例ってある？そもそも後援ってどういうもの？")
    assert answer.cited_sections[:2] == ["5-15", "3-7"]


def test_a_which_form_question_naming_a_case_quotes_the_case_too(chain):
    answer = chain.ask("レジ袋削減でお店と結んだ取り決めは、協働の形態でいうとどれに当たる？")
    assert "5-9" in answer.cited_sections
    assert "消費者団体や市内スーパー等の事業者と自主協定を結んでいます。" in answer.answer


@pytest.mark.parametrize(
    ("question", "named"),
    [
        ("まちづくりトークの講師は誰だったの？", "講師は誰"),  # a person of a case
        ("みんなの消費生活展の会場はどこ？", "消費生活展の会場"),  # a place of a case
        ("日本語教室はどこでやっているんですか？", "場所"),
        ("みんなの消費生活展っていつ開かれてるの？", "実施時期"),  # a time of a case
        ("障がい者パソコン教室に参加できる条件ってある？", "条件"),  # what it takes to join a case
        ("日本語教室の講師ボランティアになるには資格がいるの？", "資格"),
        ("エコ推進企業見学ツアーの予算ってどれくらいだった？", "エコ推進企業見学ツアーの予算"),  # a case's budget
        ("ゼロごみの日の清掃には毎回何人くらい集まるの？", "何人"),  # 「年２回」 is no number of people
        ("地区別避難計画づくりには町内会がいくつ参加したの？", "いくつ"),  # 「一人ひとり」 is no number
        # which place a thing of a case is: 「市内の企業や学校などと」 names partners, not the buildings
        ("津波一時避難施設に指定されてる建物はどこ？", "建物の場所"),
        ("避難看板ってどこに設置されたの？", "場所"),
        ("パトロール隊が見回ってるごみステーションってどこ？", "ごみステーションの場所"),
        # 「道路、公園、パークゴルフ場など一部の公共施設について」: kinds of place, not which park
        ("クリーンアップサポーターが掃除してる公園ってどこの公園？", "公園の場所"),
    ],
)
def test_a_missing_detail_about_a_case_is_said_to_be_missing_before_the_case(chain, question, named):
    answer = chain.ask(question)
    assert answer.partial and answer.cited_sections[0].startswith("5-")
    first = answer.answer.splitlines()[0]
    assert first.startswith("ガイドラインには") and named in first
    assert first.endswith("の記載はありません。関連する箇所には次のように書かれています。")


@pytest.mark.parametrize(
    "question",
    [
        "ゼロごみの日の清掃はどこでやるの？",  # 全市的に: stated
        "ゼロごみの日っていつやってるの？",  # 春と秋の年２回: stated
        "日本語教室の講師は誰がやってるの？",  # 国際交流ボランティアには…講師: a party holds the role
        "ごみ出し場所を巡回しているパトロール隊は何をしているの？",  # names a place, asks none
        "防災の協働ってどこでやってる？",  # names no one case
        "共催するときの会場はどこで借りる？",  # a place, but of no case
        "後援名義を使わせる条件は？",  # a condition, but of no case: 3-7 lists when not to
        "団体にお金を出すとき、何か条件をつけたほうがいい？",  # a condition to set, not one asked for
        "ゼロごみの日の清掃は年に何回？",  # 年２回: stated
        "クリーンアップサポーターが掃除するのはどんな場所？",  # 道路、公園…など: the kinds asked are stated
        "津波一時避難施設の協定の担当はどこ？",  # a department, not a place
        "まちづくりトークの主催はどこ？",  # who, not where
        "まちづくりトークはどこの団体と共催したの？",  # with whom
        "ごみステーションを見回る活動はどこの担当？",  # which department
    ],
)
def test_a_case_detail_stated_or_not_asked_of_a_case_is_not_called_missing(chain, question):
    answer = chain.ask(question)
    assert not answer.partial and "記載はありません" not in answer.answer


def test_a_count_of_kinds_listed_in_prose_claims_no_count_of_precepts(chain):
    # 第２章 １'s sub-sections are precepts (（１）対等の立場で協力する), not kinds of partner; the kinds
    # are listed in one sentence, their number nowhere
    answer = chain.ask("協働のパートナーって何種類あるの？")
    assert "項目があります" not in answer.answer and "記載はありません" not in answer.answer
    assert answer.cited_sections[0] == "2-1"
    assert answer.answer.startswith("本市では、ボランティアとしての個人、")
    # a chapter whose sub-sections name things is still counted
    assert chain.ask("協働の心得っていくつある？").answer.startswith("「第４章 協働の心得」には次の６項目")


def test_a_count_of_copies_is_not_answered_by_a_list(chain):
    answer = chain.ask("後援の申請書は何部出せばいい？")
    assert answer.partial and "項目です" not in answer.answer and "何部" in answer.answer.splitlines()[0]


def test_a_detail_asked_of_two_parties_is_no_contrast_of_their_definitions(chain):
    answer = chain.ask("共催したイベントの保険料は市と相手方のどっちが払うの？")
    assert answer.partial and "違い:" not in answer.answer
    assert answer.answer.startswith("ガイドラインにはイベントの保険料についての記載はありません。")


def test_opening_hours_are_a_time_of_day_not_a_deadline(chain):
    first = chain.ask("みんなの消費生活展は何時から何時まで開いてる？").answer.splitlines()[0]
    assert first.startswith("ガイドラインには時刻・時間帯（何時から）") and "期限" not in first


def test_the_sentence_stating_the_asked_detail_leads(chain):
    """Not the section's first sentence: the one holding the number asked for."""
    first = chain.ask("障がい者のパソコン教室って、支援する人は受講者何人を受け持つ？").answer.splitlines()[0]
    assert first.startswith("パソコン教室では、１対１での操作支援を実施しています。")


def test_a_time_stated_by_a_season_is_not_called_missing(chain):
    answer = chain.ask("ゼロごみの日の地域清掃の実施時期は？")
    assert not answer.partial and "春と秋の年２回" in answer.answer.splitlines()[0]


@pytest.mark.parametrize(
    ("question", "named"),
    [
        # when something happened, of anything: no section dates the guideline or a form's rules
        ("このガイドラインっていつ改定されたの？", "改定された時期"),
        ("協働ガイドラインができたのっていつ？", "できた時期"),
        ("共催の考え方って、いつ決まったものなの？", "決まった時期"),
        # 年何階 is 年何回 mistyped: a count a year (5-5 gives none)
        ("まちづくりトークって年何階開いてるの？", "何回"),
        # whether a thing is required, of a thing the guideline never writes
        ("協定を結ぶときって議会の議決がいるの？", "議会の議決が必要かどうか"),
        ("委託先って入札で選ばないといけない？", "入札が必要かどうか"),
        ("委託するとき仕様書っている？", "仕様書が必要かどうか"),
        # a limit asked for (MeCab reads 上限って as 上 + 限って)
        ("補助金の上限ってある？", "補助金の上限"),
        # how an administrative act is done
        ("後援名義の申請ってどうやるの？", "後援名義の申請の手続き"),
    ],
)
def test_a_missing_time_requirement_limit_or_procedure_is_named(chain, question, named):
    answer = chain.ask(question)
    first = answer.answer.splitlines()[0]
    assert answer.partial and first.startswith("ガイドラインには") and named in first
    assert first.endswith("の記載はありません。関連する箇所には次のように書かれています。")


@pytest.mark.parametrize(
    ("question", "lead"),
    [
        ("家庭ごみの有料化っていつ始まったの？", "平成２５年７月から"),  # a date
        ("協定が増えてきたのっていつ頃？", "近年、事案が増えています"),  # a time in words
        ("ゼロごみの日って年何階？", "春と秋の年２回"),  # 何回, stated
        ("後援名義を出すのに審査がいる？", "判断する必要があります"),  # the section says what is required
        ("共催の場合って双方で費用を出さないといけない？", "双方にあること"),  # what is done, not its means
        ("協働の評価ってどうやるの？", "得られた効果や実績を具体的に評価してください"),  # no procedure's act
    ],
)
def test_a_time_requirement_or_how_the_guideline_states_is_not_called_missing(chain, question, lead):
    answer = chain.ask(question)
    assert not answer.partial and "記載はありません" not in answer.answer
    assert lead in answer.answer.split("■")[0]


@pytest.mark.parametrize(
    ("question", "named"),
    [
        ("事業協力の経費は誰が出す？", "事業協力の経費の負担者"),  # 3-4 names no cost
        ("協定を結んだときの費用って誰持ち？", "費用の負担者"),
    ],
)
def test_who_bears_a_cost_no_section_states_is_named_missing(chain, question, named):
    answer = chain.ask(question)
    first = answer.answer.splitlines()[0]
    assert answer.partial and first == f"ガイドラインには{named}についての記載はありません。{NEARBY}"


def test_whether_to_settle_who_bears_a_cost_is_not_asking_who_does(chain):
    answer = chain.ask("一緒にやる講座の費用、どっちが持つか決めとくべき？")
    assert "記載はありません" not in answer.answer


def test_who_bears_a_cost_asked_of_two_forms_is_missing_of_the_one_that_does_not_say(chain):
    """3-1 states 経費負担…双方 of 共催; 3-4 states no cost of 事業協力."""
    answer = chain.ask("事業協力と共催の違いは？あと経費は誰持ち？")
    assert answer.partial and "ガイドラインには事業協力の経費の負担者についての記載はありません。" in answer.answer
    assert "共催の経費の負担者" not in answer.answer
    # the 違い line quotes what each side is, like with like; the cost, asked in a part of its own, leads below it
    assert answer.answer.startswith("違い：事業協力「市民と市とが互いの特性を活かし")
    assert "共催「市民と市とが共に事業主体となり、" in answer.answer.splitlines()[0]
    assert "双方にある" in answer.answer.split("■")[0] and "双方にある" not in answer.answer.splitlines()[0]


def test_a_difference_asked_beside_a_cost_part_quotes_what_each_side_is(chain):
    """「事業協力と共催の違い、それと経費は誰が出す？」: the cost is another part's, so the 違い line does not
    quote 共催 by its cost sentence against 事業協力's definition."""
    answer = chain.ask("事業協力と共催の違い、それと経費は誰が出す？")
    first = answer.answer.splitlines()[0]
    assert first.startswith("違い：事業協力「市民と市とが互いの特性を活かし")
    assert "共催「市民と市とが共に事業主体となり、事業の企画や実施を協力して行う形態です。」" in first
    # the cost part is answered in the lead by the side that states it, and named missing of the other
    assert answer.answer.splitlines()[1] == (
        "共催「経費負担や社会的責任については、双方にあることを念頭に置いてください。」［第３章（１）共催］"
    )
    assert "ガイドラインには事業協力の経費の負担者についての記載はありません。" in answer.answer.split("■")[0]


@pytest.mark.parametrize(
    ("question", "stated"),
    [
        ("共催の経費は誰が出す？", "双方にある"),  # 3-1: 経費負担…双方
        ("補助金は誰が出す？", "市が補助金等で財政支援"),  # 3-6
        ("実行委員会の費用は誰が払うの？", "資金や人的資源を出し合って"),  # 3-2
    ],
)
def test_who_bears_a_cost_a_section_states_is_not_called_missing(chain, question, stated):
    answer = chain.ask(question)
    assert not answer.partial and "記載はありません" not in answer.answer
    assert stated in answer.answer.split("■")[0]


def test_what_happens_when_a_thing_the_guideline_writes_comes_about_is_not_called_missing(chain):
    """4-4 writes what a part that did not go well becomes (上手く and うまく are one lemma)."""
    answer = chain.ask("協働がうまくいかなかったらどうなるの？")
    assert not answer.partial and "記載はありません" not in answer.answer
    assert "改善するための大切な事例" in answer.answer.split("■")[0]


def test_a_thing_compared_with_its_other_name_is_said_missing(chain):
    """覚書 is no word of the guideline's, only read as 協定 (the glossary): how the two differ is not
    written, and 協定 is answered from its own section (not 第５章（４）'s case)."""
    answer = chain.ask("協定と覚書の違いは？")
    assert answer.answer.startswith("覚書については、ガイドラインに記載が見つかりませんでした。")
    assert answer.citations[0].section_id == "3-3"


def test_whether_a_thing_the_guideline_writes_is_required_is_not_called_missing(chain):
    """市の職員 (市職員 in 第１章), 立場 (2-1-1's heading) and 取り決め (the glossary's 協定) are the
    guideline's things: what it says of them answers, though the quoted section does not write them."""
    for question in ("実行委員会には市の職員が入らないといけない？", "協働って対等な立場が必要なの？"):
        answer = chain.ask(question)
        assert not answer.partial and "記載はありません" not in answer.answer
    answer = chain.ask("協働するときって相手と役割分担の取り決めがいる？")
    assert "記載はありません" not in answer.answer


@pytest.mark.parametrize(
    ("question", "named"),
    [
        # a length the guideline gives only in words, asked how long it is in fact
        ("一定期間って具体的にどれくらい？", "一定期間の具体的な長さ"),
        ("固定化を避けるための見直しの一定期間って具体的に？", "見直しの一定期間の具体的な長さ"),
        ("事業協力の一定期間ってどのくらいの長さなの？", "事業協力の一定期間の具体的な長さ"),
        # the deadline of an act the guideline never writes: 3-6's 期限 limits the support, not the application
        ("補助金 申請期限", "申請期限"),
        # steps asked as the 流れ the question closes on
        ("協定を結ぶまでの流れを教えて", "流れ"),
        ("委託するときの事務の流れってどうなってる？", "事務の流れ"),
        # whose sign-off, and a 決裁 the parties' 「協議をして定め」 does not state
        ("後援名義を出すのって誰の承認がいるの？", "誰の承認"),
        ("協定締結の決裁って誰まで回すの？", "協定締結の決裁"),
        # who to ask, as a verb's place
        ("協働について問い合わせる先は？", "問い合わせる先"),
        # a document that must be made, not only a means (3-6's 「注意が必要です」 requires no document)
        ("補助金を出すには交付要綱を作らないとだめ？", "交付要綱が必要かどうか"),
        ("実行委員会を作るときって規約を作らないとだめ？", "規約が必要かどうか"),
        # who does an act the guideline never writes
        ("実行委員会のお金の監査って誰がやることになってる？", "お金の監査の担い手"),
        # いくら before もらえる, how long it takes, how far ahead
        ("補助金っていくらもらえるの？", "金額（いくら）"),
        ("後援の承認ってどのくらい時間かかる？", "どのくらい時間かかる"),
        ("後援名義の申請ってどのくらい前に出せばいい？", "どのくらい前"),
        # whose name a document goes out under, not its form
        ("協定書って誰の名前で署名するの？市長？", "協定書の名義"),
        ("提案に沿えないときの回答って誰の名前で出すの？", "名義（誰の名前で）"),
        # whether it can go on past its term
        ("後援名義の使用って、次の年も更新できるの？", "更新"),
        ("補助金って翌年度も続けて申請できる？", "更新・継続（翌年度も）"),
        # how long until a thing is done
        ("協定を締結するまでって普通どれくらいかかる？", "期限・期間（どれくらいかかる）"),
        # where a document goes, not its form
        ("協働事業が終わったら報告書はどこに出せばいいの？", "報告書の提出先"),
        ("後援名義の申請書ってどこに送ればいいの？", "後援名義の申請書の送付先"),
        # what to write in a document the guideline never writes (the glossary reads 覚書 as 協定 to search)
        ("団体と覚書を交わすとき、中身には何を書いとけばいい？", "覚書に書く内容"),
        # what follows when a thing goes wrong or ends early: money given back, a sanction, a withdrawal
        ("補助金の残りって返さなきゃいけないの？", "返還（返さ）"),
        ("委託先が途中で事業を投げ出したら違約金は取れる？", "違約金"),
        ("後援名義を後から取り消すことってできる？", "取消し・解約（取り消す）"),
        # (取り消す is asked of 交付決定, no value of the 要件 named after it)
        ("補助金の交付決定を取り消す要件は？", "取消し・解約（取り消す）"),
        # what happens when a thing the guideline never writes comes about
        ("補助金が使い切れずに余ったらどうなるの？", "補助金が使い切れずに余った場合の扱い"),
        ("委託先が倒産したらどうなるの？", "委託先が倒産した場合の扱い"),
    ],
)
def test_a_missing_detail_of_its_kind_is_named(chain, question, named):
    answer = chain.ask(question)
    first = answer.answer.splitlines()[0]
    assert answer.partial and first.startswith("ガイドラインには") and named in first
    assert first.endswith(f"の記載はありません。{NEARBY}")


@pytest.mark.parametrize(
    ("question", "stated"),
    [
        ("作業の手順って相手と決めといたほうがいい？", "作業手順がある場合は"),  # 4-2 writes 手順
        ("結論だけじゃなくて流れも説明したほうがいい？", "結論に至った流れ"),  # 2-2 writes 流れ
        ("そもそもなんで市民と一緒にやる流れになったの？", ""),  # 流れ closes nothing asked
        ("DVのリーフレットの補充って誰がやってるの？", "団体の会員が担当"),  # 補充 is written
        ("協定の内容って誰が決めるの？", "協議をして定め"),  # who settles it, not a sign-off
        ("補助金を出すときって期限は設けたほうがいい？", "期限や使途の制限を設ける"),
        ("補助金を出すときに期限の設定は必要？", "期限や使途の制限を設ける"),  # the 設定 of a 期限 3-6 writes
        ("長い事業だと進捗確認ってどのタイミングでやるの？", "随時"),
        ("協働って時間かかるの？", "手間や時間がかかる"),  # whether, not how long
    ],
)
def test_a_length_procedure_or_doer_the_guideline_states_is_not_called_missing(chain, question, stated):
    answer = chain.ask(question)
    assert not answer.abstained and "記載はありません" not in answer.answer
    assert stated in answer.answer


def test_a_counter_named_in_passing_asks_for_no_contact(chain):
    """「昨日窓口で…言われちゃった」: 窓口 is where it happened, not a counter asked for."""
    answer = chain.ask(
        "昨日窓口で住民の方に、市の説明は専門用語ばかりで分かりにくいって言われちゃった。ガイドラインに何か書いてある？"
    )
    assert "記載はありません" not in answer.answer
    assert (
        "ガイドラインには後援名義の申請窓口についての記載はありません"
        in chain.ask("後援名義の申請窓口ってどこ？").answer
    )


def test_a_detail_of_a_part_named_as_not_covered_is_not_named_again(chain):
    answer = chain.ask("委託の注意点と、残業代の申請のしかたを教えてください")
    assert answer.answer.startswith("残業代の申請のしかたについては、ガイドラインに記載が見つかりませんでした。")
    assert "記載はありません" not in answer.answer


# --------------------------------------------------------------------------- paraphrase


@pytest.mark.parametrize(
    ("question", "note", "gold"),
    [
        ("町会ってどういう組織？誰でも入れる？", "「町会」を「町内会・自治会」として調べました。", "6-Q5"),
        ("協働のメリデメを教えて", "「メリデメ」を「メリット・手間」として調べました。", "6-Q3"),
        ("委託先のことを安い下請けとして扱っていい？", "「委託先」を「委託・相手方」として調べました。", "3-5"),
        # an organisation's shorthand: 町内会連合会 appears only in 第５章（５）'s text
        ("町連との共催って何やった？", "「町連」を「町内会連合会」として調べました。", "5-5"),
    ],
)
def test_shorthand_read_as_the_guidelines_words_is_said(chain, question, note, gold):
    answer = chain.ask(question)
    assert note in answer.notes and gold in answer.cited_sections


@pytest.mark.parametrize(
    ("question", "note", "gold", "says"),
    [
        (
            "ステパトって何してるの？",
            "「ステパト」を「ステーションパトロール隊」として調べました。",
            "5-11",
            "ごみ分別方法の助言などを行っています。",
        ),
        (
            "ｸﾘｻﾎﾟの合意書ではどんなことを決めてるの？",
            "「クリサポ」を「クリーンアップ・サポーター」として調べました。",
            "5-13",
            "担当箇所の指定や、ごみ袋の提供、保険の加入などについて合意書を交わしています。",
        ),
        # inside a longer question, beside the department that names another case too
        (
            "清掃事業課のステパトの取組って、いつから始まったの？",
            "「ステパト」を「ステーションパトロール隊」として調べました。",
            "5-11",
            "平成２５年７月から家庭ごみの有料化が始まったことに伴う取組です。",
        ),
    ],
)
def test_an_abbreviation_is_searched_as_the_term_it_abbreviates(chain, question, note, gold, says):
    """The embedding model and the listed questions know the case's name, not the staff's shorthand:
    alone, ステパト was refused and クリサポ too; by the department, （10）ゼロごみの日 led."""
    answer = chain.ask(question)
    assert note in answer.notes
    assert answer.cited_sections[0] == gold
    assert answer.answer.splitlines()[0].startswith(says) or says in answer.answer.split("■")[0]


@pytest.mark.parametrize(
    ("question", "gold", "says"),
    [
        (
            "組もうとしてる団体に、その事業をやりきる力があるかって考えるべき？",
            "2-1",
            "「相手方にその事業を遂行する能力があるか。」",
        ),
        ("企業と組むと何がいいの", "2-1-1", "企業は、社員ボランティア制度や資金助成などによる市民活動支援"),
        ("後援したイベントが終わったら、主催した団体に感想を聞いたほうがいい？", "4-4", "相手方からの意見や感想を聴き"),
    ],
)
def test_a_partner_named_does_not_draw_the_listed_questions_of_the_section_writing_it(chain, question, gold, says):
    """団体・企業 say who: （５）相手方の固定化を避ける's listed questions (「毎回同じ団体にお願いしてもいいの？」)
    no longer win the `asked` vote by that word, and the section answering what is asked leads."""
    answer = chain.ask(question)
    assert answer.cited_sections[0] == gold
    assert "4-5" not in answer.cited_sections
    assert says in answer.answer.split("■")[0]


@pytest.mark.parametrize(
    ("question", "gold", "says"),
    [
        ("共催のイベントが終わったら、相手と何をやればいい？", "4-4", "相手方からの意見や感想を聴き"),
        ("実行委員会の事業が何年も続くとき、気をつけることは？", "4-3", "随時、互いに進捗状況を確認してください。"),
        # the form asked about, not its scene
        ("実行委員会ってイベントが終わったらなくなるもの？", "3-2", "期間を限定した組織であることが多い形態です。"),
    ],
)
def test_a_form_named_as_the_scene_of_the_works_end_leaves_it_to_chapter_4(chain, question, gold, says):
    """共催 says where the work ends, 終わったら what is asked: （４）結果の評価 answers, not （１）共催's
    definition, which the heading's title boost and its words put first."""
    answer = chain.ask(question)
    assert answer.cited_sections[0] == gold
    assert says in answer.answer.split("■")[0]


@pytest.mark.parametrize(
    "question",
    [
        "自治会とはどう協働すればいい？",  # the guideline's own word
        "団体にお金を出すときの注意点は？",  # a phrase, not shorthand
        "協働事業の振り返りって必要？",  # 振り返 is a stem inside 振り返り
    ],
)
def test_no_note_for_words_the_guideline_uses_or_phrases(chain, question):
    assert not [n for n in chain.ask(question).notes if "として調べました" in n]


@pytest.mark.parametrize(
    ("question", "gold"),
    [
        ("仕事を下請けに出すときの注意は？", "3-5"),
        ("協働のメリデメを教えて", "6-Q3"),
        ("ｼﾝﾎﾟｼﾞｳﾑを団体と一緒に開くときの形態は？", "3-1"),
        ("協働とは何ですか？", "1-2"),
        ("協働ってどういう意味？", "1-2"),  # a heading 「協働とは」 defines 協働 (else 6-Q8 led)
        ("協働の意味を教えて", "1-2"),  # (else 6-Q4 led)
        ("市がお金を出す協働の形は？", "3-6"),
        ("協働の形はいくつある？", "3"),  # 形 for 形態 (without the glossary: 2-1)
        ("協働事業が終わりになったら何をする？", "4-4"),  # 終わり for 終了 (without: 4-2)
        ("イベントをやっても市民が乗り気じゃないときは？", "6-Q7"),  # 乗り気 for 興味 (without: 3-2)
        # time tells 4-3 (while it runs) from 4-2 (what to settle before): 途中 for 進捗, 何年も・長く続 for 長期
        ("途中で予定がずれたら相手とどうする？", "4-3"),  # (without: 6-Q2)
        ("何年も一緒にやる事業で相手とどうやって歩調を合わせる？", "4-3"),  # (without: 2-1-2)
        ("長く続く事業で相手と足並みをそろえるには？", "4-3"),  # (without: 4-5)
        # the same partner every time, in words 4-5 (相手方の固定化) never uses
        ("いつものメンバーとしかやってないけど、それでいい？", "4-5"),  # (without: 6-Q2)
        ("顔なじみのNPOにばっかり頼っちゃうけど、よくない？", "4-5"),  # (without: 5-7)
        ("ずっと同じ町内会とだけ組んでる", "4-5"),  # (without: 5-5)
        ("何年も同じところに頼んでるんだけど", "4-5"),  # (without: 4-6)
        ("お金のこととか期間とか、最初にはっきりさせておくべき？", "4-2"),  # はっきりさせ for 明確 (without: 6-Q2)
        ("自治会の人と話すとき、上から目線になってないか心配", "2-1-1"),  # 上から目線 for 対等 (without: 6-Q5)
        ("うちの課、協働事業のPDCAがちゃんとできてない", "4-4"),  # PDCA for 評価 (without: 4-5)
    ],
)
def test_staff_words_find_the_guidelines_section(chain, question, gold):
    answer = chain.ask(question)
    assert not answer.abstained
    assert answer.cited_sections[0] == gold


def test_departments_are_searchable(chain):
    answer = chain.ask("危機管理室の協働の取組は？")
    assert {"5-3", "5-4"} <= set(answer.cited_sections)


# --------------------------------------------------------------------------- composition


def test_the_answer_leads_with_the_deciding_sentence(chain):
    answer = chain.ask("後援ってお金の支援もあるの？")
    assert answer.answer.splitlines()[0].startswith("財政的な支援等はありません。") or (
        "財政的な支援等はありません。" in answer.answer.split("\n\n")[0]
    )


def test_list_items_come_with_their_lead_in(chain):
    answer = chain.ask("お祭りは協働に向いている分野？")
    assert "・ お祭り" in answer.answer
    assert answer.answer.index("多様な主体の参画が求められる分野") < answer.answer.index("・ お祭り")


def test_a_sentence_opening_with_a_connective_brings_the_one_before(chain, guideline):
    answer = chain.ask("協働は経費削減のためなの？")
    text = guideline.section("6-Q4").text
    for citation in answer.citations:
        if citation.section_id == "6-Q4" and citation.quote.startswith("ですから"):
            pytest.fail("a quote opens with ですから without its previous sentence")
    assert any(c.section_id == "6-Q4" and c.quote in text for c in answer.citations)


@pytest.mark.parametrize(
    ("sentence", "leans"),
    [
        ("また、次の項目に当てはまる場合は、後援名義を使用させることは適切でありません。", True),
        ("ですから、経費の上では市だけで行う場合と変わらないこともあります。", True),
        ("ただし、宗教活動・政治活動を目的とする事業は適しません。", True),
        ("なお、詳細は担当課に確認してください。", True),
        ("そのため、相手方と十分に話し合います。", True),
        ("こうした時代背景にある中、既に様々な市民団体が活動しています。", True),
        ("しかし、経費の削減は結果として生じるものです。", True),
        ("つまり、協働は手法の一つです。", True),
        ("したがって、事前の準備が大切です。", True),
        ("なぜなら、これらの情報がなければ協働は難しいからです。", True),
        ("他にも、災害時の飲料提供の協定があります。", True),
        ("この地区別避難計画は、住民と市とが協力して作成したものです。", True),
        ("これまで、市をはじめとする公共機関は公共サービスの担い手でした。", False),
        ("まずは、できるところから始めましょう。", False),
        ("市民が主催する事業に対して、市が外部的に支援することです。", False),
        ("もし、上手くいかなかった部分があったとしても、改善につなげます。", False),
        ("・ お祭り", False),
    ],
)
def test_which_sentences_lean_on_the_one_before(service, sentence, leans):
    assert leans_on_previous(service.tokenizer.tokenize(sentence)) is leans


READ_ALONE_QUESTIONS = [
    "後援名義を使わせてはいけないのはどんな場合？",
    "協働は経費削減のためなの？",
    "協働で大切なことは？",
    "お祭りの例は？",
    "協働にふさわしくない分野は？",
    "後援と共催の違いは？",
    "情報共有はなぜ必要？",
    "協働の時代背景は？",
    "危機管理室の協働の取組は？",
    "提案に沿えないときは？",
]


@pytest.mark.parametrize("question", READ_ALONE_QUESTIONS)
def test_every_quote_can_be_read_where_it_stands(chain, question):
    """A quoted sentence that leans on the one before it (「また、」「ただし、」「そして、」) comes with it,
    and a list item with its lead-in, in the same section."""
    answer = chain.ask(question)
    assert not answer.abstained
    sentences = chain.extractive.sentences
    for key in dict.fromkeys((c.doc_id, c.section_id) for c in answer.citations):
        quoted = [(c.start, c.end) for c in answer.citations if (c.doc_id, c.section_id) == key]
        spans = sentences[key].spans
        inside = [any(a <= s and e <= b for a, b in quoted) for s, e in spans]
        text = chain.extractive.section(*key).text
        for i, (s, e) in enumerate(spans):
            if not inside[i]:
                continue
            if sentences[key].leans[i] and i > 0:
                assert inside[i - 1], f"{text[s:e]!r} without {text[slice(*spans[i - 1])]!r}"
            if text[s:e].startswith("・"):  # the lead-in: the last sentence before it on a line of its own
                j = max(k for k in range(i) if not text[text.rfind("\n", 0, spans[k][0]) + 1 :].startswith("・"))
                assert inside[j], f"{text[s:e]!r} without its lead-in {text[slice(*spans[j])]!r}"


def test_a_which_department_question_names_the_department(chain):
    answer = chain.ask("DV防止のリーフレットを作ったのはどの課？")
    assert answer.answer.startswith("担当は男女平等参画課です")


def test_a_which_department_question_is_answered_from_a_section_naming_one(chain):
    # retrieval ties Q&A 8 (the fields of 協働, no department) with 第５章（２）国際交流に係る取組
    answer = chain.ask("国際交流関係の協働事業を担当しているのはどの課？")
    assert answer.cited_sections[0] == "5-2"
    assert answer.answer.startswith("担当は市民自治推進課です")
    # the rule moves a section with a department up from second or third place only, and never past one
    qa8, case, other = (chain.service.retriever.get(("kyodo-guideline", s)) for s in ("6-Q8", "5-2", "5-3"))
    assert [h.section_id for h in chain.department_first([qa8, case, other])] == ["5-2", "6-Q8", "5-3"]
    assert [h.section_id for h in chain.department_first([other, qa8, case])] == ["5-3", "6-Q8", "5-2"]
    assert chain.department_first([qa8, qa8, qa8, case])[0] is qa8


def test_a_which_department_question_cites_the_one_case_asked_about(chain):
    # 第５章（４）災害に関する協定 is 危機管理室's too, but says nothing of evacuation plans
    answer = chain.ask("地区ごとの避難計画を作っているのは何課？")
    assert answer.cited_sections == ["5-3"]
    assert answer.answer.startswith("担当は危機管理室です")


def test_an_action_the_asker_describes_brings_no_case_of_chapter_5(chain):
    answer = chain.ask("毎年同じ団体とばかり組んでいるけど、何か問題ある？")
    assert answer.cited_sections == ["4-5"]  # 相手方の固定化を避ける, without a department's case


def test_citations_are_structured_quote_spans(chain, guideline):
    answer = chain.ask("委託と補助の違いは？")
    for citation in answer.citations:
        text = guideline.section(citation.section_id).text
        assert text[citation.start : citation.end] == citation.quote
    assert {"doc_id", "section_id", "title", "quote", "start", "end"} <= set(answer.to_json()["citations"][0])


def test_suggestions_share_a_word_with_the_question(chain):
    answer = chain.ask("有給休暇の残りの日数はどこで確認できますか？")
    assert answer.abstained
    assert all(s.section_id not in ("5-11", "5-10") for s in answer.suggestions)


# --------------------------------------------------------------------------- analysis


@pytest.mark.parametrize(
    ("question", "kind", "sides"),
    [
        ("委託と補助の違いは？", "comparison", ["委託", "補助"]),
        ("共催と後援って何が違うの？", "comparison", ["共催", "後援"]),
        ("後援とはどう違うの？", "comparison", ["後援"]),
        ("委託と補助、それぞれの注意点は？", "multi-part", ["委託", "補助"]),
        ("後援の場合と共催の場合で、市の経費負担はどう変わる？", "comparison", ["後援", "共催"]),
        ("共催って何で後援とどう違う？", "comparison", ["共催", "後援"]),
        ("協定・事業協力それぞれの特徴を教えて", "multi-part", ["協定", "事業協力"]),
        ("市民が主体でやる事業を、市が脇から継続的に手伝うのはどの形態？", "which", []),
        ("後援の申請って何日前までに出せばいい？", "detail", []),
        ("地区ごとの避難計画づくりを所管している部署は？", "which", []),
        ("協働とは何ですか？", "definition", []),
        ("協働ってどういう意味？", "definition", []),
        ("後援名義を使わせてもいい？", "yes-no", []),
        # 「…だっけ？」 asks whether, unless it asks what: 「…ってなんだっけ？」 asks what the thing is
        ("後援ってお金も出るんだっけ？", "yes-no", []),
        ("後援ってなんだっけ？", "definition", []),
        # 「…で大丈夫？」 asks whether, as 「…でいい？」 does
        ("委託先に丸投げしちゃって大丈夫？", "yes-no", []),
        # 「…NG？」「…アウト？」「…含む？」「…対象？」 ask whether too; 「何が対象？」 asks what
        ("宗教系のイベントに後援名義ってNG？", "yes-no", []),
        ("政治系はアウト？", "yes-no", []),
        ("国際交流は協働の分野に含む？", "yes-no", []),
        ("飲み会は後援の対象？", "yes-no", []),
        ("何が後援の対象？", "other", []),
        # a reading proposed to be confirmed asks whether; 「どういうこと？」 asks what
        ("それって安く外注するってこと？", "yes-no", []),
        ("お金を出したらあとは相手の自由ってこと？", "yes-no", []),
        ("それってどういうこと？", "definition", []),
        # the とは of 「…ことは」「…あとは」 defines nothing
        ("補助金さえ出せば、あとは団体に全部お任せでいいんだっけ？", "yes-no", []),
        ("採用できなかった提案について、何かやっておくことはある？", "yes-no", []),
        ("どうやって協働を進めればいい？", "how-to", []),
    ],
)
def test_question_analysis(question, kind, sides):
    analysis = analyze(question)
    assert analysis.kind == kind
    assert analysis.sides[: len(sides)] == sides


@pytest.mark.parametrize(
    ("question", "defined"),
    [
        ("協働ってどういう意味？", "協働"),
        ("協働の定義を教えて", "協働"),
        ("後援ってつまりどういうもの？", "後援"),
        # は？ asks about the clause it ends (最初の一歩), not about the words before って in an earlier one
        ("協働って初めてなんだけど、最初の一歩は？", ""),
        # the って of にとって is no topic asked to be defined: 「何がうれしいの？」 asks a merit
        ("協働って市民にとって何がうれしいの？", ""),
        ("協働って何？", "協働"),
    ],
)
def test_what_a_definition_question_defines(question, defined):
    assert analyze(question).defined == defined


@pytest.mark.parametrize(
    ("question", "kind", "named"),
    [
        ("後援の申請って何日前までに出せばいい？", "期限・期間", "何日前"),
        ("委託料の積算方法を教えて", "手続き", "委託料の積算方法"),
        ("補助金の補助率は何パーセントが上限？", "割合", "補助率"),
        ("協議会の委員の任期は？", "期限・期間", "任期"),
        ("クリーンアップサポーターの申込書はどこでもらえる？", "様式・書式", "申込書"),
        ("後援名義の承認は誰が決裁するの？", "決裁・承認", "決裁"),
        ("後援の承認って誰がするの？", "決裁・承認", "承認"),
        # who signs is no decision a consultation settles (「協議をして定め」 states who decides, not who signs)
        ("協定って誰が署名するの？", "署名・押印", "署名"),
        # how much of a noun: its value is asked, named with the asker's words
        ("期限ってどのくらいにしとけばいい？", "期限・期間", "期限がどのくらいか"),
        ("委託料ってどれくらいが相場なの？", "金額", "委託料がどれくらいか"),
        ("リーダーに認定されるには何単位とればいいの？", "数", "何単位"),
        # no lexicon word: the compound's last word makes it a measure, the question asks about it
        ("まちづくりトークに来てもらう講師の講師料は？", "金額", "講師料"),
        ("レジ袋削減に協力しているスーパーの店舗数は？", "数", "店舗数"),
        ("ゼロごみの日の実施日は？", "期限・期間", "実施日"),
        ("子ども会交流会の開催時期は？", "時期", "開催時期"),
        # 何 with any counter asks for a number
        ("ごみのパトロール隊って何歳から入れる？", "具体的な数値", "何歳"),
        ("チラシは何部刷ればいい？", "具体的な数値", "何部"),
        # a counter of a rule's provisions names the provision, with the rule it is of
        ("要綱の第何条に書いてある？", "具体的な数値", "要綱の条文（第何条）"),
        ("条例は全部で何条ある？", "具体的な数値", "条文（何条）"),
        # a counter UniDic files as a common noun
        ("加入しているのは何世帯？", "具体的な数値", "何世帯"),
        ("協働の形態って何種類ある？", "具体的な数値", "何種類"),
        # an interrogative right after a noun asks that noun's value, whatever the interrogative's kind
        ("事業の見直しの周期は何年？", "頻度・周期", "見直しの周期"),
        # a document noun in a clause of its own says where; the amount is what is asked
        ("協定書に貼る印紙はいくら？", "金額", "いくら"),
        ("協定書の印紙税っていくら？", "金額", "いくら"),
        # an interrogative typed without its particle is no part of the detail's name (MeCab joins it)
        ("補助金の上限額いくら？", "金額", "補助金の上限額（金額）"),
        ("秋のゼロごみの日は何月何日？", "期限・期間", "何月何日"),
        # one date, not a day and a number of months (「期限・期間（何日）・具体的な数値（何月）」 before)
        ("ゼロごみの日って今年は何月何日にやるの？", "期限・期間", "何月何日"),
        # a document that says how to do it, the steps, a target set beforehand
        ("実行委員会を立ち上げるときのマニュアルってある？", "様式・書式", "マニュアル"),
        ("委託先を選ぶときの手順は決まってる？", "手続き", "手順"),
        ("協働事業の成果のKPIって決めておくもの？", "指標・目標値", "KPI"),
        # a time of day is no deadline
        ("会議室は何時から使える？", "時刻・時間帯", "何時から"),
        # of two nouns of one kind, the one said of the other is asked
        ("クリーンアップサポーターの合意書って様式決まってる？", "様式・書式", "合意書の様式"),
        # where to take a thing, asked by a verb, is named by the place's noun, not 「手続き（どこに出）」
        ("協働事業の提案ってどこに出せばいい？", "手続き", "提案の提出先"),
        ("補助金はどこに申請すればいい？", "手続き", "補助金の申込先"),
    ],
)
def test_asked_details_are_named_in_the_questions_words(question, kind, named):
    details = [d for d in analyze(question).details if d.asked]
    assert len(details) == 1 and details[0].kind == kind and named in details[0].name


@pytest.mark.parametrize(
    "question",
    [
        "協働って短期間で成果が出るもの？",
        "何年もかかる協働事業で気を付けることは？",
        "後援とは？",
        "委託と補助の違いは？",
        "団体の活動費を補助金で出してもいいの？",  # the measure is the means here, not what is asked
        "何度も相談しているのに話が進まない",  # 何度も is "again and again", no number asked
        "集団回収を推進しているのは何課？",  # which department, not how many
        "協働で事業をやる前に、何準備すればいい？",  # 何 + a verbal noun: what, not how many
        "何年か続けて一緒に事業をやっていく形ってある？",  # 何年か is "some years", no number asked
        "市は手伝い役として何年か関わる予定。これって何ていう形態？",
        # a document named as what to go by asks about a way of working, not for the document
        "協働ってマニュアル通りにやればいいの？",
        "様式どおりで大丈夫？",
    ],
)
def test_no_detail_is_asked(question):
    assert analyze(question).details == []


def test_a_detail_is_stated_by_a_value_or_by_its_own_word():
    deadline = analyze("後援の申請って何日前までに出せばいい？").details[0]
    assert deadline.supplied_by("申請は３０日前までに提出してください。")
    assert not deadline.supplied_by("期限や使途の制限を設けるなど")  # the word alone is no number of days
    agreement = analyze("サポーター制度の合意書には何を書くの？").details[0]
    # asked of サポーター制度, stated by a section that names it, in its heading here
    title = "（13）トマコマイクリーンアップ・サポーター制度による施設管理"
    assert agreement.supplied_by("保険の加入などについて合意書を交わしています。", title)
    assert not agreement.supplied_by("保険の加入などについて合意書を交わしています。")
    application = analyze("補助金の申請の期限は？").details[0]
    assert not application.supplied_by("財政支援を行う場合は、期限や使途の制限を設けるなど", "（６）補助・助成")
    assert application.supplied_by("申請の期限は事業開始の前日までとします。")
    assert not analyze("協定書のひな形ってどこにある？").details[0].supplied_by("協定を締結しています。")
    # asked how long (「期限ってどのくらい？」), the word 期限 alone does not state it: a length does
    length = analyze("期限ってどのくらいにしとけばいい？").details[0]
    assert not length.supplied_by("期限や使途の制限を設けるなど")
    assert length.supplied_by("交付は３年以内とします。")
    age = analyze("パトロール隊は何歳から？").details[0]
    assert age.supplied_by("１８歳以上の方") and age.supplied_by("十八歳から")
    assert not age.supplied_by("平成２５年７月から始まりました。")  # a date counts nothing


@pytest.mark.parametrize(
    ("question", "asked"), [("協定の準備って何日かかる？", "何日"), ("登録できるのは何年か教えて", "何年")]
)
def test_a_number_asked_with_ka_is_still_asked(question, asked):
    assert any(asked in d.name for d in analyze(question).details)


def test_a_length_given_in_words_asked_concretely_is_stated_only_by_a_number():
    """「一定期間」 is what the guideline says; asked how long it is, only a length in numbers states it."""
    [length] = analyze("事業協力の一定期間ってどのくらいの長さなの？").details
    assert length.name == "事業協力の一定期間の具体的な長さ" and length.needs_value
    assert not length.supplied_by("互いの特性を活かし、一定期間、継続的な関係で協力して事業を行う形態です。")
    assert length.supplied_by("協定の期間は３年以内とします。")
    # 長期 asked, not the 事業期間 4-3 names
    assert [d.name for d in analyze("事業期間が長期ってどれくらいから？").details] == ["長期の具体的な長さ"]
    assert not analyze("一定期間ごとに見直すって何？").details  # what it means, not how long


def test_the_deadline_of_an_act_the_guideline_never_writes_is_not_stated_by_another_deadline():
    [deadline] = analyze("補助金 申請期限").details
    assert not deadline.supplied_by("財政支援を行う場合は、期限や使途の制限を設けるなど")
    assert deadline.supplied_by("申請期限は事業開始の３０日前です。")
    assert analyze("補助の期限は？").details[0].supplied_by("補助の期限や使途の制限を設ける")  # a bare 期限, as before


def test_a_counter_or_a_flow_is_asked_only_as_what_the_question_closes_on():
    assert not analyze("昨日窓口で住民の方に、説明が分かりにくいって言われちゃった").details
    assert not analyze("そもそもなんで市民と一緒にやる流れになったの？").details
    assert [d.kind for d in analyze("後援名義の申請窓口ってどこ？").details] == ["窓口・連絡先"]
    assert [d.kind for d in analyze("夏祭りの後援の申請、どこの窓口に出せばいいか教えて").details] == ["窓口・連絡先"]
    assert [d.kind for d in analyze("委託するときの事務の流れってどうなってる？").details] == ["手続き"]
    # of an act the guideline never writes, one procedure is named: the act's
    named = [d.name for d in analyze("申請の流れは？").details if d.asked]
    assert named == ["申請の手続き"]


def test_a_sign_off_is_not_stated_by_what_the_parties_settle():
    [sign_off] = analyze("協定締結の決裁って誰まで回すの？").details
    assert not sign_off.supplied_by("それぞれの役割など協議をして定め、協力し合う形態です。")
    assert sign_off.supplied_by("協定の締結は市長の決裁とします。")
    [who] = analyze("協定の内容って誰が決めるの？").details
    assert who.supplied_by("それぞれの役割など協議をして定め、協力し合う形態です。")
    [whose] = analyze("後援名義を出すのって誰の承認がいるの？").details
    assert whose.name == "決裁・承認（誰の承認）" and not whose.supplied_by("判断する必要があります。")


def test_a_frequency_asked_by_its_noun_is_stated_in_words_and_asked_by_an_interrogative_only_by_a_number():
    often = analyze("途中経過の確認ってどのくらいの頻度ですればいい？").details[0]
    assert often.supplied_by("事業期間が長期に及ぶ場合は、随時、互いに進捗状況を確認してください。")
    assert not often.supplied_by("進捗等の状況に応じて、相手方と相談しながら柔軟に対応してください。")
    assert not often.supplied_by("…一定期間ごとに見直しを行うなど、多様な主体と取り組むように努めてください。")
    interval = analyze("見直しって何年おきにやればいい？").details[0]
    assert not interval.supplied_by("一定期間ごとに見直しを行うなど")
    assert interval.supplied_by("３年ごとに見直しを行います。")


@pytest.mark.parametrize(
    ("question", "text", "states"),
    [
        ("登録団体は何団体？", "など 200 を超える団体があります。", True),
        ("町内会は何団体くらい？", "市内にある８０余りの団体", True),
        ("講座は何人くらいで開く？", "10〜20人程度で開きます。", True),
        ("清掃には何人集まる？", "春と秋の年２回、地域清掃を実施しています。", False),  # times, not people
        ("町内会はいくつ参加した？", "一人ひとりが防災意識を高め", False),  # everyone, not a number
        ("パトロール隊は何歳から？", "十八歳から参加できます。", True),
        ("加入しているのは何世帯？", "約三千世帯が加入しています。", True),
        ("評価の観点は何種類？", "２種類の評価を行います。", True),
        ("加入しているのは何世帯？", "平成２５年７月から始まりました。", False),  # a date counts nothing
        ("評価の観点は何種類？", "第３章（２）を参照", False),
        ("加入しているのは何世帯？", "２００を超える団体があります。", False),  # a count of something else
    ],
)
def test_a_count_is_stated_by_a_number_of_its_counter_in_any_form(question, text, states):
    (count,) = analyze(question).details
    assert count.supplied_by(text) is states


def test_a_count_asked_with_any_counter_is_answered_by_a_number_in_another_form(chain):
    answer = chain.ask("資源回収の登録団体はだいたい何団体？")
    assert not answer.partial and "5-8" in answer.cited_sections
    assert "200 を超える団体" in answer.answer and "記載はありません" not in answer.answer


@pytest.mark.parametrize(
    ("question", "named"),
    [
        ("委託料の積算方法を教えて", "積算方法"),
        ("協議会の委員の任期は？", "任期"),
        ("補助金の補助率は何パーセントが上限？", "補助率"),
    ],
)
def test_a_missing_detail_is_named_in_the_questions_words(chain, question, named):
    answer = chain.ask(question)
    first = answer.answer.splitlines()[0]
    assert answer.partial and named in first and first.endswith("関連する箇所には次のように書かれています。")


def test_an_unrelated_question_after_an_on_topic_one_is_refused(chain):
    assert chain.ask("今日の天気は？", turn(chain, "協働とは？")).abstained


def test_sides_are_found_by_the_headings_that_name_them(chain):
    answer = chain.ask("地区別避難計画と災害協定、どっちも危機管理室の担当？")
    assert {"5-3", "5-4"} <= set(answer.cited_sections)


def test_a_follow_up_asking_for_more_of_the_same_leans_on_the_previous_turn(chain):
    answer = chain.ask("具体例は？", turn(chain, "協定とは？"))
    assert not answer.abstained and answer.cited_sections[0] == "3-3"
    assert "災害時の物資提供" in answer.answer


def test_a_follow_up_asking_for_a_missing_detail_says_it_is_missing(chain):
    answer = chain.ask("申請の締め切りは？", turn(chain, "後援とは？"))
    assert answer.partial and "3-7" in answer.cited_sections
    assert answer.answer.startswith("ガイドラインには申請の締め切り")


@pytest.mark.parametrize(
    ("first", "question", "section", "quoted"),
    [
        ("委託するときの注意は？", "役所っぽい言葉で説明しないほうがいい？", "2-2", "お役所言葉"),
        ("事業協力ってどういう形態？", "職員が自分で地域の活動に参加してみるのはあり？", "6-Q5", "現場に出て行く"),
    ],
)
def test_a_new_topic_in_plain_words_leaves_the_previous_one(chain, first, question, section, quoted):
    """No heading word, no 「ところで」: a question about something the previous section never
    mentions is searched alone (the chat always sends the previous turn)."""
    history = turn(chain, first)
    answer = chain.ask(question, history)
    assert answer.cited_sections[0] == section
    assert not {c["section_id"] for c in history[1]["citations"]} & set(answer.cited_sections)
    assert quoted in answer.answer and answer.resolved_query == question


def test_a_terse_follow_up_without_a_pointer_leans_on_the_previous_turn(chain):
    answer = chain.ask("責任は誰が持つの？", turn(chain, "委託するときに気をつけることは？"))
    assert "委託" in answer.resolved_query  # searched with the previous turn
    assert answer.cited_sections[0] == "3-5"
    assert "最終的な責任については、市にあります" in answer.answer


def test_an_out_of_scope_question_in_the_guidelines_words_after_an_on_topic_one_is_refused(chain):
    answer = chain.ask("市役所の職員採用試験の日程は？", turn(chain, "補助金で支援するときの注意は？"))
    assert answer.abstained


def test_an_out_of_scope_follow_up_about_the_previous_thing_is_refused_with_the_conversations_section(chain):
    """「それで…払える？」 points back, but what it asks (a staff party) is judged alone first: refused,
    with the section being talked about among the nearest ones."""
    answer = chain.ask("それで職員の懇親会の費用も払える？", turn(chain, "補助金ってどういうもの？"))
    assert answer.abstained and answer.citations == []
    assert "3-6" in [s.section_id for s in answer.suggestions]


def test_a_follow_up_asking_a_number_the_section_lacks_says_so_from_the_conversations_section(chain):
    answer = chain.ask("何日前までに申し込めばいい？", turn(chain, "後援ってどういうもの？"))
    assert answer.partial and answer.cited_sections[0] == "3-7"
    assert answer.answer.startswith("ガイドラインには") and "記載はありません" in answer.answer.splitlines()[0]


def test_a_follow_up_asking_how_long_a_period_the_section_only_names_says_the_length_is_missing(chain):
    """3-6 says to set a 期限 but not how long: asked as a follow-up, the length is named missing."""
    answer = chain.ask("期限ってどのくらいにしとけばいい？", turn(chain, "補助金で支援するときに気をつけることは？"))
    first = answer.answer.splitlines()[0]
    assert answer.partial and answer.cited_sections[0] == "3-6"
    assert first.startswith("ガイドラインには期限がどのくらいか") and "記載はありません" in first


def test_a_follow_up_asking_only_a_value_leans_on_the_conversation_like_a_pointer(chain):
    """「返事って何日くらいでもらえる？」 after 後援: its one word the guideline lacks (返事) is no topic of
    its own; the number of days is named missing from 後援's section, not refused. 「給料は何日に出る？」
    names the city's other business and stays refused."""
    history = turn(chain, "後援ってなに？")
    answer = chain.ask("返事って何日くらいでもらえる？", history)
    assert not answer.abstained and answer.partial and answer.cited_sections[0] == "3-7"
    assert answer.answer.startswith("ガイドラインには期限・期間（何日）についての記載はありません。")
    assert chain.ask("給料は何日に出る？", history).abstained


def test_who_signs_is_not_answered_by_a_consultation_settling_roles(chain):
    answer = chain.ask("協定って誰が署名するの？")
    assert answer.partial and answer.cited_sections[0] == "3-3"
    assert answer.answer.startswith("ガイドラインには署名")


def test_a_yes_no_asked_as_a_recollection_leads_with_the_sentence_that_decides_it(chain):
    """「…んだっけ？」 asks whether: 「財政的な支援等はありません。」 leads, not the list's lead-in
    (「次の項目に当てはまる場合は、…適切でありません。」), which decides only what its items name."""
    answer = chain.ask("後援ってお金も出るんだっけ？")
    assert answer.cited_sections[0] == "3-7"
    assert answer.answer.startswith("財政的な支援等はありません。")


def test_a_yes_no_naming_another_form_leads_with_the_sentence_that_speaks_of_it(chain):
    """「後援もらったら市から補助金でる？」 names 補助 (the glossary's reading of 補助金): 後援's
    「財政的な支援等はありません。」, which shares 財政 and 支援 with what 補助 is (「…財政支援する形態です。」)
    and no word with the question, leads; not 後援's definition nor who decides on its name."""
    answer = chain.ask("後援もらったら市から補助金でる？")
    assert answer.cited_sections[0] == "3-7"
    assert answer.answer.startswith("財政的な支援等はありません。［")


def test_a_yes_no_asked_with_daijoubu_leads_with_the_sentence_that_decides_it(chain):
    """「…で大丈夫？」 asks whether: 委託's 「相手方は、安上がりの下請けではありません。」 leads."""
    answer = chain.ask("委託先に丸投げしちゃって大丈夫？")
    assert answer.cited_sections[0] == "3-5"
    assert answer.answer.startswith("相手方は、安上がりの下請けではありません。［")


@pytest.mark.parametrize("question", ["業務をまる投げしてもいい？", "業務を丸なげしてもいい？"])
def test_marunage_written_in_kana_is_read_as_the_glossary_reads_it(chain, question):
    """まる投げ and 丸なげ are 丸投げ: answered from （５）委託, whose 「…下請けではありません。」 decides it."""
    answer = chain.ask(question)
    assert answer.cited_sections[0] == "3-5"
    assert "下請けではありません" in lead(answer)


def test_a_partner_named_says_who_not_what_in_the_dense_ranking_too(chain):
    """「ＮＰＯに…全部投げ…」 asks whether work may be handed over whole: answered from （５）委託, not from
    the case of an ＮＰＯ (第５章（７）) that the word ＮＰＯ drew the question's vector to."""
    answer = chain.ask("ＮＰＯに仕事を全部投げちゃってもいいのかな")
    assert answer.cited_sections[0] == "3-5"
    assert "全部又は一部を委託する" in answer.answer


@pytest.mark.parametrize(
    ("question", "gold", "says"),
    [
        ("企業ってどんな役割があるの？", "2-1-1", "企業は、社員ボランティア制度や資金助成などによる市民活動支援"),
        # a partner named as who the work is done with says who, not what: 4-1 on sharing roles
        ("企業と協働するとき、役割分担はどう決めればいい？", "4-1", "双方の役割を明確にし"),
    ],
)
def test_a_partner_that_is_the_questions_topic_weighs_as_what_is_asked(chain, question, gold, says):
    """「企業って…」 asks what the guideline says of 企業 (2-1-1's 「企業は、…」), not 4-1's 役割の分担, which its
    heading word 役割 drew while 企業 counted once as who the question is about."""
    answer = chain.ask(question)
    assert answer.cited_sections[0] == gold
    assert says in answer.answer.split("■")[0]


def test_meddling_in_a_partners_way_is_read_as_their_initiative(chain):
    """口をはさむ is the other side of 「相手方の主体性を尊重することが大切です。」 (the glossary reads it as
    主体性): answered from 第２章 １（３）, not from （２）'s 「市の理論を押し付ける…」."""
    answer = chain.ask("団体のやり方に市が口をはさみすぎるのはよくない？")
    assert answer.cited_sections[0] == "2-1-3"
    assert answer.answer.startswith("協働に当たっては、相手方の主体性を尊重することが大切です。")


def lead(answer) -> str:
    """What an answer opens with: its text before the first ■ block."""
    return answer.answer.split("\n\n")[0]


def test_a_follow_up_picking_one_item_of_the_previous_list_leads_with_that_item(chain):
    """「そのうち宗教に関係するのはどれ？」 after the list of cases where 後援名義 is refused: the item it
    names, with the list's lead-in, not the whole list again (nor its first item)."""
    answer = chain.ask("そのうち宗教に関係するのはどれ？", turn(chain, "後援名義を使わせちゃダメなのはどんな場合？"))
    assert answer.cited_sections == ["3-7"]
    assert "適切でありません。\n・ 宗教的又は政治的色彩を有している。［" in lead(answer)
    assert "営利" not in answer.answer and "公序良俗" not in answer.answer


def test_a_yes_no_follow_up_leads_with_the_item_that_decides_it(chain):
    """「それって宗教団体の行事でもいいの？」 after 後援: not the previous answer again, but the item that
    settles it, after its lead-in (「…適切でありません。」)."""
    history = turn(chain, "後援って何？")
    answer = chain.ask("それって宗教団体の行事でもいいの？", history)
    assert answer.cited_sections[0] == "3-7"
    assert "適切でありません。\n・ 宗教的又は政治的色彩を有している。［" in lead(answer)
    assert lead(answer) != history[1]["content"].split("\n\n")[0]


@pytest.mark.parametrize(
    ("question", "section", "decides"),
    [
        # 「…NG？」「…アウト？」 ask whether; 宗教系 and 政治系 name the item of 宗教的・政治的
        ("宗教系のイベントに後援名義ってNG？", "3-7", "適切でありません。\n・ 宗教的又は政治的色彩を有している。［"),
        (
            "政治系の団体の講演会に後援名義出すのはアウト？",
            "3-7",
            "適切でありません。\n・ 宗教的又は政治的色彩を有している。［",
        ),
        # 「…含む？」: the item under its group's heading, not the sentence giving the fields in general
        ("国際交流は協働の分野に含む？", "6-Q8", "多様な主体の参画が求められる分野\n・ 国際交流［"),
        # 「…対象？」: the item sharing most of the question's words, not every 「…支援」
        ("子育て支援って協働の対象？", "6-Q8", "当事者性を重視したきめ細かい対応が求められる分野\n・ 子育て支援［"),
    ],
)
def test_a_yes_no_question_about_one_item_of_a_list_leads_with_that_item(chain, question, section, decides):
    answer = chain.ask(question)
    assert answer.cited_sections[0] == section
    assert decides in lead(answer)
    assert lead(answer).count("・") == 1


@pytest.mark.parametrize(
    "question",
    [
        # 宗教 of 宗教法人, and 神社 read as 宗教 by the glossary, are what the exclusion speaks of, not お祭り
        "宗教法人がやるお祭りに協働事業として関われる？",
        "神社のお祭りを協働でやってもいい？",
        "政治団体がやってる花壇作りの活動と協働してもいい？",
    ],
)
def test_a_yes_no_question_whose_case_an_exclusion_decides_leads_with_the_exclusion(chain, question):
    """The item naming the case (「・ お祭り」) would say yes; 「ただし、宗教活動・政治活動を目的とする事業…は、
    協働の分野として適しません。」 decides what the question says of it, and leads."""
    answer = chain.ask(question)
    assert answer.cited_sections[0] == "6-Q8"
    assert "宗教活動・政治活動を目的とする事業" in lead(answer)
    assert "・" not in lead(answer).replace("宗教活動・政治活動", "")


def test_a_yes_no_question_a_sentence_outside_the_list_names_better_is_not_led_by_an_item(chain):
    """「市の基本計画づくりも協働の対象になる？」: 「…市の基本的な計画や事業の策定など…も協働の分野として考えられます。」
    uses 基本 and 計画; 「・ 花壇作りなどの美化活動」 only 作り: the sentence leads, not the item."""
    answer = chain.ask("市の基本計画づくりも協働の対象になる？")
    assert answer.cited_sections[0] == "6-Q8"
    assert "市の基本的な計画や事業の策定など市民との合意形成が必要な分野" in lead(answer)
    assert "花壇" not in lead(answer)


@pytest.mark.parametrize("question", ["飲み会は後援の対象？", "有料のセミナーに後援名義ってNG？"])
def test_a_yes_no_question_about_a_thing_no_item_names_says_so_and_shows_the_list(chain, question):
    """Not a yes, nor a no: the list does not name it, and the list follows (the 対象 a question closes on is
    not 「特定の市民のみを対象としている。」's)."""
    answer = chain.ask(question)
    assert answer.cited_sections[0] == "3-7"
    assert lead(answer).startswith(NOT_LISTED + "\n")
    assert "・ 営利や私的な利益を目的としている。" in lead(answer)
    assert "・ 社会的な非難を受けるおそれがある。" in lead(answer)


@pytest.mark.parametrize(
    "question",
    [
        # asks for the list itself: every word it names is the section's
        "後援名義を断らないといけないことってある？",
    ],
)
def test_a_yes_no_question_not_asking_if_a_thing_is_listed_is_not_said_to_be_unlisted(chain, question):
    answer = chain.ask(question)
    assert answer.cited_sections[0] == "3-7"
    assert NOT_LISTED not in answer.answer
    assert "・ 公序良俗に反する。" in lead(answer)


@pytest.mark.parametrize(
    ("question", "item", "other"),
    [
        ("儲け目的のイベントは後援の対象？", "・ 営利や私的な利益を目的としている。", "・ 公序良俗に反する。"),
        ("営業目的のイベントに後援名義ってNG？", "・ 営利や私的な利益を目的としている。", "・ 公序良俗に反する。"),
        ("お寺の行事に後援名義ってNG？", "・ 宗教的又は政治的色彩を有している。", "・ 公序良俗に反する。"),
        # asks whether it may be done: the item the glossary reads お寺 as decides it all the same
        ("お寺のお祭りに後援出していい？", "・ 宗教的又は政治的色彩を有している。", "・ 公序良俗に反する。"),
        # an election's gathering is political: 選挙 reads as 政治
        ("選挙の集会に後援名義ってNG？", "・ 宗教的又は政治的色彩を有している。", "・ 公序良俗に反する。"),
        # 支援 names four items; お年寄り, read as 高齢者, names one of them
        ("お年寄りの支援も協働の対象？", "・ 高齢者支援", "・ 子育て支援"),
    ],
)
def test_a_thing_a_list_names_in_other_words_leads_with_that_item(chain, question, item, other):
    """The glossary reads the staff word as the item's (儲け → 営利, お寺 → 宗教, お年寄り → 高齢者): the list
    names it after all, so the item leads under its lead-in and no 「…名前では挙げていません。」 is said."""
    answer = chain.ask(question)
    assert NOT_LISTED not in answer.answer
    assert item in lead(answer) and other not in lead(answer)


def test_a_case_described_by_a_glossary_word_after_the_list_asks_about_that_list(chain):
    """「お寺が主催するお祭りだったら？」 after 後援's list: お寺 reads as 宗教, a word of an item, not a heading's
    subject, so the follow-up is a case of what was just asked (not 第６章 Ｑ８'s 「・ お祭り」)."""
    answer = chain.ask("お寺が主催するお祭りだったら？", turn(chain, "後援の判断基準を教えて"))
    assert answer.cited_sections[0] == "3-7"
    assert "宗教的又は政治的色彩" in answer.answer


@pytest.mark.parametrize(
    ("first", "question", "item"),
    [
        ("後援ってなに？", "会員だけ参加できるイベントは？", "・ 特定の市民のみを対象としている。"),
        ("後援ってなに？", "町内会の会員だけが参加する集まりは？", "・ 特定の市民のみを対象としている。"),
        (
            "後援をお願いされたけど、どういうイベントなら名義を出していいの？",
            "じゃあ営利企業のイベントは？",
            "・ 営利や私的な利益を目的としている。",
        ),
    ],
)
def test_a_thing_only_described_after_a_list_leads_with_the_item_it_meets(chain, first, question, item):
    """A follow-up that only describes a thing (「会員だけ参加できるイベントは？」) after 後援, answered alone by
    an item of 後援's list, is a case of that list: 3-7 answers (not 第３章（２）'s 「イベントの開催」) and the
    item it meets leads under the list's lead-in, the other items left out."""
    answer = chain.ask(question, turn(chain, first))
    assert answer.cited_sections[0] == "3-7"
    assert item in lead(answer)
    assert "・ 公序良俗に反する。" not in lead(answer)


@pytest.mark.parametrize("question", ["どんな相手と結んでるの？", "どこと結んでるの？"])
def test_a_follow_up_asking_only_with_whom_asks_it_of_what_was_just_discussed(chain, question):
    """「どんな相手と結んでるの？」 after 協定 names no thing but a party: it asks who the 協定 are with (第３章
    （３）'s 「…企業との協定、…スーパーとの協定…」), not 第６章 Ｑ２'s 相手方 in general."""
    answer = chain.ask(question, turn(chain, "協定ってどんな形？"))
    assert answer.cited_sections[0] == "3-3"
    assert "企業との協定" in lead(answer)


def test_a_described_request_answered_by_a_lists_lead_in_gets_the_whole_list(chain):
    """「気をつけることは？」 after 情報共有 asks what the list says, not which item a case meets."""
    answer = chain.ask("気をつけることは？", turn(chain, "情報共有ってなんで必要なの？"))
    assert answer.cited_sections[0] == "2-2"
    assert "・ お役所言葉や専門的な用語は、一般的な言葉に変換してください。" in lead(answer)
    assert "・ 市民が発信する情報を把握するように努めてください。" in lead(answer)


def test_a_staff_word_read_as_the_last_sections_words_keeps_the_conversation(chain):
    """販促 reads as 営利, a word of 後援's list just shown: 「それって企業の販促イベントでもいける？」 names no
    topic of its own, so it is asked of 後援 (not searched alone, 第３章（２）'s 「イベントの開催」)."""
    answer = chain.ask("それって企業の販促イベントでもいける？", turn(chain, "後援ってどんなときに出すもの？"))
    assert answer.cited_sections[0] == "3-7"
    assert "・ 営利や私的な利益を目的としている。" in lead(answer)


@pytest.mark.parametrize("first", [None, "協働のパートナーにはどんな特徴がある？"])
def test_whether_a_thing_belongs_leads_with_the_sentence_counting_it_in(chain, first):
    """「企業もはいる？」 (入る in kana) asks whether companies are partners: 第２章 １'s 「…ＮＰＯや企業も含めて、
    …パートナーとして捉えています。」 says yes, not （１）'s 「企業は、社員ボランティア制度…」, which only
    speaks of them, though （１） ranks first (and was the answer just given)."""
    answer = chain.ask("企業もはいる？", turn(chain, first) if first else None)
    assert answer.cited_sections[0] == "2-1"
    assert "ＮＰＯや企業も含めて、まちづくりを進めるパートナーとして捉えています。" in lead(answer)


def test_a_yes_no_follow_up_naming_a_word_with_a_suffix_is_not_refused(chain):
    """政治家 is 政治＋家: the suffix is no word the guideline lacks, so 「それって政治家の集会でもいいの？」
    has one unknown word, not two, and is answered from 後援's 「政治的色彩」 item."""
    answer = chain.ask("それって政治家の集会でもいいの？", turn(chain, "後援って何？"))
    assert not answer.abstained and answer.cited_sections[0] == "3-7"
    assert "・ 宗教的又は政治的色彩を有している。［" in lead(answer)


@pytest.mark.parametrize(
    ("first", "question", "quoted"),
    [
        # 実現 is a word of the first item, but the question asks what to do when it cannot be: the list stays
        (
            "市民から企画の提案がメールで届きました。どう対応すべき？",
            "それでも実現できないときはどうする？",
            "理由を分かりやすく説明",
        ),
        # no item names what is asked (お金もうけ is the text's 営利 in other words): the whole list
        ("後援名義を使わせちゃダメなのはどんな場合？", "そのうちお金もうけに関係するのはどれ？", "営利や私的な利益"),
    ],
)
def test_a_follow_up_naming_no_one_item_keeps_the_whole_list(chain, first, question, quoted):
    assert quoted in chain.ask(question, turn(chain, first)).answer


def test_a_lead_in_that_joins_the_lead_brings_its_items(chain):
    """「また、次の項目に…」 continues the lead's sentence: it comes with its seven items, not alone in the
    lead with the items left in the block below. (「後援ってどういうもの？」 now leads with what 後援 is.)"""
    opening = lead(chain.ask("後援名義の判断基準は？"))
    assert "適切でありません。\n・ 営利や私的な利益を目的としている。" in opening
    assert opening.count("\n・ ") == 7
    assert lead(chain.ask("後援ってどういうもの？")).startswith("市民が主催する事業に対して、市が外部的に支援し")


@pytest.mark.parametrize(
    ("first", "question", "section"),
    [
        ("後援とは？", "職員の有給休暇は何日ある？", "3-7"),
        ("共催の経費負担は？", "庁舎の駐車場は何時まで使える？", "3-1"),
    ],
)
def test_an_unrelated_refusal_in_a_conversation_is_the_refusal_it_gets_alone(chain, first, question, section):
    """Nothing of the section just discussed is offered for a question that is not about it."""
    answer = chain.ask(question, turn(chain, first))
    alone = chain.ask(question)
    assert answer.abstained and alone.abstained
    assert section not in [s.section_id for s in answer.suggestions]
    assert answer.answer == alone.answer


@pytest.mark.parametrize(
    ("first", "question", "refused"),
    [
        ("後援名義って何？", "じゃあ、市役所の駐車場は何時まで使える？", True),
        ("後援名義って何？", "それと、職員の残業代は出る？", True),
        ("委託と補助の違いは？", "それと、入札の手続きは？", True),
        ("後援名義って何？", "あと、申請の期限は？", False),  # about 後援: its 期限 is what is not stated
        ("後援名義って何？", "それって政治家の集会でもいいの？", False),
    ],
)
def test_a_next_question_about_the_citys_other_business_is_refused_though_it_points_back(
    chain, first, question, refused
):
    """「じゃあ」「それと」 open new topics too: a next question clearly nearer the city's other business
    (corpus/offtopic.toml) than the guideline, naming a thing the guideline never does, is judged alone."""
    answer = chain.ask(question, turn(chain, first))
    assert answer.abstained is refused, answer.answer


@pytest.mark.parametrize(
    ("first", "question", "department"),
    [
        ("避難計画の作成はどこの課？", "レジ袋削減はどこの課の担当？", "減量対策課"),
        ("まちづくりトークの担当は？", "消費生活展はどこの課？", "安全安心生活課"),
        ("国際交流の取組はどこの課がやってる？", "ごみステーションを見回る活動はどこの担当？", "清掃事業課"),
    ],
)
def test_a_department_question_after_another_names_its_own_department(chain, first, question, department):
    answer = chain.ask(question, turn(chain, first))
    assert department in answer.answer.splitlines()[0]


def test_a_pointer_followed_by_another_sections_subject_follows_the_noun(chain):
    """「その」 points at what its noun names: 「そのパトロール隊は…」 after ゼロごみの日 is about 第５章（11）,
    which the last answer never quoted, not the last case again."""
    answer = chain.ask("そのパトロール隊は何をやってるの？", turn(chain, "ゼロごみの日について教えて"))
    assert answer.cited_sections[0] == "5-11" and "5-10" not in answer.cited_sections
    assert "ごみ分別方法の助言" in answer.answer


@pytest.mark.parametrize(
    ("first", "question", "section", "quoted"),
    [
        # ホームページ is not in the last answer: the section naming it beside other ways (Ｑ６)
        ("市民への情報発信はどうすればいい？", "ホームページ以外には？", "6-Q6", "関係する団体に直接情報を届ける"),
        # 町内会 is in the list just shown: that list answers
        ("資源回収登録団体にはどんなところがある？", "町内会のほかには？", "5-8", "老人クラブ"),
    ],
)
def test_a_besides_follow_up_is_answered_with_what_else_the_guideline_names(chain, first, question, section, quoted):
    answer = chain.ask(question, turn(chain, first))
    assert not answer.abstained and answer.cited_sections[0] == section
    assert quoted in lead(answer)


def test_a_besides_follow_up_the_section_says_nothing_more_on_says_so(chain):
    """Ｑ７ names one way to interest citizens: said, with that section, not some other section the words
    happen to rank (Ｑ８'s 「この他にも…」)."""
    answer = chain.ask("他には？", turn(chain, "協働に興味を持つ市民を増やすには？"))
    assert answer.answer.startswith(NOTHING_MORE)
    assert answer.cited_sections == ["6-Q7"]


def test_a_short_yes_no_follow_up_is_answered_from_the_section_just_discussed(chain):
    """「町内会も入るの？」 after the partners: 第２章 １ names 町内会 among them and answers, not the
    sub-section the question with the previous turn ranks first."""
    answer = chain.ask("町内会も入るの？", turn(chain, "協働のパートナーにはどんな人がいる？"))
    assert answer.cited_sections[0] == "2-1"
    assert "町内会のほか、ＮＰＯや企業も含めて" in lead(answer)


def test_a_short_follow_up_refused_alone_is_answered_with_the_conversation(chain):
    """「学校も入るの？」 names nothing of its own: alone it is refused, after the partners it asks about them."""
    assert chain.ask("学校も入るの？").abstained
    answer = chain.ask("学校も入るの？", turn(chain, "協働のパートナーは？"))
    assert not answer.abstained and answer.cited_sections[0].startswith("2-1")


def test_a_yes_no_follow_up_the_last_lead_does_not_settle_says_so(chain):
    """「ずっと続けてもいいの？」 after 実行委員会's traits: the section's lead again would read as a yes; the
    text only says what such bodies often are, so the answer says it does not decide, then quotes it."""
    history = turn(chain, "実行委員会の特徴は？")
    answer = chain.ask("ずっと続けてもいいの？", history)
    assert answer.answer.startswith(UNDECIDED) and answer.cited_sections[0] == "3-2"


@pytest.mark.parametrize(
    ("first", "question", "named"),
    [
        ("集団回収にはどんな団体が参加してる？", "ＰＴＡも入ってる？", "ＰＴＡ"),
        ("後援の基準は？", "政治団体は含まれる？", "政治的色彩"),
        ("実行委員会ってどういう形態？", "どんなイベントでよく使われる？", "イベント"),  # asks what, not whether
        # the lead shown before says it in the follow-up's own words, negation included
        ("協働するときの役割分担は？", "市ができないことも言うの？", "できないこと"),
        ("協働事業を進めるときに明確にすることは？", "作業手順も確認するの？", "作業手順"),
        # the whole question, when the phrase its も marks names too little (「市に」)
        ("協働のメリットは？", "市にもメリットあるの？", "市にとっては"),
        # 「…こともある？」 is answered by 「…こともあります。」
        ("提案を受けたらどうする？", "断ることもあるの？", "提案に沿うことができないこともあります"),
        ("協働は経費削減のため？", "お金が浮くこともあるの？", "経費の削減につながることもあります"),
    ],
)
def test_a_follow_up_whose_lead_names_what_is_asked_is_not_called_undecided(chain, first, question, named):
    answer = chain.ask(question, turn(chain, first))
    assert UNDECIDED not in answer.answer and named in lead(answer)


@pytest.mark.parametrize(
    ("evidence", "leans"),
    [
        # gain, previous_cover, new_words, terms, has_topic, points_back
        ((0.05, 0.4, 1, 2, False, True), True),  # 「その場合、経費は？」
        ((0.04, 1.0, 0, 2, False, False), True),  # 「町内会だと？」 after the partners
        ((0.04, 0.4, 1, 2, True, False), False),  # 「共催とは？」 after 後援: a topic of its own
        ((0.03, 0.0, 5, 6, False, False), False),  # five words the previous sections never use
        ((-0.02, 0.0, 2, 2, False, False), False),  # two new words, and weaker with the previous turn
    ],
)
def test_the_follow_up_decision(evidence, leans):
    from assistant.answering.chain import AnswerChain, FollowUpEvidence

    assert AnswerChain.searched_with_previous(FollowUpEvidence(*evidence)) is leans


# --------------------------------------------------------------------------- actual cases


@pytest.mark.parametrize(
    ("question", "asks"),
    [
        ("災害の協定って実際どこと結んでる？", True),  # 実際, and an action in progress (てる)
        ("後援を受けている市の事業はある？", True),  # て + いる
        ("共催の事例を教えて", True),
        ("協定とは？", False),
        ("後援名義を使わせてはいけないのはどんな場合？", False),
        ("住民が主役で、市は脇から手伝う形は何て呼ぶ？", False),  # て of a request, not ている
        ("どこと協定を結んでいますか？", True),
        # an action the asker only describes: a clause closed by けど or ので, or quoted by と
        ("いつも同じ団体にばかり頼んでるけど問題ある？", False),
        ("協働しているので問題ない？", False),
        ("企業はどんな貢献をしていると書かれてる？", False),
        # how a thing stands (成る in progress), which a rule says: no deed asked
        ("協働でボランティアさんがけがしたときの保険ってどうなってる？", False),
        ("協働は誰が中心になって進めていくことになってる？", False),
    ],
)
def test_questions_asking_what_is_actually_done(question, asks):
    assert analyze(question).asks_cases is asks


def test_a_question_about_actual_cases_cites_a_departments_case_beside_the_form(chain):
    answer = chain.ask("災害の協定って実際どこと結んでる？")
    # the city's own disaster agreements, which the question names by 災害 (第５章（４）災害に関する協定), lead
    # with their department; the form is quoted beside them, not first with its examples in general
    assert answer.cited_sections == ["5-4", "3-3"]
    assert lead(answer).startswith("市内の企業や学校などと、津波一時避難施設としての使用について協定を締結しています。")
    assert "（担当：危機管理室）" in lead(answer)
    # a question about the form itself cites the form alone
    assert chain.ask("協定とは？").cited_sections == ["3-3"]


# --------------------------------------------------------------------------- the fifth trial's conversations


@pytest.mark.parametrize(
    ("first", "question"),
    [
        ("ゼロごみの日って何？", "その日に粗大ごみは出せる？"),
        ("まちづくりトークって何？", "その会場に駐車場はある？"),
    ],
)
def test_a_follow_up_whose_pointer_only_sets_the_day_or_place_is_judged_on_what_it_asks(chain, first, question):
    """「その日に」 says when; what is asked (粗大ごみ, 駐車場) is the city's other business, refused as it
    would be alone, not answered with the case and 「…どちらとも言えません。」."""
    answer = chain.ask(question, turn(chain, first))
    assert answer.abstained and answer.answer.startswith(ABSTENTION_TEXT)


def test_who_decides_is_stated_by_a_decision_made_in_consultation(chain):
    """「役割は誰が決めるの？」 after 協定: 「それぞれの役割など協議をして定め」 says who decides (both sides,
    by consultation); no 「決裁・承認…の記載はありません」 above that very sentence."""
    answer = chain.ask("役割は誰が決めるの？", turn(chain, "協定ってどんな形態？"))
    assert not answer.partial and "記載はありません" not in answer.answer
    assert "協議をして定め" in lead(answer)


def test_asked_for_examples_of_what_was_just_defined_a_case_leads(chain):
    """「実際の例ってある？」 after 後援: the city's own case under 後援 leads, not 後援's text again."""
    answer = chain.ask("実際の例ってある？", turn(chain, "後援とは？"))
    assert answer.cited_sections[0] == "5-15"
    assert "子ども会育成連絡協議会の後援を受けています" in lead(answer)


@pytest.mark.parametrize(
    ("first", "question", "section", "quoted"),
    [
        ("レジ袋削減の取組は？", "協定の相手は？", "5-9", "事業者と自主協定を結んでいます"),
        ("障がい者ＩＴ学習支援ってどんな事業？", "協定の相手は？", "5-14", "パートナーシップ協定"),
        ("リーダー養成事業って？", "後援の相手は？", "5-15", "子ども会育成連絡協議会の後援"),
        # asked with whom, of the thing as the question's topic or object
        ("レジ袋削減の取組は？", "協定はどこと結んだの？", "5-9", "事業者と自主協定を結んでいます"),
        ("障がい者ＩＴ学習支援ってどんな事業？", "誰と協定を結んでるの？", "5-14", "パートナーシップ協定"),
    ],
)
def test_the_party_of_a_thing_the_last_answer_mentioned_is_that_cases(chain, first, question, section, quoted):
    """「協定の相手は？」 after a case that 「…と自主協定を結んでいます。」: the partner of that agreement,
    not 第３章（３）協定's partners in general."""
    answer = chain.ask(question, turn(chain, first))
    assert answer.cited_sections[0] == section and quoted in lead(answer)


def test_what_a_form_requires_stays_with_the_form_after_a_case_that_mentions_it(chain):
    """「後援の条件は？」 after a case under 後援 asks what 後援 requires: 第３章（７）, not the case."""
    answer = chain.ask("後援の条件は？", turn(chain, "リーダー養成事業って？"))
    assert answer.cited_sections[0] == "3-7"


def test_a_that_too_follow_up_in_a_staff_word_is_asked_of_the_list_it_adds_to(chain):
    """「会社も入る？」 after the partners: 会社 is no word of the guideline (it writes 企業), but one thing
    named after an answer is the staff's word for what was just said: answered from 第２章 １, where 企業 is.
    「有給休暇も取れる？」 asks no such thing: nearer the city's other business, it is refused."""
    answer = chain.ask("会社も入る？", turn(chain, "協働のパートナーにはどんな人がいる？"))
    assert not answer.abstained and answer.cited_sections[0] == "2-1" and "企業" in answer.answer
    answer = chain.ask("有給休暇も取れる？", turn(chain, "後援とは？"))
    assert answer.abstained and "3-7" not in [s.section_id for s in answer.suggestions]


@pytest.mark.parametrize(
    ("first", "question", "section"),
    [
        # マイナス＋面 is one thing; 反対に/じゃあ name nothing: refused for two words the guideline lacks before
        ("協働するとどんないいことがある？", "じゃあマイナス面は？", "6-Q3"),
        ("協働のパートナーってどんな相手がいる？", "大学も入る？", "2-1"),
    ],
)
def test_a_follow_up_naming_one_thing_in_a_staff_word_is_answered_with_the_conversation(
    chain, first, question, section
):
    answer = chain.ask(question, turn(chain, first))
    assert not answer.abstained and answer.cited_sections[0] == section


@pytest.mark.parametrize(
    ("first", "question"),
    [("後援とは？", "ボーナスは？"), ("委託とは？", "給料は？"), ("後援名義って何？", "駐車場は？")],
)
def test_a_follow_up_naming_one_thing_of_the_citys_other_business_is_refused(chain, first, question):
    answer = chain.ask(question, turn(chain, first))
    assert answer.abstained and not answer.citations


# --------------------------------------------------------------------------- the seventh trial's conversations


@pytest.mark.parametrize(
    ("first", "question", "section", "left"),
    [
        ("後援とは？", "じゃあ逆に共催は？", "3-1", "3-7"),
        ("委託とは？", "じゃあ逆に補助は？", "3-6", "3-5"),
        # the next form asked of in a row, nothing else said of it
        ("委託とは？", "じゃあ後援は？", "3-7", "3-5"),
    ],
)
def test_a_contrast_naming_another_form_turns_to_it(chain, first, question, section, left):
    """「じゃあ逆に共催は？」 after 後援 asks about 共催, not 後援 again."""
    answer = chain.ask(question, turn(chain, first))
    assert answer.cited_sections[0] == section and left not in answer.cited_sections


def test_a_next_question_naming_no_heading_stays_with_the_conversation(chain):
    """「じゃあ費用は？」 after 共催 names no heading's subject: it asks 共催's cost (経費負担)."""
    answer = chain.ask("じゃあ費用は？", turn(chain, "共催って何？"))
    assert answer.cited_sections[0] == "3-1"


def test_a_contrast_within_the_same_section_leads_with_what_was_not_shown(chain):
    """「じゃあ逆に大変なことは？」 after the merits: Ｑ３'s 「手間や時間がかかる」 leads, not the merits again."""
    answer = chain.ask("じゃあ逆に大変なことは？", turn(chain, "協働のメリットは？"))
    assert answer.cited_sections[0] == "6-Q3"
    assert lead(answer).startswith("市民との協働については、手間や時間がかかることもあります。")


@pytest.mark.parametrize(
    ("first", "question", "section"),
    [
        ("後援とは？", "話変わるけど、相手方の固定化ってなんでダメなの？", "4-5"),
        ("協働のパートナーは？", "別件なんだけど、協働の経験ってなんで大事？", "4-6"),
    ],
)
def test_a_question_that_says_it_changes_the_subject_leaves_the_conversation(chain, first, question, section):
    """「話変わるけど、」 says nothing of what is asked (its 変わる is no comparison) and the previous
    turn is not searched with it."""
    answer = chain.ask(question, turn(chain, first))
    assert answer.cited_sections == [section]
    assert answer.resolved_query == question.split("、", 1)[1]  # searched without the opener, alone


@pytest.mark.parametrize(
    ("first", "question", "others"),
    [
        ("地区別避難計画ってどんな取組？", "その課は他にどんな事例をやってる？", ["5-4"]),
        ("レジ袋削減の取組について教えて", "同じ課で他にやってることある？", ["5-8"]),
        ("ゼロごみの日って何？", "その担当課って他にはどんな取組してるの？", ["5-11"]),
        ("国際交流の取組は？", "そこの課がほかに担当してる事例は？", ["5-1"]),
    ],
)
def test_a_departments_other_cases_are_quoted(chain, first, question, others):
    """After a chapter-5 case, 「その課は他に…」 asks for the same department's other cases: chapter 5
    lists them, so no 「前の回答の内容だけです」 and not the case just shown."""
    answer = chain.ask(question, turn(chain, first))
    assert answer.cited_sections == others
    assert NOTHING_MORE not in answer.answer


def test_a_departments_only_case_is_said_to_be_the_only_one(chain):
    """市民生活課 has one case in chapter 5: asked for its others, the answer says there are no more."""
    answer = chain.ask("その課は他にどんな事例をやってる？", turn(chain, "まちづくりトークって何？"))
    assert answer.answer.startswith(NOTHING_MORE) and answer.cited_sections == ["5-5"]


@pytest.mark.parametrize("question", ["両方", "vs", "それ", "違いは？", "他には？", "それで？"])
def test_a_first_message_that_only_points_at_something_asks_for_more(chain, question):
    """As a first message, 「両方」「vs」「それ」 point at nothing said before: no section is quoted."""
    answer = chain.ask(question)
    assert answer.abstained and "詳しく入力してください" in answer.answer
    assert answer.suggestions == [] and NOT_COVERED not in answer.answer  # asked for more, not told "not covered"


def test_a_refusal_of_a_thing_the_guideline_never_names_offers_no_unrelated_sections(chain):
    """「職員の有給休暇は何日ある？」 shares only 職員 and 日 with the guideline (Ｑ５, ゼロごみの日): no
    nearest sections are offered, rather than unrelated ones."""
    answer = chain.ask("職員の有給休暇は何日ある？")
    assert answer.abstained and answer.suggestions == []
    assert answer.answer == ABSTENTION_TEXT + NOT_COVERED  # said plainly, not "try other words"


@pytest.mark.parametrize("question", ["住民票ほしいんだけど", "市民税を納めるのはいつまで？"])
def test_a_refusal_offers_no_section_through_a_piece_of_a_compound_the_guideline_never_writes(chain, question):
    """住民票 is no 住民 and 市民税 no 市民: a section sharing only that piece (第５章（３）地区別避難計画,
    第１章 ２（１）市民が主役) is no nearer the question, and the refusal says the guideline seems not to
    cover it."""
    answer = chain.ask(question)
    assert answer.abstained and answer.suggestions == []
    assert answer.answer == ABSTENTION_TEXT + NOT_COVERED


def test_a_refusal_keeps_the_section_of_what_a_compound_is_a_kind_of(chain):
    """委託料 is a 委託's, in the guideline's own words: 第３章（５）委託 stays the nearest section, while
    消費税 (a 税 the guideline never speaks of) offers no 消費生活展."""
    answer = chain.ask("委託料にかかる消費税はどう計算する？")
    assert answer.abstained and [s.section_id for s in answer.suggestions] == ["3-5"]
    assert answer.answer == f"{ABSTENTION_TEXT}\n\n近い内容の箇所：\n・［第３章（５）委託］"


# --------------------------------------------------------------------------- the eighth trial's kinds


@pytest.mark.parametrize(
    ("first", "question"),
    [("協定の例ある？", "担当はどこ？"), (None, "協定を結んでる取組の担当課を教えて")],
)
def test_a_department_asked_of_a_form_names_each_of_its_cases(chain, first, question):
    """「担当はどこ？」 after 「協定の例ある？」: 協定 cases are at three departments, each named."""
    answer = chain.ask(question, turn(chain, first) if first else None)
    assert {"5-4", "5-9", "5-14"} <= set(answer.cited_sections)
    assert all(d in lead(answer).splitlines()[0] for d in ("危機管理室", "減量対策課", "生涯学習課"))


def test_a_department_asked_of_one_case_names_its_own(chain):
    """「災害協定の担当は？」 names one case of 協定: its department only."""
    answer = chain.ask("災害協定の担当は？")
    assert answer.cited_sections == ["5-4"] and lead(answer).startswith("担当は危機管理室です")
    answer = chain.ask("消費生活展の担当課はどこ？どんな協力を得てる？")  # beside a section of no department
    assert lead(answer).startswith("担当は安全安心生活課です")


@pytest.mark.parametrize(
    ("first", "question"),
    [
        ("市民から提案が来たらどうする", "断る場合は？"),
        ("市民から企画を持ち込まれたらどう対応する？", "実現できないときは？"),
    ],
)
def test_a_follow_up_about_one_situation_leads_with_the_item_about_it(chain, first, question):
    """「断る場合は？」 after the points to heed on proposals: the item saying what to do when a proposal
    cannot be followed leads, with its lead-in; not how proposals arrive, nor the whole list."""
    answer = chain.ask(question, turn(chain, first))
    assert answer.cited_sections[0] == "2-3"
    assert "理由を分かりやすく説明しなければなりません" in lead(answer)
    assert "寄せられる場合もあります" not in lead(answer) and "どうやったら実現できるか" not in lead(answer)


def test_a_follow_up_asking_which_situations_keeps_the_whole_list(chain):
    """「じゃあ、断らないといけないのはどういう場合？」 after 後援 asks which cases: every item of the list."""
    answer = chain.ask("じゃあ、断らないといけないのはどういう場合？", turn(chain, "後援名義って何？"))
    assert "宗教的又は政治的色彩" in lead(answer) and "営利や私的な利益" in lead(answer)


# --------------------------------------------------------------------------- the lead is the sentence that answers


def test_a_place_asked_with_dokoni_leads_with_the_sentence_naming_the_place(chain):
    answer = chain.ask("DV防止のリーフレットはどこに置いた？").answer
    assert answer.startswith("作成したリーフレットについては、市内各公共施設などの女性用トイレに設置しました。")
    assert "記載はありません" not in answer


def test_a_definition_after_the_examples_leads_with_the_defining_sentence(chain):
    history = [
        {"role": "user", "content": "協定ってどんな例がある？"},
        {
            "role": "assistant",
            "content": "災害時の物資提供や施設利用についての企業との協定、ごみの減量化に向けたスーパーとの協定、"
            "ボランティア団体とのパートナーシップ協定など、近年、事案が増えています。［第３章（３）協定］",
            "citations": [{"doc_id": "kyodo-guideline", "section_id": "3-3"}],
        },
    ]
    answer = chain.ask("協定とは？", history).answer
    assert answer.startswith("市民と市とが共通の目的を果たすため、それぞれの役割など協議をして定め")


# 「町内会って何個ある？」 ranks 第１章 ３ fifth; 「…何個くらいあるんだっけ」 reads near the city's other business,
# but the section it leads with states the number: no value of that business
@pytest.mark.parametrize(
    "question",
    [
        "町内会って市内にいくつある？",
        "町内会は市内に何個あるんですか",
        "町内会って何個ある？",
        "町内会って何個くらいあるんだっけ",
    ],
)
def test_a_count_stated_by_a_section_ranked_below_the_best_is_not_called_missing(chain, question):
    answer = chain.ask(question)
    assert "８０を超える町内会" in answer.answer.split("［")[0]  # the lead states the number
    assert "記載はありません" not in answer.answer and not answer.partial
    assert answer.cited_sections[0] == "1-3"


def test_a_count_of_the_citys_other_business_is_still_refused(chain):
    assert chain.ask("市の職員って何人くらいいるんだっけ").abstained


def test_a_comparison_whose_sides_one_heading_names_quotes_that_section_alone(chain):
    answer = chain.ask("実行委員会と協議会ってどうちがうの")
    assert set(answer.cited_sections) == {"3-2"}
    assert "期間を限定した組織" in answer.answer and "常に組織されている" in answer.answer
    assert "■ 第３章（３）協定" not in answer.answer


# --------------------------------------------------------------------------- which party (「どっち」 of one thing)


@pytest.mark.parametrize(
    ("question", "section", "leads"),
    [
        ("委託の最終責任ってどっち", "3-5", "事業における最終的な責任については、市にあります。"),
        ("共催するときって、経費はどっちが負担するんですか？", "3-1", "経費負担や社会的責任については、双方にある"),
        ("実行委員会方式でやる場合、主催者はどちらになりますか？", "3-2", "市民と市とが資金や人的資源を出し合って"),
    ],
)
def test_which_party_of_one_form_is_answered_by_the_sentence_that_decides(chain, question, section, leads):
    """「委託の最終責任ってどっち」 asks which party bears it, not how 委託 differs from another form: the
    sentence that says so leads, with no line of differences."""
    assert analyze(question, chain.service.tokenizer, chain.topics).kind != "comparison"
    answer = chain.ask(question)
    assert answer.cited_sections[0] == section
    assert lead(answer).startswith(leads) and "違い" not in answer.answer


@pytest.mark.parametrize(
    "question",
    [
        "後援と共催、市がお金を出さないのはどっち？",  # two forms
        "市と市民、まちづくりの主体はどっち？",  # two parties, neither a form
        "地域の課題って、行政と町内会のどっちが担うもの？",
        "共催の場合、費用や責任はどっちが持つの？",  # two things asked of one form
        "共催、後援のどっちが費用を出す？",  # joined by a comma
    ],
)
def test_which_of_two_things_named_stays_a_comparison(chain, question):
    """Two things named beside 「どっち」 and a who-word: the question still sets them side by side."""
    assert analyze(question, chain.service.tokenizer, chain.topics).compares


def test_a_yes_no_question_ending_in_ok_leads_with_the_item_it_names(chain):
    """「…でもOK？」 asks whether, as 「…でもいいの？」 does: the item that decides it (政治 in 「・ 宗教的又は
    政治的色彩を有している。」) leads under its list's lead-in, not the whole list or another sentence."""
    answer = chain.ask("政治色のある集会に後援名義を貸してもOK？")
    assert answer.cited_sections[0] == "3-7"
    assert (
        "次の項目に当てはまる場合は、後援名義を使用させることは適切でありません。\n・ 宗教的又は政治的色彩を有している。"
        in lead(answer)
    )
    assert "営利" not in lead(answer) and "財政的な支援" not in lead(answer)


def test_a_follow_up_that_only_names_a_case_asks_the_previous_question_of_it(chain):
    """「一部の会員だけが対象の催しだったら？」 names a case and asks nothing of it: it asks again whether
    後援名義 may be used, however many words describe the case; 「共催だったら？」 names a subject of its own."""
    answer = chain.ask("一部の会員だけが対象の催しだったら？", turn(chain, "後援名義を使わせてはいけないのは？"))
    assert answer.cited_sections[0] == "3-7"
    assert "・ 特定の市民のみを対象としている。" in lead(answer)
    assert chain.ask("共催だったら？", turn(chain, "後援ってなに")).cited_sections[0] == "3-1"


def test_a_follow_up_describing_a_case_in_new_words_is_not_refused_for_them(chain):
    """「選挙の応援活動だったら？」 after the fields of 協働 asks the previous question again of that case:
    its scene's words (選挙, 応援) are new by nature and do not make it out of scope. A case from the
    city's other business (「年休を半日だけ取るときは？」) is still refused, by its meaning."""
    history = turn(chain, "協働に向いてる分野ってどんなの？")
    answer = chain.ask("選挙の応援活動だったら？", history)
    assert answer.cited_sections and answer.cited_sections[0] == "6-Q8"
    assert "政治活動" in answer.answer
    refused = chain.ask("年休を半日だけ取るときは？", turn(chain, "委託の場合の責任は？"))
    assert refused.answer.startswith(ABSTENTION_TEXT) and not refused.cited_sections


def test_a_request_for_examples_ending_in_aru_is_no_yes_no_question(chain):
    """「例ってある？」 after 協定 asks for the examples, which the section gives: no 「どちらとも言えません」."""
    answer = chain.ask("例ってある？", turn(chain, "協定って何？"))
    assert not answer.answer.startswith(UNDECIDED)
    assert lead(answer).startswith("災害時の物資提供や施設利用についての企業との協定")
    assert analyze("協定の例ってなにかある？").kind not in ("yes-no", "definition")


def test_a_contrast_after_the_whole_section_was_shown_leads_with_what_the_last_answer_did_not(chain):
    """「逆に困ることは？」 after the merits, when the last answer quoted all of Ｑ３: the sentence it did not
    lead with (「…手間や時間がかかることもあります。」) leads, not the merits again."""
    history = turn(chain, "協働のメリットって？")
    assert "手間や時間がかかる" in history[1]["content"]  # shown, below the lead
    answer = chain.ask("逆に困ることは？", history)
    assert answer.cited_sections[0] == "6-Q3"
    assert lead(answer).startswith("市民との協働については、手間や時間がかかることもあります。")


# --------------------------------------------------------------------------- the nineteenth trial's kinds


@pytest.mark.parametrize(
    ("question", "cases", "opens"),
    [
        # 第３章（３）'s own 「…パートナーシップ協定など」 names instances of 協定: it leads, its cases follow
        ("協定を結んだ例ある？", ["5-4", "5-9", "5-14"], "災害時の物資提供や施設利用についての企業との協定"),
        ("協定で協働してる実例を知りたい", ["5-4", "5-9", "5-14"], "災害時の物資提供や施設利用についての企業との協定"),
        # 第３章（１）'s 「フォーラムの開催など…」 lists events, not 共催s: the cases lead
        ("共催の実績ってどんなものがあるの？", ["5-5", "5-14"], "「魅力ある地域づくりのために"),
        # the form's word with the words joined to it: only the case that writes them
        ("パートナーシップ協定の実例は？", ["5-14"], "災害時の物資提供や施設利用についての企業との協定"),
    ],
)
def test_examples_asked_of_a_form_quote_each_case_of_the_form(chain, question, cases, opens):
    """「協定を結んだ例ある？」 asks for the city's 協定s: every chapter-5 case that writes 協定 is quoted (災害に
    関する協定, レジ袋削減's 自主協定, ＩＴ学習支援's パートナーシップ協定), not only the best-ranked one."""
    answer = chain.ask(question)
    assert set(cases) <= set(answer.cited_sections)
    assert not {"5-4", "5-9", "5-14", "5-5"} - set(cases) & set(answer.cited_sections)
    assert lead(answer).startswith(opens)


@pytest.mark.parametrize(
    "question", ["町内会ってふだん何してるの", "町内会って何してるの？", "自治会はどんなことに取り組んでるの？"]
)
def test_what_a_partner_does_is_answered_by_the_clause_whose_subject_it_is(chain, question):
    """「町内会ってふだん何してるの」: 第２章１（１）'s 「また、町内会や自治会は、…様々な活動を継続してきました。」
    answers it, not まちづくりトーク, the case that writes 町内会 most, nor Ｑ５'s 「…基礎的な住民組織です。」."""
    answer = chain.ask(question)
    assert answer.cited_sections == ["2-1-1"]
    assert "町内会や自治会は、安全に暮らすための活動や地域の課題への対処" in lead(answer)


# --------------------------------------------------------------------------- a detail of a thing named in passing


def test_a_detail_of_a_thing_the_guideline_names_only_in_passing_is_refused(chain):
    """「市長の任期は何年？」: 市長 is a word of 第５章（５）'s text and of no heading, so 任期 is what is
    asked about and the scope is judged with it: refused, not answered from まちづくりトーク. A detail of
    a heading's subject (協議会) stays a detail the guideline lacks."""
    answer = chain.ask("市長の任期は何年？")
    assert answer.abstained and answer.answer.startswith(ABSTENTION_TEXT)
    assert not answer.cited_sections
    kept = chain.ask("協議会の委員の任期は何年？")
    assert not kept.abstained and kept.partial and "3-2" in kept.cited_sections
    assert kept.answer.startswith("ガイドラインには委員の任期")


def test_a_detail_of_a_thing_named_in_passing_after_another_topic_does_not_carry_it(chain):
    """After 「ｽﾃﾊﾟﾄ担当どこ」 the question is judged alone first: refused, not answered with 第５章（11）'s
    「平成２５年７月から…」 as if that year were the 任期 asked for."""
    history = turn(chain, "ｽﾃﾊﾟﾄ担当どこ")
    assert history[1]["citations"][0]["section_id"] == "5-11"
    answer = chain.ask("市長の任期は何年？", history)
    assert answer.abstained and answer.answer.startswith(ABSTENTION_TEXT)
    assert "平成２５年" not in answer.answer and not answer.cited_sections


def test_a_follow_up_asking_how_often_says_the_guideline_gives_no_frequency(chain):
    """「一定期間ごとに見直しを行う」 says there is an interval, not how often."""
    answer = chain.ask("見直しはどのくらいの頻度？", turn(chain, "同じ団体とばかり組むのってまずい？"))
    assert answer.partial and answer.cited_sections[0] == "4-5"
    assert answer.answer.startswith(f"ガイドラインには頻度についての記載はありません。{NEARBY}")
    assert "一定期間ごとに見直しを行う" in lead(answer)
    # asked by its noun alone, 「随時、…確認してください。」 states a frequency in words
    assert "記載はありません" not in chain.ask("進捗確認の頻度は？").answer


def test_a_list_item_that_decides_is_not_followed_by_sentences_that_answer_nothing(chain):
    """「それって宗教団体でもOK？」 after 後援 is answered by the item under its lead-in; 「財政的な支援等は
    ありません。」 shares no word with it and is not quoted below it."""
    answer = chain.ask("それって宗教団体でもOK？", turn(chain, "後援ってなに？"))
    assert "・ 宗教的又は政治的色彩を有している。［" in lead(answer)
    assert "財政的な支援等はありません" not in answer.answer and "■" not in answer.answer


# --------------------------------------------------------------------------- follow21: a new aspect


@pytest.mark.parametrize(
    ("first", "question", "section", "leads"),
    [
        ("共催の責任は誰が負うの？", "委託だと？", "3-5", "最終的な責任については、市にあります"),
        ("共催だと経費は誰が持つ？", "実行委員会の場合は？", "3-2", "資金や人的資源を出し合って"),
        ("後援ってお金も出るの？", "共催だと？", "3-1", "経費負担や社会的責任"),
    ],
)
def test_another_form_named_alone_is_asked_the_previous_question(chain, first, question, section, leads):
    """「委託だと？」 after 「共催の責任は誰が負うの？」 asks 委託's responsibility, not what 委託 is."""
    answer = chain.ask(question, turn(chain, first))
    assert answer.cited_sections[0] == section
    assert leads in answer.answer.split("\n\n")[0]


def test_a_definition_of_another_form_stays_a_definition(chain):
    answer = chain.ask("じゃあ委託とは？", turn(chain, "共催の責任は誰が負うの？"))
    assert answer.cited_sections[0] == "3-5"
    assert answer.answer.startswith("市が行うよりも効率的・効果的に実施できる事業")


def test_an_aspect_asked_after_a_comparison_is_asked_of_both_sides(chain):
    answer = chain.ask("注意点は？", turn(chain, "委託と補助の違いは？"))
    assert {"3-5", "3-6"} <= set(answer.cited_sections)
    assert "注意が必要です" in answer.answer


@pytest.mark.parametrize(
    ("first", "question"),
    [("補助金ってどういうもの？", "申請の期限は？"), ("後援ってどういうもの？", "補助金の申請の期限は？")],
)
def test_a_deadline_of_an_application_is_not_stated_by_another_deadline(chain, first, question):
    """第３章（６）'s 「期限や使途の制限を設ける」 is a limit of the support, not an application's deadline."""
    answer = chain.ask(question, turn(chain, first))
    assert not answer.abstained and answer.cited_sections[0] == "3-6"
    assert answer.answer.startswith("ガイドラインには申請の期限についての記載はありません。")


def test_the_value_of_a_detail_the_previous_answer_named_is_said_missing(chain):
    answer = chain.ask("期限は最長で何年？", turn(chain, "補助金ってどういうもの？"))
    assert not answer.abstained and answer.cited_sections[0] == "3-6"
    assert answer.answer.startswith("ガイドラインには期限（何年）についての記載はありません。")
    assert "期限や使途の制限" in answer.answer


def test_a_compound_naming_another_thing_does_not_lean_on_the_previous_answer(chain):
    """町内 of 町内会長 is no word of 町内会's: refused in the conversation as alone."""
    assert chain.ask("町内会長の任期は？").abstained
    assert chain.ask("町内会長の任期は？", turn(chain, "町内会ってどんな活動をしてるの？")).abstained


def test_a_kind_of_thing_asked_with_a_verb_is_no_description(chain):
    """「共催ってどんな催しで採用されることが多い？」 asks where it is used, not what 共催 is."""
    answer = chain.ask("共催ってどんな催しで採用されることが多い？")
    assert answer.answer.startswith("フォーラムの開催など多くの人を集める事業")


# --------------------------------------------------------------------------- colloquial definitions (colloqa21)


@pytest.mark.parametrize(
    ("question", "section", "lead"),
    [
        # 「…ってなんですか」「…ってなんだっけ」 ask what a thing is (kana respelled as the guideline's term)
        (
            "きょうどうってなんですか",
            "1-2",
            "協働とは、まちづくりを進めるに当たり、市民と市とが協力して活動していくことです。",
        ),
        ("きょうさいってなんだっけ", "3-1", "市民と市とが共に事業主体となり、"),
        # a definition asked of a section's own subject leads with what it is, not with its examples
        ("協定とは？", "3-3", "市民と市とが共通の目的を果たすため、"),
        ("きょうていってどういうもの？", "3-3", "市民と市とが共通の目的を果たすため、"),
        # the とは of 「…できることは、」 is こと's: the sentence saying who the 主役 is leads
        ("市民が主役ってどういうこと？", "1-2-1", "市民自治のまちづくりを進めていく主役は、市民です。"),
    ],
)
def test_a_colloquial_definition_leads_with_what_the_thing_is(chain, question, section, lead):
    answer = chain.ask(question)
    assert answer.cited_sections[0] == section
    assert answer.answer.startswith(lead)


def test_why_is_no_definition():
    assert analyze("きょうどうってなんですか").kind == "definition"
    assert analyze("協働ってなんでやるの？").kind != "definition"


@pytest.mark.parametrize(
    ("question", "section"),
    [
        # a heading's word typed in kana that MeCab read as a verb (こころえ → 心得る) is respelled
        ("協働のこころえってなに？", "4"),
        # 「…会って」 is a noun and って, not the verb 会う
        ("交流会って後援もらえる？", "3-7"),
        # a staff word the glossary reads as a heading's term names it when the question means it too
        ("町内会のイベントに市の名前だけ出すのは何にあたる？", "3-7"),
        # … but a question asking whether a thing is 協働 is about 協働 (1-2), not the form the word reads as
        ("協働って要は市の仕事の丸投げでしょ", "1-2"),
        # … and a noun the guideline never writes, read as one heading's term, is that heading's thing by
        # another name, whatever the dense ranking makes of it (覚書 read nearest to 後援 and 第５章（４）)
        ("覚書ってどう書けばいい？", "3-3"),
        ("覚書のひな形ってどこにあるの？", "3-3"),
        # the overview whose heading the question names answers, not its sub-section sharing a word
        ("きょうどうのパートナーってだれ？", "2-1"),
        ("学校は協働のパートナーに含む？", "2-1"),
    ],
)
def test_colloquial_words_find_the_section_they_ask_about(chain, question, section):
    assert chain.ask(question).cited_sections[0] == section


def test_money_asked_of_a_form_in_colloquial_words_is_answered_by_its_sentence_on_money(chain):
    """お金ももらえる reads as 補助: 後援's sentence speaking of what 補助 is decides."""
    assert chain.ask("こうえん名義ってお金ももらえるの？").answer.startswith("財政的な支援等はありません。")


def test_what_to_do_when_something_happens_leads_with_what_to_do(chain):
    answer = chain.ask("市民から企画を持ち込まれたらどうすればいい？")
    assert answer.cited_sections[0] == "2-3"
    lead = answer.answer.split("\n\n")[0]
    assert "どうやったら実現できるか" in lead
    assert not lead.startswith("直接、担当部署に企画が持ち込まれることも")


# --------------------------------------------------------------------------- typo21 (trial of 2 Dec)


def test_the_guideline_subject_typed_as_its_homophone_is_read_as_written(chain):
    """協同 (the IME's first candidate for きょうどう) is 協働, not 協定; 協同組合 stays as typed."""
    answer = chain.ask("協同ってなに？ざっくり教えて")
    assert answer.cited_sections == ["1-2"]
    assert answer.answer.startswith("協働とは、まちづくりを進めるに当たり")


def test_a_request_to_be_told_in_brief_is_no_second_part(chain):
    """「ざっくり教えて」 asks nothing of its own: it pulls in no section (5-12 was quoted for it)."""
    assert analyze("協働ってなに？ざっくり教えて").kind == "definition"
    answer = chain.ask("協働ってなに？ざっくり教えて")
    assert answer.cited_sections == ["1-2"]


def test_insurance_the_guideline_sets_no_rule_on_points_to_its_one_mention(chain):
    answer = chain.ask("協働事業のボランティアの保険ってどうすればいい？")
    assert answer.answer.startswith("ガイドラインにはボランティアの保険についての記載はありません")
    assert answer.cited_sections[0] == "5-13"
    assert "保険の加入などについて合意書を交わしています" in answer.answer
    # the section the answer stands on leads its contexts, not ４ 協働の心得 or Ｑ８, which the question's
    # other words (協働事業, ボランティア) ranked first
    assert answer.contexts[0].section_id == "5-13"
    # asked how it stands (「どうなってる？」), not read as a case asked for: the same, not Ｑ８'s 災害時のボランティア活動
    answer = chain.ask("協働でボランティアさんがけがしたときの保険ってどうなってる？")
    assert answer.answer.startswith("ガイドラインには保険についての記載はありません")
    assert answer.cited_sections[0] == "5-13"
    assert "保険の加入などについて合意書を交わしています" in answer.answer
    # a case asked for: what it agreed on answers, nothing is missing
    answer = chain.ask("パークゴルフ場の掃除をボランティアさんにお願いするとき、保険とかってどう取り決めてる例がある？")
    assert not answer.answer.startswith("ガイドラインには")
    assert answer.cited_sections[0] == "5-13"


# --------------------------------------------------------------------------- colloq22


def test_following_a_manual_is_answered_by_there_being_no_one_right_way(chain):
    """「マニュアル通りに」 asks about a way of working: 1-1 answers it, nothing is missing."""
    answer = chain.ask("協働ってマニュアル通りにやればいいの？")
    assert not answer.answer.startswith("ガイドラインには")
    assert answer.cited_sections[0] == "1-1"
    assert "これが正解" in answer.answer.split("\n\n")[0]


@pytest.mark.parametrize(
    ("question", "section", "phrase"),
    [
        # staff words the guideline never writes, read through the glossary
        ("協働ってどんなジャンルでできるの？", "6-Q8", "幅広い分野"),
        ("専門用語ばっかりの資料ってダメ？", "2-2", "一般的な言葉に変換"),
    ],
)
def test_colloquial_staff_words_find_the_section_that_answers(chain, question, section, phrase):
    answer = chain.ask(question)
    assert not answer.abstained
    assert answer.cited_sections[0] == section
    assert phrase in answer.answer.split("\n\n")[0]


@pytest.mark.parametrize(
    "question",
    [
        "役所のルールで服装の決まりってある？",
        "上司に無理なこと頼まれたらどうすればいい？",
        "会議資料の作り方を途中で変えてもいい？",
        "行政だけが持ってる個人情報の管理はどうする？",
    ],
)
def test_office_words_said_of_anything_are_no_glossary_words(chain, question):
    """「役所のルール」「無理なこと」「途中で変え」「行政だけ」 are said of anything in the office: read as the
    guideline's 市の理論・仕組み, できないこと, 進め方 or 市だけ, they had these questions answered (dev-oos22-*)."""
    assert chain.ask(question).abstained


@pytest.mark.parametrize("question", ["町内会の回覧板ってどう回すの？", "町内会の会費って月いくらくらいが相場？"])
def test_the_running_of_a_neighbourhood_association_is_out_of_scope(chain, question):
    """The guideline names 町内会 as a partner; how one runs itself (its officers, fees, circulars) is
    other business, listed in corpus/offtopic.toml, and is refused rather than answered from 後援 or 6-Q5."""
    assert chain.ask(question).abstained


def test_staff_taking_part_in_a_neighbourhood_association_is_still_answered(chain):
    answer = chain.ask("職員も地元の町内会とかに顔を出したほうがいいの？")
    assert not answer.abstained
    assert answer.cited_sections[0] == "6-Q5"


# --------------------------------------------------------------------------- lead22 (trial of 2 Dec)


def test_two_questions_of_one_section_lead_with_an_answer_to_each(chain):
    """「共催ってどういう形？あと経費は…」: the sentence stating the second part's detail no longer leads
    alone; what 共催 is leads too, in the text's order."""
    answer = chain.ask("共催ってどういう形？あと経費はどっちが持つの？")
    assert answer.cited_sections[0] == "3-1"
    first = lead(answer)
    assert first.startswith("市民と市とが共に事業主体となり")
    assert "経費負担や社会的責任については、双方にある" in first


def test_a_question_restating_a_qa_question_leads_with_its_answers_opening(chain):
    """Ｑ６ asks what to prepare; its answer opens 「市民との情報共有が、協働の第一歩です。」, not with a
    sentence from its middle (「市民ニーズや各種団体の活動など、…」)."""
    answer = chain.ask("協働で何かやりたいとき、事前に何を準備しておけばいい？")
    assert answer.cited_sections[0] == "6-Q6"
    assert lead(answer).startswith("市民との情報共有が、協働の第一歩です。")


def test_a_department_asked_for_is_named_once(chain):
    answer = chain.ask("レジ袋を減らす取組はどこがやってる？")
    assert answer.answer.startswith("担当は減量対策課です")
    assert answer.answer.count("減量対策課") == 1


def test_yes_no_questions_in_staff_words_lead_with_what_decides_them(chain):
    # お金は出る → 財政支援: 後援's 「財政的な支援等はありません。」 decides, not the sentence on judging
    assert "財政的な支援等はありません" in lead(chain.ask("後援になったら市からお金は出る？"))
    # 「…になれる？」 asks whether a partner is counted in: the sentence that counts it in leads
    assert "ＮＰＯや企業も含めて" in lead(chain.ask("企業も協働の相手になれる？"))


@pytest.mark.parametrize(
    "question",
    ["後援名義の申請書ってどこに送ればいいの？", "後援名義の審査って結果が出るまで何日くらい？"],
)
def test_a_missing_detail_of_sponsorship_is_not_answered_by_its_list_of_refusals(chain, question):
    """3-7's 「次の項目に当てはまる場合は、…適切でありません。」 says when the name is refused, not the form,
    the address or the wait asked: the answer says the detail is missing and quotes the section without it."""
    answer = chain.ask(question)
    assert answer.answer.startswith("ガイドラインには") and answer.cited_sections[0] == "3-7"
    assert "本市の施策の推進に寄与する" in answer.answer
    assert "次の項目に当てはまる場合" not in answer.answer and "・ 公序良俗に反する。" not in answer.answer


def test_an_amount_given_is_stated_by_a_section_saying_none_is_given(chain):
    """「いくら出すの？」 of 後援 is answered by 「財政的な支援等はありません。」; a fee asked of it is not."""
    answer = chain.ask("後援したら市は団体にいくら出すの？")
    assert "記載はありません" not in answer.answer
    assert lead(answer).startswith("財政的な支援等はありません。")
    assert chain.ask("後援名義を使わせてもらうのに手数料って何円かかる？").answer.startswith("ガイドラインには手数料")


def test_contents_of_a_document_the_guideline_describes_are_not_called_missing(chain):
    """5-13 says what its 合意書 covers (「…保険の加入などについて合意書を交わしています」)."""
    answer = chain.ask("クリーンアップ・サポーターの合意書って何を書いてるの？")
    assert "記載はありません" not in answer.answer
    assert "保険の加入などについて合意書を交わしています" in lead(answer)


@pytest.mark.parametrize(
    ("typed", "searched"),
    [
        ("住民さんでできることは住民さんでやってもらうってこと？", "市民でできることは市民でやってもらうってこと？"),
        ("住民の方から企画が来たら？", "市民から企画が来たら？"),
        ("市民の皆さんに知らせるには？", "市民に知らせるには？"),
        # the guideline's own 住民 and a word that only starts like the polite form stay as typed
        ("町内会って住民なら誰でも入れる？", "町内会って住民なら誰でも入れる？"),
        ("住民の方法", "住民の方法"),
        ("住民票の写しは？", "住民票の写しは？"),
    ],
)
def test_the_citizens_as_staff_speak_of_them_are_searched_as_the_guidelines_shimin(typed, searched):
    assert as_citizens(typed) == searched


def test_a_question_about_the_citizens_in_staff_words_is_answered_from_the_section_about_them(chain):
    """住民 as typed drew 「住民さんでできることは…」 to 第６章 Ｑ５ 「地域住民であれば誰でも加入できる」."""
    answer = chain.ask("住民さんでできることは住民さんでやってもらうってこと？")
    assert answer.cited_sections[0] == "1-2-1"
    assert "市民の手で主体的に取り組んでいきます" in answer.answer.split("■")[0]


def test_a_question_about_the_citizens_outside_the_guideline_is_still_refused(chain):
    assert chain.ask("住民さんから騒音の苦情が来たらどうする？").abstained


def test_a_follow_up_count_is_of_the_thing_the_question_before_named(chain):
    """「市内にいくつあるの？」 after 町内会 (answered from 第２章 １) counts 町内会: 第１章 ３ states the number,
    though the previous section's title, searched with the question, ranks it out of the top few."""
    answer = chain.ask("市内にいくつあるの？", turn(chain, "町内会って協働の相手になる？"))
    assert answer.cited_sections[0] == "1-3"
    assert "８０を超える町内会" in lead(answer)
    assert not answer.partial and "記載はありません" not in answer.answer


def test_a_follow_up_is_answered_where_its_own_words_are_said(chain):
    """After Ｑ６, a follow-up naming things Ｑ６ never says together is answered by 第４章's sentence
    that says them, not by Ｑ６ again, which the previous question's words favour."""
    history = turn(chain, "協働を始めるにはまず何をすればいい？")
    assert {c["section_id"] for c in history[1]["citations"]} == {"6-Q6"}
    answer = chain.ask("市民の関心が高いところからでもいい？", history)
    assert answer.cited_sections[0] == "4"
    assert "市民の関心が高い部分から試行" in lead(answer)


def test_asked_with_whom_the_sentence_naming_the_partner_leads(chain):
    answer = chain.ask("誰と一緒にやったの？", turn(chain, "まちづくりトークってなに？"))
    assert answer.cited_sections[0] == "5-5"
    assert "苫小牧市町内会連合会との共催" in lead(answer)


def test_asked_when_it_is_not_allowed_the_refusing_sentence_leads(chain):
    """「逆に…」 after 後援's definition asks the other side; the question names which: the sentence
    refusing it leads, though the last answer showed it below its lead (not 「財政的な支援等はありません。」)."""
    history = turn(chain, "後援ってなに？")
    assert "適切でありません" in history[1]["content"]
    answer = chain.ask("逆にダメなのはどういうとき？", history)
    assert "後援名義を使用させることは適切でありません" in lead(answer)
    assert not lead(answer).startswith("財政的な支援等はありません")


def test_where_to_have_lunch_is_refused_mid_conversation_and_alone(chain):
    assert chain.ask("今日のお昼どこで食べる？").abstained
    assert chain.ask("今日のお昼どこで食べる？", turn(chain, "委託ってどういう形？")).abstained


def test_an_interval_asked_of_a_review_the_guideline_does_not_time_is_said_to_be_missing(chain):
    """4-5 says to review 「一定期間ごとに」: that there is an interval, not how long it is."""
    answer = chain.ask("どれくらいの間隔で見直すの？", turn(chain, "相手方の固定化を避けるってどういうこと？"))
    assert answer.partial and answer.answer.startswith("ガイドラインには間隔")
    assert answer.cited_sections[0] == "4-5"


def test_a_staff_word_one_of_whose_readings_was_just_said_asks_about_that(chain):
    """取り決め reads as 協定 and 合意書; after 第５章（13）'s 「…合意書を交わしています。」 it is that
    agreement, not 第３章（３）協定."""
    answer = chain.ask("何を取り決めてるの？", turn(chain, "クリーンアップ・サポーター制度って何？"))
    assert answer.cited_sections[0] == "5-13"
    assert "合意書を交わしています" in lead(answer)
