"""The public pages in a real browser against the running suite: the 2023 table, links, keyboard
use, and axe-core (WCAG 2.2 AA) on every page, with screenshots saved as test artefacts.

Needs Debian's Chromium (`apt-get install chromium`) and the `playwright` package; never a
downloaded browser. Skipped, saying so, where Chromium is absent; CI installs it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.cross.test_suite_processes import EXPECTED_2023

CHROMIUM = os.environ.get("SCRUTINY_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"

pytestmark = [
    pytest.mark.processes,
    # The markup and the browser's reading of it do not depend on the database backend (the
    # pages' reads are covered on both by tests/gateway/test_pages.py): CI runs it on SQLite only.
    pytest.mark.backend_independent,
    pytest.mark.skipif(
        not (shutil.which(CHROMIUM) or Path(CHROMIUM).exists()),
        reason=f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium)",
    ),
]
playwright = pytest.importorskip("playwright.async_api", reason="needs the playwright package")
axe_module = pytest.importorskip("axe_playwright_python.async_playwright")

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


@pytest.fixture(scope="module")
def running(running_suite) -> tuple[str, str]:
    """The shared running suite: (gateway URL, the 2023 evaluation's id)."""
    return running_suite.gateway, running_suite.evaluation_id


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[object]:
    async with playwright.async_playwright() as p:
        b = await p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield b
        await b.close()


async def _visit(browser, url: str, name: str, status: int = 200):
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    resp = await page.goto(url)
    assert resp is not None, f"{url} gave no response"
    assert resp.status == status, f"{url} answered {resp.status}"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    results = await axe_module.Axe().run(
        page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}}
    )
    violations = results.response["violations"]
    assert violations == [], results.generate_report()
    if status != 200:
        # Chromium logs the page's own error status as a failed load; that one is expected.
        errors = [e for e in errors if f"status of {status}" not in e]
    assert errors == [], f"browser errors on {url}: {errors}"
    assert await page.title()
    assert await page.locator("main#main-content").count() == 1
    assert await page.locator("h1").count() == 1
    return page


async def test_home_lists_the_2023_evaluation(running, browser):
    base, evaluation_id = running
    page = await _visit(browser, f"{base}/", "home")
    link = page.locator(f'a[href="/evaluations/{evaluation_id}"]')
    assert await link.count() == 1
    await link.click()
    await page.wait_for_url(f"{base}/evaluations/{evaluation_id}")


async def test_evaluation_page_shows_the_2023_table(running, browser):
    base, evaluation_id = running
    page = await _visit(browser, f"{base}/evaluations/{evaluation_id}", "evaluation")
    dims = ["commitment_met", "funding_and_resource", "impact", "appropriateness", "overall"]
    for area, reference, *levels in EXPECTED_2023:
        row = page.locator(f'tr[data-reference="{reference}"]')
        assert await row.count() == 1, reference
        for dim, level in zip(dims, levels, strict=True):
            cell = row.locator(f'td[data-dimension="{dim}"] .govuk-tag').first
            label = level.replace("_", " ").capitalize()
            assert (await cell.inner_text()).strip() == label, (reference, dim)
        # The area heading precedes the row's table.
        assert await page.get_by_role("heading", name=area).count() == 1
    overall = page.locator("dd .govuk-tag").first
    assert (await overall.inner_text()).strip() == "Inadequate"
    # The explanation is there on demand, without JavaScript-only widgets.
    details = page.locator('tr[data-reference="PDHSC-1a"] td[data-dimension="overall"] details')
    await details.locator("summary").click()
    explained = (await details.inner_text()).lower()
    assert "the lowest whole level at or below" in explained
    assert "floor" not in explained
    csv_link = page.get_by_role("link", name="Ratings table (CSV)")
    async with httpx.AsyncClient() as client:
        resp = await client.get(base + await csv_link.get_attribute("href"))
    assert resp.status_code == 200
    assert resp.text.startswith("policy_area,commitment_reference")


async def test_keyboard_skip_link_reaches_main(running, browser):
    base, evaluation_id = running
    page = await browser.new_page()
    await page.goto(f"{base}/evaluations/{evaluation_id}")
    await page.keyboard.press("Tab")
    focused = await page.evaluate("document.activeElement.textContent")
    assert "Skip to main content" in focused
    await page.keyboard.press("Enter")
    assert await page.evaluate("location.hash") == "#main-content"


async def test_scorecard_page_for_the_nhs_app(running, browser):
    base, evaluation_id = running
    page = await browser.new_page()
    await page.goto(f"{base}/evaluations/{evaluation_id}")
    await page.locator('tr[data-reference="PDHSC-1a"] th a').click()
    await page.wait_for_load_state()
    url = page.url
    card = await _visit(browser, url, "scorecard-nhs-app")
    assert "NHS App" in await card.locator("h1").inner_text()
    assert await card.locator("text=Ratings").count() >= 1
    assert await card.locator(f'a[href="/evaluations/{evaluation_id}"]').count() >= 1


async def test_evidence_pages_and_not_found(running, browser):
    base, _ = running
    await _visit(browser, f"{base}/evidence", "evidence")
    await _visit(
        browser, f"{base}/evaluations/00000000-0000-7000-8000-000000000000", "not-found", 404
    )
    await _visit(browser, f"{base}/commitments/not-an-id", "not-found-commitment", 404)
