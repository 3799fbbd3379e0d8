"""The escalation ladders as data (`schemas/escalation.py`): every rung walked, its labels and
calendar rule checked; identity apart from rank; the workflow's escalation derived from it."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from pydantic import ValidationError

from activities.templates import NAME_BY_CONTEXT
from core.calendar import IST, Holiday, SessionKind
from schemas.enums import ComplaintStatus, EscalationLevel
from schemas.escalation import (
    DISTRICT_COLLECTOR,
    JHARKHAND,
    LADDERS,
    Ladder,
    next_sitting,
)
from schemas.policy import Policy
from workflows import rules

AFTER = datetime(2027, 1, 4, 9, 0, tzinfo=IST)  # Monday
REPUBLIC_DAY = Policy(holidays=(Holiday(day=datetime(2027, 1, 26).date(), name="R"),))


def walk(ladder: Ladder) -> list[str]:
    """The codes a case passes through, escalating from the first rung to the top."""
    code = ladder.rungs[0].code
    seen = [code]
    while ladder.rung(code).next != code:
        code = ladder.rung(code).next
        seen.append(code)
    return seen


def test_the_seed_ladder_and_the_district_collector_ladder_walk_their_rungs() -> None:
    assert walk(JHARKHAND) == ["nodal_officer", "weekly_review", "sidhi_baat"]
    assert walk(DISTRICT_COLLECTOR) == ["nodal_officer", "dc_review", "weekly_review", "sidhi_baat"]


@pytest.mark.parametrize("ladder", LADDERS.values(), ids=list(LADDERS))
def test_every_rung_has_labels_and_every_forum_a_calendar_rule(ladder: Ladder) -> None:
    for rung in ladder.rungs:
        assert rung.labels["en"].strip() and rung.labels["hi"].strip()
        if rung.forum is None:
            continue
        start = next_sitting(rung.forum, AFTER)
        assert start > AFTER and start.weekday() == rung.forum.weekday
        assert start.time() == rung.forum.session_time


def test_the_seed_ladders_forums_are_the_calendars_and_have_sms_names() -> None:
    for rung in JHARKHAND.rungs[1:]:
        assert rung.forum is not None
        kind = SessionKind(rung.forum.session_kind)
        assert ComplaintStatus(rung.status).value == kind.value
        assert f"forum|{kind.value}" in NAME_BY_CONTEXT  # the SMS forum name
        policy = Policy()
        for after in (AFTER, AFTER + timedelta(days=3), datetime(2027, 1, 20, tzinfo=IST)):
            assert (
                next_sitting(rung.forum, after)
                == rules.review_slot(kind, after, policy, None).starts_at
            )
        # Moved off Republic Day alike.
        calendar = REPUBLIC_DAY.working_calendar()
        january = datetime(2027, 1, 20, 9, 0, tzinfo=IST)
        assert (
            next_sitting(rung.forum, january, calendar=calendar)
            == rules.review_slot(kind, january, REPUBLIC_DAY, calendar).starts_at
        )


def test_inserting_a_rung_changes_no_code_and_no_stored_level() -> None:
    for rung in JHARKHAND.rungs:
        other = DISTRICT_COLLECTOR.rung(rung.code)
        assert other.level == rung.level and other.status == rung.status
    dc = DISTRICT_COLLECTOR.rung("dc_review")
    assert JHARKHAND.rung("nodal_officer").rank < dc.rank < JHARKHAND.rung("weekly_review").rank
    assert dc.level not in {level.value for level in EscalationLevel}


def test_the_district_collector_sits_on_each_districts_own_weekday() -> None:
    dc = DISTRICT_COLLECTOR.rung("dc_review").forum
    assert dc is not None
    assert next_sitting(dc, AFTER) == datetime(2027, 1, 8, 11, 0, tzinfo=IST)  # Friday
    ranchi_on_wednesday = dc.model_copy(update={"weekday_by_district": {"Ranchi": 2}})
    assert next_sitting(ranchi_on_wednesday, AFTER, district="Ranchi") == datetime(
        2027, 1, 6, 11, 0, tzinfo=IST
    )
    assert next_sitting(ranchi_on_wednesday, AFTER, district="Dumka").weekday() == 4


def test_the_workflows_escalation_is_the_seed_ladders_next_rung() -> None:
    assert rules.escalation_target(EscalationLevel.NODAL_OFFICER) == (
        EscalationLevel.WEEKLY_REVIEW,
        SessionKind.WEEKLY_REVIEW,
    )
    assert rules.escalation_target(EscalationLevel.WEEKLY_REVIEW)[1] is SessionKind.SIDHI_BAAT
    assert rules.escalation_target(EscalationLevel.SIDHI_BAAT)[1] is SessionKind.SIDHI_BAAT


def test_a_malformed_ladder_is_refused_naming_the_rung() -> None:
    rungs = list(JHARKHAND.rungs)
    unbounded = rungs[1].model_copy(
        update={"forum": rungs[1].forum.model_copy(update={"max_rollovers": None})}  # type: ignore[union-attr]
    )
    with pytest.raises(ValidationError, match="weekly_review: needs a rollover bound"):
        Ladder(name="x", rungs=(rungs[0], unbounded, rungs[2]))
    backwards = rungs[2].model_copy(update={"next": "weekly_review"})
    with pytest.raises(ValidationError, match="sidhi_baat: escalation must go up"):
        Ladder(name="x", rungs=(rungs[0], rungs[1], backwards))
    nameless = rungs[1].model_copy(update={"labels": {"en": "Weekly review"}})
    with pytest.raises(ValidationError, match="weekly_review: needs labels in en and hi"):
        Ladder(name="x", rungs=(rungs[0], nameless, rungs[2]))
    with pytest.raises(ValidationError, match="next rung 'dc_review' is not on the ladder"):
        Ladder(name="x", rungs=(DISTRICT_COLLECTOR.rungs[0], rungs[1], rungs[2]))
