"""Demo data, deepened: targets and progress readings for the 2023 evaluation's commitments, the
Public Accounts Committee's 2020 recommendations as a second source, and the "paperless NHS by
2018" target's watering-down recorded as a revision with its reason.

Facts only, from the seed documents: the plan's summary (002), the Government response of
17 April 2023 (000) and the Committee's report of 6 November 2020 (003). Month-level dates
("by March 2023", "in February 2023") are taken as the month's last day. Where a document gives
no figure (e.g. DDaT staff recruited so far), a target has no reading rather than a guess.
"""

from __future__ import annotations

from typing import Any

import httpx

PLAN_ON = "2022-06-29"  # A plan for digital health and social care
PANEL_ON = "2023-02-17"  # the Expert Panel's evaluation (HC 780)
RESPONSE_ON = "2023-04-17"  # the Government response
PAC_ON = "2020-11-06"  # PAC, Digital transformation in the NHS

PLAN = "A plan for digital health and social care (June 2022)"
RESPONSE = "Government response to the Expert Panel (17 April 2023)"
PANEL = "Expert Panel evaluation, HC 780 (17 February 2023)"

# (commitment reference, target, effective_on, readings [(value, as_of, source)])
TargetSpec = tuple[str, dict[str, Any], str, list[tuple[float, str, str]]]
TARGETS: list[TargetSpec] = [
    (
        "PDHSC-1a",
        {
            "reference": "PDHSC-1a-APP-68",
            "metric": "Adults registered for the NHS App (interim aim)",
            "unit": "percent",
            "target_value": 68,
            "due_on": "2023-03-31",
            "data_source": "NHS England",
        },
        PLAN_ON,
        [(68, PANEL_ON, f"{PANEL}: the first target was reached before the time set out")],
    ),
    (
        "PDHSC-1a",
        {
            "reference": "PDHSC-1a-APP-75",
            "metric": "Adults registered for the NHS App",
            "unit": "percent",
            "target_value": 75,
            "due_on": "2024-12-31",
            "data_source": "NHS England",
        },
        PLAN_ON,
        [(68, PANEL_ON, f"{PANEL}: the 68% interim target had been reached")],
    ),
    (
        "PDHSC-1a",
        {
            "reference": "PDHSC-1a-APP-USERS",
            "metric": 'People registered for the NHS App ("over 30 million" by March 2023)',
            "unit": "count",
            "target_value": 30_000_000,
            "due_on": "2023-03-31",
            "data_source": "NHS England",
        },
        PLAN_ON,
        [(31_000_000, RESPONSE_ON, f"{RESPONSE}: over 31 million sign-ups")],
    ),
    (
        "PDHSC-1c",
        {
            "reference": "PDHSC-1c-DSCR",
            "metric": "CQC-registered adult social care providers with a digital care record",
            "unit": "percent",
            "baseline_value": 40,
            "baseline_on": "2021-12-31",
            "target_value": 80,
            "due_on": "2024-03-31",
            "data_source": "CQC Provider Information Return",
        },
        PLAN_ON,
        [
            (
                45,
                PLAN_ON,
                f"{PLAN}: 45% of social care providers have any form of digital care record",
            ),
            (52, "2023-02-28", f"{RESPONSE}: approximately 52% in February 2023"),
        ],
    ),
    (
        "PDHSC-1c",
        {
            "reference": "PDHSC-1c-EPR",
            "metric": "NHS trusts with an electronic patient record",
            "unit": "percent",
            "baseline_value": 86,
            "baseline_on": PLAN_ON,
            "target_value": 90,
            "due_on": "2023-12-31",
            "data_source": "NHS England frontline digitisation programme",
        },
        RESPONSE_ON,
        [(88, RESPONSE_ON, f"{RESPONSE}: currently 88% of trusts have an EPR")],
    ),
    (
        "PDHSC-2a",
        {
            "reference": "PDHSC-2a-FUNDING",
            "metric": "Investment in the Data for Research and Development programme (up to)",
            "unit": "gbp",
            "target_value": 200_000_000,
            "due_on": "2025-03-31",
            "data_source": "DHSC, NHS England and BEIS (jointly funded)",
        },
        PLAN_ON,
        [],
    ),
    (
        "PDHSC-2b",
        {
            "reference": "PDHSC-2b-DEID",
            "metric": "Mechanism to de-identify GP data on collection implemented",
            "unit": "boolean",
            "target_value": 1,
            "due_on": "2019-09-30",
            "data_source": "NHS Digital",
        },
        PLAN_ON,
        [
            (
                0,
                RESPONSE_ON,
                f"{RESPONSE}: GP data collection (GPDPR) paused until the Ministerial "
                "conditions are met",
            )
        ],
    ),
    (
        "PDHSC-4a",
        {
            "reference": "PDHSC-4a-PLAN",
            "metric": "National digital workforce plan published",
            "unit": "boolean",
            "target_value": 1,
            "due_on": "2023-12-31",
            "data_source": "NHS England",
        },
        RESPONSE_ON,
        [(0, RESPONSE_ON, f"{RESPONSE}: on track to be published in 2023")],
    ),
    (
        "PDHSC-4b",
        {
            "reference": "PDHSC-4b-DDAT",
            "metric": "Additional full-time digital, data and technology staff",
            "unit": "fte",
            "baseline_value": 0,
            "baseline_on": PLAN_ON,
            "target_value": 10_500,
            "due_on": "2030-12-31",
            "data_source": "NHS Electronic Staff Record",
        },
        PLAN_ON,
        [],
    ),
]
TARGET_REASON = "Measurable targets from the plan and the Government response, as published."

