"""indexes that hold every column the CM dashboard reads, so that it reads no case's row

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07 07:00:00

The dashboard (api/pages/dashboard.py) counts, in four grouped statements: the open cases
(by district, rung, age and the trend's first late week), the cases closed and those
withdrawn since the trend's oldest week, and the ranking's period (registered in the last
90 days). Each read its cases through an index of one column and then fetched every row from
the table: at 1,000,000 cases some 260,000 rows a view, 2.9 s on SQLite and 0.56 s on
PostgreSQL. Each now has an index holding every column it reads (an index-only scan):

- `ix_complaint_open_dashboard`: the open cases (partial, the predicate of 0020's), by
  district and rung, with the registration, department, urgency, kind and repeat calls;
- `ix_complaint_closed_trend`: by `closed_at`, with the status, the registration, urgency,
  kind, district and department; it replaces 0015's `ix_complaint_closed_at`, whose every
  use it serves (the same first column);
- `ix_complaint_withdrawn`: the withdrawn cases (partial), with the moments of their end;
- `ix_complaint_ranking`: by registration, with what the ranking's shares count (status,
  kind, closure reason, `closed_at`, reopenings), district and department.

The two all-row indexes cost about 90 MB each on SQLite at 1,000,000 cases (the table is
380 MB; 0015's index, dropped, was 38 MB); they change when a case closes, is reopened or
moves, not at every update (no `updated_at` in them).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | Sequence[str] | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# schemas.enums.CLOSED_STATUSES, spelled out: a migration never imports app code.
OPEN = "status NOT IN ('closed', 'withdrawn')"
WITHDRAWN = "status = 'withdrawn'"


def upgrade() -> None:
    open_cases, withdrawn = sa.text(OPEN), sa.text(WITHDRAWN)
    op.create_index(
        "ix_complaint_open_dashboard",
        "complaint",
        [
            *("district", "escalation_level", "created_at", "department", "urgent", "kind"),
            *("repeat_contacts", "status"),
        ],
        postgresql_where=open_cases,
        sqlite_where=open_cases,
    )
    op.create_index(
        "ix_complaint_closed_trend",
        "complaint",
        ["closed_at", "status", "created_at", "urgent", "kind", "district", "department"],
    )
    op.drop_index("ix_complaint_closed_at", table_name="complaint")
    op.create_index(
        "ix_complaint_withdrawn",
        "complaint",
        # The status first too: a planner without statistics then sees an equality on it,
        # as on the status index, and prefers the index that holds every column.
        [
            *("status", "district", "department", "created_at", "urgent", "kind"),
            *("closed_at", "updated_at"),
        ],
        postgresql_where=withdrawn,
        sqlite_where=withdrawn,
    )
    op.create_index(
        "ix_complaint_ranking",
        "complaint",
        [
            *("created_at", "district", "department", "status", "kind", "closure_reason"),
            *("closed_at", "reopens"),
        ],
    )


def downgrade() -> None:
    op.drop_index("ix_complaint_ranking", table_name="complaint")
    op.drop_index("ix_complaint_withdrawn", table_name="complaint")
    op.create_index("ix_complaint_closed_at", "complaint", ["closed_at"])
    op.drop_index("ix_complaint_closed_trend", table_name="complaint")
    op.drop_index("ix_complaint_open_dashboard", table_name="complaint")
