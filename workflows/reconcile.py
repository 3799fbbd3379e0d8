"""`ReconcileWorkflow`: run by a Temporal Schedule; starts workflows for orphaned complaints."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.workflow import ReconcileResult
    from workflows.client_activities import ReconcileActivities


@workflow.defn
class ReconcileWorkflow:
    """Start the workflow of every recorded complaint that has none (the activity is in
    workflows/client_activities.py)."""

    @workflow.run
    async def run(self) -> ReconcileResult:
        return await workflow.execute_activity_method(
            ReconcileActivities.start_pending_workflows,
            start_to_close_timeout=timedelta(minutes=5),
        )
