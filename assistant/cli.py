"""The ``assistant`` command: parses arguments, calls the library, prints its results."""

from __future__ import annotations

import argparse
import atexit
import contextlib
import gc
import json
import logging
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from assistant.errors import AssistantError
from assistant.settings import Settings, SettingsError, bundled_dir, running_from_checkout

if TYPE_CHECKING:
    from assistant.answering.chain import AnswerChain

log = logging.getLogger(__name__)
MAX_SEARCH_RESULTS = 50


def result_count(raw: str) -> int:
    """``--k``: how many results, 1 to ``MAX_SEARCH_RESULTS``."""
    try:
        k = int(raw)
    except ValueError:
        k = 0
    if not 1 <= k <= MAX_SEARCH_RESULTS:
        raise argparse.ArgumentTypeError(f"1 から {MAX_SEARCH_RESULTS} までの整数で指定してください: {raw!r}")
    return k


def cmd_sections(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.ingestion.corpus import load_corpus

    documents = load_corpus(settings.corpus_dir, settings.max_document_bytes)
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


def _print_build(report) -> None:
    words = {"built": "索引を作成しました", "updated": "索引を更新しました", "unchanged": "索引に変更はありません"}
    print(
        f"{words[report.status]}: {report.chunks} チャンク（新たに埋め込み {report.embedded}、"
        f"追加 {report.added}、削除 {report.removed}）{report.seconds:.2f} 秒 [{report.build_id}]"
    )


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.index.store import build_index

    _print_build(build_index(settings, rebuild=args.rebuild, wait=args.wait, progress=sys.stderr.isatty()))
    return 0


def cmd_documents(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.ingestion.corpus import read_registry, unlisted_files

    entries = read_registry(settings.corpus_dir) or []
    strays = unlisted_files(settings.corpus_dir)
    if args.json:
        rows = [{**vars(e)} for e in entries]
        print(json.dumps({"documents": rows, "ignored": [p.name for p in strays]}, ensure_ascii=False, indent=1))
        return 0
    for e in entries:
        print(f"{e.doc_id}\t{e.title}\t{e.file}\t{e.sections} 節\tsha256:{e.sha256[:12]}")
    for path in strays:
        print(f"※ 登録されていないファイルは読み込みません: {path.name}（追加するには assistant add）")
    return 0


def writable_corpus(settings: Settings) -> Settings:
    """The settings with a corpus ``add``/``remove`` may change. Installed, the bundled guideline is
    part of the package: the first change copies it to ``$ASSISTANT_HOME/corpus``, which is the
    corpus from then on (see ``settings.default_corpus_dir``)."""
    from assistant.ingestion.corpus import copy_corpus

    bundled = bundled_dir("corpus")
    if running_from_checkout() or settings.corpus_dir.resolve() != bundled.resolve():
        return settings
    target = settings.home / "corpus"
    copy_corpus(bundled, target)
    print(f"文書のフォルダを {target} に作りました（同梱のガイドラインも含みます）。", file=sys.stderr)
    return settings.replace(corpus_dir=target)


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.ingestion.corpus import add_document

    settings = writable_corpus(settings)
    if (args.title or args.id) and len(args.files) > 1:
        print("エラー: --title と --id は1ファイルずつ指定してください。", file=sys.stderr)
        return 2
    refused = 0
    for path in args.files:
        try:
            document, entry = add_document(
                settings.corpus_dir, path, title=args.title, doc_id=args.id, max_bytes=settings.max_document_bytes
            )
        except AssistantError as exc:
            print(exc.one_line(), file=sys.stderr)
            refused += 1
            continue
        print(f"追加しました: {entry.doc_id}「{document.title}」 {len(document.sections)} 節（{entry.file}）")
    if refused < len(args.files) and not args.no_index:
        from assistant.index.store import build_index

        _print_build(build_index(settings, wait=True, progress=sys.stderr.isatty()))
    return 2 if refused else 0


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.ingestion.corpus import remove_document

    settings = writable_corpus(settings)
    entry = remove_document(settings.corpus_dir, args.doc_id)
    print(f"削除しました: {entry.doc_id}「{entry.title}」（{entry.file}）")
    if not args.no_index:
        from assistant.index.store import build_index

        _print_build(build_index(settings, wait=True, progress=sys.stderr.isatty()))
    return 0


def one_shot() -> None:
    """For a command that answers once and ends: no garbage collection. Collections during the imports
    of LangChain, Chroma and pydantic cost ~0.35 s of CPU (a tenth of a cold `assistant ask`); the
    little cyclic garbage one answer leaves goes with the process (``run`` ends it with ``end_now``)."""
    gc.disable()


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.ingestion.japanese import default_tokenizer
    from assistant.limits import QuestionError, validate_question

    query = validate_question(args.query)  # before loading models: unreadable, empty or too long
    if not default_tokenizer().has_content(query):
        raise QuestionError(
            f"no content word in {len(query)} characters",
            ja="検索できる語が含まれていません。調べたいことを言葉で入力してください（例：後援名義）。",
        )
    one_shot()
    from assistant.service import load_service

    service = load_service(settings, progress=sys.stderr.isatty())
    unknown = sorted(set(args.doc or ()) - {d.doc_id for d in service.documents})
    if unknown:
        raise QuestionError(
            f"unknown document {unknown[0]!r}",
            ja=f"文書「{unknown[0]}」は登録されていません（assistant documents で確認できます）。",
        )
    hits = service.retriever.search(query, k=args.k, mode=args.mode, doc_ids=args.doc)
    if args.json:
        print(
            json.dumps(
                [{"rank": rank, **h.to_json()} for rank, h in enumerate(hits, start=1)], ensure_ascii=False, indent=1
            )
        )
        return 0
    if not hits:
        print("該当する箇所は見つかりませんでした。")
    for rank, h in enumerate(hits, start=1):
        ranks = "  ".join(f"{name} {h.scores[name]:.3f} (#{r})" for name, r in h.ranks.items())
        print(f"{rank}. [{h.section_id}] {h.title}")
        print(f"   score {h.score:.4f}  {ranks}")
        print("   " + h.text.replace("\n", "\n   "))
    return 0


def _print_answer(answer) -> None:
    print(answer.answer)
    if answer.notes:
        print("\n" + "\n".join(f"※ {n}" for n in answer.notes))
    if answer.citations:
        print("\n出典：")
        for label in dict.fromkeys(c.label for c in answer.citations):
            print(f"  ［{label}］")


def batch_question(line: str) -> tuple[Any, list[dict[str, Any]]]:
    """A batch line: ``{"question": …, "history": [{"role", "content"[, "citations"]}…]}``, or else a question as text
    (a line such as 「{{7*7}} とは」 that is not a JSON object is a question too)."""
    from assistant.limits import QuestionError

    try:
        request = json.loads(line) if line.lstrip().startswith("{") else None
    except ValueError:
        request = None
    if not isinstance(request, dict):
        return line, []
    unknown = sorted(set(request) - {"question", "history"})
    if "question" not in request or unknown:
        raise QuestionError(
            f"expected the keys question and history, got {sorted(request)}",
            ja='JSON の行には "question"（と必要なら "history"）だけを書いてください。',
        )
    history = request.get("history") or []
    if not isinstance(history, list) or not all(_history_message(m) for m in history):
        raise QuestionError(
            "history must be a list of {role: user|assistant, content: text"
            ", and for an answer optionally citations: [{doc_id, section_id}]}",
            ja='"history" は {"role": "user" か "assistant", "content": 文字列} の配列にしてください'
            '（回答には "citations": [{"doc_id", "section_id"}] も付けられます）。',
        )
    return request["question"], history


def _history_message(m: Any) -> bool:
    """{"role", "content"}; an assistant message may add the sections it cited, as ``ask --json`` gave
    them (``citations``: objects with ``doc_id`` and ``section_id``; other keys of a citation are ignored)."""
    if not (isinstance(m, dict) and m.get("role") in ("user", "assistant") and isinstance(m.get("content"), str)):
        return False
    if set(m) == {"role", "content"}:
        return True
    cited = m.get("citations")
    return (
        set(m) == {"role", "content", "citations"}
        and m["role"] == "assistant"
        and isinstance(cited, list)
        and all(
            isinstance(c, dict) and isinstance(c.get("doc_id"), str) and isinstance(c.get("section_id"), str)
            for c in cited
        )
    )


def _answer_line(chain: AnswerChain, line: str, doc_ids: Sequence[str] = ()) -> dict[str, Any]:
    """One batch line's JSON row: the answer, or the error. Whatever happens, the next line is read."""
    shown: Any = line
    try:
        shown, history = batch_question(line)
        return chain.ask(shown, history, doc_ids=doc_ids).to_json()
    except AssistantError as exc:
        error = {"error": exc.ja, "error_detail": str(exc)}
    except Exception as exc:  # a bug must cost one line, not the rest of the batch
        log.exception("answering a batch line failed")
        error = {"error": "内部エラーのため、この質問には回答できませんでした。", "error_detail": repr(exc)}
    if isinstance(shown, str):  # lone surrogates (bytes that were not UTF-8) are shown as U+FFFD
        shown = "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in shown)
    return {"question": shown, **error}


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.limits import validate_question

    if args.question != "-":
        validate_question(args.question)  # fail fast, before importing and loading the models
        one_shot()
    from assistant.answering.live import load_chain

    if args.question == "-":
        chain = load_chain(settings)
        # Bytes in: a line that is not UTF-8 becomes lone surrogates, which validation refuses.
        for raw in sys.stdin.buffer:
            line = raw.decode("utf-8", "surrogateescape").rstrip("\r\n")
            print(json.dumps(_answer_line(chain, line, args.doc or ()), ensure_ascii=False), flush=True)
        return 0
    answer = load_chain(settings).ask(args.question, doc_ids=args.doc or ())
    if args.json:
        print(json.dumps(answer.to_json(), ensure_ascii=False, indent=1))
    else:
        _print_answer(answer)
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.ui.server import serve

    serve(settings, host=args.host, port=args.port)
    return 0


def cmd_feedback_export(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.feedback import FeedbackStore, export_candidates

    output = args.output or settings.reports_dir / "feedback_candidates.jsonl"
    count = export_candidates(FeedbackStore.from_settings(settings), output)
    print(f"👎 の付いた回答 {count} 件を評価ケースの下書き（split: dev、要確認）として書き出しました: {output}")
    return 0


def cmd_db_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.database import Database

    db = Database.from_settings(settings)
    before, after = db.migrate()
    if before == after:
        print(f"データベースは最新の版です（{after}）: {db.display}")
    else:
        print(f"データベースを {before or '空'} から {after} に更新しました: {db.display}")
    return 0


def cmd_db_downgrade(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.database import Database

    db = Database.from_settings(settings)
    before, after = db.downgrade(args.revision)
    print(f"データベースを {before or '空'} から {after or '空（表なし）'} に戻しました: {db.display}")
    return 0


def cmd_db_copy(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.database import Database, copy_database

    source = Database.from_settings(settings)
    target = Database(args.to)
    counts = copy_database(source, target)
    print(
        f"コピーしました: フィードバック {counts['feedback']:,} 件、質問ログ {counts['question_log']:,} 件"
        f"（{source.display} → {target.display}）"
    )
    return 0


def _auth_file(settings: Settings) -> Path:
    path = settings.auth_file.strip()
    if not path:
        raise AssistantError(
            "ASSISTANT_AUTH_FILE is not set",
            ja="ログイン情報のファイルが設定されていません。ASSISTANT_AUTH_FILE にファイルの場所を設定してください。",
        )
    return Path(path).expanduser()


def _read_new_password() -> str:
    if not sys.stdin.isatty():  # a script: the first line of standard input
        return sys.stdin.readline().rstrip("\r\n")
    import getpass

    password = getpass.getpass("パスワード: ")
    if getpass.getpass("もう一度: ") != password:
        raise AssistantError("the passwords differ", ja="2回入力したパスワードが一致しません。")
    return password


def cmd_user_add(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.users import add_user

    path = _auth_file(settings)
    new = add_user(path, args.name, args.role, _read_new_password())
    print(f"ユーザー「{args.name}」（{args.role}）を{'登録' if new else '更新'}しました: {path}")
    return 0


def cmd_user_list(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.users import read_users

    for user in read_users(_auth_file(settings)).values():
        print(f"{user.name}\t{user.role}")
    return 0


def cmd_user_remove(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.users import remove_user

    path = _auth_file(settings)
    remove_user(path, args.name)
    print(f"ユーザー「{args.name}」を削除しました: {path}")
    return 0


def cmd_offtopic_check(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.ingestion.corpus import OFFTOPIC
    from assistant.ingestion.offtopic import OffTopics

    path = settings.corpus_dir / OFFTOPIC
    if not path.exists():
        print(f"{path} がありません（対象外の話題の一覧なしで判断します）。", file=sys.stderr)
        return 1
    topics = OffTopics.load(path)  # a malformed list is an AssistantError: main prints what to mend
    print(f"対象外の話題の一覧 {path}: {len(topics.fields)} 分野、{len(topics.topics)} 件の話題を読み込めました。")
    return 0


def cmd_questions_check(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.ingestion.asked import AskedQuestions
    from assistant.ingestion.corpus import QUESTIONS, load_corpus

    path = settings.corpus_dir / QUESTIONS
    if not path.exists():
        print(f"{path} がありません（よくある聞き方なしで検索します）。", file=sys.stderr)
        return 1
    asked = AskedQuestions.load(path)  # a malformed file is an AssistantError: main prints what to mend
    documents = load_corpus(settings.corpus_dir, settings.max_document_bytes)
    asked.check(documents)
    print(f"よくある聞き方の一覧 {path}: {len(asked.sections)} 節、{len(asked.pairs)} 件の質問を読み込めました。")
    for doc_id, section_id, title in asked.unlisted(documents):
        print(f"注意: {doc_id} の節 {section_id}（{title}）には質問がありません。", file=sys.stderr)
    return 0


def cmd_glossary_check(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.ingestion.corpus import GLOSSARY, load_corpus
    from assistant.ingestion.glossary import Glossary

    path = settings.corpus_dir / GLOSSARY
    glossary = Glossary.load(path)
    missing = glossary.missing_terms(load_corpus(settings.corpus_dir))
    for word, term in missing:
        print(f"「{word}」→「{term}」: 「{term}」はガイドラインにありません。", file=sys.stderr)
    if missing:
        print(f"用語集 {path}: {len(missing)} 件の用語がガイドラインに見つかりません。", file=sys.stderr)
        return 1
    print(f"用語集 {path}: {len(glossary.entries)} 語、言い換え先の用語はすべてガイドラインにあります。")
    return 0


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    try:
        from assistant.bench import BenchOptions, markdown, run_bench, write
    except ImportError as exc:
        print(
            f"エラー: ベンチマークには追加のパッケージ（{exc.name}）が必要です。"
            "pip install 'kyodo-assistant[bench]'（チェックアウトでは pip install -e '.[bench]'）を実行してください。"
            f" / Error: the benchmark needs the 'bench' extra: {exc}",
            file=sys.stderr,
        )
        return 2

    options = BenchOptions(
        out=args.out or settings.reports_dir / "bench",
        scales=args.scales,
        repeats=args.repeats,
        cold_repeats=args.cold_repeats,
        questions=args.questions,
        users=tuple(args.users),
        requests_per_user=args.requests_per_user,
        browser_questions=args.browser_questions,
        chromium=args.chromium,
    )
    if args.url:
        from assistant.bench import measure_url, url_markdown

        print(url_markdown(measure_url(args.url, options, log=lambda m: print(m, file=sys.stderr, flush=True))))
        return 0
    results = run_bench(settings, options, log=lambda m: print(m, file=sys.stderr, flush=True))
    print(markdown(results))
    for path in write(results, options.out):
        print(f"書き出しました: {path}")
    return 0


def _project_relative(path: Path) -> str:
    from assistant.settings import PROJECT_ROOT

    resolved = path.resolve()
    return str(resolved.relative_to(PROJECT_ROOT)) if resolved.is_relative_to(PROJECT_ROOT) else str(path)


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.answering.live import load_chain
    from assistant.evals.dataset import EVAL_DATASETS, SPLITS, load_datasets
    from assistant.evals.evaluator import (
        baseline_document,
        calibrate,
        check_against_baseline,
        fit_scope,
        run_eval,
    )
    from assistant.evals.report import summary_table, write_reports

    datasets = args.dataset or list(EVAL_DATASETS)
    cases = [c for c in load_datasets(datasets) if not args.split or c.split in args.split]
    if not cases:
        print(
            f"エラー: {'・'.join(args.split)} の評価ケースがありません / Error: no cases in that split", file=sys.stderr
        )
        return 2
    modes = list(
        dict.fromkeys(args.mode or [settings.mode, *(m for m in ("hybrid", "dense", "bm25") if m != settings.mode)])
    )
    chain = load_chain(settings, progress=sys.stderr.isatty())
    runs = run_eval(chain, cases, modes, progress=sys.stderr.isatty())
    meta = {
        "note": "",
        "dataset": ", ".join(_project_relative(p) for p in datasets),
        "cases": len(cases),
        "embedding_model": chain.service.embeddings.model_id,
        "answerer": chain.llm.model_id if chain.llm else "extractive",
        "abstain_threshold": settings.abstain_threshold,
    }
    if args.judge:
        from assistant.answering.llm import make_chat_model
        from assistant.evals.evaluator import judge_results

        chosen = make_chat_model(settings)
        if chosen is None:
            meta["note"] = (
                "LLM-judged metrics skipped: no LLM configured (ASSISTANT_LLM_BASE_URL or ASSISTANT_LLM_GGUF)"
            )
        else:
            sections = {s.section_id: s.text for d in chain.service.documents for s in d.sections}
            judged = sum(judge_results(run.results, chosen[0], sections) for run in runs)
            meta["note"] = f"LLM-judged metrics by {chosen[1]} on {judged} answers"
    if meta["note"]:
        print(meta["note"])
    print(summary_table(runs))
    if args.report:
        for path in write_reports(runs, meta, args.report):
            print(f"書き出しました: {path}")
    if args.calibrate:
        if runs[0].split("dev"):
            threshold, j = calibrate(runs[0].results)
            print(
                f"ASSISTANT_ABSTAIN_THRESHOLD={threshold:.4f}  (dev: abstention recall - false-abstention rate = {j:.3f})"
            )
            with chain.pinned() as pinned:
                model, figures = fit_scope(pinned, cases)
            print(
                f"SCOPE_MODEL = {model!r}  (assistant/answering/scope.py; dev, 5-fold CV: abstention recall "
                f"{figures['abstention_recall']:.3f}, false abstentions {figures['false_abstention_rate']:.3f})"
            )
        else:
            print("しきい値は dev の評価ケースだけで決めます（dev がありません） / Calibration uses dev cases only")
    if args.update_baseline:
        document = baseline_document(runs[0].splits, runs[0].label, meta["dataset"])
        if args.split and args.baseline.exists():  # a run of chosen splits replaces those splits only
            try:
                kept = json.loads(args.baseline.read_text(encoding="utf-8")).get("splits", {})
            except (OSError, ValueError, AttributeError):
                kept = {}
            merged = {**{k: v for k, v in kept.items() if k not in args.split}, **document["splits"]}
            document["splits"] = {k: merged[k] for k in [*SPLITS, *merged] if k in merged}  # dev first
        args.baseline.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"基準値を更新しました: {args.baseline}")
    if args.check:
        try:
            baseline = json.loads(args.baseline.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            print(f"エラー: 基準値ファイルを読み込めません / Error: {args.baseline}: {exc}", file=sys.stderr)
            return 2
        checked = next((r for r in runs if r.label == baseline.get("mode")), runs[0])
        if args.split:  # a run of chosen splits is checked on those splits only
            baseline = {**baseline, "splits": {k: v for k, v in baseline.get("splits", {}).items() if k in args.split}}
        problems = check_against_baseline(checked.splits, baseline)
        if problems:
            print("品質が基準値を下回りました / Quality fell below the baseline:", file=sys.stderr)
            for problem in problems:
                print(f"  {problem}", file=sys.stderr)
            return 1
        print(f"基準値チェック: 合格（{checked.label}: {', '.join(baseline.get('splits', {}))}）")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="assistant", description="協働ガイドライン 職員向けアシスタント")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("sections", help="ガイドラインの章・節の一覧を表示する")
    p.add_argument("--json", action="store_true", help="JSON 配列で出力する")
    p.set_defaults(func=cmd_sections)

    p = sub.add_parser("documents", help="登録されている文書の一覧を表示する")
    p.add_argument("--json", action="store_true", help="JSON で出力する")
    p.set_defaults(func=cmd_documents)

    p = sub.add_parser("add", help="文書（.pdf .docx .md .txt .html）を追加・更新して索引を更新する")
    p.add_argument("files", nargs="+", type=Path, help="追加するファイル")
    p.add_argument("--title", help="文書名（例: 協働ガイドライン）。既定はファイル名")
    p.add_argument("--id", help="文書 ID（半角英数字と - _ .）。既定はファイル名から")
    p.add_argument("--no-index", action="store_true", help="索引の更新をしない")
    p.set_defaults(func=cmd_add)

    p = sub.add_parser("remove", help="文書を削除して索引を更新する")
    p.add_argument("doc_id", help="文書 ID（assistant documents で確認できます）")
    p.add_argument("--no-index", action="store_true", help="索引の更新をしない")
    p.set_defaults(func=cmd_remove)

    p = sub.add_parser("index", help="索引を作成・更新する（変更がなければほぼ何もしない）")
    p.add_argument("--rebuild", action="store_true", help="変更の有無にかかわらず作り直す")
    p.add_argument("--wait", action="store_true", help="別の索引作成が実行中なら終わるまで待つ")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("search", help="ガイドラインを検索して該当箇所を順位付きで表示する")
    p.add_argument("query", help="質問や検索語")
    p.add_argument("--mode", choices=["hybrid", "dense", "bm25"], default=None, help="検索方式（既定: hybrid）")
    p.add_argument("--k", type=result_count, default=5, help=f"表示する件数（1〜{MAX_SEARCH_RESULTS}、既定: 5）")
    p.add_argument("--json", action="store_true", help="JSON で出力する")
    p.add_argument("--doc", action="append", metavar="DOC_ID", help="この文書だけから答える（複数可）")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser(
        "ask",
        help="質問に答える（出典付き）。'-' なら標準入力の各行（質問、または"
        ' {"question": …, "history": […]} の JSON）に JSON 行で答える',
    )
    p.add_argument("question", help="質問。'-' で標準入力から1行1問")
    p.add_argument("--json", action="store_true", help="JSON で出力する（'-' のときは常に JSON 行）")
    p.add_argument("--doc", action="append", metavar="DOC_ID", help="この文書だけから答える（複数可）")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("eval", help="評価データセットで回答品質を測る（bm25・dense・hybrid の比較つき）")
    p.add_argument(
        "--dataset",
        type=Path,
        action="append",
        help="JSONL データセット（複数可、既定: evals/datasets/guideline_qa.jsonl と test.jsonl）",
    )
    p.add_argument(
        "--split", action="append", choices=["dev", "test"], help="評価する分割（複数可、既定: dev と test の両方）"
    )
    p.add_argument(
        "--mode", action="append", choices=["hybrid", "dense", "bm25"], help="検索方式（複数可、既定: 3方式すべて）"
    )
    p.add_argument("--report", type=Path, help="report.json / report.md / report.html を書き出すフォルダ")
    p.add_argument("--check", action="store_true", help="基準値（evals/baseline.json）を下回ったら終了コード 1")
    p.add_argument("--update-baseline", action="store_true", help="今回の結果を基準値として保存する")
    p.add_argument("--baseline", type=Path, default=bundled_dir("evals") / "baseline.json", help="基準値ファイル")
    p.add_argument("--calibrate", action="store_true", help="回答を控えるしきい値の推奨値を表示する")
    p.add_argument("--judge", action="store_true", help="LLM が設定されていれば LLM による採点（忠実性・正確性）も行う")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("bench", help="速度とメモリを測り、JSON と Markdown に書き出す")
    p.add_argument("--out", type=Path, help="書き出すフォルダ（既定: $ASSISTANT_HOME/reports/bench）")
    p.add_argument("--scales", type=int, nargs="+", default=[1, 10, 100], help="コーパスの倍率（既定: 1 10 100）")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--cold-repeats", type=int, default=2, help="索引の新規作成を繰り返す回数")
    p.add_argument("--questions", type=int, default=30, help="遅延を測る質問の数")
    p.add_argument("--users", type=int, nargs="+", default=[1, 4, 8], help="同時利用者数")
    p.add_argument("--requests-per-user", type=int, default=10)
    p.add_argument(
        "--url",
        help="動いているサーバーまたはプロキシ（nginx）の URL: 同時利用者の負荷だけを測る（チャットと同じ呼び出し）",
    )
    p.add_argument(
        "--browser-questions",
        type=int,
        default=20,
        help="Chromium で Enter から回答表示までを測る質問の数（0: 測らない）",
    )
    p.add_argument("--chromium", default="/usr/bin/chromium", help="Chromium の実行ファイル")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("glossary", help="用語集（corpus/glossary.toml）を扱う")
    glossary = p.add_subparsers(dest="glossary_command", required=True)
    p = glossary.add_parser("check", help="言い換え先の用語がすべてガイドラインにあることを確かめる")
    p.set_defaults(func=cmd_glossary_check)

    p = sub.add_parser("offtopic", help="対象外の話題の一覧（corpus/offtopic.toml）を扱う")
    offtopic = p.add_subparsers(dest="offtopic_command", required=True)
    p = offtopic.add_parser("check", help="一覧の書き方を確かめる")
    p.set_defaults(func=cmd_offtopic_check)

    p = sub.add_parser("questions", help="よくある聞き方の一覧（corpus/questions.toml）を扱う")
    questions = p.add_subparsers(dest="questions_command", required=True)
    p = questions.add_parser("check", help="一覧の書き方と、節の番号・見出しがガイドラインと合うことを確かめる")
    p.set_defaults(func=cmd_questions_check)
    p = sub.add_parser("serve", help="チャット画面を起動する（既定 http://127.0.0.1:7860）")
    p.add_argument("--host", default="127.0.0.1", help="待ち受けるアドレス（既定: 127.0.0.1）")
    p.add_argument("--port", type=int, default=7860, help="ポート番号（既定: 7860）")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("feedback", help="利用者の評価（👍/👎）を扱う")
    feedback = p.add_subparsers(dest="feedback_command", required=True)
    p = feedback.add_parser("export", help="👎 の回答を評価データセット形式の候補として書き出す")
    p.add_argument(
        "--output", type=Path, help="書き出すファイル（既定: $ASSISTANT_HOME/reports/feedback_candidates.jsonl）"
    )
    p.set_defaults(func=cmd_feedback_export)

    p = sub.add_parser("db", help="フィードバックと質問ログのデータベースを扱う（ASSISTANT_DATABASE_URL）")
    db = p.add_subparsers(dest="db_command", required=True)
    p = db.add_parser("migrate", help="データベースの表を最新の版にする（既存の行はそのまま）")
    p.set_defaults(func=cmd_db_migrate)
    p = db.add_parser("downgrade", help="データベースの表を古い版に戻す（新しい版で増えた表の行は消える）")
    p.add_argument("revision", help="戻す先の版（例: 0001_feedback。base ですべての表を削除）")
    p.set_defaults(func=cmd_db_downgrade)
    p = db.add_parser("copy", help="すべての行を別の空のデータベースにコピーする（例: SQLite から PostgreSQL へ）")
    p.add_argument("--to", required=True, help="コピー先の URL（例: postgresql+psycopg://user:pass@host/dbname）")
    p.set_defaults(func=cmd_db_copy)

    p = sub.add_parser("user", help="ログインできる職員を管理する（ASSISTANT_AUTH_FILE）")
    user = p.add_subparsers(dest="user_command", required=True)
    p = user.add_parser("add", help="職員を登録する（パスワードは入力を求める。標準入力からも可）")
    p.add_argument("name", help="ユーザー名")
    p.add_argument("--role", choices=["admin", "staff"], required=True, help="役割")
    p.set_defaults(func=cmd_user_add)
    p = user.add_parser("list", help="登録されている職員と役割を表示する")
    p.set_defaults(func=cmd_user_list)
    p = user.add_parser("remove", help="職員の登録を削除する")
    p.add_argument("name", help="ユーザー名")
    p.set_defaults(func=cmd_user_remove)
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
    except BrokenPipeError:  # the reader went away (e.g. `| head`): nothing left to say
        sys.stderr.close()
        return 0


def end_now(code: int) -> NoReturn:
    """End a one-shot command's process without the interpreter's teardown, which frees the objects of
    ~1,600 modules one by one (~0.25 s of a cold `assistant ask` at a load of 10) for memory the OS takes
    back at once. What an exit does before that still happens: other threads are waited for, the atexit
    handlers run (log handlers flushed, the index lease let go) and the output is flushed."""
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a reader gone (`| head`) or a stream closed
            stream.flush()
    os._exit(code)


def run() -> None:
    """The ``assistant`` program: ``main``, then exit with its status."""
    code = main()
    if not gc.isenabled():  # the command was a one-shot one (``one_shot``)
        end_now(code)
    # At exit the interpreter's last garbage collection walks every object the libraries made (~0.7 s
    # of CPU after an answer, a fifth of a cold `assistant ask`); frozen, they are left to the process's
    # end, which returns the memory anyway. Finalizers and atexit handlers still run.
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    run()
