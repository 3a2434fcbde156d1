"""Gateway tables (its own MetaData): API clients, signing keys, and the gateway's event log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from servicekit.db import IdMixin, UTCDateTime, VersionedMixin, new_metadata
from servicekit.ids import utcnow
from servicekit.outbox import EventMixin

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
    """The gateway's outbox and event log (later also the public feed gathered from services)."""

    __tablename__ = "events"
