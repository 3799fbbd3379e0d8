"""Who a session's notices go to, read page by page from the agenda's rows on SQLite and on
PostgreSQL: the meeting's officers (each once, with their districts and case count), and a
bulk directive's officers (each once for all their cases of it, with the earliest deadline);
none for a closure or for a bulk whose cases told their officers themselves."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy.engine import Engine
from sqlmodel import Session

from activities.review import ReviewActivities
from core.models import ReviewBulk, ReviewItem, ReviewSession
from core.settings import Settings
from schemas.review import BulkNoticePageInput, NoticePageInput

SID = "weekly-review-2026-12-15"
DUE = datetime(2026, 12, 18, 11, 30, tzinfo=UTC)
# (number, district, nodal officer, bulk, outcome, officer who must act, deadline)
ROWS = [
    ("1/2026", "Ranchi", "nodal-ranchi", "b1", "directive", "nodal-ranchi", DUE + timedelta(1)),
    ("2/2026", "Ranchi", "nodal-ranchi", "b1", "directive", "nodal-ranchi", DUE),
    ("3/2026", "Khunti", "nodal-ranchi", "b1", "directive", "nodal-ranchi", DUE + timedelta(2)),
    ("4/2026", "Dhanbad", "nodal-dhanbad", "b1", "directive", "nodal-dhanbad", DUE),
    ("5/2026", "Dhanbad", "nodal-dhanbad", "b1", "pending", None, None),  # refused by its case
    ("6/2026", "Dumka", "nodal-dumka", "b2", "closed", None, None),
    ("7/2026", "Dumka", "nodal-dumka", None, "pending", None, None),
]


def _seed(engine: Engine) -> ReviewActivities:
    now = datetime.now(UTC)
    with Session(engine) as db:
        db.add(
            ReviewSession(
                session_id=SID,
                kind="weekly_review",
                starts_at=now,
                cutoff_at=now,
                workflow_id=SID,
                phase="agenda_frozen",
                created_at=now,
                updated_at=now,
            )
        )
        db.flush()
        for bulk_id, decision, tells in (("b1", "directive", True), ("b2", "close", False)):
            db.add(
                ReviewBulk(
                    bulk_id=bulk_id,
                    session_id=SID,
                    decision=decision,
                    text="act",
                    decided_by="cm-secretary",
                    selection=json.dumps({}),
                    decided_at=now,
                    tells_officers=tells,
                )
            )
        for i, (number, district, nodal, bulk, outcome, officer, due) in enumerate(ROWS):
            db.add(
                ReviewItem(
                    session_id=SID,
                    registration_number=number,
                    district=district,
                    position=i,
                    item="{}",
                    nodal_officer_id=nodal,
                    bulk_id=bulk,
                    outcome=outcome,
                    responsible_officer_id=officer,
                    new_deadline=due,
                )
            )
        db.commit()
    return ReviewActivities(engine, cast(Any, None), cast(Any, None), Settings(_env_file=None))


def test_the_meetings_officers_page_by_page(any_engine: Engine) -> None:
    review = _seed(any_engine)
    pages, after = [], ""
    while True:
        page = review.notice_recipients(
            NoticePageInput(session_id=SID, citizens=False, after=after, limit=2)
        ).recipients
        pages.append([(r.key, r.districts, r.case_count) for r in page])
        if len(page) < 2:
            break
        after = page[-1].key
    assert pages == [
        [("nodal-dhanbad", ["Dhanbad"], 2), ("nodal-dumka", ["Dumka"], 2)],
        [("nodal-ranchi", ["Khunti", "Ranchi"], 3)],
    ]


def test_a_bulk_directives_officers_each_once_with_the_earliest_deadline(
    any_engine: Engine,
) -> None:
    review = _seed(any_engine)
    first = review.bulk_notice_recipients(
        BulkNoticePageInput(session_id=SID, bulk_id="b1", limit=1)
    ).recipients
    rest = review.bulk_notice_recipients(
        BulkNoticePageInput(session_id=SID, bulk_id="b1", after=first[-1].key, limit=5)
    ).recipients
    found = [(r.key, r.districts, r.case_count, r.due) for r in (*first, *rest)]
    assert found == [
        ("nodal-dhanbad", ["Dhanbad"], 1, DUE),  # the case that refused is not counted
        ("nodal-ranchi", ["Khunti", "Ranchi"], 3, DUE),
    ]
    # A closure tells no officer; nor does a bulk whose cases told theirs (or an unknown one).
    for bulk_id in ("b2", "unknown"):
        page = BulkNoticePageInput(session_id=SID, bulk_id=bulk_id, limit=5)
        assert review.bulk_notice_recipients(page).recipients == []
