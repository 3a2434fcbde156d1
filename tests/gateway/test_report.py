"""The evaluation report, composed by the gateway from the REAL ratings and commitments services."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid

import httpx
import pytest

from gateway.main import create_app
from tests.conftest import serve
from tests.gateway.conftest import Failing, auth_settings, bearer, gateway_settings, token_for
from tests.support.tokens import chair_panel, client_id_of

PROBLEM = "application/problem+json"
HEADER = (
    "policy_area,commitment_reference,commitment_title,"
    "commitment_met,funding_and_resource,impact,appropriateness,overall,"
    "status,overdue,government_position,respondent,self_assessment,self_assessed_on"
)


def ref(prefix: str = "R") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def _post(gateway, path, body, auth):
    r = await gateway.post(path, json=body, headers=auth)
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture(scope="module")
async def evaluation(gateway, writer, make_client):
    """Three commitments in two areas, all created and rated through the gateway; the first
    overdue, self-assessed by its lead body, and answered in the Department's response."""
    areas = [
        await _post(gateway, "/v1/policy-areas", {"slug": ref("a").lower(), "name": name}, writer)
        for name in ("Care of patients", "Workforce, digital literacy")
    ]
    source = await _post(
        gateway,
        "/v1/sources",
        {"reference": ref("s"), "title": "Plan", "publisher": "DHSC", "kind": "plan"},
        writer,
    )
    specs = [
        (areas[0], 'Shared care records, "by 2024"'),
        (areas[1], "Digital workforce"),
        (areas[0], "NHS App registrations"),
    ]
    commitments = [
        await _post(
            gateway,
            "/v1/commitments",
            {
                "reference": ref("C"),
                "title": title,
                "text": "We will.",
                "policy_area_id": area["id"],
                "source_id": source["id"],
                **extra,
            },
            writer,
        )
        for (area, title), extra in zip(
            specs,
            [
                {
                    "lead_bodies": ["Programme office"],
                    "due_on": "2024-12-31",
                    "status": "in_progress",
                },
                {},
                {},
            ],
            strict=True,
        )
    ]
    body = {
        "title": "Digitisation review",
        "body": "Expert Panel",
        "commitment_ids": [c["id"] for c in commitments],
        "panel": chair_panel(writer),
    }
    # Ratings learns commitments from the commitments feed; wait until it knows these.
    for _ in range(200):
        r = await gateway.post("/v1/evaluations", json=body, headers=writer)
        if r.status_code != 422:
            break
        await asyncio.sleep(0.05)
    assert r.status_code == 201, r.text
    ev = r.json()
    levels = [
        ("good", "requires_improvement", "requires_improvement", "requires_improvement"),
        ("inadequate", "inadequate", "requires_improvement", "good"),
        ("outstanding", "good", "good", "good"),
    ]
    dims = ("commitment_met", "funding_and_resource", "impact", "appropriateness")
    for c, lv in zip(commitments, levels, strict=True):
        r = await gateway.put(
            f"/v1/evaluations/{ev['id']}/ratings/{c['id']}",
            json={"levels": dict(zip(dims, lv, strict=True)), "status": "agreed"},
            headers=writer,
        )
        assert r.status_code == 201, r.text
    # Only published evaluations are public, and the report is read anonymously.
    for step in ("submit-for-review", "publish"):
        r = await gateway.post(f"/v1/evaluations/{ev['id']}/{step}", json={}, headers=writer)
        assert r.status_code == 200, r.text
    await _post(
        gateway,
        f"/v1/commitments/{commitments[0]['id']}/self-assessments",
        {"confidence": "amber_green", "commentary": "Mostly there.", "assessed_on": "2025-01-10"},
        writer,
    )
    _, creds = await make_client("responses:write", org="Department of Health and Social Care")
    dhsc = bearer(await token_for(gateway, creds))
    await _post(
        gateway,
        f"/v1/evaluations/{ev['id']}/responses",
        {
            "text": "Our response.",
            "received_on": "2025-02-01",
            "items": [
                {
                    "commitment_id": commitments[0]["id"],
                    "position": "already_in_hand",
                    "text": "Records are joined up in most systems.",
                }
            ],
        },
        dhsc,
    )
    return {"evaluation": ev, "areas": areas, "commitments": commitments}


