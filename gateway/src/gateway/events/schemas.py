"""Bodies of the public feed and the event-type catalogue."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

EXAMPLE_EVENT = {
    "id": "0192f7a4-5d1e-7c3a-9b2f-1d4e5f6a7b8c",
    "position": 42,
    "source": "commitments",
    "type": "commitment.created",
    "resource_type": "commitment",
    "resource_id": "0192f7a4-5c00-7000-8000-000000000001",
    "occurred_at": "2026-11-23T09:15:02.123456Z",
    "public": True,
    "payload": {
        "id": "0192f7a4-5c00-7000-8000-000000000001",
        "reference": "PDHSC-1a",
        "title": "Digitally enabled care across the NHS",
        "status": "in_progress",
    },
}


def _example(schema: dict[str, Any]) -> None:
    schema["examples"] = [EXAMPLE_EVENT]


class GatewayEvent(BaseModel):
    """One event in the gateway's log; `resource_type` selects the shape of `payload`."""

    model_config = ConfigDict(json_schema_extra=_example)

    id: uuid.UUID = Field(
        description="The event's id in this log; webhooks send it as `webhook-id`."
    )
    position: int = Field(description="Total order of the log: 1, 2, 3, ... with no gaps.")
    source: str = Field(
        description="The part that emitted it: commitments, evidence, ratings or gateway.",
        examples=["commitments"],
    )
    type: str = Field(description="`<resource_type>.<change>`.", examples=["commitment.created"])
    resource_type: str = Field(examples=["commitment"])
    resource_id: uuid.UUID
    occurred_at: datetime = Field(description="When the change committed in its source (UTC).")
    public: bool = Field(
        description="Anonymous readers and non-admin webhooks only ever get public events."
    )
    payload: dict[str, Any] = Field(
        description="The resource as it stood after the change (its read representation). Its "
        "shape is its resource type's `<ResourceType>EventPayload` schema (`commitment` -> "
        "`CommitmentEventPayload`); `GET /v1/event-types` gives each type's JSON Schema."
    )


class GatewayEventPage(BaseModel):
    """A slice of the log; poll again with `after=next_after`."""

    items: list[GatewayEvent]
    next_after: int = Field(
        description="Pass as `after` to continue. Every page is full (`limit` items) until the "
        "head; an empty page means you are up to date. It may move past positions you were not "
        "shown (private events)."
    )


class EventTypeRead(BaseModel):
    """One event type: who emits it, whether it is public, and its payload's JSON Schema."""

    type: str = Field(examples=["submission.published"])
    resource_type: str = Field(examples=["submission"])
    source: str = Field(examples=["evidence"])
    visibility: Literal["public", "private", "depends"] = Field(
        description="`depends`: public once the resource is published (e.g. ratings of a "
        "published evaluation)."
    )
    description: str
    payload_schema: dict[str, Any]


class EventTypeList(BaseModel):
    """Every event type, and the wildcards a webhook subscription may use."""

    items: list[EventTypeRead]
    wildcards: list[str] = Field(
        description="`*` (every type) and `<resource_type>.*` (every change of one resource).",
        examples=[["*", "submission.*"]],
    )
