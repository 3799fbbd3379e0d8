"""indexes for the read model at scale (issue 7)

Revision ID: 0006
Revises: 0002
Create Date: 2026-11-28 20:00:00

Hand-written. Found by bench/readmodel.py at 1,000,000 complaints in PostgreSQL:

- the default listing (urgent first, newest first, 50 at a time) sorted the whole table: an
  index in that order lets it read just the first page (and count from the index alone);
- the open cases by deadline (overdue filter, its count): a partial index over the open
  statuses only, so closed cases (the great majority, with no deadline) cost nothing.

Plain indexes only, so it runs on SQLite (batch mode) and PostgreSQL.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# schemas.enums.ComplaintStatus.is_open, spelled out: a migration never imports app code.
OPEN = (
    "status IN ('registered', 'awaiting_report', 'awaiting_callback', 'weekly_review',"
    " 'sidhi_baat')"
)


def upgrade() -> None:
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.create_index("ix_complaint_urgent_created", ["urgent", "created_at"], unique=False)
        batch_op.create_index(
            "ix_complaint_open_deadline",
            ["next_deadline"],
            unique=False,
            postgresql_where=sa.text(OPEN),
            sqlite_where=sa.text(OPEN),
        )


def downgrade() -> None:
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.drop_index("ix_complaint_open_deadline")
        batch_op.drop_index("ix_complaint_urgent_created")
