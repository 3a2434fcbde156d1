"""Evidence service tables (its own MetaData: no other service's tables are visible here)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import Uuid

from servicekit.consumer import ConsumerPositionMixin
from servicekit.db import IdMixin, UTCDateTime, VersionedMixin, new_metadata
from servicekit.idempotency import IdempotencyKeyMixin
from servicekit.outbox import EventMixin

metadata = new_metadata()


class Base(DeclarativeBase):
    """The evidence service's declarative base, on its own MetaData."""

    metadata = metadata


class KnownCommitment(Base):
    """The read model of the commitments service's commitments, fed from its event feed.

    Submissions are checked against this table, never by calling the commitments service, so
    evidence is still accepted while that service is down.
    """

    __tablename__ = "known_commitments"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    reference: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(500))
    policy_area_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    status: Mapped[str] = mapped_column(String(20))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Submission(IdMixin, VersionedMixin, Base):
    """A piece of evidence a stakeholder submitted against one or more commitments."""

    __tablename__ = "submissions"
    __table_args__ = (
        Index("ix_submissions_keyset", "created_at", "id"),
        Index("ix_submissions_status", "status", "created_at", "id"),
        Index("ix_submissions_submitter", "submitter_client_id", "created_at", "id"),
    )

    submitter_client_id: Mapped[str] = mapped_column(String(200))
    submitter_organisation: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str | None] = mapped_column(String(2000))
    body: Mapped[str] = mapped_column(Text)
    stance: Mapped[str] = mapped_column(String(20))
    consent: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20))
    receipt_reference: Mapped[str] = mapped_column(String(20), unique=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    content_sha256: Mapped[str] = mapped_column(String(64))
    publication_reference: Mapped[str | None] = mapped_column(String(20), unique=True)

    commitments: Mapped[list[SubmissionCommitment]] = relationship(
        lazy="raise",
        order_by="SubmissionCommitment.position",
        cascade="all, delete-orphan",
    )


class SubmissionCommitment(Base):
    """Which commitments a submission is about, in the order the submitter gave them."""

    __tablename__ = "submission_commitments"
    __table_args__ = (
        # The `commitment_id` filter of the submissions list starts here.
        Index("ix_submission_commitments_commitment", "commitment_id", "submission_id"),
    )

    submission_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True
    )
    commitment_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("known_commitments.id"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer)


class ConsumerPosition(ConsumerPositionMixin, Base):
    """How far each consumed feed has been applied."""

    __tablename__ = "consumer_positions"


class IdempotencyKey(IdempotencyKeyMixin, Base):
    """Idempotency keys of retried creates (submissions)."""

    __tablename__ = "idempotency_keys"


class Event(EventMixin, Base):
    """The transactional outbox and feed."""

    __tablename__ = "events"
