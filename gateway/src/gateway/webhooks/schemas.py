"""Bodies of the webhook routes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictBool, StringConstraints

from servicekit.schemas import InputModel, ReadModel

Url = Annotated[str, StringConstraints(min_length=1, max_length=2048)]
EventTypePattern = Annotated[str, StringConstraints(min_length=1, max_length=80)]
EventTypes = Annotated[list[EventTypePattern], Field(min_length=1, max_length=50)]
Description = Annotated[str, StringConstraints(max_length=500)]
DeliveryStatus = Literal["pending", "succeeded", "failed"]

EVENT_TYPES_DOC = (
    "Event types to receive (see `GET /v1/event-types`); `<resource>.*` selects every change of "
    "one resource (e.g. `submission.*`), `*` everything."
)


class SubscriptionCreate(InputModel):
    """A new subscription; its signing secret is generated and shown once."""

    url: Url = Field(
        description="Where to POST events: https, on a public address.",
        examples=["https://hooks.example.org/scrutiny"],
    )
    event_types: EventTypes = Field(
        description=EVENT_TYPES_DOC, examples=[["submission.published", "rating.*"]]
    )
    description: Description | None = Field(default=None, examples=["Dashboard refresh"])
    active: StrictBool = True
    include_private: StrictBool = Field(
        default=False,
        description="Also deliver private events (unpublished evidence, drafts). Only a token "
        "with the `admin` scope may set this; every other subscription gets public events only.",
    )


class SubscriptionUpdate(InputModel):
    """A JSON merge patch of a subscription; absent fields are left as they are."""

    url: Url | None = None
    event_types: EventTypes | None = Field(default=None, description=EVENT_TYPES_DOC)
    description: Description | None = None
    active: StrictBool | None = Field(
        default=None,
        description="false pauses deliveries; true re-enables a disabled subscription (its "
        "failure count starts again, and pending deliveries resume).",
    )
    include_private: StrictBool | None = Field(default=None, description="Admin only.")


class SubscriptionRead(ReadModel):
    """A webhook subscription (never its secret)."""

    id: uuid.UUID
    url: str
    event_types: list[str]
    description: str | None
    active: bool
    include_private: bool
    owner_client_id: str = Field(description="The API client that owns it.")
    owner_organisation: str
    consecutive_failures: int = Field(description="Failed attempts in a row (0 when healthy).")
    failing_since: datetime | None = Field(description="Start of the current run of failures.")
    disabled_at: datetime | None
    disabled_reason: str | None = Field(
        description="Why deliveries stopped: a 410 Gone, a run of failures, or the owner.",
        examples=["the receiver answered 410 Gone"],
    )
    previous_secret_expires_at: datetime | None = Field(
        description="Until then deliveries carry a second signature with the previous secret."
    )
    created_at: datetime
    updated_at: datetime


class SubscriptionCreated(SubscriptionRead):
    """A new subscription with its secret: store it now, it is never shown again."""

    secret: str = Field(
        description="The Standard Webhooks signing secret (`whsec_` + base64).",
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    )


class SecretRotated(BaseModel):
    """A subscription's new signing secret: store it now, it is never shown again."""

    id: uuid.UUID
    secret: str
    previous_secret_expires_at: datetime | None = Field(
        description="The old secret also signs deliveries until then, so receivers can roll over."
    )


class AttemptRead(ReadModel):
    """One HTTP attempt of a delivery."""

    id: uuid.UUID
    attempted_at: datetime = Field(validation_alias="created_at")
    outcome: Literal[
        "succeeded", "failed", "timeout", "redirect", "gone", "forbidden_address", "error"
    ]
    status_code: int | None = Field(description="The receiver's HTTP status, if it answered.")
    latency_ms: float | None
    error: str | None
    replay: bool = Field(description="Made after a replay was asked for.")


class DeliveryRead(ReadModel):
    """One event owed to a subscription: its state and every attempt so far."""

    id: uuid.UUID
    subscription_id: uuid.UUID
    event_id: uuid.UUID = Field(description="The log event; sent as `webhook-id`.")
    event_position: int
    event_type: str
    status: DeliveryStatus = Field(
        description="pending (in progress or waiting to retry), succeeded, or failed (retries "
        "exhausted, or the receiver answered 410); replay a failed one to try again."
    )
    attempt_count: int
    next_attempt_at: datetime | None = Field(description="When the next attempt is due.")
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    succeeded_at: datetime | None
    created_at: datetime
    attempts: list[AttemptRead] = Field(description="Oldest first (at most the last 50).")
