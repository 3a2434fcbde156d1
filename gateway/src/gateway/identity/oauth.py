"""Identity: the OAuth token endpoint, the JWKS, and the admin API for clients and keys."""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Annotated, Any
from urllib.parse import parse_qsl, unquote_plus

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.config import Settings
from gateway.dependencies import Admin, ReadSession, Session, SettingsDep
from gateway.edge.middleware import Quota, RateLimiter, client_directory
from gateway.identity import clients as service
from gateway.identity import repository
from gateway.identity.schemas import (
    ClientCreate,
    ClientCreated,
    ClientRead,
    ClientSecret,
    ClientUpdate,
    Jwks,
    OAuthError,
    SigningKeyList,
    SigningKeyRead,
    TokenResponse,
)
from gateway.models import ApiClient, SigningKey
from servicekit.auth import AuthSettings, accepts_basic_auth
from servicekit.crud import get_or_404
from servicekit.dependencies import CreateOnce
from servicekit.etag import require_if_match, set_etag
from servicekit.idempotency import created_response_doc
from servicekit.ids import utcnow
from servicekit.pagination import Page, PageQuery
from servicekit.problems import not_found, problem_responses
from servicekit.routing import json_router
from servicekit.schemas import FilterText

oauth_router = APIRouter(tags=["auth"])
admin_router = json_router(prefix="/v1")

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
FORM = "application/x-www-form-urlencoded"
ADMIN_ERRORS = (401, 403)
MERGE_PATCH: dict[str, Any] = {
    "requestBody": {"content": {"application/merge-patch+json": {"schema": {}}}}
}

_TOKEN_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            FORM: {
                "schema": {
                    "type": "object",
                    "required": ["grant_type"],
                    "properties": {
                        "grant_type": {"type": "string", "enum": ["client_credentials"]},
                        "scope": {
                            "type": "string",
                            "description": "Space-separated subset of the client's scopes.",
                        },
                        "client_id": {
                            "type": "string",
                            "description": "Unless sent with HTTP Basic.",
                        },
                        "client_secret": {
                            "type": "string",
                            "description": "Unless sent with HTTP Basic.",
                        },
                    },
                }
            }
        },
    }
}


def oauth_error(error: str, description: str, status_code: int = 400) -> JSONResponse:
    """An RFC 6749 §5.2 error; `invalid_client` is a 401 with a Basic challenge."""
    headers = dict(NO_STORE)
    if status_code == 401:
        headers["WWW-Authenticate"] = 'Basic realm="scrutiny", charset="UTF-8"'
    body = OAuthError.model_validate({"error": error, "error_description": description})
    return JSONResponse(body.model_dump(), status_code=status_code, headers=headers)


def _bad_client() -> JSONResponse:
    # Never say whether the id, the secret or the client's state was the problem.
    return oauth_error("invalid_client", "Client authentication failed.", 401)


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        return None
    # RFC 6749 §2.3.1: both parts are form-encoded before they are joined.
    client_id, secret = unquote_plus(client_id), unquote_plus(secret)
    if "\x00" in client_id or "\x00" in secret:
        return None  # no client has one; PostgreSQL could not even look it up
    return client_id, secret


