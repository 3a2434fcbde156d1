"""Ids as the services make them, at the moment a generated row says it was made."""

from __future__ import annotations

import random
import uuid
from datetime import datetime


def uuid7_at(ts: datetime, rng: random.Random) -> uuid.UUID:
    """A UUIDv7 whose time is `ts`, as the services' `new_id()` would have made at that moment."""
    ms = int(ts.timestamp() * 1000)
    rand = rng.getrandbits(74)
    return uuid.UUID(
        int=(ms << 80)
        | (0x7 << 76)
        | ((rand >> 62) << 64)
        | (0b10 << 62)
        | (rand & ((1 << 62) - 1))
    )
