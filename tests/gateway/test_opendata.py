"""Open data over HTTP with the real services: the /data page, the bulk downloads (only what the
public API shows, formulas neutralised in CSV) and the Atom feeds. The Data Package is
validated with `frictionless` against the running suite's demo data in tests/cross."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime

import httpx
import pytest

from gateway.compose import datapackage, opendata
from gateway.main import create_app
from tests.commitments.helpers import patch
from tests.conftest import serve
from tests.gateway.conftest import Failing, auth_settings, bearer, gateway_settings, token_for
from tests.gateway.test_report import evaluation  # noqa: F401  (module fixture reused)

A = "{http://www.w3.org/2005/Atom}"
UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def ref(prefix: str = "OD") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def _post(gateway, path, body, auth):
    r = await gateway.post(path, json=body, headers=auth)
    assert r.status_code == 201, r.text
    return r.json()


async def _client(gateway, make_client, *scopes, org):
    _, creds = await make_client(*scopes, org=org)
    return bearer(await token_for(gateway, creds))


async def _submit(gateway, auth, commitment_id, **over):
    body = {
        "commitment_ids": [commitment_id],
        "kind": "written",
        "title": ref("Evidence"),
        "summary": "Coverage is improving.",
        "body": "Most trusts now have an electronic patient record.",
        "stance": "mixed",
        "consent": "publish",
        **over,
    }
    # Evidence learns commitments from the commitments feed: wait until it knows this one.
    for _ in range(200):
        r = await gateway.post("/v1/submissions", json=body, headers=auth)
        if r.status_code != 422:
            break
        await asyncio.sleep(0.05)
    assert r.status_code == 201, r.text
    return r.json()


async def _decide(gateway, moderator, ident, *actions):
    for action in actions:
        await _post(
            gateway,
            f"/v1/submissions/{ident}/decisions",
            {"action": action, "reason": "Moderated."},
            moderator,
        )


@pytest.fixture(scope="module")
async def data(gateway, writer, make_client):
    """A commitment whose title is a formula, with a target and a reading, and evidence about it
    in every state: published named, published anonymously, published then redacted, received,
    accepted (consent withheld from publication) and withheld."""
    moderator = await _client(gateway, make_client, "evidence:moderate", org="Secretariat")
    named = await _client(gateway, make_client, "evidence:submit", org="Named Org (fictional)")
    hidden_org = f"Hidden Org {uuid.uuid4().hex[:6]} (fictional)"
    hidden = await _client(gateway, make_client, "evidence:submit", org=hidden_org)
    area = await _post(
        gateway, "/v1/policy-areas", {"slug": ref("a").lower(), "name": "Care"}, writer
    )
    source = await _post(
        gateway,
        "/v1/sources",
        {"reference": ref("s"), "title": "Plan", "publisher": "DHSC", "kind": "plan"},
        writer,
    )
    c = await _post(
        gateway,
        "/v1/commitments",
        {
            "reference": ref("C"),
            "title": "=1+1",
            "text": "@SUM(A1) of the trusts.",
            "policy_area_id": area["id"],
            "source_id": source["id"],
            "due_on": "2024-12-31",
        },
        writer,
    )
    t = await _post(
        gateway,
        f"/v1/commitments/{c['id']}/targets",
        {
            "reference": ref("T"),
            "metric": "Trusts with an EPR",
            "unit": "percent",
            "baseline_value": 80,
            "baseline_on": "2022-01-01",
            "target_value": 100,
            "due_on": "2024-12-31",
            "reason": "Set by the plan.",
        },
        writer,
    )
    reading = await _post(
        gateway,
        f"/v1/targets/{t['id']}/readings",
        {"value": 86.5, "as_of": "2023-03-31", "source": "-2 points on the plan (fictional)"},
        writer,
    )
    r = await patch(
        gateway,
        f"/v1/commitments/{c['id']}",
        {"due_on": "2025-03-31", "reason": "Delivery moved with the new plan."},
        writer,
    )
    assert r.status_code == 200, r.text

    secret = f"Dr Secret{uuid.uuid4().hex[:6]}"
    subs = {
        "named": await _submit(gateway, named, c["id"], title='=HYPERLINK("x")'),
        "anonymous": await _submit(
            gateway, hidden, c["id"], consent="publish_anonymously", title=ref("Anon")
        ),
        "redacted": await _submit(
            gateway, named, c["id"], summary=f"Interview with {secret}.", title=ref("Redacted")
        ),
        "received": await _submit(gateway, named, c["id"], title=ref("Received")),
        "private": await _submit(
            gateway, named, c["id"], consent="do_not_publish", title=ref("Private")
        ),
        "withheld": await _submit(gateway, named, c["id"], title=ref("Withheld")),
    }
    for key in ("named", "anonymous", "redacted"):
        await _decide(gateway, moderator, subs[key]["id"], "accept", "publish")
    await _decide(gateway, moderator, subs["private"]["id"], "accept")
    await _decide(gateway, moderator, subs["withheld"]["id"], "accept", "withhold")
    await _post(
        gateway,
        f"/v1/submissions/{subs['redacted']['id']}/redactions",
        {"field": "summary", "passage": secret, "reason": "Names a private person."},
        moderator,
    )
    return {
        "commitment": c,
        "target": t,
        "reading": reading,
        "subs": subs,
        "secret": secret,
        "hidden_org": hidden_org,
    }


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def test_data_page_lists_every_download_the_package_and_the_feeds(gateway):
    r = await gateway.get("/data")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    for name in datapackage.TABLES:
        assert f'href="/data/{name}.csv"' in r.text
        assert f'href="/data/{name}.json"' in r.text
    assert 'href="/data/datapackage.json"' in r.text
    assert "Open Government Licence v3.0" in r.text
    for feed in ("/feeds/evaluations.atom", "/feeds/evidence.atom"):
        assert f'<link rel="alternate" type="application/atom+xml" href="{feed}"' in r.text
        assert f'href="{feed}">' in r.text


async def test_evidence_downloads_hold_only_what_the_public_api_shows(gateway, data):
    subs = data["subs"]
    csv_text = (await gateway.get("/data/evidence.csv")).text
    json_rows = (await gateway.get("/data/evidence.json")).json()
    links = (await gateway.get("/data/evidence-commitments.csv")).text
    for text in (csv_text, str(json_rows), links):
        for key in ("received", "private", "withheld"):
            assert subs[key]["id"] not in text, key
            assert subs[key]["receipt_reference"] not in text, key
        # The anonymous submitter is named nowhere, and the redacted passage never appears.
        assert data["hidden_org"] not in text
        assert data["secret"] not in text
    rows = {r["id"]: r for r in _csv(csv_text)}
    assert {subs[k]["id"] for k in ("named", "anonymous", "redacted")} <= set(rows)
    anon = rows[subs["anonymous"]["id"]]
    assert (anon["organisation"], anon["anonymous"]) == ("", "true")
    assert rows[subs["named"]["id"]]["organisation"] == "Named Org (fictional)"
    assert rows[subs["redacted"]["id"]]["summary"] == "Interview with [redacted]."
    by_id = {r["id"]: r for r in json_rows}
    assert by_id[subs["anonymous"]["id"]]["organisation"] is None
    assert by_id[subs["anonymous"]["id"]]["anonymous"] is True
    mine = [r for r in _csv(links) if r["commitment_id"] == data["commitment"]["id"]]
    assert len(mine) == 3


async def test_csv_neutralises_text_formulas_and_json_keeps_the_text(gateway, data):
    c, reading = data["commitment"], data["reading"]
    rows = {r["id"]: r for r in _csv((await gateway.get("/data/commitments.csv")).text)}
    assert rows[c["id"]]["title"] == "'=1+1"
    assert rows[c["id"]]["text"] == "'@SUM(A1) of the trusts."
    assert rows[c["id"]]["due_on"] == "2025-03-31"
    listed = {r["id"]: r for r in (await gateway.get("/data/commitments.json")).json()}
    assert listed[c["id"]]["title"] == "=1+1"
    readings = {r["id"]: r for r in _csv((await gateway.get("/data/readings.csv")).text)}
    assert readings[reading["id"]]["source"] == "'-2 points on the plan (fictional)"
    assert readings[reading["id"]]["value"] == "86.5"
    evidence = {r["id"]: r for r in _csv((await gateway.get("/data/evidence.csv")).text)}
    assert evidence[data["subs"]["named"]["id"]]["title"] == '\'=HYPERLINK("x")'
    targets = {r["id"]: r for r in _csv((await gateway.get("/data/targets.csv")).text)}
    assert targets[data["target"]["id"]]["commitment_id"] == c["id"]
    assert targets[data["target"]["id"]]["baseline_value"] == "80.0"


def test_every_described_table_is_built():
    assert list(opendata.BUILDERS) == list(datapackage.TABLES)


def test_a_negative_reading_stays_a_number_and_text_is_neutralised():
    # Every unit refuses negative values over the API, so the writer is tested directly.
    table = datapackage.TABLES["readings"]
    row = {"id": "r", "target_id": "t", "value": -3.5, "as_of": None, "source": "=1+1"}
    assert opendata.to_csv(table, [row]).splitlines()[1] == "r,t,-3.5,,'=1+1"
    assert opendata.to_json(table, [row])[0]["value"] == -3.5


async def test_ratings_tables_are_tidy_one_row_per_dimension(gateway, evaluation):  # noqa: F811
    ev = evaluation["evaluation"]
    rows = [
        r
        for r in _csv((await gateway.get("/data/ratings.csv")).text)
        if r["evaluation_id"] == ev["id"]
    ]
    assert len(rows) == 3 * 4
    first = evaluation["commitments"][0]
    mine = {r["dimension"]: r for r in rows if r["commitment_id"] == first["id"]}
    assert [mine[d]["level"] for d in ("commitment_met", "funding_and_resource")] == [
        "good",
        "requires_improvement",
    ]
    assert mine["commitment_met"]["score"] == "3"
    assert mine["commitment_met"]["commitment_reference"] == first["reference"]
    overall = [
        r
        for r in (await gateway.get("/data/overall-ratings.json")).json()
        if r["evaluation_id"] == ev["id"]
    ]
    assert sorted(r["level"] for r in overall) == ["good", "inadequate", "requires_improvement"]
    evaluations = {r["id"]: r for r in _csv((await gateway.get("/data/evaluations.csv")).text)}
    assert evaluations[ev["id"]]["published_on"]


async def test_unknown_download_is_an_html_404(gateway):
    for path in ("/data/secrets.csv", "/data/evidence.xml"):
        r = await gateway.get(path)
        assert r.status_code == 404, path
        assert r.headers["content-type"].startswith("text/html")


async def test_a_download_is_whole_or_a_503_page(gateway_db, stack):
    app = create_app(
        gateway_settings(gateway_db),
        transports={
            "commitments": httpx.ASGITransport(app=stack.commitments_app),
            "evidence": Failing(httpx.ConnectError),
            "ratings": httpx.ASGITransport(app=stack.ratings_app),
        },
        auth=auth_settings(),
    )
    async for client in serve(app):
        r = await client.get("/data/evidence.csv")
        assert r.status_code == 503
        assert r.headers["content-type"].startswith("text/html")
        assert (await client.get("/data/commitments.csv")).status_code == 200


def _text(element: ET.Element, path: str) -> str:
    """The text of a child that must be there."""
    found = element.find(path)
    assert found is not None, path
    return found.text or ""


def _href(link: ET.Element) -> str:
    return link.get("href") or ""


def _atom(text: str) -> ET.Element:
    """Parse a feed and check Atom 1.0's required elements (RFC 4287 §4.1)."""
    root = ET.fromstring(text)
    assert root.tag == f"{A}feed"
    for name in ("id", "title", "updated"):
        assert root.find(f"{A}{name}") is not None, name
    assert _text(root, f"{A}id").startswith("urn:uuid:")
    datetime.fromisoformat(_text(root, f"{A}updated"))
    rels = {link.get("rel", "alternate"): _href(link) for link in root.findall(f"{A}link")}
    assert set(rels) == {"self", "alternate"}
    assert rels["self"].startswith("http")
    feed_author = root.find(f"{A}author/{A}name") is not None
    for entry in root.findall(f"{A}entry"):
        for name in ("id", "title", "updated"):
            assert entry.find(f"{A}{name}") is not None, name
        assert _text(entry, f"{A}id").startswith("urn:uuid:")
        datetime.fromisoformat(_text(entry, f"{A}updated"))
        assert feed_author or entry.find(f"{A}author/{A}name") is not None
        # No `rel` means alternate (RFC 4287 §4.2.7.2).
        alternate = [
            x for x in entry.findall(f"{A}link") if x.get("rel", "alternate") == "alternate"
        ]
        assert len(alternate) == 1
        # Without content, an entry with an alternate link needs a summary (§4.1.2).
        assert entry.find(f"{A}content") is not None or entry.find(f"{A}summary") is not None
    return root


