"""Access-token verification: every service checks tokens itself, never trusting the network.

Tokens are RFC 9068 JWT access tokens issued by the gateway (`typ: at+jwt`, asymmetric
signature, `kid`). Two audiences: clients' tokens (`token_audience`, `scrutiny-api`) are accepted
by the gateway only, which refuses disabled clients' tokens and counts rate limits; when it
forwards a call it exchanges the caller's token for a short-lived one with the same claims and
the services' audience (`service_audience`, `scrutiny-services`), the only one a service takes.
So a client's token sent straight to a service port is a 401, and nothing goes around the
gateway's checks. Keys come from the gateway's JWKS, cached and refreshed when an unknown `kid`
appears (key rotation) at most once every few seconds, so a flood of forged `kid`s cannot turn
into a flood of JWKS fetches.

A client sends the same token with every request until it expires, and checking an ES256 signature
is most of what authenticating a request costs (about 1 ms of a submission's CPU, measured
in-process). So a token that verified is remembered, by its exact text, until its `exp` (plus the
leeway): the same bytes cannot verify differently later. A remembered token is refused again at once
if its signing key leaves the JWKS (a key withdrawn after a compromise). Failures are not
remembered.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Annotated, Any, NamedTuple, TypeVar

import jwt
from cachetools import TLRUCache
from fastapi import Depends, Request
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from servicekit.jsonutil import loads
from servicekit.problems import ProblemError

ALLOWED_ALGORITHMS = ("ES256", "EdDSA", "RS256")
SCOPES = (
    "commitments:write",
    "evidence:submit",
    "evidence:moderate",
    "ratings:write",
    "ratings:publish",
    "responses:write",
    "webhooks",
    "events:internal",
    "admin",
)

# What each scope lets a client do, as the OpenAPI document's OAuth 2.0 flow describes it.
SCOPE_DESCRIPTIONS = {
    "commitments:write": "Record and change sources, policy areas, commitments, targets, "
    "readings and lineage; import commitments.",
    "evidence:submit": "Submit evidence (and attachments) and withdraw your own submissions.",
    "evidence:moderate": "Open calls for evidence, moderate, redact and publish submissions.",
    "ratings:write": "Draft evaluations and ratings, and send them for review.",
    "ratings:publish": "Publish and withdraw evaluations (a panel chair).",
    "responses:write": "Record a government response to a rating.",
    "webhooks": "Subscribe to the public event log by webhook.",
    "events:internal": "Read every event of a service's feed, private ones included (services).",
    "admin": "Manage API clients and signing keys; read every event of the log.",
}
assert set(SCOPE_DESCRIPTIONS) == set(SCOPES), "a scope without a description"

F = TypeVar("F", bound=Callable[..., Any])


class AuthSettings(BaseSettings):
    """Who issues tokens and for whom (environment variables prefixed `SCRUTINY_`)."""

    model_config = SettingsConfigDict(env_prefix="SCRUTINY_", extra="ignore")

    token_issuer: str = "http://localhost:8000"  # noqa: S105 (a URL, not a secret)
    # Clients' tokens (`POST /oauth/token`) are for the gateway alone: no service accepts them.
    token_audience: str = "scrutiny-api"  # noqa: S105 (a name, not a secret)
    # The services accept only this audience: the short-lived tokens the gateway mints when it
    # forwards a call (and its own), so every call reaches a service through the gateway's checks.
    service_audience: str = "scrutiny-services"
    jwks_url: str = "http://127.0.0.1:8000/.well-known/jwks.json"
    # A JWKS document given inline (JSON) instead of fetched; used where no gateway is reachable.
    jwks_json: str = ""
    jwks_refresh_min_interval_s: float = Field(default=5.0, ge=0)
    leeway_s: int = 5


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: an API client acting for an organisation."""

    client_id: str
    organisation: str
    scopes: frozenset[str]
    token_id: str
    name: str = ""

    def has(self, scope: str) -> bool:
        """Whether the token carries a scope."""
        return scope in self.scopes


JwksFetcher = Callable[[], Awaitable[dict[str, Any]]]


class _Verified(NamedTuple):
    principal: Principal
    kid: str
    valid_until: float  # epoch seconds: the token's exp plus the leeway


