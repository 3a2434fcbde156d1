"""Outbox events of the rule modules: recorded beside the change, in the same transaction."""

from __future__ import annotations

import uuid

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from commitments.models import Event
from servicekit.outbox import record_event


def record(session: AsyncSession, type_: str, resource_id: uuid.UUID, read: BaseModel) -> None:
    """Record `type_` (e.g. `target.created`) carrying a resource's public representation.

    For resources whose representation is not a plain `model_validate` of their row (targets
    carry their progress); the others go through `servicekit.crud.emit`.
    """
    record_event(
        session, Event, type_, type_.split(".", 1)[0], resource_id, read.model_dump(mode="json")
    )
