"""review sessions: weekly review and Sidhi Baat agendas and minutes (issue 4)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 15:30:00

Hand-written. Plain tables and indexes only, so it runs on SQLite (batch mode) and PostgreSQL.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "review_session",
        sa.Column("session_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cutoff_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("workflow_id", sa.String(length=80), nullable=False),
        sa.Column("phase", sa.String(length=20), nullable=False),
        sa.Column("agenda_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("decided_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("rolled_over_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("notices_sent", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("frozen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("session_id"),
    )
    with op.batch_alter_table("review_session", schema=None) as batch_op:
        batch_op.create_index("ix_review_session_kind", ["kind"], unique=False)
        batch_op.create_index("ix_review_session_starts_at", ["starts_at"], unique=False)

    op.create_table(
        "review_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(length=40), nullable=False),
        sa.Column("registration_number", sa.String(length=20), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=True),
        sa.Column("district", sa.String(length=60), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("item", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("decision_text", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("responsible_officer_id", sa.String(length=100), nullable=True),
        sa.Column("new_deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("citizen_informed", sa.Boolean(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaint.id"]),
        sa.ForeignKeyConstraint(["session_id"], ["review_session.session_id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("session_id", "registration_number", name="uq_review_item_case"),
    )
    with op.batch_alter_table("review_item", schema=None) as batch_op:
        batch_op.create_index("ix_review_item_session_id", ["session_id"], unique=False)
        batch_op.create_index("ix_review_item_complaint_id", ["complaint_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("review_item", schema=None) as batch_op:
        batch_op.drop_index("ix_review_item_complaint_id")
        batch_op.drop_index("ix_review_item_session_id")
    op.drop_table("review_item")
    with op.batch_alter_table("review_session", schema=None) as batch_op:
        batch_op.drop_index("ix_review_session_starts_at")
        batch_op.drop_index("ix_review_session_kind")
    op.drop_table("review_session")
