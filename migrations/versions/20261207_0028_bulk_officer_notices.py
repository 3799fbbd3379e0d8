"""a bulk directive tells each of its officers once

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07 18:00:00

`review_bulk.tells_officers`: the bulk's officers are told by the session, one SMS each for
all their cases (`review_bulk_directive`), and its cases send their officers none of their
own. Bulks recorded before kept the case's own SMS (one per case): false.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | Sequence[str] | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("review_bulk") as batch:
        batch.add_column(
            sa.Column("tells_officers", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("review_bulk") as batch:
        batch.drop_column("tells_officers")
