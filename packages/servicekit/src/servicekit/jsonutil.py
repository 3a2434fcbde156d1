"""Fast JSON with orjson, used where we serialise outside FastAPI's pydantic fast path."""

from __future__ import annotations

import uuid
from typing import Any

import orjson


def _default(value: Any) -> Any:
    # asyncpg hands back UUIDs as its own subclass of uuid.UUID, which orjson does not take for
    # one (it serialises exact types only); written as pydantic writes any UUID.
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(value: Any) -> bytes:
    """Serialise to compact UTF-8 JSON (UUIDs, datetimes and dates handled natively)."""
    return orjson.dumps(value, default=_default, option=orjson.OPT_NON_STR_KEYS)


def dumps_utc(value: Any) -> bytes:
    """`dumps`, writing UTC times with `Z` as pydantic does (so a response reads the same)."""
    return orjson.dumps(value, default=_default, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_UTC_Z)


def loads(data: bytes | str) -> Any:
    """Parse JSON."""
    return orjson.loads(data)
