"""The written-evidence form over HTTP, the gateway wired to the real services: what it stores
(through the evidence service, as an API submission), everything it refuses (and that it then
stores nothing), double submits, and its bounds per address and per call."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from evidence.models import KnownCommitment
from gateway.pages.form_tokens import COOKIE, FormSigner
from tests.evidence.helpers import PE, at, call_body, pdf
from tests.gateway.conftest import bearer, token_for

NAME = "Jo Bloggs (fictional)"
ORG = "Ashby Patients' Forum (fictional)"


def ref(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def eventually(check: Any, within: float = 10.0) -> Any:
    deadline = time.monotonic() + within
    while not (result := await check()):
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)
    return result


@pytest.fixture(scope="module")
async def moderator(make_client, gateway) -> dict[str, str]:
    _, creds = await make_client("evidence:moderate", org="Panel secretariat (fictional)")
    return bearer(await token_for(gateway, creds))


@pytest.fixture(scope="module")
async def commitments(stack, gateway, writer) -> list[dict[str, Any]]:
    """Two commitments the evidence service knows (its read model has them)."""
    area = await gateway.post(
        "/v1/policy-areas", json={"slug": ref("a").lower(), "name": "Care"}, headers=writer
    )
    source = await gateway.post(
        "/v1/sources",
        json={"reference": ref("S"), "title": "Plan", "publisher": "DHSC", "kind": "plan"},
        headers=writer,
    )
    made = []
    for title in ("Shared care records everywhere", "Digital workforce"):
        r = await gateway.post(
            "/v1/commitments",
            json={
                "reference": ref("C"),
                "title": title,
                "text": "We will.",
                "policy_area_id": area.json()["id"],
                "source_id": source.json()["id"],
            },
            headers=writer,
        )
        assert r.status_code == 201, r.text
        made.append(r.json())

    async def known() -> bool:
        async with stack.evidence_app.state.sessionmaker() as s:
            found = [await s.get(KnownCommitment, uuid.UUID(c["id"])) for c in made]
            return all(found)

    await eventually(known)
    return made


async def new_call(gateway, moderator, commitments, **over: Any) -> dict[str, Any]:
    r = await gateway.post(
        "/v1/calls-for-evidence",
        json=call_body([c["id"] for c in commitments], **over),
        headers=moderator,
    )
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
async def call(gateway, moderator, commitments) -> dict[str, Any]:
    """A fresh open call (so each test counts only its own submissions)."""
    return await new_call(gateway, moderator, commitments)


@pytest.fixture
async def browser(stack) -> AsyncIterator[httpx.AsyncClient]:
    """A client with its own cookie jar, as one person's browser."""
    async with visitor(stack, "198.51.100.10") as client:
        yield client