PAC_SOURCE: dict[str, Any] = {
    "reference": "PAC-2020-DIGITAL",
    "title": "Digital transformation in the NHS",
    "publisher": "House of Commons Committee of Public Accounts",
    "kind": "committee_report",
    "published_on": PAC_ON,
}
GOVERNANCE_AREA: dict[str, Any] = {
    "slug": "delivery-and-governance",
    "name": "Delivery and governance of digital transformation",
    "description": "Targets, plans, governance and funding of the digital transformation itself.",
}
DHSC, NHSX = "Department of Health and Social Care", "NHSX"

# (reference, policy area slug, title, recommendation as published, due date, lead bodies)
PAC_RECOMMENDATIONS: list[tuple[str, str, str, str, str | None, list[str]]] = [
    (
        "PAC-2020-1",
        "delivery-and-governance",
        "Realistic targets for digital transformation, published by March 2021",
        "The Department should set realistic targets for transforming digital services and "
        "sustaining the gains made during the COVID-19 pandemic, and publish details of these by "
        "March 2021. This should include a mix of longer-term and intermediate targets for "
        "tracking progress for both nationally-led programmes and those delivered at local "
        "health and care system level.",
        "2021-03-31",
        [DHSC],
    ),
    (
        "PAC-2020-2",
        "delivery-and-governance",
        "Clear and transparent governance of digital transformation",
        "The Department's failure to ensure clear and transparent governance arrangements for "
        "digital transformation is putting the successful delivery of the Vision for digital, "
        "data and technology at risk. Recommendation: To improve clarity and transparency, the "
        "Department should: (the Committee's list of actions is not reproduced in the source "
        "text held here).",
        None,
        [DHSC],
    ),
    (
        "PAC-2020-3",
        "delivery-and-governance",
        "An implementation plan for the digital ambitions",
        "NHSX should, as a matter of urgency, publish an implementation plan for meeting its "
        "ambitions for transforming digital services. This should: (the Committee's list of "
        "what the plan should include is not reproduced in the source text held here).",
        None,
        [NHSX],
    ),
    (
        "PAC-2020-4",
        "cost-and-efficiency",
        "The remaining interoperability standards",
        "NHSX should urgently bring forward the remaining standards in order to provide clarity "
        "for trusts and suppliers, including providing trusts with guidance on the potential use "
        "of the cloud to enable digital image sharing.",
        None,
        [NHSX],
    ),
    (
        "PAC-2020-5",
        "delivery-and-governance",
        "Support for the local systems most in need",
        "As part of the implementation plan, NHSX should work with NHS England & Improvement and "
        "NHS Digital to develop a more-focused package for those local health and care systems "
        "most in need of support for planning, funding and implementation, and with a clear "
        "basis for priority action.",
        None,
        [NHSX, "NHS England and NHS Improvement", "NHS Digital"],
    ),
    (
        "PAC-2020-6",
        "cost-and-efficiency",
        "A cost-benefit analysis of approaches to local systems",
        "NHSX should develop and publish a cost-benefit analysis of the various approaches "
        "available to local organisations when implementing their system solutions. It should "
        "also use the information to assess the realism of the £3 billion contribution from the "
        "NHS trust sector toward the overall budget of £8.1 billion.",
        None,
        [NHSX],
    ),
]

PAPERLESS_REFERENCE = "NHS-PAPERLESS-2018"
PAPERLESS: dict[str, Any] = {
    "reference": PAPERLESS_REFERENCE,
    "title": "A paperless NHS by 2018",
    "text": "The NHS's main target: a 'paperless' NHS by 2018.",
    "kind": "target",
    "due_on": "2018-12-31",
    # The Committee: "The NHS missed its main target for a 'paperless' NHS by 2018".
    "status": "missed",
}
PAPERLESS_REVISION: dict[str, Any] = {
    "title": "A core level of digitisation by 2024",
    "text": "A new target for the NHS to reach a 'core level' of digitisation by 2024.",
    "due_on": "2024-12-31",
    "lead_bodies": [NHSX],
    # The new, lesser target is the one now in progress.
    "status": "in_progress",
    "reason": "The NHS missed its main target for a 'paperless' NHS by 2018, and it has been "
    "watered down into a new target to reach a 'core level' of digitisation by 2024 (Public "
    "Accounts Committee, Digital transformation in the NHS, 6 November 2020).",
    "effective_on": PAC_ON,
}


