"""People's words on the staff pages, not the machine's: a case's status as officers say it,
the timeline's events, outcomes and actors, and an action's refusal shown beside the field it
concerns — in the reader's language, from the `pages` catalogue.

The API keeps its own words (field names, codes): they are for programs. The timeline's notes
are written by the workflow in a fixed English form (`partially_resolved: <reply>`,
`reminder 1: report due ...`); they are recorded history and stay as they are, so the pages
reword them here. A note of a form not known here is shown as written."""

from __future__ import annotations

import re
from collections.abc import Callable

from api.errors import ApiError
from schemas.attachments import AttachmentEventKind, AttachmentKind, MediaType
from schemas.enums import ClosureReason, ComplaintStatus
from schemas.escalation import all_rungs, status_rung
from schemas.voice import CallResult, VerificationChannel
from schemas.workflow import ReportOutcome, SmsTemplate

Gettext = Callable[[str], str]

# How officers and the review room name a status (the citizen's words are for citizens: "we
# will call you to confirm" is not what an officer should read).
_STAFF_STATUS: dict[ComplaintStatus, Callable[[Gettext], str]] = {
    ComplaintStatus.REGISTERED: lambda _: _("Registered, being forwarded"),
    ComplaintStatus.AWAITING_REPORT: lambda _: _("With the officer: report due"),
    ComplaintStatus.AWAITING_CALLBACK: lambda _: _("Report received: verification call due"),
    ComplaintStatus.CLOSED: lambda _: _("Closed"),
    ComplaintStatus.WITHDRAWN: lambda _: _("Withdrawn by the citizen"),
}


def staff_status(status: ComplaintStatus | str, language: str, _: Gettext) -> str:
    """`status` in officers' words; a review forum's status by its forum's name."""
    if status in _STAFF_STATUS:
        return _STAFF_STATUS[ComplaintStatus(status)](_)
    rung = status_rung(status)
    if rung is not None:
        return _("On the agenda: %(forum)s") % {"forum": rung.label(language)}
    return str(status)


# ---- refusals beside their field -----------------------------------------------------------

# A refusal the API words for programs (`transfer_to_district`, `citizen_informed: ...`),
# said to a person beside the form field it concerns.
_FIELD_REFUSALS: dict[str, tuple[str, Callable[[Gettext], str]]] = {
    "transfer_target": (
        "transfer_to_district",
        lambda _: _("Choose the district or the department to transfer the case to."),
    ),
    "unknown_district": (
        "transfer_to_district",
        lambda _: _("Not a district of Jharkhand: choose one from the list."),
    ),
    "unknown_department": ("transfer_to_department", lambda _: _("Choose one of the options.")),
    "reply_required": (
        "reply",
        lambda _: _("Write the department's reply: the citizen receives it."),
    ),
    "outcome_not_for_kind": ("outcome", lambda _: _("Choose one of the options.")),
    "remark_required": (
        "remark",
        lambda _: _("Write what the citizen said: it is needed when they are not satisfied."),
    ),
    "citizen_not_informed": (
        "citizen_informed",
        lambda _: _(
            "Inform the citizen first: a review closes a case only once the citizen has been "
            "told, then tick this box."
        ),
    ),
    "deadline_zone": ("new_deadline", lambda _: _("Not a date and time.")),
    "deadline_past": ("new_deadline", lambda _: _("The new deadline must be in the future.")),
    # An interim reply's (and a "not actionable" report's) reason, its expected date.
    "reason_not_listed": ("reason", lambda _: _("Choose one of the options.")),
    "expected_past": ("expected_by", lambda _: _("The expected date must be in the future.")),
}

# Fields an API error may name in `errors[].field`, said again in the reader's words.
_FIELD_MESSAGES: dict[str, Callable[[Gettext], str]] = {
    "new_deadline": lambda _: _("The new deadline must be in the future."),
    "responsible_officer_id": lambda _: _("Choose one of the options."),
    "attachments": lambda _: _(
        "A resolved report needs an action-taken report: add a photo or document of the work done."
    ),
}
# The API's field -> the form's (the report form's files are `files`).
_FORM_FIELDS = {"attachments": "files"}


