"""Redaction: moderators hide passages of a submission's title, summary or body, with a reason.

Everyone but moderators reads `[redacted]` in their place (the submitter too, once redacted);
moderators read the original and the list of redactions. The redacted text is stored beside
the original (`public_*` columns), and public full-text search runs over it, so a search cannot
reveal a redacted word.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from evidence import repository
from evidence.models import Redaction, Submission
from evidence.schemas import REDACTION_MARKER, RedactionCreate, RedactionRead, SubmissionStatus
from evidence.visibility import record_submission_event, redaction_read
from servicekit.auth import Principal
from servicekit.ids import new_id, utcnow
from servicekit.problems import conflict, invalid, not_found


def redact(text: str | None, passages: Sequence[str]) -> str | None:
    """`text` with every occurrence of every passage replaced by the marker (overlaps merged)."""
    if text is None:
        return None
    spans: list[tuple[int, int]] = []
    for passage in passages:
        start = text.find(passage)
        while start != -1:
            spans.append((start, start + len(passage)))
            start = text.find(passage, start + 1)
    if not spans:
        return text
    spans.sort()
    merged = [spans[0]]
    for start, end in spans[1:]:
        if start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    out, last = [], 0
    for start, end in merged:
        out += [text[last:start], REDACTION_MARKER]
        last = end
    out.append(text[last:])
    return "".join(out)


def _apply_redactions(row: Submission) -> None:
    for name in ("title", "summary", "body"):
        passages = [r.passage for r in row.redactions if r.field == name]
        setattr(row, f"public_{name}", redact(getattr(row, name), passages))


REDACTABLE = ("title", "summary", "body")


async def _record_redaction(session: AsyncSession, type_: str, row: Submission) -> None:
    # Once published the change is public news (with the public view); before, it is internal.
    published = row.status == SubmissionStatus.published
    record_submission_event(session, type_, row, public=published)
    if type_ == "submission.redacted":
        await _redact_public_events(session, row)


async def _redact_public_events(session: AsyncSession, row: Submission) -> None:
    """The redaction reaches the feed too: every public event this submission already has
    carries the redacted text from now on (rewritten in the redaction's own transaction), so
    reading the feed from 0 never shows what was hidden. Private events, for the services and
    moderators, keep the original."""
    for event in await repository.public_submission_events(session, row.id):
        payload = dict(event.payload)
        for name in REDACTABLE:
            if name in payload:
                payload[name] = getattr(row, f"public_{name}")
        event.payload = payload


async def add_redaction(
    session: AsyncSession, ident: uuid.UUID, body: RedactionCreate, moderator: Principal
) -> RedactionRead:
    """Hide a passage from everyone but moderators."""
    row = await repository.get_submission(session, ident, for_update=True)
    if row is None:
        raise not_found("submission", ident)
    original = getattr(row, body.field) or ""
    if body.passage not in original:
        raise invalid(
            "body.passage",
            f"The passage does not occur in the submission's {body.field}.",
            "not_in_field",
        )
    if any(r.field == body.field and r.passage == body.passage for r in row.redactions):
        raise conflict("This passage of this field is already redacted.")
    redaction = Redaction(
        id=new_id(),
        created_at=utcnow(),
        submission_id=row.id,
        field=body.field,
        passage=body.passage,
        reason=body.reason,
        redacted_by=moderator.client_id,
    )
    row.redactions.append(redaction)
    _apply_redactions(row)
    await session.flush()
    await _record_redaction(session, "submission.redacted", row)
    return redaction_read(redaction)


async def remove_redaction(
    session: AsyncSession, ident: uuid.UUID, redaction_id: uuid.UUID
) -> None:
    """Undo a redaction: the passage is shown again."""
    row = await repository.get_submission(session, ident, for_update=True)
    found = None if row is None else next((r for r in row.redactions if r.id == redaction_id), None)
    if row is None or found is None:
        raise not_found("redaction", redaction_id)
    row.redactions.remove(found)
    _apply_redactions(row)
    await session.flush()
    await _record_redaction(session, "submission.redaction_removed", row)
