"""Who sees what: the panel's drafts are private; once published, an evaluation is public for good.

An evaluation that was never published, and everything in it (ratings, summary, responses,
history entries), is seen only by callers holding `ratings:write` or `ratings:publish`; anyone
else gets 404, as if it were absent, and its events are private. Once published it is public for
good (a withdrawn one stays readable, with its withdrawal), and so are its events from then on.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from ratings.models import Evaluation
from ratings.schemas import EvaluationStatus
from servicekit.auth import Principal
from servicekit.problems import not_found

DRAFT_READER_SCOPES = ("ratings:write", "ratings:publish")


def can_see_drafts(principal: Principal | None) -> bool:
    """Whether the caller may read evaluations that were never published (the panel's drafts)."""
    return principal is not None and any(principal.has(s) for s in DRAFT_READER_SCOPES)


def is_public(evaluation: Evaluation) -> bool:
    """Published once, public for good: a withdrawn evaluation stays on the record."""
    return evaluation.published_at is not None


async def visible_evaluation(
    session: AsyncSession, ident: uuid.UUID, principal: Principal | None
) -> Evaluation:
    """The evaluation if the caller may read it; 404 (as if absent) otherwise."""
    row = await session.get(Evaluation, ident)
    if row is None or not (is_public(row) or can_see_drafts(principal)):
        raise not_found("evaluation", ident)
    return row


def history_statuses(principal: Principal | None) -> list[str]:
    """Whose ratings a caller sees in a history: published, plus drafts for the panel."""
    if can_see_drafts(principal):
        return [EvaluationStatus.draft, EvaluationStatus.in_review, EvaluationStatus.published]
    return [EvaluationStatus.published]
