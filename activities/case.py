"""Activities that read the directory and project a case's transitions into the read model.

All are idempotent: a retried `record_transition` finds its timeline row by (complaint, seq)
and never lets an older snapshot overwrite a newer one.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from core.db import read_session
from core.models import Complaint, Message, Officer, TimelineEvent, utcnow
from core.readmodel import active_officer
from core.verifications import verification_of
from schemas.enums import ClosureReason, ComplaintStatus, MessageStatus, OfficerRole
from schemas.workflow import MarkUnsentInput, OfficerAssignment, RecordTransitionInput, RouteInput

# The error of a message whose round of attempts ended without the gateway accepting it (a
# gateway outage, not a refusal): the one kind of failed message a redelivery round may send.
UNSENT = "not handed to the gateway"


def _assignment(officer: Officer, gap: str | None = None) -> OfficerAssignment:
    return OfficerAssignment(
        officer_id=officer.id,
        name=officer.name,
        designation=officer.designation,
        role=officer.role,
        district=officer.district,
        department=officer.department,
        gap=gap,
    )


def find_complaint(session: Session, registration_number: str) -> Complaint:
    complaint = session.exec(
        select(Complaint).where(Complaint.registration_number == registration_number)
    ).first()
    if complaint is None:
        # The API writes the row before starting the workflow; this is a bug, not a blip.
        raise ApplicationError(
            f"complaint {registration_number} is not in the read model", non_retryable=True
        )
    return complaint


def _is_report(before: str, after: str, reason: ClosureReason | None) -> bool:
    """Whether a step is the department's report: a complaint awaiting it goes on to its
    verification call, a suggestion is answered (closed)."""
    if before != ComplaintStatus.AWAITING_REPORT:
        return False
    return after == ComplaintStatus.AWAITING_CALLBACK or (
        after == ComplaintStatus.CLOSED and reason is ClosureReason.SUGGESTION_ANSWERED
    )


class CaseActivities:
    """Directory look-ups and read-model projection, sharing one database engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn
    def route_complaint(self, input: RouteInput) -> OfficerAssignment:
        """The officer a case goes to: urgent desk, department nodal, district nodal, or the
        state-level fallback — never nobody (the gap is reported in the assignment)."""
        with read_session(self._engine) as session:
            if input.urgent and input.department:
                desk = active_officer(
                    session, OfficerRole.URGENT_DESK, district=None, department=input.department
                )
                if desk:
                    return _assignment(desk)
            if input.department:
                nodal = active_officer(
                    session, OfficerRole.NODAL, district=None, department=input.department
                )
                if nodal:
                    return _assignment(nodal)
            nodal = active_officer(
                session, OfficerRole.NODAL, district=input.district, department=None
            )
            if nodal:
                return _assignment(nodal)
            missing = f"department {input.department}" if input.department else ""
            missing = f"{missing + ' / ' if missing else ''}district {input.district}"
            gap = f"no nodal officer on record for {missing}: sent to the state fallback officer"
            activity.logger.warning("%s: %s", input.registration_number, gap)
            fallback = active_officer(
                session, OfficerRole.STATE_FALLBACK, district=None, department=None
            )
            if fallback:
                return _assignment(fallback, gap)
            return OfficerAssignment(
                officer_id="unassigned",
                name="Unassigned (directory has no fallback officer)",
                designation="-",
                role=OfficerRole.STATE_FALLBACK,
                gap=gap + " — and no fallback officer either; the deadline still runs",
            )

    @activity.defn
    def find_officer(self, officer_id: str) -> OfficerAssignment:
        """An officer named by a review directive."""
        with read_session(self._engine) as session:
            officer = session.get(Officer, officer_id)
            if officer is None:
                raise ApplicationError(f"unknown officer {officer_id!r}", non_retryable=True)
            return _assignment(officer)

    @activity.defn
    def mark_unsent(self, input: MarkUnsentInput) -> None:
        """Mark a message that a round of attempts could not hand to the gateway as failed
        (so its citizen shows on the "not reachable by SMS" list); a later redelivery round
        may still send it (`deliver_once(..., redelivery=True)`). A message already past
        `pending` is left as it is; a message never written (the read model was down while
        composing) has no row to mark."""
        with Session(self._engine) as session:
            message = session.exec(select(Message).where(Message.key == input.key)).first()
            if message is None or message.status is not MessageStatus.PENDING:
                return
            message.status = MessageStatus.FAILED
            message.error = f"{UNSENT}: {input.reason}"
            message.updated_at = utcnow()
            session.add(message)
            session.commit()

    @activity.defn
    def record_transition(self, input: RecordTransitionInput) -> None:
        """Append the timeline entry and apply the snapshot, once, in one transaction."""
        with Session(self._engine) as session:
            complaint = find_complaint(session, input.registration_number)
            assert complaint.id is not None
            exists = session.exec(
                select(TimelineEvent.id).where(
                    TimelineEvent.complaint_id == complaint.id, TimelineEvent.seq == input.seq
                )
            ).first()
            if exists is None:
                if input.event == "reopened":
                    complaint.reopens += 1
                session.add(
                    TimelineEvent(
                        complaint_id=complaint.id,
                        seq=input.seq,
                        at=input.at,
                        event=input.event,
                        actor=input.actor,
                        channel=input.channel,
                        for_citizen=input.for_citizen,
                        note=input.note,
                    )
                )
                verified = verification_of(complaint.id, input)
                if verified is not None:  # the dashboard's verification by channel
                    session.add(verified)
            if input.seq > complaint.state_version:
                snap = input.snapshot
                if _is_report(complaint.status, snap.status, snap.closure_reason):
                    # The deadline the report answers: the one in force until this step.
                    complaint.reported_at = input.at
                    complaint.report_due_at = complaint.next_deadline
                complaint.status = snap.status
                complaint.escalation_level = int(snap.escalation_level)
                complaint.next_deadline = snap.next_deadline
                if snap.officer:
                    complaint.assigned_officer_id = snap.officer.officer_id
                    complaint.assigned_officer_name = snap.officer.name
                    complaint.assigned_officer_designation = snap.officer.designation
                    # A transfer moves the case to another district or department; the
                    # citizen's own district stays in `citizen_district`.
                    if snap.officer.department:
                        complaint.department = snap.officer.department
                    if snap.officer.district and input.follow_district:
                        complaint.district = snap.officer.district
                complaint.review_kind = str(snap.review.kind) if snap.review else None
                complaint.review_session_id = snap.review.session_id if snap.review else None
                complaint.review_date = snap.review.starts_at if snap.review else None
                complaint.closure_reason = snap.closure_reason
                complaint.closed_at = snap.closed_at
                complaint.last_reply = snap.last_reply
                complaint.citizen_remark = snap.citizen_remark
                complaint.callback_due_at = snap.callback_due_at
                complaint.callback_attempts = snap.callback_attempts
                if snap.undecided_times is not None:
                    complaint.undecided_times = snap.undecided_times
                if snap.repeat_contacts is not None:
                    complaint.repeat_contacts = snap.repeat_contacts
                if snap.interim_replies is not None:
                    complaint.interim_replies = snap.interim_replies
                    complaint.interim_reason = snap.interim_reason
                    complaint.interim_expected_by = snap.interim_expected_by
                    complaint.extension_requested_until = snap.extension_requested_until
                    complaint.report_reason = snap.report_reason
                if snap.appeals is not None:
                    complaint.rating = snap.rating
                    complaint.appeals = snap.appeals
                complaint.state_version = input.seq
                complaint.updated_at = utcnow()
                session.add(complaint)
            try:
                session.commit()
            except IntegrityError:
                # A concurrent retry of this very activity won the race: its write is ours.
                session.rollback()
