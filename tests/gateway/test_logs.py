"""Logs as an operator reads them: one JSON object a line, the request id on every line written
while handling a request (gateway and service alike), and never a credential."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
import uuid
from collections.abc import Iterator

import httpx

from servicekit.logs import make_handler
from tests.gateway.conftest import Failing
from tests.gateway.replicas import client_of, replica

JWT = "eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJjbGllbnQifQ.c2lnbmF0dXJlLWJ5dGVz"


@contextlib.contextmanager
def captured(*verbose: str) -> Iterator[io.StringIO]:
    """The production handler on the root logger, writing to a buffer."""
    out = io.StringIO()
    handler = make_handler("test", json_logs=True, stream=out)
    root = logging.getLogger()
    root.addHandler(handler)
    levels = {name: logging.getLogger(name).level for name in verbose}
    for name in verbose:
        logging.getLogger(name).setLevel(logging.INFO)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def lines(out: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


async def test_request_id_on_gateway_and_service_log_lines(stack, gateway_db, writer):
    area = await stack.gateway.post(
        "/v1/policy-areas",
        json={"slug": f"log-{uuid.uuid4().hex[:8]}", "name": "Logged"},
        headers=writer,
    )
    assert area.status_code == 201
    rid = str(uuid.uuid4())
    async with (
        replica(
            stack,
            gateway_db,
            transports={"evidence": Failing(httpx.ConnectError)},
            retry_attempts=1,
        ) as app,
        client_of(app) as c,
    ):
        with captured("sqlalchemy.engine") as out:
            r = await c.get(
                f"/v1/commitments/{uuid.uuid4()}/scorecard", headers={"X-Request-ID": rid}
            )
    assert r.status_code == 404  # the commitments service looked and found nothing
    logged = lines(out)
    assert logged
    assert all("request_id" in entry and entry["service"] for entry in logged)
    mine = [e for e in logged if e["request_id"] == rid]
    # The gateway's own line: which part of the scorecard it could not fetch.
    assert any(
        e["name"] == "gateway.compose.scorecard" and "evidence" in e["message"] for e in mine
    )
    # The commitments service's lines while it handled the gateway's call (its SQL).
    assert any(
        e["name"].startswith("sqlalchemy.engine") and "FROM commitments" in e["message"]
        for e in mine
    ), [e["message"][:80] for e in mine]


def test_credentials_never_reach_a_log_line():
    log = logging.getLogger("tests.redaction")
    with captured() as out:
        log.warning("headers %s", {"authorization": f"Bearer {JWT}", "accept": "*/*"})
        log.warning("form: grant_type=client_credentials&client_id=abc&client_secret=s3cr3t-1")
        log.warning("basic", extra={"header": "Authorization: Basic YWJjOnMzY3IzdC0x"})
        log.warning("raw %r", [(b"authorization", f"Bearer {JWT}".encode())])
        log.info("body %s", json.dumps({"client_secret": "s3cr3t-2", "name": "kept"}))
        try:
            raise ValueError(f"bad token {JWT}")
        except ValueError:
            log.exception("failed")
    text = out.getvalue()
    for secret in (JWT, "s3cr3t-1", "s3cr3t-2", "YWJjOnMzY3IzdC0x", "c2lnbmF0dXJl"):
        assert secret not in text, secret
    assert text.count("[redacted") >= 6
    # What is not a credential stays readable.
    assert '"accept": "*/*"' in text or "'accept': '*/*'" in text
    assert "kept" in text
    assert "client_id=abc" in text
    assert "ValueError" in text


async def test_token_requests_leave_no_secret_in_the_logs(gateway, admin_credentials):
    with captured("sqlalchemy.engine") as out:
        r = await gateway.post(
            "/oauth/token", data={"grant_type": "client_credentials", **admin_credentials}
        )
        assert r.status_code == 200
        token = r.json()["access_token"]
        await gateway.get("/v1/clients", headers={"Authorization": f"Bearer {token}"})
    text = out.getvalue()
    assert admin_credentials["client_secret"] not in text
    assert token not in text
    assert token.split(".")[2] not in text


TIME_WITH_OFFSET = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00")


async def test_one_access_line_per_request_on_every_process_it_touched(gateway, writer):
    rid, trace = f"find-me-{uuid.uuid4().hex}", uuid.uuid4().hex
    headers = {**writer, "X-Request-ID": rid, "traceparent": f"00-{trace}-{'1' * 16}-01"}
    with captured("scrutiny.access") as out:
        r = await gateway.get("/v1/policy-areas", params={"page_size": 2}, headers=headers)
    assert r.status_code == 200
    access = [e for e in lines(out) if e["name"] == "scrutiny.access" and e["request_id"] == rid]
    # The gateway's line and the commitments service's, for the one call through the gateway.
    assert len(access) == 2, access
    for entry in access:
        assert TIME_WITH_OFFSET.fullmatch(entry["time"]), entry["time"]
        assert entry["method"] == "GET"
        assert entry["route"] == "/v1/policy-areas"
        assert entry["path"] == "/v1/policy-areas"
        assert entry["status"] == 200
        assert entry["trace_id"] == trace
        assert entry["duration_ms"] >= 0
        assert entry["bytes"] == len(r.content)
    # Who called is named on both lines, by client id (never by token).
    assert access[0]["client_id"] == access[1]["client_id"] != "-"
    assert writer["Authorization"].split()[1] not in out.getvalue()


async def test_a_refused_request_is_logged_with_its_id_and_no_client(gateway):
    rid = f"refused-{uuid.uuid4().hex}"
    # Not JWT-shaped, so refused before any JWKS fetch: in-process, the service's nested call to
    # the gateway for the JWKS shares the test's task and would leave its own request id in the
    # context (separate processes never share it).
    with captured("scrutiny.access") as out:
        r = await gateway.get(
            "/v1/policy-areas", headers={"Authorization": "Bearer forged", "X-Request-ID": rid}
        )
    assert r.status_code == 401
    access = [e for e in lines(out) if e["name"] == "scrutiny.access" and e["request_id"] == rid]
    # The gateway's line only: it refuses a token it cannot verify before calling any service.
    assert [(e["status"], e["client_id"], e["trace_id"]) for e in access] == [(401, "-", "-")]
