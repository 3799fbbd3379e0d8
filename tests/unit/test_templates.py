"""SMS texts: segment counting; every text within two segments with the longest real values;
every DLT variable within 30 characters over the whole directory and reference data; the
catalogues (placeholders, DLT IDs, Hindi grammar); the golden examples in docs/sms.md."""

from __future__ import annotations

import itertools
import json
import os
import re
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from string import Formatter

import pytest

from activities.sms import case_params, sms_params
from activities.templates import (
    COMMANDS,
    NAMES,
    REPLIES,
    TEXTS,
    Template,
    dlt_sheet,
    dlt_text,
    render,
    segments,
    template_for,
)
from core.models import Complaint, Officer
from core.settings import PROJECT_ROOT, Settings
from schemas.enums import Channel, ComplaintKind, ComplaintStatus, RecipientKind
from schemas.escalation import all_rungs
from schemas.i18n import available_languages, catalogue, local_name, translations
from schemas.reference import CATEGORIES, DISTRICTS, DLT_VARIABLE_MAX
from schemas.refusals import REFUSALS
from schemas.review import DEFAULT_TELECONFERENCE, DEFAULT_VENUE
from schemas.workflow import SendSmsInput, SmsTemplate

# ---- segments() --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("[" * 80, 1),  # GSM-7 extension characters take two septets each
        ("[" * 81, 2),
        ("é" * 160, 1),  # in the GSM-7 basic set
        ("क" * 70, 1),  # any Devanagari: UCS-2
        ("क" * 71, 2),
        ("a" * 69 + "क", 1),
        ("क" * 134, 2),
        ("क" * 135, 3),
        ("ç" * 70, 1),  # lower-case c-cedilla is not GSM-7 (only the capital is)
        ("😀" * 35, 1),  # outside the BMP: two UTF-16 code units each
        ("😀" * 36, 2),
    ],
)
def test_segments(text: str, expected: int) -> None:
    assert segments(text) == expected


# ---- the data every variable is drawn from ---------------------------------------------

LANGUAGES = ["en", "hi"]
OFFICER_TEXTS = {"officer_assigned", "officer_urgent", "officer_reminder", "officer_directive",
                 "review_notice", "review_bulk_directive"}  # fmt: skip


@cache
def _officers() -> list[Officer]:
    directory = json.loads(Settings(_env_file=None).directory_file.read_text(encoding="utf-8"))
    return [Officer(**entry) for entry in directory["officers"]]


NOW = datetime(2026, 11, 30, tzinfo=UTC)
# The centre's own helpline (HELPLINE_NUMBER): a state with a longer number sees here which
# texts its number pushes past two segments.
HELPLINE = Settings().helpline_number


def _complaint(
    *,
    kind: str = "complaint",
    category: str | None = "drinking_water",
    district: str = "Ranchi",
    language: str = "hi",
    address: str = "Ward 12, Kanke Road",
    pincode: str | None = "834008",
) -> Complaint:
    return Complaint(
        year=2026, sequence=20983, registration_number="20983/2026", workflow_id="w",
        kind=ComplaintKind(kind), channel=Channel.CALL_CENTRE, citizen_name="Sunita Devi",
        citizen_phone="+919876543210", citizen_address=address, district=district,
        citizen_district=district, pincode=pincode, language=language,
        category=category, description="d", status=ComplaintStatus.AWAITING_REPORT,
        request_fingerprint="f", created_at=NOW, updated_at=NOW,
    )  # fmt: skip


def _workflow_params(officer: bool) -> dict[str, str]:
    """What the workflow passes (moments as `dd-mm-YYYY HH:MM` IST, forum codes)."""
    return sms_params(
        {"due": "31-12-2026 17:00", "date": "29-12-2026 11:00", "prep": "22-12-2026 11:00",
         "forum": "weekly_review", "reason": "other_department_input", "reopen_days": "15",
         "count": "99",
         "venue": DEFAULT_VENUE, "teleconference": DEFAULT_TELECONFERENCE},
        "en", with_time=officer,
    )  # fmt: skip


