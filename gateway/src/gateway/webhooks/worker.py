"""The webhook worker: fans the log out into deliveries and sends them, on every replica at once.

Each pass (one task per replica):

1. **Fan-out.** Lock the fan-out cursor row, turn the log events after it into one delivery per
   matching subscription, move the cursor, commit: each event is fanned out once.
2. **Claim.** Select due, pending deliveries of active subscriptions with
   `FOR UPDATE SKIP LOCKED` (PostgreSQL), set each one's `next_attempt_at` a lease ahead (the
   attempt timeout plus a margin) and commit. Replicas claiming at the same moment take different
   rows; no database lock is held while the HTTP call runs. If the process dies mid-attempt, the
   lease runs out and any replica retries the delivery (at least once; receivers de-duplicate by
   `webhook-id`).
3. **Send.** Each claimed delivery is POSTed in its own task, at most `webhooks_concurrency` at
   once per replica and `webhooks_per_subscription` per subscription (subscriptions at their cap
   are left out of the claim, so one slow receiver cannot starve the others), each attempt
   bounded by `webhooks_timeout_s` in total. Redirects are not followed.
4. **Record.** The attempt goes into the delivery log and the delivery moves on: succeeded,
   retried later per the schedule, or failed; see `gateway.webhooks.service`.

Every request carries the Standard Webhooks headers: `webhook-id` (the log event's id; the same on
every retry and replay), `webhook-timestamp` (seconds since the epoch, per attempt) and
`webhook-signature` (`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, one per live secret,
space-separated). The body is `{"type", "timestamp", "data"}` with the event as `data`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook

from gateway.config import Settings
from gateway.events.schemas import GatewayEvent
from gateway.models import Event, WebhookDelivery, WebhookSubscription
from gateway.webhooks import repository, service, urls
from servicekit.background import loop_task, pause
from servicekit.db import autocommit
from servicekit.ids import utcnow
from servicekit.jsonutil import dumps

log = logging.getLogger("gateway.webhooks")

USER_AGENT = "Scrutiny-Webhooks/1.0"
# How long a stopping worker waits for attempts under way before it stops them.
SHUTDOWN_GRACE_S = 2.0


@dataclass(frozen=True)
class Job:
    """One claimed delivery, with everything needed to send it."""

    delivery_id: uuid.UUID
    subscription_id: uuid.UUID
    url: str
    secrets: tuple[str, ...]
    message_id: str
    body: bytes
    replay: bool


def message_body(event: Event) -> bytes:
    """The Standard Webhooks payload of a log event."""
    data = GatewayEvent.model_validate(event, from_attributes=True).model_dump(mode="json")
    return dumps({"type": event.type, "timestamp": data["occurred_at"], "data": data})


def live_secrets(sub: WebhookSubscription, now: datetime) -> tuple[str, ...]:
    """The secrets to sign with: the current one, and the previous one during its grace."""
    if (
        sub.previous_secret
        and sub.previous_secret_expires_at is not None
        and sub.previous_secret_expires_at > now
    ):
        return (sub.secret, sub.previous_secret)
    return (sub.secret,)


def sign_headers(
    message_id: str, body: bytes, secrets: tuple[str, ...], at: datetime
) -> dict[str, str]:
    """`webhook-id`, `webhook-timestamp` and `webhook-signature` for one attempt."""
    text = body.decode()
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": " ".join(Webhook(s).sign(message_id, at, text) for s in secrets),
    }


class WebhookWorker:
    """Fans out and delivers webhooks until cancelled."""

    def __init__(
        self,
        maker: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        resolver: urls.Resolver = urls.system_resolver,
    ) -> None:
        self.maker = maker
        self.settings = settings
        self.resolver = resolver
        limits = httpx.Limits(
            max_connections=settings.webhooks_concurrency,
            max_keepalive_connections=settings.webhooks_concurrency,
        )
        self.client = httpx.AsyncClient(
            # TCP_NODELAY: httpx writes the headers and the body separately, and with Nagle's
            # algorithm the body waits for the receiver's delayed ACK (~40 ms per delivery).
            transport=transport
            or httpx.AsyncHTTPTransport(
                limits=limits, socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
            ),
            follow_redirects=False,
            # The environment's proxies must not decide where deliveries go.
            trust_env=False,
            timeout=httpx.Timeout(settings.webhooks_timeout_s),
            limits=limits,
            headers={"User-Agent": USER_AGENT},
        )
        self.tasks: set[asyncio.Task[None]] = set()
        # Tasks still waiting on their receiver (not yet recording the outcome).
        self.attempting: set[asyncio.Task[Any]] = set()
        self.in_flight: Counter[uuid.UUID] = Counter()
        self.wake = asyncio.Event()
        self.attempts = 0  # attempts made by this replica (tests and the benchmark read it)

    # --- the loop --------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Fan out, claim, send, until `stop` is set; sleep when there is nothing to do."""
        interval = delay = self.settings.webhooks_poll_interval_s
        idle_cap = max(self.settings.webhooks_idle_interval_s, interval)
        idle = interval
        loop = asyncio.get_running_loop()
        fan_out_due = 0.0
        stop = stop or asyncio.Event()
        while not stop.is_set():
            # Cleared before the pass, not after: a delivery finishing during the pass must
            # wake the next one at once, not after a whole interval.
            self.wake.clear()
            try:
                # Fan-out on its own clock (or at once while it is catching up); a finished
                # delivery only needs a claim, not another look at the log.
                moved = 0
                backlog = False
                if loop.time() >= fan_out_due:
                    moved = await self.fan_out_once()
                    # An idle log is looked at less and less often, down to idle_cap; a busy
                    # one once per interval (a batch per pass, not a pass per event), and at
                    # once while a backlog drains.
                    idle = interval if moved else min(idle * 2, idle_cap)
                    backlog = moved >= service.FAN_OUT_BATCH
                    fan_out_due = loop.time() + (0 if backlog else idle)
                claimed = await self.claim_once()
                delay = interval
                if backlog or claimed:
                    continue
                # Until a delivery finishes or the next fan-out is due; retries that fall due
                # meanwhile are claimed then (at most idle_cap late).
                timeout = max(fan_out_due - loop.time(), 0.001)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("webhook pass failed; will retry")
                delay = timeout = min(delay * 2, 5.0)
            await pause(timeout, self.wake, stop)

    async def fan_out_once(self) -> int:
        """One fan-out batch; how many log events it handled."""
        # Looked for without a lock first: an idle pass takes no write lock (SQLite) and no
        # row lock (PostgreSQL).
        async with autocommit(self.maker) as session:
            if not await repository.fan_out_pending(session):
                return 0
        async with self.maker() as session, session.begin():
            return await service.fan_out(session)

    async def claim_once(self) -> int:
        """Claim due deliveries for the free slots and start sending them."""
        free = self.settings.webhooks_concurrency - len(self.tasks)
        if free <= 0:
            return 0
        cap = self.settings.webhooks_per_subscription
        full = [s for s, n in self.in_flight.items() if n >= cap]
        now = utcnow()
        async with autocommit(self.maker) as session:
            if not await repository.any_due(session, now, exclude=full):
                return 0
        async with self.maker() as session, session.begin():
            rows = await repository.due_deliveries(session, now, free * 2, exclude=full)
            picked: list[WebhookDelivery] = []
            load = Counter(self.in_flight)
            for row in rows:
                if len(picked) >= free:
                    break
                if load[row.subscription_id] >= cap:
                    continue
                load[row.subscription_id] += 1
                picked.append(row)
            if not picked:
                return 0
            events = await repository.events_by_id(session, [r.event_id for r in picked])
            subs = await repository.subscriptions_by_id(
                session, list({r.subscription_id for r in picked})
            )
            lease = timedelta(
                seconds=self.settings.webhooks_timeout_s + self.settings.webhooks_lease_margin_s
            )
            jobs = []
            for row in picked:
                row.next_attempt_at = now + lease
                event, sub = events[row.event_id], subs[row.subscription_id]
                jobs.append(
                    Job(
                        delivery_id=row.id,
                        subscription_id=sub.id,
                        url=sub.url,
                        secrets=live_secrets(sub, now),
                        message_id=str(event.id),
                        body=message_body(event),
                        replay=row.replayed,
                    )
                )
        for job in jobs:
            self._start(job)
        return len(jobs)

    def _start(self, job: Job) -> None:
        self.in_flight[job.subscription_id] += 1
        task = asyncio.create_task(self._deliver(job), name=f"webhook-{job.delivery_id}")
        self.tasks.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self.tasks.discard(t)
            self.in_flight[job.subscription_id] -= 1
            if self.in_flight[job.subscription_id] <= 0:
                del self.in_flight[job.subscription_id]
            self.wake.set()

        task.add_done_callback(done)

    async def _deliver(self, job: Job) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.attempting.add(task)
        try:
            outcome = await self.attempt(job)
        finally:
            self.attempting.discard(task)
        try:
            async with self.maker() as session, session.begin():
                await service.record(session, outcome, self.settings)
        except Exception:
            # The lease runs out and the delivery is attempted again: at least once.
            log.exception("could not record the attempt of delivery %s", job.delivery_id)

    # --- one attempt -----------------------------------------------------------------------

    async def attempt(self, job: Job) -> service.Outcome:
        """POST one delivery; never raises, always within the timeout."""

        def outcome(kind: str, **kw: object) -> service.Outcome:
            return service.Outcome(
                job.delivery_id,
                job.subscription_id,
                kind,
                latency_ms=round((time.perf_counter() - started) * 1000, 2),
                replay=job.replay,
                **kw,  # type: ignore[arg-type]
            )

        self.attempts += 1
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.settings.webhooks_timeout_s):
                # Checked again now, and connected to the address checked (DNS rebinding).
                target = await urls.check(
                    job.url,
                    allow_http=self.settings.webhooks_allow_http,
                    allow_private=self.settings.webhooks_allow_private,
                    resolver=self.resolver,
                )
                headers = {
                    "Content-Type": "application/json",
                    **sign_headers(job.message_id, job.body, job.secrets, utcnow()),
                }
                if target.host_header:
                    headers["Host"] = target.host_header
                request = self.client.build_request(
                    "POST",
                    target.url,
                    content=job.body,
                    headers=headers,
                    extensions=target.extensions,
                )
                response = await self.client.send(request, stream=True)
                # The status line and headers are the answer; the body is not read.
                await response.aclose()
        except urls.ForbiddenTargetError as exc:
            return outcome("forbidden_address", error=f"target refused: {exc}")
        except (TimeoutError, httpx.TimeoutException):
            return outcome(
                "timeout", error=f"no answer within {self.settings.webhooks_timeout_s:g} s"
            )
        except httpx.HTTPError as exc:
            return outcome("error", error=f"{type(exc).__name__}: {exc}"[:500])
        except Exception as exc:
            # Whatever went wrong is this attempt's failure, logged and retried; never a crash
            # of the worker.
            log.warning("webhook attempt %s failed unexpectedly", job.delivery_id, exc_info=True)
            return outcome("error", error=f"{type(exc).__name__}: {exc}"[:500])
        status = response.status_code
        if 200 <= status < 300:
            return outcome("succeeded", status_code=status)
        if status == 410:
            return outcome("gone", status_code=status, error="410 Gone: subscription disabled")
        if 300 <= status < 400:
            where = response.headers.get("location", "")
            return outcome(
                "redirect",
                status_code=status,
                error=f"redirect to {where[:300]!r} not followed",
                retry_after=response.headers.get("retry-after"),
            )
        return outcome(
            "failed",
            status_code=status,
            error=f"HTTP {status}",
            retry_after=response.headers.get("retry-after"),
        )

    async def close(self) -> None:
        """Give in-flight deliveries a moment, then stop those still waiting on a receiver.

        A stopped attempt is not recorded: its lease runs out and a pass (on any replica)
        sends it again. An outcome being recorded is left to finish: cancelling a transaction
        half-way is what shutdown must not do (servicekit.background).
        """
        if self.tasks:
            await asyncio.wait(
                set(self.tasks), timeout=min(SHUTDOWN_GRACE_S, self.settings.webhooks_timeout_s)
            )
        for task in list(self.attempting):
            task.cancel()
        if self.tasks:
            await asyncio.wait(set(self.tasks), timeout=SHUTDOWN_GRACE_S * 5)
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.client.aclose()


def webhooks_lifespan(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    resolver: urls.Resolver | None = None,
) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    """A lifespan hook that runs the worker while the app runs."""

    @contextlib.asynccontextmanager
    async def hook(app: FastAPI) -> AsyncIterator[None]:
        app.state.webhook_resolver = resolver or urls.system_resolver
        if not settings.webhooks_deliver:
            app.state.webhook_worker = None
            yield
            return
        worker = WebhookWorker(
            app.state.sessionmaker,
            settings,
            transport=transport,
            resolver=app.state.webhook_resolver,
        )
        app.state.webhook_worker = worker
        try:
            async with loop_task("webhook-worker", worker.run):
                yield
        finally:
            await worker.close()

    return hook
