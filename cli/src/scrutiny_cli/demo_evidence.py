"""Demo evidence: a call for evidence for the 2023 evaluation, the Government's memorandum
(seed document 000) as a `government_memorandum` submission from the Department, and six
illustrative submissions.

The illustrative submissions are written for the demo, not anyone's evidence: each comes from a
clearly fictional organisation (its own API client, so the submitter the API records is that
organisation) and says it is illustrative. They echo themes the Government's response reports
stakeholders raised (shared care records, the digital workforce, NHS App access, procurement
frameworks, remote monitoring, GP data), never a real organisation's words.

`seed_evidence` loads them through the public API, idempotently: the call is found by its title,
each submission by its title within the call (the memorandum among memoranda) and created with a
stable `Idempotency-Key` (so a retry mid-run replays rather than duplicates), and only the missing
moderation steps are taken.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

# The panel's call ran before its report (17 February 2023). Each submission is entered under
# the date it stands for (`received_at`, which needs `admin`), so none arrives late however long
# after the call the demo is loaded; the evidence service keeps the real arrival as
# `recorded_at`.
CALL: dict[str, Any] = {
    "title": (
        "Evaluation of Government commitments on the digitisation of the NHS: written evidence"
    ),
    "description": (
        "The Health and Social Care Committee's Expert Panel invites written evidence on "
        "progress against nine commitments from 'A plan for digital health and social care': "
        "whether each was met, whether it was funded and resourced, its impact on patients and "
        "people in receipt of care, and whether it was the right commitment to make."
    ),
    "opens_at": "2022-10-01T09:00:00+00:00",
    "closes_at": "2022-11-30T17:00:00+00:00",
    "late_submissions_allowed": False,
    "reference_prefix": "DIG",
}

# The nine commitments the 2023 evaluation rated (references of the demo commitments).
COMMITMENTS_IN_SCOPE = [
    "PDHSC-1a",
    "PDHSC-1b",
    "PDHSC-1c",
    "PDHSC-2a",
    "PDHSC-2b",
    "PDHSC-3a",
    "PDHSC-3b",
    "PDHSC-4a",
    "PDHSC-4b",
]

ILLUSTRATIVE = (
    "Illustrative submission, written for the demo by a fictional organisation; it stands for "
    "evidence received in November 2022, inside the call, and is not real evidence. "
)
DHSC = "Department of Health and Social Care"

# key (stable, for Idempotency-Key), the (illustrative, fictional) date it was received inside
# the call, the submitting organisation, commitments, kind, stance, consent, title, summary,
# body
SUBMISSIONS: list[dict[str, Any]] = [
    {
        "key": "demo-evidence-nhs-providers-shared-care-records-illustrative",
        "received_at": "2022-11-02T10:00:00+00:00",
        "org": "Northmoor Integrated Care System (fictional)",
        "commitments": ["PDHSC-1c"],
        "kind": "written",
        "stance": "mixed",
        "consent": "publish",
        "title": "Northmoor ICS (fictional): shared care records are spreading, unevenly",
        "summary": (
            ILLUSTRATIVE
            + "Nearly every integrated care system now runs some shared care record and the "
            "established ones link more partners each year, but depth and reach vary widely."
        ),
        "body": (
            "Our members report real movement on shared care records. Almost all integrated "
            "care systems have at least a basic record in place, and the older ones have been "
            "extended to take in more organisations: community services, mental health trusts, "
            "hospices and, in places, local authorities.\n\n"
            "What a clinician can actually see still depends heavily on where the patient lives. "
            "Some systems show little beyond a summary; others bring together test results, care "
            "plans and correspondence. Social care is the part most often missing, and without "
            "it the promise of one record that the person, their carers and their care team can "
            "all rely on is not yet kept.\n\n"
            "We would ask the panel to judge the commitment on what is shared and used at the "
            "point of care, not on whether a record exists in each system."
        ),
    },
    {
        "key": "demo-evidence-royal-college-digital-workforce-illustrative",
        "received_at": "2022-11-09T14:30:00+00:00",
        "org": "Northmoor Integrated Care System (fictional)",
        "commitments": ["PDHSC-4a", "PDHSC-4b"],
        "kind": "written",
        "stance": "challenges",
        "consent": "publish",
        "title": (
            "Northmoor ICS (fictional): digital workforce plans have not reached the front line"
        ),
        "summary": (
            ILLUSTRATIVE
            + "Clinical informatics roles and leadership programmes are welcome, but training is "
            "patchy and specialist digital staff are hard to recruit and keep."
        ),
        "body": (
            "We welcome the growth of chief clinical and nursing information officer roles and "
            "of national leadership programmes; they have created a visible career path for a "
            "small number of clinicians.\n\n"
            "For most of the workforce, though, digital training remains an afterthought that "
            "depends on the employer. Staff in one trust may be well supported while colleagues "
            "nearby are given a new system with an hour's induction. The result is uneven care "
            "for patients.\n\n"
            "Specialist digital, data and technology posts are difficult to fill. Pay is not "
            "competitive with other sectors, the roles are poorly described in workforce data, "
            "and short-term funding leaves trusts reliant on contractors. Until a national "
            "workforce plan is published and funded, we doubt the target of thousands of "
            "additional specialist staff by 2030 can be met."
        ),
    },
    {
        "key": "demo-evidence-charity-nhs-app-accessibility-illustrative",
        "received_at": "2022-11-14T09:15:00+00:00",
        "org": "Fenwick Patients' Forum (fictional)",
        "commitments": ["PDHSC-1a"],
        "kind": "written",
        "stance": "challenges",
        "consent": "publish",
        "title": (
            "Fenwick Patients' Forum (fictional): the NHS App must work for people with low "
            "digital skills"
        ),
        "summary": (
            ILLUSTRATIVE
            + "Registrations are high, but people who are older, disabled or not confident online "
            "risk being left behind unless carers can act for them and other channels stay open."
        ),
        "body": (
            "The number of people registered for the NHS App is impressive, and many of the "
            "people we support value seeing their records and ordering repeat prescriptions "
            "without a phone queue.\n\n"
            "Registration is not the same as access. People with limited digital skills, some "
            "disabled people and many older people struggle to sign up and to use the App "
            "without help. Carers and parents need reliable proxy access so they can act on "
            "someone's behalf.\n\n"
            "We ask that progress is measured by who can use the App, not only by how many "
            "have registered, and that telephone and face-to-face routes remain for those who "
            "need them."
        ),
    },
    {
        "key": "demo-evidence-supplier-procurement-frameworks-illustrative",
        "received_at": "2022-11-21T16:00:00+00:00",
        "org": "Hartley Digital Health Ltd (fictional)",
        "commitments": ["PDHSC-3a", "PDHSC-3b"],
        "kind": "written",
        "stance": "mixed",
        "consent": "publish",
        "title": "Hartley Digital Health (fictional): fewer, clearer procurement frameworks",
        "summary": (
            ILLUSTRATIVE
            + "Overlapping frameworks make selling to the NHS slow and costly; building standards "
            "into frameworks is right, provided smaller suppliers are not shut out."
        ),
        "body": (
            "As a supplier we spend a large share of our bid effort finding and qualifying for "
            "overlapping national and regional frameworks, each with its own terms. Buyers face "
            "the same confusion from the other side.\n\n"
            "We support consolidating routes to market and writing interoperability and "
            "security standards into the frameworks themselves; that rewards suppliers who "
            "follow the standards.\n\n"
            "Consolidation should not become a barrier to entry. Fewer, larger lots can favour "
            "incumbents. We would like to see the new operating model published with clear "
            "timescales and a route for smaller firms."
        ),
    },
    {
        "key": "demo-evidence-ics-remote-monitoring-illustrative",
        "received_at": "2022-11-24T11:45:00+00:00",
        "org": "Northmoor Integrated Care System (fictional)",
        "commitments": ["PDHSC-1b"],
        "kind": "written",
        "stance": "supports",
        "consent": "publish_anonymously",
        "title": "Northmoor ICS (fictional): remote monitoring is helping at home",
        "summary": (
            ILLUSTRATIVE
            + "Virtual wards and home monitoring are showing benefits for particular groups of "
            "patients; the challenge now is evaluation and scaling."
        ),
        "body": (
            "In our system, remote monitoring for people with long-term conditions and our "
            "technology-enabled virtual wards have let patients go home sooner or avoid "
            "admission altogether. Clinicians value the early warning the readings give.\n\n"
            "The projects are still many and small. Each was funded separately, evaluated "
            "differently and built on different platforms. We need shared measures of benefit "
            "and steady funding to move from pilots to a service everyone can use."
        ),
    },
    {
        "key": "demo-evidence-patient-group-gp-data-illustrative",
        "received_at": "2022-11-28T15:20:00+00:00",
        "org": "Fenwick Patients' Forum (fictional)",
        "commitments": ["PDHSC-2a", "PDHSC-2b"],
        "kind": "written",
        "stance": "challenges",
        "consent": "publish",
        "title": (
            "Fenwick Patients' Forum (fictional): trust in research data depends on "
            "de-identification"
        ),
        "summary": (
            ILLUSTRATIVE
            + "Secure research environments are the right model, but the missed commitment to "
            "de-identify GP data on collection has cost public confidence."
        ),
        "body": (
            "We support giving researchers access to linked health data through secure "
            "environments instead of copying data out; it is the model the public is most "
            "likely to trust.\n\n"
            "The commitment to de-identify data as it is collected from GP practices was due "
            "years ago and has not been delivered. Each delay, and the confusion around past "
            "data collections, makes people more likely to opt out. Investment in research "
            "data will only pay off if patients are told plainly what is collected, how it is "
            "protected and who may use it."
        ),
    },
]


# The Government's memorandum of 17 April 2023 (seed 000), submitted by the Department itself.
# It answers the panel's published report, not its call for evidence (closed in November 2022),
# so it is stand-alone evidence on the nine commitments rather than a late answer to the call.
MEMORANDUM: dict[str, Any] = {
    "key": "demo-evidence-dhsc-memorandum-2023-04-17",
    # The day is the record's; its time of day is not, so the day's start stands for it.
    "received_at": "2023-04-17T00:00:00+00:00",
    "org": DHSC,
    "commitments": COMMITMENTS_IN_SCOPE,
    "kind": "government_memorandum",
    "stance": "supports",
    "consent": "publish",
    "title": "Government memorandum response to the Expert Panel's evaluation (17 April 2023)",
    "summary": (
        "The Department of Health and Social Care's memorandum of 17 April 2023 responding to "
        "the Expert Panel's evaluation (HC 780), commitment by commitment."
    ),
    "body": (
        "This is the Government's memorandum response to the Health and Social Care "
        "Committee's Expert Panel 'Evaluation of Government commitments made on the "
        "digitisation of the NHS'.\n\n"
        "The Government welcomes this report and the \u201csignificant progress\u201d that it "
        "highlights in the digital transformation of the NHS, in areas such as the NHS App and "
        "use of data for research and development. Whilst we don\u2019t recognise the overall "
        "rating of inadequate as reflective of progress to date and plans in place on digital "
        "transformation of the NHS and social care, the report provides very helpful insights "
        "and learning for improvement on the specific areas focused on that we look forward to "
        "building into our programmes.\n\n"
        "(Opening of the memorandum as published in the Committee's Eighth Special Report of "
        "Session 2022\u201323; received 17 April 2023. Its answer on each commitment is recorded "
        "as the Government's response to the evaluation.)"
    ),
}


class EvidenceSeedError(RuntimeError):
    """The evidence API refused demo data."""


def _check(resp: httpx.Response) -> dict[str, Any]:
    if resp.status_code >= 400:
        raise EvidenceSeedError(
            f"{resp.request.method} {resp.request.url.path} → {resp.status_code}: {resp.text}"
        )
    body: dict[str, Any] = resp.json()
    return body


def _all(client: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    query: dict[str, Any] = {"page_size": 200, **params}
    while True:
        page = _check(client.get(path, params=query))
        items += page["items"]
        if not page["next_page_token"]:
            return items
        query["page_token"] = page["next_page_token"]


def _post_known(
    client: httpx.Client,
    path: str,
    body: dict[str, Any],
    *,
    headers: dict[str, str] | None = None,
    wait: float,
) -> dict[str, Any]:
    """POST, retrying while the evidence service's read model has not learnt the commitments."""
    deadline = time.monotonic() + wait
    while True:
        resp = client.post(path, json=body, headers=headers)
        if resp.status_code == 422 and time.monotonic() < deadline:
            errors = resp.json().get("errors") or []
            if errors and all(e.get("code") == "unknown_reference" for e in errors):
                time.sleep(0.25)
                continue
        return _check(resp)


