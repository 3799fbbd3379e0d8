"""merge the parallel revisions of issue 6 and 7; drop the phone index the daily limit's covers

Revision ID: 0007
Revises: 0003, 0004, 0005, 0006
Create Date: 2026-11-29 00:30:00

0003 (tokens), 0004 (audit), 0005 (rate limits) and 0006 (indexes) were written in parallel
on 0002; this revision joins them so that the next one has a single parent again.

`ix_complaint_citizen_phone` (0001) is a prefix of `ix_complaint_phone_created` (0005): every
look-up by phone is served by the latter, and one index fewer is one write fewer per complaint.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = ("0003", "0004", "0005", "0006")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.drop_index("ix_complaint_citizen_phone")


def downgrade() -> None:
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.create_index("ix_complaint_citizen_phone", ["citizen_phone"], unique=False)
