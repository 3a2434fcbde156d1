"""Fixtures shared by every part's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from tests.support.databases import drop_created, migrated_database
from tests.support.tokens import TestIssuer


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run `whole_server` tests first, while no session-scoped app holds a connection pool.

    Session-scoped in-process apps keep their pools open until the session ends; the fault test
    starts four processes with pools of 16 against PostgreSQL's 100 connections and, run after
    them, met "too many clients". Run first it has the server to itself, in every session.
    """
    first = [item for item in items if item.get_closest_marker("whole_server")]
    if first:
        items[:] = first + [item for item in items if not item.get_closest_marker("whole_server")]


@pytest.fixture(scope="session", autouse=True)
def _drop_test_databases() -> Iterator[None]:
    """Leave no test databases behind on a shared PostgreSQL server."""
    yield
    drop_created()


@pytest.fixture(scope="session")
def issuer() -> TestIssuer:
    """A token issuer the services under test trust."""
    return TestIssuer()


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder for the session's SQLite files and blobs."""
    return tmp_path_factory.mktemp("data")


def _db_fixture(service: str):
    @pytest.fixture(scope="session")
    def url(data_dir: Path) -> str:
        # Sync on purpose: database creation and migration run outside the event loop.
        return migrated_database(service, data_dir)

    return url


commitments_db = _db_fixture("commitments")
evidence_db = _db_fixture("evidence")
ratings_db = _db_fixture("ratings")
gateway_db = _db_fixture("gateway")


async def serve(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Run an app's lifespan and give a client that talks to it in-process."""
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client
