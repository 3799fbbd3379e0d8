"""`/healthz`: the API, its database and its Temporal connection.

Open without a token on purpose (load balancers and orchestrators probe it); it tells no case data.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import text

from api.deps import AppStateDep
from schemas.health import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
async def healthz(app: AppStateDep, response: Response) -> Health:
    def ping_db() -> str:
        try:
            with app.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return "ok"
        except Exception as err:  # reported, not raised: this is the health check
            return f"error: {type(err).__name__}"

    database = await run_in_threadpool(ping_db)
    try:
        await app.client.service_client.check_health(timeout=timedelta(seconds=2))
        temporal = "ok"
    except Exception as err:  # reported, not raised
        temporal = f"error: {type(err).__name__}"
    healthy = database == "ok" and temporal == "ok"
    if not healthy:
        response.status_code = 503
    return Health(
        status="ok" if healthy else "degraded", api="ok", database=database, temporal=temporal
    )
