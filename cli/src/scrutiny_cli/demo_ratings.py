"""The 2023 evaluation's ratings as published: a rationale per dimension for each of the nine
ratings, and the Government's April 2023 response.

The rationales quote the Expert Panel's reasons where the Government's response (seed document
000) or the Committee's press release (001) quotes them, report them where 000 reports them, and
say so where neither gives them; the levels themselves are in `demo.RATINGS`. `seed_ratings`
takes the nine draft ratings the main seed has PUT, adds the rationales, agrees them, moves the
evaluation through review to publication on 17 February 2023, and records the Department's
response, commitment by commitment. Run it again and it changes nothing.
"""

from __future__ import annotations

from typing import Any

import httpx

from scrutiny_cli import demo

PUBLISHED_ON = "2023-02-17"

# Where the Government response (000) or the Committee's press release (001) quotes the panel's
# reasons, the rationale quotes them; where 000 only reports them, it says so; where neither
# gives the panel's reasoning for a dimension, the rationale says that rather than supply one.
NOT_REPRODUCED = (
    "Rated as published in HC 780. The panel's reasoning on this dimension is not quoted in "
    "the Government response or the Committee's press release, so none is restated here."
)
R000 = "(quoted in the Government response, 17 April 2023)"
S000 = "(as the Government response, 17 April 2023, reports the panel's report)"
P001 = "(the Chair, in the Committee's press release)"
LESS_THAN_A_YEAR = (
    '"These commitments were made in June 2022, which means that the Government has had less '
    'than a year to work on implementing them at the time of the publication of this report." '
    + R000
)


def _r(met: str, funding: str, impact: str, appropriateness: str) -> dict[str, str]:
    return {
        "commitment_met": met,
        "funding_and_resource": funding,
        "impact": impact,
        "appropriateness": appropriateness,
    }


# commitment reference → dimension → the panel's reason, quoted or reported from the seeds.
RATIONALES: dict[str, dict[str, str]] = {
    "PDHSC-1a": _r(
        '"Overall, we conclude that progress on meeting this commitment is \u2018good\u2019, '
        'given the first target has been reached before the time set out in the commitment." '
        + R000,
        NOT_REPRODUCED,
        '"Some of the evidence we received indicated that the NHS App is proving beneficial to '
        'some patients..." The report commented on the need for greater insight on patient '
        "outcomes and on the App's ability to integrate with other health systems and apps " + S000,
        "The panel's primary concern: the NHS App was a crucial tool in the fight against "
        "COVID-19, but there was a need for a coherent long-term strategy " + S000,
    ),
    "PDHSC-1b": _r(
        NOT_REPRODUCED,
        '"We found that progress on this commitment was supported by additional funding '
        'allocated to digital initiatives during the Covid-19 pandemic." ' + R000,
        '"There are now a large number of smaller projects, many of which are reporting '
        'positive outcomes in specific groups of patients within specific areas." ' + R000,
        "The report questioned whether delegating implementation to ICSs would affect outcomes "
        "given the variation in local digital maturity, and said further work is needed to "
        "monitor benefits to patients " + S000,
    ),
    "PDHSC-1c": _r(
        "The report highlighted the variation in delivery against this commitment across ICSs, "
        "and that social care records were often overlooked " + S000,
        NOT_REPRODUCED,
        NOT_REPRODUCED,
        '"We have rated the appropriateness of [the health and care record] commitment as '
        "\u2018good\u2019. This reflects the general agreement across stakeholders we heard "
        "from that the commitment represents the understanding of the need to share "
        'information effectively across health and social care." ' + R000,
    ),
    "PDHSC-2a": _r(
        "The report mainly focussed on what is being done to achieve public confidence in "
        "secondary uses of data, to ensure interoperability between data sets, and to give "
        "researchers secure access to data while protecting privacy " + S000,
        '"Given the potential for [the Data for R&D] commitment to deliver positive benefits '
        "if the funds promised are delivered over the next three years, we have rated the "
        'funding for this commitment as \u2018good\u2019." ' + R000,
        '"[The Data for R&D] commitment has the potential to deliver substantive benefits for '
        'patients and people in receipt of social care." ' + R000,
        '"Stakeholders were generally very supportive of the Data for Research and Development '
        "aims set out in \u2018Data Saves Lives\u2019, and regarding the value of building on "
        'the lessons learnt during Covid-19." ' + R000,
    ),
    "PDHSC-2b": _r(
        "The panel was concerned that the lessons from this programme have not been learned "
        "nor the reputational damage mitigated " + S000,
        NOT_REPRODUCED,
        '"We have seen no clear plan for how the Government will address public and provider '
        "concerns regarding sharing personal data, which is crucial to address in order for "
        'this to be successful." ' + P001,
        '"Despite the challenges required to implement it effectively, we rate the '
        "appropriateness of this commitment as \u2018good\u2019, given its continued "
        'importance for the digitisation of the NHS." ' + R000,
    ),
    "PDHSC-3a": _r(
        '"We recognise the work that the Department and NHSE have done to simplify the process '
        'of buying and selling technology to the NHS" ' + R000,
        NOT_REPRODUCED,
        NOT_REPRODUCED,
        LESS_THAN_A_YEAR,
    ),
    "PDHSC-3b": _r(
        '"We acknowledge the work that has been done by the Department and NHSE on national '
        "framework agreements and standards as well as improving procurement processes "
        'generally" ' + R000,
        NOT_REPRODUCED,
        NOT_REPRODUCED,
        LESS_THAN_A_YEAR,
    ),
    "PDHSC-4a": _r(
        '"Ministers have delayed a strategy focused on delivering a digital workforce." ' + P001,
        '"[T]he Panel recognises the important initiatives to digitally upskill the workforce '
        "which have been introduced, such as introducing roles like Chief Clinical Information "
        "Officer (CCIO) and Chief Nursing Information Officer (CNIO), and the NHS Digital "
        'Academy." ' + R000,
        "The report expressed concern that training was not rolled out comprehensively, "
        "leading to an uneven impact on patients " + S000,
        '"Stakeholders were positive regarding the appropriateness of this commitment [to '
        "develop a workforce strategy], especially concerning long-term support and linked to "
        'support for other aspects of digital transformation" ' + R000,
    ),
    "PDHSC-4b": _r(
        '"Evidence also highlights challenges in recruiting, retaining and building the '
        'specialised digital workforce" ' + P001,
        NOT_REPRODUCED,
        NOT_REPRODUCED,
        NOT_REPRODUCED,
    ),
}

