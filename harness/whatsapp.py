"""`make whatsapp FROM=+919876543210 TEXT="..."`: play a citizen writing to the centre's
WhatsApp number against the running stack (`make run`): the message is posted to the API's
WhatsApp webhook signed as Twilio signs it; the reply, and every message the system wrote to
this phone since the previous run printed its own (by WhatsApp or SMS; kept in the outbox
without Twilio), are printed: what came in between (an officer's report, the question that
follows it) included, nothing printed twice.

    python -m harness.whatsapp +919876543210 "Hello"
    python -m harness.whatsapp +919876543210 "STATUS 12/2026"
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from datetime import datetime, timedelta
from xml.etree import ElementTree

import httpx
from sqlmodel import col, select

from activities.voice import signing_token
from core.db import make_engine, read_session
from core.models import Message, WhatsAppContact, utcnow
from core.settings import Settings, get_settings
from harness.answer_call import _post
from schemas.complaint import normalise_phone

# How long the workflow's own messages (an acknowledgement) are waited for after the reply.
SETTLE_SECONDS = 3.0


def send(settings: Settings, phone: str, text: str) -> str:
    """The citizen's message; the centre's reply (TwiML's text, "" when none)."""
    url = settings.public_base_url.rstrip("/") + "/v1/twilio/whatsapp"
    params = {
        "MessageSid": "SM" + uuid.uuid4().hex,
        "AccountSid": settings.twilio_account_sid or "AC" + "0" * 32,
        "From": "whatsapp:" + phone,
        "To": settings.twilio_whatsapp_from,
        "Body": text,
        "NumMedia": "0",
    }
    with httpx.Client(base_url=_api(settings), timeout=60) as http:
        twiml = _post(http, signing_token(settings), url, params).text
    found = ElementTree.fromstring(twiml).find("Message")
    return (found.text or "") if found is not None else ""


def last_word(settings: Settings, phone: str) -> datetime:
    """Where the previous run's printing ended: `phone`'s last WhatsApp message plus the
    settling wait that run printed after it (now if the phone never wrote)."""
    engine = make_engine(settings.effective_database_url)
    with read_session(engine) as session:
        contact = session.get(WhatsAppContact, phone)
        last = contact.last_inbound_at if contact else None
    if last is None:
        return utcnow()
    return min(last + timedelta(seconds=SETTLE_SECONDS), utcnow())


def sent_since(settings: Settings, phone: str, since: datetime) -> list[Message]:
    """The messages the system wrote to `phone` since `since`, oldest first."""
    engine = make_engine(settings.effective_database_url)
    with read_session(engine) as session:
        return list(
            session.exec(
                select(Message)
                .where(Message.recipient == phone, col(Message.created_at) >= since)
                .order_by(col(Message.id))
            )
        )


def _api(settings: Settings) -> str:
    return f"http://{settings.api_host}:{settings.api_port}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("phone", help="the citizen's mobile number, e.g. +919876543210")
    parser.add_argument("text", help="what the citizen writes")
    args = parser.parse_args(argv)
    settings = get_settings()
    phone = normalise_phone(args.phone)
    since = last_word(settings, phone)
    print("centre:", send(settings, phone, args.text))
    time.sleep(SETTLE_SECONDS)  # the workflow's messages follow the reply
    for message in sent_since(settings, phone, since):
        print(f"[{message.channel} {message.template} {message.status.value}] {message.text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
