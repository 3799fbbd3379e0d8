"""Why an action on a case (or a look-up, or a registration) is refused, in words a
telecaller can read to the citizen.

Each refusal has a stable key and an English source text with `{placeholders}`; translations
live in the gettext catalogue `schemas/locale/<language>/LC_MESSAGES/refusals.po` (context = key),
edited like the SMS texts (`make messages`). The workflow raises a refusal with its key and
values (`CaseRejected`); the API answers 409 with `detail` in English and `detail_<code>` in
each other language the centre offers (`translated()`), and SMS commands reply in the
citizen's language.
"""

from __future__ import annotations

from typing import Any

from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from schemas.i18n import translations
from schemas.tracking import status_label

DOMAIN = "refusals"


def _r(key: str, source: str) -> tuple[str, str]:
    """One refusal; `pybabel extract -k _r:1c,2` finds its key and English source."""
    return key, source


REFUSALS: dict[str, str] = dict(
    [
        _r("wrong_status", "this case is {status}; this action needs it to be {wanted}"),
        _r("not_open", "this case is {status}: it accepts no more actions"),
        _r("finished", "this case is finished: it accepts no more actions"),
        _r("not_started", "this case is still being registered; try again in a minute"),
        _r("outcome_not_for_kind", "outcome '{outcome}' is not for a {kind}; valid: {valid}"),
        _r("reply_required", "reply: the department's reply is required"),
        _r(
            "transfer_target",
            "a transfer names the district (transfer_to_district) or the department "
            "(transfer_to_department) to send the case to",
        ),
        _r("unknown_district", "transfer_to_district: unknown district '{value}'"),
        _r("unknown_department", "transfer_to_department: unknown department '{value}'"),
        _r("no_callback_for_suggestion", "a suggestion has no verification call"),
        _r("remark_required", "remark: the citizen's remark is required when not satisfied"),
        _r(
            "attempt_just_recorded", "attempt {attempt} was just recorded; the next is due at {due}"
        ),
        _r("other_session", "this case is on the agenda of {current}, not {requested}"),
        _r(
            "citizen_not_informed",
            "citizen_informed: a review closes a case only once the citizen has been informed",
        ),
        _r("deadline_zone", "new_deadline: give a time zone (IST is +05:30)"),
        _r("deadline_past", "new_deadline: must be in the future"),
        _r("reason_not_listed", "{field}: '{value}' is not one of this state's reasons: {valid}"),
        _r("reason_required", "{field}: a not actionable report names its reason: {valid}"),
        _r(
            "does_not_pertain",
            "reason: a case that does not pertain to you is never closed: transfer it "
            "(outcome transferred, with transfer_to_district or transfer_to_department)",
        ),
        _r("not_closed", "this case is not closed: there is no closure to rate"),
        _r(
            "appeal_window_ended",
            "the {days}-day window to rate or appeal this closure ended on {date}: to take the "
            "matter up again, file a new complaint (call the helpline)",
        ),
        _r("already_appealed", "this closure was appealed already (one appeal per closure)"),
        _r("no_appeal_for_suggestion", "a suggestion's answer is rated, not appealed"),
        _r("text_required", "{field}: say what is holding the case up"),
        _r("expected_past", "expected_by: must be in the future"),
        _r("reopen_window_ended", "the reopen window of {days} days ended on {date}"),
        _r("not_on_agenda", "case {reg} is not on the agenda of {session}"),
        _r("already_decided", "case {reg} was already decided at this session"),
        _r(
            "awaits_sidhi_baat",
            "case {reg} awaits Sidhi Baat on {date}: it is prepared at this review and decided "
            "there",
        ),
        _r(
            "deferred",
            "case {reg} is not heard at this sitting: it goes to the next, ahead of newer cases",
        ),
        _r(
            "agenda_not_frozen",
            "decisions are taken once the agenda of {session} is frozen, at its cutoff on {cutoff}",
        ),
        _r("session_closed", "the session {session} is closed; its minutes are final"),
        _r("other", "the action was refused: {reason}"),
        # Public tracking (/v1/track) and the per-phone daily limit at intake.
        _r(
            "track_not_found",
            "no complaint with this registration number and phone number: check both (the "
            "number is in your acknowledgement SMS), or call {helpline}",
        ),
        _r("track_too_many", "too many look-ups from your address: try again later"),
        _r(
            "track_client_failures",
            "too many failed look-ups from your address: try again later, or call {helpline}",
        ),
        _r(
            "track_number_failures",
            "too many failed look-ups of this registration number: try again later, or call "
            "{helpline}",
        ),
        _r(
            "daily_limit",
            "citizen.phone: this phone number has already filed {limit} complaints today, the "
            "most allowed in one day; it may file again after midnight (IST). A telecaller at "
            "{helpline} can register an urgent one with a reason (limit_override_reason).",
        ),
        # Joins the statuses a refusal names ("'Registered' or 'Closed'").
        _r("word|or", " or "),
    ]
)


class Refused(ApplicationError):
    """A refusal by key, raised in workflow code (the API answers 409): the English text is
    the message, key and values are the details, so the API can word it in Hindi too."""

    def __init__(self, key: str, *, kind: str, **params: Any) -> None:
        values = {name: str(value) for name, value in params.items()}
        super().__init__(
            english(key, values), {"key": key, "params": values}, type=kind, non_retryable=True
        )

    @staticmethod
    def of(error: BaseException) -> tuple[str, dict[str, str]] | None:
        """The key and values of a refusal carried by `error` (as a failure's details)."""
        details = error.details if isinstance(error, ApplicationError) else ()
        first = details[0] if details else None
        if isinstance(first, dict) and first.get("key") in REFUSALS:
            return str(first["key"]), dict(first.get("params", {}))
        return None


class CaseRejected(Refused):
    """An action the case is not in a state to accept (the API answers 409): a refusal by key
    (the API words it in Hindi too)."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key, kind="CaseRejected", **params)


# Values that are themselves words to translate: a status named in a refusal.
_STATUS_KEYS = ("status", "wanted")


def is_finished(err: RPCError) -> bool:
    """Whether the server refused a call because the workflow has completed (an update to a
    closed case or session: the refusal `finished`). The server says so only in its text."""
    return "already completed" in err.message


def english(key: str, params: dict[str, Any]) -> str:
    """The refusal `key` in English with `params` filled in (pure: the workflow uses it)."""
    return _fill(REFUSALS[key], "en", params)


def translated(key: str, language: str, params: dict[str, Any]) -> str:
    """The refusal `key` in `language` (English where the catalogue has no translation), its
    statuses named in that language too (`"awaiting_report or closed"` → their labels)."""
    return _fill(str(translations(DOMAIN, language).pgettext(key, REFUSALS[key])), language, params)


def _fill(text: str, language: str, params: dict[str, Any]) -> str:
    values = dict(params)
    for name in _STATUS_KEYS:
        if name in values:
            values[name] = _statuses(str(values[name]), language)
    return text.format(**values)


def _statuses(value: str, language: str) -> str:
    words = []
    for code in value.split(" or "):
        try:
            words.append(status_label(code, language))
        except (ValueError, KeyError):
            words.append(code)
    joiner = translated("word|or", language, {})
    return joiner.join(f"'{w}'" for w in words)
