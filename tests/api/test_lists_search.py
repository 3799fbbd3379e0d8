"""Lists that never drop a case and search from one box, on SQLite and PostgreSQL: the order
each list states (deadline, then year and sequence as numbers), pages with the total, the
filters, and search by number, phone, name and words in Hindi, English and Hinglish."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.main import create_app
from core.db import alembic_config
from core.models import Complaint, utcnow
from core.search import MAX_EXPANSIONS, parse
from core.settings import Settings
from core.temporal import connect
from harness.factories import auth_headers
from schemas.auth import Role
from schemas.enums import Channel, ComplaintKind, ComplaintStatus
from tests.helpers import api_client


def add_cases(engine: Engine, specs: list[dict[str, Any]]) -> list[Complaint]:
    """Cases in the read model only, each from a dict of Complaint fields over defaults."""
    now = utcnow()
    rows = []
    for spec in specs:
        year = spec.pop("year", now.year)
        sequence = spec.pop("sequence")
        fields: dict[str, Any] = {
            "kind": ComplaintKind.COMPLAINT,
            "channel": Channel.CALL_CENTRE,
            "citizen_name": "Sita Devi",
            "citizen_phone": "+919876500000",
            "citizen_address": "Ward 4",
            "district": "Ranchi",
            "language": "hi",
            "category": "sanitation",
            "department": None,
            "description": "test case",
            "status": ComplaintStatus.AWAITING_REPORT,
            "request_fingerprint": "lists",
            "created_at": now,
            "updated_at": now,
            **spec,
        }
        rows.append(
            Complaint(
                year=year,
                sequence=sequence,
                registration_number=f"{sequence}/{year}",
                workflow_id=f"lists-{uuid.uuid4().hex}",
                **fields,
            )
        )
    with Session(engine, expire_on_commit=False) as session:
        session.add_all(rows)
        session.commit()
    return rows


@pytest.fixture
async def api(any_engine: Engine, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app over the read model; these reads never reach Temporal (a lazy client)."""
    client = await connect(settings, lazy=True)
    app = create_app(settings, engine=any_engine, client=client)
    async with api_client(app, authorized=False) as http:
        http.engine = any_engine  # type: ignore[attr-defined]
        yield http


