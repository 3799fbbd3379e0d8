"""the citizen's own district beside the district a case is with now; the department routed to
beside the department concerned

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 02:00:00

`complaint.district` follows the case (a transfer to another district moves it, so listings,
filters, officers' scope and agendas find it where it is); `citizen_district` keeps the
district the citizen gave. Existing rows: both are the district registered.

`department` is now the department concerned, from the category when none is named (so
department filters, scope and the Department search attribute find routine cases too);
`department_requested` is the one named at registration (or an urgent category's), which a
case is routed to — a routine case without one goes to its district's nodal officer. Existing
rows: the department they had, which is the one they were routed by.

`undecided_times`: how many sessions in a row left a case on a review's agenda undecided
(listed, filtered with `undecided_min`, and counted in /metrics).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.add_column(sa.Column("citizen_district", sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column("department_requested", sa.String(length=60), nullable=True))
        batch_op.add_column(
            sa.Column("undecided_times", sa.Integer(), nullable=False, server_default="0")
        )
    op.execute("UPDATE complaint SET citizen_district = district WHERE citizen_district IS NULL")
    op.execute("UPDATE complaint SET department_requested = department")


def downgrade() -> None:
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.drop_column("undecided_times")
        batch_op.drop_column("department_requested")
        batch_op.drop_column("citizen_district")