def visitor(stack, address: str) -> httpx.AsyncClient:
    """A browser at `address` (the bound per address is keyed on it)."""
    transport = httpx.ASGITransport(app=stack.gateway_app, client=(address, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def open_form(client: httpx.AsyncClient, call: dict[str, Any]) -> str:
    """Load the form; its CSRF token."""
    r = await client.get(f"/give-evidence/{call['id']}/form")
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    found = re.search(r'name="csrf_token" value="([^"]+)"', r.text)
    assert found is not None
    return found.group(1)


def answers(call: dict[str, Any], **over: Any) -> dict[str, Any]:
    return {
        "name": NAME,
        "organisation": ORG,
        "commitments": [str(c) for c in call["commitment_ids"]][:1],
        "title": "Waiting for results at our surgery",
        "summary": "Results still arrive by post.",
        "body": "Patients at our surgery still wait two weeks for test results by post.",
        "stance": "challenges",
        "consent": "publish",
        **over,
    }


async def send(
    client: httpx.AsyncClient,
    call: dict[str, Any],
    token: str | None,
    data: dict[str, Any],
    file: tuple[str, bytes, str] | None = None,
) -> httpx.Response:
    body = {**data, **({"csrf_token": token} if token is not None else {})}
    files = {"file": file} if file is not None else None
    return await client.post(f"/give-evidence/{call['id']}/form", data=body, files=files)


async def stored(gateway, moderator, call: dict[str, Any]) -> list[dict[str, Any]]:
    r = await gateway.get("/v1/submissions", params={"call_id": call["id"]}, headers=moderator)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def receipt_of(page: str) -> str:
    found = re.search(r'id="receipt-reference">(SUB-[0-9A-Z]{8})<', page)
    assert found is not None, page
    return found.group(1)


def summary_links(page: str) -> list[str]:
    """The fields the error summary links to, in order."""
    head = page.split('govuk-error-summary__list">', 1)[1].split("</ul>", 1)[0]
    return re.findall(r'href="#([a-z]+)"', head)


async def test_start_page_says_what_the_call_asks_its_limits_and_deadline(
    browser, gateway, moderator, commitments
):
    c = await new_call(
        gateway,
        moderator,
        commitments,
        closes_at="2031-02-17T23:59:00+00:00",
        max_words=1500,
        max_attachment_bytes=5 * 1024 * 1024,
        allowed_media_types=["application/pdf", "text/plain"],
    )
    listed = await browser.get("/give-evidence")
    assert listed.status_code == 200
    assert f'href="/give-evidence/{c["id"]}"' in listed.text
    r = await browser.get(f"/give-evidence/{c['id']}")
    assert r.status_code == 200
    assert c["title"] in r.text
    for made in commitments:
        assert f'href="/commitments/{made["id"]}"' in r.text
        assert made["reference"] in r.text
    assert "11:59pm on 17 February 2031" in r.text
    assert "up to 1,500 words" in r.text
    assert "up to 5 MB: PDF or plain text (.txt)" in r.text
    assert f'href="/give-evidence/{c["id"]}/form"' in r.text
    assert "What happens to your evidence" in r.text


async def test_a_good_submission_is_stored_as_received_and_seen_by_a_moderator(
    browser, gateway, moderator, call
):
    token = await open_form(browser, call)
    r = await send(
        browser, call, token, answers(call), ("results.pdf", pdf("form"), "application/pdf")
    )
    assert r.status_code == 303, r.text
    confirmation = await browser.get(r.headers["location"])
    assert confirmation.status_code == 200
    receipt = receipt_of(confirmation.text)
    assert "What happens next" in confirmation.text

    (item,) = await stored(gateway, moderator, call)
    assert item["receipt_reference"] == receipt
    assert item["status"] == "received"
    assert item["kind"] == "written"
    assert item["call_id"] == call["id"]
    assert item["stance"] == "challenges"
    assert item["consent"] == "publish"
    assert item["commitment_ids"] == [str(call["commitment_ids"][0])]
    # Distinguishable: the form's own client, with the person's name and organisation.
    assert item["submitter"] == {"client_id": "evidence-form", "organisation": f"{NAME}, {ORG}"}
    (attachment,) = item["attachments"]
    assert attachment["filename"] == "results.pdf"
    assert attachment["media_type"] == "application/pdf"
    # Not public until moderated, like any API submission.
    anonymous = await gateway.get(f"/v1/submissions/{item['id']}")
    assert anonymous.status_code == 404


async def test_missing_answers_are_listed_in_the_error_summary_and_nothing_is_stored(
    browser, gateway, moderator, call
):
    token = await open_form(browser, call)
    r = await send(browser, call, token, {"summary": ""})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("text/html")
    assert "<title>Error: " in r.text
    assert summary_links(r.text) == ["name", "commitments", "title", "body", "stance", "consent"]
    # Inline errors too, each tied to its field.
    assert 'id="title-error"' in r.text
    assert 'aria-describedby="title-hint title-error"' in r.text
    assert await stored(gateway, moderator, call) == []


async def test_answers_are_kept_when_the_form_comes_back_with_errors(browser, call):
    token = await open_form(browser, call)
    r = await send(browser, call, token, answers(call, stance="", title="My <b>title</b>"))
    assert r.status_code == 422
    assert summary_links(r.text) == ["stance"]
    assert 'value="My &lt;b&gt;title&lt;/b&gt;"' in r.text
    assert f"{NAME}" in r.text
    assert "checked" in r.text


async def test_too_many_words_is_refused_with_the_calls_limit(
    browser, gateway, moderator, commitments
):
    c = await new_call(gateway, moderator, commitments, max_words=5)
    token = await open_form(browser, c)
    form = await browser.get(f"/give-evidence/{c['id']}/form")
    assert "You can enter up to 5 words" in form.text
    r = await send(browser, c, token, answers(c, body="one two three four five six"))
    assert r.status_code == 422
    assert summary_links(r.text) == ["body"]
    assert "Your evidence must be 5 words or fewer (it has 6)" in r.text
    assert await stored(gateway, moderator, c) == []


async def test_a_file_too_big_or_of_the_wrong_type_is_refused_before_anything_is_stored(
    browser, gateway, moderator, commitments
):
    c = await new_call(
        gateway,
        moderator,
        commitments,
        max_attachment_bytes=1024,
        allowed_media_types=["application/pdf"],
    )
    token = await open_form(browser, c)
    big = await send(browser, c, token, answers(c), ("big.pdf", pdf("x" * 2048), "application/pdf"))
    assert big.status_code == 422
    assert summary_links(big.text) == ["file"]
    assert "The selected file must be smaller than 1 KB" in big.text
    exe = await send(browser, c, token, answers(c), ("setup.exe", PE, "application/octet-stream"))
    assert exe.status_code == 422
    assert "The selected file must be a PDF" in exe.text
    empty = await send(browser, c, token, answers(c), ("empty.pdf", b"", "application/pdf"))
    assert empty.status_code == 422
    assert "The selected file is empty" in empty.text
    assert await stored(gateway, moderator, c) == []


async def test_a_file_whose_content_the_service_refuses_withdraws_the_submission(
    browser, gateway, moderator, call
):
    token = await open_form(browser, call)
    # Called a PDF, but an executable: the service judges the content (415).
    r = await send(browser, call, token, answers(call), ("notes.pdf", PE, "application/pdf"))
    assert r.status_code == 422
    assert summary_links(r.text) == ["file"]
    assert "The selected file must be a PDF" in r.text
    # Nothing is left in the moderation queue as if it had been sent whole.
    (item,) = await stored(gateway, moderator, call)
    assert item["status"] == "withdrawn"
    assert item["attachments"] == []
    # The form came back with a new token: sending again is a new, whole submission.
    again = re.search(r'name="csrf_token" value="([^"]+)"', r.text)
    assert again is not None
    assert again.group(1) != token
    ok = await send(browser, call, again.group(1), answers(call))
    assert ok.status_code == 303
    statuses = sorted(s["status"] for s in await stored(gateway, moderator, call))
    assert statuses == ["received", "withdrawn"]


async def test_the_services_field_errors_come_back_as_form_errors(
    browser, gateway, moderator, call
):
    token = await open_form(browser, call)
    # The service refuses NUL characters (PostgreSQL cannot store them): its 422, mapped.
    r = await send(browser, call, token, answers(call, title="Bad\x00title"))
    assert r.status_code == 422
    assert summary_links(r.text) == ["title"]
    assert "The title has a character that cannot be kept" in r.text
    assert "pointer" not in r.text
    assert await stored(gateway, moderator, call) == []


async def test_a_closed_call_takes_no_evidence(browser, stack, gateway, moderator, commitments):
    c = await new_call(gateway, moderator, commitments, opens_at=at(-3), closes_at=at(-1))
    start = await browser.get(f"/give-evidence/{c['id']}")
    assert start.status_code == 200
    assert "It no longer takes evidence" in start.text
    assert f'href="/give-evidence/{c["id"]}/form"' not in start.text
    assert (await browser.get(f"/give-evidence/{c['id']}/form")).status_code == 409
    # Even a good token (as if the form had been opened before it closed) stores nothing.
    open_call = await new_call(gateway, moderator, commitments)
    await open_form(browser, open_call)
    signer: FormSigner = stack.gateway_app.state.form_signer
    token = signer.issue(browser.cookies[COOKIE], c["id"])
    r = await send(browser, c, token, answers(c))
    assert r.status_code == 409
    assert "It no longer takes evidence" in r.text
    assert await stored(gateway, moderator, c) == []


async def test_unknown_calls_are_an_html_404(browser):
    for path in (
        f"/give-evidence/{uuid.uuid4()}",
        "/give-evidence/not-a-call/form",
        f"/give-evidence/{uuid.uuid4()}/form",
    ):
        r = await browser.get(path)
        assert r.status_code == 404, path
        assert r.headers["content-type"].startswith("text/html")


async def test_bad_missing_or_expired_csrf_tokens_store_nothing(
    browser, stack, gateway, moderator, call, monkeypatch
):
    token = await open_form(browser, call)
    good = answers(call)
    missing = await send(browser, call, None, good)
    assert missing.status_code == 403
    assert "Nothing from this form has been kept" in missing.text
    tampered = await send(browser, call, token[:-2] + ("AA" if token[-2:] != "AA" else "BB"), good)
    assert tampered.status_code == 403
    # A good token from another browser (another cookie) is no use without that cookie.
    async with visitor(stack, "198.51.100.11") as other:
        theirs = await open_form(other, call)
    assert (await send(browser, call, theirs, good)).status_code == 403
    # A token for another call.
    signer: FormSigner = stack.gateway_app.state.form_signer
    elsewhere = signer.issue(browser.cookies[COOKIE], str(uuid.uuid4()))
    assert (await send(browser, call, elsewhere, good)).status_code == 403
    # No cookie at all.
    browser.cookies.clear()
    assert (await send(browser, call, token, good)).status_code == 403
    # Expired: issued longer ago than the form may stay open.
    await open_form(browser, call)
    age = stack.gateway_app.state.settings.form_token_max_age_s + 60
    real_time = time.time
    with monkeypatch.context() as m:
        m.setattr(time, "time", lambda: real_time() - age)
        old = signer.issue(browser.cookies[COOKIE], call["id"])
    expired = await send(browser, call, old, good)
    assert expired.status_code == 403
    assert "opened too long ago" in expired.text
    assert await stored(gateway, moderator, call) == []


async def test_a_double_submit_gives_one_submission_and_the_same_receipt(
    browser, gateway, moderator, call
):
    token = await open_form(browser, call)
    data = answers(call)
    file = ("results.pdf", pdf("double"), "application/pdf")
    first = await send(browser, call, token, data, file)
    again = await send(browser, call, token, data, file)  # back, and send again
    assert first.status_code == again.status_code == 303
    shown = [receipt_of((await browser.get(r.headers["location"])).text) for r in (first, again)]
    assert shown[0] == shown[1]
    # A double click: both posts at once.
    token2 = await open_form(browser, call)
    clicks = await asyncio.gather(
        send(browser, call, token2, data, file), send(browser, call, token2, data, file)
    )
    assert [c.status_code for c in clicks] == [303, 303]
    # (The links are signed at the moment they are made; the receipt they show is the same.)
    receipts = {receipt_of((await browser.get(c.headers["location"])).text) for c in clicks}
    items = await stored(gateway, moderator, call)
    assert [i["receipt_reference"] for i in items] == [shown[0], *receipts]
    assert [len(i["attachments"]) for i in items] == [1, 1]


async def test_a_changed_form_sent_again_with_the_same_token_is_not_stored_twice(
    browser, gateway, moderator, call
):
    token = await open_form(browser, call)
    assert (await send(browser, call, token, answers(call))).status_code == 303
    edited = await send(browser, call, token, answers(call, title="Edited after sending"))
    assert edited.status_code == 422
    assert "You have already sent evidence from this form" in edited.text
    assert len(await stored(gateway, moderator, call)) == 1


async def test_confirmation_links_cannot_be_made_up(browser, call):
    r = await browser.get(f"/give-evidence/{call['id']}/confirmation/SUB-AAAAAAAA")
    assert r.status_code == 404


async def test_posts_are_bounded_per_address_with_an_html_429(
    stack, gateway, moderator, commitments, monkeypatch
):
    monkeypatch.setattr(stack.gateway_app.state.settings, "form_posts_per_address_per_minute", 2)
    c = await new_call(gateway, moderator, commitments)
    address = f"203.0.113.{uuid.uuid4().int % 250 + 1}"
    async with visitor(stack, address) as client:
        token = await open_form(client, c)
        for _ in range(2):
            assert (await send(client, c, token, {})).status_code == 422
        r = await send(client, c, token, answers(c))
        assert r.status_code == 429
        assert r.headers["content-type"].startswith("text/html")
        assert int(r.headers["retry-after"]) >= 1
        assert "Too many forms sent" in r.text
    # Another address is not held back by this one.
    async with visitor(stack, "192.0.2.77") as other:
        token = await open_form(other, c)
        assert (await send(other, c, token, answers(c))).status_code == 303
    assert len(await stored(gateway, moderator, c)) == 1


async def test_posts_are_bounded_per_call(stack, gateway, moderator, commitments, monkeypatch):
    monkeypatch.setattr(stack.gateway_app.state.settings, "form_posts_per_call_per_minute", 2)
    c = await new_call(gateway, moderator, commitments)
    codes = []
    for n in range(3):
        async with visitor(stack, f"192.0.2.{n + 10}") as client:
            token = await open_form(client, c)
            codes.append((await send(client, c, token, answers(c))).status_code)
    assert codes == [303, 303, 429]
    assert len(await stored(gateway, moderator, c)) == 2
    # Another call is not held back by this one.
    other = await new_call(gateway, moderator, commitments)
    async with visitor(stack, "192.0.2.99") as client:
        token = await open_form(client, other)
        assert (await send(client, other, token, answers(other))).status_code == 303
