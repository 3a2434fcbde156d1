"""All SQL of the commitments service."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import date
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    TextClause,
    and_,
    bindparam,
    column,
    delete,
    false,
    func,
    insert,
    not_,
    or_,
    select,
    table,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from commitments.models import (
    PG_SEARCH_VECTOR,
    SQLITE_SEARCH_TABLE,
    Commitment,
    LeadBody,
    LineageLink,
    Milestone,
    OverdueNotice,
    PolicyArea,
    Reading,
    Revision,
    SelfAssessment,
    Source,
    Target,
)
from commitments.schemas import SETTLED, CommitmentSort, ProgressStatus
from servicekit.pagination import PageParams, keyset_page, sorted_keyset_page


async def list_sources(
    session: AsyncSession, params: PageParams, *, reference: Sequence[str], kind: Sequence[str]
) -> tuple[list[Source], str | None]:
    """A page of sources."""
    stmt = select(Source)
    if reference:
        stmt = stmt.where(Source.reference.in_(reference))
    if kind:
        stmt = stmt.where(Source.kind.in_(kind))
    return await keyset_page(session, stmt, Source.created_at, Source.id, params)


async def list_policy_areas(
    session: AsyncSession, params: PageParams, *, slug: Sequence[str], ids: Sequence[uuid.UUID]
) -> tuple[list[PolicyArea], str | None]:
    """A page of policy areas."""
    stmt = select(PolicyArea)
    if slug:
        stmt = stmt.where(PolicyArea.slug.in_(slug))
    if ids:
        stmt = stmt.where(PolicyArea.id.in_(ids))
    return await keyset_page(session, stmt, PolicyArea.created_at, PolicyArea.id, params)


def dialect(session: AsyncSession) -> str:
    """The database's dialect name (`postgresql` or `sqlite`)."""
    bind = session.bind
    assert bind is not None
    return bind.dialect.name


# --- full-text search --------------------------------------------------------------------------


def search_words(q: str) -> list[str]:
    """The words of a query; punctuation and operators are not syntax (every word must match)."""
    return re.findall(r"\w+", q)


def search_condition(session: AsyncSession, q: str) -> ColumnElement[bool] | TextClause:
    """Commitments whose reference, title or text contain every word of `q` (stemmed)."""
    words = search_words(q)
    if not words:
        return false()
    if dialect(session) == "postgresql":
        # The same expression as the GIN index `ix_commitments_search`, so the index serves it.
        # The query as typed: PostgreSQL's parser splits it the way it split the text (e.g.
        # "PDHSC-1a"); plainto_tsquery treats no character as an operator.
        return text(f"{PG_SEARCH_VECTOR} @@ plainto_tsquery('english', :q)").bindparams(q=q)
    fts = table(SQLITE_SEARCH_TABLE, column("commitment_id"))
    match = " ".join(f'"{w}"' for w in words)
    hits = select(fts.c.commitment_id).where(
        text(f"{SQLITE_SEARCH_TABLE} MATCH :match").bindparams(match=match)
    )
    return Commitment.id.in_(hits)


# --- commitments -------------------------------------------------------------------------------

_SORT_COLUMNS: dict[CommitmentSort, tuple[Any, bool]] = {
    CommitmentSort.due_on: (Commitment.due_on, False),
    CommitmentSort.due_on_desc: (Commitment.due_on, True),
    CommitmentSort.reference: (Commitment.reference, False),
    CommitmentSort.reference_desc: (Commitment.reference, True),
}


