"""Read-only and writing sessions (core/db.py): reads never queue behind writes, and a read-only
session cannot write, on SQLite and PostgreSQL; API reads use the read-only view."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from api.deps import AppState, get_session
from core.db import alembic_config, read_only, read_session, write_session
from core.models import District, Officer
from core.settings import Settings
from schemas.escalation import JHARKHAND
from schemas.policy import Policy


def test_a_read_does_not_wait_for_a_held_write_lock(engine: Engine) -> None:
    """SQLite: a writer holds the lock (BEGIN IMMEDIATE, uncommitted); a read-only session
    answers at once with the last committed state instead of waiting up to busy_timeout."""
    with write_session(engine) as writer:
        writer.add(District(name="Testpur"))
        writer.flush()  # the write lock is held from here until the rollback below
        # Were the read to need the lock, it would wait in this very thread for the writer
        # above, and fail with "database is locked" once the busy timeout ran out.
        with read_session(engine) as reader:
            names = set(reader.exec(select(District.name)).all())
        writer.rollback()
    assert "Ranchi" in names and "Testpur" not in names


def test_writers_still_take_the_lock_at_begin(engine: Engine) -> None:
    """The default (writing) session takes SQLite's write lock at its first statement, so a
    second read-then-write transaction waits (here: until its short busy timeout)."""
    with write_session(engine) as first:
        first.exec(select(District.name)).first()  # a read only, yet the lock is taken
        other = sqlite3.connect(str(engine.url.database), timeout=0.2, isolation_level=None)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        finally:
            other.close()


def test_a_read_only_session_cannot_write(any_engine: Engine) -> None:
    with read_session(any_engine) as session:
        officer = session.exec(select(Officer)).first()
        assert officer is not None
        officer.name = "changed through a read-only session"
        session.add(officer)
        with pytest.raises(DBAPIError):
            session.commit()
    with write_session(any_engine) as session:  # and the writing session still writes
        session.add(District(name="Testpur"))
        session.commit()
        assert session.get(District, "Testpur") is not None


def test_the_view_is_shared_and_pooled_connections_are_not_left_read_only(
    any_engine: Engine,
) -> None:
    assert read_only(any_engine) is read_only(any_engine)
    assert read_only(read_only(any_engine)) is read_only(any_engine)
    for round in range(3):  # the same pooled connections, alternately read-only and writing
        with read_session(any_engine) as session:
            session.exec(select(District)).first()
        with write_session(any_engine) as session:
            session.execute(sa.update(Officer).values(name=f"round {round}"))
            session.commit()
    with read_session(any_engine) as session:
        assert set(session.exec(select(Officer.name)).all()) == {"round 2"}


def test_api_reads_use_the_read_only_view(engine: Engine, settings: Settings) -> None:
    """Every `SessionDep` route reads through the view: a write through it fails."""
    app = AppState(settings=settings, engine=engine, client=None, policy=Policy(), ladder=JHARKHAND)  # type: ignore[arg-type]
    with contextmanager(get_session)(app) as session:
        session.add(District(name="Testpur"))
        with pytest.raises(DBAPIError):
            session.commit()


def test_reads_proceed_while_another_thread_holds_the_write_lock(engine: Engine) -> None:
    """Another thread's writer holds the lock until the reads are done: were reads to need
    the lock, they could never finish first (each would fail at the busy timeout)."""
    locked, reads_done = threading.Event(), threading.Event()

    def write() -> None:
        with write_session(engine) as session:
            session.merge(District(name="Testpur"))
            session.flush()
            locked.set()
            reads_done.wait(timeout=60)
            session.commit()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert locked.wait(timeout=30)
        for _ in range(20):
            with read_session(engine) as session:
                assert "Testpur" not in set(session.exec(select(District.name)).all())
    finally:
        reads_done.set()
        writer.join()
    with read_session(engine) as session:
        assert session.get(District, "Testpur") is not None


def test_migration_0006_adds_the_read_model_indexes(any_engine: Engine) -> None:
    """The listing order and the open cases by deadline are indexed (bench/readmodel.py);
    0013 extends the listing's index with the registration number's year and sequence, the
    order's tie-breakers."""
    indexes = {i["name"]: i for i in sa.inspect(any_engine).get_indexes("complaint")}
    assert indexes["ix_complaint_urgent_created"]["column_names"] == [
        "urgent",
        "created_at",
        "year",
        "sequence",
    ]
    assert indexes["ix_complaint_open_deadline"]["column_names"] == ["next_deadline"]


def test_one_head_and_no_redundant_phone_index(any_engine: Engine) -> None:
    """Migration 0007 joined the parallel revisions (one head since, the newest); the phone is
    indexed once (with the date)."""
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert heads == ["0028"]  # 0028: a bulk directive tells each officer once
    # 0028: which bulks tell their officers themselves (those before: their cases did).
    assert "tells_officers" in {
        c["name"] for c in sa.inspect(any_engine).get_columns("review_bulk")
    }
    indexes = {i["name"]: i for i in sa.inspect(any_engine).get_indexes("complaint")}
    assert "ix_complaint_citizen_phone" not in indexes
    assert indexes["ix_complaint_phone_created"]["column_names"] == ["citizen_phone", "created_at"]
    # 0008: the citizen's own district beside the case's current one.
    assert "citizen_district" in {
        c["name"] for c in sa.inspect(any_engine).get_columns("complaint")
    }
    # 0009: the office an SMS names; 0012: its translations moved to the names catalogue.
    officer_columns = {c["name"] for c in sa.inspect(any_engine).get_columns("officer")}
    assert "office" in officer_columns
    assert not {"designation_hi", "office_hi"} & officer_columns
    # 0015: the dashboard's trend reads the recently closed cases by index; 0027 widened
    # it with every column the trend reads beside it.
    assert "ix_complaint_closed_at" not in indexes
    assert indexes["ix_complaint_closed_trend"]["column_names"][0] == "closed_at"
