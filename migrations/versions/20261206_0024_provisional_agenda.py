"""a provisional agenda read in the database: a session's cases worst first

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06 23:45:00

Hand-written, for SQLite and PostgreSQL alike: one index over `complaint` in the order a page
of a session's provisional agenda reads it (the most times undecided, the oldest, then by
number), so a page reads as many index entries as it shows instead of sorting every case of
the session; the status last, so the session's count reads the index alone.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Outside a batch (SQLite's batch copy names columns, not expressions), as 0014's.
    op.create_index(
        "ix_complaint_agenda_worst",
        "complaint",
        [
            "review_session_id",
            sa.text("undecided_times DESC"),
            "created_at",
            "year",
            "sequence",
            "status",
        ],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_complaint_agenda_worst", table_name="complaint")
