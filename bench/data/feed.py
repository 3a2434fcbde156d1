"""A service's outbox as generated: one positioned event per resource in its current state."""

from __future__ import annotations

import random
import uuid
from datetime import datetime
from typing import Any

from bench.data.ids import uuid7_at


class Feed:
    """Positioned outbox rows of one service (and what the gateway's log imports from them)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.rows: list[dict[str, Any]] = []

    def add(
        self,
        type_: str,
        resource_id: uuid.UUID,
        at: datetime,
        payload: dict[str, Any],
        rng: random.Random,
        *,
        public: bool = True,
    ) -> None:
        """Append an event at the next position."""
        self.rows.append(
            {
                "id": uuid7_at(at, rng),
                "position": len(self.rows) + 1,
                "type": type_,
                "resource_type": type_.split(".", 1)[0],
                "resource_id": resource_id,
                "occurred_at": at,
                "public": public,
                "payload": payload,
            }
        )
