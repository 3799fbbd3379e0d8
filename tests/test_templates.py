"""SMS templates: segment counting, every template within two segments in both languages with
the longest real values, DLT template IDs and the DLT registration sheet."""

from __future__ import annotations

import json
import re

import pytest

from activities.templates import FORUMS, TEMPLATES, dlt_sheet, dlt_text, render, segments
from core.settings import Settings
from schemas.enums import Language
from schemas.reference import CATEGORY_BY_CODE
from schemas.workflow import SmsTemplate

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


# ---- every template ----------------------------------------------------------------------


def _longest_designation() -> str:
    directory = json.loads(Settings(_env_file=None).directory_file.read_text())
    return max((o["designation"] for o in directory["officers"]), key=len)


def _worst_case_params(**overrides: str) -> dict[str, str]:
    """The longest values each placeholder takes in practice."""
    params = {
        "reg": "99999/2026",
        "helpline": "181",
        "district": "Seraikela Kharsawan",
        "kind": "suggestion",
        "subject": max((c.label for c in CATEGORY_BY_CODE.values()), key=len),
        "officer": _longest_designation(),
        "due": "31-12-2026 23:59",
        "date": "29-12-2026 11:00",
        "prep": "22-12-2026 11:00",
        "forum": "weekly_review",
        "reopen_days": "30",
        "place": "Ward 12 Kanke Road, PIN 834008",
    }
    params.update(overrides)
    return params


CASES = [
    pytest.param(template, language, id=f"{template.value}-{language.value}")
    for template in SmsTemplate
    for language in Language
]


@pytest.mark.parametrize(("template", "language"), CASES)
def test_every_template_renders_within_two_segments(
    template: SmsTemplate, language: Language
) -> None:
    for forum in FORUMS:
        for kind in ("complaint", "suggestion"):
            text, _ = render(template, language, _worst_case_params(forum=forum, kind=kind))
            assert "{" not in text and "}" not in text, text
            assert segments(text) <= 2, (segments(text), len(text), text)


@pytest.mark.parametrize(("template", "language"), CASES)
def test_english_stays_gsm7_and_hindi_is_devanagari(
    template: SmsTemplate, language: Language
) -> None:
    text, _ = render(template, language, _worst_case_params())
    if language is Language.ENGLISH:
        # A stray curly quote or dash would silently make it UCS-2 (and 2-3 times dearer).
        assert segments(text) == segments("x" * len(text)), text
    else:
        assert re.search("[\u0900-\u097f]", text), text


@pytest.mark.parametrize("language", list(Language))
def test_acknowledgement_fits_two_segments(language: Language) -> None:
    """The first SMS a citizen gets must stay cheap and arrive whole."""
    for kind in ("complaint", "suggestion"):
        text, _ = render(
            SmsTemplate.ACKNOWLEDGEMENT,
            language,
            _worst_case_params(kind=kind, reg="1234567/2026", helpline="1800-345-6570"),
        )
        assert segments(text) <= 2, (len(text), text)
        assert "1234567/2026" in text


# ---- DLT ---------------------------------------------------------------------------------


def test_every_template_and_language_has_its_own_dlt_id() -> None:
    ids = [TEMPLATES[t].dlt_id(language) for t in SmsTemplate for language in Language]
    assert all(re.fullmatch(r"\d{19}", i) for i in ids), ids
    assert len(set(ids)) == len(ids)
    assert set(TEMPLATES) == set(SmsTemplate)


def test_render_returns_the_language_specific_dlt_id() -> None:
    params = _worst_case_params()
    _, en = render(SmsTemplate.ACKNOWLEDGEMENT, Language.ENGLISH, params)
    _, hi = render(SmsTemplate.ACKNOWLEDGEMENT, Language.HINDI, params)
    assert en == TEMPLATES[SmsTemplate.ACKNOWLEDGEMENT].dlt_template_id
    assert hi == TEMPLATES[SmsTemplate.ACKNOWLEDGEMENT].dlt_template_id_hi
    assert en != hi


def test_dlt_sheet_has_variables_in_dlt_form_and_the_entity_id() -> None:
    rows = dlt_sheet("1001234567890123456")
    assert len(rows) == 2 * len(SmsTemplate)
    for row in rows:
        assert row["entity_id"] == "1001234567890123456"
        assert "{#var#}" in row["template"]
        assert not re.search(r"\{(?!#var#\})", row["template"]), row["template"]
    assert dlt_text("no. {reg}, call {helpline}.") == "no. {#var#}, call {#var#}."
