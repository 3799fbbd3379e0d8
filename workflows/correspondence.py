"""What passes between a case and the people around it besides its stages: the officer's
interim reply, the citizen's rating of a closure (and the appeal it may carry), a repeat
contact, a file added or removed, an SMS's delivery receipt. Workflow code, for
`ComplaintWorkflow` only, run under the case's lock; the checks are the pure rules'
(`workflows.rules`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.attachments import AttachmentEvent
    from schemas.calendar import fmt_ist, fmt_ist_date
    from schemas.enums import ComplaintKind, ComplaintStatus, RecipientKind
    from schemas.policy import Policy
    from schemas.refusals import CaseRejected
    from schemas.workflow import (
        ClosureRating,
        ComplaintState,
        DeliveryReceipt,
        InterimReply,
        RepeatContact,
        SmsTemplate,
    )
    from workflows import rules
    from workflows.journal import Journal
    from workflows.outbox import Outbox


@dataclass(frozen=True)
class Correspondence:
    """Each method records its event, queues the SMS it owes and answers in words (the
    update's message); `check_*` are the updates' validators. `climb` sends the case one rung
    up its ladder (`Escalation.climb`)."""

    state: ComplaintState
    policy: Policy
    kind: ComplaintKind
    journal: Journal
    outbox: Outbox
    climb: Callable[..., Awaitable[None]]

    # ---- the officer's interim reply ------------------------------------------------------

    def check_interim(self, reply: InterimReply) -> None:
        rules.refuse(rules.status_refusal(self.state.status, ComplaintStatus.AWAITING_REPORT))
        refused = rules.interim_refusal(
            reason=reply.reason,
            text=reply.text,
            expected_by=reply.expected_by,
            now=workflow.now(),
            allowed=self.policy.interim_reasons,
        )
        rules.refuse(refused)

    async def interim(self, reply: InterimReply) -> str:
        """The officer, running late, tells the citizen why and by when. The case's deadline
        stays where it is (the citizen's clock still escalates it); an expected date past it
        is an extension request, on the next review's agenda, never the officer's own grant."""
        state = self.state
        state.interim_replies += 1
        state.interim_reason = reply.reason
        state.interim_expected_by = reply.expected_by
        extension = rules.extension_request(reply.expected_by, state.next_deadline)
        state.extension_requested_until = extension
        expected = fmt_ist_date(reply.expected_by)
        note = f"{reply.reason}: {reply.text}; expected by {expected}"
        if extension is not None:
            note += f"; extension past {fmt_ist(state.next_deadline)} asked of the review"
        await self.journal.record("interim_reply", actor=reply.submitted_by, note=note)
        self.outbox.owe(
            SmsTemplate.INTERIM_REPLY,
            RecipientKind.CITIZEN,
            {"reason": reply.reason, "date": fmt_ist(reply.expected_by)},
        )
        if extension is not None:
            return (
                f"interim reply sent; the deadline stays {fmt_ist(state.next_deadline)}: "
                f"the extension to {expected} is for the next review to decide"
            )
        return f"interim reply sent; expected by {expected}"

    # ---- the citizen's rating of a closure, and the appeal ---------------------------------

    def check_rating(self, rating: ClosureRating) -> None:
        state = self.state
        rules.refuse(rules.status_refusal(state.status, ComplaintStatus.CLOSED))
        appeal = rules.appeal_asked(rating.score, rating.appeal)
        if appeal and self.kind is ComplaintKind.SUGGESTION:
            raise CaseRejected("no_appeal_for_suggestion")
        refused = rules.rating_refusal(
            closed_at=state.closed_at,
            now=workflow.now(),
            window=self.policy.appeal_window,
            appeal=appeal,
            closures=state.closures,
            appealed_closure=state.appealed_closure,
        )
        rules.refuse(refused)

    async def rate(self, rating: ClosureRating) -> str:
        """The latest closure rated 1-5 (changeable within the appeal window). A 1 or 2, or an
        explicit appeal, appeals it: the case goes one rung up its own ladder (a forum, not
        back to the same officer) with that forum's deadline, and the citizen is told; one
        appeal per closure."""
        state = self.state
        changed = state.rating is not None
        state.rating = rating.score
        state.rated_via = rating.via.value
        staff = rating.recorded_by != "citizen"
        note = f"{rating.score}/5 ({rating.via.value}){'; changed' if changed else ''}"
        if rating.remark:
            note += f": {rating.remark}"
        actor = rating.recorded_by if staff else f"citizen ({rating.via.value})"
        record = self.journal.record
        await record(
            "closure_rated", actor=actor, note=note, channel=rating.via.value, for_citizen=staff
        )
        if not rules.appeal_asked(rating.score, rating.appeal):
            return f"rating {rating.score}/5 recorded"
        state.appeals += 1
        state.appealed_closure = state.closures
        state.citizen_unsatisfied = True
        state.citizen_remark = rating.remark or f"appeal: closure rated {rating.score}/5"
        await record(
            "appealed", actor=actor, note=note, channel=rating.via.value, for_citizen=staff
        )
        # No await between reopening and escalating: the case is never "closed" without a
        # closure moment, nor open without a forum, when the run loop looks at it.
        state.closure_reason = None
        state.closed_at = None
        await self.climb(reason=f"appeal: closure rated {rating.score}/5", actor=actor)
        assert state.review
        return f"appeal recorded: on the agenda of {fmt_ist(state.review.starts_at)}"

    # ---- contacts, files and receipts -----------------------------------------------------

    async def repeat_contact(self, contact: RepeatContact) -> str:
        """The citizen called again about this open case: the call is linked here (timeline,
        repeat count) and the citizen told this case's number again, instead of a second case
        and a second workflow."""
        self.state.repeat_contacts += 1
        await self.journal.record(
            "repeat_contact",
            actor=contact.recorded_by,
            note=contact.note,
            channel=contact.via,
            for_citizen=contact.recorded_by != "citizen",
        )
        self.outbox.owe(SmsTemplate.REPEAT_CONTACT, RecipientKind.CITIZEN, {})
        return f"repeat contact {self.state.repeat_contacts} recorded"

    async def receipt(self, receipt: DeliveryReceipt) -> None:
        """An SMS's final delivery status, into the timeline (the read model's message row is
        already updated by the webhook; only receipts that changed it are signalled)."""
        await self.journal.record(
            f"sms_{receipt.status.value}",
            actor="sms",
            note=f"{receipt.template} to {receipt.recipient.value}"
            + (f": {receipt.error}" if receipt.error else ""),
        )

    async def attachment(self, event: AttachmentEvent) -> None:
        """A file of the case added, made public or private, removed, or an Open311
        media_url fetched or refused: into the timeline by reference (never its name or
        bytes). Signalled by the API (api/attachment_events.py) and MediaFetchWorkflow."""
        await self.journal.record(event.event.value, actor=event.by, note=event.note)
