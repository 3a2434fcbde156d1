"""`scrutiny import` / `scrutiny export` and the deepened demo data, against a live server."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from commitments.config import Settings
from commitments.main import create_app
from scrutiny_cli import demo, demo_progress
from scrutiny_cli.main import main as scrutiny
from servicekit.auth import TokenVerifier
from tests.support.tokens import TestIssuer


@pytest.fixture(scope="module")
def live(commitments_db: str, issuer: TestIssuer) -> Iterator[str]:
    """The commitments service on a real socket (the CLI is a synchronous HTTP client)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(
        Settings(database_url=commitments_db, log_json=False),
        token_verifier=TokenVerifier(issuer.settings()),
    )
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def sync_client(live: str, issuer: TestIssuer) -> Iterator[httpx.Client]:
    token = issuer.token("commitments:write", ttl=3600, org="Scrutiny")
    with httpx.Client(base_url=live, headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
        yield c


def _nine(client: httpx.Client) -> dict[str, dict[str, Any]]:
    """The 2023 commitments, as `scrutiny seed` creates them."""

    def ok(r: httpx.Response) -> dict[str, Any]:
        assert r.status_code < 300, r.text
        return r.json()

    def find(path: str, **params: str) -> dict[str, Any] | None:
        items = ok(client.get(path, params=params))["items"]
        return items[0] if items else None

    source = find("/v1/sources", reference=demo.SOURCE["reference"]) or ok(
        client.post("/v1/sources", json=demo.SOURCE)
    )
    areas = {
        a["slug"]: find("/v1/policy-areas", slug=a["slug"])
        or ok(client.post("/v1/policy-areas", json=a))
        for a in demo.POLICY_AREAS
    }
    made = {}
    for reference, slug, title, text, due_on, leads in demo.COMMITMENTS:
        made[reference] = find("/v1/commitments", reference=reference) or ok(
            client.post(
                "/v1/commitments",
                json={
                    "reference": reference,
                    "title": title,
                    "text": text,
                    "policy_area_id": areas[slug]["id"],
                    "source_id": source["id"],
                    "lead_bodies": leads,
                    "made_on": demo.SOURCE["published_on"],
                    "due_on": due_on,
                    "status": "in_progress",
                },
            )
        )
    return made


# The tests are async and run the synchronous clients in a thread: the session's event loop must
# keep running, because the in-process app of the other tests shares the SQLite file and its
# background tasks (sequencer, sweeper) hold the write lock only while the loop moves them on.


async def test_demo_progress_loads_idempotently_with_the_seeds_figures(sync_client: httpx.Client):
    await asyncio.to_thread(_demo_progress, sync_client)


def _demo_progress(sync_client: httpx.Client) -> None:
    nine = _nine(sync_client)
    demo_progress.seed_progress(sync_client, nine)
    events = sync_client.get("/v1/events", params={"after": 0, "limit": 1000}).json()

    def last_position() -> int:
        after = 0
        while True:
            page = sync_client.get("/v1/events", params={"after": after, "limit": 1000}).json()
            if not page["items"]:
                return after
            after = page["next_after"]

    time.sleep(0.3)  # let the sequencer position the first run's events
    before = last_position()
    demo_progress.seed_progress(sync_client, nine)
    time.sleep(0.3)
    assert last_position() == before, "a second run changed something"
    assert events["items"]

    status = {}
    for reference in ("PDHSC-1a", "PDHSC-1c", "PDHSC-2a", "PDHSC-2b", "PDHSC-4a", "PDHSC-4b"):
        detail = sync_client.get(f"/v1/commitments/{nine[reference]['id']}").json()
        status.update({t["reference"]: t["progress"]["status"] for t in detail["targets"]})
    assert status == {
        "PDHSC-1a-APP-68": "met",
        # Judged today: past their due dates on readings that had not reached them.
        "PDHSC-1a-APP-75": "missed",
        "PDHSC-1a-APP-USERS": "met",
        "PDHSC-1c-DSCR": "missed",  # 52% in Feb 2023 of 80% by March 2024
        "PDHSC-1c-EPR": "missed",  # 88% in April 2023 of 90% by December 2023
        "PDHSC-2a-FUNDING": None,
        "PDHSC-2b-DEID": "missed",
        "PDHSC-4a-PLAN": "missed",
        "PDHSC-4b-DDAT": None,
    }
    pac = sync_client.get("/v1/commitments", params={"kind": "recommendation", "q": "NHSX"}).json()
    assert {c["reference"] for c in pac["items"]} >= {"PAC-2020-3", "PAC-2020-4", "PAC-2020-6"}
    first = sync_client.get("/v1/commitments", params={"reference": "PAC-2020-1"}).json()["items"][
        0
    ]
    assert first["due_on"] == "2021-03-31"
    assert first["kind"] == "recommendation"
    paperless = sync_client.get(
        "/v1/commitments", params={"reference": "NHS-PAPERLESS-2018"}
    ).json()["items"][0]
    url = f"/v1/commitments/{paperless['id']}"
    revisions = sync_client.get(f"{url}/revisions").json()["items"]
    assert len(revisions) == 2
    assert "watered down" in revisions[1]["reason"]
    assert (
        sync_client.get(url, params={"as_of": "2019-06-01"}).json()["title"]
        == "A paperless NHS by 2018"
    )
    assert sync_client.get(url, params={"as_of": "2021-01-01"}).json()["due_on"] == "2024-12-31"


async def test_cli_export_then_import(live: str, issuer: TestIssuer, tmp_path: Path, capsys):
    await asyncio.to_thread(_cli, live, issuer, tmp_path, capsys)


def _cli(live: str, issuer: TestIssuer, tmp_path: Path, capsys: Any) -> None:
    out = tmp_path / "all.csv"
    assert scrutiny(["export", "--gateway-url", live, "-o", str(out), "--progress"]) == 0
    assert out.read_bytes().startswith(b"record,reference,")
    token = issuer.token("commitments:write", ttl=600)
    args = ["import", str(out), "--gateway-url", live, "--token", token, "--reason", "CLI test"]
    assert scrutiny([*args, "--dry-run", "--progress"]) == 0
    report = capsys.readouterr().out
    assert '"dry_run": true' in report
    assert '"created"' in report
    bad = tmp_path / "bad.csv"
    bad.write_text("record,reference\nwidget,x\nsource,\n")
    assert scrutiny(["import", str(bad), "--gateway-url", live, "--token", token]) == 1
    err = capsys.readouterr().err
    assert "line 2, column record" in err
    assert "line 3, column" in err
    no_creds = ["import", str(bad), "--gateway-url", live, "--data-dir", str(tmp_path)]
    assert scrutiny(no_creds) == 1
