"""Contract fuzzing with Schemathesis against every service and the gateway, running as real
processes: no 5xx, no response that breaks its documented schema, no undocumented status code,
no undocumented content type.

Requests carry a token with every write scope, so generated bodies reach the services' rules
rather than stopping at 401. Examples per operation are kept small for CI time; the property
is the same at any size.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.cross.conftest import Running

pytestmark = pytest.mark.processes

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
FUZZ = settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


def _schema(url: str) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{url}/openapi.json")


@pytest.fixture(scope="module")
def fuzz_headers(running_suite: Running) -> dict[str, str]:
    return {"Authorization": f"Bearer {running_suite.token('demo_loader')}"}


@pytest.fixture(scope="module")
def gateway_schema(running_suite: Running) -> schemathesis.BaseSchema:
    return _schema(running_suite.gateway)


@pytest.fixture(scope="module")
def commitments_schema(running_suite: Running) -> schemathesis.BaseSchema:
    return _schema(running_suite.service(1))


@pytest.fixture(scope="module")
def evidence_schema(running_suite: Running) -> schemathesis.BaseSchema:
    return _schema(running_suite.service(2))


@pytest.fixture(scope="module")
def ratings_schema(running_suite: Running) -> schemathesis.BaseSchema:
    return _schema(running_suite.service(3))


gateway = schemathesis.pytest.from_fixture("gateway_schema")
commitments = schemathesis.pytest.from_fixture("commitments_schema")
evidence = schemathesis.pytest.from_fixture("evidence_schema")
ratings = schemathesis.pytest.from_fixture("ratings_schema")


@gateway.parametrize()
@FUZZ
def test_gateway(case: schemathesis.Case, fuzz_headers: dict[str, str]) -> None:
    case.call_and_validate(headers=fuzz_headers, checks=CHECKS)


@commitments.parametrize()
@FUZZ
def test_commitments_service(case: schemathesis.Case, fuzz_headers: dict[str, str]) -> None:
    case.call_and_validate(headers=fuzz_headers, checks=CHECKS)


@evidence.parametrize()
@FUZZ
def test_evidence_service(case: schemathesis.Case, fuzz_headers: dict[str, str]) -> None:
    case.call_and_validate(headers=fuzz_headers, checks=CHECKS)


@ratings.parametrize()
@FUZZ
def test_ratings_service(case: schemathesis.Case, fuzz_headers: dict[str, str]) -> None:
    case.call_and_validate(headers=fuzz_headers, checks=CHECKS)
