"""grading: a report's moment and the deadline it answered, reopenings counted

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 21:00:00

Hand-written. Nullable columns and one counter on `complaint` (SQLite and PostgreSQL alike),
projected by the read-model activity (activities/case.py): what the grading of officers and
departments counts (core/grading.py). `reopens` is filled in from the timeline for the cases
already there; cases reported before this revision have no `reported_at` (their reports count
as not on time only if the case is past its deadline without one: see docs/closure.md).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("complaint") as batch:
        batch.add_column(sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("report_due_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("reopens", sa.Integer(), server_default="0", nullable=False))
        batch.create_index("ix_complaint_officer_created", ["assigned_officer_id", "created_at"])
    op.execute(
        "UPDATE complaint SET reopens = (SELECT count(*) FROM timelineevent"
        " WHERE timelineevent.complaint_id = complaint.id"
        " AND timelineevent.event = 'reopened')"
    )


def downgrade() -> None:
    with op.batch_alter_table("complaint") as batch:
        batch.drop_index("ix_complaint_officer_created")
        for column in ("reopens", "report_due_at", "reported_at"):
            batch.drop_column(column)
