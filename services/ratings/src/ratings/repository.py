"""All SQL of the ratings service.

Just past 600 lines since the panels (#15) came in, and kept whole for now: CONTRIBUTING.md puts
a service's every query in one `repository.py`, so a reader finds the SQL in one place. Split it
by aggregate when it grows again.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import Select, and_, delete, func, insert, or_, select, tuple_, union
from sqlalchemy.ext.asyncio import AsyncSession

from ratings.models import (
    DeclaredInterest,
    Evaluation,
    EvaluationCommitment,
    EvaluationResponse,
    EvaluationVersion,
    FactualAccuracyComment,
    KnownCommitment,
    KnownSubmission,
    PanelMember,
    Rating,
    ResponseItem,
    ResponseOverdueNotice,
    Score,
)
from servicekit.pagination import PageParams, decode_token, encode_token, keyset_page
from servicekit.problems import invalid

# --- the evidence read model (written by read_models.py) -------------------------------------


async def known_submissions(
    session: AsyncSession, ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, KnownSubmission]:
    """The read model's rows for these submission ids (unknown ids are absent)."""
    wanted = set(ids)
    if not wanted:
        return {}
    stmt = select(KnownSubmission).where(KnownSubmission.id.in_(wanted))
    return {r.id: r for r in (await session.scalars(stmt)).all()}


# --- evaluations -------------------------------------------------------------------------------


