"""The public feed `GET /v1/events` (the gateway's log) and the event-type catalogue."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.events.catalog import EVENT_TYPES, RESOURCE_TYPES
from gateway.events.schemas import (
    EXAMPLE_EVENT,
    EventTypeList,
    EventTypeRead,
    GatewayEvent,
    GatewayEventPage,
)
from gateway.models import Event
from servicekit.outbox import events_router

FEED_DESCRIPTION = """Every change in Scrutiny, in one total order: the events of the
commitments, evidence and ratings services and of the gateway itself, gathered into the
gateway's log.

**Polling.** Start with `after=0` (or the last position you stored), read `items`, then call
again with `after=next_after`; an empty page means you are up to date (poll again later).
Positions are given only to events whose transaction has committed, so a position you have passed
is never filled in later: storing `next_after` and resuming from it never misses an event.

**Who sees what.** Anonymous callers (and any token without `admin` or `events:internal`) see
public events only: published data. A token with `admin` (or `events:internal`) sees every event,
private ones included (unpublished evidence, draft ratings, API clients), each with
`public: false`.

**Errors.** `after` must be a non-negative integer (else 422); a position beyond the head of the
log was never issued (409: you are reading another deployment's positions, or a restored
database). `limit` is 1 to 1000.

Each event's `type` selects the shape of its `payload`; `GET /v1/event-types` lists them all."""

feed_router = events_router(
    Event,
    item_model=GatewayEvent,
    page_model=GatewayEventPage,
    summary="Read the public event feed",
    description=FEED_DESCRIPTION,
    internal_scopes=("admin", "events:internal"),
    responses={
        200: {
            "description": "A page of the log.",
            "content": {
                "application/json": {
                    "example": {"items": [EXAMPLE_EVENT], "next_after": 42},
                }
            },
        }
    },
)

router = APIRouter(prefix="/v1", tags=["events"])


@router.get(
    "/event-types",
    operation_id="list_event_types",
    summary="List event types",
    response_model=EventTypeList,
)
async def list_event_types() -> EventTypeList:
    """Every event type the log carries, who emits it, whether it is public, and its payload."""
    return EventTypeList(
        items=[
            EventTypeRead(
                type=t.type,
                resource_type=t.resource_type,
                source=t.source,
                visibility=t.visibility,
                description=t.description,
                payload_schema=t.payload_schema,
            )
            for t in EVENT_TYPES
        ],
        wildcards=["*", *sorted(f"{r}.*" for r in RESOURCE_TYPES)],
    )
