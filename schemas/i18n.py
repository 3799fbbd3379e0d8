"""Message catalogues: gettext `.po` files, one per language and domain, read at start-up.

Layout: `schemas/locale/<language>/LC_MESSAGES/<domain>.po` (domains: `sms` for the texts sent to
citizens and officers, `refusals` for why an action was refused, `pages` for the staff and
citizen screens, `names` for the names of districts, departments, subjects, statuses and
offices). The message IDs are English: English needs no catalogue.

Translators edit the `.po` files with any gettext tool (Poedit, Weblate, `pybabel update`);
there is no compile step: the catalogue is read with Babel and turned into a `Translations`
object in memory, so a changed `.po` takes effect on the next start. A language with no
catalogue falls back to the message IDs (English).

Adding a language is a catalogue and a setting: copy each `<domain>.pot` to
`schemas/locale/<code>/LC_MESSAGES/<domain>.po`, translate it, and add the code to `LANGUAGES`.
"""

from __future__ import annotations

import re
from functools import cache
from io import BytesIO
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LOCALE_DIR = Path(__file__).parent / "locale"
SOURCE_LANGUAGE = "en"  # the language of the message IDs
DOMAINS = ("sms", "refusals", "pages", "names")
_CODE = re.compile(r"^[a-z]{2,3}$")


def missing_catalogues(languages: tuple[str, ...]) -> str | None:
    """Why `languages` (ISO 639 codes) cannot be offered, or None: a malformed or repeated
    code, none at all, or a language other than English without a catalogue of each domain."""
    if not languages:
        return "name at least one language"
    for code in languages:
        if not _CODE.match(code):
            return f"{code!r} is not an ISO 639 language code (two or three lower-case letters)"
        if languages.count(code) > 1:
            return f"{code!r} is listed twice"
        if code != SOURCE_LANGUAGE:
            missing = [d for d in DOMAINS if not catalogue_path(d, code).exists()]
            if missing:
                paths = ", ".join(str(catalogue_path(d, code)) for d in missing)
                return f"{code!r} has no catalogue {paths}"
    return None


def catalogue_path(domain: str, language: str) -> Path:
    """Where the `.po` catalogue of `domain` in `language` lives."""
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{domain}.po"


@cache
def catalogue(domain: str, language: str) -> Catalog:
    """The parsed `.po` catalogue of `domain` in `language` (an ISO 639-1 code such as `hi`),
    with its comments; empty when there is none.

    Raises `babel.messages.pofile.PoFileError` when the file is malformed."""
    path = catalogue_path(domain, language)
    if not path.exists():
        return Catalog(locale=language, domain=domain)
    with path.open("rb") as po:
        return read_po(po, locale=language, domain=domain, abort_invalid=True)


@cache
def translations(domain: str, language: str) -> NullTranslations:
    """The translations of `domain` in `language`: gettext/pgettext over its catalogue; a
    missing catalogue or entry gives the message ID (English). Fuzzy entries are not used."""
    if not catalogue_path(domain, language).exists():
        return NullTranslations()
    mo = BytesIO()
    write_mo(mo, catalogue(domain, language), use_fuzzy=False)
    mo.seek(0)
    return Translations(mo, domain=domain)


def available_languages(domain: str) -> list[str]:
    """The languages that have a catalogue for `domain`, sorted."""
    return sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{domain}.po"))


def local_name(kind: str, english: str, language: str) -> str:
    """`english`, the name of a `kind` (`district`, `department`, `department|short`,
    `subject`, `subject|short`, `status`, `office`), as `language` writes it: the `names`
    catalogue's entry with context `kind`, else the English itself."""
    if language == SOURCE_LANGUAGE:
        return english
    return str(translations("names", language).pgettext(kind, english))


def all_names(kind: str, english: str) -> set[str]:
    """`english` and its translations in every language that has a `names` catalogue (for
    recognising a name typed in any of them)."""
    return {english} | {local_name(kind, english, code) for code in available_languages("names")}


class LanguageSettings(BaseSettings):
    """The LANGUAGES setting (part of `core.settings.Settings`, which derives from this): the
    languages citizens may choose, comma-separated ISO 639 codes, the default first. Each one
    but English (the catalogues' source) needs a catalogue of each domain."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    languages: str = "hi,en"

    @property
    def language_list(self) -> tuple[str, ...]:
        """LANGUAGES as a tuple of codes, the default first."""
        return tuple(code.strip() for code in self.languages.split(",") if code.strip())

    @model_validator(mode="after")
    def _offerable(self) -> LanguageSettings:
        if problem := missing_catalogues(self.language_list):
            raise ValueError(f"LANGUAGES: {problem}")
        return self


@cache
def offered_languages() -> tuple[str, ...]:
    """The languages citizens may choose (`LANGUAGES`, read once per process), the default
    first."""
    return LanguageSettings().language_list


def default_language() -> str:
    """The language of a citizen who names none: the first of `LANGUAGES`."""
    return offered_languages()[0]


@cache
def language_name(code: str) -> str:
    """A language's name in itself (`हिन्दी`, `English`), from Babel's CLDR data."""
    try:
        return Locale.parse(code).get_display_name(code) or code
    except (ValueError, UnknownLocaleError):
        return code


@cache
def text_direction(code: str) -> str:
    """`rtl` for a language written right to left (Urdu), else `ltr`, from CLDR."""
    try:
        order = Locale.parse(code).character_order
    except (ValueError, UnknownLocaleError):
        return "ltr"
    return "rtl" if order == "right-to-left" else "ltr"
