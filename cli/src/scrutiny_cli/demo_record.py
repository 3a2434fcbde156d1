"""Demo data, the rest of the record: what the five seed documents hold beyond the rated table.

- 000 (the Government response, 17 April 2023): the Expert Panel's report (HC 780) and the
  memorandum itself as sources, and the progress figures it gives (virtual wards: 37 ICSs,
  180 services of 352; the DDaT workforce: 46,000 in 2021 to 78,000 in 2030) as targets with
  their readings, each reading naming its source.
- 002 (the plan's summary, June 2022): every measurable target it states, with its baseline
  and due date where it gives them, as commitments of the plan. "By March 2025" is taken as
  the month's last day; "over the next three years" from the plan as three years after it.
- 004 (the independent review, 23 November 2021): the review as a source and its nine
  recommendations, in its words.

Facts only; where a document gives no figure a target has no reading. Loaded through the
public API, idempotently (each object is found by its reference before it is created).
"""

from __future__ import annotations

from typing import Any

import httpx

from scrutiny_cli.demo_progress import (
    GOVERNANCE_AREA,
    PANEL_ON,
    PLAN,
    PLAN_ON,
    RESPONSE,
    RESPONSE_ON,
    TargetSpec,
    _ensure,
    _find,
    _ok,
    targets_and_readings,
)

SOURCES: list[dict[str, Any]] = [
    {
        "reference": "HSCC-HC780-2023",
        "title": "Evaluation of Government commitments made on the digitisation of the NHS "
        "(Fourth Special Report of Session 2022\u201323, HC 780)",
        "publisher": "Health and Social Care Committee Expert Panel",
        "kind": "committee_report",
        "published_on": PANEL_ON,
    },
    {
        "reference": "DHSC-RESPONSE-HC780-2023",
        "title": "Government Response to the Health and Social Care Committee's Expert Panel: "
        "evaluation of Government's commitments made on the digitisation of the NHS",
        "publisher": "Department of Health and Social Care",
        "kind": "government_response",
        "published_on": RESPONSE_ON,
    },
    {
        "reference": "REVIEW-DDAT-2021",
        "title": "Putting data, digital and tech at the heart of transforming the NHS",
        "publisher": "Independent review (the Laura Wade-Gery Review)",
        "kind": "review",
        "published_on": "2021-11-23",
    },
]
PLAN_REFERENCE = "DHSC-PDHSC-2022"
REVIEW_REFERENCE = "REVIEW-DDAT-2021"
REVIEW_ON = "2021-11-23"

SOCIAL_CARE_AREA: dict[str, Any] = {
    "slug": "adult-social-care",
    "name": "Supporting adult social care",
    "description": "Connectivity, digital records and care technology in adult social care.",
}

