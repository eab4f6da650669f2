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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="assistant", description="協働ガイドライン 職員向けアシスタント")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("sections", help="ガイドラインの章・節の一覧を表示する")
    p.add_argument("--json", action="store_true", help="JSON 配列で出力する")
    p.set_defaults(func=cmd_sections)
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
