"""The commitments service on its own, with a trusted test issuer."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from commitments.config import Settings
from commitments.main import create_app
from servicekit.auth import TokenVerifier
from tests.conftest import serve
from tests.support.tokens import TestIssuer


@pytest.fixture(scope="session")
async def client(commitments_db: str, issuer: TestIssuer) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a running commitments service."""
    app = create_app(
        Settings(database_url=commitments_db, log_json=False),
        token_verifier=TokenVerifier(issuer.settings()),
    )
    async for c in serve(app):
        yield c


@pytest.fixture(scope="session")
def writer(issuer: TestIssuer) -> dict[str, str]:
    """Authorization for `commitments:write`."""
    return issuer.auth("commitments:write", ttl=3600)
