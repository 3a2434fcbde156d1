"""`/v1/webhook-subscriptions`: subscribe, rotate the secret, read the delivery log, replay.

A caller needs the `webhooks` scope (its own subscriptions) or `admin` (everyone's). A
subscription owned by another client answers 404, exactly as one that does not exist.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.config import Settings
from gateway.dependencies import ReadSession, Session
from gateway.webhooks import repository, service, urls
from gateway.webhooks.schemas import (
    DeliveryRead,
    DeliveryStatus,
    SecretRotated,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionRead,
    SubscriptionUpdate,
)
from gateway.webhooks.worker import WebhookWorker
from servicekit.auth import OptionalPrincipal, Principal, forbidden
from servicekit.dependencies import CreateOnce
from servicekit.etag import require_if_match, set_etag
from servicekit.idempotency import created_response_doc
from servicekit.pagination import Page, PageQuery
from servicekit.problems import ProblemError, problem_responses
from servicekit.routing import json_router
from servicekit.schemas import FilterText

router = json_router(prefix="/v1/webhook-subscriptions", tags=["webhooks"])

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
AUTH = (401, 403)
MERGE_PATCH: dict[str, Any] = {
    "requestBody": {"content": {"application/merge-patch+json": {"schema": {}}}}
}


async def webhooks_principal(principal: OptionalPrincipal) -> Principal:
    """Admit callers with the `webhooks` scope (their own) or `admin` (everyone's)."""
    if principal is None:
        raise ProblemError(
            401,
            "Unauthorized",
            "This operation needs an access token; get one from POST /oauth/token.",
            type_="/problems/unauthorized",
            headers={"WWW-Authenticate": 'Bearer realm="scrutiny"'},
        )
    if not (principal.has("webhooks") or principal.has("admin")):
        raise forbidden("webhooks")
    return principal


# The route-table contract test looks for this marker on scope dependencies.
webhooks_principal.required_scope = "webhooks"  # type: ignore[attr-defined]
Caller = Annotated[Principal, Depends(webhooks_principal)]


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _resolver(request: Request) -> urls.Resolver:
    resolver: urls.Resolver = getattr(request.app.state, "webhook_resolver", urls.system_resolver)
    return resolver


def _wake(request: Request) -> None:
    worker: WebhookWorker | None = getattr(request.app.state, "webhook_worker", None)
    if worker is not None:
        worker.wake.set()


@router.post(
    "",
    operation_id="create_webhook_subscription",
    summary="Subscribe a URL to events",
    status_code=status.HTTP_201_CREATED,
    response_model=SubscriptionCreated,
    responses={
        **created_response_doc("Subscribed; the body holds the signing secret, shown once."),
        **problem_responses(400, *AUTH, 409, 413, 415, 422),
    },
)
async def create_webhook_subscription(
    caller: Caller,
    body: SubscriptionCreate,
    request: Request,
    once: CreateOnce,
) -> Response:
    """Deliver events of the given types to `url`, signed per Standard Webhooks. The response
    holds the signing secret, shown once; a retry with the same `Idempotency-Key` replays it.
    The URL must be https on a public address; event types are checked against
    `GET /v1/event-types`."""

    async def create(session: AsyncSession) -> SubscriptionCreated:
        read, secret = await service.create_subscription(
            session, caller, body, _settings(request), _resolver(request)
        )
        return SubscriptionCreated(**read.model_dump(), secret=secret)

    return await once(
        body,
        client_id=caller.client_id,
        create_read=create,
        location_route="get_webhook_subscription",
        headers=NO_STORE,
    )


@router.get(
    "",
    operation_id="list_webhook_subscriptions",
    summary="List webhook subscriptions",
    responses=problem_responses(*AUTH, 422),
)
async def list_webhook_subscriptions(
    caller: Caller,
    session: ReadSession,
    page: PageQuery,
    owner_client_id: Annotated[
        list[FilterText], Query(max_length=100, description="Admin only: filter by owner.")
    ] = [],  # noqa: B006
    active: bool | None = None,
) -> Page[SubscriptionRead]:
    """Your subscriptions (an admin sees everyone's), oldest first."""
    owners = owner_client_id if caller.has("admin") else [caller.client_id]
    rows, token = await repository.list_subscriptions(
        session, page, owner_client_id=owners, active=active
    )
    return Page(items=[SubscriptionRead.model_validate(r) for r in rows], next_page_token=token)


@router.get(
    "/{id}",
    operation_id="get_webhook_subscription",
    summary="Get a webhook subscription",
    responses=problem_responses(*AUTH, 404, 422),
)
async def get_webhook_subscription(
    caller: Caller, id: uuid.UUID, session: ReadSession, response: Response
) -> SubscriptionRead:
    """One subscription (never its secret), with its delivery health."""
    row = await service.get_owned(session, caller, id)
    set_etag(response, row.id, row.version)
    return SubscriptionRead.model_validate(row)


@router.patch(
    "/{id}",
    operation_id="update_webhook_subscription",
    summary="Update a webhook subscription",
    responses=problem_responses(400, *AUTH, 404, 412, 413, 415, 422, 428),
    openapi_extra=MERGE_PATCH,
)
async def update_webhook_subscription(
    caller: Caller,
    id: uuid.UUID,
    body: SubscriptionUpdate,
    session: Session,
    request: Request,
    response: Response,
) -> SubscriptionRead:
    """Change a subscription with a JSON merge patch; send `If-Match` with its ETag.
    `active: true` re-enables a disabled one (pending deliveries resume)."""
    row = await service.get_owned(session, caller, id)
    require_if_match(request, row.id, row.version)
    read = await service.update_subscription(
        session, caller, row, body, _settings(request), _resolver(request)
    )
    set_etag(response, row.id, row.version)
    _wake(request)
    return read


@router.delete(
    "/{id}",
    operation_id="delete_webhook_subscription",
    summary="Delete a webhook subscription",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(*AUTH, 404, 422),
)
async def delete_webhook_subscription(caller: Caller, id: uuid.UUID, session: Session) -> None:
    """Stop deliveries for good and forget the subscription's delivery log."""
    row = await service.get_owned(session, caller, id)
    await service.delete_subscription(session, row)


@router.post(
    "/{id}/secret",
    operation_id="rotate_webhook_secret",
    summary="Rotate a subscription's signing secret",
    responses=problem_responses(*AUTH, 404, 422),
)
async def rotate_webhook_secret(
    caller: Caller, id: uuid.UUID, session: Session, request: Request, response: Response
) -> SecretRotated:
    """A new secret, shown once, signs from now on. For `GATEWAY_WEBHOOKS_SECRET_GRACE_S`
    (24 h) deliveries carry a second signature made with the old secret, so a receiver can
    switch over without dropping messages."""
    row = await service.get_owned(session, caller, id)
    rotated = await service.rotate_secret(session, row, _settings(request))
    response.headers.update(NO_STORE)
    set_etag(response, row.id, row.version)
    return rotated


@router.get(
    "/{id}/deliveries",
    operation_id="list_webhook_deliveries",
    summary="Read a subscription's delivery log",
    responses=problem_responses(*AUTH, 404, 422),
)
async def list_webhook_deliveries(
    caller: Caller,
    id: uuid.UUID,
    session: ReadSession,
    page: PageQuery,
    status: Annotated[list[DeliveryStatus], Query(max_length=3)] = [],  # noqa: B006
    event_type: Annotated[list[FilterText], Query(max_length=50)] = [],  # noqa: B006
) -> Page[DeliveryRead]:
    """Every delivery, oldest first, with its attempts (time, outcome, status code, latency,
    error); filter by `status` or `event_type`."""
    sub = await service.get_owned(session, caller, id)
    rows, token = await repository.list_deliveries(
        session, sub.id, page, status=status, event_type=event_type
    )
    attempts = await repository.attempts_of(session, [r.id for r in rows])
    return Page(
        items=[service.delivery_read(r, attempts[r.id]) for r in rows], next_page_token=token
    )


@router.get(
    "/{id}/deliveries/{delivery_id}",
    operation_id="get_webhook_delivery",
    summary="Get a delivery",
    responses=problem_responses(*AUTH, 404, 422),
)
async def get_webhook_delivery(
    caller: Caller, id: uuid.UUID, delivery_id: uuid.UUID, session: ReadSession
) -> DeliveryRead:
    """One delivery and its attempts."""
    sub = await service.get_owned(session, caller, id)
    row = await service.get_delivery(session, sub, delivery_id)
    attempts = await repository.attempts_of(session, [row.id])
    return service.delivery_read(row, attempts[row.id])


@router.post(
    "/{id}/deliveries/{delivery_id}/replay",
    operation_id="replay_webhook_delivery",
    summary="Send a delivery again",
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem_responses(*AUTH, 404, 409, 422),
)
async def replay_webhook_delivery(
    caller: Caller, id: uuid.UUID, delivery_id: uuid.UUID, session: Session, request: Request
) -> DeliveryRead:
    """Send the event again now, with the same `webhook-id` and a fresh retry schedule
    (whatever its state: failed, succeeded or still retrying). 409 if the subscription is
    disabled."""
    sub = await service.get_owned(session, caller, id)
    row = await service.get_delivery(session, sub, delivery_id)
    read = await service.replay(session, sub, row)
    _wake(request)
    return read
