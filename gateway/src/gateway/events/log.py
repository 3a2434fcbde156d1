"""Importing the services' feeds into the gateway's log.

One `FeedConsumer` per service reads its feed as an internal reader (all events, each with its
`public` flag) and inserts each event into the gateway's `events` table with its source, source
id and source position, in the same transaction as the consumer's position. The servicekit
sequencer then gives imported rows positions in the gateway's own total order, exactly as for the
gateway's own events, so the public feed never skips either. A source event already in the log
(same source and source event id) is not inserted again; the unique constraint on the pair backs
that up if anything ever got past the consumer's row lock.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.config import SERVICES, Settings
from gateway.events.catalog import BY_TYPE
from gateway.events.token import GatewayToken
from gateway.models import ConsumerPosition, Event
from servicekit.consumer import BatchHandler, FeedConsumer, Handler, running
from servicekit.http import make_client
from servicekit.ids import new_id

log = logging.getLogger("gateway.events")


def _row(source: str, event: dict[str, Any]) -> dict[str, Any]:
    if event["type"] not in BY_TYPE:
        log.warning("event type %s from %s is not in the catalogue", event["type"], source)
    return {
        # New ids in import order: the sequencer numbers a pass by id (`__feed_order__`).
        "id": new_id(),
        "position": None,
        "source": source,
        "source_event_id": uuid.UUID(str(event["id"])),
        "source_position": int(event["position"]),
        "type": str(event["type"]),
        "resource_type": str(event["resource_type"]),
        "resource_id": uuid.UUID(str(event["resource_id"])),
        "occurred_at": datetime.fromisoformat(str(event["occurred_at"])),
        "public": bool(event.get("public", True)),
        "payload": event["payload"],
    }


def import_handler(source: str) -> Handler:
    """The consumer handler that copies one event of `source` into the log."""

    async def apply(session: AsyncSession, event: dict[str, Any]) -> None:
        await import_batch(source)(session, [event])

    return apply


def import_batch(source: str) -> BatchHandler:
    """Copy a batch of `source`'s events into the log: one query finds those already there,
    one multi-row insert adds the rest, in feed order."""

    async def apply(session: AsyncSession, events: list[dict[str, Any]]) -> None:
        ids = [uuid.UUID(str(e["id"])) for e in events]
        seen = set(
            (
                await session.scalars(
                    select(Event.source_event_id).where(
                        Event.source == source, Event.source_event_id.in_(ids)
                    )
                )
            ).all()
        )
        rows = [_row(source, e) for e, i in zip(events, ids, strict=True) if i not in seen]
        if rows:
            # One multi-row INSERT (Core): no unit-of-work bookkeeping per row.
            await session.execute(insert(Event), rows)
        for row in rows:
            if row["type"] == REDACTED and row["public"]:
                await _redact_earlier(session, source, row)

    return apply


# A published submission's passages hidden by a moderator: the log's earlier copies of its
# public events take the redacted text too, as the evidence service's own feed does.
REDACTED = "submission.redacted"
REDACTABLE = ("title", "summary", "body")


async def _redact_earlier(session: AsyncSession, source: str, redacted: dict[str, Any]) -> None:
    earlier = await session.scalars(
        select(Event)
        .where(
            Event.source == source,
            Event.resource_type == redacted["resource_type"],
            Event.resource_id == redacted["resource_id"],
            Event.public.is_(True),
            Event.source_position < redacted["source_position"],
        )
        .with_for_update()
    )
    for event in earlier.all():
        payload = dict(event.payload)
        for name in REDACTABLE:
            if name in payload and name in redacted["payload"]:
                payload[name] = redacted["payload"][name]
        event.payload = payload


def consumers_lifespan(
    settings: Settings, transports: dict[str, httpx.AsyncBaseTransport] | None
) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    """A lifespan hook that imports every service's feed while the app runs."""

    @contextlib.asynccontextmanager
    async def hook(app: FastAPI) -> AsyncIterator[None]:
        app.state.event_consumers = {}
        if not settings.events_consume:
            yield
            return
        token = GatewayToken(app.state.sessionmaker, settings, app.state.auth_settings)
        async with contextlib.AsyncExitStack() as stack:
            consumers = []
            for name in SERVICES:
                client = await stack.enter_async_context(
                    make_client(
                        settings.service_url(name),
                        timeout=settings.service_timeout(name),
                        transport=(transports or {}).get(name),
                    )
                )
                consumers.append(
                    FeedConsumer(
                        name,
                        client,
                        app.state.sessionmaker,
                        ConsumerPosition,
                        import_handler(name),
                        interval=settings.events_poll_interval_s,
                        idle_interval=settings.consumer_idle_interval_s,
                        batch=500,
                        headers=token.headers,
                        batch_handler=import_batch(name),
                    )
                )
            app.state.event_consumers = {c.name: c for c in consumers}
            async with running(*consumers):
                yield

    return hook
