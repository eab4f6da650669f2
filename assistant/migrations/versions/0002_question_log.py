"""The question log: every answered question (masked), its outcome, cited sections, latency and role.

Revision ID: 0002_question_log
Revises: 0001_feedback
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_question_log"
down_revision = "0001_feedback"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "question_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("asked_at", sa.DateTime, nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("outcome", sa.String(8), nullable=False),
        sa.Column("sections", sa.Text, nullable=False),
        sa.Column("latency_ms", sa.Integer, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("answer_id", sa.Text, nullable=False),
        sa.CheckConstraint("outcome IN ('answer', 'partial', 'abstain')", name="question_log_outcome"),
        sqlite_autoincrement=True,
    )
    op.create_index("question_log_by_time", "question_log", ["asked_at"])


def downgrade() -> None:
    op.drop_index("question_log_by_time", table_name="question_log")
    op.drop_table("question_log")
