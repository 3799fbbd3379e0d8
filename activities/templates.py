"""SMS templates, per event and language, in one place.

India's DLT rules require every commercial SMS to match a registered template: each template
carries its DLT template ID (placeholders here until the state registers them), and the entity
ID is the setting `TWILIO_DLT_ENTITY_ID`. Twilio takes both at sender registration, not per
message: `python -m activities.templates` prints the sheet to submit (variables as `{#var#}`);
Twilio then matches each body against it. Texts are kept within two segments (GSM-7: 160,
then 153 per segment; any Devanagari makes it UCS-2: 70, then 67), which `segments()` computes
and the tests check.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from functools import cache

import regex

from schemas.i18n import catalogue, translations
from schemas.visible import without_bidi_controls
from schemas.workflow import SmsTemplate

_GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = set("^{}\\[~]|€\f")


def segments(text: str) -> int:
    """How many SMS segments `text` takes."""
    if all(c in _GSM7_BASIC or c in _GSM7_EXTENDED for c in text):
        units = sum(2 if c in _GSM7_EXTENDED else 1 for c in text)
        return 1 if units <= 160 else -(-units // 153)
    # UCS-2 counts UTF-16 code units.
    units = len(text.encode("utf-16-le")) // 2
    return 1 if units <= 70 else -(-units // 67)


# The most segments an SMS of ours takes (see the module docstring); a variable of free text
# (an address) is shortened, between characters, until the text keeps it.
MAX_SEGMENTS = 2

_GRAPHEME = regex.compile(r"\X")


def cut(text: str, limit: int) -> str:
    """The longest start of `text` within `limit` UTF-16 code units (what an SMS counts: an
    emoji is two) that ends between two characters as a reader sees them (extended grapheme
    clusters): never inside an emoji sequence, after a dangling joiner, or between a letter
    and its vowel sign."""
    if len(text) <= limit and text.isascii():
        return text
    kept, used = [], 0
    for grapheme in _GRAPHEME.findall(text):
        units = len(grapheme.encode("utf-16-le")) // 2
        if used + units > limit:
            break
        kept.append(grapheme)
        used += units
    return "".join(kept)


def variable(value: str) -> str:
    """A variable as an SMS may carry it: without bidirectional controls, which would
    reorder the rest of the text (a phone number shown reversed)."""
    return without_bidi_controls(value)


@dataclass(frozen=True)
class Template:
    """One SMS text: its English source (the gettext message ID) and its catalogue context.

    The context is the event (`acknowledgement`), with `|complaint` or `|suggestion` where
    Hindi grammar needs the kind (शिकायत is feminine, सुझाव masculine: "आपकी शिकायत दर्ज हुई",
    "आपका सुझाव दर्ज हुआ"). Each context and language is one DLT template; its ID is a
    translator comment (`# DLT: 1007...`) on the entry in that language's catalogue.
    """

    context: str
    source: str

    @property
    def name(self) -> str:
        """The DLT sheet's template name stem: `acknowledgement_suggestion`."""
        return self.context.replace("|", "_")

    def text(self, language: str) -> str:
        """The raw text (with placeholders) in `language`: the catalogue's translation, else
        the English source."""
        return str(translations(DOMAIN, language).pgettext(self.context, self.source))

    def sent_in(self, language: str) -> str:
        """The language this text goes out in for a reader of `language`: theirs once a
        translator has written it (not fuzzy), else English, the source, so that the message
        row, its names and its DLT template ID all say what was really sent."""
        if language == "en":
            return language
        entry = catalogue(DOMAIN, language).get(self.source, context=self.context)
        translated = entry is not None and entry.string and not entry.fuzzy
        return language if translated else "en"

    def dlt_id(self, language: str) -> str:
        """The DLT template ID of the text in `language` ("" until it is registered)."""
        return dlt_template_ids(language).get(self.context, "")

    def render(self, language: str, params: dict[str, str]) -> str:
        """The text in `language` with its placeholders filled in (`variable`)."""
        return self.text(language).format(**{k: variable(v) for k, v in params.items()})


DOMAIN = "sms"


# Placeholders (each a DLT variable of at most 30 characters): {reg} registration number,
# {helpline}, {district} (Devanagari in Hindi), {subject} (the category's short label),
# {office} (the directory's office of the officer, in the reader's language), {place} (the
# first 30 characters of the address), {due} and {date}/{prep} (dates; for officers with the
# time), {forum} (the review's name), {reopen_days}, {count}, {venue}, {teleconference}.
def _t(context: str, source: str) -> Template:
    """One text; `pybabel extract -k _t:1c,2` finds its context and English source."""
    return Template(context, source)


