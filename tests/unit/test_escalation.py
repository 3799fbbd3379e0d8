"""The escalation ladders as data (`schemas/escalation.py`): every rung walked, its labels and
calendar rule checked; identity apart from rank; the workflow's escalation derived from it."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from activities.sms import sms_params
from activities.templates import segments, template_for
from core.ladder import LadderFileError, configured_ladder
from core.settings import Settings
from schemas.calendar import IST, Holiday, SessionKind, next_session
from schemas.enums import CLOSED_STATUSES, is_open
from schemas.escalation import (
    DISTRICT_COLLECTOR,
    JHARKHAND,
    LADDERS,
    REVIEW_STATUSES,
    SESSION_ID_MAX,
    Ladder,
    next_sitting,
    parse_session_id,
    session_id,
)
from schemas.i18n import available_languages
from schemas.policy import Policy
from schemas.reference import DISTRICTS, DLT_VARIABLE_MAX
from schemas.tracking import STATUS_LABELS, status_label
from tests.paths import ROOT
from workflows import rules

# Every language shipped with catalogues (English is the source).
LANGUAGES = ("en", *available_languages("names"))

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
        assert all(rung.label(language).strip() for language in LANGUAGES)
        if rung.forum is None:
            continue
        start = next_sitting(rung.forum, AFTER)
        assert start > AFTER and start.weekday() == rung.forum.weekday
        assert start.time() == rung.forum.session_time


@pytest.mark.parametrize("ladder", LADDERS.values(), ids=list(LADDERS))
def test_every_rung_has_its_names_templates_and_session_ids(ladder: Ladder) -> None:
    """A forgotten name or template fails here, not as an SMS retried 50 times."""
    for rung in ladder.rungs:
        assert STATUS_LABELS[rung.status] == rung.status_labels["en"]
        for language in LANGUAGES:
            # Named in every language: in Hindi from the names catalogue, not English.
            names = (rung.label(language), rung.sms_name(language))
            status = status_label(rung.status, language)
            assert all(n.strip() for n in (*names, status))
            if language != "en":
                assert rung.label(language) != rung.labels["en"], (rung.code, language)
                assert rung.sms_name(language) != rung.sms_names["en"], (rung.code, language)
                assert status != rung.status_labels["en"], (rung.code, language)
            assert 0 < len(rung.sms_name(language)) <= DLT_VARIABLE_MAX
        if rung.forum is None:
            continue
        kind = rung.forum.session_kind
        assert str(rung.status) == str(kind) and rung.status in REVIEW_STATUSES
        assert is_open(rung.status)
        for language in LANGUAGES:
            # The escalation SMS names the forum, within two segments, in every language.
            params = sms_params(
                {"forum": str(kind), "date": "08-01-2027 11:00"}, language, with_time=False
            )
            assert params["forum"] == rung.sms_name(language)
            for case_kind in ("complaint", "suggestion"):
                text = template_for("escalated", case_kind).render(
                    language, {**params, "reg": "99999/2026", "helpline": "1800-345-6570"}
                )
                assert rung.sms_name(language) in text and segments(text) <= 2
        # Every district's session id fits the read model and parses back.
        for district in DISTRICTS if rung.forum.per_district else (None,):
            start = next_sitting(rung.forum, AFTER, district=district)
            sid = session_id(kind, start, district)
            assert len(sid) <= SESSION_ID_MAX
            assert parse_session_id(sid) == (kind, start.date(), district)


def test_the_seed_ladders_forums_are_the_calendars() -> None:
    for rung in JHARKHAND.rungs[1:]:
        assert rung.forum is not None
        kind = SessionKind(rung.forum.session_kind)
        policy = Policy()
        at = (
            policy.weekly_review_time
            if kind is SessionKind.WEEKLY_REVIEW
            else policy.sidhi_baat_time
        )
        cutoff = policy.agenda_cutoff_before
        for after in (AFTER, AFTER + timedelta(days=3), datetime(2027, 1, 20, tzinfo=IST)):
            start = next_session(kind, after, at=at, cutoff_before=cutoff)
            slot = rules.rung_slot(rung, after, "Ranchi", None)
            assert (slot.session_id, slot.starts_at) == (session_id(kind, start), start)
        # Moved off Republic Day alike.
        calendar = REPUBLIC_DAY.working_calendar()
        january = datetime(2027, 1, 20, 9, 0, tzinfo=IST)
        assert next_sitting(rung.forum, january, calendar=calendar) == next_session(
            kind, january, at=at, cutoff_before=cutoff, calendar=calendar
        )


def test_the_seed_ladder_of_a_case_from_before_ladders_takes_the_policys_settings() -> None:
    policy = Policy(weekly_review_time=time(15, 0), max_weekly_rollovers=2)
    ladder = rules.case_ladder(None, policy)
    weekly = ladder.rung("weekly_review").forum
    assert weekly is not None and weekly.session_time == time(15, 0)
    assert weekly.max_rollovers == 2
    assert rules.case_ladder(DISTRICT_COLLECTOR, policy) is DISTRICT_COLLECTOR


def test_session_ids_are_built_and_parsed_in_one_place() -> None:
    start = datetime(2027, 1, 8, 11, 0, tzinfo=IST)
    assert session_id("weekly_review", start) == "weekly-review-2027-01-08"
    assert session_id("dc_review", start, "Seraikela Kharsawan") == (
        "dc-review-2027-01-08-seraikela-kharsawan"
    )
    assert parse_session_id("sidhi-baat-2027-01-27") == (
        SessionKind.SIDHI_BAAT,
        date(2027, 1, 27),
        None,
    )
    for bad in ("weekly-review", "review-2027-01-08", "dc-review-2027-01-08-atlantis"):
        with pytest.raises(ValueError):
            parse_session_id(bad)


def test_the_open_cases_index_names_the_closing_statuses_not_a_ladders() -> None:
    versions = ROOT / "migrations" / "versions"
    path = next(versions.glob("*_0020_*.py"))
    predicate = path.read_text().split("OPEN_BEFORE")[0].split("\nOPEN = ")[1]
    assert "NOT IN" in predicate
    assert re.findall(r"'([a-z_]+)'", predicate) == [s.value for s in CLOSED_STATUSES]


def test_inserting_a_rung_changes_no_code_and_no_stored_level() -> None:
    for rung in JHARKHAND.rungs:
        other = DISTRICT_COLLECTOR.rung(rung.code)
        assert other.level == rung.level and other.status == rung.status
    dc = DISTRICT_COLLECTOR.rung("dc_review")
    assert JHARKHAND.rung("nodal_officer").rank < dc.rank < JHARKHAND.rung("weekly_review").rank
    # A value of its own, after the seed's (0-2 keep their meaning on every ladder).
    assert dc.level not in {rung.level for rung in JHARKHAND.rungs}


def test_the_district_collector_sits_on_each_districts_own_weekday() -> None:
    dc = DISTRICT_COLLECTOR.rung("dc_review").forum
    assert dc is not None
    assert next_sitting(dc, AFTER) == datetime(2027, 1, 8, 11, 0, tzinfo=IST)  # Friday
    ranchi_on_wednesday = dc.model_copy(update={"weekday_by_district": {"Ranchi": 2}})
    assert next_sitting(ranchi_on_wednesday, AFTER, district="Ranchi") == datetime(
        2027, 1, 6, 11, 0, tzinfo=IST
    )
    assert next_sitting(ranchi_on_wednesday, AFTER, district="Dumka").weekday() == 4


def test_a_ladder_file_is_validated_naming_the_field(tmp_path: Path) -> None:
    good = tmp_path / "ladder.json"
    good.write_text(DISTRICT_COLLECTOR.model_dump_json(), encoding="utf-8")
    settings = Settings(ladder_file=good, district_review_days="Ranchi:wednesday")
    ladder = configured_ladder(settings, Policy())
    forum = ladder.rung("dc_review").forum
    assert forum is not None and forum.weekday_for("Ranchi") == 2
    assert forum.weekday_for("Dumka") == 4
    bad = json.loads(DISTRICT_COLLECTOR.model_dump_json())
    bad["rungs"][1]["forum"]["weekday"] = 9
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(LadderFileError, match=r"rungs\.1\.forum\.weekday"):
        configured_ladder(Settings(ladder_file=broken), Policy())
    with pytest.raises(ValidationError, match="LADDER must be one of"):
        Settings(ladder="madhya_pradesh")


def test_the_shipped_example_ladder_file_loads(tmp_path: Path) -> None:
    """deploy/ladders/district_collector.json, the example of a state's own ladder (docs/)."""
    example = ROOT / "deploy/ladders/district_collector.json"
    ladder = configured_ladder(Settings(_env_file=None, ladder_file=example), Policy())
    assert walk(ladder) == ["nodal_officer", "dc_review", "weekly_review", "sidhi_baat"]
    forum = ladder.rung("dc_review").forum
    assert forum is not None and forum.session_time == time(10, 30)
    assert (forum.weekday_for("Ranchi"), forum.weekday_for("Dumka")) == (2, 0)
    assert forum.weekday_for("Gumla") == 4  # every other district: Friday
    # A name an SMS cannot carry stops the start, in the language it is too long in.
    wordy = json.loads(example.read_text(encoding="utf-8"))
    wordy["name"] = "wordy"
    wordy["rungs"][1]["sms_names"]["hi"] = "उपायुक्त महोदय की साप्ताहिक जनसुनवाई बैठक"
    path = tmp_path / "wordy.json"
    path.write_text(json.dumps(wordy, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(LadderFileError, match=r"dc_review: sms_names\.hi is longer than 30"):
        configured_ladder(Settings(_env_file=None, ladder_file=path), Policy())


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
    nameless = rungs[1].model_copy(update={"sms_names": {"hi": "साप्ताहिक समीक्षा"}})
    with pytest.raises(ValidationError, match=r"weekly_review: sms_names needs its English"):
        Ladder(name="x", rungs=(rungs[0], nameless, rungs[2]))
    wordy = rungs[1].model_copy(update={"sms_names": {**rungs[1].sms_names, "hi": "अ" * 31}})
    with pytest.raises(ValidationError, match=r"sms_names\.hi is longer than 30"):
        Ladder(name="x", rungs=(rungs[0], wordy, rungs[2]))
    with pytest.raises(ValidationError, match="next rung 'dc_review' is not on the ladder"):
        Ladder(name="x", rungs=(DISTRICT_COLLECTOR.rungs[0], rungs[1], rungs[2]))
