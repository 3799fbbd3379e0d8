"""Message catalogues: gettext `.po` files, one per language and domain, read at start-up.

Layout: `core/locale/<language>/LC_MESSAGES/<domain>.po` (domains: `sms` for the texts sent to
citizens and officers, `pages` for the staff and citizen screens). Translators edit the `.po`
files with any gettext tool (Poedit, Weblate, `pybabel update`); there is no compile step: the
catalogue is read with Babel and turned into a `Translations` object in memory, so a changed
`.po` takes effect on the next start. A language with no catalogue falls back to the message
IDs (English).
"""

from __future__ import annotations

from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).parent / "locale"


def catalogue_path(domain: str, language: str) -> Path:
    """Where the `.po` catalogue of `domain` in `language` lives."""
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{domain}.po"


@cache
def translations(domain: str, language: str) -> NullTranslations:
    """The catalogue of `domain` in `language` (an ISO 639-1 code such as `hi`).

    Raises `babel.messages.pofile.PoFileError` when the file is malformed; a missing file gives
    the identity translation."""
    path = catalogue_path(domain, language)
    if not path.exists():
        return NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=language, domain=domain, abort_invalid=True)
    mo = BytesIO()
    write_mo(mo, catalog, use_fuzzy=False)
    mo.seek(0)
    return Translations(mo, domain=domain)


def available_languages(domain: str) -> list[str]:
    """The languages that have a catalogue for `domain`, sorted."""
    return sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{domain}.po"))