def _entries(root: ET.Element) -> dict[str, ET.Element]:
    return {_text(e, f"{A}id").removeprefix("urn:uuid:"): e for e in root.findall(f"{A}entry")}


async def test_evidence_feed_is_valid_atom_with_redactions_and_anonymity(gateway, data):
    r = await gateway.get("/feeds/evidence.atom")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/atom+xml")
    entries = _entries(_atom(r.text))
    subs = data["subs"]
    for key in ("received", "private", "withheld"):
        assert subs[key]["id"] not in entries
    redacted = entries[subs["redacted"]["id"]]
    assert _text(redacted, f"{A}summary") == "Interview with [redacted]."
    assert data["secret"] not in r.text
    assert data["hidden_org"] not in r.text
    anon = entries[subs["anonymous"]["id"]]
    assert _text(anon, f"{A}author/{A}name") == "Published anonymously"
    link = next(x for x in anon.findall(f"{A}link") if x.get("rel", "alternate") == "alternate")
    assert _href(link).endswith(f"/evidence/{subs['anonymous']['id']}")


async def test_evaluations_feed_is_valid_atom(gateway, evaluation):  # noqa: F811
    r = await gateway.get("/feeds/evaluations.atom")
    assert r.status_code == 200
    entries = _entries(_atom(r.text))
    ev = evaluation["evaluation"]
    entry = entries[ev["id"]]
    assert _text(entry, f"{A}title") == ev["title"]
    assert _text(entry, f"{A}author/{A}name") == "Expert Panel"
    assert "3 commitments rated" in _text(entry, f"{A}summary")