async def test_json_report(gateway, evaluation):
    ev, areas, cs = evaluation["evaluation"], evaluation["areas"], evaluation["commitments"]
    r = await gateway.get(f"/v1/evaluations/{ev['id']}/report")
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["missing"] == []
    assert report["evaluation"]["id"] == ev["id"]
    assert [a["id"] for a in report["policy_areas"]] == [areas[0]["id"], areas[1]["id"]]
    first = report["policy_areas"][0]
    assert first["name"] == "Care of patients"
    assert first["slug"] == areas[0]["slug"]
    assert [c["id"] for c in first["commitments"]] == [cs[0]["id"], cs[2]["id"]]
    c0 = first["commitments"][0]
    assert c0["reference"] == cs[0]["reference"]
    assert c0["title"] == cs[0]["title"]
    assert c0["levels"]["commitment_met"] == "good"
    assert c0["overall"]["level"] == "requires_improvement"  # floor of mean (3+2+2+2)/4
    assert first["overall"]["level"]
    assert report["overall"]["level"]
    # The accountability columns: the government's position and the self-assessment beside
    # the panel's rating, and overdue.
    assert (c0["status"], c0["overdue"]) == ("in_progress", True)
    assert c0["government_position"]["position"] == "already_in_hand"
    assert c0["government_position"]["respondent"] == "Department of Health and Social Care"
    assert c0["self_assessment"]["confidence"] == "amber_green"
    c2 = first["commitments"][1]
    assert (c2["government_position"], c2["self_assessment"], c2["overdue"]) == (None, None, False)
    deadline = report["response_deadline"]
    assert (deadline["overdue"], deadline["responded_on"]) == (False, "2025-02-01")
    # The panel and its agreement travel with the report; no scores were kept, and it says so.
    assert [m["role"] for m in report["evaluation"]["panel"]] == ["chair"]
    assert report["evaluation"]["version"] == 1
    assert report["agreement"]["recorded"] is False
    assert report["agreement"]["overall"]["alpha"] is None
    assert "not recorded" in report["agreement"]["how_to_read"]


@pytest.mark.parametrize("how", ["accept", "report.csv"])
async def test_csv_report(gateway, evaluation, how):
    ev, cs = evaluation["evaluation"], evaluation["commitments"]
    if how == "accept":
        r = await gateway.get(f"/v1/evaluations/{ev['id']}/report", headers={"Accept": "text/csv"})
    else:  # its own operation, for generated clients (one response type per operation)
        r = await gateway.get(f"/v1/evaluations/{ev['id']}/report.csv")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    lines = r.text.splitlines()
    assert lines[0] == HEADER
    everything = list(csv.reader(io.StringIO(r.text)))
    # The ratings, then (after an empty row) the panel's agreement.
    rows = everything[: everything.index([])]
    assert [row[1] for row in rows[1:]] == [c["reference"] for c in cs]  # evaluation order
    agreement = everything[everything.index([]) + 1 :]
    assert agreement[0] == [
        "agreement",
        "dimension",
        "alpha_ordinal",
        "exact_agreement",
        "raters",
        "units",
    ]
    # No individual scores were recorded: no figures, and the last row says so.
    assert agreement[1] == ["agreement", "(all dimensions)", "", "", "0", "0"]
    assert agreement[-3][0] == "how_to_read"
    assert "not recorded" in agreement[-3][1]
    assert agreement[-1] == ["version", "1"]  # the published version this report is
    assert rows[1] == [
        "Care of patients",
        cs[0]["reference"],
        'Shared care records, "by 2024"',
        "good",
        "requires_improvement",
        "requires_improvement",
        "requires_improvement",
        "requires_improvement",
        "in_progress",
        "true",
        "already_in_hand",
        "Department of Health and Social Care",
        "amber_green",
        "2025-01-10",
    ]
    assert rows[2][0] == "Workforce, digital literacy"
    assert rows[2][7] == "inadequate"
    assert rows[2][8:] == ["not_started", "false", "", "", "", ""]
    assert '"Shared care records, ""by 2024"""' in r.text  # RFC 4180 quoting


async def test_accept_negotiation(gateway, evaluation):
    url = f"/v1/evaluations/{evaluation['evaluation']['id']}/report"
    r = await gateway.get(url, headers={"Accept": "text/csv;q=0.5, application/json"})
    assert r.headers["content-type"] == "application/json"
    r = await gateway.get(url, headers={"Accept": "image/png"})
    assert r.status_code == 406
    assert r.headers["content-type"] == PROBLEM