TEXTS: tuple[Template, ...] = (
    # ---- to citizens: brand, number, helpline and what to do next, in two segments ----
    _t("acknowledgement|complaint",
        "CM Jan Samvad: your complaint is registered, no. {reg}. To track it, SMS STATUS {reg} "
        "to this number or call {helpline}."),
    _t("acknowledgement|suggestion",
        "CM Jan Samvad: your suggestion is registered, no. {reg}. To track it, SMS STATUS {reg} "
        "to this number or call {helpline}."),
    _t("forwarded|complaint",
        "CM Jan Samvad {reg}: your complaint is sent to {office} for action by {due}. Status: "
        "SMS STATUS {reg}. Help: {helpline}"),
    _t("forwarded|suggestion",
        "CM Jan Samvad {reg}: your suggestion is sent to {office} for an answer by {due}. "
        "Status: SMS STATUS {reg}. Help: {helpline}"),
    _t("report_received",
        "CM Jan Samvad {reg}: the department has reported action on your complaint. Our samvad "
        "expert will call you to confirm it. Help: {helpline}"),
    _t("suggestion_answered",
        "CM Jan Samvad {reg}: the department has answered your suggestion. To read the answer, "
        "SMS STATUS {reg} or call {helpline}."),
    _t("suggestion_under_consideration",
       "CM Jan Samvad {reg}: the department is considering your suggestion; its final answer is "
       "due by {due}. Help: {helpline}"),
    _t("closed|complaint",
        "CM Jan Samvad {reg}: your complaint is closed. Rate it: reply 1 (poor) to 5 (good); 1 "
        "or 2 appeals. Not resolved? Call {helpline} within {reopen_days} days to reopen it."),
    _t("closed|suggestion",
        "CM Jan Samvad {reg}: your suggestion is closed. Thank you. For anything new, call "
        "{helpline}."),
    _t("escalated|complaint",
        "CM Jan Samvad {reg}: your complaint goes to the {forum} on {date}. Help: {helpline}"),
    _t("escalated|suggestion",
        "CM Jan Samvad {reg}: your suggestion goes to the {forum} on {date}. Help: {helpline}"),
    _t("escalated_sidhi_baat|complaint",
        "CM Jan Samvad {reg}: your complaint goes to the CM's Sidhi Baat on {date}, prepared at "
        "the weekly review on {prep}. Help: {helpline}"),
    _t("escalated_sidhi_baat|suggestion",
        "CM Jan Samvad {reg}: your suggestion goes to the CM's Sidhi Baat on {date}, prepared "
        "at the weekly review on {prep}. Help: {helpline}"),
    _t("directive|complaint",
        "CM Jan Samvad {reg}: the review has directed the officer to act on your complaint by "
        "{due}. Help: {helpline}"),
    _t("directive|suggestion",
        "CM Jan Samvad {reg}: the review has directed the officer to answer your suggestion by "
        "{due}. Help: {helpline}"),
    _t("review_request_answer",
        "CM Jan Samvad {reg}: your request for review is noted. The officer's deadline is {due}; "
        "if missed, the case goes to review by itself. Help: {helpline}"),
    _t("withdrawn|complaint",
        "CM Jan Samvad {reg}: your complaint is withdrawn as you asked. For anything new, call "
        "{helpline}."),
    _t("withdrawn|suggestion",
        "CM Jan Samvad {reg}: your suggestion is withdrawn as you asked. For anything new, call "
        "{helpline}."),
    _t("repeat_contact|complaint",
        "CM Jan Samvad {reg}: your new call is added to this complaint, registered earlier, not "
        "registered again. To track it, SMS STATUS {reg}. Help: {helpline}"),
    _t("repeat_contact|suggestion",
        "CM Jan Samvad {reg}: your new call is added to this suggestion, registered earlier, not "
        "registered again. To track it, SMS STATUS {reg}. Help: {helpline}"),
    _t("reopened|complaint",
        "CM Jan Samvad {reg}: your complaint is reopened and sent back to {office}, action due "
        "by {due}. Help: {helpline}"),
    _t("reopened|suggestion",
        "CM Jan Samvad {reg}: your suggestion is reopened and sent back to {office}, answer due "
        "by {due}. Help: {helpline}"),
    _t("interim_reply|complaint",
        "CM Jan Samvad {reg}: the officer needs more time on your complaint ({reason}); "
        "expected by {date}. Your case still goes to review if late. Help: {helpline}"),
    _t("interim_reply|suggestion",
        "CM Jan Samvad {reg}: the officer needs more time on your suggestion ({reason}); "
        "expected by {date}. Help: {helpline}"),
    _t("sidhi_baat_invitation",
        "CM Jan Samvad {reg}: you are invited to Sidhi Baat with the Chief Minister on {date} "
        "at {venue}. Please bring this SMS and your papers. Help: {helpline}"),
    # ---- to officers: what, where, by when ----
    _t("officer_assigned",
        "CM Jan Samvad case {reg} ({subject}, {district}) is assigned to you. Report due by "
        "{due} IST."),
    _t("officer_urgent",
        "URGENT: CM Jan Samvad case {reg}, {subject} at {place}, {district}. Act now; report "
        "due by {due} IST."),
    _t("officer_reminder",
        "Reminder: CM Jan Samvad case {reg} ({district}) report due by {due} IST. If late, it "
        "goes to the {forum}."),
    _t("officer_directive",
        "CM Jan Samvad case {reg} ({subject}, {district}): the review directs you to act by "
        "{due} IST. The directive is in your Jan Samvad inbox."),
    _t("review_notice",
        "CM Jan Samvad: {count} case(s) of {district} are on the agenda of the {forum} on "
        "{date}. Join: {teleconference}. Please bring the departments' reports."),
    _t("review_bulk_directive",
        "CM Jan Samvad: the {forum} of {date} directs you to act on {count} case(s) of "
        "{district} by {due} IST. They are in your Jan Samvad inbox."),
)  # fmt: skip