async def test_commitment_feed_says_each_change_in_words(gateway, data):
    c = data["commitment"]
    r = await gateway.get(f"/commitments/{c['id']}/feed.atom")
    assert r.status_code == 200
    root = _atom(r.text)
    titles = [_text(e, f"{A}title") for e in root.findall(f"{A}entry")]
    # Newest first; no UUIDs or JSON paths in what a reader sees.
    assert titles[0] == "The due date changed from 31 December 2024 to 31 March 2025"
    assert titles[1].startswith("A target was added: Trusts with an EPR: 100% by 31 December 2024")
    assert titles[-1] == f"{c['reference']} was recorded"
    first = _text(root, f"{A}entry/{A}content")
    assert "Reason: Delivery moved with the new plan." in first
    for e in root.findall(f"{A}entry"):
        shown = _text(e, f"{A}title") + _text(e, f"{A}content")
        assert not UUID_TEXT.search(shown), shown
        assert "/due_on" not in shown
    assert (await gateway.get(f"/commitments/{uuid.uuid4()}/feed.atom")).status_code == 404
    assert (await gateway.get("/commitments/not-an-id/feed.atom")).status_code == 404


async def test_pages_link_their_feeds(gateway, data):
    link = '<link rel="alternate" type="application/atom+xml" href="{}"'
    assert link.format("/feeds/evaluations.atom") in (await gateway.get("/")).text
    assert link.format("/feeds/evidence.atom") in (await gateway.get("/evidence")).text
    c = data["commitment"]
    page = (await gateway.get(f"/commitments/{c['id']}")).text
    assert link.format(f"/commitments/{c['id']}/feed.atom") in page


async def test_head_answers_every_open_data_address_without_a_body(gateway, data):
    c = data["commitment"]
    for path in (
        "/data",
        "/data/datapackage.json",
        "/data/commitments.csv",
        "/feeds/evidence.atom",
        f"/commitments/{c['id']}/feed.atom",
    ):
        got = await gateway.get(path)
        r = await gateway.head(path)
        assert r.status_code == 200, path
        assert r.content == b"", path
        assert r.headers["content-type"] == got.headers["content-type"], path