# The plan's measurable targets beyond the nine rated commitments (002), each a commitment of
# the plan with its target: (reference, area, title, wording, due, lead bodies, target).
PLAN_TARGETS: list[tuple[str, str, str, str, str, list[str], dict[str, Any]]] = [
    (
        "PDHSC-T-MATURITY",
        "delivery-and-governance",
        "All ICSs digitally mature by March 2025",
        "The goal, set out in the What Good Looks Like framework, is for all ICSs and their "
        "constituent organisations to have all the attributes of digital maturity by March 2025.",
        "2025-03-31",
        ["NHS England"],
        {
            "reference": "PDHSC-T-MATURITY-ORGS",
            "metric": "NHS organisations that are digitally mature",
            "unit": "percent",
            "baseline_value": 20,
            "baseline_on": PLAN_ON,
            "target_value": 100,
            "due_on": "2025-03-31",
            "data_source": f"{PLAN}: 20 percent of NHS organisations are digitally mature",
        },
    ),
    (
        "PDHSC-T-CORE",
        "delivery-and-governance",
        "Core digital capabilities in every ICS organisation by March 2025",
        "Constituent organisations of ICSs are expected to have core digital capabilities in "
        "place by March 2025, including an EPR and other critical systems, resilience to cyber "
        "attacks and fast connectivity.",
        "2025-03-31",
        ["NHS England"],
        {
            "reference": "PDHSC-T-CORE-DONE",
            "metric": "Core digital capabilities in place in every ICS's organisations",
            "unit": "boolean",
            "target_value": 1,
            "due_on": "2025-03-31",
        },
    ),
    (
        "PDHSC-T-RECORD-VIEW",
        "care-of-patients",
        "Every clinical team in an ICS sees a complete view of the record by March 2025",
        "By March 2025, all clinical teams in an ICS are expected to have appropriate and "
        "secure access to a complete view of a person's health record.",
        "2025-03-31",
        ["NHS England"],
        {
            "reference": "PDHSC-T-RECORD-VIEW-DONE",
            "metric": "All clinical teams in each ICS with access to a complete view of the record",
            "unit": "boolean",
            "target_value": 1,
            "due_on": "2025-03-31",
        },
    ),
    (
        "PDHSC-T-FALLS",
        "adult-social-care",
        "Sensor-based falls prevention for care home residents at high risk by March 2024",
        "We will ensure the 20 percent of care home residents who are identified as at high "
        "risk of falls are protected by sensor-based falls prevention and detection "
        "technologies by March 2024.",
        "2024-03-31",
        ["Department of Health and Social Care"],
        {
            "reference": "PDHSC-T-FALLS-RESIDENTS",
            "metric": "Care home residents protected by sensor-based falls prevention and "
            "detection technologies (the 20% identified at high risk of falls)",
            "unit": "percent",
            "target_value": 20,
            "due_on": "2024-03-31",
        },
    ),
    (
        "PDHSC-T-BROADBAND",
        "adult-social-care",
        "Fibre broadband for at least 1,000 care homes by March 2024",
        "Fibre broadband upgrades will be delivered to at least 1000 care homes currently "
        "dependent on poor connections by March 2024.",
        "2024-03-31",
        ["Department of Health and Social Care"],
        {
            "reference": "PDHSC-T-BROADBAND-HOMES",
            "metric": "Care homes on poor connections given a fibre broadband upgrade",
            "unit": "count",
            "baseline_value": 0,
            "baseline_on": PLAN_ON,
            "target_value": 1000,
            "due_on": "2024-03-31",
        },
    ),
    (
        "PDHSC-T-ASC-150M",
        "adult-social-care",
        "At least £150 million for adult social care's digital foundations over three years",
        "An investment of at least £150 million over the next three years has been announced "
        "in the adult social care reform white paper, 'People at the heart of care', to ensure "
        "that all care providers have access to high-speed connections, increased digital "
        "skills and confidence among the workforce, and better cyber resilience.",
        "2025-06-29",
        ["Department of Health and Social Care"],
        {
            "reference": "PDHSC-T-ASC-150M-GBP",
            "metric": "Investment in adult social care's digital foundations (at least)",
            "unit": "gbp",
            "target_value": 150_000_000,
            "due_on": "2025-06-29",
        },
    ),
    (
        "PDHSC-T-RESEARCH-PROGRAMME",
        "health-of-the-population",
        "A three-year programme on public support for research, launched in July 2022",
        "A three-year programme of activity will be launched in July 2022 to enhance positive "
        "patient and public support through public assemblies, focus groups and more.",
        "2022-07-31",
        ["Department of Health and Social Care"],
        {
            "reference": "PDHSC-T-RESEARCH-PROGRAMME-LAUNCHED",
            "metric": "Three-year public support programme launched",
            "unit": "boolean",
            "target_value": 1,
            "due_on": "2022-07-31",
        },
    ),
]

# The progress figures of the Government response (000) that need targets of their own.
RESPONSE_TARGETS: list[TargetSpec] = [
    (
        "PDHSC-1b",
        {
            "reference": "PDHSC-1b-VW-ICS",
            "metric": "ICSs with at least one virtual ward enabled by technology",
            "unit": "count",
            "target_value": 42,
            "due_on": "2023-03-31",
            "data_source": f"{RESPONSE}: 37 ICSs, the remaining 5 by the end of March 2023",
        },
        RESPONSE_ON,
        [(37, RESPONSE_ON, f"{RESPONSE}: 37 ICSs have virtual wards enabled by technology")],
    ),
    (
        "PDHSC-1b",
        {
            "reference": "PDHSC-1b-VW-SERVICES",
            "metric": "Virtual ward services enabled by technology (of 352 in total)",
            "unit": "count",
            "target_value": 352,
            "due_on": "2024-03-31",
            "data_source": f"{RESPONSE}: in 2023/24 the focus is on ensuring virtual wards "
            "are tech enabled",
        },
        RESPONSE_ON,
        [(180, RESPONSE_ON, f"{RESPONSE}: 180 services (of 352 total)")],
    ),
    (
        "PDHSC-4b",
        {
            "reference": "PDHSC-4b-WORKFORCE",
            "metric": "Digital, data and technology workforce (whole-time equivalent)",
            "unit": "fte",
            "baseline_value": 46_000,
            "baseline_on": "2021-12-31",
            "target_value": 78_000,
            "due_on": "2030-12-31",
            "data_source": "Health Education England, 'Data Driven Healthcare in 2030' (as "
            f"cited in the {RESPONSE}): a baseline of 46,000 in 2021 to 78,000 in 2030",
        },
        RESPONSE_ON,
        [],
    ),
]

