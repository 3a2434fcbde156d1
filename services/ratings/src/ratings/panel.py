"""An evaluation's panel: who is on it, what each role may do, and declared interests.

The panel, not a scope, decides who may act on an evaluation. A token's scope says what kind of
work a client does at all (`ratings:write`, `ratings:publish`); the panel says where:

    action                                   who (by the roles of the members a client acts for)
    read a draft, its ratings and summary    any member, or the client that created it; a
                                             plain member only of commitments it has scored
                                             (no anchoring: `scores.py`)
    seat members, declare interests          chair or secretariat; while there is no chair, the
                                             client that created the evaluation
    remove a member (not the chair, not one  chair or secretariat
    who has scored)
    change the evaluation's own fields       chair or secretariat
    draft a rating                           chair, member or secretariat (not recused)
    agree a rating, change an agreed one     chair (not recused)
    score a commitment individually          chair or member, for themselves (not recused)
    submit for review, return to draft,      chair
    publish, withdraw

Anyone else gets 404 on an evaluation that was never published (exactly what a public reader
gets) and 403 where they can read it anyway (it is published, or they created it).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from ratings import repository
from ratings.models import DeclaredInterest, Evaluation, PanelMember
from ratings.schemas import (
    InterestCreate,
    InterestKind,
    InterestRead,
    PanelMemberCreate,
    PanelMemberRead,
    PanelRole,
)
from ratings.visibility import is_public
from servicekit.auth import Principal
from servicekit.problems import FieldError, ProblemError, invalid, not_found, validation_problem

ANY_ROLE = frozenset(PanelRole)
DRAFTERS = frozenset({PanelRole.chair, PanelRole.member, PanelRole.secretariat})
SCORERS = frozenset({PanelRole.chair, PanelRole.member})
SEATERS = frozenset({PanelRole.chair, PanelRole.secretariat})
CHAIR = frozenset({PanelRole.chair})
# As many as a create may seat at once (EvaluationCreate.panel).
MAX_PANEL = 50


@dataclass(frozen=True)
class Seat:
    """What one client is on one evaluation's panel: the members it acts for."""

    members: tuple[PanelMember, ...]
    creator: bool

    def roles(self, *, excluding_recused: frozenset[uuid.UUID] = frozenset()) -> set[PanelRole]:
        """The roles of the members this client acts for (leaving out recused members)."""
        return {PanelRole(m.role) for m in self.members if m.id not in excluding_recused}

    @property
    def on_panel(self) -> bool:
        """Whether the client acts for anyone on the panel."""
        return bool(self.members)


async def seat_of(
    session: AsyncSession, evaluation: Evaluation, principal: Principal | None
) -> Seat:
    """The members the caller's client acts for in this evaluation (none for anonymous callers)."""
    if principal is None:
        return Seat((), creator=False)
    members = await repository.members_acted_for(session, evaluation.id, principal.client_id)
    return Seat(tuple(members), creator=evaluation.created_by_client_id == principal.client_id)


def _refuse(evaluation: Evaluation, seat: Seat, detail: str, type_: str) -> ProblemError:
    """403 when the caller may read the evaluation anyway (it is public, or the caller created
    it); otherwise 404, exactly as a public reader sees."""
    if not (is_public(evaluation) or seat.creator):
        return not_found("evaluation", evaluation.id)
    return ProblemError(403, "Forbidden", detail, type_=type_)


async def require_role(
    session: AsyncSession,
    evaluation: Evaluation,
    principal: Principal,
    roles: frozenset[PanelRole],
    action: str,
    *,
    commitment_id: uuid.UUID | None = None,
) -> Seat:
    """The caller's seat if one of the members it acts for has one of `roles` (and, for a
    commitment, has declared no interest in it); else 404 on a draft, 403 on a published one."""
    seat = await seat_of(session, evaluation, principal)
    if not seat.on_panel:
        raise _refuse(
            evaluation,
            seat,
            f"Client {principal.client_id} acts for no one on the panel of evaluation "
            f"{evaluation.id}; only its panel may {action}.",
            "/problems/not-on-panel",
        )
    if not seat.roles() & roles:
        wanted = " or ".join(sorted(r.value for r in roles))
        raise ProblemError(
            403,
            "Forbidden",
            f"Only the panel's {wanted} may {action}; client {principal.client_id} acts for "
            f"the {', '.join(sorted(r.value for r in seat.roles()))} here.",
            type_="/problems/panel-role",
        )
    if commitment_id is not None:
        recused = await recused_members(session, seat.members, commitment_id)
        if not seat.roles(excluding_recused=recused) & roles:
            raise recusal_problem(commitment_id)
    return seat


async def require_seater(
    session: AsyncSession, evaluation: Evaluation, principal: Principal
) -> None:
    """The chair or secretariat; while the panel has no chair, the client that created it."""
    if not await repository.has_chair(session, evaluation.id):
        seat = await seat_of(session, evaluation, principal)
        if seat.creator or seat.roles() & SEATERS:
            return
    await require_role(session, evaluation, principal, SEATERS, "seat members or record interests")


