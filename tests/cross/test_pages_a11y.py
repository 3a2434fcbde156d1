"""Every public page in a real browser at 320, 375 and 1280 px wide: axe-core (WCAG 2.2 AA) with
no violations and nothing left "needs review", no sideways scroll, a screenshot, and a
keyboard-only walk (the skip link first, every link and control reached in order, focus always
visible). Plus the print stylesheet.

One browser and one running suite for every case. `PAGES` is the list to extend: a name, how
to find the page's path in the running suite (a fixed path, or a link found on another page)
and the status it answers. The 429 and 500 pages cannot be provoked on the shared suite (its
limits are set out of the way, its services stay up): they are the gateway's own renderer
(`gateway.pages.errors.error_page`) served at the suite's address, so the site's stylesheets
load as they would; the edge answering them is tested in tests/gateway/test_page_edge.py.

Screenshots go to test-artifacts/a11y/ at the repository's root (not committed; the path is
printed). Needs Debian's Chromium and the playwright package, as tests/cross/test_pages_browser.py.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.requests import Request

from gateway.config import Settings as GatewaySettings
from gateway.pages.errors import error_page
from tests.cross.test_pages_browser import AXE_TAGS, CHROMIUM, axe_module, playwright
from tests.cross.test_pages_browser import pytestmark as browser_marks

pytestmark = browser_marks

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "a11y"
WIDTHS = (320, 375, 1280)
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@dataclass(frozen=True)
class Case:
    """A page to check: its name, where it is, and the status it answers."""

    name: str
    # A path ("{call}" is the open call's id); "link:<page path>:<href prefix>" (the first such
    # link on that page); "rendered:<status>"; or "flow:<name>", the evidence form sent empty
    # ("errors") or answered in full ("confirmation") to reach the page it answers with.
    path: str
    status: int = 200


PAGES = [
    Case("home", "/"),
    Case("evaluation", "link:/:/evaluations/"),
    Case("scorecard", "link:evaluation:/commitments/"),
    Case("evidence-list", "/evidence"),
    Case("submission", "link:/evidence:/evidence/"),
    Case("accessibility-statement", "/accessibility"),
    Case("privacy-notice", "/privacy"),
    Case("give-evidence", "/give-evidence"),
    Case("evidence-call-start", "/give-evidence/{call}"),
    Case("evidence-form", "/give-evidence/{call}/form"),
    Case("evidence-form-errors", "flow:errors", 422),
    Case("evidence-confirmation", "flow:confirmation"),
    Case("not-found", "/no-such-page", 404),
    Case("too-many-requests", "rendered:429", 429),
    Case("server-error", "rendered:500", 500),
]

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

# The elements a keyboard reaches, visible ones only (a collapsed menu's links are not).
FOCUSABLE_JS = """() => {
  const selector = 'a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]),'
    + ' select:not([disabled]), textarea:not([disabled]), summary, [tabindex]:not([tabindex="-1"])';
  const visible = (el) => {
    const style = getComputedStyle(el);
    return el.getClientRects().length > 0 && style.visibility !== 'hidden';
  };
  // A radio group is one Tab stop: its checked radio, else its first (arrow keys move within).
  const tabStop = (el) => {
    if (el.type !== 'radio' || !el.name) return true;
    const group = [...document.getElementsByName(el.name)].filter((r) => r.form === el.form);
    return el === (group.find((r) => r.checked) || group[0]);
  };
  const found = [...document.querySelectorAll(selector)].filter(visible).filter(tabStop);
  found.forEach((el, i) => el.setAttribute('data-walk', String(i)));
  return found.length;
}"""

# Which element has focus, and whether its focus is drawn (GOV.UK's focus states are a yellow
# background with a black bar, or a box shadow; an outline counts when it is not transparent).
ACTIVE_JS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0
    && style.outlineColor !== 'rgba(0, 0, 0, 0)';
  const shadow = style.boxShadow && style.boxShadow !== 'none';
  const yellow = style.backgroundColor === 'rgb(255, 221, 0)';
  return {walk: el.getAttribute('data-walk'), text: (el.textContent || '').trim().slice(0, 60),
          visible: Boolean(outline || shadow || yellow)};
}"""


