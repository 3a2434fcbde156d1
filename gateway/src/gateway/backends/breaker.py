"""A circuit breaker per backend: a dead service costs microseconds, not a timeout per request.

Written here rather than taken from a library: the candidates on PyPI either wrap a function
(`circuitbreaker`, `aiobreaker`) and so cannot tell a transport failure from a service's own
error answer, or let every waiting call through at once when half-open. What the gateway needs
is small: count consecutive transport failures, refuse without touching the network while open,
and admit exactly one probe when the cool-down is over.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from servicekit.problems import ProblemError


class State(StrEnum):
    """Where the breaker is."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitOpenError(Exception):
    """The breaker refused the call; `retry_after_s` is what is left of the cool-down."""

    def __init__(self, service: str, retry_after_s: int) -> None:
        super().__init__(f"circuit to {service} is open")
        self.service = service
        self.retry_after_s = retry_after_s

    def problem(self) -> ProblemError:
        """The 503 the gateway answers instead of calling the service."""
        return ProblemError(
            503,
            "Service Unavailable",
            f"The {self.service} service is failing; the gateway is not calling it for "
            f"{self.retry_after_s} s.",
            type_="/problems/service-unavailable",
            headers={"Retry-After": str(self.retry_after_s)},
        )


@dataclass
class CircuitBreaker:
    """Closed → (N consecutive failures) → open for `cooldown_s` → half-open (one probe) →
    closed on success, open again on failure. State is per process, like each replica's view of
    its own network path to the service."""

    service: str
    failure_threshold: int = 5
    cooldown_s: float = 10.0
    clock: Callable[[], float] = time.monotonic
    failures: int = 0
    opened_at: float | None = None
    _probing: bool = field(default=False, repr=False)

    @property
    def state(self) -> State:
        """The current state (open turns half-open by itself when the cool-down is over)."""
        if self.opened_at is None:
            return State.CLOSED
        if self.clock() - self.opened_at < self.cooldown_s:
            return State.OPEN
        return State.HALF_OPEN

    def check(self) -> None:
        """Raise `CircuitOpenError` if a call would be refused now (claims nothing)."""
        if self.opened_at is None:
            return
        left = self.cooldown_s - (self.clock() - self.opened_at)
        if left > 0:
            raise CircuitOpenError(self.service, max(1, math.ceil(left)))
        if self._probing:
            raise CircuitOpenError(self.service, 1)

    def before_call(self) -> bool:
        """Admit a call or raise `CircuitOpenError`; True when the call is the half-open probe
        (its caller must report how it went, or `release` it)."""
        if self.opened_at is None:
            return False
        # One probe at a time; the rest keep failing fast until it answers.
        self.check()
        self._probing = True
        return True

    def success(self) -> None:
        """The service answered (any HTTP status): close."""
        self.failures = 0
        self.opened_at = None
        self._probing = False

    def failure(self) -> None:
        """A transport failure or timeout: count it; open at the threshold or on a failed probe."""
        self.failures += 1
        if self._probing or self.failures >= self.failure_threshold:
            self.opened_at = self.clock()
        self._probing = False

    def release(self) -> None:
        """The probe ended without an outcome (cancelled): let another call probe."""
        self._probing = False
