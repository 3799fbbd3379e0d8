"""verification: each verification of a case's outcome, by channel, for the dashboard

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 21:00:00

Hand-written, SQLite and PostgreSQL alike. One row per verification entry of a case's
timeline (a closure verified with the citizen, or "not satisfied"), with its channel (the
machine's call `ivr`, else `telecaller`), its result, and a person's check of a sampled
machine "solved"; indexed by time and channel so the dashboard groups it in the database.
`ivr_call.sampled`: whether the case's own policy samples the call's "solved" for a check.
The rows are filled from the timeline and the checks already made.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "verification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("result", sa.String(length=20), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("check_disagreed", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaint.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("complaint_id", "seq", name="uq_verification_seq"),
    )
    op.create_index("ix_verification_period", "verification", ["verified_at", "channel", "result"])
    op.create_index("ix_verification_case", "verification", ["complaint_id", "channel"])
    with op.batch_alter_table("ivr_call") as batch:
        batch.add_column(
            sa.Column("sampled", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    # The verifications the timeline already holds, and the checks already made.
    op.execute(
        """
        INSERT INTO verification (complaint_id, seq, verified_at, channel, result)
        SELECT complaint_id, seq, at,
               CASE WHEN actor = 'ivr' THEN 'ivr' ELSE 'telecaller' END,
               CASE WHEN event = 'closed' THEN 'satisfied' ELSE 'not_satisfied' END
        FROM timelineevent
        WHERE event = 'citizen_not_satisfied'
           OR (event = 'closed' AND note LIKE 'resolved_verified%')
        """
    )
    op.execute(
        """
        UPDATE verification
        SET checked_at = (
                SELECT MAX(c.checked_at) FROM ivr_call c JOIN complaint k
                  ON k.registration_number = c.registration_number
                WHERE k.id = verification.complaint_id AND c.checked_at IS NOT NULL),
            check_disagreed = (
                SELECT MAX(CASE WHEN c.check_agrees THEN 0 ELSE 1 END) = 1
                FROM ivr_call c JOIN complaint k
                  ON k.registration_number = c.registration_number
                WHERE k.id = verification.complaint_id AND c.checked_at IS NOT NULL)
        WHERE channel = 'ivr' AND result = 'satisfied'
          AND EXISTS (
                SELECT 1 FROM ivr_call c JOIN complaint k
                  ON k.registration_number = c.registration_number
                WHERE k.id = verification.complaint_id AND c.checked_at IS NOT NULL)
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("ivr_call") as batch:
        batch.drop_column("sampled")
    op.drop_index("ix_verification_case", table_name="verification")
    op.drop_index("ix_verification_period", table_name="verification")
    op.drop_table("verification")
