"""The admins' insights page as HTML (every text from the log or the guideline escaped).

``assistant.insights`` computes the figures; this module only lays them out. The page's script
(``static/insights.js``) puts the HTML in place and turns a logged question into a draft eval case.
"""

from __future__ import annotations

from html import escape

from assistant.insights import InsightsReport, QuestionGroup

OUTCOME_NAMES = {"answer": "回答", "partial": "一部回答", "abstain": "回答できず"}


def _outcomes(counts: dict[str, int]) -> str:
    return "、".join(f"{OUTCOME_NAMES[o]} {counts[o]:,}" for o in OUTCOME_NAMES if counts.get(o))


def _draft_button(entry_id: int) -> str:
    return (
        f'<button type="button" class="draft-case" data-entry="{entry_id}">評価ケースの下書きを作る</button>'
        f'<pre class="draft-line" id="draft-{entry_id}" hidden></pre>'
    )


def _groups(groups: list[QuestionGroup], empty: str, drafts: bool) -> str:
    if not groups:
        return f'<p class="insights-empty">{empty}</p>'
    rows = []
    for g in groups:
        others = "".join(f"<li>{escape(e)}</li>" for e in g.examples[:3])
        more = f"<ul class='similar'>{others}</ul>" if others else ""
        draft = f"<td>{_draft_button(g.entry_id)}</td>" if drafts else ""
        rows.append(
            f"<tr><td class='num'>{g.count:,}</td><td>{escape(g.question)}{more}</td>"
            f"<td>{_outcomes(g.outcomes)}</td>{draft}</tr>"
        )
    draft_head = "<th>評価ケース</th>" if drafts else ""
    return (
        f"<table><thead><tr><th>件数</th><th>質問（似た言い回しをまとめて）</th><th>結果</th>{draft_head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def insights_html(report: InsightsReport) -> str:
    """The whole page: summary, questions per day, most asked, unanswered, 👎, sections, recent."""
    parts = ['<section class="insights" aria-label="利用状況">']
    status = (
        f"質問ログ：記録中（{report.retention_days}日より古い記録は自動で削除）"
        if report.logging_enabled
        else "質問ログ：記録しない設定です（ASSISTANT_QUESTION_LOG=off）。フィードバックのみ表示しています。"
    )
    parts.append(
        f'<p class="insights-summary">記録されている質問 <strong>{report.total:,}</strong> 件'
        f"（{_outcomes(report.outcomes) or 'なし'}）　{status}　"
        '<a href="/admin/questions.csv" download="questions.csv">CSV で書き出す</a></p>'
    )

    peak = max((sum(c.values()) for _, c in report.days), default=0) or 1
    bars = []
    for day, counts in report.days:
        total = sum(counts.values())
        segments = "".join(
            f'<span class="bar {o}" style="width:{100 * counts[o] / peak:.1f}%"></span>'
            for o in OUTCOME_NAMES
            if counts[o]
        )
        bars.append(
            f'<div class="day"><span class="date">{day.month}/{day.day}</span>'
            f'<span class="bars" role="img" aria-label="{day.month}月{day.day}日 {total}件">{segments}</span>'
            f'<span class="num">{total}</span></div>'
        )
    legend = "".join(f'<span class="key {o}">{name}</span>' for o, name in OUTCOME_NAMES.items())
    parts.append(f"<h3>日ごとの質問数（直近{len(report.days)}日）</h3><div class='legend'>{legend}</div>")
    parts.append(f'<div class="per-day">{"".join(bars)}</div>')

    parts.append("<h3>よく聞かれる質問</h3>")
    parts.append(_groups(report.most_asked, "まだ質問が記録されていません。", drafts=False))
    parts.append("<h3>回答できなかった・一部だけ回答した質問</h3>")
    parts.append(
        "<p>ガイドラインに書かれていない内容です。改訂で補う候補になります。"
        "「評価ケースの下書きを作る」で評価データセットの1行（split: dev、要確認）を作れます。</p>"
    )
    parts.append(_groups(report.unanswered, "回答できなかった質問はありません。", drafts=True))

    parts.append(f"<h3>👎 の付いた回答（新しい順、{len(report.downvoted)}件）</h3>")
    if report.downvoted:
        rows = "".join(
            f"<tr><td>{escape(d['created_at'][:16].replace('T', ' '))}</td><td>{escape(d['question'])}</td>"
            f"<td>{escape(d['comment']) or '（コメントなし）'}</td><td class='answer'>{escape(d['answer'][:200])}</td></tr>"
            for d in report.downvoted
        )
        parts.append(
            "<table><thead><tr><th>日時（UTC）</th><th>質問</th><th>コメント</th><th>回答</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
        )
    else:
        parts.append('<p class="insights-empty">👎 の付いた回答はありません。</p>')

    never = report.never_cited
    parts.append(f"<h3>節ごとの引用回数（一度も引用されていない節：{len(never)} / {len(report.sections)}）</h3>")
    rows = "".join(
        f"<tr{' class=never' if s.hits == 0 else ''}><td>{escape(s.label)}</td><td class='num'>{s.hits:,}</td></tr>"
        for s in report.sections
    )
    parts.append(
        f'<details><summary>すべての節を表示</summary><table class="sections"><thead><tr><th>節</th><th>引用</th></tr>'
        f"</thead><tbody>{rows}</tbody></table></details>"
    )

    parts.append(f"<h3>最近の質問（{len(report.recent)}件）</h3>")
    if report.recent:
        rows = "".join(
            f"<tr><td>{e.asked_at:%m/%d %H:%M}</td><td>{escape(e.question)}</td><td>{OUTCOME_NAMES[e.outcome]}</td>"
            f"<td>{escape(' '.join(s['section_id'] for s in e.sections))}</td><td>{_draft_button(e.id or 0)}</td></tr>"
            for e in report.recent
        )
        parts.append(
            "<table><thead><tr><th>日時（UTC）</th><th>質問</th><th>結果</th><th>引用した節</th><th>評価ケース</th></tr>"
            f"</thead><tbody>{rows}</tbody></table>"
        )
    else:
        parts.append('<p class="insights-empty">まだ質問が記録されていません。</p>')
    parts.append("</section>")
    return "".join(parts)
