"""Read model at scale: the API's list/filter reads, the officer's inbox, the telecaller's
verification list, search from the header's box and the caller's history, and a review
agenda, over 100,000 and 1,000,000 generated complaints in PostgreSQL and in SQLite.

Each size gets a scratch schema (PostgreSQL) or file (SQLite), migrated as production is
(Alembic), filled in one statement (`INSERT ... SELECT` over `generate_series`, or a
recursive CTE on SQLite; 24 districts, Ranchi holding about a third of the cases so that its
nodal officer holds some 20,000 open ones at 1,000,000; created evenly over three years; of
the last 60 days' cases 30% closed and the rest in every open state, of older ones 97% closed
or withdrawn and the rest still going round the reviews; 2% urgent; escalated cases on the
weekly review after their deadline; names and complaint words in Devanagari and Latin from
small vocabularies), then analysed. The reads go through the real API routes in-process
(httpx ASGI transport: routing, auth dependency, queries, serialisation), each repeated;
every SQL statement a route issued is then `EXPLAIN`ed (`EXPLAIN QUERY PLAN` on SQLite), and
the report says whether the plan reads the complaint table through an index or scans it
whole.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import sqlalchemy as sa
from sqlalchemy import event

from api.main import create_app
from bench.dashboard import dashboard_timings
from bench.stats import FullCollections, percentile
from core.auth import create_user
from core.db import load_directory, make_engine, migrate
from core.settings import Environment, Settings
from core.temporal import connect
from schemas.auth import Role
from schemas.reference import DISTRICTS

FILL = """
INSERT INTO complaint (
    year, sequence, registration_number, workflow_id, kind, channel, citizen_name,
    citizen_phone, citizen_address, district, pincode, language, category, department,
    description, urgent, wishes_to_meet_cm, status, escalation_level, next_deadline,
    review_kind, review_session_id, review_date, closed_at, callback_due_at,
    callback_attempts, state_version, request_fingerprint, workflow_started_at, created_at,
    updated_at)
SELECT
    extract(year FROM g.created_at)::int, g.i, g.i || '/' || extract(year FROM g.created_at),
    'bench-' || g.i, 'complaint', 'call_centre',
    (CAST(:first_names AS text[]))[1 + g.i % 40] || ' '
        || (CAST(:surnames AS text[]))[1 + (g.i / 40) % 40],
    '+9197' || lpad((g.i % 100000000)::text, 8, '0'), 'Village ' || g.i,
    CASE WHEN g.i % 3 = 0 THEN 'Ranchi' ELSE (CAST(:districts AS text[]))[1 + g.i % 24] END,
    '834006', CASE WHEN g.i % 3 = 0 THEN 'en' ELSE 'hi' END,
    'sanitation', NULL,
    (CAST(:words AS text[]))[1 + g.i % 97] || ' '
        || (CAST(:words AS text[]))[1 + g.i % 89] || ' '
        || (CAST(:words AS text[]))[1 + g.i % 83] || ' '
        || (CAST(:words AS text[]))[1 + g.i % 79]
        || ' complaint ' || g.i,
    g.i % 50 = 41, g.i % 200 = 0,
    g.status, CASE WHEN g.status IN ('weekly_review', 'sidhi_baat') THEN 1 ELSE 0 END,
    CASE WHEN g.status IN ('closed', 'withdrawn') THEN NULL
         WHEN g.status = 'weekly_review' THEN g.session_day + time '11:00'
         ELSE g.created_at + interval '15 days' END,
    CASE WHEN g.status = 'weekly_review' THEN 'weekly_review' END,
    CASE WHEN g.status = 'weekly_review'
         THEN 'weekly-review-' || to_char(g.session_day, 'YYYY-MM-DD') END,
    CASE WHEN g.status = 'weekly_review' THEN g.session_day + time '11:00' END,
    CASE WHEN g.status = 'closed' THEN g.created_at + interval '20 days' END,
    CASE WHEN g.status = 'awaiting_callback' THEN g.created_at + interval '16 days' END,
    0, 4, 'x', g.created_at, g.created_at, g.created_at
