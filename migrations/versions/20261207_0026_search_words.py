"""the words the cases hold (PostgreSQL): a search's word beginnings expanded to whole words

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 09:00:00

A search box's word matches the start of a case's word (`Ram` finds `Ramesh`). PostgreSQL's
GIN index answers a prefix (`'ram':*`) by reading the whole list of cases of every word that
starts so into a bitmap before intersecting the words (some 46,000 cases for a common word at
1,000,000), where whole words are intersected by skipping through their lists. `search_word`
holds every distinct lexeme of `complaint.search_document` (0013), in code-point order
(`COLLATE "C"`, so a range of the b-tree is exactly the words beginning with a prefix, in
Devanagari as in Latin). `core.search` expands each typed word to its whole words from it and
asks the GIN index for those.

The database keeps it, in the writing transaction itself: after an insert, once a statement
(from its transition table, so a bulk insert adds its words in one go); after an edit of the
name or the description that changes the document, once a row. Words are added in order and
never removed (a case deleted or edited leaves its old words: an expansion to a word no case
holds any more matches nothing, so answers stay exact). Filled here from the cases.

SQLite is unchanged: its FTS5 table answers a prefix from its own sorted terms.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | Sequence[str] | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The schema of the table that fired (as 0025): each schema (a test's, a bench's) its own words.
# Sorted, so two transactions adding the same new words wait for each other in one order.
_INSERTED = """CREATE FUNCTION complaint_words_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('INSERT INTO %I.search_word (word)
        SELECT DISTINCT w FROM changed, unnest(tsvector_to_array(changed.search_document)) AS w
        ORDER BY w ON CONFLICT DO NOTHING', TG_TABLE_SCHEMA);
    RETURN NULL;
END $$"""
_EDITED = """CREATE FUNCTION complaint_words_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('INSERT INTO %I.search_word (word)
        SELECT w FROM unnest(tsvector_to_array($1)) AS w ORDER BY w ON CONFLICT DO NOTHING',
        TG_TABLE_SCHEMA) USING NEW.search_document;
    RETURN NULL;
END $$"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.create_table("search_word", sa.Column("word", sa.Text(collation="C"), primary_key=True))
    op.execute(
        "INSERT INTO search_word (word) SELECT DISTINCT w FROM complaint,"
        " unnest(tsvector_to_array(search_document)) AS w ORDER BY w"
    )
    op.execute(_INSERTED)
    # Named to fire after `complaint_total_insert` (triggers fire in name order): every
    # inserting transaction holds the total's row first, so they add words one at a time.
    op.execute(
        "CREATE TRIGGER complaint_words_insert AFTER INSERT ON complaint"
        " REFERENCING NEW TABLE AS changed FOR EACH STATEMENT"
        " EXECUTE FUNCTION complaint_words_insert()"
    )
    op.execute(_EDITED)
    op.execute(
        "CREATE TRIGGER complaint_words_update AFTER UPDATE OF citizen_name, description"
        " ON complaint FOR EACH ROW"
        " WHEN (OLD.search_document IS DISTINCT FROM NEW.search_document)"
        " EXECUTE FUNCTION complaint_words_update()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for name in ("complaint_words_update", "complaint_words_insert"):
        op.execute(f"DROP TRIGGER {name} ON complaint")
        op.execute(f"DROP FUNCTION {name}()")
    op.drop_table("search_word")
