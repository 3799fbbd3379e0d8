"""sms_choice: a citizen's STOP / START by SMS, durable in the read model

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 18:00:00

Hand-written. One plain table, so it runs on SQLite and PostgreSQL alike: one row per phone
(E.164), its last word (`opted_out`), when, and the inbound SMS that said it. The SMS
activity reads it before every citizen SMS (activities/sms.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sms_choice",
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("message_sid", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("phone"),
    )


def downgrade() -> None:
    op.drop_table("sms_choice")
