"""The ``assistant`` command: parses arguments, calls the library, prints its results."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from assistant.errors import AssistantError
from assistant.settings import Settings, SettingsError


def cmd_sections(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.corpus import load_corpus

    documents = load_corpus(settings.corpus_dir)
    if args.json:
        rows = [
            {
                "doc_id": s.doc_id,
                "section_id": s.section_id,
                "title": s.title,
                "label": s.label,
                "level": s.level,
                "parent": s.parent,
                "department": s.department,
                "text": s.text,
            }
            for d in documents
            for s in d.sections
        ]
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return 0
    for doc in documents:
        print(f"{doc.title} [{doc.doc_id}]")
        for s in doc.sections:
            indent = "  " * s.level
            department = f"（{s.department}）" if s.department else ""
            print(f"{indent}{s.section_id:<6} {s.heading}{department}  ({len(s.text)}字)")
    return 0


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.service import update_index

    report = update_index(settings, rebuild=args.rebuild, wait=args.wait, progress=sys.stderr.isatty())
    words = {"built": "作成しました", "updated": "更新しました", "unchanged": "変更はありません"}
    print(
        f"索引を{words[report.status]}: {report.chunks} チャンク（新たに埋め込み {report.embedded}、"
        f"追加 {report.added}、削除 {report.removed}）{report.seconds:.2f} 秒 [{report.build_id}]"
    )
    return 0


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.service import load_service

    service = load_service(settings, progress=sys.stderr.isatty())
    hits = service.retriever.search(args.query, k=args.k, mode=args.mode)
    if args.json:
        rows = [
            {
                "rank": rank,
                "doc_id": h.chunk.doc_id,
                "section_id": h.section_id,
                "title_path": h.chunk.title_path,
                "score": h.score,
                "dense_rank": h.dense_rank,
                "dense_score": h.dense_score,
                "bm25_rank": h.bm25_rank,
                "bm25_score": h.bm25_score,
                "text": h.chunk.text,
            }
            for rank, h in enumerate(hits, start=1)
        ]
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return 0
    if not hits:
        print("該当する箇所は見つかりませんでした。")
    for rank, h in enumerate(hits, start=1):
        dense = f"{h.dense_score:.3f} (#{h.dense_rank})" if h.dense_rank else "-"
        bm25 = f"{h.bm25_score:.2f} (#{h.bm25_rank})" if h.bm25_rank else "-"
        print(f"{rank}. [{h.section_id}] {h.chunk.title_path}")
        print(f"   score {h.score:.4f}  dense {dense}  bm25 {bm25}")
        print("   " + h.chunk.text.replace("\n", "\n   "))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="assistant", description="協働ガイドライン 職員向けアシスタント")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("sections", help="ガイドラインの章・節の一覧を表示する")
    p.add_argument("--json", action="store_true", help="JSON 配列で出力する")
    p.set_defaults(func=cmd_sections)

    p = sub.add_parser("index", help="索引を作成・更新する（変更がなければほぼ何もしない）")
    p.add_argument("--rebuild", action="store_true", help="変更の有無にかかわらず作り直す")
    p.add_argument("--wait", action="store_true", help="別の索引作成が実行中なら終わるまで待つ")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("search", help="ガイドラインを検索して該当箇所を順位付きで表示する")
    p.add_argument("query", help="質問や検索語")
    p.add_argument("--mode", choices=["hybrid", "dense", "bm25"], default=None, help="検索方式（既定: hybrid）")
    p.add_argument("--k", type=int, default=5, help="表示する件数")
    p.add_argument("--json", action="store_true", help="JSON で出力する")
    p.set_defaults(func=cmd_search)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        return args.func(args, settings)
    except SettingsError as exc:
        print(
            f"エラー: 設定値が正しくありません。ASSISTANT_* 環境変数を確認してください。 / Error: {exc}",
            file=sys.stderr,
        )
        return 2
    except AssistantError as exc:
        print(exc.one_line(), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("中断しました。 / Interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