def numbers(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [c["registration_number"] for c in answer.json()["data"]]


async def test_an_officers_list_in_deadline_order_paged_to_the_end(
    api: httpx.AsyncClient, any_engine: Engine
) -> None:
    """More cases than a page: by deadline (the longest overdue first), ties by year and
    sequence as numbers (13 before 100), no deadline last; every page counted and the last
    one reached, nothing dropped; other districts' cases not in it."""
    now = utcnow()
    specs: list[dict[str, Any]] = [
        {"sequence": 1000 + i, "next_deadline": now + timedelta(hours=i)} for i in range(120)
    ]
    # The oldest overdue, registered last (the old inbox cut them off).
    specs += [
        {"sequence": 100, "next_deadline": now - timedelta(days=30)},
        {"sequence": 13, "next_deadline": now - timedelta(days=30)},
        {"sequence": 7, "year": now.year - 1, "next_deadline": now - timedelta(days=30)},
        {"sequence": 5, "next_deadline": None, "status": ComplaintStatus.WEEKLY_REVIEW},
        {"sequence": 6, "district": "Dhanbad", "next_deadline": now - timedelta(days=60)},
    ]
    add_cases(any_engine, specs)
    officer = auth_headers(any_engine, Role.NODAL_OFFICER, district="Ranchi")
    seen: list[str] = []
    offset = 0
    while True:
        answer = await api.get(
            "/v1/complaints",
            params={"open_only": "true", "sort": "deadline", "limit": 50, "offset": offset},
            headers=officer,
        )
        body = answer.json()
        assert body["count"] == 124 and body["offset"] == offset and body["limit"] == 50
        seen += numbers(answer)
        offset += 50
        if offset >= body["count"]:
            break
    year = now.year
    assert seen[:3] == [f"7/{year - 1}", f"13/{year}", f"100/{year}"]
    assert seen[3:123] == [f"{1000 + i}/{year}" for i in range(120)]
    assert seen[-1] == f"5/{year}"
    assert len(seen) == len(set(seen)) == 124


async def test_filters_combine_and_a_bad_date_range_names_its_field(
    api: httpx.AsyncClient, any_engine: Engine
) -> None:
    now = utcnow()
    add_cases(
        any_engine,
        [
            {
                "sequence": 1,
                "urgent": True,
                "category": "police",
                "next_deadline": now - timedelta(days=1),
            },
            {"sequence": 2, "category": "police", "next_deadline": now + timedelta(days=1)},
            {"sequence": 3, "created_at": now - timedelta(days=40)},
            {"sequence": 4, "district": "Dumka", "department": "health"},
        ],
    )
    reader = auth_headers(any_engine, Role.REVIEWER)
    year = now.year
    assert numbers(
        await api.get("/v1/complaints", params={"category": "police"}, headers=reader)
    ) == [f"1/{year}", f"2/{year}"]
    assert numbers(
        await api.get(
            "/v1/complaints", params={"category": "police", "overdue": "true"}, headers=reader
        )
    ) == [f"1/{year}"]
    assert numbers(
        await api.get(
            "/v1/complaints", params={"urgent": "false", "department": "health"}, headers=reader
        )
    ) == [f"4/{year}"]
    start = (now - timedelta(days=41)).date().isoformat()
    end = (now - timedelta(days=39)).date().isoformat()
    assert numbers(
        await api.get(
            "/v1/complaints",
            params={"registered_from": start, "registered_to": end},
            headers=reader,
        )
    ) == [f"3/{year}"]
    refused = await api.get(
        "/v1/complaints", params={"registered_from": end, "registered_to": start}, headers=reader
    )
    assert refused.status_code == 422 and "registered_from" in refused.text


def test_the_search_box_reads_each_key() -> None:
    assert parse("20983/2018") == parse("20983-2018") == parse(" २०९८३ / २०१८ ")
    assert (parse("20983/2018").sequence, parse("20983/2018").year) == (20983, 2018)
    assert parse("20983").sequence == 20983 and parse("20983").year is None
    for phone in ("9876543210", "+91 98765-43210", "098765 43210", "९८७६५४३२१०"):
        assert parse(phone).phone == "+919876543210", phone
    assert parse("शौचालय नहीं मिला।").words == ("शौचालय", "नहीं", "मिला")
    assert parse("Toilet NAHI").words == ("toilet", "nahi")


async def test_search_by_number_phone_name_and_words_in_both_scripts(
    api: httpx.AsyncClient, any_engine: Engine
) -> None:
    now = utcnow()
    year = now.year
    add_cases(
        any_engine,
        [
            {
                "sequence": 20983,
                "year": 2018,
                "citizen_name": "सीता देवी",
                "citizen_phone": "+919876543210",
                "description": "गाँव में कुछ लोगों को शौचालय मिला, मुझे अभी तक नहीं मिला।",
            },
            {
                "sequence": 20983,
                "citizen_name": "Ramesh Mahto",
                "citizen_phone": "+919123456789",
                "description": "Gas connection nahi mila under Ujjwala yojana",
            },
            {
                "sequence": 41,
                "citizen_name": "Sunita Kumari",
                "citizen_phone": "+919000000001",
                "description": "No hospital near our village; we go to Dhanbad",
            },
        ],
    )
    reader = auth_headers(any_engine, Role.TELECALLER)

    async def found(q: str) -> list[str]:
        return numbers(await api.get("/v1/complaints", params={"q": q}, headers=reader))

    assert await found("20983/2018") == ["20983/2018"]
    assert await found("20983-2018") == ["20983/2018"]
    assert sorted(await found("20983")) == sorted(["20983/2018", f"20983/{year}"])
    assert await found("+91 98765 43210") == ["20983/2018"]
    assert await found("९८७६५४३२१०") == ["20983/2018"]
    assert await found("सीता") == ["20983/2018"]  # part of a Devanagari name
    assert await found("sunita") == [f"41/{year}"]  # a Latin name, any case
    assert await found("Mah") == [f"20983/{year}"]  # the start of a name's word
    assert await found("शौचालय नहीं") == ["20983/2018"]  # two Hindi words
    assert await found("शौचालय ujjwala") == []  # every word must match
    assert await found("gas nahi") == [f"20983/{year}"]  # Hinglish
    assert await found("hospital Dhanbad") == [f"41/{year}"]  # English
    assert await found("9999999999") == []


async def test_search_is_scoped_like_the_lists(api: httpx.AsyncClient, any_engine: Engine) -> None:
    """A district officer's search finds nothing outside their district: the same answer as
    for a case that does not exist."""
    add_cases(
        any_engine,
        [
            {"sequence": 11, "district": "Dumka", "citizen_name": "Birsa Oraon"},
            {"sequence": 12, "district": "Ranchi", "citizen_name": "Birsa Munda"},
        ],
    )
    officer = auth_headers(any_engine, Role.NODAL_OFFICER, district="Ranchi")
    answer = await api.get("/v1/complaints", params={"q": "birsa"}, headers=officer)
    assert numbers(answer) == [f"12/{utcnow().year}"] and answer.json()["count"] == 1


def test_search_reads_an_index_not_every_case(any_engine: Engine) -> None:
    """The words' full-text index, the phone's and the sequence's are what the plans use."""
    from sqlmodel import select

    from core.search import search_clause

    add_cases(
        any_engine,
        [
            {
                "sequence": i,
                "citizen_phone": f"+9198765{i:05d}",
                "description": "शौचालय नहीं मिला" if i % 10 == 0 else "test case",
            }
            for i in range(1, 300)
        ],
    )
    dialect = any_engine.dialect.name
    with any_engine.begin() as connection:
        if dialect == "postgresql":
            connection.execute(sa.text("ANALYZE complaint"))
            connection.execute(sa.text("SET LOCAL enable_seqscan = off"))
        for q in ("शौचालय नहीं", "9876500042", "20983", "20983/2018"):
            clause = search_clause(q, connection)
            assert clause is not None
            statement = select(Complaint.id).where(clause)
            compiled = statement.compile(
                dialect=any_engine.dialect, compile_kwargs={"literal_binds": True}
            )
            explain = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
            plan = "\n".join(
                str(row[-1]) for row in connection.execute(sa.text(explain + str(compiled)))
            )
            if dialect == "sqlite":
                assert "SCAN complaint" not in plan.replace("SCAN complaint_search", ""), (q, plan)
            else:
                assert "Seq Scan" not in plan, (q, plan)
                if q == "शौचालय नहीं":
                    assert "ix_complaint_search" in plan, plan


async def found_with_count(
    api: httpx.AsyncClient, q: str, headers: dict[str, str]
) -> tuple[list[int], int]:
    """The sequences a search finds (sorted) and its count."""
    answer = await api.get("/v1/complaints", params={"q": q}, headers=headers)
    return sorted(int(n.split("/")[0]) for n in numbers(answer)), answer.json()["count"]


async def test_a_word_start_finds_longer_words_in_both_scripts(
    api: httpx.AsyncClient, any_engine: Engine
) -> None:
    """Each word typed is the start of a case's word (Devanagari, Latin, Hinglish), every one
    must match; a single letter too, also one beginning more words than are expanded to
    whole words; a start that begins no word finds nothing, counted 0."""
    add_cases(
        any_engine,
        [
            {
                "sequence": 1,
                "citizen_name": "Ramesh Mahto",
                "description": "शौचालय नहीं मिला, paisa abhi tak nahi milega",
            },
            {
                "sequence": 2,
                "citizen_name": "Rajesh Kumar",
                "description": "Hospital door hai; गाँव में अस्पताल नहीं",
            },
            {"sequence": 3, "citizen_name": "सीता देवी", "description": "शौचालय का पैसा बकाया"},
            {
                "sequence": 4,
                "citizen_name": "Munni Oraon",
                # More words beginning with "k" than a start is expanded to.
                "description": " ".join(f"k{n:02d}x" for n in range(MAX_EXPANSIONS + 5)),
            },
        ],
    )
    reader = auth_headers(any_engine, Role.TELECALLER)
    expected = {
        "शौचा": ([1, 3], 2),  # Devanagari: शौचालय
        "शौचा नह": ([1], 1),  # two starts, both must match: नहीं
        "सी दे": ([3], 1),  # a name's starts
        "Ra": ([1, 2], 2),  # Ramesh or Rajesh
        "mil": ([1], 1),  # Hinglish: milega
        "hosp अस्प": ([2], 1),  # English and Hindi in one box
        "r": ([1, 2], 2),  # one letter
        "k": ([2, 4], 2),  # one letter beginning more than MAX_EXPANSIONS words (and Kumar)
        "k0 munni": ([4], 1),  # a start of ten of them, and a name
        "k1": ([4], 1),  # a start of a few of them
        f"k{MAX_EXPANSIONS + 4:02d}x": ([4], 1),
        "kz": ([], 0),  # begins no word
        "शौचालय ujjwala": ([], 0),  # one word begins no word: nothing
    }
    for q, answer in expected.items():
        assert await found_with_count(api, q, reader) == answer, q


async def test_a_new_case_and_an_edited_description_are_found_by_their_words(
    api: httpx.AsyncClient, any_engine: Engine
) -> None:
    """The words a case brings are found as soon as it is written, by the start of a word
    no case held before; a description corrected in the database is found by its new
    words and no longer by the old ones."""
    add_cases(any_engine, [{"sequence": 1, "description": "पानी नहीं आता"}])
    reader = auth_headers(any_engine, Role.TELECALLER)
    assert await found_with_count(api, "बिजल", reader) == ([], 0)
    assert await found_with_count(api, "transf", reader) == ([], 0)
    add_cases(any_engine, [{"sequence": 2, "description": "बिजली का खंभा टूटा"}])
    assert await found_with_count(api, "बिजल", reader) == ([2], 1)
    with any_engine.begin() as connection:
        connection.execute(
            sa.update(Complaint)
            .where(Complaint.sequence == 1)  # type: ignore[arg-type]
            .values(description="Transformer jal gaya", citizen_name="Birsa Munda")
        )
    assert await found_with_count(api, "transf jal", reader) == ([1], 1)
    assert await found_with_count(api, "birs", reader) == ([1], 1)
    assert await found_with_count(api, "पान", reader) == ([], 0)


async def test_the_words_of_the_cases_before_the_migration_are_found(
    api: httpx.AsyncClient, any_engine: Engine
) -> None:
    """Migration 0026 takes the words of the cases already written."""
    add_cases(any_engine, [{"sequence": 1, "description": "Handpump kharab hai"}])
    config = alembic_config()
    with any_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0025")
        command.upgrade(config, "0026")
    reader = auth_headers(any_engine, Role.TELECALLER)
    assert await found_with_count(api, "hand khar", reader) == ([1], 1)


def test_postgresql_asks_its_index_for_whole_words(any_engine: Engine) -> None:
    """What each database's index is asked: SQLite's FTS5 a prefix of each word; PostgreSQL
    the whole words the cases hold that begin so (its prefix match reads every case of every
    such word), a prefix only for a start of more than MAX_EXPANSIONS words, and nothing at
    all for a start of none."""
    from core.search import search_clause

    add_cases(
        any_engine,
        [
            {"sequence": 1, "description": "शौचालय नहीं मिला, abhi milega, milta nahi"},
            {"sequence": 2, "description": " ".join(f"k{n:02d}x" for n in range(20))},
        ],
    )

    def asked(q: str, connection: sa.Connection) -> str:
        clause = search_clause(q, connection)
        assert clause is not None
        compiled = clause.compile(
            dialect=any_engine.dialect, compile_kwargs={"literal_binds": True}
        )
        return str(compiled)

    with any_engine.connect() as connection:
        if any_engine.dialect.name == "sqlite":
            assert '"शौचा"* AND "mil"*' in asked("शौचा mil", connection)
            return
        two = asked("शौचा mil", connection)
        assert "'(''शौचालय'') & (''milega'' | ''milta'')'" in two and ":*" not in two, two
        assert "'(''k05x'')'" in asked("k05", connection)
        assert "'''k0'':*'" in asked("k0", connection)  # 10 words begin with k0: a prefix
        # A word PostgreSQL's parser splits (ram, then kumar) is asked as it always was.
        assert "'''ram_kum'':*'" in asked("ram_kum", connection)
        assert asked("kz", connection) == "false"
