"""How staff ask about each section (``corpus/questions.toml``: per section, questions in the
words staff type, 名前だけ貸すってどういうこと？ for 後援), which retrieval matches a question
against: a question near one listed for a section points at that section even when it shares
no word with the section's text. Written by the guideline's owner without code; embedded when the
index is built; ``assistant questions check`` validates it. No file: the ranking is off."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from assistant.ingestion.glossary import fold, read_toml
from assistant.ingestion.sections import CorpusError, Document

MAX_QUESTION = 80  # characters: a question as staff type it, not a paragraph


class AskedQuestionsError(CorpusError):
    ja = "よくある聞き方の一覧（questions.toml）を読み込めません。"


@dataclass(frozen=True)
class AskedSection:
    """One section's entry: where it is, its title as the owner wrote it, and its questions."""

    doc_id: str
    section_id: str
    title: str
    questions: tuple[str, ...]


@dataclass(frozen=True)
class AskedQuestions:
    """The listed ways of asking, section by section, in the file's order."""

    sections: tuple[AskedSection, ...] = field(default_factory=tuple)

    @property
    def pairs(self) -> list[tuple[str, str, str]]:
        """(doc_id, section_id, question) of every listed question."""
        return [(s.doc_id, s.section_id, q) for s in self.sections for q in s.questions]

    @classmethod
    def load(cls, path: Path) -> AskedQuestions:
        """The questions in ``path``; an absent file is an empty list, a malformed one an error
        naming what to mend."""
        if not path.exists():
            return cls()
        data = read_toml(path, AskedQuestionsError, "よくある聞き方の一覧")
        rows = data.get("section", [])
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise AskedQuestionsError(
                f"{path}: sections must be [[section]] tables",
                ja=f"{path} には節ごとに [[section]] の表を書いてください。",
            )
        sections: list[AskedSection] = []
        seen_sections: set[tuple[str, str]] = set()
        seen_questions: set[str] = set()
        for number, row in enumerate(rows, start=1):
            where = f"{path} の {number} 番目の [[section]]"
            doc_id, section_id, title = (row.get(k) for k in ("doc", "id", "title"))
            if not all(isinstance(v, str) and v.strip() for v in (doc_id, section_id, title)):
                raise AskedQuestionsError(
                    f"{path}: section {number} needs doc, id and title strings",
                    ja=f"{where}には doc（文書 ID）、id（節の番号）、title（節の見出し）を文字列で書いてください。",
                )
            questions = row.get("questions")
            if (
                not isinstance(questions, list)
                or not questions
                or not all(isinstance(q, str) and q.strip() for q in questions)
            ):
                raise AskedQuestionsError(
                    f"{path}: section {section_id} must list its questions as strings",
                    ja=f"{where}（{section_id} {title}）の questions には、質問を文字列の配列で書いてください。",
                )
            if (doc_id, section_id) in seen_sections:
                raise AskedQuestionsError(
                    f"{path}: section {doc_id} {section_id} is listed twice",
                    ja=f"{path} で節 {section_id}（{title}）が二度書かれています。一つにまとめてください。",
                )
            seen_sections.add((doc_id, section_id))
            for question in questions:
                if len(question) > MAX_QUESTION:
                    raise AskedQuestionsError(
                        f"{path}: {question[:20]!r}… is longer than {MAX_QUESTION} characters",
                        ja=f"{path} の「{question[:20]}…」は長すぎます（{MAX_QUESTION} 文字まで）。",
                    )
                key = fold(question)
                if key in seen_questions:
                    raise AskedQuestionsError(
                        f"{path}: {question!r} is listed twice",
                        ja=f"{path} の「{question}」が二度書かれています。一つの節にだけ書いてください。",
                    )
                seen_questions.add(key)
            sections.append(AskedSection(doc_id, section_id, title.strip(), tuple(q.strip() for q in questions)))
        return cls(tuple(sections))

    def check(self, documents: list[Document]) -> None:
        """Every entry names a section of an indexed document, by its own title; else an error
        saying which entry and what the section is really called."""
        for _, problem in self.problems(documents)[:1]:
            raise problem

    def usable(self, documents: list[Document]) -> AskedQuestions:
        """The entries that name a section of these documents by its title. An index build keeps only
        these (and logs the others): a document updated or restructured must not stop the build."""
        stale = {id(entry) for entry, _ in self.problems(documents)}
        return AskedQuestions(tuple(s for s in self.sections if id(s) not in stale))

    def problems(self, documents: list[Document]) -> list[tuple[AskedSection, AskedQuestionsError]]:
        """Each entry whose document or section is not indexed, or whose title is not the section's."""
        titles = {(d.doc_id, s.section_id): s.title for d in documents for s in d.sections if s.text.strip()}
        doc_ids = {d.doc_id for d in documents}
        found: list[tuple[AskedSection, AskedQuestionsError]] = []
        for entry in self.sections:
            title = titles.get((entry.doc_id, entry.section_id))
            if entry.doc_id not in doc_ids:
                problem = AskedQuestionsError(
                    f"questions.toml: no document {entry.doc_id!r}",
                    ja=f"よくある聞き方の一覧にある文書「{entry.doc_id}」は登録されていません。"
                    "doc には `assistant documents` に出る文書 ID を書いてください。",
                )
            elif title is None:
                problem = AskedQuestionsError(
                    f"questions.toml: no section {entry.section_id} with text in {entry.doc_id}",
                    ja=f"よくある聞き方の一覧にある節「{entry.section_id}」（{entry.title}）は"
                    f"文書「{entry.doc_id}」にないか、本文のない見出しです。節の番号を確かめてください。",
                )
            elif fold(title) != fold(entry.title):
                problem = AskedQuestionsError(
                    f"questions.toml: section {entry.section_id} is titled {title!r}, not {entry.title!r}",
                    ja=f"よくある聞き方の一覧の節「{entry.section_id}」の title「{entry.title}」が見出し"
                    f"「{title}」と違います。番号の誤りでないか確かめて、見出しのとおりに書いてください。",
                )
            else:
                continue
            found.append((entry, problem))
        return found

    def unlisted(self, documents: list[Document]) -> list[tuple[str, str, str]]:
        """(doc_id, section_id, title) of the sections with text of the listed documents that list no
        question: the ranking cannot point at them, so a question about one may be drawn to a listed
        neighbour."""
        listed = {(s.doc_id, s.section_id) for s in self.sections}
        docs = {s.doc_id for s in self.sections}
        return [
            (d.doc_id, s.section_id, s.title)
            for d in documents
            if d.doc_id in docs
            for s in d.sections
            if s.text.strip() and (d.doc_id, s.section_id) not in listed
        ]
