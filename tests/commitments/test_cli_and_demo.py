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
from scrutiny_cli import demo, demo_progress, demo_record
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
    # Missed by 2018, as the Committee found; its watered-down successor target is overdue now.
    then = sync_client.get(url, params={"as_of": "2019-06-30"}).json()
    assert (then["title"], then["status"]) == ("A paperless NHS by 2018", "missed")
    now = sync_client.get(url).json()
    assert (now["status"], now["overdue"]) == ("in_progress", True)


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


async def test_the_demo_record_holds_what_the_seeds_say(sync_client: httpx.Client):
    await asyncio.to_thread(_demo_record, sync_client)


def _by_source(client: httpx.Client, reference: str) -> list[dict[str, Any]]:
    source = client.get("/v1/sources", params={"reference": reference}).json()["items"][0]
    got = client.get("/v1/commitments", params={"source_id": source["id"], "page_size": 200})
    items: list[dict[str, Any]] = got.json()["items"]
    return items


def _targets(client: httpx.Client, reference: str) -> dict[str, dict[str, Any]]:
    c = client.get("/v1/commitments", params={"reference": reference}).json()["items"][0]
    detail = client.get(f"/v1/commitments/{c['id']}").json()
    return {t["reference"]: t for t in detail["targets"]}


def _demo_record(client: httpx.Client) -> None:
    nine = _nine(client)
    demo_progress.seed_progress(client, nine)
    demo_record.seed_record(client, nine)
    demo_record.seed_record(client, nine)  # again: finds everything, adds nothing

    # 000: both documents as sources; its figures as readings naming their source.
    for reference in ("HSCC-HC780-2023", "DHSC-RESPONSE-HC780-2023"):
        assert client.get("/v1/sources", params={"reference": reference}).json()["items"]
    wards = _targets(client, "PDHSC-1b")
    assert wards["PDHSC-1b-VW-ICS"]["progress"]["latest_value"] == 37
    assert wards["PDHSC-1b-VW-SERVICES"]["progress"]["latest_value"] == 180
    assert wards["PDHSC-1b-VW-SERVICES"]["target_value"] == 352
    workforce = _targets(client, "PDHSC-4b")["PDHSC-4b-WORKFORCE"]
    assert (workforce["baseline_value"], workforce["baseline_on"]) == (46_000, "2021-12-31")
    assert (workforce["target_value"], workforce["due_on"]) == (78_000, "2030-12-31")
    readings = client.get(f"/v1/targets/{wards['PDHSC-1b-VW-ICS']['id']}/readings").json()
    assert "Government response" in readings["items"][0]["source"]

    # 002: every measurable target, with its baseline and due date where given.
    plan = {c["reference"]: c for c in _by_source(client, demo.SOURCE["reference"])}
    extra = {r for r in plan if r.startswith("PDHSC-T-")}
    assert extra == {t[0] for t in demo_record.PLAN_TARGETS}
    assert len(plan) == 9 + len(demo_record.PLAN_TARGETS) == 16
    figures = {
        "PDHSC-T-MATURITY": ("PDHSC-T-MATURITY-ORGS", 100, "2025-03-31", 20),
        "PDHSC-T-FALLS": ("PDHSC-T-FALLS-RESIDENTS", 20, "2024-03-31", None),
        "PDHSC-T-BROADBAND": ("PDHSC-T-BROADBAND-HOMES", 1000, "2024-03-31", 0),
        "PDHSC-T-ASC-150M": ("PDHSC-T-ASC-150M-GBP", 150_000_000, "2025-06-29", None),
    }
    for reference, (target_ref, value, due_on, baseline) in figures.items():
        t = _targets(client, reference)[target_ref]
        assert (t["target_value"], t["due_on"], t["baseline_value"]) == (value, due_on, baseline)
    app = _targets(client, "PDHSC-1a")["PDHSC-1a-APP-75"]
    assert (app["target_value"], app["progress"]["status"]) == (75, "missed")  # judged today
    as_of = client.get(f"/v1/commitments/{nine['PDHSC-1a']['id']}", params={"as_of": "2023-06-30"})
    then = {t["reference"]: t["progress"]["status"] for t in as_of.json()["targets"]}
    assert then["PDHSC-1a-APP-75"] == "on_track"  # as it stood in mid-2023

    # 003: the six recommendations, whole as the seed holds them; the dated one overdue.
    pac = {c["reference"]: c for c in _by_source(client, "PAC-2020-DIGITAL")}
    recommendations = {r: c for r, c in pac.items() if c["kind"] == "recommendation"}
    assert len(recommendations) == 6
    assert all("…" not in c["text"] for c in recommendations.values())
    assert recommendations["PAC-2020-1"]["due_on"] == "2021-03-31"
    assert recommendations["PAC-2020-1"]["overdue"] is True
    overdue = client.get(
        "/v1/commitments", params={"overdue": "true", "kind": "recommendation", "page_size": 200}
    ).json()["items"]
    assert "PAC-2020-1" in {c["reference"] for c in overdue}

    # 004: the review as a source and its nine recommendations.
    review = _by_source(client, "REVIEW-DDAT-2021")
    assert len(review) == 9
    assert {c["kind"] for c in review} == {"recommendation"}
    assert review[0]["text"].startswith("Commit to a patient and citizen centred")
