"""review sessions at any size: the agenda's facts as columns of review_item (filtered,
summarised and paged in the database), bulk decisions (review_bulk), failed notices counted

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 18:00:00

A batched session keeps its agenda in these rows alone (its workflow holds ids and counts).
Rows frozen before this revision keep their facts in `item` (JSON) and take the defaults
here; their sessions were held by the workflow that froze them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ITEM_COLUMNS = (
    "refusal",
    "bulk_id",
    "nodal_officer_id",
    "wishes_to_meet_cm",
    "urgent",
    "registered_at",
    "undecided_times",
    "escalation_level",
    "category",
    "department",
    "section",
)


def upgrade() -> None:
    with op.batch_alter_table("review_session", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("notices_failed", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("review_item", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "section", sa.String(length=30), nullable=False, server_default="for_decision"
            )
        )
        batch_op.add_column(sa.Column("department", sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column("category", sa.String(length=40), nullable=True))
        batch_op.add_column(
            sa.Column("escalation_level", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("undecided_times", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("registered_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("urgent", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("wishes_to_meet_cm", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("nodal_officer_id", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("bulk_id", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("refusal", sa.Text(), nullable=True))
        batch_op.create_index(
            "ix_review_item_outcome", ["session_id", "outcome", "bulk_id"], unique=False
        )
    # Created outside the batch (SQLite's batch copy names columns, not expressions): a page of
    # the agenda reads this index in its order (no sort) ...
    op.create_index(
        "ix_review_item_worst",
        "review_item",
        [
            "session_id",
            sa.text("section DESC"),
            sa.text("undecided_times DESC"),
            "registered_at",
            "id",
        ],
        unique=False,
    )
    # ... and its summary (district x department) reads this one alone.
    op.create_index(
        "ix_review_item_summary",
        "review_item",
        [
            "session_id",
            "district",
            "department",
            "outcome",
            "registered_at",
            "undecided_times",
            "urgent",
            "wishes_to_meet_cm",
        ],
        unique=False,
    )
    op.create_table(
        "review_bulk",
        sa.Column("bulk_id", sa.String(length=120), nullable=False),
        sa.Column("session_id", sa.String(length=40), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=False),
        sa.Column("responsible_officer_id", sa.String(length=100), nullable=True),
        sa.Column("new_deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("citizen_informed", sa.Boolean(), nullable=False),
        sa.Column("selection", sa.Text(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("applied", sa.Integer(), nullable=False),
        sa.Column("refused", sa.Integer(), nullable=False),
        sa.Column("unlisted", sa.Text(), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["session_id"], ["review_session.session_id"]),
        sa.PrimaryKeyConstraint("bulk_id"),
    )
    with op.batch_alter_table("review_bulk", schema=None) as batch_op:
        batch_op.create_index("ix_review_bulk_session_id", ["session_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("review_bulk", schema=None) as batch_op:
        batch_op.drop_index("ix_review_bulk_session_id")
    op.drop_table("review_bulk")
    op.drop_index("ix_review_item_summary", table_name="review_item")
    op.drop_index("ix_review_item_worst", table_name="review_item")
    with op.batch_alter_table("review_item", schema=None) as batch_op:
        batch_op.drop_index("ix_review_item_outcome")
        for name in _ITEM_COLUMNS:
            batch_op.drop_column(name)
    with op.batch_alter_table("review_session", schema=None) as batch_op:
        batch_op.drop_column("notices_failed")
