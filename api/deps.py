"""Dependencies shared by the routers, as `Annotated` aliases."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.client import Client

from core.db import read_session
from core.settings import Settings
from schemas.escalation import Ladder
from schemas.policy import Policy


@dataclass
class AppState:
    """What the app opens once in its lifespan and shares with every request."""

    settings: Settings
    engine: Engine
    client: Client
    policy: Policy
    # The ladder new cases climb (LADDER, LADDER_FILE), with the policy's session settings.
    ladder: Ladder


def get_app_state(request: Request) -> AppState:
    state: AppState = request.app.state.jan_samvad
    return state


def get_session(app: Annotated[AppState, Depends(get_app_state)]) -> Iterator[Session]:
    """A read-only session (`core.db.read_session`): routes read the read model and never
    write it (writes go through the workflow), so on SQLite a request takes no write lock and
    never waits for one, and may keep its session open while it awaits the workflow."""
    with read_session(app.engine) as session:
        yield session


AppStateDep = Annotated[AppState, Depends(get_app_state)]
SessionDep = Annotated[Session, Depends(get_session)]


def get_client(app: AppStateDep) -> Client:
    return app.client


TemporalDep = Annotated[Client, Depends(get_client)]
