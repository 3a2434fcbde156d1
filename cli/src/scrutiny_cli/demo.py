"""The demo data set: the Health and Social Care Committee Expert Panel's 2023 evaluation of nine
Government commitments on the digitisation of the NHS (seed document 000, the Government's
response, which reproduces the panel's rating table; 002 summarises the plan they come from).

Facts only: wording, dates, ratings. Loaded through the public API, so it is validated exactly as
any client's data would be.
"""

from __future__ import annotations

from typing import Any

SOURCE: dict[str, Any] = {
    "reference": "DHSC-PDHSC-2022",
    "title": "A plan for digital health and social care",
    "publisher": "Department of Health and Social Care",
    "kind": "plan",
    "published_on": "2022-06-29",
    "url": "https://www.gov.uk/government/publications/a-plan-for-digital-health-and-social-care",
}

POLICY_AREAS: list[dict[str, Any]] = [
    {
        "slug": "care-of-patients",
        "name": "Care of patients and people in receipt of social care",
        "description": "How digital services change the care people receive.",
    },
    {
        "slug": "health-of-the-population",
        "name": "Health of the population",
        "description": "Data for research, planning and public health.",
    },
    {
        "slug": "cost-and-efficiency",
        "name": "Cost and efficiency of care",
        "description": "Procurement, contracting and standards.",
    },
    {
        "slug": "workforce",
        "name": "Workforce literacy and the digital workforce",
        "description": "Digital skills and the digital, data and technology workforce.",
    },
]

# (reference, policy area slug, title, published wording, due date, lead bodies)
COMMITMENTS: list[tuple[str, str, str, str, str | None, list[str]]] = [
    (
        "PDHSC-1a",
        "care-of-patients",
        "NHS App registration: 75% of adults by 2024",
        "Our aim is that, by 2024, 75% of adults will have registered for the NHS App with 68% "
        "(over 30 million people) having done so by March 2023.",
        "2024-12-31",
        ["NHS England"],
    ),
    (
        "PDHSC-1b",
        "care-of-patients",
        "Monitoring and managing long-term conditions at home",
        "By increasing digital connection and providing more personalised care, we can support "
        "people to monitor and better manage their long-term health conditions in their own homes, "
        "enabling them to live well and independently for longer.",
        None,
        ["NHS England", "Department of Health and Social Care"],
    ),
    (
        "PDHSC-1c",
        "care-of-patients",
        "Integrated health and care records for all",
        "Roll out integrated health and care records to all people, providing a functionally "
        "single health and care record that people, their carers and care teams can all safely "
        "access, enabled by a combination of nationally held summary data and links to locally "
        "held records, including shared care records.",
        None,
        ["NHS England"],
    ),
    (
        "PDHSC-2a",
        "health-of-the-population",
        "Data for Research and Development: up to £200 million",
        "Through the Data for Research and Development programme we will invest up to £200 "
        "million to transform access to and linkage of NHS health and genomic data sets for "
        "data-driven innovation and inclusive clinical trials, whose results will be critical to "
        "ensuring public confidence in data access for research and innovation purposes.",
        None,
        ["Department of Health and Social Care", "NHS England"],
    ),
    (
        "PDHSC-2b",
        "health-of-the-population",
        "De-identifying GP data on collection by September 2019",
        "NHS Digital will develop and implement a mechanism to de-identify data on collection "
        "from GP practices by September 2019.",
        "2019-09-30",
        ["NHS Digital"],
    ),
    (
        "PDHSC-3a",
        "cost-and-efficiency",
        "Streamlined contracting methods",
        "We will streamline contracting methods both to leverage NHS buying power and simplify "
        "the process of selling technology to NHS buyers (ongoing).",
        None,
        ["NHS England"],
    ),
    (
        "PDHSC-3b",
        "cost-and-efficiency",
        "Consolidated routes to market and a procurement operating model",
        "We will consolidate routes to market and strengthen our commercial levers for adopting "
        "standards through a new target operating model for procurement. This will include "
        "embedding standards as part of procurement frameworks, supporting NHS procurement teams "
        "to prioritise adherence to standards. Consolidation of the number of frameworks will "
        "encourage market entry and more choice in some markets, incentivising vendors to follow "
        "NHS standards.",
        None,
        ["NHS England"],
    ),
    (
        "PDHSC-4a",
        "workforce",
        "A national digital workforce strategy",
        "We will co-create a national digital workforce strategy with the health and care system "
        "setting out a framework for bridging the skills gap and making the NHS an attractive "
        "place to work.",
        None,
        ["NHS England", "Health Education England"],
    ),
    (
        "PDHSC-4b",
        "workforce",
        "10,500 additional digital, data and technology staff by 2030",
        "We will enable recruitment retention and growth of the digital, data, technology "
        "workforce to meet challenging projected health and care demand by 2030 through "
        "graduates, apprentices and experienced hires creating posts for an additional 10,500 "
        "full-time staff.",
        "2030-12-31",
        ["NHS England"],
    ),
]

DIMENSIONS = ("commitment_met", "funding_and_resource", "impact", "appropriateness")
G, RI, I = "good", "requires_improvement", "inadequate"  # noqa: E741 (the table reads as published)

# The panel's published table: (commitment reference, levels per dimension, published overall).
RATINGS: list[tuple[str, tuple[str, str, str, str], str]] = [
    ("PDHSC-1a", (G, RI, RI, RI), RI),
    ("PDHSC-1b", (RI, RI, RI, RI), RI),
    ("PDHSC-1c", (I, I, I, G), I),
    ("PDHSC-2a", (I, G, I, G), RI),
    ("PDHSC-2b", (I, I, I, G), I),
    ("PDHSC-3a", (RI, RI, RI, RI), RI),
    ("PDHSC-3b", (RI, RI, RI, RI), RI),
    ("PDHSC-4a", (I, RI, I, G), I),
    ("PDHSC-4b", (I, I, I, I), I),
]
EVALUATION_OVERALL = I

EVALUATION: dict[str, Any] = {
    "title": "Evaluation of Government commitments made on the digitisation of the NHS",
    "body": "Health and Social Care Committee Expert Panel",
    "chair": "Professor Dame Jane Dacre",
    "members": [],
    "aggregation_rule": "floor_mean",
    "published_on": "2023-02-17",
}

# The seeds name the panel's chair (the Committee's press release, 001) and no other member, so
# the demo panel seats the chair alone and invents nobody. Its seat is acted for by the client
# that loads the demo, standing in for the Committee secretariat, which keys in the chair's
# decisions; no individual scores are recorded, as the seeds publish only agreed ratings.
CHAIR = "Professor Dame Jane Dacre"


def panel(secretariat_client_id: str) -> list[dict[str, str]]:
    """The 2023 panel as the seeds name it: its chair, acted for by the secretariat's client."""
    return [{"name": CHAIR, "role": "chair", "client_id": secretariat_client_id}]