def _step(client: httpx.Client, ident: str, action: str, reason: str) -> None:
    _check(
        client.post(f"/v1/submissions/{ident}/decisions", json={"action": action, "reason": reason})
    )


def seed_evidence(
    client: httpx.Client,
    commitments_by_reference: dict[str, dict[str, Any]],
    submitters: dict[str, httpx.Client],
    *,
    read_model_wait: float = 30,
) -> None:
    """Create the demo call and publish the demo submissions, adding only what is missing.

    `client` talks to the gateway (or the evidence service) with a token carrying
    `evidence:moderate`; `submitters` holds, per submitting organisation (the fictional ones
    and the Department), a client whose token carries `evidence:submit` for it, since the API
    records the token's organisation as the submitter, and `admin`, to enter each under the
    date it was received; `commitments_by_reference` maps the demo
    commitments' references to their representations (at least their `id`).
    """
    ids = {ref: commitments_by_reference[ref]["id"] for ref in COMMITMENTS_IN_SCOPE}
    call = next(
        (c for c in _all(client, "/v1/calls-for-evidence") if c["title"] == CALL["title"]), None
    )
    if call is None:
        call = _post_known(
            client,
            "/v1/calls-for-evidence",
            {**CALL, "commitment_ids": [ids[r] for r in COMMITMENTS_IN_SCOPE]},
            wait=read_model_wait,
        )
    existing = {
        s["title"]: s
        for s in [
            *_all(client, "/v1/submissions", call_id=call["id"]),
            *_all(client, "/v1/submissions", kind=MEMORANDUM["kind"]),
        ]
    }
    for spec in [*SUBMISSIONS, MEMORANDUM]:
        found = existing.get(spec["title"])
        if found is None:
            body = {
                "call_id": None if spec is MEMORANDUM else call["id"],
                "commitment_ids": [ids[r] for r in spec["commitments"]],
                **{
                    k: spec[k]
                    for k in (
                        "kind",
                        "stance",
                        "consent",
                        "title",
                        "summary",
                        "body",
                        "received_at",
                    )
                },
            }
            found = _post_known(
                submitters[spec["org"]],
                "/v1/submissions",
                body,
                headers={"Idempotency-Key": spec["key"]},
                wait=read_model_wait,
            )
        if found["status"] == "received":
            _step(client, found["id"], "accept", "Within the call's scope and limits.")
            found["status"] = "accepted"
        # Only what the seed itself left half-way: a submission a moderator withheld stays so.
        if found["status"] == "accepted":
            _step(client, found["id"], "publish", "Published as written evidence to the panel.")