async def _token_form(request: Request) -> dict[str, str] | Response:
    """The token request's form parameters, or the OAuth error that answers a bad form."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != FORM:
        return oauth_error("invalid_request", f"Send the parameters as {FORM}.")
    try:
        pairs = parse_qsl(
            (await request.body()).decode("utf-8"), keep_blank_values=True, max_num_fields=20
        )
    except (UnicodeDecodeError, ValueError):
        return oauth_error("invalid_request", "The form body cannot be parsed.")
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            return oauth_error("invalid_request", f"Parameter {name!r} is repeated.")
        if "\x00" in name or "\x00" in value:
            return oauth_error("invalid_request", "Parameters may not contain NUL characters.")
        params[name] = value
    grant_type = params.get("grant_type")
    if not grant_type:
        return oauth_error("invalid_request", "grant_type is required.")
    if grant_type != "client_credentials":
        return oauth_error(
            "unsupported_grant_type", "Only the client_credentials grant is supported."
        )
    return params


def _client_credentials(header: str | None, params: dict[str, str]) -> tuple[str, str] | Response:
    """(client_id, secret) from HTTP Basic or the form — exactly one of them (RFC 6749 §2.3.1).

    An `Authorization` header of another scheme (a client library sending its bearer token to
    every operation) is not client authentication here, and is ignored."""
    if header and header.split(" ", 1)[0].lower() == "basic":
        creds = _basic_credentials(header)
        if creds is None:
            return _bad_client()
        if "client_secret" in params or params.get("client_id", creds[0]) != creds[0]:
            return oauth_error("invalid_request", "Use one client authentication method, not two.")
        return creds
    client_id, secret = params.get("client_id", ""), params.get("client_secret", "")
    if not client_id or not secret:
        return _bad_client()
    return client_id, secret


@oauth_router.post(
    "/oauth/token",
    operation_id="create_token",
    summary="Get an access token",
    response_model=TokenResponse,
    responses={
        400: {"model": OAuthError, "description": "Invalid request, grant type or scope."},
        401: {"model": OAuthError, "description": "Client authentication failed."},
        413: problem_responses(413)[413],
    },
    openapi_extra=_TOKEN_FORM,
)
@accepts_basic_auth
async def create_token(request: Request, settings: SettingsDep) -> Response:
    """OAuth 2.0 client credentials grant (RFC 6749 §4.4). Authenticate with HTTP Basic or with
    `client_id` and `client_secret` in the form; `scope` narrows the token to a subset of the
    client's scopes. The token is an RFC 9068 JWT signed ES256; verify it with the JWKS."""
    params = await _token_form(request)
    if isinstance(params, Response):
        return params
    creds = _client_credentials(request.headers.get("authorization"), params)
    if isinstance(creds, Response):
        return creds
    client_id, secret = creds

    failures = _failure_quotas(request, settings, client_id)
    limiter: RateLimiter = request.app.state.rate_limiter
    waits = [w for q in failures if (w := await limiter.exhausted(q)) is not None]
    if waits:
        # Guessing secrets costs the guesser, not the gateway: no hash is checked.
        refused = oauth_error(
            "invalid_client", "Too many failed attempts; retry after Retry-After seconds.", 429
        )
        refused.headers["Retry-After"] = str(max(waits))
        return refused
    maker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    # Short read transaction; the deliberate cost of Argon2 is paid outside it, in a thread.
    async with maker() as session, session.begin():
        row = await repository.client_by_client_id(session, client_id)
        keys = await repository.signing_keys(session)
    if not await service.check_credentials(row, secret):
        for quota in failures:
            await limiter.count(quota)
        return _bad_client()
    assert row is not None
    if service.needs_rehash(row):
        async with maker() as session, session.begin():
            fresh = await session.get(ApiClient, row.id)
            if fresh is not None:
                fresh.secret_hash = await service.hash_secret(secret)

    if service.holds_reserved_scope(row):
        return oauth_error(
            "unauthorized_client",
            "This client holds a scope reserved for Scrutiny's own services (events:internal); "
            "an admin must remove it before the client can get a token.",
        )
    scopes = service.grant_scopes(row, params.get("scope"))
    if scopes is None:
        return oauth_error("invalid_scope", "The requested scope exceeds the client's scopes.")
    key = service.choose_signing_key(keys, utcnow(), settings.key_publish_delay_s)
    if key is None:
        raise RuntimeError("no signing key; the lifespan creates one at start")
    auth: AuthSettings = request.app.state.auth_settings
    issued = service.mint_token(
        key,
        row,
        scopes,
        auth,
        settings.token_ttl_s,
        cipher=settings.key_cipher(),
        audience=_audience(scopes, auth),
    )
    body = TokenResponse(
        access_token=issued.token, expires_in=issued.expires_in, scope=issued.scope
    )
    return JSONResponse(body.model_dump(), headers=NO_STORE)


