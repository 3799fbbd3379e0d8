"""the open-cases index covers every rung's status (dc_review, the District Collector's review)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 10:00:00

The partial index over open cases by deadline (0006) listed the open statuses of the seed's
ladder. A case on the District Collector's review (`dc_review`, schemas/escalation.py) is
open too: the index is rebuilt over `schemas.enums.OPEN_STATUSES`, in that order (the order
the API's filters bind them in, so SQLite matches the index's predicate). The status column
(VARCHAR(40), no CHECK constraint) and `review_kind` (VARCHAR(20)) already hold the new value;
a district's session id (`dc-review-2027-01-08-seraikela-kharsawan`) fits the 40 characters
of `review_session_id` (schemas.escalation.session_id refuses one that would not).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# schemas.enums.OPEN_STATUSES, spelled out: a migration never imports app code.
OPEN = (
    "status IN ('registered', 'awaiting_report', 'awaiting_callback', 'dc_review',"
    " 'weekly_review', 'sidhi_baat')"
)
# As 0006 left it.
OPEN_BEFORE = (
    "status IN ('registered', 'awaiting_report', 'awaiting_callback', 'weekly_review',"
    " 'sidhi_baat')"
)


def _rebuild(predicate: str) -> None:
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.drop_index("ix_complaint_open_deadline")
        batch_op.create_index(
            "ix_complaint_open_deadline",
            ["next_deadline"],
            unique=False,
            postgresql_where=sa.text(predicate),
            sqlite_where=sa.text(predicate),
        )


def upgrade() -> None:
    _rebuild(OPEN)


def downgrade() -> None:
    _rebuild(OPEN_BEFORE)