FROM (
    SELECT s.i, s.created_at, s.status,
        (s.created_at + interval '15 days')::date
            + ((9 - extract(isodow FROM s.created_at + interval '15 days')::int) % 7)
            AS session_day
    FROM (
        SELECT i,
            now() - (CAST(:n AS int) - i) * (interval '3 years' / CAST(:n AS int)) AS created_at,
            CASE WHEN (CAST(:n AS int) - i) < CAST(:n AS int) * 60 / 1095 THEN  -- last 60 days
                CASE WHEN i % 100 < 30 THEN 'closed'
                     WHEN i % 100 < 70 THEN 'awaiting_report'
                     WHEN i % 100 < 85 THEN 'awaiting_callback'
                     WHEN i % 100 < 95 THEN 'weekly_review'
                     WHEN i % 100 < 98 THEN 'sidhi_baat'
                     ELSE 'withdrawn' END
            ELSE  -- older: settled, but for the cases still going round the reviews
                CASE WHEN i % 100 < 95 THEN 'closed'
                     WHEN i % 100 < 97 THEN 'withdrawn'
                     WHEN i % 100 < 99 THEN 'weekly_review'
                     ELSE 'sidhi_baat' END
            END AS status
        FROM generate_series(1, CAST(:n AS int)) AS i
    ) AS s
) AS g
"""


# The same cases on SQLite: a recursive CTE for the series, the vocabularies as JSON arrays,
# times as the read model stores them there (naive UTC text).
SQLITE_FILL = """
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < :n),
t AS (
    SELECT i, julianday('now') - (:n - i) * (1095.0 / :n) AS created,
        CASE WHEN (:n - i) < :n * 60 / 1095 THEN
            CASE WHEN i % 100 < 30 THEN 'closed'
                 WHEN i % 100 < 70 THEN 'awaiting_report'
                 WHEN i % 100 < 85 THEN 'awaiting_callback'
                 WHEN i % 100 < 95 THEN 'weekly_review'
                 WHEN i % 100 < 98 THEN 'sidhi_baat'
                 ELSE 'withdrawn' END
        ELSE
            CASE WHEN i % 100 < 95 THEN 'closed'
                 WHEN i % 100 < 97 THEN 'withdrawn'
                 WHEN i % 100 < 99 THEN 'weekly_review'
                 ELSE 'sidhi_baat' END
        END AS status
    FROM s
),
g AS (SELECT i, created, status, date(created + 15, 'weekday 2') AS session_day FROM t)
INSERT INTO complaint (
    year, sequence, registration_number, workflow_id, kind, channel, citizen_name,
    citizen_phone, citizen_address, district, pincode, language, category, department,
    description, urgent, wishes_to_meet_cm, status, escalation_level, next_deadline,
    review_kind, review_session_id, review_date, closed_at, callback_due_at,
    callback_attempts, state_version, request_fingerprint, workflow_started_at, created_at,
    updated_at)
SELECT
    CAST(strftime('%Y', created) AS INTEGER), i, i || '/' || strftime('%Y', created),
    'bench-' || i, 'complaint', 'call_centre',
    json_extract(:first_names, '$[' || (i % 40) || ']') || ' '
        || json_extract(:surnames, '$[' || ((i / 40) % 40) || ']'),
    '+9197' || printf('%08d', i % 100000000), 'Village ' || i,
    CASE WHEN i % 3 = 0 THEN 'Ranchi' ELSE json_extract(:districts, '$[' || (i % 24) || ']') END,
    '834006', CASE WHEN i % 3 = 0 THEN 'en' ELSE 'hi' END, 'sanitation', NULL,
    json_extract(:words, '$[' || (i % 97) || ']') || ' '
        || json_extract(:words, '$[' || (i % 89) || ']') || ' '
        || json_extract(:words, '$[' || (i % 83) || ']') || ' '
        || json_extract(:words, '$[' || (i % 79) || ']') || ' complaint ' || i,
    i % 50 = 41, i % 200 = 0,
    status, CASE WHEN status IN ('weekly_review', 'sidhi_baat') THEN 1 ELSE 0 END,
    CASE WHEN status IN ('closed', 'withdrawn') THEN NULL
         WHEN status = 'weekly_review' THEN session_day || ' 11:00:00.000000'
         ELSE strftime('%Y-%m-%d %H:%M:%f', created + 15) || '000' END,
    CASE WHEN status = 'weekly_review' THEN 'weekly_review' END,
    CASE WHEN status = 'weekly_review' THEN 'weekly-review-' || session_day END,
    CASE WHEN status = 'weekly_review' THEN session_day || ' 11:00:00.000000' END,
    CASE WHEN status = 'closed' THEN strftime('%Y-%m-%d %H:%M:%f', created + 20) || '000' END,
    CASE WHEN status = 'awaiting_callback'
         THEN strftime('%Y-%m-%d %H:%M:%f', created + 16) || '000' END,
    0, 4, 'x', strftime('%Y-%m-%d %H:%M:%f', created) || '000',
    strftime('%Y-%m-%d %H:%M:%f', created) || '000', strftime('%Y-%m-%d %H:%M:%f', created) || '000'
