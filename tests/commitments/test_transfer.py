"""CSV import and export: round trip, idempotence, dry runs and every kind of bad row."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from commitments.config import Settings
from commitments.main import create_app
from commitments.transfer.format import COLUMNS
from servicekit.auth import TokenVerifier
from servicekit.mediatypes import PROBLEM
from tests.commitments.helpers import commitment, patch, post, ref, target
from tests.conftest import serve
from tests.support.databases import migrated_database

CSV = {"content-type": "text/csv"}


@pytest.fixture
def empty_db(tmp_path: Path) -> str:
    """A second, freshly migrated commitments database (sync: migration runs its own loop)."""
    return migrated_database("commitments", tmp_path)


def table(rows: list[dict[str, str]]) -> bytes:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS)
    w.writeheader()
    for row in rows:
        w.writerow(row)
    return buf.getvalue().encode()


def sample(tag: str) -> list[dict[str, str]]:
    """A source, an area, two commitments (one superseding the other) and a target."""
    return [
        {
            "record": "target",
            "reference": f"{tag}-T1",
            "commitment": f"{tag}-C2",
            "metric": "Trusts with an EPR",
            "unit": "percent",
            "direction": "increase",
            "baseline_value": "86",
            "baseline_on": "2022-06-29",
            "target_value": "90",
            "due_on": "2023-12-31",
            "data_source": "NHS England",
        },
        {
            "record": "commitment",
            "reference": f"{tag}-C1",
            "title": "Paperless by 2018",
            "text": "A paperless NHS.",
            "kind": "target",
            "policy_area": f"{tag.lower()}-area",
            "source": f"{tag}-SRC",
            "lead_bodies": "NHS England; DHSC",
            "due_on": "2018-12-31",
            "status": "superseded",
            "lineage": f"superseded_by:{tag}-C2",
        },
        {
            "record": "commitment",
            "reference": f"{tag}-C2",
            "title": "Core digitisation by 2024",
            "text": "A core level.",
            "policy_area": f"{tag.lower()}-area",
            "source": f"{tag}-SRC",
            "due_on": "2024-12-31",
            "status": "in_progress",
        },
        {"record": "policy_area", "slug": f"{tag.lower()}-area", "name": "Digitisation"},
        {
            "record": "source",
            "reference": f"{tag}-SRC",
            "title": "Digital transformation in the NHS",
            "publisher": "Public Accounts Committee",
            "kind": "committee_report",
            "published_on": "2020-11-06",
        },
    ]


async def test_import_creates_everything_and_reimport_changes_nothing(client, writer):
    tag = ref("IMP").upper()
    body = table(sample(tag))
    r = await client.post("/v1/commitment-imports", content=body, headers={**writer, **CSV})
    assert r.status_code == 200, r.text
    assert r.json()["created"] == {
        "sources": 1,
        "policy_areas": 1,
        "commitments": 2,
        "targets": 1,
        "lineage_links": 1,
    }
    c1 = (await client.get("/v1/commitments", params={"reference": f"{tag}-C1"})).json()["items"][0]
    c2 = (await client.get("/v1/commitments", params={"reference": f"{tag}-C2"})).json()["items"][0]
    assert c1["status"] == "superseded"
    assert c1["superseded_by_id"] == c2["id"]
    assert c1["lead_bodies"] == ["NHS England", "DHSC"]
    detail = (await client.get(f"/v1/commitments/{c2['id']}")).json()
    assert [t["reference"] for t in detail["targets"]] == [f"{tag}-T1"]
    again = await client.post("/v1/commitment-imports", content=body, headers={**writer, **CSV})
    assert again.status_code == 200
    assert again.json()["created"] == {
        "sources": 0,
        "policy_areas": 0,
        "commitments": 0,
        "targets": 0,
        "lineage_links": 0,
    }
    assert again.json()["unchanged"] == {
        "sources": 1,
        "policy_areas": 1,
        "commitments": 2,
        "targets": 1,
        "lineage_links": 1,
    }
    revisions = (await client.get(f"/v1/commitments/{c2['id']}/revisions")).json()["items"]
    assert len(revisions) == 1
    assert revisions[0]["client_id"]


async def test_dry_run_reports_and_stores_nothing(client, writer):
    tag = ref("DRY").upper()
    r = await client.post(
        "/v1/commitment-imports",
        params={"dry_run": "true"},
        content=table(sample(tag)),
        headers={**writer, **CSV},
    )
    assert r.status_code == 200
    assert r.json()["dry_run"] is True
    assert r.json()["created"]["commitments"] == 2
    assert (await client.get("/v1/sources", params={"reference": f"{tag}-SRC"})).json()[
        "items"
    ] == []
    assert (await client.get("/v1/commitments", params={"reference": f"{tag}-C1"})).json()[
        "items"
    ] == []


async def test_every_bad_row_is_reported_with_line_and_column_and_nothing_stored(client, writer):
    tag = ref("BAD").upper()
    rows = sample(tag)
    rows[0] = {**rows[0], "target_value": "120"}  # line 2: percent over 100
    rows[2] = {**rows[2], "due_on": "31/12/2024"}  # line 4: not a date
    rows.append(
        {
            "record": "commitment",
            "reference": f"{tag}-C3",
            "title": "x",
            "text": "y",
            "policy_area": "no-such-area",
            "source": f"{tag}-SRC",
            "publisher": "stray",
        }
    )  # line 7
    rows.append(
        {
            "record": "commitment",
            "reference": f"{tag}-C4",
            "title": "x",
            "text": "y",
            "policy_area": f"{tag.lower()}-area",
            "source": f"{tag}-SRC",
            "lineage": f"superseded_by:{tag}-C4",
            "status": "superseded",
        }
    )  # line 8: a cycle of one
    rows.append({"record": "widget", "reference": "w"})  # line 9
    rows.append(dict(rows[4]))  # line 10: the source again
    rows.append(
        {
            "record": "commitment",
            "reference": f"{tag}-C5",
            "title": "x",
            "text": "y",
            "status": "met",
            "policy_area": f"{tag.lower()}-area",
            "source": f"{tag}-SRC",
            "due_on": "2099-01-01",
        }
    )  # line 11
    r = await client.post("/v1/commitment-imports", content=table(rows), headers={**writer, **CSV})
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM
    problem = r.json()
    got = {(e["pointer"], e["code"]) for e in problem["errors"]}
    assert got == {
        ("body.2.target_value", "unit_mismatch"),
        ("body.4.due_on", "date_from_datetime_parsing"),
        ("body.7.publisher", "not_applicable"),
        ("body.7.policy_area", "unknown_reference"),
        ("body.8.lineage", "lineage_cycle"),
        ("body.9.record", "bad_record"),
        ("body.10.reference", "duplicate"),
        ("body.11.status", "transition"),
    }, problem["errors"]
    assert all(e["detail"].startswith("line ") for e in problem["errors"])
    assert "nothing was imported" in problem["detail"]
    assert (await client.get("/v1/sources", params={"reference": f"{tag}-SRC"})).json()[
        "items"
    ] == []


@pytest.mark.parametrize(
    ("content", "pointer"),
    [
        (b"record,colour\nsource,red\n", "body.1.colour"),
        (b"reference,title\nX,Y\n", "body.1.record"),
        (b"record,reference\nsource,A,extra\n", "body.2.record"),
    ],
)
async def test_bad_headers_and_shapes(client, writer, content, pointer):
    r = await client.post("/v1/commitment-imports", content=content, headers={**writer, **CSV})
    assert r.status_code == 422
    assert r.json()["errors"][0]["pointer"] == pointer


async def test_import_needs_csv_a_token_and_valid_utf8(client, writer):
    body = table([])
    assert (
        await client.post("/v1/commitment-imports", content=body, headers=CSV)
    ).status_code == 401
    r = await client.post(
        "/v1/commitment-imports",
        content=body,
        headers={**writer, "content-type": "application/json"},
    )
    assert r.status_code == 415
    r = await client.post(
        "/v1/commitment-imports", content=b"\xff\xfe\x00", headers={**writer, **CSV}
    )
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM


async def test_changing_stored_wording_by_import_needs_a_reason(client, writer):
    tag = ref("UPD").upper()
    rows = sample(tag)
    await client.post("/v1/commitment-imports", content=table(rows), headers={**writer, **CSV})
    rows[2] = {**rows[2], "title": "Core digitisation by 2025", "due_on": "2025-12-31"}
    rows[0] = {**rows[0], "target_value": "95"}
    r = await client.post("/v1/commitment-imports", content=table(rows), headers={**writer, **CSV})
    assert r.status_code == 422
    assert {e["pointer"] for e in r.json()["errors"]} == {"body.4.title", "body.2.target_value"}
    r = await client.post(
        "/v1/commitment-imports",
        params={"reason": "Revised plan."},
        content=table(rows),
        headers={**writer, **CSV},
    )
    assert r.status_code == 200
    assert r.json()["updated"]["commitments"] == 1
    assert r.json()["updated"]["targets"] == 1
    c2 = (await client.get("/v1/commitments", params={"reference": f"{tag}-C2"})).json()["items"][0]
    revisions = (await client.get(f"/v1/commitments/{c2['id']}/revisions")).json()["items"]
    assert [x["reason"] for x in revisions[1:]] == ["Revised plan.", "Revised plan."]


async def test_export_then_import_yields_identical_data(client, writer, issuer, empty_db):
    # Make sure every kind of record and status is present, whatever ran before.
    c = await commitment(
        client, writer, due_on="2099-01-01", lead_bodies=["NHS England"], made_on="2022-06-29"
    )
    await target(client, writer, c["id"], unit="fte", baseline_value=0.5, target_value=10500.25)
    await patch(client, f"/v1/commitments/{c['id']}", {"status": "met", "reason": "Early."}, writer)
    nxt = await commitment(
        client, writer, policy_area_id=c["policy_area_id"], source_id=c["source_id"]
    )
    await post(
        client,
        f"/v1/commitments/{nxt['id']}/lineage-links",
        {"kind": "split_into", "successor_id": c["id"], "reason": "Split."},
        writer,
    )
    exported = (await client.get("/v1/commitment-exports")).content
    assert exported.startswith(b"record,reference,slug,")
    r = await client.post(
        "/v1/commitment-imports",
        params={"reason": "Round trip."},
        content=exported,
        headers={**writer, **CSV},
    )
    assert r.status_code == 200, r.text
    assert r.json()["created"] == r.json()["updated"] == dict.fromkeys(r.json()["created"], 0)
    assert (await client.get("/v1/commitment-exports")).content == exported

    fresh = create_app(
        Settings(database_url=empty_db, log_json=False),
        token_verifier=TokenVerifier(issuer.settings()),
    )
    async for other in serve(fresh):
        r = await other.post(
            "/v1/commitment-imports",
            params={"reason": "Round trip."},
            content=exported,
            headers={**writer, **CSV},
        )
        assert r.status_code == 200, r.text
        assert (await other.get("/v1/commitment-exports")).content == exported


async def test_import_takes_the_file_as_a_form_upload(client, writer):
    """The documented way (what generated clients send): multipart/form-data, a `file` part."""
    tag = ref("FORM").upper()
    files = {"file": ("commitments.csv", table(sample(tag)), "text/csv")}
    r = await client.post("/v1/commitment-imports", files=files, headers=writer)
    assert r.status_code == 200, r.text
    assert r.json()["created"]["commitments"] == 2


async def test_a_form_without_a_file_part_is_422(client, writer):
    files = {"attachment": ("x.csv", b"record\n", "text/csv")}
    r = await client.post("/v1/commitment-imports", files=files, headers=writer)
    assert r.status_code == 422, r.text
    assert [e["pointer"] for e in r.json()["errors"]] == ["body.file"]


async def test_an_import_of_another_media_type_is_415(client, writer):
    r = await client.post("/v1/commitment-imports", json={"rows": []}, headers=writer)
    assert r.status_code == 415, r.text


async def test_export_neutralises_formula_text_and_round_trips(client, writer):
    c = await commitment(client, writer, title="=1+1", lead_bodies=["@SUM(A1)", "NHS England"])
    await target(client, writer, c["id"], metric="-Net change", baseline_value=0.5)
    exported = (await client.get("/v1/commitment-exports")).content
    rows = list(csv.DictReader(io.StringIO(exported.decode())))
    mine = next(r for r in rows if r["reference"] == c["reference"])
    assert mine["title"] == "'=1+1"
    assert mine["lead_bodies"] == "'@SUM(A1); NHS England"
    tgt = next(r for r in rows if r["record"] == "target" and r["commitment"] == c["reference"])
    assert tgt["metric"] == "'-Net change"
    # Numbers are written as numbers, never prefixed (every unit refuses negatives, so the
    # negative case is tested on the writer: tests/servicekit/test_csvsafe.py).
    assert (tgt["baseline_value"], tgt["target_value"]) == ("0.5", "100")
    r = await client.post(
        "/v1/commitment-imports",
        params={"reason": "Round trip."},
        content=exported,
        headers={**writer, **CSV},
    )
    assert r.status_code == 200, r.text
    assert r.json()["updated"]["commitments"] == 0
    stored = (await client.get(f"/v1/commitments/{c['id']}")).json()
    assert stored["title"] == "=1+1"
    assert stored["lead_bodies"] == ["@SUM(A1)", "NHS England"]
    assert stored["targets"][0]["metric"] == "-Net change"
