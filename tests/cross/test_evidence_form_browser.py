"""The written-evidence form in a real browser, keyboard only (Tab, Space, Enter; no mouse), with
JavaScript on and off: from the call's start page, answered in full with a file attached, to the
confirmation, whose receipt the API then shows as a stored submission like any API one (status
`received`, the file attached). Needs Debian's Chromium, as tests/cross/test_pages_browser.py.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.cross.test_pages_a11y import browser  # noqa: F401  (module fixture reused)
from tests.cross.test_pages_browser import CHROMIUM  # noqa: F401  (the skip reason's source)
from tests.cross.test_pages_browser import pytestmark as browser_marks
from tests.evidence.helpers import pdf

pytestmark = browser_marks

# Enough presses to cross the longest page once; a field not reached in them is a failure.
MAX_TABS = 80


async def tab_to(page: Any, selector: str) -> None:
    """Press Tab until the element `selector` names has focus."""
    for _ in range(MAX_TABS):
        await page.keyboard.press("Tab")
        if await page.evaluate("s => document.activeElement?.matches(s) ?? false", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


async def type_into(page: Any, selector: str, text: str) -> None:
    """Tab to a field and type into it."""
    await tab_to(page, selector)
    await page.keyboard.type(text)


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
async def test_evidence_is_given_by_keyboard_alone(
    browser,  # noqa: F811
    running_suite,
    open_call,
    javascript,
):
    base = running_suite.gateway
    context = await browser.new_context(
        viewport={"width": 1280, "height": 900}, java_script_enabled=javascript
    )
    page = await context.new_page()
    title = f"Booking online works for our members ({'with' if javascript else 'without'} JS)"
    try:
        await page.goto(f"{base}/give-evidence/{open_call['id']}")
        await tab_to(page, "a.govuk-button--start")
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        assert page.url == f"{base}/give-evidence/{open_call['id']}/form"
        enhanced = await page.evaluate("document.body.classList.contains('js-enabled')")
        assert enhanced is javascript

        await type_into(page, "#name", "Sam Example (fictional)")
        await type_into(page, "#organisation", "Ashby Patients' Forum (fictional)")
        await tab_to(page, "#commitments")
        await page.keyboard.press("Space")
        await type_into(page, "#title", title)
        await type_into(page, "#summary", "Most of our members can book online now.")
        await type_into(page, "#body", "Our members told us the app works for booking.")
        await tab_to(page, "input[name=stance]")
        await page.keyboard.press("Space")
        await tab_to(page, "#file")
        async with page.expect_file_chooser() as chooser:
            await page.keyboard.press("Space")
        await (await chooser.value).set_files(
            {"name": "survey.pdf", "mimeType": "application/pdf", "buffer": pdf("keyboard")}
        )
        await tab_to(page, "input[name=consent]")
        await page.keyboard.press("Space")
        await tab_to(page, "button.govuk-button")
        async with page.expect_navigation() as sent:
            await page.keyboard.press("Enter")
        answer = await sent.value
        assert answer is not None
        assert answer.status == 200
        assert re.fullmatch(rf"{re.escape(base)}/give-evidence/[^/]+/confirmation/.+", page.url)
        receipt = (await page.locator("#receipt-reference").inner_text()).strip()
        assert re.fullmatch(r"SUB-[0-9A-Z]{8}", receipt), receipt
    finally:
        await context.close()

    auth = {"Authorization": f"Bearer {running_suite.token('secretariat')}"}
    async with httpx.AsyncClient(base_url=base, headers=auth, timeout=30) as client:
        params = {"call_id": open_call["id"], "page_size": 50}
        r = await client.get("/v1/submissions", params=params)
    assert r.status_code == 200, r.text
    [item] = [i for i in r.json()["items"] if i["receipt_reference"] == receipt]
    assert item["title"] == title
    assert item["status"] == "received"
    assert item["kind"] == "written"
    assert item["commitment_ids"] == [open_call["commitment_ids"][0]]
    assert item["submitter"]["client_id"] == "evidence-form"
    [attachment] = item["attachments"]
    assert attachment["filename"] == "survey.pdf"
    assert attachment["media_type"] == "application/pdf"
