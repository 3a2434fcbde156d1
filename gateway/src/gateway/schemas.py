"""Request and response bodies of the gateway's own routes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, Field, StringConstraints

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
    active: bool | None = Field(default=None, description="false disables the client at once.")
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


# --- evaluation report -------------------------------------------------------------------------


class ReportCommitment(BaseModel):
    """One commitment's ratings in a report."""

    id: uuid.UUID
    reference: str = Field(description="The commitment's reference (its id if unavailable).")
    title: str = Field(description="The commitment's title (its id if unavailable).")
    levels: dict[str, str] = Field(description="Level code per dimension code.")
    overall: dict[str, Any] | None = Field(description="The effective overall rating, if rated.")


class ReportPolicyArea(BaseModel):
    """A policy area's commitments and rolled-up overall."""

    id: uuid.UUID | None
    slug: str | None
    name: str
    overall: dict[str, Any] | None
    commitments: list[ReportCommitment]


class EvaluationReport(BaseModel):
    """An evaluation with its ratings grouped by policy area, composed across services."""

    evaluation: dict[str, Any]
    policy_areas: list[ReportPolicyArea]
    overall: dict[str, Any] | None
    missing: list[str] = Field(
        description="Parts that could not be fetched (e.g. `commitments`); empty when complete."
    )


ScorecardPart = Literal["commitment", "targets", "readings", "ratings", "evidence"]


class ScorecardTarget(BaseModel):
    """A target with its progress (as the commitments service judges it) and its readings."""

    target: dict[str, Any]
    readings: list[dict[str, Any]] | None = Field(
        description="Oldest first; null when they could not be fetched (`readings` is missing)."
    )


class ScorecardRating(BaseModel):
    """The commitment's rating in one evaluation (an item of the ratings service's
    `GET /v1/commitments/{id}/ratings`)."""

    evaluation: dict[str, Any]
    rating: dict[str, Any]
    change: dict[str, Any] | None = Field(
        default=None, description="The change since the previous rating; null for the first."
    )


class Scorecard(BaseModel):
    """Everything known about one commitment, composed from every service."""

    commitment_id: uuid.UUID
    commitment: dict[str, Any] | None = Field(
        description="The commitment as the commitments service has it (without its targets)."
    )
    targets: list[ScorecardTarget]
    ratings: list[ScorecardRating] = Field(
        description="Its rating in each evaluation that rated it, oldest first: published "
        "evaluations, and drafts too if the caller's token may read them."
    )
    evidence: list[dict[str, Any]] = Field(description="Published submissions about it.")
    evidence_next: str | None = Field(
        description="Where the list of published evidence continues, if it is longer than "
        "the scorecard shows; null when it is all here."
    )
    missing: list[ScorecardPart] = Field(
        description="Parts that could not be fetched because a service was down, slow or "
        "failing; their fields are empty (or null) rather than wrong. Empty when complete."
    )
