"""The two review Schedules (weekly review, Sidhi Baat), created or updated idempotently.

Both fire every Tuesday at their session's time (IST) and start `ReviewPlannerWorkflow`, which
opens the next sessions of its kind. A calendar spec cannot say "last Tuesday of the month", so
the Sidhi Baat planner runs every Tuesday and computes the last Tuesday itself (February,
five-Tuesday months and December alike); re-opening an open session is a no-op. The schedules
are only the trigger: the planner moves a session due on a gazetted holiday to the next working
day (or skips it) with the same calendar function and holidays the cases use (the policy), and
since it opens two sessions ahead, a Wednesday session after a holiday Tuesday is open in time.
"""

from __future__ import annotations

import logging

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from core.calendar import SessionKind
from core.settings import Settings
from schemas.policy import Policy
from schemas.review import PlannerInput
from workflows.review import ReviewPlannerWorkflow

log = logging.getLogger(__name__)

IST_ZONE = "Asia/Kolkata"
TUESDAY = 2  # ScheduleCalendarSpec counts days of the week from Sunday = 0


def review_schedule_id(settings: Settings, kind: SessionKind) -> str:
    """`jan-samvad-weekly-review` / `jan-samvad-sidhi-baat` after the workflow ID prefix."""
    return f"{settings.workflow_id_prefix}jan-samvad-{kind.value.replace('_', '-')}"


def review_schedule(settings: Settings, policy: Policy, kind: SessionKind) -> Schedule:
    """Every Tuesday at the session's time (IST): start the planner for `kind`."""
    at = policy.weekly_review_time if kind is SessionKind.WEEKLY_REVIEW else policy.sidhi_baat_time
    return Schedule(
        action=ScheduleActionStartWorkflow(
            ReviewPlannerWorkflow.run,
            PlannerInput(
                kind=kind,
                policy=policy,
                workflow_id_prefix=settings.workflow_id_prefix,
                sms_task_queue=settings.sms_task_queue or None,
            ),
            id=f"{settings.workflow_id_prefix}{kind.value.replace('_', '-')}-planner",
            task_queue=settings.temporal_task_queue,
        ),
        spec=ScheduleSpec(
            calendars=[
                ScheduleCalendarSpec(
                    day_of_week=[ScheduleRange(TUESDAY)],
                    hour=[ScheduleRange(at.hour)],
                    minute=[ScheduleRange(at.minute)],
                    second=[ScheduleRange(0)],
                    comment=f"{kind.value}: every Tuesday at {at.strftime('%H:%M')} IST",
                )
            ],
            time_zone_name=IST_ZONE,
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def ensure_review_schedules(client: Client, settings: Settings, policy: Policy) -> None:
    """Create both schedules, or bring existing ones up to date (a changed policy time); then
    run each planner once so the upcoming sessions exist even before the next Tuesday."""
    for kind in SessionKind:
        schedule_id = review_schedule_id(settings, kind)
        schedule = review_schedule(settings, policy, kind)
        try:
            handle = await client.create_schedule(schedule_id, schedule)
            log.info("created schedule %s", schedule_id)
        except ScheduleAlreadyRunningError:
            handle = client.get_schedule_handle(schedule_id)

            def _update(_: ScheduleUpdateInput, new: Schedule = schedule) -> ScheduleUpdate:
                return ScheduleUpdate(schedule=new)

            await handle.update(_update)
        await handle.trigger(overlap=ScheduleOverlapPolicy.SKIP)
