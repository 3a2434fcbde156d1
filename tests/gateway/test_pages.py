"""The public pages, in-process: escaping of hostile text, the strict CSP, proper 404 pages,
and degradation when a backend is down. (Browser and axe checks: tests/cross.)"""

from __future__ import annotations

import uuid

import httpx

from gateway.main import create_app
from tests.conftest import serve
from tests.gateway.conftest import Failing, auth_settings, gateway_settings
from tests.gateway.test_report import evaluation  # noqa: F401  (module fixture reused)

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _ref() -> str:
    return f"P-{uuid.uuid4().hex[:10]}"


async def _hostile_commitment(gateway: httpx.AsyncClient, writer: dict[str, str]) -> dict:
    area = await gateway.post(
        "/v1/policy-areas", json={"slug": _ref().lower(), "name": HOSTILE}, headers=writer
    )
    source = await gateway.post(
        "/v1/sources",
        json={"reference": _ref(), "title": "Plan", "publisher": "DHSC", "kind": "plan"},
        headers=writer,
    )
    r = await gateway.post(
        "/v1/commitments",
        json={
            "reference": _ref(),
            "title": HOSTILE,
            "text": f"We will {HOSTILE}.",
            "policy_area_id": area.json()["id"],
            "source_id": source.json()["id"],
        },
        headers=writer,
    )
    assert r.status_code == 201, r.text
    return r.json()


async def test_hostile_text_is_escaped_and_csp_is_strict(gateway, writer):
    c = await _hostile_commitment(gateway, writer)
    r = await gateway.get(f"/commitments/{c['id']}")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    # The markup arrives as text: no tag of it survives, only its escaped form.
    assert "<script>alert" not in r.text
    assert "<img src=x" not in r.text
    assert "&lt;script&gt;alert(" in r.text
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "style-src 'self'" in csp
    assert "'unsafe-inline'" not in csp
    assert "object-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"


async def test_unknown_ids_get_an_html_404_page(gateway):
    for path in (
        f"/evaluations/{uuid.uuid4()}",
        "/evaluations/not-an-id",
        f"/commitments/{uuid.uuid4()}",
        f"/evidence/{uuid.uuid4()}",
    ):
        r = await gateway.get(path)
        assert r.status_code == 404, path
        assert r.headers["content-type"].startswith("text/html")
        assert "Page not found" in r.text


async def test_evaluation_page_degrades_without_commitments(gateway_db, stack, evaluation):  # noqa: F811
    ev = evaluation["evaluation"]
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
        r = await client.get(f"/evaluations/{ev['id']}")
        assert r.status_code == 200
        assert "Part of this page could not be loaded" in r.text
        # What is missing, in words: never a service's name.
        assert "Unavailable right now: the commitments&#39; titles, policy areas" in r.text
        assert "service)" not in r.text
        assert "commitments service" not in r.text
        # The ratings are still there, one row per commitment.
        assert r.text.count("data-reference=") == 3
        # The panel, and the plain sentence on agreement: no individual scores were kept here.
        assert "The panel" in r.text
        assert "A. Chair (fictional)</strong>, chair; no interests declared" in r.text
        assert "How far the panel agreed" in r.text
        assert "Individual scores were not recorded for this evaluation" in r.text
        home = await client.get("/")
        assert home.status_code == 200
        assert ev["title"] in home.text
        evidence = await client.get("/evidence")
        assert evidence.status_code == 200
        assert "The published evidence could not be loaded just now" in evidence.text
        assert "No published evidence matches" not in evidence.text
        assert "0 results" not in evidence.text


async def test_evaluation_page_is_503_page_without_ratings(gateway_db, evaluation):  # noqa: F811
    app = create_app(
        gateway_settings(gateway_db),
        transports={n: Failing(httpx.ConnectError) for n in ("commitments", "evidence", "ratings")},
        auth=auth_settings(),
    )
    async for client in serve(app):
        r = await client.get(f"/evaluations/{evaluation['evaluation']['id']}")
        assert r.status_code == 503
        assert "unavailable" in r.text.lower()


async def test_pages_show_the_position_and_self_assessment_beside_the_rating(
    gateway,
    evaluation,  # noqa: F811
):
    ev, cs = evaluation["evaluation"], evaluation["commitments"]
    html = (await gateway.get(f"/evaluations/{ev['id']}")).text
    row = html.split(f'data-reference="{cs[0]["reference"]}"')[1].split("</tr>")[0]
    assert 'data-position="already_in_hand"' in row
    assert "Records are joined up in most systems." in row
    assert 'data-self-assessment="amber_green"' in row
    assert "data-overdue" in row
    other = html.split(f'data-reference="{cs[2]["reference"]}"')[1].split("</tr>")[0]
    assert 'data-position=""' in other
    assert "data-overdue" not in other
    assert "data-rollup-basis" in html
    assert "data-response-deadline" in html

    card = (await gateway.get(f"/commitments/{cs[0]['id']}")).text
    assert 'data-self-assessment="amber_green"' in card
    assert 'data-position="already_in_hand"' in card
    assert "data-overdue" in card
