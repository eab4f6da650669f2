"""The city's other business (``corpus/offtopic.toml``: short topics by department, 住民票の写しの
交付, 職員の給与・ボーナスの支給日), which the out-of-scope model weighs a question against: a
question nearer one of them than any sentence of the indexed documents is about something else.
Editable by the guideline's owner without code; ``assistant offtopic check`` validates it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import AssistantError
from assistant.ingestion.glossary import read_toml

MAX_TOPIC = 40  # characters: a topic is a short phrase, not a paragraph


class OffTopicError(AssistantError):
    ja = "対象外の話題の一覧（offtopic.toml）を読み込めません。"


@dataclass(frozen=True)
class OffTopics:
    """Department or field → its topics."""

    fields: dict[str, list[str]] = field(default_factory=dict)

    @property
    def topics(self) -> list[str]:
        return [t for topics in self.fields.values() for t in topics]

    @classmethod
    def load(cls, path: Path) -> OffTopics:
        """The topics in ``path``; an absent file is an empty list, a malformed one an error naming
        what to mend."""
        if not path.exists():
            return cls()
        data = read_toml(path, OffTopicError, "対象外の話題の一覧")
        table = data.get("topics", {})
        if not isinstance(table, dict):
            raise OffTopicError(f"{path}: [topics] must be a table", ja=f"{path} には [topics] の表を書いてください。")
        fields: dict[str, list[str]] = {}
        seen: set[str] = set()
        for name, topics in table.items():
            if not isinstance(topics, list) or not topics or not all(isinstance(t, str) and t.strip() for t in topics):
                raise OffTopicError(
                    f"{path}: {name!r} must list its topics as strings",
                    ja=f"{path} の「{name}」には、話題を文字列の配列で書いてください。",
                )
            for topic in topics:
                if len(topic) > MAX_TOPIC:
                    raise OffTopicError(
                        f"{path}: {topic!r} is longer than {MAX_TOPIC} characters",
                        ja=f"{path} の「{topic}」は長すぎます（{MAX_TOPIC} 文字まで）。短い話題にしてください。",
                    )
                if topic in seen:
                    raise OffTopicError(
                        f"{path}: {topic!r} is listed twice", ja=f"{path} の「{topic}」が二度書かれています。"
                    )
                seen.add(topic)
            fields[name] = [t.strip() for t in topics]
        return cls(fields)
