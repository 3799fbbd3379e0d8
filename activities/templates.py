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

import csv
import re
import sys
from dataclasses import dataclass

from schemas.enums import Language
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


@dataclass(frozen=True)
class Template:
    """One event's SMS in English and Hindi; DLT registers each language's text separately,
    so the Hindi text has its own DLT template ID."""

    dlt_template_id: str
    en: str
    hi: str
    dlt_template_id_hi: str = ""

    def text(self, language: Language) -> str:
        """The raw text (with placeholders) in `language`."""
        return self.hi if language is Language.HINDI else self.en

    def dlt_id(self, language: Language) -> str:
        """The DLT template ID of the text in `language`."""
        if language is Language.HINDI:
            return self.dlt_template_id_hi or self.dlt_template_id
        return self.dlt_template_id

    def render(self, language: Language, params: dict[str, str]) -> str:
        """The text in `language` with its placeholders filled in."""
        return self.text(language).format(**params)


# Placeholders every template may use: {reg} registration number, {helpline}, {district},
# {subject}, {place} (the first 30 characters of the citizen's address: a DLT variable may not
# be longer); others are named per template.
TEMPLATES: dict[SmsTemplate, Template] = {
    SmsTemplate.ACKNOWLEDGEMENT: Template(
        "1007000000000000001",
        "CM Jan Samvad: your {kind} is registered, no. {reg}. Track it: SMS STATUS {reg} or "
        "call {helpline}.",
        "जन संवाद: आपकी {kind_hi} दर्ज, संख्या {reg}। स्थिति: STATUS {reg} SMS करें या "
        "{helpline} पर कॉल करें।",
        dlt_template_id_hi="1007000000000001001",
    ),
    SmsTemplate.FORWARDED: Template(
        "1007000000000000002",
        "CM Jan Samvad {reg}: sent to {officer}. Report due by {due}.",
        "जन संवाद {reg}: {officer} को भेजी गई। रिपोर्ट {due} तक।",
        dlt_template_id_hi="1007000000000001002",
    ),
    SmsTemplate.OFFICER_ASSIGNED: Template(
        "1007000000000000003",
        "CM Jan Samvad case {reg} ({district}, {subject}) is with you. Report due by {due} IST.",
        "जन संवाद मामला {reg} ({district}, {subject}) आपको सौंपा गया। रिपोर्ट {due} तक दें।",
        dlt_template_id_hi="1007000000000001003",
    ),
    SmsTemplate.OFFICER_URGENT: Template(
        "1007000000000000013",
        "URGENT: CM Jan Samvad case {reg}, {subject} at {place}, {district}. Act now; report "
        "due by {due} IST.",
        "अति आवश्यक: मामला {reg} - {place}, {district}। तुरंत कार्रवाई; रिपोर्ट {due} तक।",
        dlt_template_id_hi="1007000000000001013",
    ),
    SmsTemplate.OFFICER_REMINDER: Template(
        "1007000000000000004",
        "Reminder: CM Jan Samvad case {reg} ({district}) report due by {due} IST. It goes to "
        "the CM secretary's review if late.",
        "अनुस्मारक: जन संवाद मामला {reg} ({district}) की रिपोर्ट {due} तक दें, अन्यथा समीक्षा में जाएगा।",
        dlt_template_id_hi="1007000000000001004",
    ),
    SmsTemplate.REPORT_RECEIVED: Template(
        "1007000000000000005",
        "CM Jan Samvad {reg}: the department has reported. Our telecaller will call you to "
        "confirm.",
        "जन संवाद {reg}: विभाग की रिपोर्ट आई है। पुष्टि हेतु हमारा संवाद एक्सपर्ट आपको कॉल करेगा।",
        dlt_template_id_hi="1007000000000001005",
    ),
    SmsTemplate.SUGGESTION_ANSWERED: Template(
        "1007000000000000006",
        "CM Jan Samvad {reg}: the department has answered your suggestion. SMS STATUS {reg} to "
        "read it.",
        "जन संवाद {reg}: आपके सुझाव पर विभाग का उत्तर आया है। जानने हेतु STATUS {reg} SMS करें।",
        dlt_template_id_hi="1007000000000001006",
    ),
    SmsTemplate.CLOSED: Template(
        "1007000000000000007",
        "CM Jan Samvad {reg} is closed. Not solved? Reopen within {reopen_days} days: call "
        "{helpline}.",
        "जन संवाद {reg} बंद किया गया। समाधान नहीं? {reopen_days} दिन में {helpline} पर कॉल कर पुनः खोलें।",
        dlt_template_id_hi="1007000000000001007",
    ),
    SmsTemplate.ESCALATED: Template(
        "1007000000000000008",
        "CM Jan Samvad {reg}: your case is on the agenda of the {forum_en} on {date}.",
        "जन संवाद {reg}: आपका मामला {date} की {forum_hi} में रखा गया है।",
        dlt_template_id_hi="1007000000000001008",
    ),
    SmsTemplate.ESCALATED_SIDHI_BAAT: Template(
        "1007000000000000014",
        "CM Jan Samvad {reg}: your case goes to the CM's Sidhi Baat on {date}; the CM "
        "secretary's weekly review prepares it on {prep}. Help: {helpline}.",
        "जन संवाद {reg}: आपका मामला {date} को सीधी बात में; तैयारी {prep} की साप्ताहिक समीक्षा "
        "में। सहायता: {helpline}",
        dlt_template_id_hi="1007000000000001014",
    ),
    SmsTemplate.DIRECTIVE: Template(
        "1007000000000000009",
        "CM Jan Samvad {reg}: the review directed the officer to act by {due}.",
        "जन संवाद {reg}: समीक्षा में अधिकारी को {due} तक कार्रवाई का निर्देश दिया गया।",
        dlt_template_id_hi="1007000000000001009",
    ),
    SmsTemplate.REVIEW_REQUEST_ANSWER: Template(
        "1007000000000000010",
        "CM Jan Samvad {reg}: request noted. Current deadline {due}; if missed, the case goes "
        "to review by itself.",
        "जन संवाद {reg}: अनुरोध दर्ज। वर्तमान समय-सीमा {due}; चूकने पर मामला स्वतः समीक्षा में जाएगा।",
        dlt_template_id_hi="1007000000000001010",
    ),
    SmsTemplate.WITHDRAWN: Template(
        "1007000000000000011",
        "CM Jan Samvad {reg}: withdrawn as you asked. Call {helpline} for anything new.",
        "जन संवाद {reg}: आपके अनुरोध पर वापस लिया गया। नई शिकायत हेतु {helpline} पर कॉल करें।",
        dlt_template_id_hi="1007000000000001011",
    ),
    SmsTemplate.REOPENED: Template(
        "1007000000000000012",
        "CM Jan Samvad {reg} is reopened and sent back to the officer.",
        "जन संवाद {reg} पुनः खोला गया और अधिकारी को वापस भेजा गया।",
        dlt_template_id_hi="1007000000000001012",
    ),
}