TEMPLATE_BY_CONTEXT = {t.context: t for t in TEXTS}

# Names that fill a variable (at most 30 characters in every language), translated with the
# texts: what stands in when a case has no category or officer yet. (A forum's name, the
# `{forum}` of an SMS, is its rung's `sms_names`: schemas/escalation.py.)
NAMES: tuple[Template, ...] = (
    _t("subject|none", "General"),
    _t("office|none", "the nodal officer"),
)
NAME_BY_CONTEXT = {t.context: t for t in NAMES}

# Replies to a citizen's SMS command (sent as the answer to their message), in pieces that
# `api.routes.twilio` joins: the department's answer is shortened to keep two segments.
REPLIES: tuple[Template, ...] = (
    _t("reply|help",
       "CM Jan Samvad: for your case's status SMS STATUS and its number (STATUS 20983/2018); "
       "to ask for a review, REVIEW 20983/2018. Help: {helpline}"),
    _t("reply|not_found",
       "CM Jan Samvad: no case {reg} registered from this phone. Help: {helpline}"),
    _t("reply|status", "CM Jan Samvad {reg}: {status}."),
    _t("reply|next_date", "Next date: {date}."),
    _t("reply|answer", "Department's answer: {answer}"),
    _t("reply|help_short", "Help: {helpline}"),
    _t("reply|review_recorded",
       "CM Jan Samvad {reg}: your review request is recorded; the details follow by SMS."),
    _t("reply|review_refused",
       "CM Jan Samvad {reg}: review request not accepted ({reason}). Help: {helpline}"),
    _t("reply|try_later", "CM Jan Samvad: please try again later or call {helpline}."),
    _t("reply|opted_out",
       "CM Jan Samvad: you will get no more SMS from us, except decisions on your open cases. "
       "To get them again, SMS START. Help: {helpline}"),
    _t("reply|opted_in",
       "CM Jan Samvad: SMS from us are on again. To stop them, SMS STOP. Help: {helpline}"),
    _t("reply|full_stop", "."),
    _t("reply|rated", "CM Jan Samvad {reg}: thank you, your rating {score}/5 is recorded."),
    _t("reply|appealed",
       "CM Jan Samvad {reg}: your appeal is recorded; the review date follows by SMS."),
    _t("reply|rating_refused",
       "CM Jan Samvad {reg}: rating not recorded ({reason}). Help: {helpline}"),
    # The WhatsApp conversation that files a complaint (api/routes/whatsapp.py).
    _t("reply|wa_welcome",
       "CM Jan Samvad: to file a complaint here, reply 1 for Hindi or 2 for English. For a "
       "case's status send STATUS and its number (STATUS 20983/2026). Help: {helpline}"),
    _t("reply|wa_ask_name", "Please write your name."),
    _t("reply|wa_ask_district", "Your district? (for example Ranchi)"),
    _t("reply|wa_unknown_district",
       "That is not a district of Jharkhand. Please write your district (for example Ranchi)."),
    _t("reply|wa_ask_problem",
       "Please describe the problem in a few sentences (you may add a photo)."),
    _t("reply|wa_registered",
       "CM Jan Samvad: your complaint is registered, no. {reg}. For its status send "
       "STATUS {reg}. Help: {helpline}"),
    _t("reply|wa_discarded",
       "CM Jan Samvad: your unfinished complaint was discarded after {minutes} minutes "
       "without a reply. Write again to start anew."),
    _t("reply|wa_limit",
       "CM Jan Samvad: this phone has filed its complaints for today. Please call {helpline} "
       "or write tomorrow."),
    _t("reply|wa_verify", "Is your problem solved? Reply 1 for yes, 2 for no."),
    _t("reply|wa_solved", "CM Jan Samvad {reg}: thank you, your case is closed as solved."),
    _t("reply|wa_not_solved",
       "CM Jan Samvad {reg}: recorded as not solved; your case goes to review."),
)  # fmt: skip
REPLY_BY_CONTEXT = {t.context: t for t in REPLIES}

