"""Logs as an operator reads them: one JSON object a line, the request id on every line written
while handling a request (gateway and service alike), and never a credential."""

from __future__ import annotations

import contextlib
import io
import json
import logging
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
