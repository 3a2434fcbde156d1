"""The public pages at the edge: HTML error pages for browsers (problem+json for everyone
else), HEAD, ETag / 304, the page cache, and the page quota apart from the API's."""

from __future__ import annotations

import uuid

import httpx

from tests.gateway.conftest import Failing, Recording
from tests.gateway.replicas import real_transports, replica
from tests.gateway.test_edge import new_ip
from tests.gateway.test_report import evaluation  # noqa: F401  (module fixture reused)

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
API = {"Accept": "application/json"}
PROBLEM = "application/problem+json"


def _client(app, ip: str | None = None) -> httpx.AsyncClient:
    """A client that appears to call from `ip` and sees the app's 500s as a browser would."""
    transport = httpx.ASGITransport(
        app=app, client=(ip or new_ip(), 40000), raise_app_exceptions=False
    )
    return httpx.AsyncClient(transport=transport, base_url="http://gateway.test")


async def test_unknown_paths_are_a_page_for_browsers_and_a_problem_for_clients(gateway):
    r = await gateway.get("/no-such-page", headers=BROWSER)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "Page not found" in r.text
    assert 'href="/accessibility"' in r.text  # the site's layout, footer and all
    assert r.headers["cache-control"] == "no-store"
    # An API client, curl's */* and no Accept at all keep the problem document.
    for headers in (API, {"Accept": PROBLEM}, {"Accept": "*/*"}, {}):
        r = await gateway.get("/no-such-page", headers=headers)
        assert r.status_code == 404
        assert r.headers["content-type"] == PROBLEM, headers
    # The API's own paths answer problems even to a browser.
    for path in ("/v1/no-such-thing", f"/v1/commitments/{uuid.uuid4()}"):
        r = await gateway.get(path, headers=BROWSER)
        assert r.status_code == 404
        assert r.headers["content-type"] == PROBLEM, path


async def test_a_method_a_page_does_not_take_is_a_405_page_naming_get_and_head(gateway):
    r = await gateway.delete("/evidence", headers=BROWSER)
    assert r.status_code == 405
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["allow"] == "GET, HEAD"
    assert "This page cannot do that" in r.text
    r = await gateway.delete("/evidence", headers=API)
    assert r.status_code == 405
    assert r.headers["content-type"] == PROBLEM


async def test_a_bad_query_is_a_page_for_a_browser(gateway):
    r = await gateway.get("/evidence", params={"q": "x" * 201}, headers=BROWSER)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("text/html")
    assert "There is a problem with this web address" in r.text


async def test_head_answers_every_page_as_its_get_without_a_body(gateway, evaluation):  # noqa: F811
    ev = evaluation["evaluation"]["id"]
    for path in ("/", f"/evaluations/{ev}", "/evidence", "/accessibility", "/privacy"):
        got = await gateway.get(path)
        head = await gateway.head(path)
        assert head.status_code == 200, path
        assert head.content == b"", path
        for name in ("content-type", "content-length", "etag", "cache-control"):
            assert head.headers[name] == got.headers[name], (path, name)
    # An error page too: same status, no body.
    head = await gateway.head("/no-such-page", headers=BROWSER)
    assert head.status_code == 404
    assert head.content == b""