def _audience(scopes: list[str], auth: AuthSettings) -> str | list[str]:
    """For the gateway; a service reading another's internal feed (`events:internal`, a scope
    only an operator grants) calls that service directly, so its token is for both."""
    if "events:internal" in scopes:
        return [auth.token_audience, auth.service_audience]
    return auth.token_audience


def _failure_quotas(request: Request, settings: Settings, client_id: str) -> list[Quota]:
    """The failed-authentication counts a token request is judged by: its client id's, and its
    address's (the connection's own; see FORWARDED_ALLOW_IPS)."""
    address = request.client.host if request.client else "unknown"
    return [
        Quota("token-failures-client", client_id, settings.token_failures_per_client_per_minute),
        Quota("token-failures-address", address, settings.token_failures_per_address_per_minute),
    ]


def token_lifetime(settings: Settings, auth: AuthSettings) -> float:
    """How long after retirement a key may still have to verify a token it signed."""
    return settings.token_ttl_s + auth.leeway_s + settings.key_publish_delay_s


@oauth_router.get(
    "/.well-known/jwks.json",
    operation_id="get_jwks",
    summary="Token verification keys",
    response_model=Jwks,
)
async def get_jwks(request: Request, session: ReadSession, settings: SettingsDep) -> Response:
    """The public keys access tokens are signed with (RFC 7517): the current key, the next one
    during a rotation, and retired keys until the tokens they signed have expired."""
    auth: AuthSettings = request.app.state.auth_settings
    jwks = await service.jwks(session, token_lifetime(settings, auth))
    return JSONResponse(jwks, headers={"Cache-Control": "public, max-age=5"})


# --- admin: API clients ------------------------------------------------------------------------


@admin_router.post(
    "/clients",
    operation_id="create_client",
    summary="Create an API client",
    tags=["clients"],
    status_code=status.HTTP_201_CREATED,
    response_model=ClientCreated,
    responses={
        **created_response_doc("Created; the body holds the client's secret, shown once."),
        **problem_responses(400, *ADMIN_ERRORS, 409, 413, 415, 422),
    },
)
async def create_client(
    admin: Admin,
    body: ClientCreate,
    once: CreateOnce,
) -> Response:
    """Register a system that will call the API; the response holds its secret, shown once.

    A retry with the same `Idempotency-Key` (by the same admin client) replays that response,
    secret included, so a lost answer does not lose the secret.
    """

    async def create(session: AsyncSession) -> ClientCreated:
        read, secret = await service.create_client(session, body)
        return ClientCreated(**read.model_dump(), client_secret=secret)

    return await once(
        body,
        client_id=admin.client_id,
        create_read=create,
        location_route="get_client",
        headers=NO_STORE,
    )


@admin_router.get(
    "/clients",
    operation_id="list_clients",
    summary="List API clients",
    tags=["clients"],
    responses=problem_responses(*ADMIN_ERRORS, 422),
)
async def list_clients(
    _admin: Admin,
    session: ReadSession,
    page: PageQuery,
    organisation: Annotated[list[FilterText], Query(max_length=100)] = [],  # noqa: B006
    client_id: Annotated[list[FilterText], Query(max_length=100)] = [],  # noqa: B006
    active: bool | None = None,
) -> Page[ClientRead]:
    """API clients, oldest first; filter by `organisation`, `client_id` or `active`."""
    rows, token = await repository.list_clients(
        session, page, organisation=organisation, client_id=client_id, active=active
    )
    return Page(items=[ClientRead.model_validate(r) for r in rows], next_page_token=token)


@admin_router.get(
    "/clients/{id}",
    operation_id="get_client",
    summary="Get an API client",
    tags=["clients"],
    responses=problem_responses(*ADMIN_ERRORS, 404, 422),
)
async def get_client(
    _admin: Admin, id: uuid.UUID, session: ReadSession, response: Response
) -> ClientRead:
    """One API client (never its secret)."""
    row = await get_or_404(session, ApiClient, id, "API client")
    set_etag(response, row.id, row.version)
    return ClientRead.model_validate(row)


