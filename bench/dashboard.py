"""The CM dashboard at scale: every number of `/dashboard` (`api.pages.dashboard.compute`,
grouped queries in the database) over the read-model section's generated complaints, without
and with filters, and the month's grading of officers (`core.grading`), p50/p99 in
milliseconds beside the target (p99 <= 500 ms)."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from api.pages.dashboard import Filters, compute
from api.services.scope import case_filter
from bench.stats import percentile
from core.db import read_session
from core.grading import GradedBy, GradingFilters, Month, grading
from core.models import utcnow
from core.permissions import GRADING_READERS
from schemas.auth import Principal, Role
from schemas.calendar import IST
from schemas.policy import Policy

TARGET_P99_MS = 500.0


def dashboard_timings(engine: sa.Engine, repeats: int) -> dict[str, dict[str, Any]]:
    """p50/p99 of the whole dashboard's numbers, for a state-wide reviewer."""
    reviewer = Principal(subject="bench-reviewer", roles=frozenset({Role.REVIEWER}))
    now = utcnow()
    today = now.astimezone(IST).date()
    variants = {
        "dashboard": Filters(),
        "dashboard, one district": Filters(district="Ranchi"),
        "dashboard, last 30 days": Filters(registered_from=today - timedelta(days=29)),
    }
    out: dict[str, dict[str, Any]] = {}
    for name, filters in variants.items():
        latencies = []
        for attempt in range(repeats + 1):
            began = time.perf_counter()
            with read_session(engine) as session:
                data = compute(session, reviewer, Policy(), now, filters=filters)
            if attempt:  # the first warms the caches
                latencies.append(time.perf_counter() - began)
        out[name] = {
            "open": data.open_total,
            "p50_ms": 1000 * percentile(latencies, 0.50),
            "p99_ms": 1000 * percentile(latencies, 0.99),
        }
    # The month's grading of officers (core/grading.py): one grouped statement and a count.
    scope = case_filter(reviewer, GRADING_READERS)
    latencies = []
    for attempt in range(repeats + 1):
        began = time.perf_counter()
        with read_session(engine) as session:
            _rows, graded = grading(
                session, by=GradedBy.OFFICER, filters=GradingFilters(Month.of(now)),
                scope=scope, now=now, limit=50,
            )  # fmt: skip
        if attempt:
            latencies.append(time.perf_counter() - began)
    out["grading of officers, this month"] = {
        "open": graded,
        "p50_ms": 1000 * percentile(latencies, 0.50),
        "p99_ms": 1000 * percentile(latencies, 0.99),
    }
    return out
