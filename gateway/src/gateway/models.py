"""Gateway tables (its own MetaData): API clients, signing keys, the gateway's event log,
webhook subscriptions with their deliveries, and the idempotency keys of its creates."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column
from sqlalchemy.types import Uuid

from servicekit.consumer import ConsumerPositionMixin
from servicekit.db import IdMixin, UTCDateTime, VersionedMixin, new_metadata
from servicekit.idempotency import IdempotencyKeyMixin
from servicekit.ids import utcnow
from servicekit.outbox import EventMixin, event_table_args

metadata = new_metadata()


class Base(DeclarativeBase):
    """The gateway's declarative base (what servicekit.db.make_base builds, spelled out so the
    type checker sees a real class)."""

    metadata = metadata


class ApiClient(IdMixin, VersionedMixin, Base):
    """A system that calls the API with client credentials, acting for an organisation."""

    __tablename__ = "api_clients"
    __table_args__ = (
        Index("ix_api_clients_keyset", "created_at", "id"),
        Index("ix_api_clients_organisation", "organisation", "created_at", "id"),
    )

    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    organisation: Mapped[str] = mapped_column(String(300))
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Argon2id PHC string; the secret itself is never stored.
    secret_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    rate_limit_per_minute: Mapped[int | None] = mapped_column(Integer)
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Made by the operator's command for one of Scrutiny's own services (`manage clients create
    # --service`): the only clients that may hold a reserved scope (`events:internal`).
    service: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class SigningKey(Base):
    """A token-signing key pair; retired keys stay published while tokens they signed live."""

    __tablename__ = "signing_keys"
    __table_args__ = (Index("ix_signing_keys_created", "created_at"),)

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    algorithm: Mapped[str] = mapped_column(String(16), default="ES256")
    private_key_pem: Mapped[str] = mapped_column(Text)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Event(EventMixin, Base):
    """The gateway's event log: its own events (source `gateway`) and every service's, imported
    from their feeds, in one total order. The public feed and webhooks read from here."""

    __tablename__ = "events"
    # Imported rows get ids in import order, so a pass numbers each source's events in the
    # order that source's feed gave them (its `occurred_at` order may differ: late commits).
    __feed_order__ = ("id",)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[object, ...]:  # noqa: N805 - declared_attr
        return event_table_args(
            # One log row per source event, however often a batch is fetched again.
            UniqueConstraint("source", "source_event_id"),
        )

    source: Mapped[str] = mapped_column(String(40), default="gateway", server_default="gateway")
    # The event's id and position in its source's feed (null for the gateway's own events).
    source_event_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    source_position: Mapped[int | None] = mapped_column(BigInteger)


class IdempotencyKey(IdempotencyKeyMixin, Base):
    """Idempotency keys of retried creates (API clients, webhook subscriptions)."""

    __tablename__ = "idempotency_keys"


class ConsumerPosition(ConsumerPositionMixin, Base):
    """How far the gateway has read each service's feed, and how far webhooks have fanned out."""

    __tablename__ = "consumer_positions"


class WebhookSubscription(IdMixin, VersionedMixin, Base):
    """A URL that receives the log's events of some types, signed with its secret."""

    __tablename__ = "webhook_subscriptions"
    __table_args__ = (
        Index("ix_webhook_subscriptions_keyset", "created_at", "id"),
        Index("ix_webhook_subscriptions_owner", "owner_client_id", "created_at", "id"),
    )

    owner_client_id: Mapped[str] = mapped_column(String(64))
    owner_organisation: Mapped[str] = mapped_column(String(300))
    url: Mapped[str] = mapped_column(String(2048))
    event_types: Mapped[list[str]] = mapped_column(JSON)
    description: Mapped[str | None] = mapped_column(String(500))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Private events too (only a subscription made with the admin scope may ask).
    include_private: Mapped[bool] = mapped_column(Boolean, default=False)
    # `whsec_` + base64 of 32 random bytes; needed in the clear to sign. The previous secret
    # keeps signing alongside the new one for a grace period after a rotation.
    secret: Mapped[str] = mapped_column(String(100))
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Events at or below this log position predate the subscription and are not delivered.
    start_position: Mapped[int] = mapped_column(BigInteger, default=0)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_reason: Mapped[str | None] = mapped_column(String(300))


class WebhookDelivery(IdMixin, Base):
    """One event owed to one subscription, with its retry state."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_subscription", "subscription_id", "created_at", "id"),
    )

    subscription_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id"))
    event_position: Mapped[int] = mapped_column(BigInteger)
    event_type: Mapped[str] = mapped_column(String(80))
    # pending → succeeded | failed (retries exhausted); a replay makes it pending again.
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    # Attempts since the last (re)start of the schedule: indexes the retry schedule.
    series_attempts: Mapped[int] = mapped_column(Integer, default=0)
    # The current series was asked for by a replay (its attempts are marked so in the log).
    replayed: Mapped[bool] = mapped_column(Boolean, default=False)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    succeeded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class WebhookAttempt(IdMixin, Base):
    """One HTTP attempt of a delivery: the delivery log."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery", "delivery_id", "created_at", "id"),)

    delivery_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE")
    )
    # succeeded, failed, timeout, redirect, gone, forbidden_address, error
    outcome: Mapped[str] = mapped_column(String(30))
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(String(500))
    replay: Mapped[bool] = mapped_column(Boolean, default=False)
