"""The transactional outbox and the ordered event feed every service serves.

How a feed that never skips works
---------------------------------
A writer inserts its event row in the same transaction as the change, with **no position**
(`record_event`). Nothing can read the row until that transaction commits, and if it rolls back
the event never existed. A separate *sequencer* then gives positions to committed rows only: in
one `UPDATE ... FROM (SELECT ... WHERE position IS NULL)` statement it numbers every committed,
unpositioned row, continuing from the highest position handed out so far. Positions therefore
only ever grow, and each position is written once, after its event is already visible.

A reader polling `GET /v1/events?after=N` sees positions `> N`. The classic way to miss an event
is to number rows at insert time (a sequence or autoincrement): transaction A takes 7, B takes 8,
B commits, a reader reads 8 and moves to `after=8`, then A commits 7 behind its back. Here A's
row has no position until it has committed; when it does, the next sequencer pass gives it a
position above 8, so the reader finds it on its next poll. "Late" commits are simply numbered
late.

Several replicas writing at once (PostgreSQL): every replica runs a sequencer, but each pass takes
`pg_advisory_xact_lock` on a key derived from the table name first, so passes run one at a time
across all replicas, each seeing the positions the previous pass committed (READ COMMITTED takes a
fresh snapshot per statement, after the lock was granted). The `UNIQUE` constraint on `position`
is the backstop: two passes that somehow overlapped could not both commit the same number. On
SQLite every transaction holds the database write lock from `BEGIN IMMEDIATE`, which serialises
the sequencer the same way. Writers never wait on the sequencer: they only insert.

Within one pass rows are numbered by `__feed_order__` (default `occurred_at, id`); a model may set
another order (the gateway's log numbers imported events in the order it imported them).
Feed positions are dense: `1..N` with no gaps, because a pass numbers every row it saw from the
highest position + 1 upwards, and rows are never deleted.

The reader side (`events_router`): `after` is validated (a non-negative integer, else 422); a
position beyond the head was not issued by this feed (409, e.g. a consumer pointed at a fresh
database); `limit` is 1..1000. Anonymous callers see public events only; a token with
`events:internal` (other services' consumers, the gateway) sees every event, each marked
`public` so it can pass the flag on.
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

import orjson
from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Index,
    String,
    Text,
    cast,
    func,
    select,
    text,
)
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column
from sqlalchemy.types import Uuid

from servicekit.auth import OptionalPrincipal
from servicekit.background import loop_task, pause
from servicekit.db import UTCDateTime, autocommit
from servicekit.ids import new_id, utcnow
from servicekit.jsonutil import dumps_utc
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
    def __table_args__(self) -> tuple[Any, ...]:
        return event_table_args()


def event_table_args(*extra: Any) -> tuple[Any, ...]:
    """`__table_args__` of an events table, plus a model's own constraints and indexes."""
    # The sequencer looks only at unpositioned rows; a partial index keeps that O(new events).
    return (
        Index(
            "ix_events_unsequenced",
            "id",
            postgresql_where=text("position IS NULL"),
            sqlite_where=text("position IS NULL"),
        ),
        # A public reader's page skips private events in SQL; this index makes that a range
        # scan of public positions however many private events lie between them.
        Index(
            "ix_events_public_position",
            "position",
            postgresql_where=text("public AND position IS NOT NULL"),
            sqlite_where=text("public AND position IS NOT NULL"),
        ),
        *extra,
    )


class EventRead(BaseModel):
    """One event in a feed."""

    id: uuid.UUID
    position: int = Field(description="Total order within this feed; strictly increasing.")
    type: str = Field(examples=["commitment.created"])
    resource_type: str = Field(examples=["commitment"])
    resource_id: uuid.UUID
    occurred_at: datetime
    public: bool = Field(
        default=True,
        description="Whether anonymous readers see this event (always true for them); internal "
        "readers (scope `events:internal`) also get the private ones, marked false.",
    )
    payload: dict[str, Any] = Field(
        description="The resource as it stood after the change (its public representation)."
    )


