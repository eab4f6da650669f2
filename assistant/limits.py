"""Input limits shared by every route (CLI, chat, /ask API, quiz, feedback): one place to change them,
and the check of a question against them (light to import: the CLI runs it before loading models)."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from assistant.errors import AssistantError

# The query embedding's time grows faster than the length (measured: 258 ms at 300 characters, 6.6 s at 1,000);
# the longest question of the eval set is 42 characters.
MAX_QUESTION_CHARS = 300


class QuestionError(AssistantError):
    ja = "質問を読み取れませんでした。"


def visible_text(text: str) -> str:
    """Text without lone surrogates, invisible format characters and controls other than line breaks."""
    return "".join(
        ch
        for ch in unicodedata.normalize("NFC", text.encode("utf-8", "replace").decode("utf-8"))
        if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn")
    )


def validate_question(text: Any) -> str:
    """The question as it will be used, or a ``QuestionError`` saying in Japanese what is wrong."""
    if not isinstance(text, str):
        raise QuestionError(f"question must be text, not {type(text).__name__}")
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        raise QuestionError(
            "lone surrogate in question", ja="質問に読み取れない文字が含まれています。入力し直してください。"
        )
    cleaned = re.sub(r"\s+", " ", visible_text(text)).strip()
    if not cleaned:
        raise QuestionError("empty question", ja="質問が空です。知りたいことを入力してください。")
    if len(cleaned) > MAX_QUESTION_CHARS:
        raise QuestionError(
            f"question of {len(cleaned)} characters (limit {MAX_QUESTION_CHARS})",
            ja=f"質問が長すぎます（{len(cleaned)}文字）。{MAX_QUESTION_CHARS}文字以内にまとめてください。",
        )
    if not any(ch.isalnum() for ch in cleaned):
        raise QuestionError(
            "question has no letters", ja="質問に文字が含まれていません。知りたいことを文章で入力してください。"
        )
    return cleaned
