"""Reconciliation: start the workflow of every recorded complaint that has none yet.

The API commits the complaint before starting its workflow. If Temporal was unreachable at
that moment the row stays with `workflow_started_at` NULL (an outbox); this activity, run by
the worker at start-up and by a Temporal Schedule every minute, starts them.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import col, select
from temporalio import activity
from temporalio.client import Client

from core.db import read_session
from core.models import Complaint, utcnow
from core.settings import Settings
from schemas.policy import Policy
from schemas.workflow import ReconcileResult
from workflows.start import start_complaint_workflow

log = logging.getLogger(__name__)

# Rows younger than this are left to the API request that is still starting them.
GRACE = timedelta(seconds=10)


class ReconcileActivities:
    def __init__(self, engine: Engine, client: Client, settings: Settings, policy: Policy) -> None:
        self._engine = engine
        self._client = client
        self._settings = settings
        self._policy = policy

    @activity.defn
    async def start_pending_workflows(self) -> ReconcileResult:
        """Start the workflows of complaints recorded while Temporal was unreachable."""
        return await reconcile(
            self._engine, self._client, self._settings, self._policy, grace=GRACE
        )


async def reconcile(
    engine: Engine, client: Client, settings: Settings, policy: Policy, *, grace: timedelta
) -> ReconcileResult:
    cutoff = utcnow() - grace
    with read_session(engine) as session:
        pending = session.exec(
            select(Complaint)
            .where(col(Complaint.workflow_started_at).is_(None))
            .where(col(Complaint.created_at) <= cutoff)
            .order_by(col(Complaint.id))
            .limit(500)
        ).all()
    started = []
    for complaint in pending:
        await start_complaint_workflow(client, engine, complaint, policy=policy, settings=settings)
        started.append(complaint.registration_number)
    if started:
        log.info("reconciliation started %d workflows: %s", len(started), ", ".join(started))
    return ReconcileResult(started=started)
