"""Identity rules: API clients, their secrets, signing keys and access tokens. Never commits."""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.identity import repository
from gateway.identity.keycrypt import KeyCipher, is_encrypted
from gateway.identity.schemas import (
    RESERVED_SCOPES,
    ClientCreate,
    ClientRead,
    ClientUpdate,
    ServiceClientCreate,
    SigningKeyRead,
)
from gateway.models import ApiClient, Event, SigningKey
from servicekit.auth import AuthSettings, Principal
from servicekit.crud import apply_values, emit
from servicekit.ids import utcnow
from servicekit.outbox import record_event
from servicekit.schemas import merge_patch

# Argon2id with t=1, m=19 MiB, p=1: about 12 ms per verification on a small machine, so a token
# request stays well under 50 ms. Client secrets are 256 random bits, not human passwords, so
# guessing is hopeless whatever the cost factor; the hash only has to make a leaked table useless
# without making every token request slow. 19 MiB keeps OWASP's memory floor for Argon2id.
HASHER = PasswordHasher(time_cost=1, memory_cost=19 * 1024, parallelism=1)
# Verified against when the client id is unknown, so unknown and known ids take the same time.
_DUMMY_HASH = HASHER.hash(secrets.token_urlsafe(32))
_CLIENT_REQUIRED = frozenset({"name", "organisation", "scopes", "active"})


def new_client_id() -> str:
    """A public, random client identifier (no `:`, so it survives HTTP Basic)."""
    return secrets.token_hex(16)


def new_secret() -> str:
    """A client secret with 256 bits of entropy."""
    return secrets.token_urlsafe(32)


async def hash_secret(secret: str) -> str:
    """Argon2id hash of a secret, computed off the event loop."""
    return await asyncio.to_thread(HASHER.hash, secret)


async def verify_secret(secret_hash: str | None, secret: str) -> bool:
    """Whether `secret` matches; an unknown client (None) costs the same as a wrong secret."""

    def _verify() -> bool:
        try:
            return HASHER.verify(secret_hash or _DUMMY_HASH, secret) and secret_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(_verify)


# --- API clients -------------------------------------------------------------------------------


async def create_client(
    session: AsyncSession, body: ClientCreate | ServiceClientCreate
) -> tuple[ClientRead, str]:
    """Register an API client; returns it and its secret (shown once, stored only as a hash).

    A `ServiceClientCreate` (the operator's command) makes a service client, which alone may
    hold a reserved scope."""
    secret = new_secret()
    row = ApiClient(
        client_id=new_client_id(),
        name=body.name,
        organisation=body.organisation,
        scopes=sorted(set(body.scopes)),
        secret_hash=await hash_secret(secret),
        active=True,
        rate_limit_per_minute=body.rate_limit_per_minute,
        service=isinstance(body, ServiceClientCreate),
    )
    session.add(row)
    await session.flush()
    # Client records are not public: the event stays in the gateway's internal log.
    return emit(session, Event, "api_client.created", row, ClientRead, public=False), secret


async def update_client(session: AsyncSession, row: ApiClient, body: ClientUpdate) -> ClientRead:
    """Apply a merge patch to an API client."""
    values = merge_patch(body, required=_CLIENT_REQUIRED)
    if "scopes" in values:
        values["scopes"] = sorted(set(body.scopes or []))
    if apply_values(row, values):
        await session.flush()
        return emit(session, Event, "api_client.updated", row, ClientRead, public=False)
    return ClientRead.model_validate(row)


async def rotate_secret(session: AsyncSession, row: ApiClient) -> tuple[ClientRead, str]:
    """Give a client a new secret; the old one stops working when this commits."""
    secret = new_secret()
    row.secret_hash = await hash_secret(secret)
    row.rotated_at = utcnow()
    await session.flush()
    return emit(session, Event, "api_client.secret_rotated", row, ClientRead, public=False), secret


async def check_credentials(row: ApiClient | None, secret: str) -> bool:
    """Whether the secret is right and the client active (one answer for every failure)."""
    ok = await verify_secret(row.secret_hash if row else None, secret)
    return ok and row is not None and row.active


def needs_rehash(row: ApiClient) -> bool:
    """Whether the stored hash predates the current Argon2 parameters."""
    return HASHER.check_needs_rehash(row.secret_hash)


def holds_reserved_scope(row: ApiClient) -> bool:
    """Whether a client that is not one of Scrutiny's services holds a reserved scope (granted
    before they were reserved): it gets no token until an admin takes the scope away."""
    return not row.service and bool(set(row.scopes) & RESERVED_SCOPES)


def grant_scopes(row: ApiClient, requested: str | None) -> list[str] | None:
    """The scopes to grant: all the client's, or the requested subset; None if not a subset."""
    if not requested or not requested.strip():
        return list(row.scopes)
    wanted = set(requested.split())
    if not wanted <= set(row.scopes):
        return None
    return [s for s in row.scopes if s in wanted]


# --- signing keys ------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 JWK thumbprint: a kid derived from the key itself."""
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"))
    return _b64(hashlib.sha256(canonical.encode()).digest())


def new_signing_key(cipher: KeyCipher) -> SigningKey:
    """A fresh ES256 (P-256) key pair as a row, its private half sealed by `cipher`."""
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    jwk: dict[str, Any] = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(private.public_key()))
    kid = _thumbprint(jwk)
    public = {**jwk, "kid": kid, "use": "sig", "alg": "ES256"}
    return SigningKey(
        kid=kid,
        algorithm="ES256",
        private_key_pem=cipher.seal(pem),
        public_jwk=public,
        created_at=utcnow(),
    )