# Where the walk starts: 0 (the top), or, when the page has moved focus to its error summary,
# the summary's first link (whose focus the summary itself must show).
FOCUS_START_JS = """() => {
  const el = document.activeElement;
  if (!el || !el.matches('.govuk-error-summary')) return 0;
  return Number(el.querySelector('[data-walk]').getAttribute('data-walk'));
}"""


@pytest.fixture(scope="module")
def base(running_suite) -> str:
    """The running suite's gateway."""
    return str(running_suite.gateway)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    async with playwright.async_playwright() as p:
        b = await p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield b
        await b.close()


def _rendered(status: int) -> str:
    """The gateway's error page for `status`, as its edge would send it."""
    settings = GatewaySettings()
    app = type("App", (), {"state": type("State", (), {"settings": settings})()})()
    scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "app": app}
    headers = {"Retry-After": "30"} if status == 429 else {}
    return bytes(error_page(Request(scope), status, headers=headers).body).decode()


@pytest.fixture(scope="module")
def paths(base: str, open_call: dict[str, Any]) -> dict[str, str]:
    """Each case's path in the running suite (links found on the pages they come from)."""
    found: dict[str, str] = {"form": f"/give-evidence/{open_call['id']}/form"}
    with httpx.Client(base_url=base, headers={"Accept": BROWSER_ACCEPT}, timeout=30) as client:
        for case in PAGES:
            if not case.path.startswith("link:"):
                found[case.name] = case.path.format(call=open_call["id"])
                continue
            _, source, prefix = case.path.split(":", 2)
            html = client.get(found.get(source, source)).text
            match = re.search(rf'href="({re.escape(prefix)}{UUID})"', html)
            assert match, f"no link to {prefix}… on {source}"
            found[case.name] = match.group(1)
    return found


async def _send_form(page: Any, url: str, flow: str, status: int) -> Any:
    """The evidence form, sent empty or answered in full; the page it answers with."""
    resp = await page.goto(url)
    assert resp is not None
    assert resp.status == 200, f"{url} answered {resp.status}"
    if flow == "confirmation":
        await page.fill("#name", "Sam Example (fictional)")
        await page.fill("#organisation", "Ashby Patients' Forum (fictional)")
        await page.check("#commitments")
        await page.fill("#title", "Booking a GP appointment online")
        await page.fill("#summary", "Most of our members can book online now.")
        await page.fill("#body", "Our members told us the app works for booking.")
        await page.check("input[name=stance] >> nth=0")
        await page.check("input[name=consent] >> nth=0")
    async with page.expect_navigation() as sent:
        await page.get_by_role("button", name="Send evidence").click()
    answer = await sent.value
    assert answer is not None
    assert answer.status == status, f"{flow}: {answer.status}"
    return page


async def _open(
    browser: Any, base: str, path: str, case: Case, width: int, form_path: str = ""
) -> Any:
    context = await browser.new_context(
        viewport={"width": width, "height": 900}, extra_http_headers={"Accept": BROWSER_ACCEPT}
    )
    page = await context.new_page()
    if path.startswith("flow:"):
        return await _send_form(page, base + form_path, path.removeprefix("flow:"), case.status)
    url = base + (path if not path.startswith("rendered:") else f"/error-page-{case.status}")
    if path.startswith("rendered:"):
        html = _rendered(case.status)

        async def fulfil(route: Any) -> None:
            await route.fulfill(status=case.status, content_type="text/html", body=html)

        await page.route(url, fulfil)
    resp = await page.goto(url)
    assert resp is not None, f"{url} gave no answer"
    assert resp.status == case.status, f"{url} answered {resp.status}"
    return page


