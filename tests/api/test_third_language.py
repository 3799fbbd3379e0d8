"""Adding a language is a catalogue and a setting: with a Santali catalogue of each domain
(Jharkhand's own scheduled language, here a pseudo-translation that marks every text with an
Ol Chiki letter) and `LANGUAGES=hi,en,sat`, and no change of code, a citizen is registered in
Santali, gets their SMS in it, gives names in it, reads refusals and pages in it, and sends
SMS commands in it; a language without its catalogues is refused at start-up."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po
from pydantic import ValidationError
from starlette.requests import Request

from activities.templates import dlt_template_ids, render, sent_in
from api.errors import refusal
from api.pages.web import language as page_language
from api.pages.web import page_languages
from api.routes.open311 import service_attributes
from api.routes.twilio import command_words, help_text
from core.settings import Settings, get_settings
from harness.factories import complaint_body, eventually
from schemas import i18n
from schemas.complaint import Citizen
from schemas.i18n import text_direction
from schemas.reference import canonical_district, forget_names
from schemas.tracking import status_labels

SANTALI = "sat"
MARK = "ᱥ"  # OL CHIKI LETTER SA: every pseudo-translated text begins with it
# Names an SMS carries in one DLT variable (at most 30 characters).
_VARIABLES = {"district", "office", "subject|short"}


def _pseudo(domain: str, context: str | None, text: str) -> str:
    translated = MARK + text
    return translated[:30] if domain == "names" and context in _VARIABLES else translated


def _write_santali(locale: Path) -> None:
    for domain in i18n.DOMAINS:
        with (locale / "hi" / "LC_MESSAGES" / f"{domain}.po").open("rb") as po:
            hindi = read_po(po, locale="hi")
        santali = Catalog(locale="hi", domain=domain)  # Babel knows Hindi's plural rule
        for message in hindi:
            if not message.id:
                continue
            if isinstance(message.id, tuple):
                string: Any = tuple(_pseudo(domain, message.context, i) for i in message.id)
            else:
                string = _pseudo(domain, message.context, str(message.id))
            santali.add(message.id, string, context=message.context)
        target = locale / SANTALI / "LC_MESSAGES" / f"{domain}.po"
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as po:
            write_po(po, santali, width=100)


def _forget() -> None:
    for cached in (
        get_settings,
        i18n.catalogue,
        i18n.translations,
        i18n.offered_languages,
        dlt_template_ids,
    ):
        cached.cache_clear()
    forget_names()


@pytest.fixture
def santali(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The shipped catalogues plus Santali's, and `LANGUAGES=hi,en,sat`."""
    locale = tmp_path / "locale"
    shutil.copytree(i18n.LOCALE_DIR, locale)
    _write_santali(locale)
    monkeypatch.setattr(i18n, "LOCALE_DIR", locale)
    monkeypatch.setenv("LANGUAGES", f"hi,en,{SANTALI}")
    _forget()
    yield locale
    monkeypatch.undo()
    _forget()


def test_a_language_without_its_catalogues_is_refused_at_start(santali: Path) -> None:
    assert Settings(_env_file=None, languages="hi,en,sat").language_list == ("hi", "en", "sat")
    for languages, why in [
        ("hi,en,ur", r"LANGUAGES: 'ur' has no catalogue .*ur/LC_MESSAGES/sms\.po"),
        ("hi,EN", r"LANGUAGES: 'EN' is not an ISO 639 language code"),
        ("hi,hi", r"LANGUAGES: 'hi' is listed twice"),
        (" , ", r"LANGUAGES: name at least one language"),
    ]:
        with pytest.raises(ValidationError, match=why):
            Settings(_env_file=None, languages=languages)
    (santali / SANTALI / "LC_MESSAGES" / "names.po").unlink()
    with pytest.raises(ValidationError, match=r"'sat' has no catalogue .*names\.po"):
        Settings(_env_file=None, languages="hi,en,sat")