async def list_commitments(
    session: AsyncSession,
    params: PageParams,
    *,
    reference: Sequence[str] = (),
    policy_area_id: Sequence[uuid.UUID] = (),
    source_id: Sequence[uuid.UUID] = (),
    status: Sequence[str] = (),
    kind: Sequence[str] = (),
    ids: Sequence[uuid.UUID] = (),
    lead_body: Sequence[str] = (),
    due_before: date | None = None,
    due_after: date | None = None,
    has_targets: bool | None = None,
    off_track: bool | None = None,
    overdue: tuple[bool, date] | None = None,
    q: str | None = None,
    sort: CommitmentSort = CommitmentSort.created_at,
) -> tuple[list[Commitment], str | None]:
    """A page of commitments matching every filter given (each filter any-of), in `sort` order."""
    stmt = select(Commitment)
    for col, values in (
        (Commitment.reference, reference),
        (Commitment.policy_area_id, policy_area_id),
        (Commitment.source_id, source_id),
        (Commitment.status, status),
        (Commitment.kind, kind),
        (Commitment.id, ids),
    ):
        if values:
            stmt = stmt.where(col.in_(values))
    if lead_body:
        led = select(LeadBody.commitment_id).where(LeadBody.body.in_(lead_body))
        stmt = stmt.where(Commitment.id.in_(led))
    if due_before is not None:
        stmt = stmt.where(Commitment.due_on < due_before)
    if due_after is not None:
        stmt = stmt.where(Commitment.due_on > due_after)
    if overdue is not None:
        stmt = stmt.where(overdue_clause(overdue[1], overdue[0]))
    # Spelled like the partial indexes' predicates, so the planner can use them.
    if has_targets is not None:
        stmt = stmt.where(text("target_count > 0") if has_targets else Commitment.target_count == 0)
    if off_track is not None:
        stmt = stmt.where(
            text("off_track_count > 0") if off_track else Commitment.off_track_count == 0
        )
    if q is not None:
        stmt = stmt.where(search_condition(session, q))
    if sort is CommitmentSort.created_at:
        return await keyset_page(session, stmt, Commitment.created_at, Commitment.id, params)
    col, descending = _SORT_COLUMNS[sort]
    return await sorted_keyset_page(
        session, stmt, col, Commitment.id, params, descending=descending
    )


async def replace_lead_bodies(
    session: AsyncSession, commitment_id: uuid.UUID, bodies: Sequence[str]
) -> None:
    """Make the lead-body index rows of a commitment match its `lead_bodies`."""
    await session.execute(delete(LeadBody).where(LeadBody.commitment_id == commitment_id))
    unique = list(dict.fromkeys(bodies))
    if unique:
        await session.execute(
            insert(LeadBody), [{"body": b, "commitment_id": commitment_id} for b in unique]
        )


async def refresh_target_counts(session: AsyncSession, commitment_id: uuid.UUID) -> None:
    """Recount a commitment's targets and off-track targets (no version bump: derived data)."""
    of = Target.commitment_id == commitment_id
    off = Target.progress_status == ProgressStatus.off_track.value
    await session.execute(
        update(Commitment)
        .where(Commitment.id == commitment_id)
        .values(
            target_count=select(func.count()).where(of).scalar_subquery(),
            off_track_count=select(func.count()).where(of, off).scalar_subquery(),
        )
        .execution_options(synchronize_session=False)
    )


async def by_references(
    session: AsyncSession, model: type[Any], key: Any, values: Sequence[str]
) -> dict[str, Any]:
    """Rows whose natural key (reference or slug) is one of `values`, by that key."""
    found: dict[str, Any] = {}
    values = list(dict.fromkeys(values))
    for i in range(0, len(values), 500):
        chunk = values[i : i + 500]
        for row in (await session.scalars(select(model).where(key.in_(chunk)))).all():
            found[getattr(row, key.key)] = row
    return found


async def by_ids(
    session: AsyncSession, model: type[Any], ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Any]:
    """Rows by id."""
    found: dict[uuid.UUID, Any] = {}
    ids = list(dict.fromkeys(ids))
    for i in range(0, len(ids), 500):
        rows = await session.scalars(select(model).where(model.id.in_(ids[i : i + 500])))
        found.update({r.id: r for r in rows.all()})
    return found


# --- targets and readings ----------------------------------------------------------------------


_C = Commitment.__table__
_T = Target.__table__
# The hot read (`GET /v1/commitments/{id}`) in one Core statement: the commitment LEFT JOIN its
# targets. One round trip instead of two, and rows instead of ORM objects (no identity map, no
# instance state): measured in bench/, it is most of what separates the service from the floor.
_DETAIL = (
    select(_C, *(c.label(f"t_{c.name}") for c in _T.columns))
    .select_from(_C.outerjoin(_T, _T.c.commitment_id == _C.c.id))
    .where(_C.c.id == bindparam("id"))
    .order_by(_T.c.created_at, _T.c.id)
)