def _key_event(session: AsyncSession, type_: str, key: SigningKey) -> SigningKeyRead:
    read = SigningKeyRead.model_validate(key)
    # The kid is not a UUID; the event's resource id is derived from it, stable per key.
    rid = uuid.uuid5(uuid.NAMESPACE_URL, f"scrutiny:signing-key:{key.kid}")
    record_event(
        session, Event, type_, "signing_key", rid, read.model_dump(mode="json"), public=False
    )
    return read


async def ensure_signing_key(session: AsyncSession, cipher: KeyCipher) -> SigningKey | None:
    """Create the first signing key if there is none; safe when several replicas start at once.

    Every stored key must open with `cipher` (`KeyEncryptionError` otherwise: the gateway does
    not start); with a key configured, keys stored plain (before it was) are encrypted now.
    """
    await repository.lock_signing_keys(session)
    keys = await repository.signing_keys(session)
    for row in keys:
        _private_key(row.private_key_pem, cipher)
        if cipher.enabled and not is_encrypted(row.private_key_pem):
            row.private_key_pem = cipher.seal(row.private_key_pem)
    if keys:
        return None
    key = new_signing_key(cipher)
    session.add(key)
    await session.flush()
    _key_event(session, "signing_key.created", key)
    return key


async def rotate_signing_key(
    session: AsyncSession, publish_delay_s: float, cipher: KeyCipher
) -> SigningKeyRead:
    """Add a new signing key; current keys keep signing for `publish_delay_s`, then retire.

    The new key is in the JWKS at once, so services learn it before any token uses it; retired
    keys stay published until every token they signed has expired.
    """
    await repository.lock_signing_keys(session)
    now = utcnow()
    await repository.retire_signing_keys(session, now + timedelta(seconds=publish_delay_s))
    key = new_signing_key(cipher)
    key.created_at = now
    session.add(key)
    await session.flush()
    return _key_event(session, "signing_key.created", key)


def choose_signing_key(
    keys: list[SigningKey], now: datetime, publish_delay_s: float
) -> SigningKey | None:
    """The key to sign with now: the newest unretired key published long enough ago."""
    unretired = [k for k in keys if k.retired_at is None or k.retired_at > now]
    ready = [k for k in unretired if k.created_at <= now - timedelta(seconds=publish_delay_s)]
    pool = ready or unretired or keys
    return max(pool, key=lambda k: k.created_at) if pool else None


async def jwks(session: AsyncSession, token_lifetime_s: float) -> dict[str, Any]:
    """Public keys a verifier may meet: current, upcoming, and retired ones still in use."""
    keys = await repository.live_signing_keys(
        session, utcnow() - timedelta(seconds=token_lifetime_s)
    )
    return {"keys": [k.public_jwk for k in keys]}


@functools.lru_cache(maxsize=16)
def _private_key(stored: str, cipher: KeyCipher) -> Any:
    # Cached: decrypting and parsing once per key, not per token.
    return serialization.load_pem_private_key(cipher.open(stored).encode(), password=None)


@dataclass(frozen=True)
class IssuedToken:
    """A signed access token and what it grants."""

    token: str
    expires_in: int
    scope: str


def mint_token(
    key: SigningKey,
    client: ApiClient,
    scopes: list[str],
    auth: AuthSettings,
    ttl_s: int,
    *,
    cipher: KeyCipher,
    audience: str | list[str] | None = None,
) -> IssuedToken:
    """An RFC 9068 JWT access token for a client, signed ES256; for the gateway
    (`token_audience`) unless another audience is given."""
    now = int(utcnow().timestamp())
    scope = " ".join(scopes)
    claims = {
        "iss": auth.token_issuer,
        "aud": auth.token_audience if audience is None else audience,
        "sub": client.client_id,
        "client_id": client.client_id,
        "org": client.organisation,
        "name": client.name,
        "scope": scope,
        "iat": now,
        "exp": now + ttl_s,
        "jti": uuid.uuid4().hex,
    }
    return IssuedToken(token=_sign(key, claims, cipher), expires_in=ttl_s, scope=scope)


def mint_for_services(
    key: SigningKey, principal: Principal, auth: AuthSettings, ttl_s: int, *, cipher: KeyCipher
) -> IssuedToken:
    """The token a forwarded call carries to a service: the caller's client, organisation,
    name and scopes, the services' audience, a lifetime of a few seconds."""
    now = int(utcnow().timestamp())
    scope = " ".join(sorted(principal.scopes))
    claims = {
        "iss": auth.token_issuer,
        "aud": auth.service_audience,
        "sub": principal.client_id,
        "client_id": principal.client_id,
        "org": principal.organisation,
        "name": principal.name,
        "scope": scope,
        "iat": now,
        "exp": now + ttl_s,
        "jti": uuid.uuid4().hex,
    }
    return IssuedToken(token=_sign(key, claims, cipher), expires_in=ttl_s, scope=scope)


def _sign(key: SigningKey, claims: dict[str, Any], cipher: KeyCipher) -> str:
    return jwt.encode(
        claims,
        _private_key(key.private_key_pem, cipher),
        algorithm="ES256",
        headers={"typ": "at+jwt", "kid": key.kid},
    )