@admin_router.patch(
    "/clients/{id}",
    operation_id="update_client",
    summary="Update an API client",
    tags=["clients"],
    responses=problem_responses(400, *ADMIN_ERRORS, 404, 412, 413, 415, 422, 428),
    openapi_extra=MERGE_PATCH,
)
async def update_client(
    _admin: Admin,
    id: uuid.UUID,
    body: ClientUpdate,
    session: Session,
    request: Request,
    response: Response,
) -> ClientRead:
    """Change an API client with a JSON merge patch; send `If-Match` with its ETag.
    `active: false` disables it: no new tokens at once, and within a couple of seconds the
    gateway refuses the tokens it already has (services reached directly accept them until
    they expire, at most `GATEWAY_TOKEN_TTL_S`)."""
    row = await get_or_404(session, ApiClient, id, "API client")
    require_if_match(request, row.id, row.version)
    read = await service.update_client(session, row, body)
    # This replica forgets the client now; the others within GATEWAY_CLIENT_CACHE_TTL_S.
    client_directory(request.app).forget(row.client_id)
    set_etag(response, row.id, row.version)
    return read


@admin_router.post(
    "/clients/{id}/secret",
    operation_id="rotate_client_secret",
    summary="Rotate an API client's secret",
    tags=["clients"],
    responses=problem_responses(*ADMIN_ERRORS, 404, 422),
)
async def rotate_client_secret(
    _admin: Admin, id: uuid.UUID, session: Session, response: Response
) -> ClientSecret:
    """Give the client a new secret, shown once; the old secret stops working at once."""
    row = await get_or_404(session, ApiClient, id, "API client")
    read, secret = await service.rotate_secret(session, row)
    response.headers.update(NO_STORE)
    set_etag(response, row.id, row.version)
    assert read.rotated_at is not None
    return ClientSecret(client_id=read.client_id, client_secret=secret, rotated_at=read.rotated_at)


# --- admin: signing keys -----------------------------------------------------------------------


@admin_router.post(
    "/signing-keys",
    operation_id="rotate_signing_key",
    summary="Rotate the token-signing key",
    tags=["signing keys"],
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(*ADMIN_ERRORS),
)
async def rotate_signing_key(
    _admin: Admin, session: Session, settings: SettingsDep, request: Request, response: Response
) -> SigningKeyRead:
    """Add a new signing key. It is published at once and signs tokens after
    `GATEWAY_KEY_PUBLISH_DELAY_S`; the old key stays published until its tokens expire."""
    read = await service.rotate_signing_key(
        session, settings.key_publish_delay_s, settings.key_cipher()
    )
    response.headers["Location"] = str(request.url_for("get_signing_key", kid=read.kid).path)
    return read


@admin_router.get(
    "/signing-keys",
    operation_id="list_signing_keys",
    summary="List signing keys",
    tags=["signing keys"],
    responses=problem_responses(*ADMIN_ERRORS),
)
async def list_signing_keys(_admin: Admin, session: ReadSession) -> SigningKeyList:
    """Every signing key, newest first, with when it was retired."""
    keys = await repository.signing_keys(session)
    return SigningKeyList(items=[SigningKeyRead.model_validate(k) for k in keys])


@admin_router.get(
    "/signing-keys/{kid}",
    operation_id="get_signing_key",
    summary="Get a signing key",
    tags=["signing keys"],
    responses=problem_responses(*ADMIN_ERRORS, 404),
)
async def get_signing_key(_admin: Admin, kid: str, session: ReadSession) -> SigningKeyRead:
    """One signing key (its public half)."""
    key = await session.get(SigningKey, kid)
    if key is None:
        raise not_found("signing key", kid)
    return SigningKeyRead.model_validate(key)
