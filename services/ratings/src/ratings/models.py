"""Ratings service tables (its own MetaData: no other service's tables are visible here)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import Uuid

from servicekit.consumer import ConsumerPositionMixin
from servicekit.db import IdMixin, UTCDateTime, VersionedMixin, new_metadata
from servicekit.idempotency import IdempotencyKeyMixin
from servicekit.ids import utcnow
from servicekit.outbox import EventMixin

metadata = new_metadata()


class Base(DeclarativeBase):
    """The declarative base of this service's tables, bound to its own MetaData."""

    metadata = metadata


class KnownCommitment(Base):
    """The read model of the commitments service: what an evaluation may be about.

    Fed only from the commitments service's event feed; it is the only place this service learns a
    commitment's policy area, so writes here never wait on the commitments service.
    """

    __tablename__ = "known_commitments"

    # The commitments service's id, not one of ours.
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    reference: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(500))
    policy_area_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    status: Mapped[str] = mapped_column(String(20))
    synced_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )


class KnownSubmission(Base):
    """The read model of the evidence service: which submissions a rating may cite.

    Fed only from the evidence service's event feed (every `submission.*` event overwrites the
    row), so a citation is checked here, never by a call to the evidence service.
    """

    __tablename__ = "known_submissions"

    # The evidence service's id, not one of ours.
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    # Small (a submission is about a handful of commitments) and only read whole, by id.
    commitment_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    synced_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )


class ConsumerPosition(ConsumerPositionMixin, Base):
    """How far each consumed feed has been applied."""

    __tablename__ = "consumer_positions"


class Evaluation(IdMixin, VersionedMixin, Base):
    """A panel's evaluation of a set of commitments on a scale, across dimensions."""

    __tablename__ = "evaluations"
    __table_args__ = (
        Index("ix_evaluations_keyset", "created_at", "id"),
        Index("ix_evaluations_status", "status", "created_at", "id"),
    )

    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(String(300))
    chair: Mapped[str | None] = mapped_column(String(300))
    members: Mapped[list[str]] = mapped_column(JSON, default=list)
    # [{code, label, score}], best first; [{code, label}]. Small, read whole with the evaluation.
    scale: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    dimensions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    aggregation_rule: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20))
    published_on: Mapped[date | None] = mapped_column(Date)
    # A re-evaluation names the evaluation it follows; its ratings are shown beside the new ones.
    previous_evaluation_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("evaluations.id"), index=True
    )
    # Who published it and when. Set once: a published evaluation stays on the public record even
    # if it is later withdrawn, which is also what makes it (and its events) public.
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_by_client_id: Mapped[str | None] = mapped_column(String(200))
    published_by_organisation: Mapped[str | None] = mapped_column(String(300))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by_client_id: Mapped[str | None] = mapped_column(String(200))
    withdrawal_reason: Mapped[str | None] = mapped_column(Text)
    # The client that created it: until the panel has a chair, the only one who may seat it.
    created_by_client_id: Mapped[str | None] = mapped_column(String(200))
    # The factual-accuracy check: the rated body's client, when it was sent, the last day of its
    # window, and the chair's reason for publishing before the window closed.
    fa_client_id: Mapped[str | None] = mapped_column(String(200))
    fa_organisation: Mapped[str | None] = mapped_column(String(300))
    fa_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fa_closes_on: Mapped[date | None] = mapped_column(Date)
    fa_waiver_reason: Mapped[str | None] = mapped_column(Text)
    # 1 from publication; each correction publishes the next (every one stays readable).
    published_version: Mapped[int | None] = mapped_column(Integer)


class EvaluationCommitment(Base):
    """A commitment in an evaluation's scope, at its place in the evaluation's order."""

    __tablename__ = "evaluation_commitments"
    __table_args__ = (
        UniqueConstraint("evaluation_id", "position"),
        Index("ix_evaluation_commitments_commitment", "commitment_id"),
    )

    evaluation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("evaluations.id", ondelete="CASCADE"), primary_key=True
    )
    commitment_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("known_commitments.id"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer)


class Rating(IdMixin, VersionedMixin, Base):
    """The one rating of a commitment in an evaluation, with its overall as computed when saved."""

    __tablename__ = "ratings"
    __table_args__ = (
        UniqueConstraint("evaluation_id", "commitment_id"),
        Index("ix_ratings_commitment", "commitment_id", "created_at", "id"),
    )

    evaluation_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("evaluations.id"))
    commitment_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("known_commitments.id"))
    levels: Mapped[dict[str, str]] = mapped_column(JSON)
    rationales: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    cited_submission_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20))
    agreed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    agreed_by_client_id: Mapped[str | None] = mapped_column(String(200))
    # Stored rather than recomputed on read so lists and reports stay one query and a rating
    # keeps the overall (and its explanation) it was saved with. Null while a draft leaves a
    # dimension unrated: there is no honest overall of part of the dimensions.
    rule: Mapped[str] = mapped_column(String(40))
    computed_level: Mapped[str | None] = mapped_column(String(40))
    computed_score: Mapped[int | None] = mapped_column(Integer)
    explanation: Mapped[str | None] = mapped_column(Text)
    override_level: Mapped[str | None] = mapped_column(String(40))
    override_reason: Mapped[str | None] = mapped_column(Text)
    overall_level: Mapped[str | None] = mapped_column(String(40))
    overall_score: Mapped[int | None] = mapped_column(Integer)