def test_the_citizens_language_is_one_offered(santali: Path) -> None:
    citizen = {"name": "Sona", "phone": "9876543210", "address": "Dumka", "district": "Dumka"}
    assert Citizen.model_validate({**citizen, "language": SANTALI}).language == SANTALI
    assert Citizen.model_validate(citizen).language == "hi"  # the first of LANGUAGES
    with pytest.raises(ValidationError, match=r"'ur' is not offered; choose one of hi, en, sat"):
        Citizen.model_validate({**citizen, "language": "ur"})


def test_texts_names_refusals_and_commands_come_from_the_new_catalogues(santali: Path) -> None:
    body, _dlt = render(
        "acknowledgement|complaint", SANTALI, {"reg": "5/2026", "helpline": "181", "due": "x"}
    )
    assert body.startswith(MARK) and "5/2026" in body
    # Names typed in Santali are recognised; statuses are worded in it.
    assert canonical_district(f"{MARK}Dumka") == "Dumka"
    assert status_labels("closed")[SANTALI] == f"{MARK}Closed"
    # A refusal carries a detail in each language offered but English.
    problem = refusal("finished")
    assert problem.extra["detail_sat"].startswith(MARK) and "detail_hi" in problem.extra
    # Open311 offers the language, named in itself; SMS commands are read in it.
    [language] = [a for a in service_attributes() if a.code == "language"]
    assert [v.key for v in language.values or []] == ["hi", "en", SANTALI]
    assert command_words()[f"{MARK}status".casefold()] == ("status", SANTALI)
    assert help_text("181").count("\n") == 2  # English, Hindi and Santali
    # The pages offer it, and pick it from the browser's preference.
    assert SANTALI in page_languages()
    # Written left to right, like Hindi; Urdu would get dir="rtl" (CLDR).
    assert (text_direction(SANTALI), text_direction("ur")) == ("ltr", "rtl")
    scope = {"type": "http", "headers": [(b"accept-language", b"sat-IN,sat;q=0.9,en;q=0.5")]}
    assert page_language(Request(scope)) == SANTALI


async def test_a_citizen_registered_in_the_new_language_gets_their_sms_in_it(
    santali: Path, stack: httpx.AsyncClient
) -> None:
    refused = await stack.post("/v1/complaints", json=complaint_body(citizen__language="ur"))
    assert refused.status_code == 422, refused.text
    assert "citizen.language" in refused.text and "hi, en, sat" in refused.text

    body = complaint_body(citizen__language=SANTALI, citizen__district=f"{MARK}Dumka")
    created = await stack.post("/v1/complaints", json=body)
    assert created.status_code == 201, created.text
    reg = created.json()["registration_number"]
    year, sequence = reg.split("/")[1], reg.split("/")[0]

    async def case() -> dict[str, Any]:
        return (await stack.get(f"/v1/complaints/{year}/{sequence}")).json()

    shown = await eventually(
        case, lambda c: any(m["template"] == "acknowledgement" for m in c["messages"])
    )
    assert shown["citizen"]["language"] == SANTALI and shown["citizen"]["district"] == "Dumka"
    [ack] = [m for m in shown["messages"] if m["template"] == "acknowledgement"]
    assert ack["language"] == SANTALI and ack["text"].startswith(MARK) and reg in ack["text"]


def test_a_text_not_yet_translated_goes_out_in_english_and_says_so(santali: Path) -> None:
    path = santali / SANTALI / "LC_MESSAGES" / "sms.po"
    with path.open("rb") as po:
        sms = read_po(po, locale="hi")
    untranslated = sms.get(
        "CM Jan Samvad {reg}: your complaint is withdrawn as you asked. For anything new, "
        "call {helpline}.",
        context="withdrawn|complaint",
    )
    assert untranslated is not None
    untranslated.string = ""
    with path.open("wb") as po:
        write_po(po, sms, width=100)
    _forget()
    # The row's language, its names and its DLT template ID follow the text really sent.
    assert sent_in("withdrawn", "complaint", SANTALI) == "en"
    assert sent_in("acknowledgement", "complaint", SANTALI) == SANTALI
    assert sent_in("withdrawn", "complaint", "hi") == "hi"
