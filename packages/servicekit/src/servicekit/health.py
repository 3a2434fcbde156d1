"""`/healthz` (alive) and `/readyz` (database reachable, migrations at head)."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from servicekit.problems import ProblemError, problem_responses


class Health(BaseModel):
    """Liveness or readiness."""

    status: str
    checks: dict[str, str] = {}


def alembic_heads(alembic_ini: Path) -> set[str]:
    """The head revisions of a service's migration scripts."""
    cfg = Config(str(alembic_ini))
    cfg.set_main_option("script_location", str(alembic_ini.parent / "migrations"))
    return set(ScriptDirectory.from_config(cfg).get_heads())


async def database_revisions(engine: AsyncEngine) -> set[str]:
    """The revisions the database says it is at."""
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT version_num FROM alembic_version"))
        return {r[0] for r in rows}


def health_router(alembic_ini: Path) -> APIRouter:
    """Operational probes; kept out of the public API document's tags for clients."""
    router = APIRouter(tags=["operations"])
    heads = alembic_heads(alembic_ini)

    @router.get("/healthz", operation_id="get_health", summary="Liveness", response_model=Health)
    async def healthz() -> Health:
        """The process is up and serving requests."""
        return Health(status="ok")

    @router.get(
        "/readyz",
        operation_id="get_readiness",
        summary="Readiness",
        response_model=Health,
        responses=problem_responses(503),
    )
    async def readyz(request: Request) -> Health:
        """The database answers and its schema is at the migration head."""
        engine: AsyncEngine = request.app.state.engine
        try:
            current = await database_revisions(engine)
        except Exception as exc:
            raise ProblemError(
                503,
                "Service Unavailable",
                f"Database not ready: {type(exc).__name__}.",
                headers={"Retry-After": "5"},
            ) from None
        if current != heads:
            raise ProblemError(
                503,
                "Service Unavailable",
                f"Database schema at {sorted(current)}, code expects {sorted(heads)}; "
                "run migrations.",
                headers={"Retry-After": "5"},
            )
        return Health(status="ready", checks={"database": "ok", "migrations": "head"})

    return router
