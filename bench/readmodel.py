"""Read model at scale: the API's list/filter reads, the telecaller work list and a review
agenda over 100,000 and 1,000,000 generated complaints in PostgreSQL.

Each size gets a scratch schema, migrated as production is (Alembic), filled with one
`INSERT ... SELECT generate_series` (24 districts; created evenly over three years; of the last
60 days' cases 30% closed and the rest in every open state, of older ones 97% closed or
withdrawn and the rest still going round the reviews; 2% urgent; escalated cases on the weekly
review after their deadline), then `VACUUM ANALYZE`d. The reads go through the real API routes
in-process (httpx ASGI transport: routing, auth dependency, queries, serialisation), each
repeated; every SQL statement a route issued is then `EXPLAIN`ed, and the report says whether
the plan reads the complaint table through an index or scans it whole.
"""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from datetime import date
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy import event

from api.main import create_app
from bench.dashboard import dashboard_timings
from bench.stats import percentile
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
    'bench-' || g.i, 'complaint', 'call_centre', 'Citizen ' || g.i,
    '+9197' || lpad((g.i % 100000000)::text, 8, '0'), 'Village ' || g.i,
    (CAST(:districts AS text[]))[1 + g.i % 24], '834006',
    CASE WHEN g.i % 3 = 0 THEN 'en' ELSE 'hi' END,
    'sanitation', NULL, 'generated complaint ' || g.i, g.i % 50 = 41, g.i % 200 = 0,
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


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _reads(agenda_day: date) -> dict[str, str]:
    return {
        "list (newest, urgent first)": "/v1/complaints?limit=50",
        "filter district+status": "/v1/complaints?district=Ranchi&status=awaiting_report",
        "filter overdue": "/v1/complaints?overdue=true&limit=50",
        "filter urgent open": "/v1/complaints?urgent=true&open_only=true",
        "one case": "/v1/complaints/{year}/{sequence}",
        "telecaller work list": "/v1/callbacks",
        "review agenda": f"/v1/reviews/weekly_review/{agenda_day.isoformat()}",
    }


def _plan_uses_index(plan: list[str]) -> bool:
    """Whether a plan reads `complaint` through an index (no whole-table scan of it)."""
    text = "\n".join(plan)
    return "Seq Scan on complaint" not in text


async def _measure(
    engine: sa.Engine, settings: Settings, repeats: int, headers: dict[str, str]
) -> dict[str, dict[str, Any]]:
    statements: dict[str, list[tuple[str, Any]]] = {}
    current: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _capture(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if current and statement.lstrip().upper().startswith("SELECT"):
            statements.setdefault(current[0], []).append((statement, parameters))

    with engine.connect() as connection:
        year, sequence = connection.execute(
            sa.text("SELECT year, sequence FROM complaint ORDER BY id DESC LIMIT 1")
        ).one()
        agenda_day: date = connection.execute(  # the fullest agenda (about 200 cases at 1M)
            sa.text(
                "SELECT review_date::date FROM complaint WHERE status = 'weekly_review'"
                " GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
            )
        ).scalar_one()
    client = await connect(settings, lazy=True)  # never used by these reads
    app = create_app(settings, engine=engine, client=client)
    results: dict[str, dict[str, Any]] = {}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://bench", headers=headers
        ) as http:
            for name, path in _reads(agenda_day).items():
                url = path.format(year=year, sequence=sequence)
                latencies = []
                status = 0
                for attempt in range(repeats + 1):
                    current[:] = [name] if attempt == 0 else []
                    began = time.perf_counter()
                    answer = await http.get(url)
                    if attempt:  # the first one warms caches and records the statements
                        latencies.append(time.perf_counter() - began)
                    status = answer.status_code
                body = answer.json() if status == 200 else {}
                results[name] = {
                    "url": url,
                    "status": status,
                    "items": body.get("count") if isinstance(body, dict) else None,
                    "p50_ms": 1000 * percentile(latencies, 0.50),
                    "p99_ms": 1000 * percentile(latencies, 0.99),
                }
    event.remove(engine, "before_cursor_execute", _capture)
    with engine.connect() as connection:
        for name, issued in statements.items():
            plans = []
            for statement, parameters in issued:
                if "FROM complaint" not in statement and "JOIN complaint" not in statement:
                    continue
                cursor = connection.connection.cursor()
                cursor.execute("EXPLAIN " + statement, parameters)
                plans.append([line[0] for line in cursor.fetchall()])
            results[name]["complaint_queries"] = len(plans)
            results[name]["uses_index"] = all(_plan_uses_index(p) for p in plans)
            results[name]["plans"] = plans
    return results


def read_model(postgres_url: str, sizes: list[int], repeats: int) -> dict[str, Any]:
    """For each size: generate that many complaints in a scratch schema and time the reads."""
    out: dict[str, Any] = {}
    admin = sa.create_engine(postgres_url)
    for rows in sizes:
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        with admin.begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        engine = make_engine(postgres_url, connect_args={"options": f"-csearch_path={schema}"})
        settings = Settings(
            environment=Environment.TEST,
            database_url=postgres_url,
            temporal_address=f"127.0.0.1:{_closed_port()}",
            metrics_enabled=False,
        )
        try:
            migrate(engine)
            load_directory(engine, settings.directory_file)
            began = time.perf_counter()
            with engine.begin() as connection:
                connection.execute(sa.text(FILL), {"n": rows, "districts": list(DISTRICTS)})
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(sa.text("VACUUM ANALYZE complaint"))
            filled = time.perf_counter() - began
            _user, token = create_user(  # a reviewer reads every case (no scope)
                engine, name="bench-reviewer", roles=[Role.REVIEWER, Role.TELECALLER]
            )
            headers = {"Authorization": f"Bearer {token}"}
            reads = asyncio.run(_measure(engine, settings, repeats, headers))
            out[str(rows)] = {
                "fill_seconds": filled,
                "reads": reads,
                "dashboard": dashboard_timings(engine, repeats),
            }
        finally:
            engine.dispose()
            with admin.begin() as connection:
                connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()
    return out
