"""names in other languages live in the `names` catalogue: drop officer.designation_hi,
officer.office_hi and department.name_hi

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 07:30:00

Each language's names of districts, departments, subjects, offices and designations are
translated in `schemas/locale/<language>/LC_MESSAGES/names.po`, so that adding a language needs
no column. The dropped columns were copies of the directory file and the reference data,
which every process loads again at start.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("officer", schema=None) as batch_op:
        batch_op.drop_column("office_hi")
        batch_op.drop_column("designation_hi")
    with op.batch_alter_table("department", schema=None) as batch_op:
        batch_op.drop_column("name_hi")


def downgrade() -> None:
    # The Hindi names come back empty; the next start loads only what the models know.
    with op.batch_alter_table("department", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("name_hi", sa.String(length=200), nullable=False, server_default="")
        )
    with op.batch_alter_table("officer", schema=None) as batch_op:
        for name, length in (("designation_hi", 200), ("office_hi", 30)):
            batch_op.add_column(
                sa.Column(name, sa.String(length=length), nullable=False, server_default="")
            )
