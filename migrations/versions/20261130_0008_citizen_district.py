"""the citizen's own district beside the district a case is with now

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 02:00:00

`complaint.district` follows the case (a transfer to another district moves it, so listings,
filters, officers' scope and agendas find it where it is); `citizen_district` keeps the
district the citizen gave. Existing rows: both are the district registered.
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
    op.execute("UPDATE complaint SET citizen_district = district WHERE citizen_district IS NULL")


def downgrade() -> None:
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.drop_column("citizen_district")
