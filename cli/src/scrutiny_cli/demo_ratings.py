"""The 2023 evaluation's ratings as published: a rationale per dimension for each of the nine
ratings, and the Government's April 2023 response.

The rationales are short summaries, in our own words, of the reasons the Expert Panel gave (as
quoted in the Government's response, seed document 000, and the Committee's press release, 001);
the levels themselves are in `demo.RATINGS`. `seed_ratings` takes the nine draft ratings the
main seed has PUT, adds the rationales, agrees them, moves the evaluation through review to
publication on 17 February 2023, and records the response. Run it again and it changes nothing.
"""

from __future__ import annotations

from typing import Any

import httpx

from scrutiny_cli import demo

PUBLISHED_ON = "2023-02-17"

# commitment reference → dimension → why the panel rated it so.
RATIONALES: dict[str, dict[str, str]] = {
    "PDHSC-1a": {
        "commitment_met": (
            "The first milestone was reached early: over 30 million people had registered for "
            "the NHS App before March 2023, so progress on the target itself is good."
        ),
        "funding_and_resource": (
            "Much of the growth came from the COVID pass; the panel saw no coherent long-term "
            "strategy or funding plan for the App beyond the pandemic."
        ),
        "impact": (
            "Patients with complex conditions value seeing records and ordering prescriptions, "
            "but there is little insight into outcomes, and integration with other systems and "
            "apps is limited."
        ),
        "appropriateness": (
            "A registration count says little about benefit to patients, and accessibility for "
            "people with low digital skills needs more attention."
        ),
    },
    "PDHSC-1b": {
        "commitment_met": (
            "Many small remote-monitoring projects report good results for particular groups, "
            "but there is no national picture of progress against the commitment."
        ),
        "funding_and_resource": (
            "Progress leant on additional pandemic-era funding for digital initiatives; "
            "sustained funding beyond that is unclear."
        ),
        "impact": (
            "Digital tools could relieve pressure on the NHS, yet benefits to patients are not "
            "yet monitored consistently and are uneven between areas."
        ),
        "appropriateness": (
            "Delegating delivery to integrated care systems of very different digital maturity "
            "risks widening variation in what patients receive."
        ),
    },
    "PDHSC-1c": {
        "commitment_met": (
            "Every integrated care system has a basic shared care record, but provision varies "
            "widely and is far from a functionally single record for all."
        ),
        "funding_and_resource": (
            "Funding has not matched the scale of connecting health and social care records "
            "across the country."
        ),
        "impact": (
            "Social care records are often left out, so people, carers and care teams cannot yet "
            "rely on one shared record."
        ),
        "appropriateness": (
            "Stakeholders agree that sharing information across health and social care is the "
            "right aim, so the commitment itself is appropriate."
        ),
    },
    "PDHSC-2a": {
        "commitment_met": (
            "The Data for Research and Development programme is at an early stage and has not "
            "yet transformed access to or linkage of health and genomic data."
        ),
        "funding_and_resource": (
            "Up to £200 million is committed over three years; if it is delivered, the programme "
            "is well placed to succeed."
        ),
        "impact": (
            "There is not yet a clear plan to win public confidence in how data is used for "
            "research, nor to ensure interoperability between data sets."
        ),
        "appropriateness": (
            "Stakeholders strongly support the aims and the wish to build on lessons from "
            "COVID-19 research."
        ),
    },
    "PDHSC-2b": {
        "commitment_met": (
            "The September 2019 deadline was missed; the GP data programme was paused in 2021 "
            "after public, patient and professional concern."
        ),
        "funding_and_resource": (
            "No adequately resourced route back to collecting de-identified GP data was evident."
        ),
        "impact": (
            "Lessons from the pause have not been learned and the damage to trust in data "
            "sharing has not been repaired."
        ),
        "appropriateness": (
            "De-identification remains necessary for good data sets that help tackle health "
            "inequalities, so the commitment is appropriate."
        ),
    },
    "PDHSC-3a": {
        "commitment_met": (
            "Work to simplify buying and selling technology has begun, but the commitment was "
            "made in June 2022 and is far from complete."
        ),
        "funding_and_resource": (
            "Resourcing for a lasting change to contracting methods was not clearly set out."
        ),
        "impact": (
            "Some procurements went well (Microsoft 365 during the pandemic), but suppliers still "
            "face a complex landscape."
        ),
        "appropriateness": (
            "Adult social care hardly features in the commercial approach, which limits how well "
            "the commitment fits the whole system."
        ),
    },
    "PDHSC-3b": {
        "commitment_met": (
            "National framework agreements and standards have moved on, but consolidation under "
            "a new procurement operating model is at an early stage."
        ),
        "funding_and_resource": (
            "The resources behind the new target operating model were not clear to the panel."
        ),
        "impact": (
            "There is little evidence yet that frameworks encourage market entry or make vendors "
            "adopt NHS standards."
        ),
        "appropriateness": (
            "Embedding standards in procurement is sensible, but social care providers and their "
            "suppliers are largely outside its scope."
        ),
    },
    "PDHSC-4a": {
        "commitment_met": (
            "The national digital workforce strategy had been delayed and was not published "
            "when the panel reported."
        ),
        "funding_and_resource": (
            "Initiatives such as the NHS Digital Academy and clinical information officer roles "
            "are funded, but not at the scale needed."
        ),
        "impact": (
            "Training has not reached staff comprehensively, so its effect on patients is uneven."
        ),
        "appropriateness": (
            "Stakeholders welcomed a strategy with long-term support, linked to the rest of "
            "digital transformation."
        ),
    },
    "PDHSC-4b": {
        "commitment_met": (
            "There is no clear route to 10,500 additional digital, data and technology staff by "
            "2030, and vacancies remain."
        ),
        "funding_and_resource": (
            "Year-to-year funding and pay that trails other sectors make it hard to recruit and "
            "keep specialist staff."
        ),
        "impact": ("Without the specialist workforce, other digital commitments are put at risk."),
        "appropriateness": (
            "A headcount target without a workforce plan behind it, and with social care "
            "largely unmeasured, is not an adequate commitment."
        ),
    },
}