FROM g
"""

# Names and complaint words (Devanagari, English, Hinglish) the generated cases draw from.
FIRST_NAMES = (
    "सीता", "गीता", "रमेश", "सुनीता", "बिरसा", "मुन्नी", "अनिल", "सुनील", "रीता", "मीना",
    "राजेश", "पूजा", "संजय", "ललिता", "अजय", "कविता", "विजय", "शांति", "दिनेश", "आशा",
    "Sita", "Gita", "Ramesh", "Sunita", "Birsa", "Munni", "Anil", "Sunil", "Rita", "Meena",
    "Rajesh", "Puja", "Sanjay", "Lalita", "Ajay", "Kavita", "Vijay", "Shanti", "Dinesh", "Asha",
)  # fmt: skip
SURNAMES = (
    "देवी", "कुमारी", "महतो", "मुंडा", "उरांव", "सोरेन", "हेम्ब्रम", "टुडू", "मरांडी", "किस्कू",
    "सिंह", "यादव", "साहू", "प्रसाद", "मंडल", "गोप", "राम", "दास", "पासवान", "कुमार",
    "Devi", "Kumari", "Mahto", "Munda", "Oraon", "Soren", "Hembrom", "Tudu", "Marandi", "Kisku",
    "Singh", "Yadav", "Sahu", "Prasad", "Mandal", "Gope", "Ram", "Das", "Paswan", "Kumar",
)  # fmt: skip
WORDS = (
    "शौचालय", "गैस", "कनेक्शन", "अस्पताल", "पानी", "बिजली", "सड़क", "राशन", "पेंशन", "आवास",
    "स्कूल", "छात्रवृत्ति", "मजदूरी", "जमीन", "नाली", "चापाकल", "डॉक्टर", "दवा", "शिक्षक", "पुल",
    "नहीं", "मिला", "टूटा", "बंद", "खराब", "गाँव", "पंचायत", "प्रखंड", "महीने", "साल",
    "योजना", "आवेदन", "भुगतान", "बकाया", "कार्ड", "नाम", "सूची", "अधिकारी", "शिकायत", "समस्या",
    "उज्ज्वला", "स्वच्छ", "भारत", "मनरेगा", "ट्रांसफार्मर", "हैंडपंप", "एम्बुलेंस", "आंगनबाड़ी",
    "toilet", "gas", "connection", "hospital", "water", "electricity", "road", "ration",
    "pension", "house", "school", "scholarship", "wages", "land", "drain", "handpump",
    "doctor", "medicine", "teacher", "bridge", "broken", "closed", "village", "panchayat",
    "nahi", "mila", "abhi", "tak", "kab", "milega", "paisa", "bakaya", "card", "naam",
    "list", "officer", "problem", "scheme", "application", "payment", "months", "year",
    "ujjwala", "swachh", "mgnrega", "transformer", "ambulance", "anganwadi", "bill", "meter",
)  # fmt: skip


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# Reads as the officer of Ranchi (its nodal officer, about 20,000 open cases at 1,000,000)
# or as a state-wide reader (a reviewer who is also a telecaller); the figures' targets.
OFFICER, STATE_WIDE = "officer", "state-wide"
TARGET_MS = 100
PAGE = 50
# Two Hindi words that occur together in about one case in 8,600; a full name in one in 1,600.
HINDI_WORDS = f"{WORDS[0]} {WORDS[20]}"
FULL_NAME = f"{FIRST_NAMES[0]} {SURNAMES[0]}"


def _reads(agenda_day: date, phone: str) -> dict[str, tuple[str, str]]:
    spaced = f"{phone[3:8]} {phone[8:]}"  # as a caller says it: 97000 01234
    return {
        "list (newest, urgent first)": ("/v1/complaints?limit=50", STATE_WIDE),
        "filter district+status": (
            "/v1/complaints?district=Ranchi&status=awaiting_report",
            STATE_WIDE,
        ),
        "filter overdue": ("/v1/complaints?overdue=true&limit=50", STATE_WIDE),
        "filter urgent open": ("/v1/complaints?urgent=true&open_only=true", STATE_WIDE),
        "inbox page 1 (officer)": (
            f"/v1/complaints?open_only=true&sort=deadline&limit={PAGE}",
            OFFICER,
        ),
        "inbox page 50 (officer)": (
            f"/v1/complaints?open_only=true&sort=deadline&limit={PAGE}&offset={49 * PAGE}",
            OFFICER,
        ),
        "one case": ("/v1/complaints/{year}/{sequence}", STATE_WIDE),
        "verification list": ("/v1/callbacks?due_only=false&limit=50", STATE_WIDE),
        "search: number": ("/v1/complaints?q={sequence}/{year}", STATE_WIDE),
        "search: number, no year": ("/v1/complaints?q={sequence}", STATE_WIDE),
        "search: phone": (f"/v1/complaints?q={quote(spaced)}", STATE_WIDE),
        "search: name": (f"/v1/complaints?q={quote(FULL_NAME)}", STATE_WIDE),
        "search: two Hindi words": (f"/v1/complaints?q={quote(HINDI_WORDS)}", STATE_WIDE),
        "search: two Hindi words (officer)": (
            f"/v1/complaints?q={quote(HINDI_WORDS)}",
            OFFICER,
        ),
        "caller's history": (
            f"/v1/complaints?q={quote(phone)}&sort=newest&limit=20",
            STATE_WIDE,
        ),
        "review agenda": (f"/v1/reviews/weekly_review/{agenda_day.isoformat()}", STATE_WIDE),
    }


def _plan_uses_index(plan: list[str]) -> bool:
    """Whether a plan reads `complaint` through an index (no whole-table scan of it):
    PostgreSQL's `Seq Scan on complaint`, SQLite's `SCAN complaint` without an index."""
    text = "\n".join(plan)
    if re.search(r"Seq Scan on complaint\b", text):  # not `complaint_total`'s one row
        return False
    return not any(
        re.search(r"\bSCAN complaint\b(?!_search)", line) and "USING" not in line for line in plan
    )


async def _measure(
    engine: sa.Engine, settings: Settings, repeats: int, headers: dict[str, dict[str, str]]
) -> dict[str, dict[str, Any]]:
    statements: dict[str, list[tuple[str, Any]]] = {}
    current: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _capture(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if current and statement.lstrip().upper().startswith("SELECT"):
            statements.setdefault(current[0], []).append((statement, parameters))

    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        year, sequence, phone = connection.execute(  # the newest case: its number, phone
            sa.text("SELECT year, sequence, citizen_phone FROM complaint ORDER BY id DESC LIMIT 1")
        ).one()
        day = "date(review_date)" if sqlite else "review_date::date"
        agenda_day: Any = connection.execute(  # the fullest agenda (about 200 cases at 1M)
            sa.text(
                f"SELECT {day} FROM complaint WHERE status = 'weekly_review'"
                " GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
            )
        ).scalar_one()
    if isinstance(agenda_day, str):
        agenda_day = date.fromisoformat(agenda_day)
    client = await connect(settings, lazy=True)  # never used by these reads
    # As the server runs it (`api.main.main`): the objects of its start frozen out of the
    # collector's walks, here with the bench's own.
    app = create_app(settings, engine=engine, client=client, freeze_heap=True)
    results: dict[str, dict[str, Any]] = {}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            for name, (path, reader) in _reads(agenda_day, str(phone)).items():
                url = path.format(year=year, sequence=sequence)
                latencies = []
                status = 0
                for attempt in range(repeats + 1):
                    current[:] = [name] if attempt == 0 else []
                    began = time.perf_counter()
                    answer = await http.get(url, headers=headers[reader])
                    if attempt:  # the first one warms caches and records the statements
                        latencies.append(time.perf_counter() - began)
                    status = answer.status_code
                body = answer.json() if status == 200 else {}
                p99 = 1000 * percentile(latencies, 0.99)
                results[name] = {
                    "url": url.replace(quote(str(phone)), "[phone]"),
                    "reader": reader,
                    "status": status,
                    "items": body.get("count") if isinstance(body, dict) else None,
                    "p50_ms": 1000 * percentile(latencies, 0.50),
                    "p99_ms": p99,
                    "target_p99_ms": TARGET_MS,
                    "within_target": p99 <= TARGET_MS,
                }
    event.remove(engine, "before_cursor_execute", _capture)
    explain = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
    with engine.connect() as connection:
        for name, issued in statements.items():
            plans = []
            for statement, parameters in issued:
                if "FROM complaint" not in statement and "JOIN complaint" not in statement:
                    continue
                cursor = connection.connection.cursor()
                cursor.execute(explain + statement, parameters)
                plans.append([str(line[-1]) for line in cursor.fetchall()])
            results[name]["complaint_queries"] = len(plans)
            results[name]["uses_index"] = all(_plan_uses_index(p) for p in plans)
            results[name]["plans"] = plans
    return results


def _fill(engine: sa.Engine, rows: int) -> float:
    """Generate `rows` complaints (see the module docstring); the seconds it took."""
    began = time.perf_counter()
    sqlite = engine.dialect.name == "sqlite"
    params: dict[str, Any] = {"n": rows}
    if sqlite:
        params |= {
            "districts": json.dumps(list(DISTRICTS), ensure_ascii=False),
            "first_names": json.dumps(FIRST_NAMES, ensure_ascii=False),
            "surnames": json.dumps(SURNAMES, ensure_ascii=False),
            "words": json.dumps(WORDS, ensure_ascii=False),
        }
    else:
        params |= {
            "districts": list(DISTRICTS),
            "first_names": list(FIRST_NAMES),
            "surnames": list(SURNAMES),
            "words": list(WORDS),
        }
    with engine.begin() as connection:
        connection.execute(sa.text(SQLITE_FILL if sqlite else FILL), params)
    if sqlite:
        with engine.begin() as connection:
            connection.execute(sa.text("ANALYZE"))
    else:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(sa.text("VACUUM ANALYZE complaint"))
    return time.perf_counter() - began


def _measure_size(engine: sa.Engine, rows: int, repeats: int, database_url: str) -> dict[str, Any]:
    settings = Settings(
        environment=Environment.TEST,
        database_url=database_url,
        temporal_address=f"127.0.0.1:{_closed_port()}",
        metrics_enabled=False,
    )
    migrate(engine)
    load_directory(engine, settings.directory_file)
    filled = _fill(engine, rows)
    _user, token = create_user(  # a reviewer reads every case (no scope)
        engine, name="bench-reviewer", roles=[Role.REVIEWER, Role.TELECALLER]
    )
    _user, officer = create_user(
        engine, name="bench-nodal-ranchi", roles=[Role.NODAL_OFFICER], district="Ranchi"
    )
    headers = {
        STATE_WIDE: {"Authorization": f"Bearer {token}"},
        OFFICER: {"Authorization": f"Bearer {officer}"},
    }
    with FullCollections() as collections:
        reads = asyncio.run(_measure(engine, settings, repeats, headers))
        dashboard = dashboard_timings(engine, repeats)
    return {
        "fill_seconds": filled,
        "reads": reads,
        "dashboard": dashboard,
        "full_collections": collections.figures(),
    }


def read_model(
    postgres_url: str | None,
    sizes: list[int],
    repeats: int,
    *,
    sqlite_sizes: list[int] | None = None,
    scratch: Path | None = None,
) -> dict[str, Any]:
    """For each database and size: generate that many complaints in a scratch schema (or
    SQLite file under `scratch`) and time the reads. `postgres_url` None: SQLite only."""
    out: dict[str, Any] = {}
    if postgres_url is not None:
        out["postgresql"] = {}
        admin = sa.create_engine(postgres_url)
        for rows in sizes:
            schema = f"bench_{uuid.uuid4().hex[:10]}"
            with admin.begin() as connection:
                connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
            engine = make_engine(postgres_url, connect_args={"options": f"-csearch_path={schema}"})
            try:
                out["postgresql"][str(rows)] = _measure_size(engine, rows, repeats, postgres_url)
            finally:
                engine.dispose()
                with admin.begin() as connection:
                    connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
                # The fill's pages written out now, not by the checkpointer's spread writes
                # during the SQLite runs after (they made SQLite's dashboard some 40 % slower).
                with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                    c.execute(sa.text("CHECKPOINT"))
        admin.dispose()
    out["sqlite"] = {}
    for rows in sqlite_sizes if sqlite_sizes is not None else sizes:
        with tempfile.TemporaryDirectory(dir=scratch) as directory:
            url = f"sqlite:///{Path(directory) / 'read-model.db'}"
            engine = make_engine(url)
            try:
                out["sqlite"][str(rows)] = _measure_size(engine, rows, repeats, url)
            finally:
                engine.dispose()
    return out
