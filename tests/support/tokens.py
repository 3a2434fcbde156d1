"""A test token issuer: a real ES256 key and real signatures, standing in for the gateway."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from servicekit.auth import AuthSettings

ISSUER = "http://issuer.test"
# Clients' tokens are for the gateway; services accept only the audience of the tokens the
# gateway exchanges them for when it forwards a call. This issuer stands in for the gateway in
# front of a service, so its tokens carry the services' audience unless a test says otherwise.
AUDIENCE = "scrutiny-api"
SERVICE_AUDIENCE = "scrutiny-services"


class TestIssuer:
    """Mints RFC 9068 access tokens with its own key and publishes the matching JWKS."""

    __test__ = False

    def __init__(self, kid: str = "test-key-1") -> None:
        self.kid = kid
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.private_key.public_key()))
        self.jwk = {**jwk, "kid": kid, "use": "sig", "alg": "ES256"}

    def jwks(self) -> dict[str, Any]:
        """The public keys, as the gateway serves them."""
        return {"keys": [self.jwk]}

    def settings(self) -> AuthSettings:
        """Auth settings for a service that trusts this issuer."""
        return AuthSettings(
            token_issuer=ISSUER,
            token_audience=AUDIENCE,
            service_audience=SERVICE_AUDIENCE,
            jwks_json=json.dumps(self.jwks()),
        )

    def token(
        self,
        *scopes: str,
        client_id: str | None = None,
        org: str = "Test Org",
        ttl: int = 300,
        headers: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        """A signed access token carrying `scopes`."""
        now = int(time.time())
        cid = client_id or f"client-{uuid.uuid4().hex[:8]}"
        body = {
            "iss": ISSUER,
            "aud": SERVICE_AUDIENCE,
            "sub": cid,
            "client_id": cid,
            "org": org,
            "scope": " ".join(scopes),
            "iat": now,
            "exp": now + ttl,
            "jti": uuid.uuid4().hex,
            **claims,
        }
        return jwt.encode(
            body,
            self.private_key,
            algorithm="ES256",
            headers={"kid": self.kid, "typ": "at+jwt", **(headers or {})},
        )

    def auth(self, *scopes: str, **kw: Any) -> dict[str, str]:
        """An Authorization header for `scopes`."""
        return {"Authorization": f"Bearer {self.token(*scopes, **kw)}"}


def client_id_of(auth: dict[str, str]) -> str:
    """The `client_id` claim of the bearer token in these headers (read, not verified)."""
    token = auth["Authorization"].removeprefix("Bearer ")
    return str(jwt.decode(token, options={"verify_signature": False})["client_id"])


def chair_panel(auth: dict[str, str]) -> list[dict[str, str]]:
    """A one-seat panel whose (fictional) chair is acted for by the client of these headers."""
    return [{"name": "A. Chair (fictional)", "role": "chair", "client_id": client_id_of(auth)}]