async def commitment_with_targets(session: AsyncSession, id: uuid.UUID) -> Sequence[Row[Any]]:
    """A commitment's row once per target (target columns prefixed `t_`, null without targets)."""
    return (await session.execute(_DETAIL, {"id": id})).all()


async def targets_of(session: AsyncSession, commitment_id: uuid.UUID) -> list[Target]:
    """Every target of a commitment, oldest first."""
    stmt = (
        select(Target)
        .where(Target.commitment_id == commitment_id)
        .order_by(Target.created_at, Target.id)
    )
    return list((await session.scalars(stmt)).all())


async def list_targets(
    session: AsyncSession, params: PageParams, commitment_id: uuid.UUID
) -> tuple[list[Target], str | None]:
    """A page of a commitment's targets."""
    stmt = select(Target).where(Target.commitment_id == commitment_id)
    return await keyset_page(session, stmt, Target.created_at, Target.id, params)


async def readings_of(
    session: AsyncSession, target_ids: Sequence[uuid.UUID], *, up_to: date | None = None
) -> dict[uuid.UUID, list[Reading]]:
    """Readings of targets, oldest first by date (then by when recorded), optionally to a date."""
    if not target_ids:
        return {}
    stmt = select(Reading).where(Reading.target_id.in_(target_ids))
    if up_to is not None:
        stmt = stmt.where(Reading.as_of <= up_to)
    stmt = stmt.order_by(Reading.target_id, Reading.as_of, Reading.created_at, Reading.id)
    found: dict[uuid.UUID, list[Reading]] = {t: [] for t in target_ids}
    for r in (await session.scalars(stmt)).all():
        found[r.target_id].append(r)
    return found


async def earliest_reading_on(session: AsyncSession, target_id: uuid.UUID) -> date | None:
    """The date of a target's earliest reading."""
    return await session.scalar(
        select(func.min(Reading.as_of)).where(Reading.target_id == target_id)
    )


