"""Individual scores: each member's own levels per commitment, blind until they have scored.

A member sees the other members' scores of a commitment only once they have scored it
themselves, so nobody anchors on what others gave; the chair sees every score at any time. Once
the evaluation is published every score is public.

The panel's draft rating would anchor as surely as the scores behind it, so a caller whose only
seat is `member` (not chair, not secretariat) does not see a commitment's draft rating until one
of its members has scored that commitment (`ScoreView.withheld`): the single read answers 403
`/problems/withheld-until-scored`, the summary gives the commitment `rating: null` with
`withheld_until_scored: true` (so its roll-ups are null too), and the ratings list and a
commitment's rating history leave it out; a PUT or PATCH of that draft gets the same 403 (its
answer would be the whole rating). A recused member never scores, so never sees it before
publication, when everything becomes public. The panel's agreed rating stays a separate record
(`ratings.py`) and shows the spread of the scores it came from.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, true
from sqlalchemy.ext.asyncio import AsyncSession

from ratings import repository
from ratings.aggregation import Scale
from ratings.lifecycle import ensure_editable
from ratings.models import Evaluation, Event, PanelMember, Score
from ratings.panel import SCORERS, recusal_problem, recused_members, seat_of
from ratings.schemas import (
    DimensionSpread,
    PanelRole,
    RatingSpread,
    RatingStatus,
    ScorePut,
    ScoreRead,
)
from ratings.visibility import is_public
from servicekit.auth import Principal
from servicekit.outbox import record_event
from servicekit.problems import FieldError, ProblemError, conflict, validation_problem


@dataclass(frozen=True)
class ScoreView:
    """The scores a caller may see in one evaluation."""

    scores: tuple[Score, ...]
    sees_all: bool
    own_members: frozenset[uuid.UUID]
    # Only a plain member's seat: the draft ratings are withheld until it has scored.
    blind: bool = False

    def scored(self, commitment_id: uuid.UUID) -> bool:
        """Whether one of the caller's members has scored this commitment."""
        return any(
            s.commitment_id == commitment_id and s.member_id in self.own_members
            for s in self.scores
        )

    def withheld(self, commitment_id: uuid.UUID) -> bool:
        """Whether the panel's draft rating of this commitment is kept from the caller (no
        anchoring: a plain member sees it only after scoring the commitment)."""
        return self.blind and not self.scored(commitment_id)

    def unlocked(self, commitment_id: uuid.UUID) -> bool:
        """Whether the caller may see every score of this commitment (it scored it, or chairs)."""
        return self.sees_all or self.scored(commitment_id)

    def visible_condition(self) -> Any:
        """The scores the caller may read, as a SQL condition (to page them in the database):
        every score of the commitments it has scored (all, for the chair), and its own."""
        if self.sees_all:
            return true()
        unlocked = {s.commitment_id for s in self.scores if s.member_id in self.own_members}
        return or_(Score.member_id.in_(self.own_members), Score.commitment_id.in_(unlocked))

    def spread(self, commitment_id: uuid.UUID, scale: Scale) -> RatingSpread | None:
        """The spread of a commitment's scores, if any were given and the caller may see them."""
        of = [s for s in self.scores if s.commitment_id == commitment_id]
        if not of or not self.unlocked(commitment_id):
            return None
        return spread_of(of, scale)


def spread_of(scores: Sequence[Score], scale: Scale) -> RatingSpread:
    """Count per level of each dimension's scores, with the lowest and highest given."""
    by_dim: dict[str, list[str]] = {}
    for s in scores:
        for dim, level in s.levels.items():
            by_dim.setdefault(dim, []).append(level)
    dims: dict[str, DimensionSpread] = {}
    for dim, given in by_dim.items():
        ordered = sorted(given, key=scale.score)
        # Keep the scale's order (best first) so every reader sees the same shape.
        counts = {code: given.count(code) for code in scale.codes if code in given}
        dims[dim] = DimensionSpread(counts=counts, lowest=ordered[0], highest=ordered[-1])
    return RatingSpread(raters=len({s.member_id for s in scores}), dimensions=dims)


