"""What citizens see without a token: public tracking (the intake body, with a telecaller's
override of the per-phone daily limit, is `schemas.complaint.ComplaintSubmission`)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from schemas.calendar import IstModel
from schemas.enums import ComplaintKind, ComplaintStatus, Status
from schemas.escalation import all_rungs, status_rung
from schemas.i18n import local_name, offered_languages

# Citizen-friendly words for each status (the API's own values stay the machine's), in
# English: a rung's status (with the officer, on a forum's agenda) is its rung's
# `status_labels` (schemas/escalation.py), the others are here. Their translations are in the
# `names` catalogue (context `status`).
STATUS_LABELS: dict[str, str] = {
    ComplaintStatus.REGISTERED: "Registered",
    ComplaintStatus.AWAITING_CALLBACK: "The department has replied; we will call you to confirm",
    **{rung.status: rung.status_labels["en"] for rung in all_rungs().values()},
    ComplaintStatus.CLOSED: "Closed",
    ComplaintStatus.WITHDRAWN: "Withdrawn at the citizen's request",
}


def status_english(status: str) -> str:
    """The citizen's words for `status` (any configured ladder's) in English; KeyError for a
    status no ladder defines."""
    rung = status_rung(status)
    return rung.status_labels["en"] if rung is not None else STATUS_LABELS[status]


def status_label(status: ComplaintStatus | str, language: str) -> str:
    """The citizen's words for `status` (any configured ladder's) in `language`: its rung's
    `status_labels` in that language, else the `names` catalogue's translation (context
    `status`) of its English. KeyError for a status no ladder defines."""
    rung = status_rung(status)
    if rung is not None:
        own = rung.status_labels.get(language)
        return own or local_name("status", rung.status_labels["en"], language)
    return local_name("status", STATUS_LABELS[status], language)


def status_labels(status: ComplaintStatus | str) -> dict[str, str]:
    """The citizen's words for `status` in each language the centre offers (`LANGUAGES`)."""
    return {code: status_label(status, code) for code in offered_languages()}


class TrackedComplaint(IstModel):
    """A case as its citizen sees it: no personal data, no officers, no internal ids."""

    registration_number: str = Field(examples=["1/2026"])
    kind: ComplaintKind
    status: Status
    status_label: dict[str, str] = Field(
        description="The status in the citizen's words, in each language the centre offers "
        "(keyed by ISO 639 code)",
        examples=[{"hi": "कार्रवाई हेतु विभाग के पास", "en": "With the department for action"}],
    )
    registered_at: datetime
    updated_at: datetime
    next_deadline: datetime | None = Field(
        description="When the next step is due: the department's report, the verification "
        "call, or the review meeting; none once the case is closed or withdrawn."
    )
    last_reply: str | None = Field(
        description="The department's latest reply, whatever came after it (a citizen not "
        "satisfied with it, a review): null until the department has replied."
    )
    closed_at: datetime | None = Field(
        default=None, description="When the case was closed (a closed case only)."
    )
    reopen_until: datetime | None = Field(
        default=None,
        description="A closed case: until when the citizen may reopen it, by the case's own "
        "reopen window (the policy recorded with it); null otherwise, or when the workflow "
        "service cannot say at the moment.",
    )
    reopen_days: int | None = Field(
        default=None, description="The case's reopen window in days (with `reopen_until`)."
    )
