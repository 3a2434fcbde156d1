"""Small helpers for the create / read / patch pattern every service repeats."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from servicekit.outbox import record_event
from servicekit.problems import FieldError, conflict, not_found, validation_problem

M = TypeVar("M")
R = TypeVar("R", bound=BaseModel)


async def get_or_404(session: AsyncSession, model: type[M], ident: uuid.UUID, kind: str) -> M:
    """A row by id, or a 404 problem naming what was looked for."""
    row = await session.get(model, ident)
    if row is None:
        raise not_found(kind, ident)
    return row


async def ensure_unique(session: AsyncSession, model: type[Any], kind: str, **values: Any) -> None:
    """409 if a row already has one of these unique values (e.g. `reference`)."""
    for column, value in values.items():
        found = await session.scalar(
            select(model.id).where(getattr(model, column) == value).limit(1)
        )
        if found is not None:
            raise conflict(f"A {kind} with {column} {value!r} already exists (id {found}).")


async def ensure_exists(
    session: AsyncSession, model: type[Any], ident: uuid.UUID | None, pointer: str, kind: str
) -> None:
    """422 when a body refers to a row that does not exist."""
    if ident is None:
        return
    if await session.get(model, ident) is None:
        raise validation_problem(
            [FieldError(pointer=pointer, detail=f"unknown {kind}", code="unknown_reference")],
            f"No {kind} with id {ident}.",
        )


def apply_values(row: Any, values: dict[str, Any]) -> bool:
    """Set attributes; returns whether anything actually changed."""
    changed = False
    for key, value in values.items():
        if getattr(row, key) != value:
            setattr(row, key, value)
            changed = True
    return changed


def emit(
    session: AsyncSession,
    event_model: type[Any],
    type_: str,
    row: Any,
    read_schema: type[R],
    *,
    public: bool = True,
) -> R:
    """Record an event with the resource's public representation; returns that representation."""
    read = read_schema.model_validate(row)
    record_event(
        session,
        event_model,
        type_,
        type_.split(".", 1)[0],
        row.id,
        read.model_dump(mode="json"),
        public=public,
    )
    return read
