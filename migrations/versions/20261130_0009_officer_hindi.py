"""the officer directory in Hindi: designation_hi, and office/office_hi that an SMS names

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 05:00:00

An SMS names the officer's office in one DLT variable (at most 30 characters), in the
citizen's language; the full designation is too long for that (up to 72 characters). Existing
rows get empty values until the directory is loaded again, which every process does at start.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("officer", schema=None) as batch_op:
        for name, length in (("designation_hi", 200), ("office", 30), ("office_hi", 30)):
            batch_op.add_column(
                sa.Column(name, sa.String(length=length), nullable=False, server_default="")
            )


def downgrade() -> None:
    with op.batch_alter_table("officer", schema=None) as batch_op:
        for name in ("office_hi", "office", "designation_hi"):
            batch_op.drop_column(name)