# The review's nine recommendations (004), as headed there.
REVIEW_RECOMMENDATIONS: list[str] = [
    "Commit to a patient and citizen centred organising principle for future service "
    "transformation.",
    "Consider and mitigate digital inequality in all service transformation. Expand the role "
    "of the SRO for Health Inequalities to include digital inequality.",
    "Commit to building patient and citizen trust and acceptance in the use of health data to "
    "improve outcomes. Provide more efficient access to data for analytics that ensures "
    "privacy and can be used to improve care delivery.",
    "Reorientate the focus of the centre to make digital integral to transforming care, with "
    "NHSEI overall accountable for executing digitally enabled service transformation. "
    "Provide clarity around the role of the centre, underpinned by a clear enterprise "
    "architecture and align with the ICS operating model.",
    "Implement a new operating model across NHSEI, X and D to drive digital and data "
    "transformation.",
    "Re-align organisational responsibilities to ensure delivery of the new operating model.",
    "Undertake a fundamental organisational capability intervention across NHSEI and D to "
    "build and nurture the skill base to support data and digitally enabled transformation "
    "and adapt ways of working to support the new operating model.",
    "Revise financial management arrangements both within NHSEI and between NHSEI and DHSC.",
    "Re-prioritise NHSEI spend to lift the quantum devoted to digitally enabled system "
    "transformation. Assess the level of 'technical debt' across the wider NHSEI system and "
    "update estimates of technology spend required to enable the delivery of safe technology "
    "operations. In conjunction with DHSC, make the case for increased funding to deliver "
    "safe technology operations.",
]
REVIEW_LEADS = ["NHS England and NHS Improvement"]


def _title(text: str) -> str:
    first = text.split(". ")[0].rstrip(".")
    return first if len(first) <= 200 else first[:197] + "…"


def _commitment(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    found = _find(client, "/v1/commitments", reference=body["reference"])
    return found or _ok(client.post("/v1/commitments", json=body))


def seed_record(client: httpx.Client, commitments_by_reference: dict[str, dict[str, Any]]) -> None:
    """Load 000's sources and figures, 002's targets and 004's review; idempotent.

    Needs the nine 2023 commitments and the plan's source and areas loaded (`seed` and
    `seed_progress` first); `client` carries `commitments:write`.
    """
    sources = {s["reference"]: _ensure(client, "/v1/sources", "reference", s) for s in SOURCES}
    plan = _find(client, "/v1/sources", reference=PLAN_REFERENCE)
    if plan is None:
        raise RuntimeError(f"source {PLAN_REFERENCE} is not loaded")
    areas = {
        slug: _find(client, "/v1/policy-areas", slug=slug)
        for slug in ("care-of-patients", "health-of-the-population")
    }
    areas["delivery-and-governance"] = _ensure(client, "/v1/policy-areas", "slug", GOVERNANCE_AREA)
    areas["adult-social-care"] = _ensure(client, "/v1/policy-areas", "slug", SOCIAL_CARE_AREA)
    governance = areas["delivery-and-governance"]
    assert governance is not None
    made: dict[str, dict[str, Any]] = dict(commitments_by_reference)
    plan_targets: list[TargetSpec] = []
    for reference, slug, title, text, due_on, leads, target in PLAN_TARGETS:
        area = areas[slug]
        assert area is not None
        made[reference] = _commitment(
            client,
            {
                "reference": reference,
                "title": title,
                "text": text,
                "kind": "target",
                "policy_area_id": area["id"],
                "source_id": plan["id"],
                "lead_bodies": leads,
                "made_on": PLAN_ON,
                "due_on": due_on,
                "status": "in_progress",
            },
        )
        plan_targets.append((reference, target, PLAN_ON, []))
    targets_and_readings(client, made, plan_targets + RESPONSE_TARGETS)
    review = sources[REVIEW_REFERENCE]
    for n, text in enumerate(REVIEW_RECOMMENDATIONS, start=1):
        _commitment(
            client,
            {
                "reference": f"REVIEW-2021-{n}",
                "title": f"Recommendation {n}: {_title(text)}",
                "text": text,
                "kind": "recommendation",
                "policy_area_id": governance["id"],
                "source_id": review["id"],
                "lead_bodies": REVIEW_LEADS,
                "made_on": REVIEW_ON,
            },
        )
