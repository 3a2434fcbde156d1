"""Loads the demo data through the gateway's public API, idempotently: a second run adds nothing."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import stamina

from scrutiny_cli import demo
from scrutiny_cli.demo_evidence import seed_evidence
from scrutiny_cli.demo_progress import seed_progress
from scrutiny_cli.demo_ratings import seed_ratings
from scrutiny_cli.demo_record import seed_record


class SeedError(RuntimeError):
    """The API refused demo data."""


def _check(resp: httpx.Response) -> dict[str, Any]:
    if resp.status_code >= 400:
        raise SeedError(
            f"{resp.request.method} {resp.request.url.path} → {resp.status_code}: {resp.text}"
        )
    body: dict[str, Any] = resp.json()
    return body


def _find(client: httpx.Client, path: str, **params: Any) -> dict[str, Any] | None:
    items = _check(client.get(path, params=params))["items"]
    return items[0] if items else None


def _all(client: httpx.Client, path: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"page_size": 200}
    while True:
        page = _check(client.get(path, params=params))
        items += page["items"]
        if not page["next_page_token"]:
            return items
        params["page_token"] = page["next_page_token"]


@stamina.retry(on=httpx.TransportError, attempts=5)
def _post(client: httpx.Client, path: str, body: dict[str, Any]) -> httpx.Response:
    return client.post(path, json=body)


def _client_id(access_token: str) -> str:
    """The client id in our own access token (RFC 9068 `client_id`); read, not verified: the
    gateway that issued it verifies it on every call."""
    payload = access_token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(claims["client_id"])


def seed(
    gateway: str,
    access_token: str,
    government_token: str,
    submitters: dict[str, str],
    *,
    read_model_wait: float = 30,
) -> dict[str, Any]:
    """Create whatever part of the record is missing; returns the 2023 evaluation.

    `government_token` is the Department's own: its response is recorded by the body that
    signs it, not by the loader. `submitters` holds, by organisation, a token per illustrative
    (fictional) organisation and one for the Department's memorandum, each with `admin` as well
    as `evidence:submit`, since the evidence is entered under the dates it was received.
    """
    headers = {"Authorization": f"Bearer {access_token}"}
    government = {"Authorization": f"Bearer {government_token}"}
    with (
        httpx.Client(base_url=gateway, headers=headers, timeout=30) as client,
        httpx.Client(base_url=gateway, headers=government, timeout=30) as dhsc,
    ):
        source = _find(client, "/v1/sources", reference=demo.SOURCE["reference"])
        if source is None:
            source = _check(_post(client, "/v1/sources", demo.SOURCE))

        areas: dict[str, dict[str, Any]] = {}
        for area in demo.POLICY_AREAS:
            found = _find(client, "/v1/policy-areas", slug=area["slug"])
            areas[area["slug"]] = found or _check(_post(client, "/v1/policy-areas", area))

        commitments: dict[str, dict[str, Any]] = {}
        for reference, slug, title, text, due_on, leads in demo.COMMITMENTS:
            found = _find(client, "/v1/commitments", reference=reference)
            if found is None:
                found = _check(
                    _post(
                        client,
                        "/v1/commitments",
                        {
                            "reference": reference,
                            "title": title,
                            "text": text,
                            "kind": "pledge",
                            "policy_area_id": areas[slug]["id"],
                            "source_id": source["id"],
                            "lead_bodies": leads,
                            "made_on": demo.SOURCE["published_on"],
                            "due_on": due_on,
                            "status": "in_progress",
                        },
                    )
                )
            commitments[reference] = found
        seed_progress(client, commitments)
        seed_record(client, commitments)
        stakeholders = {
            org: httpx.Client(
                base_url=gateway, headers={"Authorization": f"Bearer {t}"}, timeout=30
            )
            for org, t in submitters.items()
        }
        try:
            seed_evidence(client, commitments, stakeholders)
        finally:
            for c in stakeholders.values():
                c.close()

        evaluation = next(
            (e for e in _all(client, "/v1/evaluations") if e["title"] == demo.EVALUATION["title"]),
            None,
        )
        if evaluation is None:
            body = {
                **demo.EVALUATION,
                "panel": demo.panel(_client_id(access_token)),
                "commitment_ids": [commitments[r[0]]["id"] for r in demo.COMMITMENTS],
            }
            # The ratings service learns of commitments from their event feed, a moment later.
            deadline = time.monotonic() + read_model_wait
            while True:
                resp = _post(client, "/v1/evaluations", body)
                if resp.status_code != 422 or time.monotonic() > deadline:
                    evaluation = _check(resp)
                    break
                time.sleep(0.25)

        for reference, levels, _overall in demo.RATINGS:
            cid = commitments[reference]["id"]
            path = f"/v1/evaluations/{evaluation['id']}/ratings/{cid}"
            if client.get(path).status_code == 404:
                _check(
                    client.put(
                        path, json={"levels": dict(zip(demo.DIMENSIONS, levels, strict=True))}
                    )
                )
        # Rationales, agreement, publication and the Government's response.
        seed_ratings(client, evaluation, commitments, dhsc)
        return _check(client.get(f"/v1/evaluations/{evaluation['id']}"))
