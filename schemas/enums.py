"""Enumerations of the domain: the words the code, the API and the read model use for a case's
kind, channel, status, level, and the like."""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Annotated

from pydantic import StringConstraints


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
    """Where a case stands. Every status but the closed ones has a next deadline."""

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
        return self not in (ComplaintStatus.CLOSED, ComplaintStatus.WITHDRAWN)


# The statuses of a case still being dealt with, in one place (the API's filters, metrics and
# the read model's partial index, migrations/versions/*_0011_*.py, list them in this order).
OPEN_STATUSES: tuple[ComplaintStatus, ...] = tuple(s for s in ComplaintStatus if s.is_open)


class EscalationLevel(IntEnum):
    """The stored identity of a rung (`Rung.level`), never its rank: a rung inserted between
    two others takes a new value, so stored and running cases keep their meaning."""

    NODAL_OFFICER = 0
    WEEKLY_REVIEW = 1
    SIDHI_BAAT = 2
    DC_REVIEW = 3


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