async def score_view(
    session: AsyncSession,
    evaluation: Evaluation,
    principal: Principal | None,
    commitment_ids: Sequence[uuid.UUID] | None = None,
) -> ScoreView:
    """What the caller may see of an evaluation's scores (two queries)."""
    scores = tuple(await repository.scores_of(session, evaluation.id, commitment_ids))
    if is_public(evaluation):
        return ScoreView(scores, sees_all=True, own_members=frozenset())
    seat = await seat_of(session, evaluation, principal)
    roles = seat.roles()
    return ScoreView(
        scores,
        sees_all=PanelRole.chair in roles,
        own_members=frozenset(m.id for m in seat.members),
        blind=roles == {PanelRole.member},
    )


def withheld_problem(commitment_id: uuid.UUID) -> ProblemError:
    """403: a plain member asks for a draft rating of a commitment it has not scored."""
    return ProblemError(
        403,
        "Forbidden",
        f"The panel's draft rating of commitment {commitment_id} is withheld until you have "
        "scored it (no anchoring); record your score first, or read it once published.",
        type_="/problems/withheld-until-scored",
    )


def score_read(row: Score) -> ScoreRead:
    """A score as read."""
    return ScoreRead.model_validate(row)


def _check_levels(evaluation: Evaluation, body: ScorePut) -> None:
    scale = Scale.of(evaluation.scale)
    dims = [d["code"] for d in evaluation.dimensions]
    errors: list[FieldError] = []
    for dim, level in body.levels.items():
        if dim not in dims:
            errors.append(
                FieldError(
                    pointer=f"body.levels.{dim}",
                    detail=f"{dim!r} is not a dimension of this evaluation ({', '.join(dims)})",
                    code="unknown_dimension",
                )
            )
        elif level not in scale.codes:
            errors.append(
                FieldError(
                    pointer=f"body.levels.{dim}",
                    detail=f"{level!r} is not on this evaluation's scale "
                    f"({', '.join(scale.codes)})",
                    code="unknown_level",
                )
            )
    errors += [
        FieldError(
            pointer=f"body.rationales.{dim}",
            detail=f"{dim!r} has no level in this score",
            code="unknown_dimension",
        )
        for dim in body.rationales
        if dim not in body.levels
    ]
    if errors:
        raise validation_problem(errors, errors[0].detail if len(errors) == 1 else None)


async def check_scorer(
    session: AsyncSession,
    member: PanelMember,
    commitment_id: uuid.UUID,
    principal: Principal,
) -> None:
    """The caller acts for this member, who scores (chair or member) and is not recused."""
    if member.client_id != principal.client_id:
        raise ProblemError(
            403,
            "Forbidden",
            f"Client {principal.client_id} does not act for panel member {member.id}; each member "
            "records only their own scores.",
            type_="/problems/not-your-score",
        )
    if PanelRole(member.role) not in SCORERS:
        raise ProblemError(
            403,
            "Forbidden",
            f"Panel member {member.id} is the {member.role}; only the chair and members score.",
            type_="/problems/panel-role",
        )
    if await recused_members(session, [member], commitment_id):
        raise recusal_problem(commitment_id)


async def put_score(
    session: AsyncSession,
    evaluation: Evaluation,
    member: PanelMember,
    commitment_id: uuid.UUID,
    body: ScorePut,
) -> tuple[ScoreRead, Score, bool]:
    """Record (or replace) a member's score of a commitment; whether it was created."""
    ensure_editable(evaluation)
    rating = await repository.get_rating(session, evaluation.id, commitment_id)
    if rating is not None and rating.status != RatingStatus.draft:
        raise conflict(
            f"The panel's rating of commitment {commitment_id} is {rating.status}; individual "
            "scores close when it is agreed (return it to draft to reopen them)."
        )
    _check_levels(evaluation, body)
    row = await repository.get_score(session, evaluation.id, commitment_id, member.id)
    created = row is None
    if row is None:
        row = Score(
            evaluation_id=evaluation.id,
            commitment_id=commitment_id,
            member_id=member.id,
            levels=dict(body.levels),
            rationales=dict(body.rationales),
        )
        session.add(row)
    elif row.levels == body.levels and row.rationales == body.rationales:
        return score_read(row), row, False
    else:
        row.levels = dict(body.levels)
        row.rationales = dict(body.rationales)
    await session.flush()
    read = score_read(row)
    # Private while a draft: only the panel may see scores, and only once it has scored.
    record_event(
        session,
        Event,
        "score.recorded",
        "score",
        row.id,
        read.model_dump(mode="json"),
        public=False,
    )
    return read, row, created
