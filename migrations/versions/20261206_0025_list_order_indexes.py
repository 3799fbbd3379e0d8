"""indexes in the lists' own order (the officer's inbox, the transferred-in cases, the
verification list) and the number of cases kept by the database

Revision ID: 0025
Revises: 0024
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
open cases by officer and district (with the page's keys), so that part is counted and
paged without reading the cases.

The unfiltered list's total (every case of the state) was a count of every row, the one read
no index shortens. `complaint_total` holds it, one row kept exact by triggers on `complaint`
in the inserting or deleting transaction itself (PostgreSQL: once a statement, from its
transition table; SQLite: once a row), initialised here from a count. A later SQLite
migration that rebuilds `complaint` (a batch `recreate`) drops its triggers and must create
them again (tests/api/test_lists_order.py checks the total at head). On PostgreSQL each
inserting transaction holds the total's row until it commits: registrations queue there for
the rest of their transaction, short here.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | Sequence[str] | None = "0024"
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
        # The page's keys too: the part is read from the index alone (no row of the
        # district's own cases, which share the officer, is fetched to be left out).
        ["assigned_officer_id", "district", "urgent", "next_deadline", "year", "sequence", "id"],
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

    op.create_table(
        "complaint_total",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("cases", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_complaint_total_one_row"),
    )
    op.execute("INSERT INTO complaint_total (id, cases) SELECT 1, count(*) FROM complaint")
    if sqlite:
        for event, change in (("INSERT", "+ 1"), ("DELETE", "- 1")):
            op.execute(
                f"CREATE TRIGGER complaint_total_{event.lower()} AFTER {event} ON complaint"
                f" BEGIN UPDATE complaint_total SET cases = cases {change}; END"
            )
        return
    for event, table, sign in (("INSERT", "NEW", "+"), ("DELETE", "OLD", "-")):
        name = f"complaint_total_{event.lower()}"
        # The schema of the table that fired: each schema (a test's, a bench's) its own total.
        op.execute(
            f"""CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                EXECUTE format('UPDATE %I.complaint_total SET cases = cases {sign} $1',
                    TG_TABLE_SCHEMA) USING (SELECT count(*) FROM changed);
                RETURN NULL;
            END $$"""
        )
        op.execute(
            f"CREATE TRIGGER {name} AFTER {event} ON complaint REFERENCING {table} TABLE AS"
            f" changed FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
        )


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for event in ("insert", "delete"):
        op.execute(f"DROP TRIGGER complaint_total_{event}" + ("" if sqlite else " ON complaint"))
        if not sqlite:
            op.execute(f"DROP FUNCTION complaint_total_{event}()")
    op.drop_table("complaint_total")
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
