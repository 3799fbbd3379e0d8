"""The one place where the durations of the process live.

The API reads the policy when a complaint is registered and passes it to the workflow as part of
its input, so it is recorded in history: a running case keeps the policy it started with, and
replays stay deterministic even after an administrator changes the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from schemas.calendar import (
    Holiday,
    SessionOnHoliday,
    WorkingCalendar,
    add_working_days,
    end_of_working_day,
)
from schemas.reasons import INTERIM_REASONS, NOT_ACTIONABLE_REASONS


class Policy(BaseModel):
    """Deadlines and retry rules; every field has a documented default (docs/lifecycle.md)."""

    model_config = ConfigDict(frozen=True)

    report_deadline_complaint: timedelta = timedelta(days=15)
    report_deadline_suggestion: timedelta = timedelta(days=30)
    report_deadline_urgent: timedelta = timedelta(hours=12)
    # The same windows in working days (no Sundays, second Saturdays if `second_saturday_off`,
    # no `holidays`); when set, they replace the calendar-day windows above (not for urgent).
    report_working_days_complaint: int | None = Field(default=None, ge=1)
    report_working_days_suggestion: int | None = Field(default=None, ge=1)
    # Reminders to the officer, as fractions of the report window that have elapsed.
    reminder_fractions: tuple[float, ...] = (0.5, 0.8)

    # The telecaller's verification call: first due this long after the report, retried
    # `callback_attempts` times in all, `callback_retry_after` apart.
    callback_due_after: timedelta = timedelta(days=1)
    callback_attempts: int = Field(default=3, ge=1)
    callback_retry_after: timedelta = timedelta(days=1)
    # If no outcome is recorded this long after a call fell due, the case escalates by itself.
    callback_overdue_after: timedelta = timedelta(days=3)
    # After the last unreachable attempt: "escalate" (default) or "close" (never silently:
    # the citizen is told by SMS and may reopen).
    callback_exhausted_action: str = Field(default="escalate", pattern="^(escalate|close)$")

    weekly_review_time: time = time(11, 0)
    sidhi_baat_time: time = time(11, 0)
    # The agenda of a session is cut off this long before it starts (Monday 18:00 for 11:00).
    agenda_cutoff_before: timedelta = timedelta(hours=17)
    # A case still undecided this long after its session started rolls over to the next one.
    review_rollover_after: timedelta = timedelta(days=1)
    # A case undecided at this many weekly reviews in a row goes on to Sidhi Baat.
    max_weekly_rollovers: int = Field(default=4, ge=1)
    directive_default_deadline: timedelta = timedelta(days=7)
    directive_default_working_days: int | None = Field(default=None, ge=1)

    # The working-day calendar. A deadline of whole days falls at `working_day_ends` (IST) on
    # its last day, moved to the next working day if that is a day off (never at the time of
    # day the call was taken); a session due on a day off is held on the next working day or
    # skipped (`session_on_holiday`). `holidays` is filled when the policy is loaded (the
    # `holidays` package for India plus the state's HOLIDAYS_FILE) and travels with each case.
    # None: deadlines keep the time of day the work arrived (calendar-day windows exactly).
    working_day_ends: time | None = time(17, 0)
    second_saturday_off: bool = False
    session_on_holiday: SessionOnHoliday = SessionOnHoliday.NEXT_WORKING_DAY
    holidays: tuple[Holiday, ...] = ()
    # Whole-day deadlines make every case registered on one day due at one moment (17:00
    # IST). A case moves by itself (escalates at a missed deadline or an overdue verification
    # call, rolls over, reminds, finishes) up to `timer_spread` after its moment, each case at
    # its own fixed offset within it (`workflows.rules.spread_offset`, from its workflow ID),
    # so ten thousand cases due together reach the workers as a stream, not one burst, and
    # officers' actions keep answering meanwhile. The deadline itself is unchanged (a case is
    # overdue from it; a report that arrives in between is taken). 0: at the moment itself.
    timer_spread: timedelta = Field(default=timedelta(0), ge=timedelta(0), le=timedelta(hours=4))

    reopen_window: timedelta = timedelta(days=15)
    # A new call from the same phone about an open case registered within this window, on the
    # same subject and district or in very similar words, is offered as a repeat call to link.
    repeat_contact_window: timedelta = timedelta(days=90)

    # Categories (subject codes) whose `resolved` report needs at least one action-taken
    # report file (a photo or document the officer attached since the last report); "*":
    # every category. Checked by the API when the report arrives (422 naming `attachments`).
    proof_required_for_resolved: tuple[str, ...] = ()

    # A closure may be rated (1-5) and appealed this long after it: a rating of 1
    # or 2, or an explicit appeal, takes the case one rung up its ladder, once per closure.
    appeal_window: timedelta = timedelta(days=30)

    # The reasons this state's officers may give (`schemas.reasons`): for an interim reply on
    # a case running late, and for a report that a case cannot be acted on.
    interim_reasons: tuple[str, ...] = tuple(INTERIM_REASONS)
    not_actionable_reasons: tuple[str, ...] = tuple(NOT_ACTIONABLE_REASONS)

    # The case's clock is the citizen's: a transfer gives the new officer a deadline no later
    # than the case's promise (registration + its report window, or a directive's deadline)
    # plus `transfer_grace`; a case transferred more than `max_transfers` times goes to the
    # next weekly review whatever its deadline.
    transfer_grace: timedelta = timedelta(days=2)
    max_transfers: int = Field(default=2, ge=0)

    # SMS never hold up a case: each is queued by its transition and sent after it. One round
    # of attempts retries a failing gateway `sms_attempts` times (backing off to
    # `sms_retry_max_interval`, about 50 minutes in all by default); a message still not handed
    # over is then marked failed (the citizen shows on the "not reachable by SMS" list) and
    # tried again every `sms_redelivery_after` until `sms_redelivery_window` after it was
    # queued, so a day's outage loses no registration number.
    sms_attempts: int = Field(default=15, ge=1)
    sms_retry_max_interval: timedelta = timedelta(minutes=5)
    sms_redelivery_after: timedelta = timedelta(hours=1)
    sms_redelivery_window: timedelta = timedelta(days=7)

    # The verification call made by machine (IVR, workflows/ivr.py): placed when a case starts
    # awaiting its verification, for the kinds in `ivr_kinds` (empty: off) except the
    # categories in `ivr_categories_off`; busy / no answer / failed calls are tried again
    # `ivr_retry_after` later, `ivr_attempts` calls in all, only between `ivr_calling_from` and
    # `ivr_calling_until` (IST), then handed to the telecaller. A call with no final status
    # after `ivr_call_timeout` counts as failed. `ivr_audit_percent` of the closures the
    # machine verified are also put on the telecaller's list, to check the machine.
    ivr_kinds: tuple[str, ...] = ()
    ivr_categories_off: tuple[str, ...] = ()
    ivr_attempts: int = Field(default=3, ge=1)
    ivr_retry_after: timedelta = timedelta(hours=2)
    ivr_calling_from: time = time(9, 0)
    ivr_calling_until: time = time(20, 0)
    ivr_call_timeout: timedelta = timedelta(minutes=15)
    ivr_audit_percent: int = Field(default=10, ge=0, le=100)

    def report_deadline(self, *, suggestion: bool, urgent: bool) -> timedelta:
        if urgent:
            return self.report_deadline_urgent
        return self.report_deadline_suggestion if suggestion else self.report_deadline_complaint

    def proof_required(self, category: str | None) -> bool:
        """Whether a `resolved` report on a case of `category` needs an action-taken report."""
        wanted = self.proof_required_for_resolved
        return "*" in wanted or (category is not None and category in wanted)

    def working_calendar(self) -> WorkingCalendar:
        """The days offices work, for `schemas.calendar`'s pure functions."""
        return WorkingCalendar(
            holidays=frozenset(h.day for h in self.holidays),
            second_saturday_off=self.second_saturday_off,
            day_ends=self.working_day_ends,
            session_on_holiday=self.session_on_holiday,
        )

    def report_due(self, start: datetime, *, suggestion: bool, urgent: bool) -> datetime:
        """When a report for work arriving at `start` is due: an urgent case's window exactly;
        otherwise the working-day window (if set) or the calendar-day window, at the end of
        the working day (`working_day_ends`, IST) on a working day."""
        if urgent:
            return start + self.report_deadline_urgent
        working_days = (
            self.report_working_days_suggestion
            if suggestion
            else self.report_working_days_complaint
        )
        return self.due(
            start, self.report_deadline(suggestion=suggestion, urgent=False), working_days
        )

    def due(self, start: datetime, window: timedelta, working_days: int | None) -> datetime:
        """`start` plus `working_days` working days if set, else plus `window`; a window of
        whole days ends at the end of the working day, a shorter one is kept exact."""
        calendar = self.working_calendar()
        if working_days is not None:
            return add_working_days(start, working_days, calendar)
        if window < timedelta(days=1) or self.working_day_ends is None:
            return start + window
        return end_of_working_day(start + window, calendar)


def load_policy(path: Path | None, *, holidays: Sequence[Holiday] = ()) -> Policy:
    """The policy from a JSON file (fields omitted keep their defaults), or the defaults;
    `holidays` (see `core.holidays.load_holidays`) are added to any the file lists."""
    policy = Policy() if path is None else Policy.model_validate_json(path.read_text("utf-8"))
    if not holidays:
        return policy
    merged = {(h.day, h.name): h for h in (*policy.holidays, *holidays)}
    return policy.model_copy(update={"holidays": tuple(sorted(merged.values(), key=_by_day))})


def _by_day(holiday: Holiday) -> tuple[object, str]:
    return holiday.day, holiday.name
