"""Verified tokens are remembered until they expire, and no longer than their key is trusted.

The verifier skips the signature check for a token it has already verified (the same bytes), so
these tests show what must still be refused: an expired token, a token whose signing key left
the JWKS, and any token that differs from a remembered one, however slightly.
"""

from __future__ import annotations

import asyncio
from typing import Any

import jwt
import pytest

from servicekit.auth import AuthSettings, TokenVerifier
from servicekit.problems import ProblemError
from tests.support.tokens import AUDIENCE, ISSUER, TestIssuer


def _settings(**over: Any) -> AuthSettings:
    return AuthSettings(
        token_issuer=ISSUER, token_audience=AUDIENCE, jwks_refresh_min_interval_s=0, **over
    )


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every signature check the verifier makes (jwt.decode calls), by token."""
    calls: list[str] = []
    real = jwt.decode

    def counting(token: str, *a: Any, **kw: Any) -> Any:
        calls.append(token)
        return real(token, *a, **kw)

    monkeypatch.setattr(jwt, "decode", counting)
    return calls


async def test_a_verified_token_is_not_checked_again(decodes: list[str]) -> None:
    issuer = TestIssuer()
    verifier = TokenVerifier(issuer.settings())
    token = issuer.token("evidence:submit", client_id="c1")
    first = await verifier.verify(token)
    second = await verifier.verify(token)
    assert first == second
    assert first.client_id == "c1"
    assert decodes == [token]
    # Another token of the same client is a different text: checked on its own.
    await verifier.verify(issuer.token("evidence:submit", client_id="c1"))
    assert len(decodes) == 2


async def test_a_remembered_token_still_expires() -> None:
    issuer = TestIssuer()
    verifier = TokenVerifier(issuer.settings().model_copy(update={"leeway_s": 0}))
    token = issuer.token("evidence:submit", ttl=1)
    await verifier.verify(token)
    await asyncio.sleep(2.1)
    with pytest.raises(ProblemError) as refused:
        await verifier.verify(token)
    assert refused.value.status == 401
    assert "expired" in (refused.value.detail or "")


async def test_a_token_is_refused_once_its_key_leaves_the_jwks() -> None:
    old, new = TestIssuer(kid="old"), TestIssuer(kid="new")
    published = old.jwks()

    async def fetch() -> dict[str, Any]:
        return published

    verifier = TokenVerifier(_settings(), fetch_jwks=fetch)
    token = old.token("evidence:submit")
    await verifier.verify(token)
    # The issuer withdraws the old key; the verifier learns of it on its next fetch, which a
    # token signed with the new key causes.
    published = new.jwks()
    await verifier.verify(new.token("evidence:submit"))
    with pytest.raises(ProblemError) as refused:
        await verifier.verify(token)
    assert refused.value.status == 401


async def test_a_tampered_copy_of_a_remembered_token_is_refused() -> None:
    issuer = TestIssuer()
    verifier = TokenVerifier(issuer.settings())
    token = issuer.token("evidence:submit")
    await verifier.verify(token)
    head, body, sig = token.split(".")
    forged_claims = jwt.utils.base64url_encode(
        jwt.utils.base64url_decode(body).replace(b"evidence:submit", b"admin")
    ).decode()
    for forged in (
        f"{head}.{forged_claims}.{sig}",
        token[:-2] + ("AA" if token[-2:] != "AA" else "BB"),
    ):
        with pytest.raises(ProblemError) as refused:
            await verifier.verify(forged)
        assert refused.value.status == 401


async def test_an_unreachable_issuer_is_a_503_to_retry_not_a_401() -> None:
    issuer = TestIssuer()
    reachable = False

    async def fetch() -> dict[str, Any]:
        if not reachable:
            raise OSError("connection refused")
        return issuer.jwks()

    verifier = TokenVerifier(_settings(), fetch_jwks=fetch)
    token = issuer.token("evidence:submit", client_id="c1")
    with pytest.raises(ProblemError) as unavailable:
        await verifier.verify(token)
    assert unavailable.value.status == 503
    assert unavailable.value.headers["Retry-After"] == "1"
    # The same token, once the issuer answers again: it was good all along.
    reachable = True
    assert (await verifier.verify(token)).client_id == "c1"
    # With the keys known, a kid the issuer never published is a 401 again.
    with pytest.raises(ProblemError) as refused:
        await verifier.verify(TestIssuer(kid="stranger").token("evidence:submit"))
    assert refused.value.status == 401