class EventPage(BaseModel):
    """A slice of the feed; poll again with `after=next_after`."""

    items: list[EventRead]
    next_after: int = Field(
        description="Pass as `after` to continue. Every page is full (`limit` items) until the "
        "head; an empty page means you are up to date. It may move past positions you were not "
        "shown (private events)."
    )


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
    session.info[_EVENTS_RECORDED] = True
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


# Columns a sequencer pass numbers rows by; a model may set `__feed_order__` to others.
DEFAULT_FEED_ORDER = ("occurred_at", "id")


def _lock_key(table: str) -> int:
    return zlib.crc32(f"scrutiny-sequencer:{table}".encode())


async def assign_positions(session: AsyncSession, model: type[Any]) -> int:
    """Give feed positions to committed, unpositioned events; returns how many were positioned."""
    table = model.__tablename__
    order = ", ".join(getattr(model, "__feed_order__", DEFAULT_FEED_ORDER))
    if session.get_bind().dialect.name == "postgresql":
        # One sequencer at a time across every replica; released when this transaction ends.
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key(table)})
    result = await session.execute(
        text(
            f"UPDATE {table} SET position = numbered.pos FROM ("
            f" SELECT id, (SELECT COALESCE(MAX(position), 0) FROM {table})"
            f"   + ROW_NUMBER() OVER (ORDER BY {order}) AS pos"
            f" FROM {table} WHERE position IS NULL) AS numbered"
            f" WHERE {table}.id = numbered.id"
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def has_unpositioned(maker: async_sessionmaker[AsyncSession], model: type[Any]) -> bool:
    """Whether any committed event awaits a position (one autocommitted read, no write lock)."""
    async with autocommit(maker) as session:
        found = await session.scalar(select(model.id).where(model.position.is_(None)).limit(1))
    return found is not None


async def run_sequencer(
    maker: async_sessionmaker[AsyncSession],
    model: type[Any],
    interval: float,
    *,
    idle_interval: float | None = None,
    wake: asyncio.Event | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Position new events until `stop` is set (or the task is cancelled).

    After a pass that found work the next one runs `interval` later; while there is none the
    wait doubles up to `idle_interval`, so an idle service does not spin. `wake` (set when this
    process commits an event, see `wake_sequencer_on_commit`) cuts a wait short, so this
    replica's own writes are positioned at once; other replicas' writes wait at most
    `idle_interval` (their own sequencers usually position them first).
    """
    idle_cap = max(idle_interval or interval, interval)
    delay = interval
    stop = stop or asyncio.Event()
    while not stop.is_set():
        if wake is not None:
            wake.clear()
        pending = False
        try:
            # Looked for outside a transaction first: an idle pass then takes no lock at all
            # (on SQLite a write transaction would take the database's one write lock).
            pending = await has_unpositioned(maker, model)
            if pending:
                async with maker() as session, session.begin():
                    await assign_positions(session, model)
            delay = interval if pending else min(delay * 2, idle_cap)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("sequencer pass failed; retrying")
            delay = idle_cap
        if wake is None or pending:
            # After a pass that found work, always pause one interval: commits arriving
            # meanwhile are numbered together in the next pass, instead of one pass (a
            # transaction and a lock) per commit under steady writes.
            await pause(delay, stop)
        else:
            await pause(delay, wake, stop)


_EVENTS_RECORDED = "servicekit.outbox.recorded"


def wake_sequencer_on_commit(maker: async_sessionmaker[AsyncSession]) -> asyncio.Event:
    """An event set whenever a session of `maker` commits a transaction that recorded events.

    A rolled-back session keeps its flag until its next commit: at worst one needless pass.
    """
    wake = asyncio.Event()

    def after_commit(session: Any) -> None:
        if session.info.pop(_EVENTS_RECORDED, False):
            wake.set()

    # Session events attach to a class; a subclass of its own keeps this maker's hook off every
    # other maker's sessions (tests run several apps in one process).
    base = maker.kw.get("sync_session_class", Session)
    session_class = type("OutboxWakingSession", (base,), {})
    sa_event.listen(session_class, "after_commit", after_commit)
    maker.configure(sync_session_class=session_class)
    return wake


@contextlib.asynccontextmanager
async def sequencer(
    maker: async_sessionmaker[AsyncSession],
    model: type[Any],
    interval: float,
    idle_interval: float | None = None,
) -> AsyncIterator[None]:
    """Run the sequencer for the life of the app, woken by the app's own event commits."""
    wake = wake_sequencer_on_commit(maker)

    async def loop(stop: asyncio.Event) -> None:
        await run_sequencer(
            maker, model, interval, idle_interval=idle_interval, wake=wake, stop=stop
        )

    async with loop_task("outbox-sequencer", loop):
        yield


FEED_DESCRIPTION = (
    "Events in feed order after `after`. Positions are only given to committed events, so "
    "polling with the last position you saw never misses one.\n\n"
    "Anonymous readers see public events; a token with `events:internal` sees all of them."
)


def events_router(
    model: type[Any],
    *,
    tag: str = "events",
    item_model: type[BaseModel] = EventRead,
    page_model: type[BaseModel] = EventPage,
    summary: str = "Read the event feed",
    description: str = FEED_DESCRIPTION,
    internal_scopes: tuple[str, ...] = ("events:internal",),
    responses: dict[int | str, dict[str, Any]] | None = None,
) -> APIRouter:
    """`GET /v1/events?after=&limit=`: the ordered feed of `model`'s table.

    `item_model`/`page_model` let a feed document its items more precisely (the gateway's
    public feed documents every event type). Pages are written from the rows' columns, not
    through the models: every field of `item_model` must be a column of `model`.
    """
    router = APIRouter(tags=[tag])
    # The payload is passed on as the JSON text it was stored as (orjson.Fragment): parsing it
    # only to write it again was most of the cost of a page.
    columns = [
        cast(model.payload, Text).label("payload") if name == "payload" else getattr(model, name)
        for name in item_model.model_fields
    ]

    @router.get(
        "/v1/events",
        operation_id="list_events",
        summary=summary,
        description=description,
        response_model=page_model,
        responses={**problem_responses(401, 409, 422), **(responses or {})},
    )
    async def list_events(
        request: Request,
        principal: OptionalPrincipal,
        after: Annotated[
            int,
            Query(
                ge=0,
                le=2**63 - 1,
                description="Last position you have seen; 0 to start. A position this feed "
                "never issued (beyond its head) is a 409.",
            ),
        ] = 0,
        limit: Annotated[int, Query(ge=1, le=1000, description="At most this many events.")] = 100,
    ) -> Any:
        """Events in feed order after `after`."""
        # A read: autocommit (on SQLite a transaction here would take the write lock on every
        # consumer poll). The head only decides the 409; rows positioned meanwhile just come too.
        maker: async_sessionmaker[AsyncSession] = getattr(
            request.app.state, "read_sessionmaker", request.app.state.sessionmaker
        )
        async with maker() as session:
            head = await session.scalar(select(func.max(model.position)))
            if after > (head or 0):
                raise ProblemError(
                    409,
                    "Position beyond the feed",
                    f"after={after} is beyond the last position {head or 0}; "
                    "the position was not issued by this feed.",
                    type_="/problems/feed-position",
                )
            # Private events (drafts, unpublished evidence) go only to other services' consumers;
            # for everyone else they are skipped here, so every page is full until the head.
            internal = principal is not None and any(principal.has(s) for s in internal_scopes)
            stmt = select(*columns).where(model.position > after)
            if not internal:
                stmt = stmt.where(model.public.is_(True))
            rows = (await session.execute(stmt.order_by(model.position).limit(limit))).all()
        items = [{**r._asdict(), "payload": orjson.Fragment(r.payload)} for r in rows]
        last = rows[-1].position if rows else after
        # A short page read everything this reader may see up to the head: resume from the head
        # (past the private events at the end), so an empty page means "up to date".
        next_after = last if len(rows) == limit else max(last, head or 0)
        page = {"items": items, "next_after": next_after}
        # The rows are this service's own, written by `record_event`: they are serialised as
        # they are (the same JSON pydantic writes, a test compares them), not validated again
        # one by one, which was most of a page's CPU (bench/ `events_feed_*`).
        return Response(dumps_utc(page), media_type="application/json")

    return router