def recusal_problem(commitment_id: uuid.UUID) -> ProblemError:
    """409: the member declared an interest in the commitment."""
    return ProblemError(
        409,
        "Recused",
        f"The member has declared an interest in commitment {commitment_id} and is recused from "
        "scoring or agreeing it; another member must.",
        type_="/problems/recused",
    )


async def recused_members(
    session: AsyncSession, members: Iterable[PanelMember], commitment_id: uuid.UUID
) -> frozenset[uuid.UUID]:
    """Which of these members declared an interest in the commitment."""
    return frozenset(
        await repository.interested_members(session, [m.id for m in members], commitment_id)
    )


def check_panel(panel: list[PanelMemberCreate], *, has_chair: bool, at: str) -> None:
    """422 for a second chair (one chair speaks for the panel) or the same person twice."""
    errors: list[FieldError] = []
    chairs = 1 if has_chair else 0
    seen: set[tuple[str, str]] = set()
    for i, m in enumerate(panel):
        if m.role is PanelRole.chair:
            chairs += 1
            if chairs > 1:
                errors.append(
                    FieldError(
                        pointer=f"{at}.{i}.role",
                        detail="a panel has one chair",
                        code="second_chair",
                    )
                )
        key = (m.name, m.role.value)
        if key in seen:
            errors.append(
                FieldError(
                    pointer=f"{at}.{i}",
                    detail=f"{m.name} is already on the panel as {m.role.value}",
                    code="duplicate",
                )
            )
        seen.add(key)
    if errors:
        raise validation_problem(errors, errors[0].detail if len(errors) == 1 else None)


def seat_members(
    session: AsyncSession, evaluation_id: uuid.UUID, panel: list[PanelMemberCreate]
) -> list[PanelMember]:
    """Add members to a panel (checked by `check_panel` first)."""
    rows = [
        PanelMember(
            evaluation_id=evaluation_id, name=m.name, role=m.role.value, client_id=m.client_id
        )
        for m in panel
    ]
    session.add_all(rows)
    return rows


def interest_read(row: DeclaredInterest) -> InterestRead:
    """A declared interest as read."""
    return InterestRead.model_validate(row)


def member_read(row: PanelMember, interests: list[DeclaredInterest]) -> PanelMemberRead:
    """A panel member as read, with their declared interests."""
    return PanelMemberRead(
        id=row.id,
        name=row.name,
        role=PanelRole(row.role),
        client_id=row.client_id,
        interests=[interest_read(i) for i in interests],
        created_at=row.created_at,
    )


async def panel_reads(
    session: AsyncSession,
    evaluation_ids: list[uuid.UUID],
    members: list[PanelMember] | None = None,
) -> dict[uuid.UUID, list[PanelMemberRead]]:
    """Each evaluation's panel (or just these of its members) with its declarations (two
    queries for any number)."""
    if members is None:
        members = await repository.panels(session, evaluation_ids)
    interests = await repository.interests_of(session, evaluation_ids)
    by_member: dict[uuid.UUID, list[DeclaredInterest]] = {}
    for i in interests:
        by_member.setdefault(i.member_id, []).append(i)
    out: dict[uuid.UUID, list[PanelMemberRead]] = {eid: [] for eid in evaluation_ids}
    for m in members:
        out[m.evaluation_id].append(member_read(m, by_member.get(m.id, [])))
    return out


def _check_interest(body: InterestCreate, scope: list[uuid.UUID]) -> None:
    wanted = {
        InterestKind.commitment: "commitment_id",
        InterestKind.source: "source_id",
        InterestKind.organisation: "organisation",
    }
    for kind, name in wanted.items():
        value = getattr(body, name)
        if kind is body.kind and value is None:
            raise invalid(f"body.{name}", f"a {kind.value} interest names its {name}", "missing")
        if kind is not body.kind and value is not None:
            raise invalid(
                f"body.{name}",
                f"{name} belongs to a {kind.value} interest, not a {body.kind.value} one",
                "unexpected",
            )
    if body.kind is InterestKind.commitment and body.commitment_id not in scope:
        raise invalid(
            "body.commitment_id",
            f"commitment {body.commitment_id} is not in this evaluation's scope",
            "not_in_scope",
        )


async def declare_interest(
    session: AsyncSession, evaluation: Evaluation, member: PanelMember, body: InterestCreate
) -> DeclaredInterest:
    """Record a member's declared interest (checked against the evaluation's scope)."""
    _check_interest(body, await repository.scope(session, evaluation.id))
    row = DeclaredInterest(
        evaluation_id=evaluation.id,
        member_id=member.id,
        kind=body.kind.value,
        commitment_id=body.commitment_id,
        source_id=body.source_id,
        organisation=body.organisation,
        description=body.description,
        declared_on=body.declared_on,
    )
    session.add(row)
    await session.flush()
    return row
