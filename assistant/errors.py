"""Errors that reach a person: each carries a Japanese message saying what to do next."""

from __future__ import annotations


class AssistantError(Exception):
    """Base of the errors a staff member or maintainer may see.

    ``str(error)`` is the English detail (for logs); ``error.ja`` is what the UI and CLI show.
    """

    ja = "処理できませんでした。"

    def __init__(self, detail: str, ja: str | None = None) -> None:
        super().__init__(detail)
        if ja is not None:
            self.ja = ja

    def one_line(self) -> str:
        """``エラー: <Japanese> / Error: <English detail>``."""
        return f"エラー: {self.ja} / Error: {self}"


class LLMError(AssistantError):
    """The optional LLM (endpoint or local GGUF model) cannot be used; answering falls back to quotes."""

    ja = "生成AIモデルを利用できません。設定（ASSISTANT_LLM_*）を確認してください。ガイドラインの抜粋で回答します。"
