"""Names shown on the pages in the reader's language, and the district picker's Hindi names."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

from schemas.reference import CATEGORY_BY_CODE, DEPARTMENT_BY_CODE, canonical_district

# The districts of Jharkhand as written in Hindi (Devanagari), for the picker and the pages.
DISTRICT_NAMES_HI: dict[str, str] = {
    "Bokaro": "बोकारो",
    "Chatra": "चतरा",
    "Deoghar": "देवघर",
    "Dhanbad": "धनबाद",
    "Dumka": "दुमका",
    "East Singhbhum": "पूर्वी सिंहभूम",
    "Garhwa": "गढ़वा",
    "Giridih": "गिरिडीह",
    "Godda": "गोड्डा",
    "Gumla": "गुमला",
    "Hazaribagh": "हजारीबाग",
    "Jamtara": "जामताड़ा",
    "Khunti": "खूंटी",
    "Koderma": "कोडरमा",
    "Latehar": "लातेहार",
    "Lohardaga": "लोहरदगा",
    "Pakur": "पाकुड़",
    "Palamu": "पलामू",
    "Ramgarh": "रामगढ़",
    "Ranchi": "रांची",
    "Sahebganj": "साहिबगंज",
    "Seraikela Kharsawan": "सरायकेला खरसावां",
    "Simdega": "सिमडेगा",
    "West Singhbhum": "पश्चिमी सिंहभूम",
}


def _key(value: str) -> str:
    """A Hindi spelling's key: NFC, single spaces, and chandrabindu written as anusvara, so
    that राँची and रांची, खूँटी and खूंटी are one name."""
    text = unicodedata.normalize("NFC", " ".join(value.split()))
    return text.replace("\u0901", "\u0902")


_BY_HINDI = {_key(hi): en for en, hi in DISTRICT_NAMES_HI.items()}


def district_from_input(value: str) -> str | None:
    """The district a person typed: its English name (any case) or its Hindi name, or "Ranchi
    — रांची" as the picker offers it; None when it names no district."""
    if not value.strip():
        return None
    for part in (value, *value.split("—")):
        found = canonical_district(part) or _BY_HINDI.get(_key(part))
        if found is not None:
            return found
    return None


def district_label(name: str | None, language: str) -> str:
    if not name:
        return "—"
    return DISTRICT_NAMES_HI.get(name, name) if language == "hi" else name


def department_label(code: str | None, language: str) -> str:
    department = DEPARTMENT_BY_CODE.get(code or "")
    if department is None:
        return code or "—"
    return department.name_hi if language == "hi" else department.name


def category_label(code: str | None, gettext: Callable[[str], str]) -> str:
    category = CATEGORY_BY_CODE.get(code or "")
    return gettext(category.label) if category is not None else (code or "—")


# Message IDs the templates translate from data (`_(value)`), which extraction cannot see:
# the catalogues must have them too (tests/test_pages_catalogue.py checks both languages).
TIMELINE_EVENTS = (
    "registered",
    "forwarded",
    "transferred",
    "suggestion_under_consideration",
    "report_received",
    "officer_reminded",
    "callback_rescheduled",
    "citizen_not_satisfied",
    "citizen_unreachable",
    "escalated_to_weekly_review",
    "escalated_to_sidhi_baat",
    "review_requested",
    "review_rolled_over",
    "directive_given",
    "closed",
    "withdrawn",
    "reopened",
    "daily_limit_overridden",
    "sms_delivered",
    "sms_undelivered",
    "sms_failed",
    "sms_dropped",
)


def data_msgids() -> list[str]:
    """Every message ID the pages build from data."""
    from schemas.enums import Channel, MessageStatus, RecipientKind
    from schemas.reference import CATEGORIES
    from schemas.review import SessionPhase

    return [
        *(c.value for c in Channel),
        *(c.label for c in CATEGORIES),
        *TIMELINE_EVENTS,
        *(s.value for s in MessageStatus),
        *(r.value for r in RecipientKind),
        *(p.value for p in SessionPhase),
    ]
