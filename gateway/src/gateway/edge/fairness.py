"""Fair share at the edge: a request's body is read before a backend connection is taken for it,
and each client holds at most a bounded share of each backend's pool.

Before this, a proxied upload was streamed to the service as it arrived, so a client trickling
70 uploads at 1 KiB/s held 70 of the gateway's 64 pooled connections to the evidence service and
everyone else's reads through the gateway waited behind them (#19). Now:

- `stage_body` reads the whole body at the edge, against a minimum average rate (after a short
  grace) and an absolute deadline; a body that falls behind either is a 408 problem and never
  reaches a service. Up to `edge_body_memory_bytes` is held in memory; past that the body is
  spooled to a temporary file, so memory stays bounded however large attachments are, and is
  streamed to the service from there (the service still streams it to its blob store). All the
  bodies staged at once share one budget (`edge_staged_budget_bytes`): a piece that would pass
  it ends that upload with a 503 and `Retry-After`, so slow uploads cannot fill the disk.
- `BackendShares` gives each client (its token's client id, else its address) at most
  `backend_client_share` of `backend_max_connections` exchanges in flight per backend; a request
  past its share waits up to `backend_share_wait_s` for one of its own to finish, then gets a
  429 with `Retry-After`. The share is held until the answer has been passed on whole, so slow
  downloads are bounded by it too. Waiting (rather than refusing at once) absorbs the bursts of a
  well-behaved client; refusing after a short wait keeps a greedy one from queueing without end.

The price of store-and-forward is that a large upload reaches the service only once it has
arrived whole; a retry of an idempotent call can resend it, since the staged body can be read
again.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import IO

from anyio import to_thread
from starlette.requests import Request

from gateway.config import Settings
from servicekit.problems import ProblemError

# Read back from the spool file in pieces of this size.
SPOOL_READ_BYTES = 256 * 1024
# The key `EdgeMiddleware` leaves in the request's state for `client_key`.
CLIENT_KEY = "edge_client_key"


@dataclass
class StagingBudget:
    """The bytes all bodies being staged may hold together, in memory and spooled."""

    limit: int
    used: int = 0

    def take(self, size: int) -> None:
        """Count `size` more bytes, or raise a 503 problem if they would pass the limit."""
        if self.used + size > self.limit:
            raise ProblemError(
                503,
                "Service Unavailable",
                "The gateway is receiving as many uploads as it can hold right now; send this "
                "one again shortly.",
                type_="/problems/staging-full",
                headers={"Retry-After": "5", "Connection": "close"},
            )
        self.used += size

    def give_back(self, size: int) -> None:
        """Release bytes counted by `take`."""
        self.used -= size


@dataclass(frozen=True)
class BodyPolicy:
    """How a request body must arrive, and how much of it may sit in memory."""

    min_rate_bytes_per_s: int
    grace_s: float
    deadline_s: float
    memory_bytes: int
    spool_dir: str | None = None
    budget: StagingBudget = field(default_factory=lambda: StagingBudget(limit=2 * 1024**3))

    @classmethod
    def of(cls, settings: Settings) -> BodyPolicy:
        """The gateway's policy."""
        return cls(
            min_rate_bytes_per_s=settings.edge_body_min_rate_bytes_per_s,
            grace_s=settings.edge_body_grace_s,
            deadline_s=settings.edge_body_deadline_s,
            memory_bytes=settings.edge_body_memory_bytes,
            spool_dir=settings.edge_spool_dir or None,
            budget=StagingBudget(limit=settings.edge_staged_budget_bytes),
        )


class _SpoolStream:
    """The spooled body, read from the start each time it is iterated (a retry resends it)."""

    def __init__(self, file: IO[bytes]) -> None:
        self._file = file

    async def __aiter__(self) -> AsyncIterator[bytes]:
        await to_thread.run_sync(self._file.seek, 0)
        while chunk := await to_thread.run_sync(self._file.read, SPOOL_READ_BYTES):
            yield chunk


class StagedBody:
    """A request body read whole: in memory up to a threshold, else in a temporary file."""

    def __init__(self, policy: BodyPolicy) -> None:
        self._policy = policy
        # Before the spill, the whole body; after it, what waits to be written in one go.
        self._memory = bytearray()
        self._file: IO[bytes] | None = None
        self.size = 0

    @property
    def spooled(self) -> bool:
        """Whether the body went to a temporary file."""
        return self._file is not None

    async def append(self, chunk: bytes) -> None:
        """Add a piece; spill to a temporary file once the body outgrows memory."""
        self._policy.budget.take(len(chunk))
        self.size += len(chunk)
        self._memory += chunk
        if len(self._memory) <= self._policy.memory_bytes:
            return
        if self._file is None:
            # Disk work in a thread: the event loop serves everyone else meanwhile.
            self._file = await to_thread.run_sync(
                lambda: tempfile.TemporaryFile(dir=self._policy.spool_dir)  # noqa: SIM115 (closed by aclose)
            )
        await self._flush()

    async def _flush(self) -> None:
        if self._file is not None and self._memory:
            pending, self._memory = bytes(self._memory), bytearray()
            await to_thread.run_sync(self._file.write, pending)

    async def finish(self) -> bytes | _SpoolStream:
        """The content to send on: the bytes themselves, or a stream of the spool file."""
        if self._file is None:
            return bytes(self._memory)
        await self._flush()
        await to_thread.run_sync(self._file.flush)
        return _SpoolStream(self._file)

    async def aclose(self) -> None:
        """Delete the spool file, if there is one, and give its bytes back to the budget."""
        self._policy.budget.give_back(self.size)
        self.size = 0
        if self._file is not None:
            file, self._file = self._file, None
            await to_thread.run_sync(file.close)


