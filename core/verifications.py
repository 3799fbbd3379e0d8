"""The read model of verifications (`core.models.Verification`): written beside the timeline
entry that records a verification, marked by a person's check of a machine "solved", and
counted by channel and period for the dashboard and `GET /v1/voice/verification`.

Every figure is one grouped query on `ix_verification_period` (time, channel, result), joined
to the case only for the reader's scope and the district / department filters."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from core.models import Complaint, Verification
from schemas.enums import ClosureReason
from schemas.voice import (
    ChannelFigures,
    VerificationByChannel,
    VerificationChannel,
    VerificationResult,
    rate,
    verification_channel,
)
from schemas.workflow import RecordTransitionInput


def verification_of(complaint_id: int, entry: RecordTransitionInput) -> Verification | None:
    """The verification a timeline entry records, if it records one: a closure verified with
    the citizen (satisfied), or "citizen not satisfied"."""
    if entry.event == "citizen_not_satisfied":
        result = VerificationResult.NOT_SATISFIED
    elif (
        entry.event == "closed" and entry.snapshot.closure_reason is ClosureReason.RESOLVED_VERIFIED
    ):
        result = VerificationResult.SATISFIED
    else:
        return None
    return Verification(
        complaint_id=complaint_id,
        seq=entry.seq,
        verified_at=entry.at,
        channel=verification_channel(entry.actor, entry.channel).value,
        result=result.value,
    )


def record_check(session: Session, complaint_id: int, *, agrees: bool, now: datetime) -> None:
    """A person's check of the case's latest machine "solved" (in the caller's transaction)."""
    latest = session.exec(
        select(sa.func.max(Verification.seq)).where(
            Verification.complaint_id == complaint_id,
            Verification.channel == VerificationChannel.IVR.value,
            Verification.result == VerificationResult.SATISFIED.value,
        )
    ).one()
    if latest is None:
        return
    session.execute(
        sa.update(Verification)
        .where(col(Verification.complaint_id) == complaint_id, col(Verification.seq) == latest)
        .values(checked_at=now, check_disagreed=not agrees)
    )


def _count(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def by_channel(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    where: list[ColumnElement[bool]] | None = None,
) -> VerificationByChannel:
    """Verifications recorded in [`since`, `until`) by channel, over the cases `where` admits
    (conditions on `Complaint`: the reader's scope, a district...): one grouped query."""
    conditions: list[ColumnElement[bool]] = []
    if since is not None:
        conditions.append(col(Verification.verified_at) >= since)
    if until is not None:
        conditions.append(col(Verification.verified_at) < until)
    query = sa.select(
        col(Verification.channel),
        sa.func.count(),
        _count(col(Verification.result) == VerificationResult.SATISFIED.value),
        _count(col(Verification.checked_at).is_not(None)),
        _count(col(Verification.check_disagreed).is_(True)),
    ).where(*conditions)
    if where:
        query = query.join(Complaint, col(Complaint.id) == col(Verification.complaint_id)).where(
            *where
        )
    rows = session.execute(query.group_by(col(Verification.channel))).all()
    found = {str(channel): [int(cast(int, n)) for n in numbers] for channel, *numbers in rows}
    channels = []
    for channel in VerificationChannel:
        verified, satisfied, checked, disagreed = found.get(channel.value, [0, 0, 0, 0])
        if not verified and channel not in (
            VerificationChannel.IVR,
            VerificationChannel.TELECALLER,
        ):
            continue  # a channel with nothing in the period is left out (the two main stay)
        channels.append(
            ChannelFigures(
                channel=channel,
                verified=verified,
                satisfied=satisfied,
                not_satisfied=verified - satisfied,
                checked=checked,
                disagreed=disagreed,
                disagreement_rate=rate(disagreed, checked),
            )
        )
    machine = next(c for c in channels if c.channel is VerificationChannel.IVR)
    checked = sum(c.checked for c in channels)
    disagreed = sum(c.disagreed for c in channels)
    return VerificationByChannel(
        since=since,
        until=until,
        channels=channels,
        by_ivr=machine.verified,
        by_telecaller=sum(c.verified for c in channels) - machine.verified,
        checked=checked,
        disagreed=disagreed,
        disagreement_rate=rate(disagreed, checked),
    )
