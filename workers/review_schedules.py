"""One review Schedule per forum of the ladder (weekly review, Sidhi Baat, a District
Collector's review...), created or updated idempotently.

Each fires on the forum's weekdays (each district's own, for a forum every district holds) at
its session time (IST) and starts `ReviewPlannerWorkflow`, which opens the next sittings of
the forum. A calendar spec cannot say "last Tuesday of the month", so the Sidhi Baat planner
runs every Tuesday and computes the last Tuesday itself (February, five-Tuesday months and
December alike); re-opening an open session is a no-op. The schedules are only the trigger:
the planner moves a session due on a gazetted holiday to the next working day (or skips it)
with the same calendar function and holidays the cases use (the policy), and since it opens
two sessions ahead, a Wednesday session after a holiday Tuesday is open in time. A forum no
longer on the configured ladder keeps its schedule (cases registered under the old ladder may
still wait for it): delete it by hand once none does.
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

from core.settings import Settings
from schemas.escalation import Forum, Ladder
from schemas.policy import Policy
from schemas.review import PlannerInput
from workflows.review import ReviewPlannerWorkflow

log = logging.getLogger(__name__)

IST_ZONE = "Asia/Kolkata"
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def review_schedule_id(settings: Settings, kind: str) -> str:
    """`jan-samvad-weekly-review` / `jan-samvad-sidhi-baat` after the workflow ID prefix."""
    return f"{settings.workflow_id_prefix}jan-samvad-{str(kind).replace('_', '-')}"


def review_schedule(settings: Settings, policy: Policy, forum: Forum) -> Schedule:
    """On each of the forum's weekdays at its session time (IST): start its planner."""
    at = forum.session_time
    kind = forum.session_kind
    days = sorted(forum.weekdays())
    names = ", ".join(_DAY_NAMES[d] for d in days)
    return Schedule(
        action=ScheduleActionStartWorkflow(
            ReviewPlannerWorkflow.run,
            PlannerInput(
                kind=kind,
                policy=policy,
                forum=forum,
                workflow_id_prefix=settings.workflow_id_prefix,
                sms_task_queue=settings.sms_task_queue or None,
                batches=settings.review_batches_for(forum.invites_citizens),
            ),
            id=f"{settings.workflow_id_prefix}{str(kind).replace('_', '-')}-planner",
            task_queue=settings.temporal_task_queue,
        ),
        spec=ScheduleSpec(
            calendars=[
                ScheduleCalendarSpec(
                    # ScheduleCalendarSpec counts days of the week from Sunday = 0.
                    day_of_week=[ScheduleRange((d + 1) % 7) for d in days],
                    hour=[ScheduleRange(at.hour)],
                    minute=[ScheduleRange(at.minute)],
                    second=[ScheduleRange(0)],
                    comment=f"{kind}: every {names} at {at.strftime('%H:%M')} IST",
                )
            ],
            time_zone_name=IST_ZONE,
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def ensure_review_schedules(
    client: Client, settings: Settings, policy: Policy, ladder: Ladder
) -> None:
    """Create a schedule for every forum of `ladder`, or bring existing ones up to date (a
    changed time or weekday); then run each planner once so the upcoming sessions exist even
    before the forum's next day."""
    for _, forum in ladder.forums():
        schedule_id = review_schedule_id(settings, forum.session_kind)
        schedule = review_schedule(settings, policy, forum)
        try:
            handle = await client.create_schedule(schedule_id, schedule)
            log.info("created schedule %s", schedule_id)
        except ScheduleAlreadyRunningError:
            handle = client.get_schedule_handle(schedule_id)

            def _update(_: ScheduleUpdateInput, new: Schedule = schedule) -> ScheduleUpdate:
                return ScheduleUpdate(schedule=new)

            await handle.update(_update)
        await handle.trigger(overlap=ScheduleOverlapPolicy.SKIP)
