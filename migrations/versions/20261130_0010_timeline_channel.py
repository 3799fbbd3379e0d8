"""who acted apart from how it came in: timelineevent.channel and for_citizen; who registered
a complaint (complaint.registered_by)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 05:30:00

The timeline's actor is the person or program that acted (a telecaller, a portal, a reviewer,
`citizen`, `timer`), the channel its own field, and `for_citizen` marks staff acting for the
citizen. Existing rows keep their actor (`channel:call_centre`, `citizen (api)`) with no
channel.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("timelineevent", schema=None) as batch_op:
        batch_op.add_column(sa.Column("channel", sa.String(length=30), nullable=True))
        batch_op.add_column(
            sa.Column("for_citizen", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.add_column(sa.Column("registered_by", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.drop_column("registered_by")
    with op.batch_alter_table("timelineevent", schema=None) as batch_op:
        batch_op.drop_column("for_citizen")
        batch_op.drop_column("channel")
