"""The transactional outbox and the ordered event feed every service serves.

Writers insert an event row in the same transaction as the change, with no position. A single
sequencer (one at a time: an advisory lock on PostgreSQL, the write lock on SQLite) gives
positions to *committed* rows only, in one statement, continuing from the highest position so far.
A reader polling `after=N` therefore never skips an event whose transaction committed late: that
event simply receives a position above every one already handed out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
import zlib
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import JSON, BigInteger, Boolean, Index, String, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, declared_attr, mapped_column
from sqlalchemy.types import Uuid

from servicekit.auth import OptionalPrincipal
from servicekit.db import UTCDateTime
from servicekit.ids import new_id, utcnow
from servicekit.problems import ProblemError, problem_responses

log = logging.getLogger("servicekit.outbox")


class EventMixin:
    """Columns of a service's `events` table."""

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    position: Mapped[int | None] = mapped_column(BigInteger, nullable=True, unique=True)
    type: Mapped[str] = mapped_column(String(80), nullable=False)
    resource_type: Mapped[str] = mapped_column(String(40), nullable=False)
    resource_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    public: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        # The sequencer looks only at unpositioned rows; a partial index keeps that O(new events).
        return (
            Index(
                "ix_events_unsequenced",
                "id",
                postgresql_where=text("position IS NULL"),
                sqlite_where=text("position IS NULL"),
            ),
        )


class EventRead(BaseModel):
    """One event in a feed."""

    id: uuid.UUID
    position: int = Field(description="Total order within this feed; strictly increasing.")
    type: str = Field(examples=["commitment.created"])
    resource_type: str = Field(examples=["commitment"])
    resource_id: uuid.UUID
    occurred_at: datetime
    payload: dict[str, Any] = Field(
        description="The resource as it stood after the change (its public representation)."
    )


class EventPage(BaseModel):
    """A slice of the feed; poll again with `after=next_after`."""

    items: list[EventRead]
    next_after: int = Field(description="Pass as `after` to continue; equals `after` when empty.")


def record_event(
    session: AsyncSession,
    model: type[Any],
    type_: str,
    resource_type: str,
    resource_id: uuid.UUID,
    payload: dict[str, Any],
    *,
    public: bool = True,
) -> None:
    """Add an event to the current unit of work; it commits (or not) with the change."""
    session.add(
        model(
            id=new_id(),
            type=type_,
            resource_type=resource_type,
            resource_id=resource_id,
            occurred_at=utcnow(),
            public=public,
            payload=payload,
        )
    )


def _lock_key(table: str) -> int:
    return zlib.crc32(f"scrutiny-sequencer:{table}".encode())


async def assign_positions(session: AsyncSession, model: type[Any]) -> int:
    """Give feed positions to committed, unpositioned events; returns how many were positioned."""
    table = model.__tablename__
    if session.bind.dialect.name == "postgresql":
        # One sequencer at a time across every replica; released when this transaction ends.
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key(table)})
    result = await session.execute(
        text(
            f"UPDATE {table} SET position = numbered.pos FROM ("
            f" SELECT id, (SELECT COALESCE(MAX(position), 0) FROM {table})"
            f"   + ROW_NUMBER() OVER (ORDER BY occurred_at, id) AS pos"
            f" FROM {table} WHERE position IS NULL) AS numbered"
            f" WHERE {table}.id = numbered.id"
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def run_sequencer(
    maker: async_sessionmaker[AsyncSession], model: type[Any], interval: float
) -> None:
    """Position new events forever (until cancelled)."""
    while True:
        try:
            async with maker() as session, session.begin():
                pending = await session.scalar(
                    select(model.id).where(model.position.is_(None)).limit(1)
                )
                if pending is not None:
                    await assign_positions(session, model)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("sequencer pass failed; retrying")
        await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def sequencer(
    maker: async_sessionmaker[AsyncSession], model: type[Any], interval: float
) -> AsyncIterator[None]:
    """Run the sequencer for the life of the app."""
    task = asyncio.create_task(run_sequencer(maker, model, interval), name="outbox-sequencer")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def events_router(model: type[Any], *, tag: str = "events") -> APIRouter:
    """`GET /v1/events?after=&limit=`: the service's ordered feed."""
    router = APIRouter(tags=[tag])

    @router.get(
        "/v1/events",
        operation_id="list_events",
        summary="Read the event feed",
        response_model=EventPage,
        responses=problem_responses(401, 409, 422),
    )
    async def list_events(
        request: Request,
        principal: OptionalPrincipal,
        after: Annotated[
            int, Query(ge=0, description="Last position you have seen; 0 to start.")
        ] = 0,
        limit: Annotated[int, Query(ge=1, le=1000, description="At most this many events.")] = 100,
    ) -> EventPage:
        """Events in feed order after `after`. Positions are only given to committed events.

        Anonymous readers see public events; a token with `events:internal` sees all of them.
        """
        maker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
        async with maker() as session, session.begin():
            head = await session.scalar(select(func.max(model.position)))
            if after > (head or 0):
                raise ProblemError(
                    409,
                    "Position beyond the feed",
                    f"after={after} is beyond the last position {head or 0}; "
                    "the position was not issued by this feed.",
                    type_="/problems/feed-position",
                )
            stmt = select(model).where(model.position > after).order_by(model.position).limit(limit)
            scanned = (await session.scalars(stmt)).all()
        # Filter after the scan so `next_after` moves past private events a public reader skips.
        # Private events (drafts, unpublished evidence) go only to other services' consumers.
        internal = principal is not None and principal.has("events:internal")
        rows = [r for r in scanned if internal or r.public]
        items = [
            EventRead(
                id=r.id,
                position=r.position,
                type=r.type,
                resource_type=r.resource_type,
                resource_id=r.resource_id,
                occurred_at=r.occurred_at,
                payload=r.payload,
            )
            for r in rows
        ]
        return EventPage(items=items, next_after=scanned[-1].position if scanned else after)

    return router