# Recorded by the Department's own client: a response is from the organisation that signs in.
RESPONDENT = "Department of Health and Social Care"
RESPONSE: dict[str, Any] = {
    "position": "disputes",
    "received_on": "2023-04-17",
    "text": (
        "The Government welcomes the panel's report and the significant progress it recognises, "
        "for example on the NHS App and the use of data for research, but does not recognise "
        "the overall rating of inadequate as reflecting progress to date and the plans in place "
        "for digital transformation of health and social care. It points to progress since "
        "evidence was taken: electronic patient records on track for 90% of trusts by December "
        "2023, digital care records for 80% of CQC-registered adult social care providers by "
        "March 2024, shared care records in every integrated care system, and a digital "
        "workforce plan due in 2023. It regrets that ministers could not give evidence to the "
        "panel and commits to building the report's lessons into its programmes."
    ),
}


class SeedRatingsError(RuntimeError):
    """The ratings API refused the demo ratings."""


def _ok(resp: httpx.Response) -> httpx.Response:
    if resp.status_code >= 400:
        raise SeedRatingsError(
            f"{resp.request.method} {resp.request.url.path} → {resp.status_code}: {resp.text}"
        )
    return resp


def seed_ratings(
    client: httpx.Client,
    evaluation: dict[str, Any],
    commitments_by_reference: dict[str, dict[str, Any]],
    respondent: httpx.Client,
) -> None:
    """Add rationales to the nine draft ratings, agree them, publish, and record the response.

    Idempotent: each step looks at the current state first, so a second run changes nothing.
    `client` must carry a token with `ratings:write` and `ratings:publish`; `respondent` one with
    `responses:write` for the Department of Health and Social Care.
    """
    base = f"/v1/evaluations/{evaluation['id']}"
    current = _ok(client.get(base)).json()
    if current["status"] == "withdrawn":
        raise SeedRatingsError(f"evaluation {evaluation['id']} has been withdrawn")
    if current["status"] in ("draft", "in_review"):
        for reference, levels, _overall in demo.RATINGS:
            cid = commitments_by_reference[reference]["id"]
            wanted = {
                "levels": dict(zip(demo.DIMENSIONS, levels, strict=True)),
                "rationales": RATIONALES[reference],
            }
            got = client.get(f"{base}/ratings/{cid}")
            if got.status_code == 404:
                _ok(client.put(f"{base}/ratings/{cid}", json={**wanted, "status": "agreed"}))
                continue
            rating = _ok(got).json()
            same = all(rating[k] == v for k, v in wanted.items())
            if same and rating["status"] == "agreed":
                continue
            _ok(
                client.patch(
                    f"{base}/ratings/{cid}",
                    json={**wanted, "status": "agreed"},
                    headers={
                        "If-Match": got.headers["etag"],
                        "Content-Type": "application/merge-patch+json",
                    },
                )
            )
        if current["status"] == "draft":
            _ok(client.post(f"{base}/submit-for-review"))
        _ok(client.post(f"{base}/publish", json={"published_on": PUBLISHED_ON}))
    responses = _ok(
        client.get(f"{base}/responses", params={"position": RESPONSE["position"]})
    ).json()["items"]
    if not any(
        r["respondent"] == RESPONDENT
        and r["received_on"] == RESPONSE["received_on"]
        and r["commitment_id"] is None
        for r in responses
    ):
        _ok(respondent.post(f"{base}/responses", json=RESPONSE))