async def lock_evaluation(
    session: AsyncSession, evaluation_id: uuid.UUID, *, exclusive: bool
) -> Evaluation | None:
    """The evaluation, re-read under a row lock on PostgreSQL (SQLite serialises writers anyway).

    Rating writes take it shared and publishing exclusive, so a rating cannot change between
    publication's "everything agreed" check and its commit.
    """
    stmt = (
        select(Evaluation)
        .where(Evaluation.id == evaluation_id)
        .execution_options(populate_existing=True)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(read=not exclusive)
    return (await session.scalars(stmt)).one_or_none()


async def evaluations_by_id(
    session: AsyncSession, ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Evaluation]:
    """Evaluations by id (one query)."""
    wanted = set(ids)
    if not wanted:
        return {}
    stmt = select(Evaluation).where(Evaluation.id.in_(wanted))
    return {e.id: e for e in (await session.scalars(stmt)).all()}


async def add_scope(
    session: AsyncSession, evaluation_id: uuid.UUID, commitment_ids: Sequence[uuid.UUID]
) -> None:
    """Put commitments in an evaluation's scope, in order."""
    await session.execute(
        insert(EvaluationCommitment),
        [
            {"evaluation_id": evaluation_id, "commitment_id": cid, "position": i}
            for i, cid in enumerate(commitment_ids)
        ],
    )


async def scopes(
    session: AsyncSession, evaluation_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """The commitment ids in scope of each evaluation, in evaluation order (one query)."""
    out: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    if not evaluation_ids:
        return out
    stmt = (
        select(EvaluationCommitment.evaluation_id, EvaluationCommitment.commitment_id)
        .where(EvaluationCommitment.evaluation_id.in_(evaluation_ids))
        .order_by(EvaluationCommitment.evaluation_id, EvaluationCommitment.position)
    )
    for eid, cid in (await session.execute(stmt)).all():
        out[eid].append(cid)
    return out


async def scope(session: AsyncSession, evaluation_id: uuid.UUID) -> list[uuid.UUID]:
    """The commitment ids in one evaluation's scope, in evaluation order."""
    return (await scopes(session, [evaluation_id]))[evaluation_id]


async def in_scope(
    session: AsyncSession, evaluation_id: uuid.UUID, commitment_id: uuid.UUID
) -> bool:
    """Whether a commitment is in an evaluation's scope."""
    found = await session.get(EvaluationCommitment, (evaluation_id, commitment_id))
    return found is not None


async def scope_with_policy_areas(
    session: AsyncSession, evaluation_id: uuid.UUID
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(commitment id, policy area id) for an evaluation's scope, in evaluation order."""
    stmt = (
        select(EvaluationCommitment.commitment_id, KnownCommitment.policy_area_id)
        .join(KnownCommitment, KnownCommitment.id == EvaluationCommitment.commitment_id)
        .where(EvaluationCommitment.evaluation_id == evaluation_id)
        .order_by(EvaluationCommitment.position)
    )
    return [(cid, area) for cid, area in (await session.execute(stmt)).all()]


async def list_evaluations(
    session: AsyncSession,
    params: PageParams,
    *,
    status: Sequence[str],
    commitment_id: Sequence[uuid.UUID],
    viewer_client_id: str | None,
) -> tuple[list[Evaluation], str | None]:
    """A page of evaluations matching every filter given (each filter any-of): published ones,
    and the drafts of panels the viewer's client sits on or created."""
    stmt = select(Evaluation).where(visible_to(viewer_client_id))
    if status:
        stmt = stmt.where(Evaluation.status.in_(status))
    if commitment_id:
        stmt = stmt.where(
            Evaluation.id.in_(
                select(EvaluationCommitment.evaluation_id).where(
                    EvaluationCommitment.commitment_id.in_(commitment_id)
                )
            )
        )
    return await keyset_page(session, stmt, Evaluation.created_at, Evaluation.id, params)


def visible_to(client_id: str | None) -> Any:
    """Published evaluations, plus those whose panel the client sits on or which it created."""
    public = Evaluation.published_at.is_not(None)
    if client_id is None:
        return public
    return or_(
        public,
        Evaluation.created_by_client_id == client_id,
        Evaluation.fa_client_id == client_id,
        Evaluation.id.in_(
            select(PanelMember.evaluation_id).where(PanelMember.client_id == client_id)
        ),
    )


# --- panels ------------------------------------------------------------------------------------


async def members_acted_for(
    session: AsyncSession, evaluation_id: uuid.UUID, client_id: str
) -> list[PanelMember]:
    """The members of an evaluation's panel a client acts for."""
    stmt = (
        select(PanelMember)
        .where(PanelMember.evaluation_id == evaluation_id, PanelMember.client_id == client_id)
        .order_by(PanelMember.created_at, PanelMember.id)
    )
    return list((await session.scalars(stmt)).all())


async def get_member(
    session: AsyncSession, evaluation_id: uuid.UUID, member_id: uuid.UUID
) -> PanelMember | None:
    """One member of an evaluation's panel."""
    stmt = select(PanelMember).where(
        PanelMember.evaluation_id == evaluation_id, PanelMember.id == member_id
    )
    return (await session.scalars(stmt)).one_or_none()


async def has_scored(session: AsyncSession, member_id: uuid.UUID) -> bool:
    """Whether the member has recorded any individual score."""
    stmt = select(Score.id).where(Score.member_id == member_id).limit(1)
    return (await session.scalars(stmt)).first() is not None


async def remove_member(session: AsyncSession, member: PanelMember) -> None:
    """Take a member off the panel with the interests they declared (the events keep both)."""
    await session.execute(delete(DeclaredInterest).where(DeclaredInterest.member_id == member.id))
    await session.delete(member)
    await session.flush()


async def has_chair(session: AsyncSession, evaluation_id: uuid.UUID) -> bool:
    """Whether the panel has its chair yet."""
    stmt = select(PanelMember.id).where(
        PanelMember.evaluation_id == evaluation_id, PanelMember.role == "chair"
    )
    return (await session.scalars(stmt.limit(1))).first() is not None


async def panels(session: AsyncSession, evaluation_ids: Sequence[uuid.UUID]) -> list[PanelMember]:
    """The members of these evaluations' panels, in the order they were seated."""
    if not evaluation_ids:
        return []
    stmt = (
        select(PanelMember)
        .where(PanelMember.evaluation_id.in_(evaluation_ids))
        .order_by(PanelMember.created_at, PanelMember.id)
    )
    return list((await session.scalars(stmt)).all())


async def panel_page(
    session: AsyncSession, evaluation_id: uuid.UUID, params: PageParams
) -> tuple[list[PanelMember], str | None]:
    """A page of an evaluation's panel, in the order they were seated."""
    stmt = select(PanelMember).where(PanelMember.evaluation_id == evaluation_id)
    return await keyset_page(session, stmt, PanelMember.created_at, PanelMember.id, params)


async def interests_of(
    session: AsyncSession, evaluation_ids: Sequence[uuid.UUID]
) -> list[DeclaredInterest]:
    """Every interest declared on these evaluations' panels, oldest first."""
    if not evaluation_ids:
        return []
    stmt = (
        select(DeclaredInterest)
        .where(DeclaredInterest.evaluation_id.in_(evaluation_ids))
        .order_by(DeclaredInterest.created_at, DeclaredInterest.id)
    )
    return list((await session.scalars(stmt)).all())


async def interested_members(
    session: AsyncSession, member_ids: Sequence[uuid.UUID], commitment_id: uuid.UUID
) -> list[uuid.UUID]:
    """Which of these members declared an interest in the commitment."""
    if not member_ids:
        return []
    stmt = select(DeclaredInterest.member_id).where(
        DeclaredInterest.member_id.in_(member_ids),
        DeclaredInterest.commitment_id == commitment_id,
    )
    return list((await session.scalars(stmt)).all())


# --- corrections and versions -----------------------------------------------------------------


async def corrections(
    session: AsyncSession, evaluation_ids: Sequence[uuid.UUID]
) -> list[EvaluationVersion]:
    """The correction records of these evaluations (each names the version it published)."""
    if not evaluation_ids:
        return []
    stmt = (
        select(EvaluationVersion)
        .where(EvaluationVersion.evaluation_id.in_(evaluation_ids))
        .order_by(EvaluationVersion.evaluation_id, EvaluationVersion.version)
    )
    return list((await session.scalars(stmt)).all())


async def version_of(
    session: AsyncSession, evaluation_id: uuid.UUID, version: int
) -> EvaluationVersion | None:
    """One published version's record (holding the snapshot of the version before it)."""
    return await session.get(EvaluationVersion, (evaluation_id, version))


# --- factual accuracy --------------------------------------------------------------------------


async def fa_comments(
    session: AsyncSession, evaluation_id: uuid.UUID
) -> list[FactualAccuracyComment]:
    """An evaluation's factual-accuracy comments, oldest first."""
    stmt = (
        select(FactualAccuracyComment)
        .where(FactualAccuracyComment.evaluation_id == evaluation_id)
        .order_by(FactualAccuracyComment.created_at, FactualAccuracyComment.id)
    )
    return list((await session.scalars(stmt)).all())


async def fa_comments_page(
    session: AsyncSession, evaluation_id: uuid.UUID, params: PageParams
) -> tuple[list[FactualAccuracyComment], str | None]:
    """A page of an evaluation's factual-accuracy comments, oldest first."""
    stmt = select(FactualAccuracyComment).where(
        FactualAccuracyComment.evaluation_id == evaluation_id
    )
    return await keyset_page(
        session, stmt, FactualAccuracyComment.created_at, FactualAccuracyComment.id, params
    )


async def fa_comment(
    session: AsyncSession, evaluation_id: uuid.UUID, comment_id: uuid.UUID
) -> FactualAccuracyComment | None:
    """One factual-accuracy comment."""
    stmt = select(FactualAccuracyComment).where(
        FactualAccuracyComment.evaluation_id == evaluation_id,
        FactualAccuracyComment.id == comment_id,
    )
    return (await session.scalars(stmt)).one_or_none()


# --- individual scores -------------------------------------------------------------------------


async def get_score(
    session: AsyncSession, evaluation_id: uuid.UUID, commitment_id: uuid.UUID, member_id: uuid.UUID
) -> Score | None:
    """One member's score of one commitment."""
    stmt = select(Score).where(
        Score.evaluation_id == evaluation_id,
        Score.commitment_id == commitment_id,
        Score.member_id == member_id,
    )
    return (await session.scalars(stmt)).one_or_none()


async def scores_of(
    session: AsyncSession,
    evaluation_id: uuid.UUID,
    commitment_ids: Sequence[uuid.UUID] | None = None,
) -> list[Score]:
    """An evaluation's individual scores (of these commitments, if given), oldest first."""
    stmt = select(Score).where(Score.evaluation_id == evaluation_id)
    if commitment_ids is not None:
        stmt = stmt.where(Score.commitment_id.in_(commitment_ids))
    return list((await session.scalars(stmt.order_by(Score.created_at, Score.id))).all())


async def scores_page(
    session: AsyncSession,
    evaluation_id: uuid.UUID,
    params: PageParams,
    *,
    commitment_ids: Sequence[uuid.UUID] | None,
    visible: Any,
) -> tuple[list[Score], str | None]:
    """A page of an evaluation's individual scores the caller may see (`visible`, a condition),
    oldest first."""
    stmt = select(Score).where(Score.evaluation_id == evaluation_id, visible)
    if commitment_ids is not None:
        stmt = stmt.where(Score.commitment_id.in_(commitment_ids))
    return await keyset_page(session, stmt, Score.created_at, Score.id, params)


# --- ratings -----------------------------------------------------------------------------------


async def get_rating(
    session: AsyncSession, evaluation_id: uuid.UUID, commitment_id: uuid.UUID
) -> Rating | None:
    """The rating of a commitment in an evaluation, or None."""
    stmt = select(Rating).where(
        Rating.evaluation_id == evaluation_id, Rating.commitment_id == commitment_id
    )
    return (await session.scalars(stmt)).one_or_none()


async def ratings_for(
    session: AsyncSession, evaluation_id: uuid.UUID, commitment_ids: Sequence[uuid.UUID]
) -> list[Rating]:
    """The ratings of these commitments in one evaluation (one query)."""
    stmt = select(Rating).where(
        Rating.evaluation_id == evaluation_id, Rating.commitment_id.in_(set(commitment_ids))
    )
    return list((await session.scalars(stmt)).all())


async def ratings_of(session: AsyncSession, evaluation_id: uuid.UUID) -> list[Rating]:
    """Every rating of an evaluation (at most one per commitment in scope)."""
    stmt = select(Rating).where(Rating.evaluation_id == evaluation_id)
    return list((await session.scalars(stmt)).all())


async def list_ratings(
    session: AsyncSession,
    evaluation_id: uuid.UUID,
    params: PageParams,
    *,
    commitment_id: Sequence[uuid.UUID],
) -> tuple[list[Rating], str | None]:
    """A page of an evaluation's ratings in evaluation order (keyset on the scope position)."""
    stmt = (
        select(Rating, EvaluationCommitment.position)
        .join(
            EvaluationCommitment,
            and_(
                EvaluationCommitment.evaluation_id == Rating.evaluation_id,
                EvaluationCommitment.commitment_id == Rating.commitment_id,
            ),
        )
        .where(Rating.evaluation_id == evaluation_id)
    )
    if commitment_id:
        stmt = stmt.where(Rating.commitment_id.in_(commitment_id))
    if params.page_token:
        (after,) = decode_token(params.page_token, 1)
        if not isinstance(after, int) or isinstance(after, bool):
            raise invalid(
                "query.page_token", "page_token is not one this server issued.", "bad_token"
            )
        stmt = stmt.where(EvaluationCommitment.position > after)
    stmt = stmt.order_by(EvaluationCommitment.position).limit(params.page_size + 1)
    rows = list((await session.execute(stmt)).all())
    token = None
    if len(rows) > params.page_size:
        rows = rows[: params.page_size]
        token = encode_token([rows[-1][1]])
    return [r[0] for r in rows], token


# --- history -----------------------------------------------------------------------------------


def _history_stmt(
    commitment_id: uuid.UUID, statuses: Sequence[str], viewer_client_id: str | None
) -> Select[Any]:
    return (
        select(Rating)
        .join(Evaluation, Evaluation.id == Rating.evaluation_id)
        .where(
            Rating.commitment_id == commitment_id,
            Evaluation.status.in_(statuses),
            visible_to(viewer_client_id),
        )
    )


async def commitment_ratings(
    session: AsyncSession,
    commitment_id: uuid.UUID,
    statuses: Sequence[str],
    params: PageParams,
    viewer_client_id: str | None,
) -> tuple[list[Rating], str | None]:
    """A page of a commitment's ratings in evaluations of these statuses, oldest first."""
    stmt = _history_stmt(commitment_id, statuses, viewer_client_id)
    return await keyset_page(session, stmt, Rating.created_at, Rating.id, params)


async def rating_before(
    session: AsyncSession,
    commitment_id: uuid.UUID,
    statuses: Sequence[str],
    row: Rating,
    viewer_client_id: str | None,
) -> Rating | None:
    """The rating just before `row` in the same history (what a page's first item changed from)."""
    stmt = (
        _history_stmt(commitment_id, statuses, viewer_client_id)
        .where(tuple_(Rating.created_at, Rating.id) < tuple_(row.created_at, row.id))
        .order_by(Rating.created_at.desc(), Rating.id.desc())
        .limit(1)
    )
    found: Rating | None = (await session.scalars(stmt)).one_or_none()
    return found


# --- responses ---------------------------------------------------------------------------------


async def list_responses(
    session: AsyncSession,
    evaluation_id: uuid.UUID,
    params: PageParams,
    *,
    commitment_id: Sequence[uuid.UUID],
    position: Sequence[str],
) -> tuple[list[EvaluationResponse], str | None]:
    """A page of an evaluation's responses, oldest first."""
    stmt = select(EvaluationResponse).where(EvaluationResponse.evaluation_id == evaluation_id)
    if commitment_id:
        # A response addresses a commitment by its rating or by one of its items.
        item = (
            select(ResponseItem.response_id)
            .where(
                ResponseItem.response_id == EvaluationResponse.id,
                ResponseItem.commitment_id.in_(commitment_id),
            )
            .exists()
        )
        stmt = stmt.where(or_(EvaluationResponse.commitment_id.in_(commitment_id), item))
    if position:
        stmt = stmt.where(EvaluationResponse.position.in_(position))
    return await keyset_page(
        session, stmt, EvaluationResponse.created_at, EvaluationResponse.id, params
    )


async def items_of(
    session: AsyncSession, response_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[ResponseItem]]:
    """Each response's items, in the respondent's order (one query for a page of responses)."""
    found: dict[uuid.UUID, list[ResponseItem]] = {i: [] for i in response_ids}
    if not response_ids:
        return found
    stmt = (
        select(ResponseItem)
        .where(ResponseItem.response_id.in_(response_ids))
        .order_by(ResponseItem.response_id, ResponseItem.ordinal)
    )
    for item in await session.scalars(stmt):
        found[item.response_id].append(item)
    return found


def _responded() -> Any:
    return (
        select(EvaluationResponse.id)
        .where(EvaluationResponse.evaluation_id == Evaluation.id)
        .exists()
    )


async def list_deadlines(
    session: AsyncSession,
    params: PageParams,
    *,
    evaluation_id: Sequence[uuid.UUID],
    published_before: date | None,
    overdue_before: date | None,
    overdue: bool | None,
) -> tuple[list[Evaluation], str | None]:
    """A page of published evaluations (those a response is due to), oldest first.

    The due-date bounds arrive turned into publication-date bounds by the caller (a response
    to an evaluation published before `overdue_before` is past due), so each filter is a range
    on a column, not date arithmetic in SQL. Overdue: past due with no response.
    """
    stmt = select(Evaluation).where(
        Evaluation.status == "published", Evaluation.published_on.is_not(None)
    )
    if evaluation_id:
        stmt = stmt.where(Evaluation.id.in_(evaluation_id))
    if published_before is not None:
        stmt = stmt.where(Evaluation.published_on < published_before)
    if overdue is not None and overdue_before is not None:
        late = and_(Evaluation.published_on < overdue_before, ~_responded())
        stmt = stmt.where(late if overdue else ~late)
    return await keyset_page(session, stmt, Evaluation.created_at, Evaluation.id, params)


async def _grouped(session: AsyncSession, stmt: Select[Any, Any]) -> dict[Any, Any]:
    return {row[0]: row[1] for row in await session.execute(stmt)}


async def response_facts(
    session: AsyncSession, evaluation_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[date | None, int, int, int]]:
    """Per evaluation: first response date, response count, commitments in scope, and
    commitments addressed (by an item or a rating-level response)."""
    facts: dict[uuid.UUID, tuple[date | None, int, int, int]] = {}
    if not evaluation_ids:
        return facts
    firsts = await _grouped(
        session,
        select(EvaluationResponse.evaluation_id, func.min(EvaluationResponse.received_on))
        .where(EvaluationResponse.evaluation_id.in_(evaluation_ids))
        .group_by(EvaluationResponse.evaluation_id),
    )
    counts = await _grouped(
        session,
        select(EvaluationResponse.evaluation_id, func.count())
        .where(EvaluationResponse.evaluation_id.in_(evaluation_ids))
        .group_by(EvaluationResponse.evaluation_id),
    )
    scope = await _grouped(
        session,
        select(EvaluationCommitment.evaluation_id, func.count())
        .where(EvaluationCommitment.evaluation_id.in_(evaluation_ids))
        .group_by(EvaluationCommitment.evaluation_id),
    )
    by_item = select(
        EvaluationResponse.evaluation_id.label("e"), ResponseItem.commitment_id.label("c")
    ).join(ResponseItem, ResponseItem.response_id == EvaluationResponse.id)
    by_rating = select(
        EvaluationResponse.evaluation_id.label("e"), EvaluationResponse.commitment_id.label("c")
    ).where(EvaluationResponse.commitment_id.is_not(None))
    both = union(by_item, by_rating).subquery()
    addressed = await _grouped(
        session,
        select(both.c.e, func.count(both.c.c.distinct()))
        .where(both.c.e.in_(evaluation_ids))
        .group_by(both.c.e),
    )
    for e in evaluation_ids:
        facts[e] = (firsts.get(e), counts.get(e, 0), scope.get(e, 0), addressed.get(e, 0))
    return facts


async def notified_overdue(
    session: AsyncSession, evaluation_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of these evaluations the sweep has already emitted `response.overdue` for."""
    if not evaluation_ids:
        return set()
    stmt = select(ResponseOverdueNotice.evaluation_id).where(
        ResponseOverdueNotice.evaluation_id.in_(evaluation_ids)
    )
    return set(await session.scalars(stmt))
