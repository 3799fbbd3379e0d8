"""`GET /metrics` for Prometheus: the API's own traffic, and the state of all cases.

Request counts and latencies are per replica (label them by instance in Prometheus). The case
figures are read from the read model at scrape time, so every replica reports the same
numbers: aggregate them with `max`, not `sum`. Labels are bounded sets (route templates,
statuses, the 24 districts, the ladders' escalation levels), never registration numbers.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, FastAPI, Response
from fastapi.concurrency import run_in_threadpool
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine
from sqlmodel import col
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import require
from api.deps import AppStateDep
from core.models import Complaint, Verification, utcnow
from core.models import Message as Sms
from core.permissions import METRICS_READERS
from core.readmodel import agenda_cases
from core.readmodel import open_cases as open_predicate
from schemas.escalation import review_statuses

PREFIX = "jansamvad"


def _value(item: Any) -> str:
    """Label text of an enum member or a plain value."""
    return str(getattr(item, "value", item))


class HttpMetrics:
    """Request counter and latency histogram of one app, in a registry of its own (so that
    several apps in one process, as in the tests, never collide)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            f"{PREFIX}_http_requests",
            "HTTP requests answered, by method, route template and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            f"{PREFIX}_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template.",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
        )


class MetricsMiddleware:
    """Counts and times every HTTP request by its route template (never the raw path: a
    path holds a registration number, which would make one time series per case)."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client sees if the app raises before answering

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            # The router writes the matched route into the shared scope.
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope["method"]
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - started)


class ReadModelCollector(Collector):
    """Case figures computed from the read model at each scrape."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Open cases by status, district and level; overdue; review agenda; verifications
        by channel and the checks of the machine's; SMS by status."""
        now = utcnow()
        is_open = open_predicate()
        with self.engine.connect() as connection:
            open_rows = connection.execute(
                sa.select(
                    col(Complaint.status),
                    col(Complaint.district),
                    col(Complaint.escalation_level),
                    sa.func.count(),
                )
                .where(is_open)
                .group_by(
                    col(Complaint.status),
                    col(Complaint.district),
                    col(Complaint.escalation_level),
                )
            ).all()
            overdue_rows = connection.execute(
                sa.select(col(Complaint.district), sa.func.count())
                .where(is_open, col(Complaint.next_deadline) < now)
                .group_by(Complaint.district)
            ).all()
            times = sa.case(
                (col(Complaint.undecided_times) >= 3, 3), else_=col(Complaint.undecided_times)
            )
            undecided_rows = connection.execute(
                sa.select(col(Complaint.status), times, sa.func.count())
                .where(agenda_cases())
                .group_by(col(Complaint.status), times)
            ).all()
            agenda_rows = connection.execute(
                sa.select(col(Complaint.status), sa.func.count())
                .where(agenda_cases())
                .group_by(Complaint.status)
            ).all()
            not_started = connection.execute(
                sa.select(sa.func.count()).where(
                    is_open, col(Complaint.workflow_started_at).is_(None)
                )
            ).scalar_one()
            verification_rows = connection.execute(
                sa.select(
                    col(Verification.channel),
                    col(Verification.result),
                    sa.func.count(),
                    sa.func.count(col(Verification.checked_at)),
                    sa.func.coalesce(
                        sa.func.sum(
                            sa.case((col(Verification.check_disagreed).is_(True), 1), else_=0)
                        ),
                        0,
                    ),
                ).group_by(col(Verification.channel), col(Verification.result))
            ).all()
            sms_rows = connection.execute(
                sa.select(col(Sms.status), col(Sms.recipient_kind), sa.func.count()).group_by(
                    Sms.status, Sms.recipient_kind
                )
            ).all()

        open_cases = GaugeMetricFamily(
            f"{PREFIX}_open_cases",
            "Open cases (complaints and suggestions) by status, district and escalation level.",
            labels=["status", "district", "escalation_level"],
        )
        for status, district, level, count in open_rows:
            open_cases.add_metric([_value(status), district, str(level)], count)
        yield open_cases

        undecided = GaugeMetricFamily(
            f"{PREFIX}_undecided_cases",
            "Cases on a review's agenda by how many sessions in a row left them undecided "
            "(times: 0, 1, 2, 3 = 3 or more); a Sidhi Baat case is also prepared at every "
            "weekly review before its session.",
            labels=["status", "times"],
        )
        for row in undecided_rows:
            undecided.add_metric([_value(row[0]), str(row[1])], float(str(row[2])))
        yield undecided

        overdue = GaugeMetricFamily(
            f"{PREFIX}_overdue_cases",
            "Open cases whose next deadline has passed (should be 0: a timer moves them).",
            labels=["district"],
        )
        for district, count in overdue_rows:
            overdue.add_metric([district], count)
        yield overdue

        agenda = GaugeMetricFamily(
            f"{PREFIX}_review_agenda_cases",
            "Cases waiting for a review, by forum (the configured ladder's and the shipped ones').",
            labels=["review"],
        )
        counts = {_value(status): count for status, count in agenda_rows}
        for review in review_statuses():
            agenda.add_metric([_value(review)], counts.get(review, 0))
        yield agenda

        yield GaugeMetricFamily(
            f"{PREFIX}_workflow_not_started_cases",
            "Registered cases whose workflow Temporal has not accepted yet (reconciliation "
            "starts them; lasting values mean Temporal or the worker is down).",
            value=not_started,
        )

        verified = GaugeMetricFamily(
            f"{PREFIX}_verifications",
            "Verifications of cases' outcomes with the citizens since the start, by channel "
            "(ivr: the machine's call; telecaller...) and result (satisfied, not_satisfied).",
            labels=["channel", "result"],
        )
        checks = GaugeMetricFamily(
            f"{PREFIX}_verification_checks",
            "A person's checks of the machine's sampled 'solved', by whether the citizen "
            "agreed (the disagreement rate: disagreed / all).",
            labels=["channel", "citizen"],
        )
        checked: dict[tuple[str, str], int] = {}
        for row in verification_rows:
            channel, result = str(row[0]), str(row[1])
            count, n_checked, n_disagreed = (int(str(n)) for n in row[2:])
            verified.add_metric([channel, result], count)
            for citizen, n in (("agreed", n_checked - n_disagreed), ("disagreed", n_disagreed)):
                checked[(channel, citizen)] = checked.get((channel, citizen), 0) + n
        for (channel, citizen), n in checked.items():
            if channel == "ivr":  # only the machine's answers are sampled
                checks.add_metric([channel, citizen], n)
        yield verified
        yield checks

        sms = GaugeMetricFamily(
            f"{PREFIX}_sms_messages",
            "SMS recorded, by delivery status and recipient kind (citizen or officer).",
            labels=["status", "recipient_kind"],
        )
        for sms_status, recipient_kind, count in sms_rows:
            sms.add_metric([_value(sms_status), _value(recipient_kind)], count)
        yield sms


def render(registries: Iterable[CollectorRegistry]) -> bytes:
    """The Prometheus text format of several registries, one after the other."""
    return b"".join(generate_latest(registry) for registry in registries)


def install(app: FastAPI) -> None:
    """Add the request middleware and the `GET /metrics` route to `app`."""
    http = HttpMetrics()
    app.add_middleware(MetricsMiddleware, metrics=http)
    router = APIRouter(tags=["operations"])
    domain: dict[int, CollectorRegistry] = {}

    @router.get(
        "/metrics", include_in_schema=False, dependencies=[Depends(require(*METRICS_READERS))]
    )
    async def metrics(state: AppStateDep) -> Response:
        """Prometheus exposition of HTTP traffic and case figures."""
        registry = domain.get(id(state.engine))
        if registry is None:
            registry = CollectorRegistry(auto_describe=False)
            registry.register(ReadModelCollector(state.engine))
            domain.clear()  # one engine per app lifetime; a restarted lifespan brings a new one
            domain[id(state.engine)] = registry
        body = await run_in_threadpool(render, [http.registry, registry])
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    app.include_router(router)
