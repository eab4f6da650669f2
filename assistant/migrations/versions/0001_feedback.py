"""Feedback: one 👍/👎 per answer (the schema of the SQLite file before Alembic, version 2).

A file written before Alembic already has the table: it is adopted as it is, a version 1 file
(no ``answer_id``) gets the column, and every row stays.

Revision ID: 0001_feedback
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_feedback"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if not inspector.has_table("feedback"):
        op.create_table(
            "feedback",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("created_at", sa.Text, nullable=False),
            sa.Column("rating", sa.Text, nullable=False),
            sa.Column("question", sa.Text, nullable=False),
            sa.Column("history", sa.Text, nullable=False),
            sa.Column("answer", sa.Text, nullable=False),
            sa.Column("citations", sa.Text, nullable=False),
            sa.Column("comment", sa.Text, nullable=False, server_default=""),
            sa.Column("settings", sa.Text, nullable=False),
            sa.Column("answer_id", sa.Text, nullable=False, server_default=""),
            sa.CheckConstraint("rating IN ('up', 'down')", name="feedback_rating"),
            sqlite_autoincrement=True,
        )
    else:
        columns = {c["name"] for c in inspector.get_columns("feedback")}
        if "answer_id" not in columns:  # a version 1 file
            op.add_column("feedback", sa.Column("answer_id", sa.Text, nullable=False, server_default=""))
    indexes = {i["name"] for i in inspector.get_indexes("feedback")} if inspector.has_table("feedback") else set()
    if "feedback_by_rating" not in indexes:
        op.create_index("feedback_by_rating", "feedback", ["rating", "id"])
    if "feedback_by_answer" not in indexes:
        op.create_index(
            "feedback_by_answer",
            "feedback",
            ["answer_id"],
            unique=True,
            sqlite_where=sa.text("answer_id != ''"),
            postgresql_where=sa.text("answer_id != ''"),
        )


def downgrade() -> None:
    op.drop_table("feedback")
