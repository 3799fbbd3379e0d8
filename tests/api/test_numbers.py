"""Numbers typed by people are read by their value, whatever the script of their digits, and
stored in one canonical form; identifiers in URLs stay ASCII.

A kind of bad input (issue: "digits of other scripts"): `9८७६५४३२१०` used to be stored as
`+919८७६५४३२१०`, so every SMS went to an invalid number, tracking failed and each spelling was a
new phone for the daily limit. Run on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.engine import Engine

from api.main import create_app
from core.settings import Settings
from harness.factories import complaint_body
from schemas.complaint import ascii_digits, normalise_phone
from tests.helpers import api_client

# One number, spelled as people type it: separators, prefixes, digits of several scripts.
SPELLINGS = [
    "9876543210",
    "+91 98765-43210",
    "098765 43210",
    "9८७६५४३२१०",  # Devanagari mixed with ASCII
    "९८७६५४३२१०",  # Devanagari
    "০৯৮৭৬৫৪৩২১০",  # Bengali, with the trunk 0
    "９８７６５４３２１０",  # fullwidth
    "+९१ ९८७६५ ४३२१०",
]
NOT_MOBILE = ["98765४३२1", "5876543210", "+1 415 555 0100", "98765432100", "phone", "", "٩"]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_spelling_of_a_mobile_number_is_one_number(spelling: str) -> None:
    assert normalise_phone(spelling) == "+919876543210"


@pytest.mark.parametrize("value", NOT_MOBILE)
def test_what_is_not_an_indian_mobile_number_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="Indian mobile number"):
        normalise_phone(value)


def test_digits_of_any_script_become_ascii_and_nothing_else_changes() -> None:
    assert ascii_digits("STATUS ২০৯৮৩/२०१८ ok") == "STATUS 20983/2018 ok"
    assert ascii_digits("गाँव 12") == "गाँव 12"


@pytest.fixture
async def api(any_engine: Engine, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app (intake needs no running workflow: Temporal is lazy and unreachable, so a
    complaint is recorded and answered 202, which is all these tests read)."""
    from core.temporal import connect
    from tests.api.test_temporal_down import _closed_port

    down = settings.model_copy(
        update={
            "temporal_address": f"127.0.0.1:{_closed_port()}",
            "temporal_rpc_timeout_seconds": 1,
            "complaints_per_phone_per_day": 3,
        }
    )
    app = create_app(down, engine=any_engine, client=await connect(down, lazy=True))
    async with api_client(app) as http:
        yield http


async def test_phone_and_pincode_in_other_scripts_are_stored_canonically(
    api: httpx.AsyncClient,
) -> None:
    body = complaint_body(citizen__phone="9८७६५४३२१०", citizen__pincode="८३४००६")
    created = await api.post("/v1/complaints", json=body)
    assert created.status_code in (201, 202), created.text
    citizen = created.json()["citizen"]
    assert citizen["phone"] == "+919876543210"
    assert citizen["pincode"] == "834006"


async def test_spellings_of_one_phone_share_its_daily_limit(api: httpx.AsyncClient) -> None:
    for spelling in SPELLINGS[:3]:
        body = complaint_body(citizen__phone=spelling, description=f"about {spelling}")
        assert (await api.post("/v1/complaints", json=body)).status_code in (201, 202)
    fourth = await api.post(
        "/v1/complaints", json=complaint_body(citizen__phone="९८७६५४३२१०", description="4th")
    )
    assert fourth.status_code == 429, fourth.text


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"citizen__phone": "98765४३२1"}, "citizen.phone"),
        ({"citizen__phone": "9876५४३२१٠٠"}, "citizen.phone"),
        ({"citizen__pincode": "8340०"}, "citizen.pincode"),
        ({"citizen__pincode": "७१२३४५"}, "citizen.pincode"),  # 712345: not Jharkhand's
    ],
)
async def test_bad_numbers_in_any_script_are_refused_naming_the_field(
    api: httpx.AsyncClient, overrides: dict[str, str], field: str
) -> None:
    answer = await api.post("/v1/complaints", json=complaint_body(**overrides))
    assert answer.status_code == 422, answer.text
    assert field in [e["field"] for e in answer.json()["errors"]]


async def test_identifiers_in_urls_stay_ascii(api: httpx.AsyncClient) -> None:
    answer = await api.get("/v1/complaints/२०२६/१")
    assert answer.status_code == 422
    assert {e["field"] for e in answer.json()["errors"]} == {"year", "sequence"}
