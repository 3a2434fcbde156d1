"""Keyset pagination on `(created_at, id)`: the cost of a page never grows with the table."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Sequence
from datetime import date, datetime
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


# The largest page any list serves; in the schema (`maximum`) so a client knows it, and a larger
# `page_size` is a 422 rather than a silently shorter page.
PAGE_SIZE_MAX = 200


async def page_params(
    request: Request,
    page_size: Annotated[
        int | None,
        Query(
            ge=1,
            le=PAGE_SIZE_MAX,
            description=f"Items per page, at most {PAGE_SIZE_MAX} (default: the service's).",
        ),
    ] = None,
    page_token: Annotated[
        str | None, Query(max_length=512, description="`next_page_token` of the previous page.")
    ] = None,
) -> PageParams:
    """Read `page_size` and `page_token`, applying the service's default."""
    # async although it never awaits: FastAPI would run a plain `def` in a worker thread.
    settings = request.app.state.settings
    size = min(page_size or settings.page_size_default, PAGE_SIZE_MAX)
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


def _sort_value(column: InstrumentedAttribute[Any], raw: Any) -> Any:
    """A page token's sort value back in the column's Python type."""
    if raw is None:
        return None
    python_type = column.type.python_type
    if python_type is datetime:
        return datetime.fromisoformat(raw)
    if python_type is date:
        return date.fromisoformat(raw)
    if python_type is uuid.UUID:
        return uuid.UUID(raw)
    if not isinstance(raw, python_type):
        raise TypeError(raw)
    return raw


def _token_value(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


async def sorted_keyset_page(
    session: AsyncSession,
    stmt: Select[Any],
    sort_col: InstrumentedAttribute[Any],
    id_col: InstrumentedAttribute[uuid.UUID],
    params: PageParams,
    *,
    descending: bool = False,
) -> tuple[list[Any], str | None]:
    """One page ordered by `(sort_col, id)`, ascending or descending; NULL sort values come last.

    The token carries the sort column's name, the direction, and the last row's sort value and
    id, so a token from one ordering is refused (422) under another. Rows with a non-NULL sort
    value are read first, then the NULL ones ordered by id; each of the two reads is one index
    range scan on an index over `(..., sort_col, id)`, so the cost of a page does not depend on
    the size of the table or on how far into the list it is.
    """
    name = f"{'-' if descending else ''}{sort_col.key}"
    in_nulls, after = False, None
    if params.page_token:
        token_name, value, ident = decode_token(params.page_token, 3)
        try:
            if token_name != name:
                raise ValueError(token_name)
            after = (_sort_value(sort_col, value), uuid.UUID(ident))
        except (TypeError, ValueError, AttributeError):
            raise invalid(
                "query.page_token",
                "page_token is not one this server issued for this sort order.",
                "bad_token",
            ) from None
        in_nulls = after[0] is None
    want = params.page_size + 1
    rows: list[Any] = []
    if not in_nulls:
        head = stmt.where(sort_col.is_not(None))
        if after is not None:
            key, cmp = tuple_(sort_col, id_col), tuple_(*after)
            head = head.where(key < cmp if descending else key > cmp)
        order = (sort_col.desc(), id_col.desc()) if descending else (sort_col, id_col)
        rows = list((await session.scalars(head.order_by(*order).limit(want))).all())
    if len(rows) < want:
        tail = stmt.where(sort_col.is_(None))
        if in_nulls and after is not None:
            tail = tail.where(id_col < after[1] if descending else id_col > after[1])
        order_id = id_col.desc() if descending else id_col
        rows += list((await session.scalars(tail.order_by(order_id).limit(want - len(rows)))).all())
    next_token = None
    if len(rows) > params.page_size:
        rows = rows[: params.page_size]
        last = rows[-1]
        next_token = encode_token(
            [name, _token_value(getattr(last, sort_col.key)), str(getattr(last, id_col.key))]
        )
    return rows, next_token
