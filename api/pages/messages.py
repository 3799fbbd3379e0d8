"""The pages' message template: every message the templates and the page code translate
(extracted as `pybabel extract` would), plus those the pages build from data
(`api.pages.reference.data_msgids`).

`make messages` writes it to `schemas/locale/pages.pot` (`python -m api.pages.messages OUT`)
and merges it into every language's `pages.po`, so a translator starts a language with
`pybabel init -D pages` like the other domains.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import write_po

from api.pages.reference import data_msgids

PACKAGE = Path(__file__).parent


def extracted() -> list[str | tuple[str, ...]]:
    """The message IDs of the templates and the page code (a plural as its tuple)."""
    return [
        message
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(PACKAGE),
            method_map=[("templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")],
            options_map={"templates/**.html": {"extensions": "jinja2.ext.i18n"}},
        )
    ]


def used_msgids() -> set[str]:
    """Every message ID the pages use (a plural by its singular)."""
    found = set(data_msgids())
    for message in extracted():
        found.add(message if isinstance(message, str) else message[0])
    return found


def template() -> Catalog:
    """The `pages.pot` catalogue."""
    pot = Catalog(project="Jan Samvad", copyright_holder="Jan Samvad contributors", domain="pages")
    for message in [*extracted(), *data_msgids()]:
        pot.add(message)
    return pot


def main() -> None:
    """`python -m api.pages.messages OUT`: writes the template."""
    with Path(sys.argv[1]).open("wb") as file:
        write_po(file, template(), width=100, omit_header=True)


if __name__ == "__main__":
    main()
