"""Prototype of the proposed fast path for the commitments service's `GET /v1/commitments/{id}`.

The commitments app exactly as `commitments.main:create_app` builds it (same middleware, same
settings), with three changes the bench measures against the unchanged service and the floor:

1. no `pool_pre_ping` (one round trip per request saved; a dead pooled connection still fails
   only the request that meets it, and SQLAlchemy then invalidates the pool);
2. the read runs on an AUTOCOMMIT connection, as one Core statement: the commitment LEFT JOINed
   to its targets (one round trip, one snapshot), instead of ORM `session.get` + a second
   SELECT inside BEGIN ... COMMIT (four round trips);
3. the body is built with orjson from the rows and returned as a `Response` (no ORM objects, no
   pydantic model construction and re-validation of the response model).

The answer is byte-for-byte the service's (the bench checks it). Run:
`uvicorn bench.experiments.fastpath:create_app --factory` with the commitments env.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from fastapi import FastAPI, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy import select

import servicekit.app as sk_app
import servicekit.db
from commitments import main
from commitments.models import Commitment, Target
from servicekit.problems import not_found

_original_create_engine = servicekit.db.create_engine

C = Commitment.__table__
T = Target.__table__
T_COLS = [c.label(f"t_{c.name}") for c in T.columns]


def _stmt() -> Any:
    from sqlalchemy import bindparam

    return (
        select(C, *T_COLS)
        .select_from(C.outerjoin(T, T.c.commitment_id == C.c.id))
        .where(C.c.id == bindparam("id"))
        .order_by(T.c.created_at, T.c.id)
    )


GET = _stmt()


def _engine_without_pre_ping(url: str, **kw: Any) -> Any:
    """The proposed engine: no pre-ping, and a fixed pool as large as the concurrency it serves.

    With the current 10 (+10 overflow) and 32 requests in flight, overflow connections are
    closed on check-in and reopened (TLS attempt included) all the time; a fixed pool queues
    instead (the floor's asyncpg pool does the same with 10).
    """
    from sqlalchemy.ext.asyncio import create_async_engine

    return create_async_engine(url, pool_size=20, max_overflow=0, pool_pre_ping=False)


def _target(r: Any) -> dict[str, Any]:
    return {
        "id": r.t_id,
        "reference": r.t_reference,
        "commitment_id": r.t_commitment_id,
        "metric": r.t_metric,
        "unit": r.t_unit,
        "direction": r.t_direction,
        "baseline_value": r.t_baseline_value,
        "baseline_on": r.t_baseline_on,
        "target_value": r.t_target_value,
        "due_on": r.t_due_on,
        "data_source": r.t_data_source,
        "progress": {
            "status": r.t_progress_status,
            "assessed_on": r.t_latest_on,
            "latest_value": r.t_latest_value,
            "expected_value": r.t_expected_value,
            "reading_count": r.t_reading_count or 0,
        },
        "created_at": r.t_created_at,
        "updated_at": r.t_updated_at,
    }


async def get_commitment_fast(id: uuid.UUID, request: Request) -> Response:
    """One commitment with its targets (the fast path)."""
    engine = request.app.state.engine
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        rows = (await conn.execute(GET, {"id": id})).all()
    if not rows:
        raise not_found("commitment", id)
    c = rows[0]
    body = orjson.dumps(
        {
            "id": c.id,
            "reference": c.reference,
            "title": c.title,
            "text": c.text,
            "kind": c.kind,
            "policy_area_id": c.policy_area_id,
            "source_id": c.source_id,
            "lead_bodies": c.lead_bodies,
            "made_on": c.made_on,
            "due_on": c.due_on,
            "status": c.status,
            "superseded_by_id": c.superseded_by_id,
            "created_at": c.created_at,
            "updated_at": c.updated_at,
            "revision": c.revision,
            "targets": [_target(r) for r in rows if r.t_id is not None],
            "as_of": None,
        },
        option=orjson.OPT_UTC_Z,
        default=str,  # asyncpg's own UUID type
    )
    etag = f'"{c.id.hex[-12:]}-{c.version}"'
    return Response(body, media_type="application/json", headers={"ETag": etag})


def create_app() -> FastAPI:
    """The commitments service with the fast path in front of its own get-by-id."""
    servicekit.db.create_engine = _engine_without_pre_ping
    # servicekit.app imported the function by name: replace it there too.
    sk_app.create_engine = _engine_without_pre_ping  # type: ignore[attr-defined]
    app = main.create_app()
    route = APIRoute(
        "/v1/commitments/{id}",
        get_commitment_fast,
        methods=["GET"],
        operation_id="get_commitment_fast",
        include_in_schema=False,
    )
    app.router.routes.insert(0, route)
    return app