# The words a citizen sends to ask for a case's status or a review, or to stop and restart
# SMS, in each language (the replies above name them too): one word each, matched in any case.
# (English synonyms of STOP and START, the carriers' usual ones, are in api/routes/twilio.py.)
COMMANDS: tuple[Template, ...] = (
    _t("command|status", "STATUS"),
    _t("command|review", "REVIEW"),
    _t("command|stop", "STOP"),
    _t("command|start", "START"),
)
COMMAND_BY_CONTEXT = {t.context: t for t in COMMANDS}


def command_word(command: str, language: str) -> str:
    """The word for `command` (`status`, `review`, `stop`, `start`) in `language`."""
    return COMMAND_BY_CONTEXT[f"command|{command}"].text(language)


def reply(context: str, language: str, **params: str) -> str:
    """A reply piece (`reply|status`, ...) in `language` with `params` filled in."""
    return REPLY_BY_CONTEXT[context].render(language, params)


def name(context: str, language: str) -> str:
    """A translated name (`subject|none`, `office|none`) in `language`."""
    return NAME_BY_CONTEXT[context].text(language)


def template_for(event: str, kind: str | None = None) -> Template:
    """The text of `event` (an `SmsTemplate` value, or `review_notice`/`sidhi_baat_invitation`)
    for a case of `kind`: the kind's own wording where grammar needs it."""
    return TEMPLATE_BY_CONTEXT.get(f"{event}|{kind}") or TEMPLATE_BY_CONTEXT[event]


@cache
def dlt_template_ids(language: str) -> dict[str, str]:
    """Context → DLT template ID, from the `# DLT: <id>` comments of `language`'s catalogue."""
    ids = {}
    for message in catalogue(DOMAIN, language):
        for comment in message.user_comments:
            if comment.startswith("DLT:") and isinstance(message.context, str):
                ids[message.context] = comment.removeprefix("DLT:").strip()
    return ids


def render(template: SmsTemplate | str, language: str, params: dict[str, str]) -> tuple[str, str]:
    """The text and the DLT template ID of `template` in `language`, for `params["kind"]`."""
    entry = template_for(str(template), params.get("kind"))
    return entry.render(language, params), entry.dlt_id(language)


def sent_in(template: SmsTemplate | str, kind: str | None, language: str) -> str:
    """The language `template` goes out in for a reader of `language` (`Template.sent_in`)."""
    return template_for(str(template), kind).sent_in(language)


_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def dlt_text(text: str) -> str:
    """A template's text as registered on the DLT portal: every placeholder is `{#var#}`."""
    return _PLACEHOLDER.sub("{#var#}", text)


def dlt_sheet(entity_id: str, languages: tuple[str, ...]) -> list[dict[str, str]]:
    """One row per template and language, as Twilio's India sender registration asks (each
    language once, in the order given)."""
    return [
        {
            "entity_id": entity_id,
            "template_id": entry.dlt_id(language),
            "template_name": f"{entry.name}_{language}",
            "language": language,
            "content_type": "transactional",
            "template": dlt_text(entry.text(language)),
        }
        for entry in TEXTS
        for language in dict.fromkeys(languages)
    ]


if __name__ == "__main__":
    from core.settings import get_settings
    from core.spreadsheet import write_rows

    settings = get_settings()
    # English too: officers are written to in English whatever LANGUAGES offers citizens.
    rows = dlt_sheet(
        settings.twilio_dlt_entity_id or "<TWILIO_DLT_ENTITY_ID>", ("en", *settings.language_list)
    )
    # Neutralised like every CSV the product writes (core/spreadsheet.py).
    write_rows(sys.stdout, list(rows[0]), ([row[k] for k in rows[0]] for row in rows))