def too_slow(detail: str) -> ProblemError:
    """408: the body did not arrive in time; the connection is closed after the answer."""
    return ProblemError(
        408,
        "Request Timeout",
        detail,
        type_="/problems/request-timeout",
        headers={"Connection": "close"},
    )


def has_body(request: Request) -> bool:
    """Whether the request declares a body (a length above zero, or a chunked one)."""
    length = request.headers.get("content-length")
    if length is not None:
        return length.strip() not in ("", "0")
    return "transfer-encoding" in request.headers


async def stage_body(request: Request, policy: BodyPolicy) -> StagedBody:
    """Read the request's body whole, or raise a 408 problem when it arrives too slowly.

    At `t` seconds in, at least `min_rate * (t - grace)` bytes must have arrived, and all of it
    by the deadline; each wait for the next piece is bounded by the moment the body so far would
    fall behind. The body-size cap (`BodyLimitMiddleware`, outside) still applies as it arrives.
    """
    staged = StagedBody(policy)
    start = time.monotonic()
    pieces = request.stream().__aiter__()
    try:
        while True:
            due = min(policy.deadline_s, policy.grace_s + staged.size / policy.min_rate_bytes_per_s)
            left = due - (time.monotonic() - start)
            try:
                if left <= 0:
                    raise TimeoutError
                async with asyncio.timeout(left):
                    chunk = await anext(pieces)
            except StopAsyncIteration:
                return staged
            except TimeoutError:
                raise too_slow(_late(staged.size, time.monotonic() - start, policy)) from None
            if chunk:
                await staged.append(chunk)
    except BaseException:
        await staged.aclose()
        raise


def _late(size: int, elapsed: float, policy: BodyPolicy) -> str:
    if elapsed >= policy.deadline_s:
        return (
            f"The request body was not complete within {policy.deadline_s:g} s "
            f"({size} bytes had arrived)."
        )
    return (
        f"The request body arrived too slowly: {size} bytes in {elapsed:.1f} s; the gateway "
        f"needs at least {policy.min_rate_bytes_per_s} bytes/s after the first "
        f"{policy.grace_s:g} s."
    )


# --- shares of the backend pools ---------------------------------------------------------------


def client_key(request: Request) -> str:
    """Whose share a request counts against: the edge's caller key, else the peer address."""
    key = getattr(request.state, CLIENT_KEY, None)
    if isinstance(key, str):
        return key
    return f"address:{request.client.host if request.client else 'unknown'}"


@dataclass
class _Share:
    permits: asyncio.Semaphore
    held: int = 0
    users: int = 0  # holders and waiters; the entry is dropped when it reaches 0


@dataclass
class BackendShares:
    """At most `permits` exchanges in flight per (client, backend); entries exist only while
    used, so a flood of distinct callers leaves nothing behind."""

    permits: int
    wait_s: float
    retry_after_s: int = 1
    _shares: dict[tuple[str, str], _Share] = field(default_factory=dict)

    @classmethod
    def of(cls, settings: Settings) -> BackendShares:
        """Shares sized from the gateway's settings (at least one exchange each)."""
        permits = max(1, int(settings.backend_max_connections * settings.backend_client_share))
        return cls(permits=permits, wait_s=settings.backend_share_wait_s)

    def in_flight(self, client: str, service: str) -> int:
        """Exchanges `client` has in flight to `service` now."""
        share = self._shares.get((client, service))
        return 0 if share is None else share.held

    async def acquire(self, client: str, service: str) -> Callable[[], None]:
        """Take one of `client`'s exchanges to `service`, waiting a little for one to free up;
        a 429 problem past the wait. Returns the release (safe to call more than once)."""
        key = (client, service)
        share = self._shares.get(key)
        if share is None:
            share = self._shares[key] = _Share(asyncio.Semaphore(self.permits))
        share.users += 1
        try:
            if share.permits.locked():
                async with asyncio.timeout(self.wait_s):
                    await share.permits.acquire()
            else:
                # Free: taken without yielding, so a zero wait still admits.
                await share.permits.acquire()
        except TimeoutError:
            self._leave(key, share)
            raise self._refusal(service) from None
        except BaseException:
            self._leave(key, share)
            raise
        share.held += 1
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                share.held -= 1
                share.permits.release()
                self._leave(key, share)

        return release

    def _leave(self, key: tuple[str, str], share: _Share) -> None:
        share.users -= 1
        if share.users == 0 and self._shares.get(key) is share:
            del self._shares[key]

    def _refusal(self, service: str) -> ProblemError:
        return ProblemError(
            429,
            "Too Many Requests",
            f"This client already has {self.permits} requests in flight to the {service} "
            f"service, its share of the gateway's connections; wait for one to finish.",
            type_="/problems/too-many-in-flight",
            headers={"Retry-After": str(self.retry_after_s)},
        )
