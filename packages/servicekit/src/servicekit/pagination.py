"""Keyset pagination on `(created_at, id)`: the cost of a page never grows with the table."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from servicekit.jsonutil import dumps, loads
from servicekit.problems import invalid

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """A page of a list; fetch the next with `page_token=next_page_token` until it is null."""

    items: list[T]
    next_page_token: str | None = Field(
        default=None, description="Opaque token for the next page; null on the last page."
    )


class PageParams(BaseModel):
    """The page a client asked for."""

    page_size: int
    page_token: str | None


def page_params(
    request: Request,
    page_size: Annotated[
        int | None, Query(ge=1, description="Items per page (capped by the server).")
    ] = None,
    page_token: Annotated[
        str | None, Query(max_length=512, description="`next_page_token` of the previous page.")
    ] = None,
) -> PageParams:
    """Read `page_size` and `page_token`, applying the service's default and cap."""
    settings = request.app.state.settings
    size = min(page_size or settings.page_size_default, settings.page_size_max)
    return PageParams(page_size=size, page_token=page_token)


PageQuery = Annotated[PageParams, Depends(page_params)]


def encode_token(values: Sequence[Any]) -> str:
    """An opaque token holding the sort key of the last row of a page."""
    return base64.urlsafe_b64encode(dumps(list(values))).decode().rstrip("=")


def decode_token(token: str, n: int) -> list[Any]:
    """Decode a page token, answering 422 for anything we did not issue."""
    try:
        raw = loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError):
        raw = None
    if not isinstance(raw, list) or len(raw) != n:
        raise invalid("query.page_token", "page_token is not one this server issued.", "bad_token")
    return raw


async def keyset_page(
    session: AsyncSession,
    stmt: Select[Any],
    created_col: InstrumentedAttribute[datetime],
    id_col: InstrumentedAttribute[uuid.UUID],
    params: PageParams,
) -> tuple[list[Any], str | None]:
    """Run `stmt` for one page ordered by `(created_at, id)`; return rows and the next token."""
    if params.page_token:
        created_iso, ident = decode_token(params.page_token, 2)
        try:
            after = (datetime.fromisoformat(created_iso), uuid.UUID(ident))
        except (TypeError, ValueError):
            raise invalid(
                "query.page_token", "page_token is not one this server issued.", "bad_token"
            ) from None
        stmt = stmt.where(tuple_(created_col, id_col) > tuple_(*after))
    stmt = stmt.order_by(created_col, id_col).limit(params.page_size + 1)
    rows = list((await session.scalars(stmt)).all())
    next_token = None
    if len(rows) > params.page_size:
        rows = rows[: params.page_size]
        last = rows[-1]
        next_token = encode_token(
            [getattr(last, created_col.key).isoformat(), str(getattr(last, id_col.key))]
        )
    return rows, next_token
