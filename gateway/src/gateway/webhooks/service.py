"""Webhook rules: subscriptions and who may see them, fan-out, retries, disabling. Never commits.

Delivery rules (also in the README):

- **What is delivered.** Every log event after the subscription was made whose type matches one
  of its `event_types` (exact, `<resource>.*` or `*`). Subscriptions get public events only,
  unless made (or patched) by an `admin` token with `include_private: true`.
- **Retries.** An attempt succeeds on any 2xx. Anything else (a non-2xx status, a redirect,
  which is never followed, a timeout, a connection error, a target that now resolves to a
  forbidden address) is retried after the next wait of `GATEWAY_WEBHOOKS_RETRY_SCHEDULE_S`
  (default 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 3 h, 6 h, 12 h), each wait jittered by ±20 %,
  or after the receiver's `Retry-After` if that is longer (capped at 12 h). When the schedule
  is exhausted the delivery has failed; replay it to try again.
- **Disabling.** A 410 Gone disables the subscription at once. So do
  `GATEWAY_WEBHOOKS_DISABLE_AFTER_FAILURES` (100) failed attempts in a row, or failing every
  attempt for `GATEWAY_WEBHOOKS_DISABLE_AFTER_HOURS` (24 h). A disabled subscription gets no new
  events and its pending deliveries wait; `PATCH active: true` resumes them.
"""

from __future__ import annotations

import base64
import random
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.config import Settings
from gateway.events.catalog import is_known_pattern, matches
from gateway.models import Event, WebhookAttempt, WebhookDelivery, WebhookSubscription
from gateway.webhooks import repository, urls
from gateway.webhooks.schemas import (
    AttemptRead,
    DeliveryRead,
    SecretRotated,
    SubscriptionCreate,
    SubscriptionRead,
    SubscriptionUpdate,
)
from servicekit.auth import Principal
from servicekit.crud import apply_values
from servicekit.ids import utcnow
from servicekit.outbox import record_event
from servicekit.problems import FieldError, ProblemError, conflict, not_found
from servicekit.schemas import merge_patch

_REQUIRED = frozenset({"url", "event_types", "active", "include_private"})
# Log events turned into deliveries per fan-out pass.
FAN_OUT_BATCH = 500


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _invalid(errors: list[FieldError]) -> ProblemError:
    n = len(errors)
    return ProblemError(
        422,
        "Your request is not valid",
        f"{n} field{'s' if n != 1 else ''} failed validation.",
        type_="/problems/validation-error",
        errors=errors,
    )


def check_event_types(patterns: list[str]) -> list[str]:
    """The patterns, de-duplicated in order; 422 naming every unknown one."""
    errors = [
        FieldError(
            pointer=f"body.event_types.{i}",
            detail=f"{p!r} is not a known event type, `<resource>.*` or `*` "
            "(see GET /v1/event-types).",
            code="unknown_event_type",
        )
        for i, p in enumerate(patterns)
        if not is_known_pattern(p)
    ]
    if errors:
        raise _invalid(errors)
    return list(dict.fromkeys(patterns))


async def check_url(url: str, settings: Settings, resolver: urls.Resolver) -> None:
    """422 if the URL may not be a webhook target."""
    try:
        await urls.check(
            url,
            allow_http=settings.webhooks_allow_http,
            allow_private=settings.webhooks_allow_private,
            resolver=resolver,
        )
    except urls.ForbiddenTargetError as exc:
        raise _invalid(
            [FieldError(pointer="body.url", detail=f"Not allowed: {exc}.", code="forbidden_url")]
        ) from None


def _require_admin_for_private(principal: Principal, include_private: bool | None) -> None:
    if include_private and not principal.has("admin"):
        raise ProblemError(
            403,
            "Forbidden",
            "Only a token with the 'admin' scope may subscribe to private events.",
            type_="/problems/insufficient-scope",
        )


def _event(session: AsyncSession, type_: str, row: WebhookSubscription) -> SubscriptionRead:
    read = SubscriptionRead.model_validate(row)
    # Subscriptions are their owners' business: the event stays in the internal log.
    record_event(
        session,
        Event,
        type_,
        "webhook_subscription",
        row.id,
        read.model_dump(mode="json"),
        public=False,
    )
    return read


async def get_owned(
    session: AsyncSession, principal: Principal, ident: uuid.UUID
) -> WebhookSubscription:
    """A subscription the caller may see: any for `admin`, its own otherwise; else 404."""
    row = await session.get(WebhookSubscription, ident)
    if row is None or not (principal.has("admin") or row.owner_client_id == principal.client_id):
        # The same answer for "not yours" and "not there": ids of others' are not disclosed.
        raise not_found("webhook subscription", ident)
    return row