async def test_unknown_evaluation_404_passes_through(gateway, stack):
    missing = uuid.uuid4()
    r = await gateway.get(f"/v1/evaluations/{missing}/report")
    transport = httpx.ASGITransport(app=stack.ratings_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://r") as direct:
        straight = await direct.get(f"/v1/evaluations/{missing}")
    assert r.status_code == straight.status_code == 404
    assert r.headers["content-type"] == PROBLEM
    assert r.content == straight.content


async def test_report_without_commitments_service(gateway_db, stack, evaluation):
    ev, cs = evaluation["evaluation"], evaluation["commitments"]
    app = create_app(
        gateway_settings(gateway_db),
        transports={
            "commitments": Failing(httpx.ConnectError),
            "evidence": Failing(httpx.ConnectError),
            "ratings": httpx.ASGITransport(app=stack.ratings_app),
        },
        auth=auth_settings(),
    )
    async for client in serve(app):
        r = await client.get(f"/v1/evaluations/{ev['id']}/report")
        assert r.status_code == 200, r.text
        report = r.json()
        assert report["missing"] == ["commitments"]
        flat = [c for a in report["policy_areas"] for c in a["commitments"]]
        assert {c["title"] for c in flat} == {c["id"] for c in cs}
        assert all(c["overall"] for c in flat)
        text = (
            await client.get(f"/v1/evaluations/{ev['id']}/report", headers={"Accept": "text/csv"})
        ).text
        assert text.splitlines()[0] == HEADER
        # Three ratings, then the agreement section (it comes from the ratings service).
        assert text.splitlines().index("") == 4


async def test_report_without_ratings_service_is_503(gateway_db, evaluation):
    app = create_app(
        gateway_settings(gateway_db),
        transports={n: Failing(httpx.ConnectError) for n in ("commitments", "evidence", "ratings")},
        auth=auth_settings(),
    )
    async for client in serve(app):
        r = await client.get(f"/v1/evaluations/{evaluation['evaluation']['id']}/report")
        assert r.status_code == 503
        assert r.headers["content-type"] == PROBLEM
        assert r.headers["retry-after"]


async def test_published_report_is_cacheable_with_etag_and_304(gateway, evaluation, writer):
    url = f"/v1/evaluations/{evaluation['evaluation']['id']}/report"
    first = await gateway.get(url)
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert first.headers["cache-control"].startswith("public, max-age=")
    again = await gateway.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    # Each representation has its own tag; a stale tag gets the full answer.
    csv = await gateway.get(url, headers={"Accept": "text/csv", "If-None-Match": etag})
    assert csv.status_code == 200
    assert csv.headers["etag"] != etag
    stale = await gateway.get(url, headers={"If-None-Match": '"stale", W/"older"'})
    assert stale.status_code == 200
    assert stale.content == first.content
    forced = await gateway.get(url, headers={"Cache-Control": "no-cache"})
    assert forced.status_code == 200
    assert forced.headers["etag"] == etag
    # Read with a token, the answer is the caller's own: never shared by caches.
    mine = await gateway.get(url, headers=writer)
    assert mine.status_code == 200
    assert mine.headers["cache-control"] == "private, no-cache"


async def test_a_draft_report_withholds_ratings_from_a_member_who_has_not_scored(
    gateway, evaluation, writer, make_client
):
    """The report passes the caller's token through, so it shows a plain member only what the
    ratings service does: no draft rating of a commitment it has not scored (no anchoring)."""
    cs = evaluation["commitments"]
    _, creds = await make_client("ratings:write", org="Fictional panel")
    member = bearer(await token_for(gateway, creds))
    panel = [
        *chair_panel(writer),
        {"name": "B. Member (fictional)", "role": "member", "client_id": client_id_of(member)},
    ]
    body = {
        "title": "Draft review",
        "body": "Expert Panel",
        "commitment_ids": [cs[0]["id"]],
        "panel": panel,
    }
    ev = await _post(gateway, "/v1/evaluations", body, writer)
    dims = ("commitment_met", "funding_and_resource", "impact", "appropriateness")
    r = await gateway.put(
        f"/v1/evaluations/{ev['id']}/ratings/{cs[0]['id']}",
        json={"levels": dict.fromkeys(dims, "good")},
        headers=writer,
    )
    assert r.status_code == 201, r.text

    async def first_row(auth: dict[str, str]) -> dict[str, object]:
        r = await gateway.get(f"/v1/evaluations/{ev['id']}/report", headers=auth)
        assert r.status_code == 200, r.text
        row: dict[str, object] = r.json()["policy_areas"][0]["commitments"][0]
        assert row["id"] == cs[0]["id"]
        return row

    assert (await first_row(writer))["levels"] == dict.fromkeys(dims, "good")
    withheld = await first_row(member)
    assert not withheld["levels"]
    assert withheld["overall"] is None
    member_id = next(m["id"] for m in ev["panel"] if m["role"] == "member")
    r = await gateway.put(
        f"/v1/evaluations/{ev['id']}/panel-members/{member_id}/scores/{cs[0]['id']}",
        json={"levels": dict.fromkeys(dims, "inadequate")},
        headers=member,
    )
    assert r.status_code == 201, r.text
    assert (await first_row(member))["levels"] == dict.fromkeys(dims, "good")
