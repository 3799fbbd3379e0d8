"""closure_trust: interim replies, extension requests and report reasons

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 18:30:00

Hand-written. Plain nullable columns on `complaint` (and one counter with a server default),
so it runs on SQLite and PostgreSQL alike: the workflow projects them (activities/case.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("complaint") as batch:
        batch.add_column(
            sa.Column("interim_replies", sa.Integer(), server_default="0", nullable=False)
        )
        batch.add_column(sa.Column("interim_reason", sa.String(length=40), nullable=True))
        batch.add_column(
            sa.Column("interim_expected_by", sa.DateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column("extension_requested_until", sa.DateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("report_reason", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("rating", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("appeals", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("complaint") as batch:
        for column in (
            "appeals",
            "rating",
            "report_reason",
            "extension_requested_until",
            "interim_expected_by",
            "interim_reason",
            "interim_replies",
        ):
            batch.drop_column(column)
