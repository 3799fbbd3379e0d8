"""indexes in the lists' own order: the officer's inbox, the transferred-in cases, the
verification list

Revision ID: 0025
Revises: 0023
Create Date: 2026-12-06 23:59:00

A page of a list is read in order from an index only when the index holds the list's whole
order. The inbox's order is urgent first, then the nearest deadline (none last), then the
number (`api.services.lists.order_by`); 0013's open-scope index held `urgent` ascending, so
both databases sorted every open case of the district to show 50. It is rebuilt with `urgent`
descending and, on SQLite (whose ascending indexes put NULL first), the deadline's `IS NULL`
before it: the API spells `ASC NULLS LAST` as `x IS NULL, x` there
(`api.services.lists.portable_order`). The verification list's order gets an index of the
same kind. The cases transferred to a district's officer from another district (the second
part of a nodal officer's scope, `api.services.scope.scope_parts`) get a partial index over
open cases by officer and district, so that part is counted without reading the cases.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | Sequence[str] | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# schemas.enums.CLOSED_STATUSES, spelled out: a migration never imports app code.
OPEN = "status NOT IN ('closed', 'withdrawn')"


def _columns(sqlite: bool, nullable: str) -> list[str]:
    """`nullable` ascending with NULL last, as each database's index holds it."""
    return [f"{nullable} IS NULL", nullable] if sqlite else [nullable]


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    where = sa.text(OPEN)
    op.drop_index("ix_complaint_open_scope", table_name="complaint")
    scope = [
        "district",
        "urgent DESC",
        *_columns(sqlite, "next_deadline"),
        *("year", "sequence", "assigned_officer_id", "department", "id"),
    ]
    op.create_index(
        "ix_complaint_open_scope",
        "complaint",
        [sa.text(c) for c in scope],
        postgresql_where=where,
        sqlite_where=where,
    )
    op.create_index(
        "ix_complaint_open_officer",
        "complaint",
        ["assigned_officer_id", "district"],
        postgresql_where=where,
        sqlite_where=where,
    )
    callbacks = [
        "status",
        "urgent DESC",
        *_columns(sqlite, "callback_due_at"),
        *("year", "sequence"),
    ]
    op.create_index("ix_complaint_callback_order", "complaint", [sa.text(c) for c in callbacks])


def downgrade() -> None:
    op.drop_index("ix_complaint_callback_order", table_name="complaint")
    op.drop_index("ix_complaint_open_officer", table_name="complaint")
    op.drop_index("ix_complaint_open_scope", table_name="complaint")
    where = sa.text(OPEN)
    op.create_index(
        "ix_complaint_open_scope",
        "complaint",
        [
            *("district", "urgent", "next_deadline", "year", "sequence"),
            *("assigned_officer_id", "department", "id"),
        ],
        postgresql_where=where,
        sqlite_where=where,
    )
