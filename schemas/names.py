"""The `names` catalogue's template: every name that texts, pages and answers show, with its
kind as the gettext context (`schemas.i18n.local_name` reads the translations).

The names come from the reference data (`schemas.reference`: districts, departments,
subjects), the citizen's status words (`schemas.tracking.STATUS_LABELS`) and the officer
directory (`DIRECTORY_FILE`: each officer's `office`, which an SMS names, and `designation`).
The review forums' names come from the shipped ladders' rungs (`schemas.escalation`: `forum`
for agendas and pages, `forum|sms` for SMS). `make messages` writes
`schemas/locale/names.pot` with `python -m schemas.names DIRECTORY_FILE` and merges it into
every language's `names.po`; an office or designation added to the directory appears there
for translators.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

from schemas.escalation import all_rungs
from schemas.i18n import LOCALE_DIR
from schemas.reasons import INTERIM_REASONS, NOT_ACTIONABLE_REASONS
from schemas.reference import CATEGORIES, DEPARTMENTS, DISTRICTS
from schemas.tracking import STATUS_LABELS


def directory_names(directory_file: Path) -> Iterator[tuple[str, str]]:
    """(kind, English) of the offices and designations in a directory file."""
    for entry in json.loads(directory_file.read_text(encoding="utf-8"))["officers"]:
        if entry.get("office"):
            yield "office", entry["office"]
        yield "designation", entry["designation"]


def names(directory_file: Path) -> Iterator[tuple[str, str]]:
    """(kind, English) of every name a translator gives in each language."""
    for district in DISTRICTS:
        yield "district", district
    for department in DEPARTMENTS:
        yield "department", department.name
    for category in CATEGORIES:
        yield "subject", category.label
        yield "subject|short", category.short
    for label in STATUS_LABELS.values():
        yield "status", label
    for rung in all_rungs().values():
        yield "forum", rung.labels["en"]
        yield "forum|sms", rung.sms_names["en"]
    for label in INTERIM_REASONS.values():
        yield "interim_reason", label
    for label in NOT_ACTIONABLE_REASONS.values():
        yield "not_actionable_reason", label
    yield from directory_names(directory_file)


def template(directory_file: Path) -> Catalog:
    """The `names.pot` catalogue: one entry per distinct (kind, English)."""
    pot = Catalog(project="Jan Samvad", copyright_holder="Jan Samvad contributors", domain="names")
    for kind, english in names(directory_file):
        pot.add(english, context=kind)
    return pot


def main() -> None:
    """`python -m schemas.names DIRECTORY_FILE [OUT]`: writes the template (default
    schemas/locale/names.pot)."""
    directory = Path(sys.argv[1])
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else LOCALE_DIR / "names.pot"
    with out.open("wb") as file:
        write_po(file, template(directory), width=100, omit_header=True)


if __name__ == "__main__":
    main()