class ProgressSeedError(RuntimeError):
    """The API refused part of the demo data."""


def _ok(resp: httpx.Response) -> Any:
    if resp.status_code >= 400:
        raise ProgressSeedError(
            f"{resp.request.method} {resp.request.url.path} → {resp.status_code}: {resp.text}"
        )
    return resp.json()


def _find(client: httpx.Client, path: str, **params: Any) -> dict[str, Any] | None:
    items = _ok(client.get(path, params=params))["items"]
    return items[0] if items else None


def _all(client: httpx.Client, path: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"page_size": 200}
    while True:
        page = _ok(client.get(path, params=params))
        items += page["items"]
        if not page["next_page_token"]:
            return items
        params["page_token"] = page["next_page_token"]


def _ensure(client: httpx.Client, path: str, key: str, body: dict[str, Any]) -> dict[str, Any]:
    found = _find(client, path, **{key: body[key]})
    return found or _ok(client.post(path, json=body))


def targets_and_readings(
    client: httpx.Client, commitments: dict[str, dict[str, Any]], specs: list[TargetSpec]
) -> None:
    """Add the targets of `specs` missing from their commitments, and their missing readings."""
    have: dict[str, dict[str, dict[str, Any]]] = {}
    for reference, spec, effective_on, readings in specs:
        commitment = commitments.get(reference)
        if commitment is None:
            raise ProgressSeedError(f"commitment {reference} is not loaded")
        cid = commitment["id"]
        if cid not in have:
            have[cid] = {t["reference"]: t for t in _all(client, f"/v1/commitments/{cid}/targets")}
        target = have[cid].get(spec["reference"])
        if target is None:
            body = {**spec, "reason": TARGET_REASON, "effective_on": effective_on}
            target = _ok(client.post(f"/v1/commitments/{cid}/targets", json=body))
            have[cid][spec["reference"]] = target
        recorded = {
            (r["as_of"], r["value"]) for r in _all(client, f"/v1/targets/{target['id']}/readings")
        }
        for value, as_of, source in readings:
            if (as_of, float(value)) in recorded:
                continue
            _ok(
                client.post(
                    f"/v1/targets/{target['id']}/readings",
                    json={"value": value, "as_of": as_of, "source": source},
                    headers={"Idempotency-Key": f"demo-{spec['reference']}-{as_of}"},
                )
            )


def _pac(client: httpx.Client) -> None:
    source = _ensure(client, "/v1/sources", "reference", PAC_SOURCE)
    areas = {
        "delivery-and-governance": _ensure(client, "/v1/policy-areas", "slug", GOVERNANCE_AREA)
    }
    cost = _find(client, "/v1/policy-areas", slug="cost-and-efficiency")
    if cost is None:
        raise ProgressSeedError("policy area cost-and-efficiency is not loaded")
    areas["cost-and-efficiency"] = cost
    for reference, slug, title, text, due_on, leads in PAC_RECOMMENDATIONS:
        if _find(client, "/v1/commitments", reference=reference) is None:
            _ok(
                client.post(
                    "/v1/commitments",
                    json={
                        "reference": reference,
                        "title": title,
                        "text": text,
                        "kind": "recommendation",
                        "policy_area_id": areas[slug]["id"],
                        "source_id": source["id"],
                        "lead_bodies": leads,
                        "made_on": PAC_ON,
                        "due_on": due_on,
                    },
                )
            )
    paperless = _find(client, "/v1/commitments", reference=PAPERLESS_REFERENCE)
    if paperless is None:
        body = {
            **PAPERLESS,
            "policy_area_id": areas["delivery-and-governance"]["id"],
            "source_id": source["id"],
        }
        paperless = _ok(client.post("/v1/commitments", json=body))
    if paperless["title"] == PAPERLESS["title"]:
        url = f"/v1/commitments/{paperless['id']}"
        etag = client.get(url).headers["etag"]
        _ok(client.patch(url, json=PAPERLESS_REVISION, headers={"If-Match": etag}))


def seed_progress(
    client: httpx.Client, commitments_by_reference: dict[str, dict[str, Any]]
) -> None:
    """Load targets, readings, the PAC recommendations and the paperless revision; idempotent.

    `client` talks to the gateway with a token carrying `commitments:write`;
    `commitments_by_reference` holds the nine 2023 commitments as the API returned them.
    """
    targets_and_readings(client, commitments_by_reference, TARGETS)
    _pac(client)
