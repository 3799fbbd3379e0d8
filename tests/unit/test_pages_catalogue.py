"""The pages' message catalogues: every message the templates and the page code
translate — extracted as `pybabel extract` would, plus those built from data
(`api.pages.messages.used_msgids`) — has its Hindi text, and the catalogues hold nothing
stale. Hindi in Devanagari."""

from __future__ import annotations

import re

from babel.messages.pofile import read_po

from api.pages.messages import used_msgids
from schemas.i18n import catalogue_path, translations


def catalogue(language: str) -> dict[str, str]:
    with catalogue_path("pages", language).open("rb") as po:
        read = read_po(po, locale=language)
    return {str(m.id): str(m.string) for m in read if m.id}


def test_every_page_message_has_its_hindi_and_nothing_is_stale() -> None:
    used = used_msgids()
    hindi = catalogue("hi")
    assert sorted(used - set(hindi)) == [], "messages missing from hi/pages.po"
    assert sorted(set(hindi) - used) == [], "stale messages in hi/pages.po"
    untranslated = [m for m, text in hindi.items() if not text.strip()]
    assert untranslated == []
    devanagari = re.compile("[\u0900-\u097f]")
    # Every Hindi text is written in Devanagari, except proper names kept as they are.
    latin_only = [m for m, text in hindi.items() if not devanagari.search(text)]
    assert latin_only == ["Temporal UI"], latin_only
    # Placeholders survive translation.
    for message, text in hindi.items():
        assert re.findall(r"%\(\w+\)[sd]", message) == re.findall(r"%\(\w+\)[sd]", text), message
    assert set(catalogue("en")) == set(hindi)


def test_the_catalogues_are_what_the_pages_use() -> None:
    assert translations("pages", "hi").gettext("Sign in") == "साइन इन करें"
    # English: message IDs are English; data IDs get their words.
    assert translations("pages", "en").gettext("Sign in") == "Sign in"
    assert translations("pages", "en").gettext("directive_given") == "Directive given"
