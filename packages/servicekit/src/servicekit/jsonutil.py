"""Fast JSON with orjson, used where we serialise outside FastAPI's pydantic fast path."""

from __future__ import annotations

from typing import Any

import orjson


def dumps(value: Any) -> bytes:
    """Serialise to compact UTF-8 JSON (UUIDs, datetimes and dates handled natively)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


def loads(data: bytes | str) -> Any:
    """Parse JSON."""
    return orjson.loads(data)