def field_refusal(err: ApiError, _: Gettext) -> dict[str, str] | None:
    """The refusal `err` as messages by form field, in the reader's words; None when it
    concerns no field (the case's state, a session's phase: shown above the form)."""
    reason = err.extra.get("reason")
    if isinstance(reason, str) and reason in _FIELD_REFUSALS:
        name, message = _FIELD_REFUSALS[reason]
        return {name: message(_)}
    found: dict[str, str] = {}
    for entry in err.extra.get("errors", []) or []:
        if isinstance(entry, dict) and isinstance(entry.get("field"), str):
            name = str(entry["field"])
            word = _FIELD_MESSAGES.get(name)
            found[_FORM_FIELDS.get(name, name)] = (
                word(_) if word else _("Please correct this field.")
            )
    return found or None


# ---- the timeline --------------------------------------------------------------------------

_ACTORS: dict[str, Callable[[Gettext], str]] = {
    "system": lambda _: _("Jan Samvad (automatic)"),
    "timer": lambda _: _("Deadline (automatic)"),
    "sms": lambda _: _("SMS service"),
    "citizen": lambda _: _("Citizen"),
    "ivr": lambda _: _("IVR call (automatic)"),
}

_CLOSURES: dict[str, Callable[[Gettext], str]] = {
    ClosureReason.RESOLVED_VERIFIED.value: lambda _: _("Resolved, confirmed by the citizen"),
    ClosureReason.SUGGESTION_ANSWERED.value: lambda _: _("Suggestion answered"),
    ClosureReason.CLOSED_AT_REVIEW.value: lambda _: _("Closed at a review"),
    ClosureReason.CITIZEN_UNREACHABLE.value: lambda _: _("Citizen not reachable"),
}


# How an IVR call ended (`schemas.voice.CallResult`), or, while no result is known, the call's
# Twilio status (`IvrSummary.last_result` carries either).
_CALL_RESULTS: dict[str, Callable[[Gettext], str]] = {
    CallResult.SATISFIED.value: lambda _: _("Pressed 1: solved"),
    CallResult.NOT_SATISFIED.value: lambda _: _("Pressed 2: not solved"),
    CallResult.OPERATOR.value: lambda _: _("Pressed 3: asked for an operator"),
    CallResult.NO_VALID_ANSWER.value: lambda _: _("Answered, no valid key pressed"),
    CallResult.BUSY.value: lambda _: _("Line busy"),
    CallResult.NO_ANSWER.value: lambda _: _("Not answered"),
    CallResult.FAILED.value: lambda _: _("Call failed"),
    "pending": lambda _: _("Being placed"),
    "queued": lambda _: _("Being placed"),
    "initiated": lambda _: _("Ringing"),
    "ringing": lambda _: _("Ringing"),
    "in-progress": lambda _: _("In progress"),
}


def call_result_label(value: str, _: Gettext) -> str:
    """How the case's last IVR call ended, in words (a value not known here as it is)."""
    word = _CALL_RESULTS.get(value)
    return word(_) if word else value


_CHANNELS: dict[str, Callable[[Gettext], str]] = {
    VerificationChannel.IVR.value: lambda _: _("IVR call"),
    VerificationChannel.TELECALLER.value: lambda _: _("Telecaller"),
    VerificationChannel.SMS.value: lambda _: _("SMS reply"),
    VerificationChannel.DESK.value: lambda _: _("At the desk"),
    VerificationChannel.WHATSAPP.value: lambda _: _("WhatsApp reply"),
}


def verification_channel_label(value: str, _: Gettext) -> str:
    """How a verification was made, in words."""
    word = _CHANNELS.get(value)
    return word(_) if word else value


def actor_label(actor: str, _: Gettext) -> str:
    """Who acted: a person's account name as it is, the machine's roles in words."""
    word = _ACTORS.get(actor)
    return word(_) if word else actor


