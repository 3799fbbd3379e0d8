"""Database engine, migrations and the reference-data loader.

SQLite (the embedded default) runs in WAL mode. A transaction on the engine itself may write:
it takes the write lock at `BEGIN` (BEGIN IMMEDIATE), so that concurrent read-then-write
transactions (a registration number, a projection, an SMS row) queue instead of failing. A
transaction that only reads goes through `read_only(engine)` (or `read_session`): a plain
deferred BEGIN with `query_only` on, which takes no lock, so reads never queue behind writes
(in WAL they see the last commit) and a stray write fails loudly. On PostgreSQL
(`DATABASE_URL=postgresql+psycopg://...`) the same view opens READ ONLY transactions.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine, select

from core.models import Department, District, Officer
from core.settings import PROJECT_ROOT, Settings, get_settings
from schemas.enums import OfficerRole
from schemas.i18n import SOURCE_LANGUAGE, available_languages, local_name
from schemas.reference import DEPARTMENTS, DISTRICTS, DLT_VARIABLE_MAX

log = logging.getLogger(__name__)

# Execution option marking connections of the read-only view (see `read_only`).
READ_ONLY_OPTION = "jan_samvad_read_only"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`; SQLite gets WAL, a busy timeout and write-locking transactions."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection: Any) -> None:
            if connection.get_execution_options().get(READ_ONLY_OPTION):
                connection.exec_driver_sql("PRAGMA query_only=ON")
                connection.exec_driver_sql("BEGIN")
            else:
                connection.exec_driver_sql("PRAGMA query_only=OFF")
                connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, **kwargs)


def read_only(engine: Engine) -> Engine:
    """A view of `engine` whose transactions only read: on SQLite a deferred BEGIN that takes
    no write lock (with `query_only`, so a write through it fails), on PostgreSQL a READ ONLY
    transaction. The view shares the engine's pool; one view per engine is kept."""
    if engine.get_execution_options().get(READ_ONLY_OPTION):
        return engine
    view: Engine | None = getattr(engine, "_jan_samvad_read_only", None)
    if view is None:
        options: dict[str, Any] = {READ_ONLY_OPTION: True}
        if engine.dialect.name == "postgresql":
            options["postgresql_readonly"] = True
        view = engine.execution_options(**options)
        engine._jan_samvad_read_only = view  # type: ignore[attr-defined]
    return view


def read_session(engine: Engine) -> Session:
    """A session for reading only (see `read_only`); use it as a context manager."""
    return Session(read_only(engine), expire_on_commit=False)


def write_session(engine: Engine) -> Session:
    """A session whose transactions may read then write: on SQLite it takes the write lock
    at its first statement (BEGIN IMMEDIATE), so a concurrent writer waits instead of
    failing half-way; use it as a context manager."""
    return Session(engine, expire_on_commit=False)


def alembic_config() -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (idempotent)."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


_MOVED_TO_CATALOGUE = ("designation_hi", "office_hi")


def check_directory_entry(
    directory_file: Path, entry: dict[str, Any], languages: tuple[str, ...]
) -> None:
    """Refuses (ValueError naming the file, the officer and the field) an entry with a field
    the directory no longer holds, or whose `office` would not fit a DLT variable (at most 30
    characters) in one of `languages`."""
    where = f"{directory_file}: officer {entry.get('id')!r}"
    for field in _MOVED_TO_CATALOGUE:
        if field in entry:
            raise ValueError(
                f"{where}: {field} is no longer read from the directory: translations of "
                "office and designation go in schemas/locale/<language>/LC_MESSAGES/names.po "
                "(contexts office, designation; `make messages` lists them)"
            )
    office = entry.get("office") or ""
    for language in languages:
        written = local_name("office", office, language) if office else ""
        if len(written) > DLT_VARIABLE_MAX:
            raise ValueError(
                f"{where}: office in {language!r} {written!r} is longer than "
                f"{DLT_VARIABLE_MAX} characters (an SMS variable registered on DLT holds no "
                "more)"
            )


def load_directory(engine: Engine, directory_file: Path) -> int:
    """Upsert districts, departments and the officer directory; returns the officers loaded.

    Entries are matched by id, so an administrator's edited file replaces the placeholders on
    the next start. Officers missing from the file are deactivated, never deleted (old cases
    still name them).
    """
    entries = json.loads(directory_file.read_text(encoding="utf-8"))["officers"]
    with session_scope(engine) as session:
        for name in DISTRICTS:
            session.merge(District(name=name))
        for department in DEPARTMENTS:
            session.merge(Department(code=department.code, name=department.name))
        # English and every language with a names catalogue: the office's forms an SMS carries.
        languages = (SOURCE_LANGUAGE, *available_languages("names"))
        seen = set()
        for entry in entries:
            check_directory_entry(directory_file, entry, languages)
            officer = Officer(**entry)
            officer.role = OfficerRole(officer.role)
            session.merge(officer)
            seen.add(officer.id)
        for officer in session.exec(select(Officer)).all():
            if officer.id not in seen and officer.active:
                officer.active = False
                session.add(officer)
        session.commit()
    return len(entries)


def prepare_database(settings: Settings) -> Engine:
    """Engine, migrations and reference data: what every process does at start."""
    engine = make_engine(settings.effective_database_url)
    migrate(engine)
    count = load_directory(engine, settings.directory_file)
    log.info("database ready (%s), %d officers in the directory", engine.url.drivername, count)
    return engine


def main() -> None:
    parser = argparse.ArgumentParser(description="Jan Samvad database tasks")
    parser.add_argument("task", choices=["upgrade"])
    parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    prepare_database(get_settings())


if __name__ == "__main__":
    main()