def _placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in Formatter().parse(text) if field}


def _language_of(entry: Template) -> list[str]:
    return ["en"] if entry.context in OFFICER_TEXTS else LANGUAGES


# ---- DLT: every variable of every text within 30 characters ------------------------------


def test_every_variable_fits_dlt_over_the_directory_and_reference_data() -> None:
    """Every text × every directory entry, category and district × language: each value the
    text puts in a variable is at most 30 characters. (Each variable comes from one of these
    sources, so the sources are walked one at a time, not as a product.)"""
    cases = [
        *[(o, "drinking_water", "Ranchi") for o in _officers()],
        *[(None, c.code, "Ranchi") for c in CATEGORIES],
        *[(None, None, d) for d in DISTRICTS],
    ]
    checked = 0
    for (officer, category, district), language in itertools.product(cases, LANGUAGES):
        params = {
            **case_params(
                _complaint(category=category, district=district), officer, language, HELPLINE
            ),
            **_workflow_params(officer=False),
        }
        for entry in TEXTS:
            for key in _placeholders(entry.text(language)):
                assert len(params[key]) <= DLT_VARIABLE_MAX, (entry.context, key, params[key])
                checked += 1
    for name in NAMES:
        for language in LANGUAGES:
            assert len(name.text(language)) <= DLT_VARIABLE_MAX, (name.context, language)
    for key, value in _workflow_params(officer=True).items():
        assert len(value) <= DLT_VARIABLE_MAX, (key, value)
    assert checked > 10_000


def test_a_long_address_is_cut_to_the_variable_and_keeps_its_pin() -> None:
    params = case_params(
        _complaint(address="House 4, Lane 7, Behind the Block Office, Kanke", pincode="834008"),
        None, "en", "181",
    )  # fmt: skip
    assert len(params["place"]) <= DLT_VARIABLE_MAX
    assert params["place"].endswith("PIN 834008")


@pytest.mark.parametrize(
    ("field", "value", "refusal"),
    [
        ("office", "Office of the DC, Seraikela Kharsawan", r"office in 'en' .* longer than 30"),
        # An older directory's Hindi columns: their translations now go in names.po.
        ("office_hi", "उपायुक्त कार्यालय, बोकारो", r"office_hi is no longer read .*names\.po"),
    ],
)
def test_the_directory_refuses_an_office_too_long_for_an_sms(
    tmp_path: Path, field: str, value: str, refusal: str
) -> None:
    from core.db import load_directory, make_engine, migrate

    directory = json.loads(Settings(_env_file=None).directory_file.read_text(encoding="utf-8"))
    directory["officers"][1][field] = value
    path = tmp_path / "directory.json"
    path.write_text(json.dumps(directory, ensure_ascii=False), encoding="utf-8")
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    migrate(engine)
    with pytest.raises(ValueError, match=refusal):
        load_directory(engine, path)


def test_every_office_of_the_directory_has_its_hindi_name_within_a_dlt_variable() -> None:
    directory = json.loads(Settings(_env_file=None).directory_file.read_text(encoding="utf-8"))
    for entry in directory["officers"]:
        hindi = local_name("office", entry["office"], "hi")
        assert hindi != entry["office"] and len(hindi) <= DLT_VARIABLE_MAX, entry["id"]
        assert local_name("designation", entry["designation"], "hi") != entry["designation"]


# ---- segments: the longest real values ---------------------------------------------------