def _verified_cache(size: int) -> TLRUCache[str, _Verified]:
    # Each entry lives until its own token expires (wall clock, as `exp` is).
    return TLRUCache(maxsize=size, ttu=lambda _t, v, _now: v.valid_until, timer=time.time)


@dataclass
class TokenVerifier:
    """Verifies access tokens against a JWKS that it fetches lazily and caches."""

    settings: AuthSettings
    fetch_jwks: JwksFetcher | None = None
    cache_size: int = 10_000
    # The audience a token must carry: a service's verifier takes the settings' service audience
    # (the default); the gateway's passes the clients' (`token_audience`).
    audience: str | None = None
    _keys: dict[str, jwt.PyJWK] = field(default_factory=dict)
    _fetched_at: float = 0.0
    # Whether the last JWKS fetch failed: an unknown kid then means "cannot tell yet", not "bad".
    _fetch_failed: bool = False
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _verified: TLRUCache[str, _Verified] = field(init=False)

    def __post_init__(self) -> None:
        self._verified = _verified_cache(self.cache_size)
        if self.settings.jwks_json:
            self._load(loads(self.settings.jwks_json))

    def _load(self, jwks: dict[str, Any]) -> None:
        keys: dict[str, jwt.PyJWK] = {}
        for k in jwks.get("keys", []):
            if k.get("kid") and k.get("use", "sig") == "sig":
                keys[k["kid"]] = jwt.PyJWK(k)
        self._keys = keys

    async def _key(self, kid: str) -> jwt.PyJWK | None:
        if kid in self._keys:
            return self._keys[kid]
        if self.fetch_jwks is None:
            return None
        async with self._lock:
            if kid not in self._keys and (
                time.monotonic() - self._fetched_at >= self.settings.jwks_refresh_min_interval_s
                or not self._keys
            ):
                self._fetched_at = time.monotonic()
                try:
                    self._load(await self.fetch_jwks())
                    self._fetch_failed = False
                except Exception:
                    # Not a 500, and not a 401 either: the token may be good (a service that
                    # restarted while the gateway was down has no keys yet), so the caller is told
                    # to retry rather than that its credentials are bad.
                    self._fetch_failed = True
            if kid not in self._keys and self._fetch_failed:
                raise keys_unavailable(self.settings.jwks_refresh_min_interval_s)
        return self._keys.get(kid)

    async def verify(self, token: str) -> Principal:
        """A principal for a valid token, or a 401 problem."""
        hit = self._verified.get(token)
        if hit is not None:
            if hit.kid in self._keys:
                return hit.principal
            del self._verified[token]
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise unauthorized("The access token is malformed.") from None
        if header.get("typ", "").lower() not in ("at+jwt", "application/at+jwt"):
            raise unauthorized("The token is not an access token (typ must be at+jwt).")
        alg = header.get("alg")
        if alg not in ALLOWED_ALGORITHMS:
            raise unauthorized(f"Algorithm {alg!r} is not accepted.")
        kid = str(header.get("kid", ""))
        key = await self._key(kid)
        if key is None:
            raise unauthorized("The token was signed with an unknown key.")
        if key.algorithm_name != alg:
            raise unauthorized("The token's algorithm does not match its key.")
        try:
            claims = jwt.decode(
                token,
                key=key.key,
                algorithms=[alg],
                audience=self.audience or self.settings.service_audience,
                issuer=self.settings.token_issuer,
                leeway=self.settings.leeway_s,
                options={"require": ["exp", "iat", "iss", "aud", "sub", "client_id", "jti"]},
            )
        except jwt.ExpiredSignatureError:
            raise unauthorized("The access token has expired.") from None
        except jwt.InvalidAudienceError:
            raise unauthorized(
                "The access token is not for this API (aud); "
                "call the API through the gateway with the token it issued."
            ) from None
        except jwt.InvalidIssuerError:
            raise unauthorized("The access token was not issued by the expected issuer.") from None
        except jwt.PyJWTError:
            raise unauthorized("The access token is invalid.") from None
        principal = Principal(
            client_id=str(claims["client_id"]),
            organisation=str(claims.get("org", "")),
            scopes=frozenset(str(claims.get("scope", "")).split()),
            token_id=str(claims["jti"]),
            name=str(claims.get("name", "")),
        )
        self._verified[token] = _Verified(
            principal, kid, float(claims["exp"]) + self.settings.leeway_s
        )
        return principal


