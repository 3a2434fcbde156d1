"""Listing commitments: every filter, full-text `q`, every sort, each with keyset pagination."""

from __future__ import annotations

import uuid

import pytest

from tests.commitments.helpers import area_and_source, post, target

DUES = ["2024-03-31", None, "2023-12-31", "2030-12-31", None, "2023-12-31", "2025-03-31"]
WORDS = [
    "NHS App registration for adults",
    "Electronic patient records in every trust",
    "Digital social care records",
    "Additional digital staff by 2030",
    "Shared care records",
    "Data for research and development",
    "A paperless NHS",
]


@pytest.fixture(scope="module")
async def listed(client, writer):
    """Seven commitments in one area and source, varied in every filtered field."""
    area, source = await area_and_source(client, writer)
    tag = uuid.uuid4().hex[:6].upper()
    made = []
    for i, (due, words) in enumerate(zip(DUES, WORDS, strict=True)):
        c = await post(
            client,
            "/v1/commitments",
            {
                "reference": f"L{tag}-{(7 - i):02d}",
                "title": words,
                "text": f"We will deliver {words.lower()} ({tag}).",
                "kind": ["pledge", "target", "recommendation"][i % 3],
                "status": ["not_started", "in_progress"][i % 2],
                "lead_bodies": [["NHS England"], ["NHS England", "DHSC"], ["DHSC"]][i % 3],
                "due_on": due,
                "policy_area_id": area["id"],
                "source_id": source["id"],
            },
            writer,
        )
        made.append(c)
    # Two have targets; one of them is off track.
    await target(client, writer, made[0]["id"])
    t = await target(client, writer, made[3]["id"])
    await client.post(
        f"/v1/targets/{t['id']}/readings",
        json={"value": 10, "as_of": "2020-03-01", "source": "R"},
        headers={**writer, "Idempotency-Key": uuid.uuid4().hex},
    )
    return {"area": area, "source": source, "made": made, "tag": tag}


async def pages(client, **params):
    """Every page of a listing, two at a time; returns references in order."""
    seen, token = [], None
    while True:
        query = {**params, "page_size": 2, **({"page_token": token} if token else {})}
        r = await client.get("/v1/commitments", params=query)
        assert r.status_code == 200, r.text
        body = r.json()
        seen += [c["reference"] for c in body["items"]]
        token = body["next_page_token"]
        if token is None:
            return seen


def refs(made, pick=lambda _c: True):
    return [c["reference"] for c in made if pick(c)]


def by_due(made, descending=False):
    dated = sorted(
        (c for c in made if c["due_on"]), key=lambda c: (c["due_on"], c["id"]), reverse=descending
    )
    undated = sorted(
        (c for c in made if not c["due_on"]), key=lambda c: c["id"], reverse=descending
    )
    return [c["reference"] for c in dated + undated]


@pytest.mark.parametrize("sort", ["created_at", "due_on", "-due_on", "reference", "-reference"])
async def test_every_sort_pages_through_everything_once(client, listed, sort):
    made = listed["made"]
    got = await pages(client, policy_area_id=listed["area"]["id"], sort=sort)
    expected = {
        "created_at": refs(made),
        "due_on": by_due(made),
        "-due_on": by_due(made, descending=True),
        "reference": sorted(refs(made)),
        "-reference": sorted(refs(made), reverse=True),
    }[sort]
    assert got == expected


@pytest.mark.parametrize(
    ("params", "pick"),
    [
        ({"kind": "target"}, lambda c: c["kind"] == "target"),
        ({"status": "in_progress"}, lambda c: c["status"] == "in_progress"),
        ({"lead_body": "DHSC"}, lambda c: "DHSC" in c["lead_bodies"]),
        ({"due_before": "2024-03-31"}, lambda c: c["due_on"] and c["due_on"] < "2024-03-31"),
        ({"due_after": "2024-03-31"}, lambda c: c["due_on"] and c["due_on"] > "2024-03-31"),
        ({"has_targets": "true"}, lambda c: c["title"] in (WORDS[0], WORDS[3])),
        ({"has_targets": "false"}, lambda c: c["title"] not in (WORDS[0], WORDS[3])),
        ({"off_track": "true"}, lambda c: c["title"] == WORDS[3]),
        ({"q": "records"}, lambda c: "records" in c["title"]),
        ({"q": "care records"}, lambda c: "care records" in c["title"].lower()),
        ({"q": "record"}, lambda c: "records" in c["title"]),  # stemmed
        ({"q": "NHS"}, lambda c: "NHS" in c["title"]),
    ],
)
async def test_filters_with_each_sort(client, listed, params, pick):
    made = listed["made"]
    area = listed["area"]["id"]
    assert await pages(client, policy_area_id=area, **params) == refs(made, pick)
    assert await pages(client, policy_area_id=area, sort="due_on", **params) == [
        r for r in by_due(made) if r in refs(made, pick)
    ]
    assert await pages(client, policy_area_id=area, sort="-reference", **params) == sorted(
        refs(made, pick), reverse=True
    )


async def test_q_searches_reference_title_and_text(client, listed):
    made = listed["made"]
    area = listed["area"]["id"]
    assert await pages(client, policy_area_id=area, q=made[2]["reference"]) == [
        made[2]["reference"]
    ]
    assert await pages(client, q=listed["tag"]) == refs(made)  # only in the text
    assert await pages(client, policy_area_id=area, q="nothing-like-this") == []
    assert await pages(client, policy_area_id=area, q='"*:-') == []  # punctuation is not syntax


async def test_repeated_filters_are_any_of_and_combine_with_and(client, listed):
    made = listed["made"]
    got = await pages(
        client,
        policy_area_id=listed["area"]["id"],
        kind=["pledge", "target"],
        status="not_started",
    )
    assert got == refs(
        made, lambda c: c["kind"] in ("pledge", "target") and c["status"] == "not_started"
    )


async def test_a_page_token_belongs_to_its_sort(client, listed):
    area = listed["area"]["id"]
    r = await client.get(
        "/v1/commitments", params={"policy_area_id": area, "sort": "due_on", "page_size": 1}
    )
    token = r.json()["next_page_token"]
    r = await client.get(
        "/v1/commitments", params={"policy_area_id": area, "sort": "reference", "page_token": token}
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["pointer"] == "query.page_token"
    r = await client.get("/v1/commitments", params={"sort": "title"})
    assert r.status_code == 422
