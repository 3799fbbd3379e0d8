"""WhatsApp, the citizen's second channel: their channel preference, the 24-hour window, the
approved templates, and a conversation that files a complaint — all durable in the read
model, keyed by phone (E.164, as complaints store it).

- Preference (`sms`, `whatsapp`, `both`; a phone without one gets SMS): set at registration
  (the intake's `channel_preference`), by the desk (`PUT /v1/whatsapp/preference`), or by the
  citizen's first WhatsApp message. Read by the SMS activity at send time
  (`activities/whatsapp.py`), so the case's workflow never knows which channel carried a text.
- Window: WhatsApp lets a business send free text only within 24 hours of the citizen's last
  message to it; outside, only a template approved in advance (Twilio's Content API: a
  `ContentSid` and its numbered variables). `last_inbound_at` is that last message.
- Templates: WHATSAPP_TEMPLATES_FILE maps each catalogue text (`acknowledgement|complaint`,
  ...) and language to its template's Content SID and the order of its variables:
  `{"acknowledgement|complaint": {"hi": {"sid": "HX...", "variables": ["reg", "helpline"]}}}`
  (a context without its kind, `closed`, serves both kinds).
- Conversation: one row per phone while a complaint is being filed, its step the answer
  expected next (`language` → `name` → `district` → `problem`); it is removed when the
  complaint is registered, and discarded (the citizen told so) when idle longer than
  WHATSAPP_CONVERSATION_IDLE_MINUTES.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from core.db import write_session
from core.models import WhatsAppContact, WhatsAppConversation
from schemas.enums import ChannelPreference

PREFIX = "whatsapp:"
# WhatsApp's customer-service window: free text within this time of the citizen's last message.
WINDOW = timedelta(hours=24)
# How a preference was set (`preference_by`).
BY_REGISTRATION = "registration"
BY_WHATSAPP = "whatsapp"


def address(phone: str) -> str:
    """`+919876543210` → `whatsapp:+919876543210` (Twilio's WhatsApp address)."""
    return phone if phone.startswith(PREFIX) else PREFIX + phone


def phone_of(sender: str) -> str:
    """`whatsapp:+919876543210` → `+919876543210` (unchanged when it has no prefix)."""
    return sender.removeprefix(PREFIX)


def preference(session: Session, phone: str) -> ChannelPreference:
    """The phone's channel preference (SMS when none was ever set)."""
    row = session.get(WhatsAppContact, phone)
    return ChannelPreference(row.preference) if row is not None else ChannelPreference.SMS


def in_window(session: Session, phone: str, now: datetime) -> bool:
    """Whether free text may be sent to `phone` now: it wrote to us within `WINDOW`."""
    row = session.get(WhatsAppContact, phone)
    return (
        row is not None and row.last_inbound_at is not None and now - row.last_inbound_at < WINDOW
    )


def _upsert(
    engine: Engine,
    phone: str,
    at: datetime,
    *,
    preference: ChannelPreference | None,
    by: str,
    inbound: bool,
) -> bool:
    """Write the phone's row; True when this created it (the phone's first word or choice)."""
    for attempt in (1, 2):
        with write_session(engine) as session:
            row = session.get(WhatsAppContact, phone)
            created = row is None
            if row is None:
                row = WhatsAppContact(
                    phone=phone,
                    preference=(preference or ChannelPreference.WHATSAPP).value,
                    preference_by=by,
                    changed_at=at,
                )
            elif preference is not None:
                row.preference, row.preference_by, row.changed_at = preference.value, by, at
            if inbound and (row.last_inbound_at is None or row.last_inbound_at < at):
                row.last_inbound_at = at
            session.add(row)
            try:
                session.commit()
                return created
            except IntegrityError:  # another message from this phone inserted its row first
                session.rollback()
                if attempt == 2:
                    raise
    raise AssertionError("unreachable")


def set_preference(
    engine: Engine, phone: str, choice: ChannelPreference, *, by: str, at: datetime
) -> None:
    """Record `phone`'s channel preference (`by`: registration, `desk:<user>`, whatsapp)."""
    _upsert(engine, phone, at, preference=choice, by=by, inbound=False)


def record_inbound(engine: Engine, phone: str, at: datetime) -> bool:
    """A WhatsApp message from `phone` at `at`: the window opens (again). A phone that never
    chose gets the preference `whatsapp` (its first message chose it). True for that first."""
    return _upsert(engine, phone, at, preference=None, by=BY_WHATSAPP, inbound=True)


# ---- approved templates ----------------------------------------------------------------------


@dataclass(frozen=True)
class ContentTemplate:
    """An approved WhatsApp template: its Content SID and which variable is `{{1}}`, `{{2}}`."""

    sid: str
    variables: tuple[str, ...]

    def content_variables(self, params: dict[str, str]) -> str:
        """Twilio's `ContentVariables`: `{"1": "20983/2026", "2": "181"}` (JSON)."""
        values = {str(i): params.get(name, "") for i, name in enumerate(self.variables, 1)}
        return json.dumps(values, ensure_ascii=False)


@cache
def _templates(path: str) -> dict[tuple[str, str], ContentTemplate]:
    if not path:
        return {}
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    found: dict[tuple[str, str], ContentTemplate] = {}
    for context, languages in raw.items():
        for language, entry in languages.items():
            found[(context, language)] = ContentTemplate(
                sid=str(entry["sid"]), variables=tuple(entry.get("variables", ()))
            )
    return found


def content_template(
    path: str, template: str, kind: str | None, language: str
) -> ContentTemplate | None:
    """The approved template of catalogue text `template` (for a case of `kind`) in
    `language`, from the file at `path`; None when it has none (then it cannot be sent
    outside the window). A malformed file raises (`ValueError`, `KeyError`)."""
    table = _templates(path)
    return table.get((f"{template}|{kind}", language)) or table.get((template, language))


# ---- the conversation that files a complaint ------------------------------------------------

STEPS = ("language", "name", "district", "problem")


def conversation(session: Session, phone: str) -> WhatsAppConversation | None:
    return session.get(WhatsAppConversation, phone)


def expired(row: WhatsAppConversation, now: datetime, idle_minutes: int) -> bool:
    """Whether the conversation has been idle longer than `idle_minutes`."""
    return now - row.updated_at > timedelta(minutes=idle_minutes)


def save_conversation(engine: Engine, row: WhatsAppConversation) -> None:
    with write_session(engine) as session:
        session.merge(row)
        session.commit()


def end_conversation(engine: Engine, phone: str) -> None:
    with write_session(engine) as session:
        row = session.get(WhatsAppConversation, phone)
        if row is not None:
            session.delete(row)
            session.commit()