async def test_published_pages_carry_an_etag_and_answer_if_none_match_with_304(gateway):
    r = await gateway.get("/evidence")
    assert r.status_code == 200
    etag = r.headers["etag"]
    assert r.headers["cache-control"] == "public, max-age=60, stale-while-revalidate=300"
    again = await gateway.get("/evidence", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    other = await gateway.get("/evidence", headers={"If-None-Match": '"not-it"'})
    assert other.status_code == 200
    assert other.headers["etag"] == etag


async def test_a_page_missing_a_part_is_not_stored_and_its_backend_is_asked_again(
    stack,
    gateway_db,
):
    ratings = Recording(Failing(httpx.ConnectError))
    async with (
        replica(stack, gateway_db, transports={"ratings": ratings}, page_cache_s=300) as app,
        _client(app) as c,
    ):
        for _ in range(2):
            r = await c.get("/", headers=BROWSER)
            assert r.status_code == 200
            assert "could not be loaded" in r.text
            assert r.headers["cache-control"] == "no-store"
            assert "etag" not in r.headers
        # Both views went to the ratings service (retries included): nothing was kept.
        assert len(ratings.requests) >= 2
        assert app.state.page_cache.hits == 0


async def test_a_page_whose_backend_is_down_is_a_503_page_with_retry_after(stack, gateway_db):
    failing: dict[str, httpx.AsyncBaseTransport] = {"evidence": Failing(httpx.ConnectError)}
    async with replica(stack, gateway_db, transports=failing) as app, _client(app) as c:
        r = await c.get(f"/evidence/{uuid.uuid4()}", headers=BROWSER)
        assert r.status_code == 503
        assert r.headers["content-type"].startswith("text/html")
        assert r.headers["retry-after"] == "5"
        assert r.headers["cache-control"] == "no-store"


class Erring(httpx.AsyncBaseTransport):
    """A service that answers every call with a 500 problem."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            500,
            json={"type": "about:blank", "title": "Internal Server Error", "status": 500},
            headers={"Content-Type": PROBLEM},
            request=request,
        )


async def test_a_fault_behind_a_page_is_a_500_page_with_a_reference(stack, gateway_db):
    erring: dict[str, httpx.AsyncBaseTransport] = {"evidence": Erring()}
    async with replica(stack, gateway_db, transports=erring) as app, _client(app) as c:
        r = await c.get(f"/evidence/{uuid.uuid4()}", headers=BROWSER)
        assert r.status_code == 500
        assert r.headers["content-type"].startswith("text/html")
        assert "Sorry, there is a problem with the service" in r.text
        assert "quote the reference" in r.text
        api = await c.get(f"/evidence/{uuid.uuid4()}", headers=API)
        assert api.status_code == 500
        assert api.headers["content-type"] == PROBLEM


async def test_over_the_page_quota_a_browser_gets_a_429_page_with_retry_after(stack, gateway_db):
    async with (
        replica(stack, gateway_db, page_rate_limit_per_minute=2) as app,
        _client(app) as c,
    ):
        codes = [(await c.get("/privacy", headers=BROWSER)).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        r = await c.get("/privacy", headers=BROWSER)
        assert r.status_code == 429
        assert r.headers["content-type"].startswith("text/html")
        assert int(r.headers["retry-after"]) >= 1
        assert "too many requests" in r.text
        assert f"try again in {r.headers['retry-after']} second" in r.text
        assert r.headers["ratelimit-policy"] == '"pages";q=2;w=60'
        r = await c.get("/privacy", headers=API)
        assert r.status_code == 429
        assert r.headers["content-type"] == PROBLEM


async def test_a_thousand_page_views_from_one_address_are_served_from_the_cache(
    stack,
    gateway_db,
    evaluation,  # noqa: F811
):
    """One office behind one address: 1,000 page views in a minute, all answered (200 or 304),
    and after the first view of each page no backend is asked again; the API's anonymous quota
    of 120 a minute still applies to /v1 from the same address."""
    recorded = {name: Recording(t) for name, t in real_transports(stack).items()}
    ev = evaluation["evaluation"]["id"]
    paths = ["/", f"/evaluations/{ev}", "/evidence", "/accessibility"]
    async with (
        replica(
            stack,
            gateway_db,
            transports=dict(recorded),
            page_cache_s=300,
            page_rate_limit_per_minute=3000,
            anonymous_rate_limit_per_minute=120,
        ) as app,
        _client(app, new_ip()) as c,
    ):
        first = {p: await c.get(p, headers=BROWSER) for p in paths}
        assert {p: r.status_code for p, r in first.items()} == dict.fromkeys(paths, 200)
        after_first = sum(len(r.requests) for r in recorded.values())
        assert after_first > 0
        codes: dict[int, int] = {}
        for n in range(1000 - len(paths)):
            path = paths[n % len(paths)]
            # Every third view revalidates, as a browser does with a page it holds.
            headers = (
                {**BROWSER, "If-None-Match": first[path].headers["etag"]} if n % 3 == 0 else BROWSER
            )
            r = await c.get(path, headers=headers)
            codes[r.status_code] = codes.get(r.status_code, 0) + 1
        assert codes == {200: 664, 304: 332}
        assert sum(len(r.requests) for r in recorded.values()) == after_first
        assert app.state.page_cache.hits == 996
        api = [(await c.get("/v1/commitments")).status_code for _ in range(121)]
        assert api.count(200) == 120
        assert api[-1] == 429
