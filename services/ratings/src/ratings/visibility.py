"""Who sees what: a panel's drafts are its own; once published, an evaluation is public for good.

An evaluation that was never published, and everything in it (ratings, scores, summary,
responses, history entries), is seen only by the clients acting for its panel's members and the
client that created it (and the rated body's client, once sent it for a factual-accuracy
check); anyone else gets 404, as if it were absent, whatever its scopes, and its
events are private. Once published it is public for good (a withdrawn one stays readable, with its
withdrawal), and so are its events from then on.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ratings.models import Evaluation, PanelMember
from ratings.schemas import EvaluationStatus
from servicekit.auth import Principal
from servicekit.problems import not_found


def is_public(evaluation: Evaluation) -> bool:
    """Published once, public for good: a withdrawn evaluation stays on the record."""
    return evaluation.published_at is not None


async def can_see_draft(
    session: AsyncSession, evaluation: Evaluation, principal: Principal | None
) -> bool:
    """Whether the caller's client created the evaluation or acts for someone on its panel."""
    if principal is None:
        return False
    # Its creator, and the rated body while (and after) it checks the facts.
    if principal.client_id in (evaluation.created_by_client_id, evaluation.fa_client_id):
        return True
    stmt = select(PanelMember.id).where(
        PanelMember.evaluation_id == evaluation.id, PanelMember.client_id == principal.client_id
    )
    return (await session.scalars(stmt.limit(1))).first() is not None


async def visible_evaluation(
    session: AsyncSession, ident: uuid.UUID, principal: Principal | None
) -> Evaluation:
    """The evaluation if the caller may read it; 404 (as if absent) otherwise."""
    row = await session.get(Evaluation, ident)
    if row is None or not (is_public(row) or await can_see_draft(session, row, principal)):
        raise not_found("evaluation", ident)
    return row


def history_statuses(principal: Principal | None) -> list[str]:
    """Whose ratings a caller may see in a history: published, plus (for a signed-in caller) the
    drafts of panels it sits on; the repository narrows those to its own panels."""
    if principal is not None:
        return [EvaluationStatus.draft, EvaluationStatus.in_review, EvaluationStatus.published]
    return [EvaluationStatus.published]
