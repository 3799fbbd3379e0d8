"""Dependencies shared by the routers, as `Annotated` aliases."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.client import Client

from core.settings import Settings
from schemas.policy import Policy


@dataclass
class AppState:
    """What the app opens once in its lifespan and shares with every request."""

    settings: Settings
    engine: Engine
    client: Client
    policy: Policy


def get_app_state(request: Request) -> AppState:
    state: AppState = request.app.state.jan_samvad
    return state


def get_session(app: Annotated[AppState, Depends(get_app_state)]) -> Iterator[Session]:
    with Session(app.engine, expire_on_commit=False) as session:
        yield session


AppStateDep = Annotated[AppState, Depends(get_app_state)]
SessionDep = Annotated[Session, Depends(get_session)]


def get_client(app: AppStateDep) -> Client:
    return app.client


TemporalDep = Annotated[Client, Depends(get_client)]
