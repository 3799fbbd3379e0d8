"""Names shown on the pages in the reader's language (the `names` catalogue)."""

from __future__ import annotations

from collections.abc import Callable

from schemas.i18n import local_name
from schemas.reference import CATEGORY_BY_CODE, DEPARTMENT_BY_CODE, canonical_district


def district_from_input(value: str) -> str | None:
    """The district a person typed: its English or Hindi name in any spelling the reference
    data knows, or "Ranchi — रांची" as the picker offers it; None when it names no district."""
    if not value.strip():
        return None
    for part in (value, *value.split("—")):
        found = canonical_district(part)
        if found is not None:
            return found
    return None


def place_filters(
    values: dict[str, str], errors: dict[str, str], gettext: Callable[[str], str]
) -> tuple[str | None, str | None]:
    """A filter form's `district` and `department` as typed in `values`: the district and
    the department code they name (None: not given, or naming nothing known, when a message
    in the reader's language goes into `errors` under the field's name)."""
    district = None
    if values.get("district"):
        district = district_from_input(values["district"])
        if district is None:
            errors["district"] = gettext("Not a district of Jharkhand: choose one from the list.")
    department = values.get("department") or None
    if department is not None and department not in DEPARTMENT_BY_CODE:
        errors["department"] = gettext("Choose one of the options.")
        department = None
    return district, department


def district_label(name: str | None, language: str) -> str:
    if not name:
        return "—"
    return local_name("district", name, language)


def department_label(code: str | None, language: str) -> str:
    department = DEPARTMENT_BY_CODE.get(code or "")
    if department is None:
        return code or "—"
    return local_name("department", department.name, language)


def category_label(code: str | None, language: str) -> str:
    category = CATEGORY_BY_CODE.get(code or "")
    return local_name("subject", category.label, language) if category else (code or "—")


# Message IDs the templates translate from data (`_(value)`), which extraction cannot see:
# the catalogues must have them too (tests/unit/test_pages_catalogue.py checks both languages). An
# escalation (`escalated_to_<kind>`) is named by its forum (`api.pages.cases.event_label`).
TIMELINE_EVENTS = (
    "registered",
    "forwarded",
    "transferred",
    "suggestion_under_consideration",
    "report_received",
    "interim_reply",
    "closure_rated",
    "appealed",
    "officer_reminded",
    "callback_rescheduled",
    "citizen_not_satisfied",
    "citizen_unreachable",
    "review_requested",
    "review_rolled_over",
    "directive_given",
    "closed",
    "withdrawn",
    "reopened",
    "repeat_contact",
    "daily_limit_overridden",
    "sms_sent",
    "sms_delivered",
    "sms_undelivered",
    "sms_failed",
    "sms_dropped",
    # A file's events (schemas.attachments.AttachmentEventKind).
    "attachment_added",
    "attachment_published",
    "attachment_unpublished",
    "attachment_removed",
    "media_url_fetched",
    "media_url_refused",
)


def data_msgids() -> list[str]:
    """Every message ID the pages build from data."""
    from schemas.enums import Channel, MessageStatus, RecipientKind
    from schemas.review import SessionPhase

    return [
        *(c.value for c in Channel),
        *TIMELINE_EVENTS,
        *(s.value for s in MessageStatus),
        *(r.value for r in RecipientKind),
        *(p.value for p in SessionPhase),
    ]
