"""Commitments service tables (its own MetaData: no other service's tables are visible here)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import Uuid

from servicekit.db import IdMixin, VersionedMixin, make_base, new_metadata
from servicekit.outbox import EventMixin

metadata = new_metadata()
Base: Any = make_base(metadata)


class Source(IdMixin, VersionedMixin, Base):
    """A document commitments come from: a plan, strategy, review, report, response, manifesto."""

    __tablename__ = "sources"
    __table_args__ = (Index("ix_sources_keyset", "created_at", "id"),)

    reference: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    publisher: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(40))
    published_on: Mapped[date | None] = mapped_column(Date)
    url: Mapped[str | None] = mapped_column(String(2000))


class PolicyArea(IdMixin, VersionedMixin, Base):
    """A policy area commitments are grouped under."""

    __tablename__ = "policy_areas"
    __table_args__ = (Index("ix_policy_areas_keyset", "created_at", "id"),)

    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)


class Commitment(IdMixin, VersionedMixin, Base):
    """Something a government said it would do, in the words it used."""

    __tablename__ = "commitments"
    __table_args__ = (
        Index("ix_commitments_keyset", "created_at", "id"),
        Index("ix_commitments_policy_area", "policy_area_id", "created_at", "id"),
        Index("ix_commitments_source", "source_id", "created_at", "id"),
        Index("ix_commitments_status", "status", "created_at", "id"),
    )

    reference: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    text: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20))
    policy_area_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("policy_areas.id"))
    source_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("sources.id"))
    lead_bodies: Mapped[list[str]] = mapped_column(JSON, default=list)
    made_on: Mapped[date | None] = mapped_column(Date)
    due_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))
    superseded_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("commitments.id"))

    policy_area: Mapped[PolicyArea] = relationship(lazy="raise")
    source: Mapped[Source] = relationship(lazy="raise")


class Event(EventMixin, Base):
    """The transactional outbox and feed."""

    __tablename__ = "events"