@cache
def _longest(language: str, officer_text: bool) -> dict[str, str]:
    def longest(values: list[str]) -> str:
        return max(values, key=len)

    worst = {
        key: longest(
            [case_params(_complaint(category=c.code, district=d, address="x" * 80), o, language,
                         "1800-345-6570")[key]
             for o in _officers() for c in CATEGORIES for d in DISTRICTS[:1]]
        )
        for key in ("office", "subject", "place")
    }  # fmt: skip
    districts = [
        case_params(_complaint(district=d), None, language, "")["district"] for d in DISTRICTS
    ]
    forums = [r.sms_name(language) for r in all_rungs().values() if r.forum is not None]
    return {
        **_workflow_params(officer_text),
        "reg": "99999/2026", "helpline": HELPLINE, "kind": "complaint",
        "district": longest(districts), "forum": longest(forums), **worst,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("entry", "language"),
    [pytest.param(t, lang, id=f"{t.name}-{lang}") for t in TEXTS for lang in _language_of(t)],
)
def test_every_text_fits_two_segments_with_the_longest_values(
    entry: Template, language: str
) -> None:
    text = entry.render(language, _longest(language, entry.context in OFFICER_TEXTS))
    assert segments(text) <= 2, (segments(text), len(text), text)


# ---- the catalogues ----------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_translation_has_the_sources_placeholders(language: str) -> None:
    """A translator may reorder the variables, never drop, add or misspell one."""
    for entry in (*TEXTS, *NAMES, *REPLIES, *COMMANDS):
        assert _placeholders(entry.text(language)) == _placeholders(entry.source), entry.context
    for key, source in REFUSALS.items():
        translation = str(translations("refusals", language).pgettext(key, source))
        assert _placeholders(translation) == _placeholders(source), key


def test_every_citizen_text_is_translated_into_hindi() -> None:
    for key, source in REFUSALS.items():
        hindi = str(translations("refusals", "hi").pgettext(key, source))
        assert hindi != source and re.search("[\u0900-\u097f]", hindi), key
    for entry in (*TEXTS, *NAMES, *REPLIES, *COMMANDS):
        if entry.context in OFFICER_TEXTS:
            continue
        assert re.search("[\u0900-\u097f]", entry.text("hi")), entry.context
        assert "Jan Samvad" not in entry.text("hi"), entry.context


def test_every_citizen_text_names_the_centre_the_number_and_the_helpline() -> None:
    for entry in TEXTS:
        if entry.context in OFFICER_TEXTS:
            continue
        for language, brand in (("en", "CM Jan Samvad"), ("hi", "मुख्यमंत्री जन संवाद")):
            text = entry.text(language)
            assert text.startswith(brand), (entry.context, language, text)
            assert {"reg", "helpline"} <= _placeholders(text), (entry.context, language)


def test_hindi_agrees_with_the_kind() -> None:
    """शिकायत is feminine, सुझाव masculine: "आपकी शिकायत दर्ज हुई", "आपका सुझाव दर्ज हुआ"."""
    for entry in TEXTS:
        text = entry.text("hi")
        assert "आपकी सुझाव" not in text and "आपका शिकायत" not in text, entry.context
        if entry.context.endswith("|suggestion"):
            assert "सुझाव" in text and "शिकायत" not in text, entry.context
            assert not re.search("सुझाव [^।]*(गई|दर्ज हुई|ली गई|रखी)", text), text
        if entry.context.endswith("|complaint"):
            assert not re.search("शिकायत [^।,]*(भेजा गया|दर्ज हुआ|लिया गया|रखा जाएगा)", text), text
    assert "आपका सुझाव दर्ज हुआ" in template_for("acknowledgement", "suggestion").text("hi")
    assert "आपकी शिकायत दर्ज हुई" in template_for("acknowledgement", "complaint").text("hi")


def test_every_sms_event_has_a_text_for_each_kind() -> None:
    for event, kind in itertools.product(SmsTemplate, ComplaintKind):
        assert template_for(event.value, kind.value).source


def test_every_text_and_language_has_its_own_dlt_id() -> None:
    ids = [t.dlt_id(lang) for t in TEXTS for lang in LANGUAGES]
    assert all(re.fullmatch(r"\d{19}", i) for i in ids), ids
    assert len(set(ids)) == len(ids)


def test_render_returns_the_language_specific_dlt_id() -> None:
    params = _longest("en", False)
    _, en = render(SmsTemplate.ACKNOWLEDGEMENT, "en", params)
    _, hi = render(SmsTemplate.ACKNOWLEDGEMENT, "hi", params)
    assert en == template_for("acknowledgement", "complaint").dlt_id("en") != hi