async def set_progress(session: AsyncSession, target_id: uuid.UUID, **values: Any) -> None:
    """Store a target's recomputed progress (no version bump: derived from its readings)."""
    await session.execute(
        update(Target)
        .where(Target.id == target_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


async def list_readings(
    session: AsyncSession, params: PageParams, target_id: uuid.UUID
) -> tuple[list[Reading], str | None]:
    """A page of a target's readings, in the order they were recorded."""
    stmt = select(Reading).where(Reading.target_id == target_id)
    return await keyset_page(session, stmt, Reading.created_at, Reading.id, params)


# --- revisions ---------------------------------------------------------------------------------


async def latest_revision(session: AsyncSession, commitment_id: uuid.UUID) -> Revision | None:
    """A commitment's latest revision."""
    stmt = (
        select(Revision)
        .where(Revision.commitment_id == commitment_id)
        .order_by(Revision.number.desc())
        .limit(1)
    )
    return await session.scalar(stmt)


async def revision_as_of(
    session: AsyncSession, commitment_id: uuid.UUID, as_of: date
) -> Revision | None:
    """The revision in force on a date (effective dates never decrease with the number)."""
    stmt = (
        select(Revision)
        .where(
            Revision.commitment_id == commitment_id,
            or_(Revision.effective_on.is_(None), Revision.effective_on <= as_of),
        )
        .order_by(Revision.number.desc())
        .limit(1)
    )
    return await session.scalar(stmt)


async def list_revisions(
    session: AsyncSession, params: PageParams, commitment_id: uuid.UUID
) -> tuple[list[Revision], str | None]:
    """A page of a commitment's revisions, oldest first."""
    stmt = select(Revision).where(Revision.commitment_id == commitment_id)
    return await keyset_page(session, stmt, Revision.created_at, Revision.id, params)


# --- lineage -----------------------------------------------------------------------------------


async def successor_links(session: AsyncSession, commitment_id: uuid.UUID) -> list[LineageLink]:
    """The links from a commitment to its successors."""
    stmt = select(LineageLink).where(LineageLink.predecessor_id == commitment_id)
    return list((await session.scalars(stmt.order_by(LineageLink.created_at))).all())


async def successor_ids(session: AsyncSession, ids: set[uuid.UUID]) -> set[uuid.UUID]:
    """The direct successors of any of these commitments."""
    stmt = select(LineageLink.successor_id).where(LineageLink.predecessor_id.in_(ids))
    return set((await session.scalars(stmt)).all())


async def list_links(
    session: AsyncSession,
    params: PageParams,
    commitment_id: uuid.UUID,
    *,
    successors: bool = True,
    predecessors: bool = True,
) -> tuple[list[LineageLink], str | None]:
    """A page of the links with a commitment at either end (or the chosen end)."""
    ends = []
    if successors:
        ends.append(LineageLink.predecessor_id == commitment_id)
    if predecessors:
        ends.append(LineageLink.successor_id == commitment_id)
    stmt = select(LineageLink).where(or_(*ends))
    return await keyset_page(session, stmt, LineageLink.created_at, LineageLink.id, params)


async def all_links(session: AsyncSession) -> list[LineageLink]:
    """Every lineage link, in the order recorded."""
    stmt = select(LineageLink).order_by(LineageLink.created_at, LineageLink.id)
    return list((await session.scalars(stmt)).all())


# --- export ------------------------------------------------------------------------------------


async def stream_ordered(
    session: AsyncSession, stmt: Select[Any], key: Any, *, batch: int = 500
) -> AsyncIterator[Any]:
    """Every row of `stmt` in `key` order (a unique column), read in keyset batches."""
    last: Any = None
    while True:
        page = stmt if last is None else stmt.where(key > last)
        rows = list((await session.scalars(page.order_by(key).limit(batch))).all())
        for row in rows:
            yield row
        if len(rows) < batch:
            return
        last = getattr(rows[-1], key.key)


# --- milestones, self-assessments, overdue -----------------------------------------------------


async def list_milestones(
    session: AsyncSession, params: PageParams, commitment_id: uuid.UUID
) -> tuple[list[Milestone], str | None]:
    """A page of a commitment's milestones, oldest first."""
    stmt = select(Milestone).where(Milestone.commitment_id == commitment_id)
    return await keyset_page(session, stmt, Milestone.created_at, Milestone.id, params)


async def completion_of(session: AsyncSession, commitment_id: uuid.UUID) -> tuple[int, int]:
    """(milestones, milestones met) of a commitment."""
    stmt = select(func.count(), func.count(Milestone.met_on)).where(
        Milestone.commitment_id == commitment_id
    )
    total, met = (await session.execute(stmt)).one()
    return int(total), int(met)


async def list_self_assessments(
    session: AsyncSession, params: PageParams, commitment_id: Sequence[uuid.UUID]
) -> tuple[list[SelfAssessment], str | None]:
    """A page of self-assessments (of these commitments, if any are named), oldest first."""
    stmt = select(SelfAssessment)
    if commitment_id:
        stmt = stmt.where(SelfAssessment.commitment_id.in_(commitment_id))
    return await keyset_page(session, stmt, SelfAssessment.created_at, SelfAssessment.id, params)


async def latest_self_assessment(
    session: AsyncSession, commitment_id: uuid.UUID
) -> SelfAssessment | None:
    """The most recent self-assessment by its date (then by when it was recorded)."""
    stmt = (
        select(SelfAssessment)
        .where(SelfAssessment.commitment_id == commitment_id)
        .order_by(SelfAssessment.assessed_on.desc(), SelfAssessment.created_at.desc())
        .limit(1)
    )
    found: SelfAssessment | None = (await session.scalars(stmt)).first()
    return found


def overdue_clause(day: date, overdue: bool) -> Any:
    """The overdue rule as SQL (the same as `schemas.is_overdue`)."""
    late = and_(
        Commitment.due_on.is_not(None),
        Commitment.due_on < day,
        Commitment.status.not_in(sorted(SETTLED)),
    )
    return late if overdue else not_(late)


async def overdue_unnotified(session: AsyncSession, day: date, limit: int) -> list[Commitment]:
    """Commitments overdue on `day` whose `commitment.overdue` has not gone out yet."""
    notified = select(OverdueNotice.commitment_id).where(
        OverdueNotice.commitment_id == Commitment.id
    )
    stmt = (
        select(Commitment)
        .where(overdue_clause(day, True), ~notified.exists())
        .order_by(Commitment.due_on, Commitment.id)
        .limit(limit)
    )
    return list((await session.scalars(stmt)).all())
