"""attachments: references to scanned, cleaned files of a case (the bytes live in a blob store)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 17:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts(name: str, *, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "attachment",
        sa.Column("id", sa.String(length=32), primary_key=True),
        sa.Column("complaint_id", sa.Integer(), sa.ForeignKey("complaint.id"), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("media_type", sa.String(length=40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("source", sa.String(length=30), nullable=False),
        sa.Column("filename", sa.String(length=120), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("thumbnail_sha256", sa.String(length=64), nullable=True),
        sa.Column("public", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("published_by", sa.String(length=200), nullable=True),
        _ts("published_at"),
        sa.Column("uploaded_by", sa.String(length=200), nullable=False),
        _ts("uploaded_at", nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True, unique=True),
        _ts("deleted_at"),
        sa.Column("deleted_by", sa.String(length=200), nullable=True),
        sa.Column("deletion_reason", sa.String(length=40), nullable=True),
        sa.UniqueConstraint("complaint_id", "sha256", name="uq_attachment_case_blob"),
    )
    op.create_index("ix_attachment_complaint_id", "attachment", ["complaint_id"])
    op.create_index("ix_attachment_sha256", "attachment", ["sha256"])


def downgrade() -> None:
    op.drop_index("ix_attachment_sha256", table_name="attachment")
    op.drop_index("ix_attachment_complaint_id", table_name="attachment")
    op.drop_table("attachment")