def test_the_shipped_catalogues_are_english_and_hindi_and_parse() -> None:
    assert available_languages("sms") == ["en", "hi"]
    for language in LANGUAGES:
        contexts = {m.context for m in catalogue("sms", language) if m.id}
        assert contexts == {t.context for t in (*TEXTS, *NAMES, *REPLIES, *COMMANDS)}, language


def test_dlt_sheet_has_variables_in_dlt_form_and_the_entity_id() -> None:
    rows = dlt_sheet("1001234567890123456", ("en", "hi", "en"))  # each language once
    assert len(rows) == 2 * len(TEXTS)
    for row in rows:
        assert row["entity_id"] == "1001234567890123456"
        assert "{#var#}" in row["template"]
        assert not re.search(r"\{(?!#var#\})", row["template"]), row["template"]
    assert dlt_text("no. {reg}, call {helpline}.") == "no. {#var#}, call {#var#}."


# ---- golden examples (docs/sms.md) --------------------------------------------------------

SMS_PAGE = PROJECT_ROOT / "docs" / "sms.md"
_START, _END = "<!-- sms-examples:start -->", "<!-- sms-examples:end -->"


def _examples() -> str:
    """Every text in English and Hindi for one representative case, as docs/sms.md shows them."""
    officer = next(o for o in _officers() if o.district == "Ranchi")
    lines = ["| message | English | हिन्दी |", "|---|---|---|"]
    for entry in TEXTS:
        row = [f"`{entry.name}`"]
        officer_text = entry.context in OFFICER_TEXTS
        kind = entry.context.split("|")[1] if "|" in entry.context else "complaint"
        for language in LANGUAGES:
            if officer_text and language != "en":
                row.append("(officers are written to in English)")
                continue
            params = {
                **case_params(_complaint(kind=kind, language=language), officer, language, "181"),
                **sms_params(
                    {"due": "15-12-2026 17:00", "date": "08-12-2026 11:00",
                     "prep": "01-12-2026 11:00", "forum": "weekly_review", "reopen_days": "15",
                     "reason": "site_inspection_due",
                     "count": "3", "venue": DEFAULT_VENUE,
                     "teleconference": DEFAULT_TELECONFERENCE},
                    language, with_time=officer_text or entry.context == "sidhi_baat_invitation",
                ),
            }  # fmt: skip
            row.append(entry.render(language, params))
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def test_the_sms_page_shows_every_text_as_rendered() -> None:
    """Golden file: docs/sms.md's table is the texts as sent. JANSAMVAD_UPDATE_GOLDEN=1 rewrites
    it (then read it as a citizen would before committing)."""
    readme = SMS_PAGE.read_text(encoding="utf-8")
    start, end = readme.index(_START) + len(_START), readme.index(_END)
    expected = "\n" + _examples() + "\n"
    if os.environ.get("JANSAMVAD_UPDATE_GOLDEN"):
        SMS_PAGE.write_text(readme[:start] + expected + readme[end:], encoding="utf-8")
    assert readme[start:end] == expected


def test_a_reminder_queued_before_reminders_named_the_forum_still_renders() -> None:
    """A reminder a case queued under the previous code carries no `forum`: it names the
    weekly review, where every such case was bound, rather than failing at every retry."""
    from activities.sms import _with_defaults

    queued = SendSmsInput(
        registration_number="7/2026",
        key="7/2026:3:officer_reminder:officer",
        template=SmsTemplate.OFFICER_REMINDER,
        recipient=RecipientKind.OFFICER,
        params={"due": "31-12-2026 17:00"},
    )
    params = sms_params(_with_defaults(queued), "en", with_time=True)
    text, _dlt = render("officer_reminder", "en", {**params, "reg": "7/2026", "district": "Ranchi"})
    assert text.endswith("If late, it goes to the CM secretary's weekly review.")
    acknowledgement = queued.model_copy(update={"template": SmsTemplate.ACKNOWLEDGEMENT})
    assert "forum" not in _with_defaults(acknowledgement)
