"""The complaint as the API receives and returns it."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Annotated

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, field_validator

from schemas.calendar import IstModel
from schemas.enums import (
    Channel,
    ChannelPreference,
    ClosureReason,
    ComplaintKind,
    Language,
    Level,
    MessageStatus,
    RecipientKind,
    Status,
)
from schemas.i18n import default_language, offered_languages
from schemas.reference import URGENT_CATEGORIES, CategoryName, DepartmentName, DistrictName
from schemas.visible import refuse_hidden, require_letter

_MOBILE = re.compile(r"[6-9][0-9]{9}")
_REGISTRATION_NUMBER = re.compile(r"(\d{1,9})\s*[/-]\s*(\d{4})")


def ascii_digits(value: str) -> str:
    """`value` with every decimal digit of any script (Devanagari ८, Bengali ৮, fullwidth ８...)
    written as its ASCII digit; other characters unchanged. Numbers typed by people are read by
    their value, so that one number has one spelling (identifiers in URLs stay ASCII-only)."""
    return "".join(
        str(unicodedata.decimal(c)) if c.isdecimal() and not c.isascii() else c for c in value
    )


def normalise_phone(value: str) -> str:
    """An Indian mobile number in its one canonical form, E.164 `+91XXXXXXXXXX`.

    Parsed by libphonenumber (`phonenumbers`): +91 / 91 / 0 prefixes, separators and digits of
    any script are accepted. Raises ValueError for anything that is not a valid Indian mobile
    number (10 digits starting with 6, 7, 8 or 9).
    """
    problem = (
        "must be an Indian mobile number: 10 digits starting with 6, 7, 8 or 9, "
        "optionally prefixed by +91 or 0"
    )
    try:
        number = phonenumbers.parse(value, "IN")
    except phonenumbers.NumberParseException:
        raise ValueError(problem) from None
    national = str(number.national_number)
    if (
        number.country_code != 91
        or not phonenumbers.is_valid_number(number)
        or not _MOBILE.fullmatch(national)
    ):
        raise ValueError(problem)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


Phone = Annotated[str, Field(examples=["+91 98765 43210"])]


class Citizen(BaseModel):
    """The person who complains. Stored exactly as given, except the normalised fields."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    phone: Phone
    address: str = Field(min_length=1, max_length=1000)
    district: DistrictName = Field(
        description="One of the 24 districts of Jharkhand, in English or Hindi, any case or a "
        "common other spelling (Palamau, रांची)."
    )
    pincode: str | None = Field(default=None, description="6 digits; Jharkhand's begin 81-83.")
    language: Language = Field(
        default_factory=default_language,
        description="The language of the citizen's SMS: one of LANGUAGES (default: its first).",
    )

    @field_validator("name", "address")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        # Read beside the phone number by staff: nothing that reorders or hides (see
        # schemas/visible.py).
        return refuse_hidden(value.strip())

    @field_validator("name")
    @classmethod
    def _a_letter(cls, value: str) -> str:
        return require_letter(value)

    @field_validator("language")
    @classmethod
    def _offered(cls, value: str) -> str:
        offered = offered_languages()
        if value not in offered:
            raise ValueError(f"{value!r} is not offered; choose one of {', '.join(offered)}")
        return value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return normalise_phone(value)

    @field_validator("pincode")
    @classmethod
    def _pincode(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = ascii_digits(value.strip())
        if not re.fullmatch(r"[0-9]{6}", value):
            raise ValueError("must be 6 digits")
        if value[:2] not in ("81", "82", "83"):
            raise ValueError("is not a Jharkhand PIN code (they begin with 81, 82 or 83)")
        return value


class ComplaintCreate(BaseModel):
    """A complaint or suggestion as a call-centre agent or channel integration submits it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "kind": "complaint",
                    "channel": "call_centre",
                    "citizen": {
                        "name": "Ramesh Mahto",
                        "phone": "9876543210",
                        "address": "Village Barwadih, Block Kanke",
                        "district": "Ranchi",
                        "pincode": "834006",
                        "language": "hi",
                    },
                    "category": "sanitation",
                    "department": None,
                    "description": "गाँव में कुछ लोगों को शौचालय मिला, मुझे अभी तक नहीं मिला।",
                    "urgent": False,
                    "wishes_to_meet_cm": False,
                }
            ]
        },
    )

    kind: ComplaintKind = ComplaintKind.COMPLAINT
    channel: Channel
    citizen: Citizen
    category: CategoryName | None = Field(
        default=None, description="A category code, or its label in English or Hindi."
    )
    department: DepartmentName | None = Field(
        default=None, description="A department code, or its name in English or Hindi."
    )
    description: str = Field(min_length=1, max_length=4000)
    urgent: bool = False
    wishes_to_meet_cm: bool = False

    @field_validator("description")
    @classmethod
    def _description(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value  # stored exactly as written (Hindi, English or Hinglish)

    @property
    def is_urgent(self) -> bool:
        """Urgent by the caller's flag or by an urgent category (disaster, riot, crime...)."""
        return self.urgent or (self.category in URGENT_CATEGORIES)


class TimelineEntry(IstModel):
    at: datetime
    event: str
    actor: str = Field(
        description="Who acted: a staff member's or integration's name, `citizen`, `timer`, "
        "`reviewer`..."
    )
    channel: str | None = Field(
        default=None,
        description="How the action came in: the registration's channel, `api`, `sms`; "
        "null for the case's own timers.",
    )
    on_behalf_of_citizen: bool = Field(
        default=False, description="The actor acted for the citizen (a telecaller, a portal)."
    )
    note: str | None = None


class MessagePublic(IstModel):
    key: str
    template: str
    recipient_kind: RecipientKind
    recipient: str
    language: Language
    text: str
    segments: int
    status: MessageStatus
    provider: str
    channel: str = Field(default="sms", description="`sms` or `whatsapp` (docs/whatsapp.md).")
    provider_sid: str | None = None
    error: str | None = None
    created_at: datetime
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    updated_at: datetime


class OfficerPublic(BaseModel):
    id: str
    name: str
    designation: str


class ComplaintLinks(BaseModel):
    self: str


class ComplaintSummary(IstModel):
    """One row of a listing."""

    registration_number: str
    kind: ComplaintKind
    channel: Channel
    district: str
    department: str | None
    category: str | None
    urgent: bool
    status: Status
    escalation_level: Level
    next_deadline: datetime | None
    overdue: bool
    # Sessions in a row that left it undecided on a review's agenda.
    undecided_times: int = 0
    # Later calls from the citizen about it, linked to it rather than registered again.
    repeat_contacts: int = 0
    created_at: datetime
    links: ComplaintLinks


class ComplaintPublic(ComplaintSummary):
    """The whole case as staff see it."""

    year: int
    sequence: int
    citizen: Citizen
    description: str
    wishes_to_meet_cm: bool
    assigned_officer: OfficerPublic | None
    review_date: datetime | None
    closure_reason: ClosureReason | None
    closed_at: datetime | None
    last_reply: str | None
    citizen_remark: str | None
    workflow_id: str
    workflow_started: bool = Field(
        description="False while the workflow start is pending (Temporal was unreachable); "
        "the worker's reconciliation starts it."
    )
    updated_at: datetime
    timeline: list[TimelineEntry]
    messages: list[MessagePublic]


class ComplaintList(BaseModel):
    """A page of cases: `count` is every case that matched; `data` the page from `offset`."""

    data: list[ComplaintSummary]
    count: int
    limit: int = 50
    offset: int = 0


class ComplaintSubmission(ComplaintCreate):
    """The intake body: a complaint, plus a telecaller's override of the per-phone limit."""

    limit_override_reason: str | None = Field(
        default=None,
        min_length=10,
        max_length=500,
        description="Telecallers only: why this phone number may file beyond its daily limit "
        "(recorded on the case). Refused for integration clients.",
    )

    link_to: str | None = Field(
        default=None,
        description="A repeat call: the registration number (20983/2026) of the citizen's open "
        "case it is about, offered as `possible_duplicates`. The call is recorded on that case "
        "(its timeline; the citizen is sent its number again) and no new case is registered; "
        "the answer (200) is that case. It must be a case of the same phone.",
        examples=["20983/2026"],
    )

    channel_preference: ChannelPreference | None = Field(
        default=None,
        description="How the citizen wants the centre's messages: `sms`, `whatsapp` or `both` "
        "(kept for the phone, for its later cases too; none: unchanged, SMS for a new phone).",
    )

    @field_validator("link_to")
    @classmethod
    def _link_to(cls, value: str | None) -> str | None:
        if value is None:
            return None
        found = _REGISTRATION_NUMBER.fullmatch(ascii_digits(value).strip())
        if not found:
            raise ValueError("must be a registration number such as 20983/2026")
        return f"{int(found.group(1))}/{found.group(2)}"

    def complaint(self) -> ComplaintCreate:
        """The complaint alone (its idempotency fingerprint includes neither the override nor
        a link)."""
        return ComplaintCreate.model_validate(
            {name: getattr(self, name) for name in ComplaintCreate.model_fields}
        )


class Registration(ComplaintPublic):
    """The answer to a registration: the case (the new one, or with `linked` the citizen's
    earlier case this call was linked to), the caller's other cases, and their open cases
    that look like this same complaint (same subject and district, or very similar words,
    within the policy's `repeat_contact_window`): send `link_to` to link a repeat call."""

    linked: bool = Field(
        default=False, description="This call was linked to the earlier case answered here."
    )
    earlier_cases: list[ComplaintSummary] = Field(
        default_factory=list, description="The phone's other cases, newest first (at most 20)."
    )
    earlier_cases_count: int = Field(default=0, description="How many other cases the phone has.")
    possible_duplicates: list[ComplaintSummary] = Field(
        default_factory=list,
        description="Open cases of the same phone that look like this complaint (none when "
        "linked).",
    )
