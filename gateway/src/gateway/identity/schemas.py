"""Request and response bodies of the gateway's own routes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, Field, StrictBool, StringConstraints

from servicekit.auth import SCOPES
from servicekit.schemas import InputModel, ReadModel

Scope = Literal[
    "commitments:write",
    "evidence:submit",
    "evidence:moderate",
    "ratings:write",
    "ratings:publish",
    "responses:write",
    "webhooks",
    "events:internal",
    "admin",
]
# The scope list lives in servicekit (services check it); this Literal documents it in OpenAPI.
assert set(get_args(Scope)) == set(SCOPES), "gateway Scope out of step with servicekit.auth.SCOPES"

# Scopes Scrutiny keeps for its own processes: reading every private event is what the services'
# consumers and the gateway do. The API never grants them (422); only the operator's command
# makes a service client that holds one, and the token endpoint refuses any other client that
# does (one granted before this rule).
RESERVED_SCOPES = frozenset({"events:internal"})

Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Organisation = Annotated[str, StringConstraints(min_length=1, max_length=300)]
Scopes = Annotated[list[Scope], Field(min_length=1, max_length=len(SCOPES))]
RateLimit = Annotated[int, Field(ge=1, le=1_000_000)]


# --- API clients -------------------------------------------------------------------------------


def _not_reserved(scopes: list[str] | None) -> list[str] | None:
    reserved = sorted(set(scopes or []) & RESERVED_SCOPES)
    if reserved:
        raise ValueError(
            f"{', '.join(reserved)} is reserved for Scrutiny's own services and cannot be granted "
            "to an API client"
        )
    return scopes


GrantableScopes = Annotated[Scopes, AfterValidator(_not_reserved)]
SCOPES_DESCRIPTION = "Any scope but the reserved `events:internal` (422)."


class ServiceClientCreate(InputModel):
    """A client for one of Scrutiny's own services (the operator's command only, never the API)."""

    name: Name
    organisation: Organisation
    scopes: Scopes
    rate_limit_per_minute: RateLimit | None = None


class ClientCreate(InputModel):
    """A new API client; its secret is generated and shown once."""

    name: Name = Field(examples=["NHS Providers evidence uploader"])
    organisation: Organisation = Field(examples=["NHS Providers"])
    scopes: GrantableScopes = Field(examples=[["evidence:submit"]], description=SCOPES_DESCRIPTION)
    rate_limit_per_minute: RateLimit | None = None


class ClientUpdate(InputModel):
    """A JSON merge patch of an API client; absent fields are left as they are."""

    name: Name | None = None
    organisation: Organisation | None = None
    scopes: GrantableScopes | None = Field(default=None, description=SCOPES_DESCRIPTION)
    active: StrictBool | None = Field(
        default=None, description="false disables the client at once."
    )
    rate_limit_per_minute: RateLimit | None = None


class ClientRead(ReadModel):
    """An API client (never its secret)."""

    id: uuid.UUID
    client_id: str = Field(description="The public client identifier used at POST /oauth/token.")
    name: str
    organisation: str
    scopes: list[str]
    active: bool
    rate_limit_per_minute: int | None
    service: bool = Field(
        default=False,
        description="One of Scrutiny's own services (made by the operator's command), the only "
        "kind of client that may hold a reserved scope.",
    )
    created_at: datetime
    updated_at: datetime
    rotated_at: datetime | None


class ClientCreated(ClientRead):
    """A new API client with its secret: store the secret now, it is never shown again."""

    client_secret: str


class ClientSecret(BaseModel):
    """A client's new secret: store it now, it is never shown again. The old one stops working."""

    client_id: str
    client_secret: str
    rotated_at: datetime


# --- signing keys ------------------------------------------------------------------------------


class SigningKeyRead(ReadModel):
    """A token-signing key (its public half)."""

    kid: str
    algorithm: str
    created_at: datetime
    retired_at: datetime | None
    public_jwk: dict[str, Any]


class SigningKeyList(BaseModel):
    """Every signing key, newest first."""

    items: list[SigningKeyRead]


class Jwks(BaseModel):
    """A JSON Web Key Set (RFC 7517)."""

    keys: list[dict[str, Any]]


# --- OAuth -------------------------------------------------------------------------------------


class TokenResponse(BaseModel):
    """An access token (RFC 6749 §5.1)."""

    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - a token type, not a secret
    expires_in: int = Field(examples=[300])
    scope: str = Field(examples=["evidence:submit"])


class OAuthError(BaseModel):
    """An OAuth error response (RFC 6749 §5.2)."""

    error: Literal[
        "invalid_request",
        "invalid_client",
        "unsupported_grant_type",
        "invalid_scope",
        # The client holds a scope reserved for Scrutiny's own services (RFC 6749 5.2).
        "unauthorized_client",
    ]
    error_description: str
