"""Moderating a submission: decisions (accept, reject, publish, withhold), withdrawal, history.

The steps allowed from each status are in `evidence.lifecycle`. Every step needs a reason and is
kept as a `Decision` (who, when, from, to, why). Publishing gives the submission its publication
reference, `<prefix><NNNN>` (the call's prefix, or the service's default for stand-alone
evidence), once: withheld and published again, it keeps it.

Consent: `do_not_publish` evidence is never published (409, `/problems/publication-not-consented`);
it may still be accepted and used by the panel.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from evidence import repository
from evidence.calls import get_call
from evidence.lifecycle import WITHDRAW, next_status
from evidence.models import Decision, Submission
from evidence.schemas import Consent, DecisionAction, DecisionRead, SubmissionStatus
from evidence.visibility import Viewer, get_visible, record_submission_event, require_owner
from servicekit.auth import Principal
from servicekit.ids import new_id, utcnow
from servicekit.problems import ProblemError, not_found


def decision_read(row: Decision) -> DecisionRead:
    """A decision's representation."""
    return DecisionRead(
        id=row.id,
        submission_id=row.submission_id,
        action=row.action,
        from_status=row.from_status,
        to_status=row.to_status,
        reason=row.reason,
        decided_by=row.decided_by,
        decided_at=row.created_at,
        publication_reference=row.publication_reference,
    )


def _decide(
    session: AsyncSession, row: Submission, action: str, to: str, reason: str, by: str
) -> Decision:
    decision = Decision(
        id=new_id(),
        created_at=utcnow(),
        submission_id=row.id,
        action=action,
        from_status=row.status,
        to_status=to,
        reason=reason,
        decided_by=by,
        publication_reference=None,
    )
    row.status = to
    session.add(decision)
    return decision


async def decide(
    session: AsyncSession,
    ident: uuid.UUID,
    action: DecisionAction,
    reason: str,
    moderator: Principal,
    *,
    standalone_prefix: str,
) -> DecisionRead:
    """Accept, reject, publish or withhold a submission, with the reason kept."""
    row = await repository.get_submission(session, ident, for_update=True)
    if row is None:
        raise not_found("submission", ident)
    if action is DecisionAction.publish and row.consent == Consent.do_not_publish:
        raise ProblemError(
            409,
            "Publication not consented",
            "The submitter asked for this evidence not to be published (consent "
            "do_not_publish); it can be accepted, withheld or rejected, never published.",
            type_="/problems/publication-not-consented",
        )
    to = next_status(row.status, action)
    decision = _decide(session, row, action, to, reason, moderator.client_id)
    if to == SubmissionStatus.published and row.publication_reference is None:
        prefix = standalone_prefix
        if row.call_id is not None:
            prefix = (await get_call(session, row.call_id)).reference_prefix
        number = await repository.next_publication_number(session, prefix)
        row.publication_reference = f"{prefix}{number:04d}"
        row.published_at = decision.created_at
    decision.publication_reference = row.publication_reference
    await session.flush()
    published = to == SubmissionStatus.published
    record_submission_event(session, f"submission.{to}", row, public=published)
    return decision_read(decision)


async def withdraw(
    session: AsyncSession, ident: uuid.UUID, reason: str | None, principal: Principal
) -> DecisionRead:
    """The submitter takes its evidence back, before publication."""
    viewer = Viewer.of(principal)
    row = require_owner(
        await repository.get_submission(session, ident, for_update=True), ident, viewer
    )
    to = next_status(row.status, WITHDRAW)
    decision = _decide(
        session, row, WITHDRAW, to, reason or "Withdrawn by the submitter.", principal.client_id
    )
    await session.flush()
    record_submission_event(session, "submission.withdrawn", row)
    return decision_read(decision)


async def visible_history(session: AsyncSession, ident: uuid.UUID, viewer: Viewer) -> Submission:
    """A submission whose decisions the caller may read: its submitter's and moderators'."""
    row = await get_visible(session, ident, viewer)
    if not (viewer.moderator or viewer.owns(row)):
        raise ProblemError(
            403,
            "Forbidden",
            "A submission's decisions are shown to its submitter and moderators only.",
            type_="/problems/insufficient-scope",
        )
    return row