async def _walk(page: Any) -> None:
    """Tab from the top: the skip link first, then every focusable element in order, each with
    its focus drawn. A page that moves focus on load (GOV.UK's error summary does, with
    JavaScript) is walked from there: the summary's links, the rest, then round from the top."""
    total = await page.evaluate(FOCUSABLE_JS)
    assert total > 0
    start = await page.evaluate(FOCUS_START_JS)
    expected = list(range(start, total)) + list(range(start))
    reached: list[int] = []
    wrapped = start == 0
    for _ in range(total + 4):
        await page.keyboard.press("Tab")
        active = await page.evaluate(ACTIVE_JS)
        if active is None or active["walk"] is None:
            if wrapped:
                break
            wrapped = True  # past the last element: the next Tab starts again at the top
            continue
        if reached and int(active["walk"]) == reached[0]:
            break
        assert active["visible"], f"no visible focus on {active['text']!r}"
        reached.append(int(active["walk"]))
    first = await page.locator('[data-walk="0"]').inner_text()
    assert "Skip to main content" in first
    assert reached == expected, f"Tab reached {reached} of {total}, expected {expected}"


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize(
    "case",
    [pytest.param(c, id=c.name) for c in PAGES],
)
async def test_page_is_accessible_at_every_width(browser, base, paths, case, width):
    page = await _open(browser, base, paths[case.name], case, width, paths["form"])
    try:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / f"{case.name}-{width}.png"
        await page.screenshot(path=str(shot), full_page=True)
        print(f"screenshot: {shot}")
        results = await axe_module.Axe().run(
            page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}}
        )
        assert results.response["violations"] == [], results.generate_report()
        incomplete = [
            (i["id"], [(n["target"], [a["message"] for a in n["any"]]) for n in i["nodes"]])
            for i in results.response["incomplete"]
        ]
        assert incomplete == [], f"axe needs review: {incomplete}"
        scroll = await page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width, f"{case.name} is {scroll} px wide at {width}"
        assert await page.locator("main#main-content").count() == 1
        assert await page.locator("h1").count() == 1
        await _walk(page)
    finally:
        await page.context.close()


# Each link's printed `::after` content, split by where it sits: inside a table (where
# print.css drops the address) or in the text (where GOV.UK's print style adds it). Links in a
# summary list are left out: print.css drops their addresses too, for the same reason as tables.
PRINTED_LINKS_JS = """() => {
  const links = [...document.querySelectorAll('main a.govuk-link[href^="/"]')];
  const after = (a) => getComputedStyle(a, '::after').content;
  return {
    inTables: links.filter((a) => a.closest('table')).map(after),
    inText: links.filter((a) => !a.closest('table, .govuk-summary-list'))
      .map((a) => [a.getAttribute('href'), after(a)]),
  };
}"""


async def test_print_hides_the_chrome_and_link_addresses_in_tables(browser, base, paths):
    page = await _open(browser, base, paths["evaluation"], PAGES[1], 1280)
    try:
        # On screen no link carries an address: what the print rules add below is theirs.
        assert {c for _, c in (await page.evaluate(PRINTED_LINKS_JS))["inText"]} == {"none"}
        await page.emulate_media(media="print")
        for selector in (".govuk-header", ".govuk-service-navigation", ".govuk-footer"):
            assert await page.locator(selector).first.is_hidden(), selector
        printed = await page.evaluate(PRINTED_LINKS_JS)
        assert printed["inTables"], "the evaluation page has no link in a table"
        assert set(printed["inTables"]) == {"none"}, printed["inTables"]
        assert printed["inText"], "the evaluation page has no link outside tables"
        # GOV.UK's printed address, `" (" attr(href) ")"`, kept on every link in the text.
        assert all(c == f'" ({href})"' for href, c in printed["inText"]), printed["inText"]
    finally:
        await page.context.close()