class PanelMember(IdMixin, Base):
    """A person on an evaluation's panel, their role, and the API client that acts for them.

    One client may act for several people (a secretariat keys in the chair's decisions), so a
    client's powers in an evaluation are the union of the roles of the members it acts for.
    """

    __tablename__ = "panel_members"
    __table_args__ = (
        Index("ix_panel_members_evaluation", "evaluation_id", "created_at", "id"),
        Index("ix_panel_members_client", "client_id", "evaluation_id"),
    )

    evaluation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("evaluations.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20))
    client_id: Mapped[str] = mapped_column(String(200))


class DeclaredInterest(IdMixin, Base):
    """A member's declared interest in a commitment, a source or an organisation."""

    __tablename__ = "declared_interests"
    __table_args__ = (Index("ix_declared_interests_member", "member_id", "created_at", "id"),)

    evaluation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("evaluations.id", ondelete="CASCADE"), index=True
    )
    member_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("panel_members.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(20))
    # Exactly one of these, by kind: a commitment (recusal follows), a source, an organisation.
    commitment_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    source_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    organisation: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    declared_on: Mapped[date] = mapped_column(Date)


class Score(IdMixin, VersionedMixin, Base):
    """One member's own levels and rationales for one commitment, before the panel agrees."""

    __tablename__ = "scores"
    __table_args__ = (
        UniqueConstraint("evaluation_id", "commitment_id", "member_id"),
        Index("ix_scores_member", "member_id"),
    )

    evaluation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("evaluations.id", ondelete="CASCADE")
    )
    commitment_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("known_commitments.id"))
    member_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("panel_members.id", ondelete="CASCADE")
    )
    levels: Mapped[dict[str, str]] = mapped_column(JSON)
    rationales: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)


class FactualAccuracyComment(IdMixin, VersionedMixin, Base):
    """The rated body's comment on one draft rating, and the panel's decision on it."""

    __tablename__ = "factual_accuracy_comments"
    __table_args__ = (Index("ix_fa_comments_evaluation", "evaluation_id", "created_at", "id"),)

    evaluation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("evaluations.id", ondelete="CASCADE")
    )
    commitment_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("known_commitments.id"))
    text: Mapped[str] = mapped_column(Text)
    submitted_by_client_id: Mapped[str] = mapped_column(String(200))
    organisation: Mapped[str] = mapped_column(String(300))
    decision: Mapped[str | None] = mapped_column(String(20))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_client_id: Mapped[str | None] = mapped_column(String(200))


class EvaluationVersion(Base):
    """A correction: the version it published, its notice, and the version before it whole (as
    readers saw it), so every version stays readable."""

    __tablename__ = "evaluation_versions"

    evaluation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("evaluations.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Version `version - 1`: the evaluation and its summary (every rating) as read; read whole.
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    what_changed: Mapped[str | None] = mapped_column(Text)
    why: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_by_client_id: Mapped[str] = mapped_column(String(200))


class EvaluationResponse(IdMixin, Base):
    """A body's response to a published evaluation, or to one of its ratings."""

    __tablename__ = "responses"
    __table_args__ = (Index("ix_responses_evaluation", "evaluation_id", "created_at", "id"),)

    evaluation_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("evaluations.id"))
    # Set when the response is to one commitment's rating rather than the whole evaluation.
    commitment_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("known_commitments.id")
    )
    respondent: Mapped[str] = mapped_column(String(300))
    # The position on the evaluation as a whole; null when the response answers only
    # commitment by commitment (its items).
    position: Mapped[str | None] = mapped_column(String(30))
    text: Mapped[str] = mapped_column(Text)
    received_on: Mapped[date] = mapped_column(Date)
    recorded_by_client_id: Mapped[str] = mapped_column(String(200))
    recorded_by_organisation: Mapped[str] = mapped_column(String(300))


class ResponseItem(Base):
    """A response's position on one commitment (a recommendation, in committee terms)."""

    __tablename__ = "response_items"
    __table_args__ = (Index("ix_response_items_commitment", "commitment_id", "response_id"),)

    response_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("responses.id"), primary_key=True
    )
    commitment_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("known_commitments.id"), primary_key=True
    )
    # The item's place in the response as the respondent ordered it.
    ordinal: Mapped[int] = mapped_column(Integer)
    position: Mapped[str] = mapped_column(String(30))
    text: Mapped[str] = mapped_column(Text)


class ResponseOverdueNotice(Base):
    """That `response.overdue` was emitted for an evaluation: the sweep emits it once.

    Not an overdue flag (whether a response is overdue is always derived from the dates and
    the responses received); only the record that the event has gone out.
    """

    __tablename__ = "response_overdue_notices"

    evaluation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("evaluations.id"), primary_key=True
    )
    due_on: Mapped[date] = mapped_column(Date)
    emitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IdempotencyKey(IdempotencyKeyMixin, Base):
    """Idempotency keys of retried creates (evaluations, responses)."""

    __tablename__ = "idempotency_keys"


class Event(EventMixin, Base):
    """The transactional outbox and feed."""

    __tablename__ = "events"
