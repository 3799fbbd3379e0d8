"""search by name and words (SQLite FTS5, PostgreSQL tsvector), by number alone; the repeat
contacts a case has had (complaint.repeat_contacts)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 17:45:00

Hand-written: each database gets its own full-text machinery over the citizen's name and the
complaint's words (core/search.py queries it):

- SQLite: an FTS5 table `complaint_search` with the complaint table as its content (nothing is
  stored twice), kept by triggers. The unicode61 tokenizer splits Devanagari words at their
  vowel signs and virama (राँची into रा and ची); those marks are declared token characters,
  so a Hindi word stays one token, as in PostgreSQL.
- PostgreSQL: a stored generated column `search_document`, `to_tsvector('simple',
  citizen_name || ' ' || description)` ('simple': no stemming, which has no Hindi or Hinglish
  dictionary; lower-cased), with a GIN index. The
  database's character type must classify Devanagari as letters (a UTF-8 locale, e.g.
  C.UTF-8, as `deploy/` and the tests use). No extension is needed, so nothing has to be
  created in a schema the search path sees.

A number without its year (`20983`) is looked up by `sequence` (the unique constraint leads
with the year): an index of its own. The default listing (urgent first, newest first) breaks
ties by year and sequence: its index (0006) gets those columns, so a page is still one
backward index scan. The open cases get an index in the inbox's order carrying the columns an
officer's scope reads (`ix_complaint_open_scope`), so a page of an officer's 20,000 open cases
and its count come from the index. Phones are found through ix_complaint_phone_created.

Note for later migrations: a batch operation that recreates the complaint table on SQLite
drops its triggers; recreate them (`_sqlite_triggers`) after such a step.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Devanagari signs (candrabindu, anusvara, visarga, vowel signs, nukta, virama, stress and
# vocalic signs) that unicode61 would treat as separators. The dandas (U+0964, U+0965) stay
# separators.
_DEVANAGARI_MARKS = "".join(
    chr(c)
    for c in (
        *range(0x0900, 0x0904),
        *range(0x093A, 0x0950),
        *range(0x0951, 0x0958),
        0x0962,
        0x0963,
    )
)

# The document of a case's words on PostgreSQL (stored as `search_document`).
PG_DOCUMENT = "to_tsvector('simple', citizen_name || ' ' || description)"
# schemas.enums.OPEN_STATUSES, spelled out (as 0011): a migration never imports app code.
OPEN = (
    "status IN ('registered', 'awaiting_report', 'awaiting_callback', 'dc_review',"
    " 'weekly_review', 'sidhi_baat')"
)


def _sqlite_triggers() -> None:
    op.execute(
        "CREATE TRIGGER complaint_search_ai AFTER INSERT ON complaint BEGIN "
        "INSERT INTO complaint_search(rowid, citizen_name, description) "
        "VALUES (new.id, new.citizen_name, new.description); END"
    )
    op.execute(
        "CREATE TRIGGER complaint_search_ad AFTER DELETE ON complaint BEGIN "
        "INSERT INTO complaint_search(complaint_search, rowid, citizen_name, description) "
        "VALUES ('delete', old.id, old.citizen_name, old.description); END"
    )
    op.execute(
        "CREATE TRIGGER complaint_search_au AFTER UPDATE OF citizen_name, description "
        "ON complaint BEGIN "
        "INSERT INTO complaint_search(complaint_search, rowid, citizen_name, description) "
        "VALUES ('delete', old.id, old.citizen_name, old.description); "
        "INSERT INTO complaint_search(rowid, citizen_name, description) "
        "VALUES (new.id, new.citizen_name, new.description); END"
    )


def upgrade() -> None:
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("repeat_contacts", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.create_index("ix_complaint_sequence", ["sequence"], unique=False)
        # The default listing's order, ties by number: one backward index scan gives a page.
        batch_op.drop_index("ix_complaint_urgent_created")
        batch_op.create_index(
            "ix_complaint_urgent_created",
            ["urgent", "created_at", "year", "sequence"],
            unique=False,
        )
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE complaint_search USING fts5("
            "citizen_name, description, content='complaint', content_rowid='id', "
            f"tokenize=\"unicode61 remove_diacritics 0 tokenchars '{_DEVANAGARI_MARKS}'\")"
        )
        _sqlite_triggers()
        op.execute("INSERT INTO complaint_search(complaint_search) VALUES ('rebuild')")
    else:
        # Stored, so that checking a found row reads the document instead of computing it
        # again from the text (the model does not declare it: only the database writes it).
        op.execute(
            "ALTER TABLE complaint ADD COLUMN search_document tsvector "
            f"GENERATED ALWAYS AS ({PG_DOCUMENT}) STORED"
        )
        op.execute("CREATE INDEX ix_complaint_search ON complaint USING gin (search_document)")
    # An officer's open cases in their list's order, with what their scope reads: a page
    # and its count are read from this index alone, not from every open case's row.
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.create_index(
            "ix_complaint_open_scope",
            [
                "district",
                "urgent",
                "next_deadline",
                "year",
                "sequence",
                "assigned_officer_id",
                "department",
                "id",
            ],
            unique=False,
            postgresql_where=sa.text(OPEN),
            sqlite_where=sa.text(OPEN),
        )


def downgrade() -> None:
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.drop_index("ix_complaint_open_scope")
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("complaint_search_ai", "complaint_search_ad", "complaint_search_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS complaint_search")
    else:
        op.execute("DROP INDEX IF EXISTS ix_complaint_search")
        op.execute("ALTER TABLE complaint DROP COLUMN IF EXISTS search_document")
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.drop_index("ix_complaint_urgent_created")
        batch_op.create_index("ix_complaint_urgent_created", ["urgent", "created_at"], unique=False)
        batch_op.drop_index("ix_complaint_sequence")
        batch_op.drop_column("repeat_contacts")
