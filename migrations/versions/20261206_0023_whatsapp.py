"""whatsapp: the messages' channel, phones' channel preference and window, conversations

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 21:00:00

Hand-written, for SQLite and PostgreSQL alike: one column with a server default on `message`
(every existing message is an SMS) and two tables keyed by phone (core/whatsapp.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.add_column(
            sa.Column("channel", sa.String(length=10), server_default="sms", nullable=False)
        )
    op.create_table(
        "whatsapp_contact",
        sa.Column("phone", sa.String(length=20), primary_key=True),
        sa.Column("preference", sa.String(length=10), nullable=False),
        sa.Column("preference_by", sa.String(length=80), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_inbound_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "whatsapp_conversation",
        sa.Column("phone", sa.String(length=20), primary_key=True),
        sa.Column("step", sa.String(length=20), nullable=False),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("citizen_name", sa.String(length=200), nullable=True),
        sa.Column("district", sa.String(length=60), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("media_url", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_whatsapp_conversation_updated_at", "whatsapp_conversation", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_whatsapp_conversation_updated_at", table_name="whatsapp_conversation")
    op.drop_table("whatsapp_conversation")
    op.drop_table("whatsapp_contact")
    with op.batch_alter_table("message") as batch:
        batch.drop_column("channel")