async def create_subscription(
    session: AsyncSession,
    principal: Principal,
    body: SubscriptionCreate,
    settings: Settings,
    resolver: urls.Resolver,
) -> tuple[SubscriptionRead, str]:
    """Make a subscription; returns it and its secret (shown once)."""
    _require_admin_for_private(principal, body.include_private)
    patterns = check_event_types(body.event_types)
    await check_url(body.url, settings, resolver)
    secret = new_secret()
    row = WebhookSubscription(
        owner_client_id=principal.client_id,
        owner_organisation=principal.organisation,
        url=body.url,
        event_types=patterns,
        description=body.description,
        active=body.active,
        include_private=body.include_private,
        secret=secret,
        # From the next event on: a new subscriber is not flooded with history (the feed has it).
        start_position=await repository.head_position(session),
        consecutive_failures=0,
    )
    session.add(row)
    await session.flush()
    return _event(session, "webhook_subscription.created", row), secret


async def update_subscription(
    session: AsyncSession,
    principal: Principal,
    row: WebhookSubscription,
    body: SubscriptionUpdate,
    settings: Settings,
    resolver: urls.Resolver,
) -> SubscriptionRead:
    """Apply a merge patch; re-enabling clears the failure record."""
    values = merge_patch(body, required=_REQUIRED)
    _require_admin_for_private(principal, body.include_private)
    if body.event_types is not None:
        values["event_types"] = check_event_types(body.event_types)
    if "url" in values and values["url"] != row.url:
        await check_url(str(values["url"]), settings, resolver)
    if values.get("active") is True and not row.active:
        values.update(
            consecutive_failures=0, failing_since=None, disabled_at=None, disabled_reason=None
        )
    elif values.get("active") is False and row.active:
        values.update(disabled_at=utcnow(), disabled_reason="disabled by its owner")
    if apply_values(row, values):
        await session.flush()
        return _event(session, "webhook_subscription.updated", row)
    return SubscriptionRead.model_validate(row)


async def rotate_secret(
    session: AsyncSession, row: WebhookSubscription, settings: Settings
) -> SecretRotated:
    """A new secret at once; the old one keeps signing alongside it for the grace period."""
    grace = settings.webhooks_secret_grace_s
    row.previous_secret = row.secret if grace > 0 else None
    row.previous_secret_expires_at = utcnow() + timedelta(seconds=grace) if grace > 0 else None
    row.secret = new_secret()
    await session.flush()
    _event(session, "webhook_subscription.secret_rotated", row)
    return SecretRotated(
        id=row.id, secret=row.secret, previous_secret_expires_at=row.previous_secret_expires_at
    )


async def delete_subscription(session: AsyncSession, row: WebhookSubscription) -> None:
    """Remove a subscription with its deliveries and their log."""
    _event(session, "webhook_subscription.deleted", row)
    await session.delete(row)
    await session.flush()


def delivery_read(row: WebhookDelivery, attempts: list[WebhookAttempt]) -> DeliveryRead:
    """A delivery with its attempts."""
    return DeliveryRead(
        id=row.id,
        subscription_id=row.subscription_id,
        event_id=row.event_id,
        event_position=row.event_position,
        event_type=row.event_type,
        status=row.status,
        attempt_count=row.attempt_count,
        next_attempt_at=row.next_attempt_at if row.status == "pending" else None,
        last_attempt_at=row.last_attempt_at,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        succeeded_at=row.succeeded_at,
        created_at=row.created_at,
        attempts=[AttemptRead.model_validate(a) for a in attempts],
    )


async def get_delivery(
    session: AsyncSession, subscription: WebhookSubscription, ident: uuid.UUID
) -> WebhookDelivery:
    """One of the subscription's deliveries, or 404."""
    row = await session.get(WebhookDelivery, ident)
    if row is None or row.subscription_id != subscription.id:
        raise not_found("delivery", ident)
    return row


async def replay(
    session: AsyncSession, subscription: WebhookSubscription, row: WebhookDelivery
) -> DeliveryRead:
    """Send a delivery again now, with a fresh retry schedule (same `webhook-id`)."""
    if not subscription.active:
        raise conflict("The subscription is disabled; re-enable it (PATCH active: true) first.")
    row.status = "pending"
    row.series_attempts = 0
    row.next_attempt_at = utcnow()
    row.replayed = True
    await session.flush()
    attempts = await repository.attempts_of(session, [row.id])
    return delivery_read(row, attempts[row.id])


# --- fan-out -----------------------------------------------------------------------------------


