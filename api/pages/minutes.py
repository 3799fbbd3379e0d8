"""The minutes as people file them: officers by name and designation, names in the reader's
language, a CSV that Excel opens (UTF-8 with a byte-order mark, the reader's column names,
every cell neutralised: `core.spreadsheet`), and what the printable page needs around the
table (heading, date, chair, the division of a division's session, districts present,
signature block).

Rendering only: the minutes' data are the API's (`api.services.reviews.get_minutes`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from babel.dates import format_datetime
from sqlmodel import Session, col, select

from api.pages.reference import category_label, district_label
from core.models import Officer
from schemas.calendar import IST, SessionKind
from schemas.escalation import Forum
from schemas.i18n import local_name
from schemas.review import Minutes, MinutesEntry

Gettext = Callable[[str], str]


@dataclass(frozen=True)
class Person:
    """An officer as the minutes name them: name and designation (the reader's language),
    or the account's name when the directory does not know it."""

    name: str
    designation: str = ""

    def __str__(self) -> str:
        return f"{self.name}, {self.designation}" if self.designation else self.name


def officers_named(session: Session, ids: Iterable[str | None]) -> dict[str, Officer]:
    """The directory's entries of `ids` (one query, by primary key)."""
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    rows = session.exec(select(Officer).where(col(Officer.id).in_(wanted))).all()
    return {o.id: o for o in rows}


def person(officer_id: str | None, officers: dict[str, Officer], language: str) -> Person | None:
    if not officer_id:
        return None
    found = officers.get(officer_id)
    if found is None:
        return Person(officer_id)
    return Person(found.name, local_name("designation", found.designation, language))


def chair(kind: str, _: Gettext, forum: Forum | None = None, language: str = "en") -> str:
    """Who chairs a forum: the ladder file's forum's `chair` (in `language`, from the `names`
    catalogue, context `forum|chair`), else the domain's for the shipped forums (the CM's
    secretary on Tuesdays, the Chief Minister at Sidhi Baat, the Deputy Commissioner at a
    district's review), else "" (none named)."""
    if forum is not None and forum.chair:
        return local_name("forum|chair", forum.chair, language)
    chairs: dict[str, str] = {
        SessionKind.WEEKLY_REVIEW: _("Secretary to the Chief Minister"),
        SessionKind.SIDHI_BAAT: _("Chief Minister"),
        SessionKind.DC_REVIEW: _("Deputy Commissioner"),
    }
    return chairs.get(kind, "")


def division_of(minutes: Minutes, forum: Forum | None) -> str | None:
    """The division whose session the minutes record (a forum held by divisions), else
    None."""
    if forum is not None and forum.held_by == "division":
        return minutes.session.district
    return None


def districts_present(minutes: Minutes, forum: Forum | None = None) -> list[str]:
    """The districts whose cases the session took up (the session's own for a district's
    forum; a division's session names its division apart, `division_of`), in the order of
    the reference data's names."""
    found = {e.district for e in minutes.entries}
    if minutes.session.district and division_of(minutes, forum) is None:
        found.add(minutes.session.district)
    return sorted(found)


def _moment(value: datetime | None, language: str) -> str:
    if value is None:
        return ""
    return format_datetime(value, "d MMM y, HH:mm", tzinfo=IST, locale=language)


def csv_header(_: Gettext) -> list[str]:
    """The columns of the minutes' CSV, in the reader's words."""
    return [
        _("Session"),
        _("Number"),
        _("District"),
        _("Subject"),
        _("Outcome"),
        _("Decision"),
        _("Responsible officer"),
        _("Designation"),
        _("New deadline"),
        _("Citizen informed"),
        _("Decided by"),
        _("Decided at (IST)"),
    ]


def csv_rows(
    minutes: Minutes,
    officers: dict[str, Officer],
    language: str,
    _: Gettext,
    outcome_label: Callable[[str], str],
) -> list[list[str]]:
    """One row per entry, names and dates in the reader's language."""

    def row(e: MinutesEntry) -> list[str]:
        responsible = person(e.responsible_officer_id, officers, language)
        decided = person(e.decided_by, officers, language)
        return [
            minutes.session.session_id,
            e.registration_number,
            district_label(e.district, language),
            category_label(e.category, language) if e.category else e.subject,
            outcome_label(e.outcome.value),
            e.decision_text or "",
            responsible.name if responsible else "",
            responsible.designation if responsible else "",
            _moment(e.new_deadline, language),
            _("yes") if e.citizen_informed else _("no"),
            str(decided) if decided else "",
            _moment(e.decided_at, language),
        ]

    return [row(e) for e in minutes.entries]
