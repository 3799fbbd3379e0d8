"""the open-cases indexes name the statuses that end a case, not a ladder's statuses

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 21:00:00

The partial indexes over open cases (0011's by deadline, 0013's by scope) listed every open
status of the shipped ladders, so a ladder of the state's own (LADDER_FILE) with statuses of
its own would have needed a migration. They are rebuilt on `status NOT IN ('closed',
'withdrawn')` (`schemas.enums.CLOSED_STATUSES`, the lifecycle's, fixed): any ladder's status is
open. The API's filters bind the same predicate, so SQLite sees that the indexes apply.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# schemas.enums.CLOSED_STATUSES, spelled out: a migration never imports app code.
OPEN = "status NOT IN ('closed', 'withdrawn')"
# As 0011 and 0013 left them.
OPEN_BEFORE = (
    "status IN ('registered', 'awaiting_report', 'awaiting_callback', 'dc_review',"
    " 'weekly_review', 'sidhi_baat')"
)
# Each partial index over open cases, with its columns (as 0011 and 0013 made them).
INDEXES = {
    "ix_complaint_open_deadline": ("next_deadline",),
    "ix_complaint_open_scope": (
        *("district", "urgent", "next_deadline", "year", "sequence"),
        *("assigned_officer_id", "department", "id"),
    ),
}


def _rebuild(predicate: str) -> None:
    where = sa.text(predicate)
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        for name, columns in INDEXES.items():
            batch_op.drop_index(name)
            batch_op.create_index(
                name, list(columns), unique=False, postgresql_where=where, sqlite_where=where
            )


def upgrade() -> None:
    _rebuild(OPEN)


def downgrade() -> None:
    _rebuild(OPEN_BEFORE)
