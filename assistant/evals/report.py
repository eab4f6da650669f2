"""Eval reports: report.json, report.md and report.html (with plain SVG plots, no plotting library)."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from assistant.evals.evaluator import CaseResult, ModeRun, by_style, by_tag

HEADLINE = [
    "hit@1",
    "hit@3",
    "hit@5",
    "mrr",
    "ndcg@5",
    "context_precision",
    "context_recall",
    "citation_precision",
    "citation_recall",
    "cites_gold",
    "both_sides",
    "says_missing",
    "false_missing",
    "follow_up",
    "must_include",
    "lead",
    "token_f1",
    "rouge_l",
    "faithfulness",
    "judge_faithfulness",
    "judge_correctness",
    "abstention_precision",
    "abstention_recall",
    "false_abstention_rate",
    "latency_ms_median",
    "latency_ms_p95",
]


def fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.1f}" if value > 10 else f"{value:.3f}"
    return str(value)


def report_data(runs: list[ModeRun], meta: dict[str, Any]) -> dict[str, Any]:
    return {
        "meta": meta,
        "runs": {
            run.label: {
                "mode": run.mode,
                "answerer": run.answerer,
                "splits": {
                    split: {
                        "summary": summary,
                        "by_tag": by_tag(run.split(split)),
                        "by_style": by_style(run.split(split)),
                    }
                    for split, summary in run.splits.items()
                },
                "cases": [
                    {
                        "id": r.case.id,
                        "split": r.case.split,
                        "question": r.case.question,
                        "expected": r.case.expected,
                        "gold_sections": r.case.gold_sections,
                        "retrieved": r.retrieved,
                        "cited": r.cited,
                        "abstained": r.abstained,
                        "evidence": r.evidence,
                        "seconds": r.seconds,
                        "metrics": r.metrics,
                        "failed": r.failed,
                        "failures": r.failures,
                        "error": r.error,
                        "answer": r.answer,
                    }
                    for r in run.results
                ],
            }
            for run in runs
        },
    }


def write_reports(runs: list[ModeRun], meta: dict[str, Any], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    data = report_data(runs, meta)
    paths = [folder / "report.json", folder / "report.md", folder / "report.html"]
    paths[0].write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    paths[1].write_text(markdown(runs, meta), encoding="utf-8")
    paths[2].write_text(html_report(runs, meta), encoding="utf-8")
    return paths


def summary_table(runs: list[ModeRun]) -> str:
    """Every metric for each run and split, dev and test side by side."""
    columns = [(f"{run.label} {split}", summary) for run in runs for split, summary in run.splits.items()]
    lines = ["| metric | " + " | ".join(c for c, _ in columns) + " |", "|---|" + "---|" * len(columns)]
    for name in [n for n in HEADLINE if any(s.get(n) is not None for _, s in columns)]:
        lines.append(f"| {name} | " + " | ".join(fmt(s.get(name)) for _, s in columns) + " |")
    lines.append("| cases / failed | " + " | ".join(f"{s['cases']} / {s['failed']}" for _, s in columns) + " |")
    return "\n".join(lines)


def _passed(summary: dict[str, Any]) -> str:
    return f"{summary['cases'] - summary['failed']}/{summary['cases']}"


def markdown(runs: list[ModeRun], meta: dict[str, Any]) -> str:
    main = runs[0]
    splits = list(main.splits)
    out = [
        "# Eval report",
        "",
        f"dataset: {meta.get('dataset')} ({meta.get('cases')} cases), embedding: {meta.get('embedding_model')}, "
        f"answerer: {meta.get('answerer')}, abstention threshold: {meta.get('abstain_threshold')}",
        "",
        *([f"note: {meta['note']}", ""] if meta.get("note") else []),
        "## Summary (all modes, dev and test)",
        "",
        summary_table(runs),
        "",
        f"## By style ({main.label}: cases passed)",
        "",
        "| style | " + " | ".join(splits) + " |",
        "|---|" + "---|" * len(splits),
    ]
    styles = {split: by_style(main.split(split)) for split in splits}
    for style in dict.fromkeys(s for split in splits for s in styles[split]):
        cells = [_passed(styles[split][style]) if style in styles[split] else "–" for split in splits]
        out.append(f"| {style} | " + " | ".join(cells) + " |")
    out += [
        "",
        f"## By tag ({main.label})",
        "",
        "| split | tag | cases | hit@1 | hit@5 | mrr | must_include | lead | citation_recall | abstained OOS |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for split in splits:
        for tag, s in by_tag(main.split(split)).items():
            out.append(
                f"| {split} | {tag} | {s['cases']} | {fmt(s.get('hit@1'))} | {fmt(s.get('hit@5'))} | "
                f"{fmt(s.get('mrr'))} | {fmt(s.get('must_include'))} | {fmt(s.get('lead'))} | "
                f"{fmt(s.get('citation_recall'))} | "
                f"{fmt(s.get('abstention_recall'))} |"
            )
    for split in splits:
        failed = [r for r in main.split(split) if r.failed]
        out += [
            "",
            f"## Failed cases, {split} ({main.label}: {len(failed)})",
            "",
            "| id | question | expected | gold | cited | why |",
            "|---|---|---|---|---|---|",
        ]
        for r in failed:
            q = r.case.question.replace("|", "｜")
            out.append(
                f"| {r.case.id} | {q} | {r.case.expected} | {', '.join(r.case.gold_sections) or '–'} | "
                f"{', '.join(dict.fromkeys(r.cited)) or ('(abstained)' if r.abstained else '')} | "
                f"{'; '.join(r.failures).replace('|', '｜')} |"
            )
    return "\n".join(out) + "\n"


def _bars(values: list[tuple[str, float]], title: str) -> str:
    """A horizontal bar chart (values in 0..1) as inline SVG."""
    width, row = 520, 22
    height = 30 + row * len(values)
    parts = [f'<svg width="{width}" height="{height}" role="img" aria-label="{html.escape(title)}">']
    parts.append(f'<text x="0" y="16" font-size="14">{html.escape(title)}</text>')
    for i, (label, value) in enumerate(values):
        y = 26 + i * row
        parts.append(f'<text x="0" y="{y + 14}" font-size="12">{html.escape(label)}</text>')
        parts.append(f'<rect x="110" y="{y + 3}" width="{value * 360:.1f}" height="14" fill="#4c78a8"/>')
        parts.append(f'<text x="{115 + value * 360:.1f}" y="{y + 14}" font-size="12">{value:.2f}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _histogram(results: list[CaseResult], threshold: float) -> str:
    """Evidence scores of in-scope vs out-of-scope cases, with the abstention threshold."""
    scores = [r.evidence for r in results if not r.error]
    if not scores:
        return ""
    low, high = min([*scores, threshold]) - 0.005, max([*scores, threshold]) + 0.005
    bins = 30
    step = (high - low) / bins
    counts = {False: [0] * bins, True: [0] * bins}
    for r in results:
        if not r.error:
            counts[r.case.out_of_scope][min(bins - 1, int((r.evidence - low) / step))] += 1
    peak = max(max(c) for c in counts.values()) or 1
    width, height, base = 600, 220, 190
    parts = [f'<svg width="{width}" height="{height}" role="img" aria-label="evidence histogram">']
    bar = (width - 40) / bins
    for oos, color in ((False, "rgba(76,120,168,0.7)"), (True, "rgba(228,87,86,0.7)")):
        for i, c in enumerate(counts[oos]):
            h = c / peak * 160
            parts.append(
                f'<rect x="{20 + i * bar:.1f}" y="{base - h:.1f}" width="{bar - 1:.1f}" height="{h:.1f}" fill="{color}"/>'
            )
    x = 20 + (threshold - low) / (high - low) * (width - 40)
    parts.append(f'<line x1="{x:.1f}" y1="20" x2="{x:.1f}" y2="{base}" stroke="black" stroke-dasharray="4"/>')
    parts.append(f'<text x="{x + 4:.1f}" y="30" font-size="12">threshold {threshold:.3f}</text>')
    parts.append(f'<text x="20" y="{base + 16}" font-size="12">{low:.3f}</text>')
    parts.append(f'<text x="{width - 60}" y="{base + 16}" font-size="12">{high:.3f}</text>')
    parts.append(f'<text x="20" y="{base + 28}" font-size="12" fill="#4c78a8">■ in scope</text>')
    parts.append(f'<text x="120" y="{base + 28}" font-size="12" fill="#e45756">■ out of scope</text>')
    parts.append("</svg>")
    return "".join(parts)


def html_report(runs: list[ModeRun], meta: dict[str, Any]) -> str:
    e = html.escape
    main = runs[0]
    columns = [(f"{run.label} {split}", summary) for run in runs for split, summary in run.splits.items()]
    chapters = [(tag, s.get("hit@1") or 0.0) for tag, s in by_tag(main.results).items() if tag.startswith("ch")]
    rows = "".join(
        "<tr>" + f"<td>{e(name)}</td>" + "".join(f"<td>{fmt(s.get(name))}</td>" for _, s in columns) + "</tr>"
        for name in HEADLINE
    )
    failed = "".join(
        f"<tr><td>{e(r.case.split)}</td><td>{e(r.case.id)}</td><td>{e(r.case.question)}</td>"
        f"<td>{e(', '.join(r.case.gold_sections) or '対象外')}</td><td>{e(', '.join(dict.fromkeys(r.cited)))}</td>"
        f"<td>{e('; '.join(r.failures))}</td><td><pre>{e(r.answer[:400])}</pre></td></tr>"
        for r in main.results
        if r.failed
    )
    return f"""<!doctype html><html lang="ja"><head><meta charset="utf-8"><title>Eval report</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;vertical-align:top}}pre{{white-space:pre-wrap;margin:0;font-size:12px}}</style></head><body>
<h1>Eval report</h1>
<p>dataset: {e(str(meta.get("dataset")))} ({meta.get("cases")} cases) · embedding: {e(str(meta.get("embedding_model")))} · answerer: {e(str(meta.get("answerer")))}</p>
<h2>Summary</h2><table><tr><th>metric</th>{"".join(f"<th>{e(c)}</th>" for c, _ in columns)}</tr>{rows}</table>
<h2>Hit@1 by chapter ({e(main.label)})</h2>{_bars(chapters, "hit@1")}
<h2>Evidence: in scope vs out of scope ({e(main.label)})</h2>{_histogram(main.results, float(meta.get("abstain_threshold", 0.0)))}
<h2>Failed cases ({e(main.label)})</h2><table><tr><th>split</th><th>id</th><th>question</th><th>gold</th><th>cited</th><th>why</th><th>answer</th></tr>{failed}</table>
</body></html>"""