_REMINDER = re.compile(r"reminder (\d+): report due (.+)")
_ATTEMPT = re.compile(r"attempt (\d+) of (\d+)")
_UNREACHABLE = re.compile(r"unreachable on (\d+) attempts")
# An escalation's note (the workflow's): why, the sitting, and the lower forum preparing it.
_CLIMBED = re.compile(
    r"undecided at (\d+) sessions of the ([a-z_]+); on the agenda of ([^,]+)"
    r"(?:, prepared at the ([a-z_]+) of (.+))?"
)
_UNDECIDED = re.compile(r"undecided at (\S+); now (\S+)")
_TO_OFFICER = re.compile(r"to (.+?)(?: \(transfer (\d+)\))?: (.*)", re.S)
_URGENT = "urgent: sent directly to the department's officers"
_SMS_NOTE = re.compile(r"([a-z_]+) to (citizen|officer)(?:: (.*))?", re.S)

# Each SMS by what it tells (the timeline's SMS entries name their message).
_SMS: dict[str, Callable[[Gettext], str]] = {
    SmsTemplate.ACKNOWLEDGEMENT.value: lambda _: _("Acknowledgement"),
    SmsTemplate.FORWARDED.value: lambda _: _("Forwarded notice"),
    SmsTemplate.OFFICER_ASSIGNED.value: lambda _: _("New case for the officer"),
    SmsTemplate.OFFICER_REMINDER.value: lambda _: _("Reminder to the officer"),
    SmsTemplate.REPORT_RECEIVED.value: lambda _: _("The department's reply"),
    SmsTemplate.SUGGESTION_ANSWERED.value: lambda _: _("Answer to the suggestion"),
    SmsTemplate.CLOSED.value: lambda _: _("Closure notice"),
    SmsTemplate.ESCALATED.value: lambda _: _("Review notice"),
    SmsTemplate.DIRECTIVE.value: lambda _: _("Review directive"),
    SmsTemplate.REVIEW_REQUEST_ANSWER.value: lambda _: _("Answer to the review request"),
    SmsTemplate.WITHDRAWN.value: lambda _: _("Withdrawal notice"),
    SmsTemplate.REOPENED.value: lambda _: _("Reopening notice"),
    SmsTemplate.OFFICER_URGENT.value: lambda _: _("Urgent case for the officer"),
    SmsTemplate.ESCALATED_SIDHI_BAAT.value: lambda _: _("Sidhi Baat invitation"),
    SmsTemplate.OFFICER_DIRECTIVE.value: lambda _: _("Directive to the officer"),
    SmsTemplate.SUGGESTION_UNDER_CONSIDERATION.value: lambda _: _("Suggestion under consideration"),
    SmsTemplate.INTERIM_REPLY.value: lambda _: _("Interim reply"),
}


_ATTACHMENT_EVENTS = frozenset(e.value for e in AttachmentEventKind)
_FACT = re.compile(r"([a-z0-9]+)=(\S+)")
_REASONS: dict[str, Callable[[Gettext], str]] = {
    "personal_data": lambda _: _("it showed someone's personal data"),
    "wrong_case": lambda _: _("added to the wrong case"),
    "unlawful": lambda _: _("unlawful content"),
    "duplicate": lambda _: _("a duplicate"),
    "retention": lambda _: _("the retention period ended"),
}


def file_size(size: int) -> str:
    """A file's size as people read it (kB up to a megabyte, then MB)."""
    return f"{size / 1_000_000:.1f} MB" if size >= 1_000_000 else f"{max(size // 1000, 1)} kB"


