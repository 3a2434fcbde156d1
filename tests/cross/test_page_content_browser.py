"""The content pages in a real browser at 320, 375 and 1280 px against the running suite: axe
(WCAG 2.2 AA) with no violations and nothing left for review, each chart announced by its own
target's figures with labels legible and inside the page, the commitments index filtered without
JavaScript, and a screenshot of every page at every width in test-artifacts/screenshots/.

`PAGES` is a plain list of (name, path) so it can be merged with the other page suites' lists.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests.cross.test_pages_browser import (  # noqa: F401  (module fixtures reused)
    AXE_TAGS,
    axe_module,
    browser,
    running,
)

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
WIDTHS = (320, 375, 1280)

# Path templates, filled from the running suite's demo data by `paths`.
PAGES = [
    ("home", "/"),
    ("evaluation", "/evaluations/{evaluation}"),
    ("scorecard-nhs-app", "/commitments/{nhs_app}"),
    ("commitments", "/commitments"),
    ("commitments-by-source", "/commitments?source={source}"),
    ("commitments-search", "/commitments?q=records"),
    ("commitments-bad-token", "/commitments?page_token=not-a-token"),
    ("evidence", "/evidence"),
    ("submission", "/evidence/{submission}"),
]

# Wide tables (evaluation, scorecard, home) overflow a narrow screen until the responsive-table
# work (another branch) lands; axe then cannot see the background behind some of their cells.
# Findings inside a table are held to zero only when this is False: flip it after that merge.
TABLES_PENDING_RESPONSIVE_LAYOUT = False

pytestmark = [pytest.mark.processes]


@pytest.fixture(scope="module")
async def paths(running) -> dict[str, str]:  # noqa: F811
    """The demo's ids the page paths need."""
    base, evaluation_id = running
    async with httpx.AsyncClient(base_url=base) as client:
        [nhs_app] = (await client.get("/v1/commitments", params={"reference": "PDHSC-1a"})).json()[
            "items"
        ]
        published = (
            await client.get("/v1/submissions", params={"status": "published", "page_size": 1})
        ).json()["items"]
    ids = {
        "evaluation": evaluation_id,
        "nhs_app": nhs_app["id"],
        "source": nhs_app["source_id"],
        "submission": published[0]["id"],
    }
    return {name: template.format(**ids) for name, template in PAGES}


async def _in_table(page, nodes: list[dict]) -> list[str]:
    """The axe nodes (as selectors) that sit inside a table."""
    found = []
    for node in nodes:
        selector = node["target"][-1] if isinstance(node["target"][-1], str) else None
        if selector and await page.evaluate(
            "s => !!document.querySelector(s)?.closest('table')", selector
        ):
            found.append(selector)
    return found


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", [n for n, _ in PAGES])
async def test_page_passes_axe_with_nothing_to_review(running, browser, paths, name, width):  # noqa: F811
    base, _ = running
    page = await browser.new_page(viewport={"width": width, "height": 900})
    try:
        resp = await page.goto(base + paths[name])
        assert resp is not None
        assert resp.status == 200, (name, resp.status)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / f"content-{name}-{width}.png"), full_page=True)
        results = await axe_module.Axe().run(
            page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}}
        )
        assert results.response["violations"] == [], results.generate_report()
        nodes = [n for rule in results.response["incomplete"] for n in rule["nodes"]]
        in_tables = await _in_table(page, nodes)
        outside = [n["target"] for n in nodes if n["target"][-1] not in in_tables]
        assert outside == [], (name, width, outside)
        if in_tables and TABLES_PENDING_RESPONSIVE_LAYOUT:
            pytest.xfail(f"{len(in_tables)} table cells for review until tables fit {width} px")
        assert in_tables == [], (name, width, in_tables)
    finally:
        await page.close()


