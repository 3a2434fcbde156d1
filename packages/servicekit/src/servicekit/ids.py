"""Identifiers and clocks."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import uuid_utils


def new_id() -> uuid.UUID:
    """A UUIDv7: time-ordered, so b-tree inserts stay local and keyset order is natural."""
    return uuid.UUID(bytes=uuid_utils.uuid7().bytes)


def utcnow() -> datetime:
    """Now, in UTC, timezone-aware."""
    return datetime.now(UTC)