def unauthorized(detail: str) -> ProblemError:
    """401 with the `WWW-Authenticate` challenge RFC 6750 asks for."""
    return ProblemError(
        401,
        "Unauthorized",
        detail,
        type_="/problems/unauthorized",
        headers={"WWW-Authenticate": 'Bearer realm="scrutiny", error="invalid_token"'},
    )


def keys_unavailable(retry_after_s: float) -> ProblemError:
    """503 when the issuer's signing keys cannot be fetched, so a token cannot be checked yet."""
    return ProblemError(
        503,
        "Service Unavailable",
        "The token's signing key is not known here yet and the key set cannot be fetched right "
        "now; retry shortly.",
        type_="/problems/signing-keys-unavailable",
        headers={"Retry-After": str(max(1, math.ceil(retry_after_s)))},
    )


def forbidden(scope: str) -> ProblemError:
    """403 naming the scope the operation needs."""
    return ProblemError(
        403,
        "Forbidden",
        f"This operation needs the scope {scope!r}.",
        type_="/problems/insufficient-scope",
        headers={
            "WWW-Authenticate": (
                f'Bearer realm="scrutiny", error="insufficient_scope", scope="{scope}"'
            )
        },
    )


def accepts_basic_auth(endpoint: F) -> F:
    """Mark an endpoint whose `Authorization` header is not a bearer token (the OAuth token
    endpoint's HTTP Basic client authentication)."""
    endpoint.accepts_basic_auth = True  # type: ignore[attr-defined]  # a marker read below
    return endpoint


# Where a request's verified caller is kept for the middlewares that log it. In the ASGI scope
# itself, not in `scope["state"]`: a server may hand every request the same state dict
# (asgi-lifespan's test manager does), and a caller must never be credited with another's request.
_PRINCIPAL_KEY = "servicekit.principal"


def remember_principal(scope: MutableMapping[str, Any], principal: Principal) -> None:
    """Record the request's verified caller for the access log."""
    scope[_PRINCIPAL_KEY] = principal


def remembered_principal(scope: Mapping[str, Any]) -> Principal | None:
    """The request's verified caller, if its token was checked."""
    found = scope.get(_PRINCIPAL_KEY)
    return found if isinstance(found, Principal) else None


async def optional_principal(request: Request) -> Principal | None:
    """The caller if a bearer token was sent (and is valid); None for anonymous readers.

    Every app runs this for every request (an app-wide dependency), so a token that is present
    but invalid is a 401 everywhere, public reads included (RFC 6750 §3.1): a client with an
    expired token learns it on its first call, not on its first write."""
    header = request.headers.get("authorization")
    if not header:
        return None
    route = request.scope.get("route")
    if route is not None and getattr(route.endpoint, "accepts_basic_auth", False):
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("Send the access token as `Authorization: Bearer <token>`.")
    verifier: TokenVerifier = request.app.state.token_verifier
    principal = await verifier.verify(token.strip())
    remember_principal(request.scope, principal)
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]


def token_required() -> ProblemError:
    """401 for an operation called without a token."""
    return ProblemError(
        401,
        "Unauthorized",
        "This operation needs an access token; get one from POST /oauth/token.",
        type_="/problems/unauthorized",
        headers={"WWW-Authenticate": 'Bearer realm="scrutiny"'},
    )


def require_scope(scope: str, *alternatives: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency that admits only callers whose token carries `scope` (or an alternative).

    The dependency carries `required_scope`, which the route-table contract test looks for.
    """
    accepted = (scope, *alternatives)
    unknown = [s for s in accepted if s not in SCOPES]
    if unknown:
        raise ValueError(f"unknown scope {unknown[0]}")

    async def dependency(principal: OptionalPrincipal) -> Principal:
        if principal is None:
            raise token_required()
        if not any(principal.has(s) for s in accepted):
            raise forbidden(scope)
        return principal

    dependency.required_scope = scope  # type: ignore[attr-defined]
    return dependency
