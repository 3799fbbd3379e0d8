"""The API server freezes the objects of its start out of the garbage collector's walks (a full
collection over them cost the request it landed in about 70 ms); a test's app does not, since
a frozen object is never freed."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.engine import Engine

import api.main
from api.main import create_app
from core.settings import Settings


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


async def test_a_server_app_freezes_what_its_start_made(
    unfrozen: None, engine: Engine, settings: Settings
) -> None:
    plain = create_app(settings, engine=engine)
    async with plain.router.lifespan_context(plain):
        assert gc.get_freeze_count() == 0
        assert any(o is plain.router for o in gc.get_objects())
    server = create_app(settings, engine=engine, freeze_heap=True)
    async with server.router.lifespan_context(server):
        # Out of every generation the collector walks: the app's router among them.
        assert not any(o is server.router for o in gc.get_objects())
        assert gc.get_freeze_count() > 10_000


def test_the_server_process_builds_its_app_to_freeze(monkeypatch: pytest.MonkeyPatch) -> None:
    built: dict[str, Any] = {}
    served: list[object] = []
    marker = object()

    def fake_create_app(settings: Settings, **options: Any) -> object:
        built.update(options)
        return marker

    monkeypatch.setattr(api.main, "create_app", fake_create_app)
    monkeypatch.setattr(api.main.uvicorn, "run", lambda app, **_: served.append(app))
    monkeypatch.setattr(api.main.signal, "signal", lambda *_: None)
    monkeypatch.setattr(api.main, "configure_logging", lambda _settings: None)
    monkeypatch.setattr(api.main, "configure_tracing", lambda *_a, **_k: None)
    api.main.main()
    assert served == [marker]
    assert built.get("freeze_heap") is True