@pytest.mark.parametrize("width", WIDTHS)
async def test_each_chart_is_announced_by_its_own_target_and_legible(
    running,  # noqa: F811
    browser,  # noqa: F811
    paths,
    width,
):
    base, _ = running
    page = await browser.new_page(viewport={"width": width, "height": 900})
    try:
        await page.goto(base + paths["scorecard-nhs-app"])
        sections = page.locator("section.scrutiny-target")
        assert await sections.count() == 3
        names = []
        for i in range(await sections.count()):
            section = sections.nth(i)
            metric = (await section.locator("h3").inner_text()).strip()
            promise = re.search(r"Target: (.+? by \d+ \w+ \d{4})", await section.inner_text())
            assert promise is not None
            img = section.get_by_role("img")
            assert await img.count() == 1
            # The name a screen reader hears (computed by the browser from aria-labelledby).
            name = await img.evaluate(
                "svg => svg.getAttribute('aria-labelledby').split(' ')"
                ".map(id => document.getElementById(id).textContent).join(' ')"
            )
            assert metric in name
            assert promise[1] in name, (promise[1], name)
            names.append(name)
            await page.get_by_role("img", name=name).wait_for()
            # Labels at the page's text size, inside the chart's box and the screen.
            labels = await section.evaluate(
                """s => {
                  const box = s.querySelector('.scrutiny-chart-box').getBoundingClientRect();
                  return [...s.querySelectorAll('.scrutiny-chart-box span')].map(e => {
                    const r = e.getBoundingClientRect();
                    return [e.textContent, parseFloat(getComputedStyle(e).fontSize),
                            r.left >= box.left - 0.5 && r.right <= box.right + 0.5,
                            r.right <= window.innerWidth];
                  });
                }"""
            )
            assert labels
            for text, size, inside, on_screen in labels:
                assert size >= 12, (text, size)
                assert inside, text
                assert on_screen, text
            assert (
                "Trajectory to target" in [t for t, *_ in labels]
                or not await section.locator("[data-trajectory]").count()
            )
        assert len(set(names)) == 3
    finally:
        await page.close()


async def test_commitments_index_filters_without_javascript(running, browser, paths):  # noqa: F811
    base, _ = running
    context = await browser.new_context(
        java_script_enabled=False, viewport={"width": 375, "height": 800}
    )
    page = await context.new_page()
    try:
        await page.goto(base + "/")
        await page.get_by_role("link", name="Browse and search every commitment").click()
        await page.wait_for_url(f"{base}/commitments")
        await page.get_by_label("Search the wording").fill("NHS App")
        await page.get_by_label("Search the wording").press("Enter")
        await page.wait_for_url(re.compile(r".*/commitments\?.*q=NHS\+App.*"))
        links = page.locator("ul[data-commitments] h3 a")
        assert await links.count() >= 1
        assert "NHS App" in await links.first.inner_text()
        await links.first.click()
        await page.wait_for_load_state()
        assert "NHS App" in await page.locator("h1").inner_text()
        # Back to every commitment from its source, and the bad token's way out.
        await page.goto(base + paths["commitments-bad-token"])
        await page.get_by_role("link", name="Go to the first page of results").click()
        await page.wait_for_url(f"{base}/commitments")
        assert await page.locator("ul[data-commitments] li").count() == 20
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375
        # Every commitment is reachable, page after page, each linked to its scorecard.
        seen: list[str] = []
        while True:
            seen += [
                str(await a.get_attribute("href"))
                for a in await page.locator("ul[data-commitments] h3 a").all()
            ]
            following = page.get_by_role("link", name="Next page")
            if not await following.count():
                break
            await following.click()
            await page.wait_for_load_state()
        async with httpx.AsyncClient(base_url=base) as client:
            listed = await client.get("/v1/commitments", params={"page_size": 200})
        every = {f"/commitments/{c['id']}" for c in listed.json()["items"]}
        assert len(every) >= 16
        assert sorted(seen) == sorted(every)
    finally:
        await context.close()
