"""ivr_call: the verification calls made by machine

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 18:30:00

Hand-written. One plain table, SQLite and PostgreSQL alike: one row per IVR call (keyed by
the workflow's call key, so a retried activity places no second call), its CallSid, Twilio's
status, the case's reading of it, and when the answer was applied (once per CallSid).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ivr_call",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("registration_number", sa.String(length=20), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("call_sid", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("result", sa.String(length=20), nullable=True),
        sa.Column("digits", sa.String(length=8), nullable=True),
        sa.Column("recording_url", sa.String(length=500), nullable=True),
        sa.Column("acted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signalled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("audit", sa.Boolean(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checked_by", sa.String(length=200), nullable=True),
        sa.Column("check_agrees", sa.Boolean(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
        sa.UniqueConstraint("call_sid"),
    )
    op.create_index("ix_ivr_call_status", "ivr_call", ["status"])
    op.create_index("ix_ivr_call_case", "ivr_call", ["registration_number", "created_at"])
    op.create_index("ix_ivr_call_audit", "ivr_call", ["audit", "checked_at", "updated_at"])


def downgrade() -> None:
    op.drop_index("ix_ivr_call_audit", table_name="ivr_call")
    op.drop_index("ix_ivr_call_case", table_name="ivr_call")
    op.drop_index("ix_ivr_call_status", table_name="ivr_call")
    op.drop_table("ivr_call")
