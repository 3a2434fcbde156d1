"""Request and response bodies of the gateway's own routes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, Field, StrictBool, StringConstraints

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

Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Organisation = Annotated[str, StringConstraints(min_length=1, max_length=300)]
Scopes = Annotated[list[Scope], Field(min_length=1, max_length=len(SCOPES))]
RateLimit = Annotated[int, Field(ge=1, le=1_000_000)]


# --- API clients -------------------------------------------------------------------------------


class ClientCreate(InputModel):
    """A new API client; its secret is generated and shown once."""

    name: Name = Field(examples=["NHS Providers evidence uploader"])
    organisation: Organisation = Field(examples=["NHS Providers"])
    scopes: Scopes = Field(examples=[["evidence:submit"]])
    rate_limit_per_minute: RateLimit | None = None


class ClientUpdate(InputModel):
    """A JSON merge patch of an API client; absent fields are left as they are."""

    name: Name | None = None
    organisation: Organisation | None = None
    scopes: Scopes | None = None
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

    error: Literal["invalid_request", "invalid_client", "unsupported_grant_type", "invalid_scope"]
    error_description: str