def wanted(subscription: WebhookSubscription, event: Event) -> bool:
    """Whether a subscription should get an event."""
    return (
        event.position is not None
        and event.position > subscription.start_position
        and (event.public or subscription.include_private)
        and matches(subscription.event_types, event.type)
    )


async def fan_out(session: AsyncSession, batch: int = FAN_OUT_BATCH) -> int:
    """Turn the next log events into deliveries; returns how many events were handled.

    The cursor row is locked for the transaction and moves with the deliveries it creates, so
    with several replicas each event is fanned out exactly once.
    """
    cursor = await repository.lock_cursor(session)
    events = await repository.events_after(session, cursor.position, batch)
    if not events:
        return 0
    subscriptions = await repository.active_subscriptions(session)
    now = utcnow()
    for event in events:
        for sub in subscriptions:
            if wanted(sub, event):
                assert event.position is not None
                session.add(
                    WebhookDelivery(
                        subscription_id=sub.id,
                        event_id=event.id,
                        event_position=event.position,
                        event_type=event.type,
                        status="pending",
                        attempt_count=0,
                        series_attempts=0,
                        replayed=False,
                        next_attempt_at=now,
                        created_at=now,
                    )
                )
    last = events[-1].position
    assert last is not None
    cursor.position = last
    return len(events)


# --- retries -----------------------------------------------------------------------------------


def retry_delay(
    failed_in_series: int, settings: Settings, rng: random.Random | None = None
) -> float | None:
    """Seconds to wait after the n-th failed attempt of a series, or None: give up."""
    schedule = settings.webhooks_retry_schedule_s
    if failed_in_series > len(schedule):
        return None
    base = schedule[failed_in_series - 1]
    jitter = settings.webhooks_retry_jitter
    return base * (rng or random).uniform(1 - jitter, 1 + jitter)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or an HTTP date), if usable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


@dataclass
class Outcome:
    """What one attempt came to."""

    delivery_id: uuid.UUID
    subscription_id: uuid.UUID
    outcome: str  # succeeded, failed, timeout, redirect, gone, forbidden_address, error
    status_code: int | None = None
    latency_ms: float | None = None
    error: str | None = None
    retry_after: str | None = None
    replay: bool = False
    at: datetime = field(default_factory=utcnow)


async def record(session: AsyncSession, result: Outcome, settings: Settings) -> None:
    """Log an attempt and move its delivery (and maybe its subscription) on."""
    row = await repository.lock_delivery(session, result.delivery_id)
    if row is None:
        return  # the subscription was deleted meanwhile
    now = result.at
    session.add(
        WebhookAttempt(
            delivery_id=row.id,
            outcome=result.outcome,
            status_code=result.status_code,
            latency_ms=result.latency_ms,
            error=(result.error or None) and str(result.error)[:500],
            replay=result.replay,
            created_at=now,
        )
    )
    row.attempt_count += 1
    row.last_attempt_at = now
    row.last_status_code = result.status_code
    row.last_error = (result.error or None) and str(result.error)[:500]
    if result.outcome == "succeeded":
        row.status = "succeeded"
        row.succeeded_at = now
        row.series_attempts = 0
        row.next_attempt_at = None
        await repository.note_success(session, result.subscription_id)
        return
    row.series_attempts += 1
    failures, since = await repository.note_failure(session, result.subscription_id, now)
    if result.outcome == "gone":
        row.status = "failed"
        row.next_attempt_at = None
        await disable(session, result.subscription_id, "the receiver answered 410 Gone")
        return
    delay = retry_delay(row.series_attempts, settings)
    if delay is None:
        row.status = "failed"
        row.next_attempt_at = None
    else:
        asked = parse_retry_after(result.retry_after, now)
        if asked is not None:
            delay = max(delay, min(asked, settings.webhooks_max_retry_after_s))
        row.status = "pending"
        row.next_attempt_at = now + timedelta(seconds=delay)
    if failures >= settings.webhooks_disable_after_failures:
        await disable(session, result.subscription_id, f"{failures} failed attempts in a row")
    elif since is not None and now - since >= timedelta(
        hours=settings.webhooks_disable_after_hours
    ):
        await disable(
            session,
            result.subscription_id,
            f"every attempt failed for {settings.webhooks_disable_after_hours:g} hours",
        )


async def disable(session: AsyncSession, subscription_id: uuid.UUID, reason: str) -> None:
    """Stop deliveries to a subscription (an event records why)."""
    sub = await session.get(WebhookSubscription, subscription_id, with_for_update=True)
    if sub is None or not sub.active:
        return
    sub.active = False
    sub.disabled_at = utcnow()
    sub.disabled_reason = reason
    await session.flush()
    _event(session, "webhook_subscription.updated", sub)