# Recorded by the Department's own client: a response is from the organisation that signs in.
RESPONDENT = "Department of Health and Social Care"
RESPONSE_TEXT = (
    "The Government welcomes this report and the \u201csignificant progress\u201d that it "
    "highlights in the digital transformation of the NHS, in areas such as the NHS App and use "
    "of data for research and development. Whilst we don\u2019t recognise the overall rating of "
    "inadequate as reflective of progress to date and plans in place on digital transformation "
    "of the NHS and social care, the report provides very helpful insights and learning for "
    "improvement on the specific areas focused on that we look forward to building into our "
    "programmes. (Government memorandum response, 17 April 2023, introduction.)"
)
JOINT_6_7 = (
    "Commitments 6 and 7 refer to the same programme of work and we provided written evidence "
    "jointly on these two commitments; we will similarly provide a single response for both "
    "commitments. A first iteration of the NHS digital framework recommendations has been "
    "published, which has consolidated routes to market. This part of the commitment has been "
    "met overall and new objectives have been set for further consolidation."
)
# Per commitment: the position our reading of the memorandum gives it (the memorandum does not
# label its answers), and the memorandum's own words that carry it.
RESPONSE_ITEMS: list[tuple[str, str, str]] = [
    (
        "PDHSC-1a",
        "already_in_hand",
        "We have set out a roadmap for its future development and are currently working on a "
        "transformation strategy and delivery plan to go further and faster to ensure it "
        "delivers for patients and the public.",
    ),
    (
        "PDHSC-1b",
        "already_in_hand",
        "37 ICSs have virtual wards enabled by technology, which translates into 180 services "
        "(of 352 total). Work is underway to ensure the remaining 5 ICSs have at least 1 "
        "virtual ward enabled by technology by the end of March 2023.",
    ),
    (
        "PDHSC-1c",
        "already_in_hand",
        "We are aiming to address this variation through a \u00a32bn investment to digitise and "
        "connect the frontline over the next 3 years. Currently 88% of trusts have an EPR and "
        "this is expected to rise to 91% by December 2023 (against a target of 90%).",
    ),
    (
        "PDHSC-2a",
        "already_in_hand",
        "We will also undertake further work in the coming years so that by March 2025 we will "
        "have a globally competitive NHS-wide health data infrastructure that enhances patient "
        "care, sustains the NHS and supports innovation.",
    ),
    (
        "PDHSC-2b",
        "under_consideration",
        "We are in the process of learning lessons and considering \u2013 working with "
        "stakeholders \u2013 the best way to realise that commitment whilst also addressing "
        "concerns and meeting the tests we have outlined publicly.",
    ),
    ("PDHSC-3a", "already_in_hand", JOINT_6_7),
    ("PDHSC-3b", "already_in_hand", JOINT_6_7),
    (
        "PDHSC-4a",
        "already_in_hand",
        "A Digital Workforce Plan is on track to be published in 2023, as per the commitment.",
    ),
    (
        "PDHSC-4b",
        "not_accepted",
        "The Expert Panel rated this commitment as \u2018inadequate\u2019 across the board. "
        "Given that the commitment was only made last year and spans until 2030, it is too "
        "early to assess the full impact, however we are broadly on track against the revised "
        "timelines.",
    ),
]
RESPONSE: dict[str, Any] = {
    "position": "disputes",
    "received_on": "2023-04-17",
    "text": RESPONSE_TEXT,
}


def response_body(commitments_by_reference: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The memorandum as one response: its position on the overall rating, and one item per
    commitment (6 and 7 answered jointly, so the same words for both)."""
    return {
        **RESPONSE,
        "items": [
            {"commitment_id": commitments_by_reference[r]["id"], "position": p, "text": t}
            for r, p, t in RESPONSE_ITEMS
        ],
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
        _ok(respondent.post(f"{base}/responses", json=response_body(commitments_by_reference)))
