"""The case's climb up its ladder: the next rung's forum and its sitting, the lower forum
that prepares it, a session's rollover (and the climb when a rung's sittings are used up).
Workflow code, for `ComplaintWorkflow` only, run under the case's lock; where a case goes
and when is asked of the pure rules (`workflows.rules`), the ladder is data
(`schemas.escalation`, docs/ladders.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.calendar import SessionKind, WorkingCalendar, fmt_ist
    from schemas.enums import RecipientKind
    from schemas.escalation import Ladder, Rung
    from schemas.workflow import ComplaintState, SmsTemplate
    from workflows import rules
    from workflows.journal import Journal
    from workflows.outbox import Outbox


@dataclass(frozen=True)
class Escalation:
    """Moves the case up `ladder` (`climb`) and on to its forum's next sitting (`roll_over`);
    `state` is the case's live state, `filed_in` the district it was filed in (a transfer
    to another district's officer moves it)."""

    state: ComplaintState
    ladder: Ladder
    calendar: WorkingCalendar
    filed_in: str
    outbox: Outbox
    journal: Journal

    async def remind_officer(self) -> None:
        """The officer reminded of the report's deadline, and told where the case goes if it
        is late: the next rung's forum on the case's ladder (the weekly review on the seed's,
        the District Collector's review on the DC ladder)."""
        state = self.state
        state.reminders_sent += 1
        due = fmt_ist(state.next_deadline)
        await self.journal.record(
            "officer_reminded",
            actor="timer",
            note=f"reminder {state.reminders_sent}: report due {due}",
        )
        upper = self.ladder.next_rung(rules.rung_of(state, self.ladder).code).forum
        forum = str(upper.session_kind) if upper else str(SessionKind.WEEKLY_REVIEW)
        self.outbox.owe(
            SmsTemplate.OFFICER_REMINDER,
            RecipientKind.OFFICER,
            {"due": due, "forum": forum},
            assignment_bound=True,
            valid_until=state.next_deadline,
        )

    async def climb(self, *, reason: str, actor: str) -> None:
        """To the next rung's forum: its next sitting (the district's own where each district
        holds one), the citizen told the forum and the real date; a case bound for a forum
        prepared at a lower one (Sidhi Baat, at the weekly review) is told both dates."""
        state, ladder = self.state, self.ladder
        rung = ladder.next_rung(rules.rung_of(state, ladder).code)
        state.rung = rung.code
        state.escalation_level = rung.level
        state.rollovers = 0
        self._sit(rung)
        assert state.review and rung.forum
        prepared_at = self._prepared_before(rung, state.review.starts_at)
        note = f"{reason}; on the agenda of {fmt_ist(state.review.starts_at)}"
        if prepared_at is not None:
            note += f", prepared at the {prepared_at[0].code} of {fmt_ist(prepared_at[1])}"
        await self.journal.record(f"escalated_to_{rung.forum.session_kind}", actor=actor, note=note)
        # The two-date text names Sidhi Baat and the weekly review: another ladder's prepared
        # forum is told by the one-forum text (its forum and date).
        if prepared_at is not None and rung.forum.session_kind == SessionKind.SIDHI_BAAT:
            self.outbox.owe(
                SmsTemplate.ESCALATED_SIDHI_BAAT,
                RecipientKind.CITIZEN,
                {"date": fmt_ist(state.review.starts_at), "prep": fmt_ist(prepared_at[1])},
            )
            return
        self.tell_agenda(str(rung.forum.session_kind))

    def tell_agenda(self, forum: str) -> None:
        """The citizen told the case's forum and its sitting's date."""
        assert self.state.review
        self.outbox.owe(
            SmsTemplate.ESCALATED,
            RecipientKind.CITIZEN,
            {"forum": forum, "date": fmt_ist(self.state.review.starts_at)},
        )

    async def roll_over(self, actor: str = "timer") -> None:
        """Undecided at its session: on to the next one, never dropped. `actor`: the reviewer
        who closed the session, or the timer."""
        state = self.state
        assert state.review
        previous = state.review
        state.rollovers += 1
        rung = rules.rung_of(state, self.ladder)
        if rules.rung_exhausted(rung, state.rollovers):
            await self.climb(
                reason=f"undecided at {state.rollovers} sessions of the {rung.code}", actor=actor
            )
            return
        self._sit(rung)
        assert state.review
        await self.journal.record(
            "review_rolled_over",
            actor=actor,
            note=f"undecided at {previous.session_id}; now {state.review.session_id}",
        )
        self.tell_agenda(str(previous.kind))

    def _district(self) -> str:
        """The case's district now (a transfer to another district's officer moves it)."""
        officer = self.state.officer
        return officer.district if officer and officer.district else self.filed_in

    def _sit(self, rung: Rung) -> None:
        """On the agenda of the next sitting of `rung`'s forum."""
        state = self.state
        assert rung.forum
        state.review = rules.rung_slot(rung, workflow.now(), self._district(), self.calendar)
        state.status = rung.status
        state.next_deadline = rules.review_deadline(state.review, rung.forum.rollover_after)

    def _prepared_before(self, rung: Rung, starts_at: datetime) -> tuple[Rung, datetime] | None:
        """The lower forum's sitting that prepares a case bound for `rung`'s at `starts_at`,
        if the forum is prepared at one and a sitting falls before it."""
        assert rung.forum
        if rung.forum.prepared_at is None:
            return None
        lower = self.ladder.rung(rung.forum.prepared_at)
        slot = rules.rung_slot(lower, workflow.now(), self._district(), self.calendar)
        return (lower, slot.starts_at) if slot.starts_at < starts_at else None
