"""Enumerations of the domain: the words the code, the API and the read model use for a case's
kind, channel, status, level, and the like."""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints


class ComplaintKind(StrEnum):
    COMPLAINT = "complaint"
    SUGGESTION = "suggestion"


class Channel(StrEnum):
    CALL_CENTRE = "call_centre"
    WEB = "web"
    EMAIL = "email"
    FACEBOOK = "facebook"
    TWITTER = "twitter"
    JANTA_DARBAR = "janta_darbar"
    CM_RESIDENCE = "cm_residence"
    GOVERNOR_OFFICE = "governor_office"
    MOBILE_APP = "mobile_app"
    SMS = "sms"
    WHATSAPP = "whatsapp"


class ChannelPreference(StrEnum):
    """How a citizen wants the centre's messages: SMS, WhatsApp, or both (per phone)."""

    SMS = "sms"
    WHATSAPP = "whatsapp"
    BOTH = "both"


# A language as an ISO 639 code ("hi", "en"). Which ones citizens may choose is the LANGUAGES
# setting, checked where a choice comes in (`schemas.complaint.ComplaintCreate`); stored and
# running cases keep theirs even if it is later withdrawn.
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]


class ComplaintStatus(StrEnum):
    """Where a case stands. Every status but the closed ones has a next deadline. The
    lifecycle's own statuses are fixed; a case on a forum's agenda has its rung's status, a
    string the configured ladder defines (`schemas.escalation.Rung.status`; the shipped
    ladders' are members here too, so code may name them)."""

    REGISTERED = "registered"  # recorded; workflow not yet acknowledged it
    AWAITING_REPORT = "awaiting_report"  # with the nodal / department officer
    AWAITING_CALLBACK = "awaiting_callback"  # report in; telecaller to verify with the citizen
    # On the agenda of a forum of the case's ladder (schemas/escalation.py): the District
    # Collector's review (a ladder that has one), the CM secretary's Tuesday review, the CM's
    # monthly Sidhi Baat.
    DC_REVIEW = "dc_review"
    WEEKLY_REVIEW = "weekly_review"
    SIDHI_BAAT = "sidhi_baat"
    CLOSED = "closed"  # may still be reopened within the reopen window
    WITHDRAWN = "withdrawn"

    @property
    def is_open(self) -> bool:
        return is_open(self)


# The statuses that end a case (reopened or not): every other status, whatever ladder defines
# it, is open. The read model's partial indexes of open cases are on `status NOT IN` these
# (migrations/versions/*_0020_*.py), so no ladder's statuses are listed in the database.
CLOSED_STATUSES: tuple[ComplaintStatus, ...] = (ComplaintStatus.CLOSED, ComplaintStatus.WITHDRAWN)
# The lifecycle's own statuses: a ladder's rung above the officer's may use none of them.
LIFECYCLE_STATUSES: tuple[ComplaintStatus, ...] = (
    ComplaintStatus.REGISTERED,
    ComplaintStatus.AWAITING_REPORT,
    ComplaintStatus.AWAITING_CALLBACK,
    *CLOSED_STATUSES,
)


def is_open(status: str) -> bool:
    """Whether a case at `status` (any ladder's) is still being dealt with."""
    return status not in CLOSED_STATUSES


def on_agenda(status: str) -> bool:
    """Whether a case at `status` is on a forum's agenda (a ladder's status, not the
    lifecycle's own)."""
    return status not in LIFECYCLE_STATUSES


def as_status(value: str) -> ComplaintStatus | str:
    """`value` as a `ComplaintStatus` member when it is one, else the ladder's string."""
    try:
        return ComplaintStatus(value)
    except ValueError:
        return value


# A status in a model: a member when the code knows it, else a ladder's own (a string).
_Word = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z_]*[a-z]$", max_length=20)]
Status = Annotated[
    ComplaintStatus | _Word,
    Field(union_mode="left_to_right"),
]


class EscalationLevel(IntEnum):
    """The stored identity of a rung (`Rung.level`), never its rank: a rung inserted between
    two others takes a new value, so stored and running cases keep their meaning. The shipped
    ladders' values; a ladder file may give its rungs any other (a `Level`)."""

    NODAL_OFFICER = 0
    WEEKLY_REVIEW = 1
    SIDHI_BAAT = 2
    DC_REVIEW = 3


# A stored level in a model: a member when the code knows it, else a ladder's own number (0-99,
# as the API's `escalation_level` filter takes it).
Level = Annotated[
    EscalationLevel | Annotated[int, Field(ge=0, le=99)], Field(union_mode="left_to_right")
]


class ClosureReason(StrEnum):
    RESOLVED_VERIFIED = "resolved_verified"  # citizen confirmed on the callback
    SUGGESTION_ANSWERED = "suggestion_answered"
    CLOSED_AT_REVIEW = "closed_at_review"  # a review closed it, with a reason, citizen informed
    CITIZEN_UNREACHABLE = "citizen_unreachable"  # only if policy says so; citizen told by SMS


class MessageStatus(StrEnum):
    PENDING = "pending"  # recorded, not yet handed to a gateway
    OUTBOX = "outbox"  # no gateway configured: kept locally, NOT sent
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"


class OfficerRole(StrEnum):
    NODAL = "nodal"  # nodal officer of a district or a department
    URGENT_DESK = "urgent_desk"  # department officer receiving urgent cases directly
    STATE_FALLBACK = "state_fallback"  # state-level officer when a nodal officer is missing


class RecipientKind(StrEnum):
    CITIZEN = "citizen"
    OFFICER = "officer"
