"""rate limits: public tracking counters, and the per-phone daily count at intake (issue 6)

Revision ID: 0005
Revises: 0002
Create Date: 2026-11-28 20:10:00

Hand-written. Plain tables and indexes only, so it runs on SQLite (batch mode) and PostgreSQL.

- `rate_counter`: fixed-window counters shared by every API replica (api/ratelimit.py): one
  row per key and window, bumped by an atomic upsert; old windows are deleted as new ones open
  (hence the index on `window_start`).
- `ix_complaint_phone_created`: the count of a phone number's complaints of one IST day,
  taken inside the registration transaction (api/services/intake.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_counter",
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("key", "window_start"),
    )
    with op.batch_alter_table("rate_counter", schema=None) as batch_op:
        batch_op.create_index("ix_rate_counter_window_start", ["window_start"], unique=False)
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.create_index(
            "ix_complaint_phone_created", ["citizen_phone", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.drop_index("ix_complaint_phone_created")
    with op.batch_alter_table("rate_counter", schema=None) as batch_op:
        batch_op.drop_index("ix_rate_counter_window_start")
    op.drop_table("rate_counter")