FORUMS = {
    "weekly_review": ("CM secretary's weekly review", "साप्ताहिक समीक्षा बैठक"),
    "sidhi_baat": ("CM's Sidhi Baat", "मुख्यमंत्री की सीधी बात"),
}
KINDS = {"complaint": "शिकायत", "suggestion": "सुझाव"}


def render(template: SmsTemplate, language: Language, params: dict[str, str]) -> tuple[str, str]:
    """The text and the DLT template ID of `template` in `language`."""
    params = dict(params)
    forum = params.get("forum")
    if forum in FORUMS:
        params["forum_en"], params["forum_hi"] = FORUMS[forum]
    if "kind" in params:
        params["kind_hi"] = KINDS.get(params["kind"], params["kind"])
    entry = TEMPLATES[template]
    return entry.render(language, params), entry.dlt_id(language)


_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def dlt_text(text: str) -> str:
    """A template's text as registered on the DLT portal: every placeholder is `{#var#}`."""
    return _PLACEHOLDER.sub("{#var#}", text)


def dlt_sheet(entity_id: str) -> list[dict[str, str]]:
    """One row per template and language, as Twilio's India sender registration asks."""
    return [
        {
            "entity_id": entity_id,
            "template_id": entry.dlt_id(language),
            "template_name": f"{template.value}_{language.value}",
            "language": language.value,
            "content_type": "transactional",
            "template": dlt_text(entry.text(language)),
        }
        for template, entry in TEMPLATES.items()
        for language in (Language.ENGLISH, Language.HINDI)
    ]


if __name__ == "__main__":
    from core.settings import get_settings

    rows = dlt_sheet(get_settings().twilio_dlt_entity_id or "<TWILIO_DLT_ENTITY_ID>")
    writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
