"""an index on complaint.closed_at, for the dashboard's weekly trend

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 18:00:00

The dashboard's trend (api/pages/dashboard.py) reads the cases open now (the status index)
and those closed since the oldest of its twelve weeks: with this index the database reads
those few rather than every case ever closed (97 % of a state's cases after a few years).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.create_index("ix_complaint_closed_at", ["closed_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.drop_index("ix_complaint_closed_at")