def attachment_note(note: str, _: Gettext) -> str | None:
    """A file event's note (`kind=evidence type=image/jpeg size=… id=… sha256=…
    reason=…`, schemas.attachments.AttachmentEvent) in the reader's words; None when the
    note is not of that form."""
    facts = dict(_FACT.findall(note))
    if not facts:
        return None
    parts: list[str] = []
    if kind := facts.get("kind"):
        if kind == AttachmentKind.ACTION_TAKEN_REPORT.value:
            parts.append(_("Action-taken report"))
        else:
            parts.append(_("Citizen's evidence"))
    if media := facts.get("type"):
        try:
            parts.append(MediaType(media).label)
        except ValueError:
            parts.append(media)
    if (size := facts.get("size", "")).isdigit():
        parts.append(file_size(int(size)))
    if file_id := facts.get("id"):
        parts.append(_("file %(id)s") % {"id": file_id})
    reason = facts.get("reason", "")
    if reason in _REASONS:
        parts.append(_("reason: %(reason)s") % {"reason": _REASONS[reason](_)})
    elif reason.startswith("refused"):
        status = reason.removeprefix("refused").lstrip("_")
        parts.append(_("not taken (%(status)s)") % {"status": status} if status else _("not taken"))
    return " · ".join(parts) or None


def _climbed(matched: re.Match[str], _: Gettext, forum_label: Callable[[str], str]) -> str | None:
    """An escalation for sessions left undecided, its rungs by their forums' names (None: a
    rung no ladder knows)."""
    times, below, when, prepared, prepared_when = matched.groups()
    rungs = all_rungs()
    forums = [rungs[code].forum if code in rungs else None for code in (below, prepared) if code]
    names = [forum_label(str(forum.session_kind)) for forum in forums if forum is not None]
    if len(names) != len(forums):
        return None
    said = _("Undecided at %(n)s sessions of the %(forum)s; on the agenda of %(when)s") % {
        "n": times,
        "forum": names[0],
        "when": when,
    }
    if prepared:
        said += _(", prepared at the %(forum)s of %(when)s") % {
            "forum": names[1],
            "when": prepared_when,
        }
    return said


def note_text(
    event: str,
    note: str | None,
    _: Gettext,
    outcome_label: Callable[[str], str],
    forum_label: Callable[[str], str],
) -> str:
    """A timeline note in the reader's words: codes named, the free text (a reply, a
    remark, a directive) kept as written."""
    if not note:
        return ""
    if event in _ATTACHMENT_EVENTS and (said := attachment_note(note, _)):
        return said
    head, sep, rest = note.partition(": ")
    if event == "closed" and head in _CLOSURES:
        return _CLOSURES[head](_) + (f": {rest}" if sep else "")
    if head in {o.value for o in ReportOutcome}:
        return f"{outcome_label(head)}{sep}{rest}"
    if event == "directive_given" and sep:
        try:
            return f"{forum_label(head)}: {rest}"
        except (KeyError, ValueError):
            return note
    if note == _URGENT:
        return _("Urgent: sent directly to the department's officers")
    if matched := _REMINDER.fullmatch(note):
        return _("Reminder %(n)s: the report is due %(when)s") % {
            "n": matched.group(1),
            "when": matched.group(2),
        }
    if matched := _ATTEMPT.fullmatch(note):
        return _("Attempt %(n)s of %(of)s") % {"n": matched.group(1), "of": matched.group(2)}
    if matched := _UNREACHABLE.fullmatch(note):
        return _("Not reachable in %(n)s attempts") % {"n": matched.group(1)}
    if matched := _CLIMBED.fullmatch(note):
        return _climbed(matched, _, forum_label) or note
    if matched := _UNDECIDED.fullmatch(note):
        return _("Left undecided at %(held)s; now on the agenda of %(next)s") % {
            "held": matched.group(1),
            "next": matched.group(2),
        }
    if event.startswith("sms_") and (matched := _SMS_NOTE.fullmatch(note)):
        template, recipient, cause = matched.groups()
        word = _SMS.get(template)
        said = _("%(message)s, to the %(recipient)s") % {
            "message": word(_) if word else template,
            "recipient": _(recipient),
        }
        return f"{said}: {cause}" if cause else said
    if event in ("forwarded", "transferred") and (matched := _TO_OFFICER.fullmatch(note)):
        name, transfer, text = matched.groups()
        said = (
            _("To %(name)s (transfer %(n)s)") % {"name": name, "n": transfer}
            if transfer
            else _("To %(name)s") % {"name": name}
        )
        return f"{said}: {text}"
    return note
