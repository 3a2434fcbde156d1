"""Panels as principals: only an evaluation's panel writes it, only its chair agrees and moves it
on, and an outsider (with every scope, or chairing another panel) learns no more than a public
reader. Also: blind individual scores, declared interests and recusal, and agreement."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import krippendorff
import pytest
from fastapi.routing import APIRoute

from ratings.agreement import alpha_of
from ratings.routers import ROUTERS
from tests.ratings.helpers import (
    PROBLEM,
    G,
    I,
    Json,
    O,
    R,
    all_pages,
    create_evaluation,
    events_since,
    feed_head,
    levels,
    make_commitments,
    rating_url,
)
from tests.support.tokens import TestIssuer

ALL_SCOPES = ("ratings:write", "ratings:publish", "responses:write", "commitments:write")


def client_id(role: str) -> str:
    return f"{role}-{uuid.uuid4().hex[:8]}"


class Panel:
    """A fictional panel's clients and their tokens (every scope each: only the panel decides)."""

    def __init__(self, issuer: TestIssuer, *roles: str) -> None:
        self.clients = {role: client_id(role) for role in roles}
        self.auth = {
            role: issuer.auth(*ALL_SCOPES, client_id=cid, org="Fictional panel", ttl=3600)
            for role, cid in self.clients.items()
        }

    def seats(self) -> list[dict[str, str]]:
        kinds = {"chair": "chair", "secretariat": "secretariat"}
        return [
            {
                "name": f"{role.title()} (fictional)",
                "role": kinds.get(role, "member"),
                "client_id": cid,
            }
            for role, cid in self.clients.items()
        ]


async def panel_evaluation(
    client: httpx.AsyncClient, commitments, cwriter, panel: Panel, n: int = 2
) -> tuple[Json, list[str]]:
    ids = await make_commitments(commitments, cwriter, n)
    r = await create_evaluation(client, panel.auth["chair"], ids, panel=panel.seats())
    assert r.status_code == 201, r.text
    return r.json(), ids


def member_id(ev: Json, panel: Panel, role: str) -> str:
    return next(m["id"] for m in ev["panel"] if m["client_id"] == panel.clients[role])


async def etag_of(client: httpx.AsyncClient, auth: dict[str, str], path: str) -> str:
    r = await client.get(path, headers=auth)
    assert r.status_code == 200, r.text
    return str(r.headers["etag"])


Call = Callable[[dict[str, str]], Any]


def write_calls(
    client: httpx.AsyncClient, ev: Json, ids: list[str], member: str
) -> dict[str, Call]:
    """One request per evaluation-scoped write route, each one the panel could make."""
    base = f"/v1/evaluations/{ev['id']}"
    url = rating_url(ev, ids[0])
    patch = {"Content-Type": "application/merge-patch+json", "If-Match": '"x"'}
    return {
        "update_evaluation": lambda a: client.patch(
            base, json={"title": "Hijacked"}, headers={**a, **patch}
        ),
        "submit_evaluation_for_review": lambda a: client.post(
            f"{base}/submit-for-review", headers=a
        ),
        "return_evaluation_to_draft": lambda a: client.post(f"{base}/return-to-draft", headers=a),
        "publish_evaluation": lambda a: client.post(f"{base}/publish", json={}, headers=a),
        "withdraw_evaluation": lambda a: client.post(
            f"{base}/withdraw", json={"reason": "x"}, headers=a
        ),
        "put_rating": lambda a: client.put(
            rating_url(ev, ids[1]), json={"levels": levels(I, I, I, I)}, headers=a
        ),
        "update_rating": lambda a: client.patch(
            url, json={"status": "agreed"}, headers={**a, **patch}
        ),
        "add_panel_member": lambda a: client.post(
            f"{base}/panel-members",
            json={"name": "Intruder (fictional)", "role": "chair", "client_id": "intruder"},
            headers=a,
        ),
        "remove_panel_member": lambda a: client.delete(f"{base}/panel-members/{member}", headers=a),
        "declare_interest": lambda a: client.post(
            f"{base}/panel-members/{member}/interests",
            json={
                "kind": "organisation",
                "organisation": "Fictional Ltd",
                "description": "x",
                "declared_on": "2023-01-01",
            },
            headers=a,
        ),
        "send_for_factual_accuracy": lambda a: client.post(
            f"{base}/factual-accuracy-check",
            json={"client_id": "rated-body", "organisation": "Fictional department"},
            headers=a,
        ),
        "decide_factual_accuracy_comment": lambda a: client.post(
            f"{base}/factual-accuracy-comments/{uuid.uuid4()}/decision",
            json={"decision": "declined", "reason": "x"},
            headers=a,
        ),
        "correct_evaluation": lambda a: client.post(
            f"{base}/corrections",
            json={
                "what_changed": "x",
                "why": "x",
                "ratings": [{"commitment_id": ids[0], "levels": {"impact": I}}],
            },
            headers=a,
        ),
        "put_score": lambda a: client.put(
            f"{base}/panel-members/{member}/scores/{ids[1]}",
            json={"levels": {"impact": G}},
            headers=a,
        ),
    }


# Writes that are not the panel's: anyone with the scope starts an evaluation (and seats its first
# panel); responses are the respondents' (tests/ratings/test_responses.py); factual-accuracy
# comments are the rated body's alone (test_review.py walks them).
NOT_PANEL_WRITES = {"create_evaluation", "create_response", "create_factual_accuracy_comment"}


async def test_every_ratings_write_route_refuses_outsiders_as_a_public_reader_would(
    client, issuer, commitments, cwriter
):
    ours = Panel(issuer, "chair", "member")
    theirs = Panel(issuer, "chair")
    ev, ids = await panel_evaluation(client, commitments, cwriter, ours)
    await panel_evaluation(client, commitments, cwriter, theirs)
    r = await client.put(
        rating_url(ev, ids[0]), json={"levels": levels(G, G, G, G)}, headers=ours.auth["member"]
    )
    assert r.status_code == 201, r.text
    calls = write_calls(client, ev, ids, member_id(ev, ours, "member"))
    routed = {
        r.name
        for router in ROUTERS
        for r in router.routes
        if isinstance(r, APIRoute) and set(r.methods or ()) - {"GET", "HEAD"}
    }
    assert routed - NOT_PANEL_WRITES == set(calls), "a write route this test does not walk"

    outsiders = {
        "no panel, every scope": issuer.auth(*ALL_SCOPES, client_id=client_id("outsider")),
        "chair of another panel": theirs.auth["chair"],
    }
    base = f"/v1/evaluations/{ev['id']}"
    before = await etag_of(client, ours.auth["chair"], base)
    rating_before = await etag_of(client, ours.auth["chair"], rating_url(ev, ids[0]))
    anonymous = await client.get(base)
    for who, auth in outsiders.items():
        for name, call in calls.items():
            r = await call(auth)
            # Exactly what a public reader gets for a draft: 404, the same problem.
            assert r.status_code == 404, (who, name, r.text)
            assert r.headers["content-type"] == PROBLEM
            assert r.json()["detail"] == anonymous.json()["detail"], (who, name)
        assert (await client.get(base, headers=auth)).status_code == 404
        assert (await client.get(f"{base}/scores", headers=auth)).status_code == 404
    # Nothing changed.
    assert await etag_of(client, ours.auth["chair"], base) == before
    assert await etag_of(client, ours.auth["chair"], rating_url(ev, ids[0])) == rating_before
    got = (await client.get(base, headers=ours.auth["chair"])).json()
    assert [m["name"] for m in got["panel"]] == ["Chair (fictional)", "Member (fictional)"]
    assert (await client.get(rating_url(ev, ids[1]), headers=ours.auth["chair"])).status_code == 404

    # Published, the evaluation is public: the same writes are 403, still changing nothing.
    agree = {"levels": levels(G, G, G, G), "status": "agreed"}
    etag = await etag_of(client, ours.auth["chair"], rating_url(ev, ids[0]))
    r = await client.put(
        rating_url(ev, ids[0]), json=agree, headers={**ours.auth["chair"], "If-Match": etag}
    )
    assert r.status_code == 200, r.text
    r = await client.put(rating_url(ev, ids[1]), json=agree, headers=ours.auth["chair"])
    assert r.status_code == 201, r.text
    assert (await client.post(f"{base}/submit-for-review", headers=ours.auth["chair"])).is_success
    assert (await client.post(f"{base}/publish", json={}, headers=ours.auth["chair"])).is_success
    before = await etag_of(client, {}, base)
    for who, auth in outsiders.items():
        for name, call in calls.items():
            r = await call(auth)
            assert r.status_code == 403, (who, name, r.text)
            assert r.json()["type"].endswith("/problems/not-on-panel"), (who, name)
    assert await etag_of(client, {}, base) == before


async def test_only_the_chair_agrees_and_moves_the_evaluation_on(
    client, issuer, commitments, cwriter
):
    p = Panel(issuer, "chair", "member", "secretariat")
    ev, ids = await panel_evaluation(client, commitments, cwriter, p, n=1)
    url = rating_url(ev, ids[0])
    base = f"/v1/evaluations/{ev['id']}"
    # Members and the secretariat draft...
    r = await client.put(url, json={"levels": levels(G, R, R, R)}, headers=p.auth["secretariat"])
    assert r.status_code == 201, r.text
    etag = r.headers["etag"]
    # ...but neither agrees, nor moves the evaluation: 403, a problem that names the chair.
    for role in ("member", "secretariat"):
        r = await client.patch(
            url,
            json={"status": "agreed"},
            headers={
                **p.auth[role],
                "If-Match": etag,
                "Content-Type": "application/merge-patch+json",
            },
        )
        assert r.status_code == 403, r.text
        assert r.json()["type"].endswith("/problems/panel-role")
        assert "chair" in r.json()["detail"]
        for step in ("submit-for-review", "publish"):
            r = await client.post(f"{base}/{step}", json={}, headers=p.auth[role])
            assert r.status_code == 403, (role, step)
    r = await client.patch(
        url,
        json={"status": "agreed"},
        headers={
            **p.auth["chair"],
            "If-Match": etag,
            "Content-Type": "application/merge-patch+json",
        },
    )
    assert r.status_code == 200, r.text
    # Changing an agreed rating would undo the agreement: the chair's too.
    r = await client.patch(
        url,
        json={"rationales": {"impact": "x"}},
        headers={
            **p.auth["member"],
            "If-Match": r.headers["etag"],
            "Content-Type": "application/merge-patch+json",
        },
    )
    assert r.status_code == 403
    # The secretariat seats members; a member does not; a second chair is refused.
    seat = {"name": "New member (fictional)", "role": "member", "client_id": client_id("new")}
    r = await client.post(f"{base}/panel-members", json=seat, headers=p.auth["member"])
    assert r.status_code == 403
    r = await client.post(f"{base}/panel-members", json=seat, headers=p.auth["secretariat"])
    assert r.status_code == 201, r.text
    assert r.headers["location"].endswith(f"/panel-members/{r.json()['id']}")
    chair2 = {**seat, "name": "Second chair (fictional)", "role": "chair"}
    r = await client.post(f"{base}/panel-members", json=chair2, headers=p.auth["secretariat"])
    assert r.status_code == 422
    assert r.json()["errors"][0]["code"] == "second_chair"
    # The chair publishes; after that an outsider's write is 403 (it can read it anyway).
    assert (
        await client.post(f"{base}/submit-for-review", headers=p.auth["chair"])
    ).status_code == 200
    r = await client.post(f"{base}/publish", json={}, headers=p.auth["chair"])
    assert r.status_code == 200, r.text
    outsider = issuer.auth(*ALL_SCOPES, client_id=client_id("outsider"))
    r = await client.post(f"{base}/withdraw", json={"reason": "x"}, headers=outsider)
    assert r.status_code == 403
    assert r.json()["type"].endswith("/problems/not-on-panel")


async def test_an_evaluation_without_a_panel_is_seated_by_its_creator_until_it_has_a_chair(
    client, issuer, commitments, cwriter
):
    ids = await make_commitments(commitments, cwriter, 1)
    creator = issuer.auth("ratings:write", client_id=client_id("creator"))
    r = await create_evaluation(client, creator, ids, panel=[])
    assert r.status_code == 201, r.text
    ev = r.json()
    # Nobody is on the panel, so nobody rates yet, the creator included.
    r = await client.put(
        rating_url(ev, ids[0]), json={"levels": levels(G, G, G, G)}, headers=creator
    )
    assert r.status_code == 403
    chair_client = client_id("chair")
    seat = {"name": "Chair (fictional)", "role": "chair", "client_id": chair_client}
    r = await client.post(f"/v1/evaluations/{ev['id']}/panel-members", json=seat, headers=creator)
    assert r.status_code == 201, r.text
    # Once there is a chair, seating is the chair's or the secretariat's.
    seat = {"name": "Member (fictional)", "role": "member", "client_id": client_id("m")}
    r = await client.post(f"/v1/evaluations/{ev['id']}/panel-members", json=seat, headers=creator)
    assert r.status_code == 403
    chair = issuer.auth("ratings:write", client_id=chair_client)
    r = await client.put(rating_url(ev, ids[0]), json={"levels": levels(G, G, G, G)}, headers=chair)
    assert r.status_code == 201, r.text


async def test_the_chair_or_secretariat_removes_a_member_who_has_not_scored(
    client, issuer, commitments, cwriter
):
    p = Panel(issuer, "chair", "alice", "bob", "secretariat")
    ev, ids = await panel_evaluation(client, commitments, cwriter, p, n=1)
    base = f"/v1/evaluations/{ev['id']}"
    alice, bob = member_id(ev, p, "alice"), member_id(ev, p, "bob")
    chair, sec = member_id(ev, p, "chair"), member_id(ev, p, "secretariat")
    internal = issuer.auth("events:internal")
    head = await feed_head(client, internal)
    r = await client.post(
        f"{base}/panel-members/{alice}/interests",
        json={
            "kind": "organisation",
            "organisation": "Fictional Ltd",
            "description": "x",
            "declared_on": "2023-01-01",
        },
        headers=p.auth["alice"],
    )
    assert r.status_code == 201, r.text
    r = await client.put(
        f"{base}/panel-members/{bob}/scores/{ids[0]}",
        json={"levels": levels(G, G, G, G)},
        headers=p.auth["bob"],
    )
    assert r.status_code == 201, r.text
    before = await etag_of(client, p.auth["chair"], base)

    async def names() -> list[str]:
        got = await client.get(f"{base}/panel-members", headers=p.auth["chair"])
        return [m["name"] for m in got.json()["items"]]

    seated = await names()
    # A member removes no one; nobody removes the chair (a panel keeps its one chair); a member
    # who has scored stays, their scores on the record; an unknown member is 404.
    refused = [
        (p.auth["bob"], alice, 403, "/problems/panel-role"),
        (p.auth["secretariat"], chair, 409, "/problems/last-chair"),
        (p.auth["chair"], chair, 409, "/problems/last-chair"),
        (p.auth["chair"], bob, 409, "/problems/member-has-scored"),
        (p.auth["chair"], str(uuid.uuid4()), 404, "/problems/not-found"),
    ]
    for auth, who, code, type_ in refused:
        r = await client.delete(f"{base}/panel-members/{who}", headers=auth)
        assert r.status_code == code, (who, r.text)
        assert r.json()["type"].endswith(type_)
    assert await names() == seated
    assert await etag_of(client, p.auth["chair"], base) == before
    assert len((await client.get(f"{base}/scores", headers=p.auth["chair"])).json()["items"]) == 1

    r = await client.delete(f"{base}/panel-members/{alice}", headers=p.auth["secretariat"])
    assert r.status_code == 204, r.text
    assert "Alice (fictional)" not in await names()
    r = await client.get(f"{base}/panel-members/{alice}", headers=p.auth["chair"])
    assert r.status_code == 404
    # Off the panel, alice's client reads the draft no more, as a public reader would not.
    assert (await client.get(base, headers=p.auth["alice"])).status_code == 404
    r = await client.delete(f"{base}/panel-members/{alice}", headers=p.auth["chair"])
    assert r.status_code == 404
    # The chair removes too (here the secretariat, who may remove themselves).
    r = await client.delete(f"{base}/panel-members/{sec}", headers=p.auth["chair"])
    assert r.status_code == 204
    removed = await events_since(
        client,
        head,
        internal,
        types={"panel_member.removed"},
        evaluation_id=ev["id"],
        at_least=2,
    )
    assert [e["payload"]["name"] for e in removed] == [
        "Alice (fictional)",
        "Secretariat (fictional)",
    ]
    assert removed[0]["payload"]["interests"][0]["organisation"] == "Fictional Ltd"


# --- individual scores, blind until given ------------------------------------------------------


async def test_scores_are_blind_until_given_and_the_chair_sees_all(
    client, issuer, commitments, cwriter
):
    p = Panel(issuer, "chair", "alice", "bob", "secretariat")
    ev, ids = await panel_evaluation(client, commitments, cwriter, p, n=1)
    base = f"/v1/evaluations/{ev['id']}"
    alice, bob = member_id(ev, p, "alice"), member_id(ev, p, "bob")

    def score_url(member: str) -> str:
        return f"{base}/panel-members/{member}/scores/{ids[0]}"

    r = await client.put(
        score_url(alice), json={"levels": levels(G, R, R, R)}, headers=p.auth["alice"]
    )
    assert r.status_code == 201, r.text
    # Bob has not scored: he sees nothing of Alice's, nor the spread on the panel's rating.
    seen = (await client.get(f"{base}/scores", headers=p.auth["bob"])).json()["items"]
    assert seen == []
    # Nobody records another member's score, and the secretariat does not score.
    r = await client.put(
        score_url(bob), json={"levels": levels(O, O, O, O)}, headers=p.auth["alice"]
    )
    assert r.status_code == 403
    assert r.json()["type"].endswith("/problems/not-your-score")
    sec = member_id(ev, p, "secretariat")
    r = await client.put(
        score_url(sec), json={"levels": levels(G, G, G, G)}, headers=p.auth["secretariat"]
    )
    assert r.status_code == 403
    # A level off the scale is a clear 422 that records nothing.
    r = await client.put(
        score_url(bob), json={"levels": {"impact": "superb"}}, headers=p.auth["bob"]
    )
    assert r.status_code == 422
    assert (await client.get(f"{base}/scores", headers=p.auth["chair"])).json()["items"][0][
        "member_id"
    ] == alice
    r = await client.put(score_url(bob), json={"levels": levels(R, R, I, R)}, headers=p.auth["bob"])
    assert r.status_code == 201
    seen = (await client.get(f"{base}/scores", headers=p.auth["bob"])).json()["items"]
    assert {s["member_id"] for s in seen} == {alice, bob}
    # The chair sees all without scoring; the agreed rating is a separate record with the spread.
    r = await client.put(
        rating_url(ev, ids[0]),
        json={"levels": levels(R, R, R, R), "status": "agreed"},
        headers=p.auth["chair"],
    )
    assert r.status_code == 201, r.text
    spread = r.json()["spread"] if r.json()["spread"] else None
    got = (await client.get(rating_url(ev, ids[0]), headers=p.auth["chair"])).json()
    assert got["spread"]["raters"] == 2
    assert got["spread"]["dimensions"]["commitment_met"] == {
        "counts": {G: 1, R: 1},
        "lowest": R,
        "highest": G,
    }
    assert got["spread"]["dimensions"]["impact"]["counts"] == {R: 1, I: 1}
    assert spread is None or spread == got["spread"]
    # The secretariat has not scored (it cannot): blind to the spread too.
    sec_view = (await client.get(rating_url(ev, ids[0]), headers=p.auth["secretariat"])).json()
    assert sec_view["spread"] is None
    # Once agreed, scores close.
    r = await client.put(
        score_url(alice), json={"levels": levels(O, O, O, O)}, headers=p.auth["alice"]
    )
    assert r.status_code == 409


async def test_a_member_pages_through_only_the_scores_it_may_see(
    client, issuer, commitments, cwriter
):
    p = Panel(issuer, "chair", "alice", "bob", "cal")
    ev, ids = await panel_evaluation(client, commitments, cwriter, p, n=2)
    base = f"/v1/evaluations/{ev['id']}"
    given = [("bob", 0), ("cal", 0), ("bob", 1), ("cal", 1), ("alice", 0)]
    for role, i in given:
        r = await client.put(
            f"{base}/panel-members/{member_id(ev, p, role)}/scores/{ids[i]}",
            json={"levels": levels(G, G, G, G)},
            headers=p.auth[role],
        )
        assert r.status_code == 201, r.text
    # Alice scored the first commitment only: a page at a time she gets its three scores, and
    # never the others' of the second, however she pages.
    seen = await all_pages(client, f"{base}/scores", 1, p.auth["alice"])
    assert sorted(s["commitment_id"] for s in seen) == [ids[0]] * 3
    assert len(await all_pages(client, f"{base}/scores", 2, p.auth["chair"])) == 5
    r = await client.get(
        f"{base}/scores", params={"page_token": "nonsense"}, headers=p.auth["chair"]
    )
    assert r.status_code == 422
    r = await client.get(
        f"{base}/panel-members", params={"page_token": "nonsense"}, headers=p.auth["chair"]
    )
    assert r.status_code == 422


# --- declared interests and recusal ------------------------------------------------------------


async def test_a_member_with_an_interest_in_a_commitment_cannot_score_it(
    client, issuer, commitments, cwriter
):
    p = Panel(issuer, "chair", "alice")
    ev, ids = await panel_evaluation(client, commitments, cwriter, p, n=2)
    base = f"/v1/evaluations/{ev['id']}"
    alice = member_id(ev, p, "alice")
    interest = {
        "kind": "commitment",
        "commitment_id": ids[0],
        "description": "Advised the programme in 2022 (fictional).",
        "declared_on": "2023-01-09",
    }
    r = await client.post(
        f"{base}/panel-members/{alice}/interests", json=interest, headers=p.auth["alice"]
    )
    assert r.status_code == 201, r.text
    # Bad declarations are clear 422s.
    bad = {**interest, "commitment_id": None}
    r = await client.post(
        f"{base}/panel-members/{alice}/interests", json=bad, headers=p.auth["alice"]
    )
    assert r.status_code == 422
    r = await client.post(
        f"{base}/panel-members/{alice}/interests",
        json={**interest, "commitment_id": str(uuid.uuid4())},
        headers=p.auth["alice"],
    )
    assert r.status_code == 422
    r = await client.put(
        f"{base}/panel-members/{alice}/scores/{ids[0]}",
        json={"levels": levels(G, G, G, G)},
        headers=p.auth["alice"],
    )
    assert r.status_code == 409
    assert r.json()["type"].endswith("/problems/recused")
    # Nor may she write the panel's rating of it; the other commitment she may.
    r = await client.put(
        rating_url(ev, ids[0]), json={"levels": levels(G, G, G, G)}, headers=p.auth["alice"]
    )
    assert r.status_code == 409
    r = await client.put(
        f"{base}/panel-members/{alice}/scores/{ids[1]}",
        json={"levels": levels(G, G, G, G)},
        headers=p.auth["alice"],
    )
    assert r.status_code == 201
    # The declaration is part of the evaluation, and so published with it.
    got = (await client.get(base, headers=p.auth["chair"])).json()
    declared = next(m for m in got["panel"] if m["id"] == alice)["interests"]
    assert [(i["kind"], i["commitment_id"], i["declared_on"]) for i in declared] == [
        ("commitment", ids[0], "2023-01-09")
    ]


# --- agreement ---------------------------------------------------------------------------------

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: four observers,
# twelve units, values 1-5, missing data. The paper gives ordinal alpha = 0.815.
PAPER = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, math.nan, math.nan, math.nan],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, math.nan, 3],
    [math.nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, math.nan],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, math.nan],
]


def test_alpha_reproduces_krippendorffs_worked_example():
    alpha = alpha_of(PAPER)
    assert alpha == pytest.approx(0.815, abs=5e-4)
    assert alpha == krippendorff.alpha(reliability_data=PAPER, level_of_measurement="ordinal")


def test_alpha_is_null_rather_than_made_up_when_it_cannot_be_computed():
    assert alpha_of([[3.0, 2.0], [math.nan, math.nan]]) is None  # one rater per unit
    assert alpha_of([[3.0, 3.0], [3.0, 3.0]]) is None  # no variation at all


async def test_a_member_sees_no_draft_rating_of_a_commitment_until_scoring_it(
    client, issuer, commitments, cwriter
):
    p = Panel(issuer, "chair", "alice", "bob", "secretariat")
    ev, ids = await panel_evaluation(client, commitments, cwriter, p, n=1)
    base = f"/v1/evaluations/{ev['id']}"
    cid = ids[0]
    alice, bob = member_id(ev, p, "alice"), member_id(ev, p, "bob")
    r = await client.put(
        f"{base}/panel-members/{bob}/scores/{cid}",
        json={"levels": levels(G, G, G, G)},
        headers=p.auth["bob"],
    )
    assert r.status_code == 201, r.text
    r = await client.put(
        rating_url(ev, cid), json={"levels": levels(G, G, R, G)}, headers=p.auth["chair"]
    )
    assert r.status_code == 201, r.text

    async def reads(role: str) -> dict[str, Any]:
        auth = p.auth[role]
        return {
            "rating": await client.get(rating_url(ev, cid), headers=auth),
            "list": (await client.get(f"{base}/ratings", headers=auth)).json()["items"],
            "summary": (await client.get(f"{base}/summary", headers=auth)).json(),
            "history": (await client.get(f"/v1/commitments/{cid}/ratings", headers=auth)).json()[
                "items"
            ],
            "scores": (await client.get(f"{base}/scores", headers=auth)).json()["items"],
            "agreement": await client.get(f"{base}/agreement", headers=auth),
        }

    # Alice has not scored: no read shows her where the panel is heading, nor bob's score.
    seen = await reads("alice")
    assert seen["rating"].status_code == 403
    assert seen["rating"].json()["type"].endswith("/problems/withheld-until-scored")
    assert "etag" not in seen["rating"].headers
    assert seen["list"] == []
    summary = seen["summary"]
    assert summary["commitments"][0]["rating"] is None
    assert summary["commitments"][0]["withheld_until_scored"] is True
    assert summary["overall"] is None
    assert all(a["overall"] is None for a in summary["policy_areas"])
    assert seen["history"] == []
    assert seen["scores"] == []
    assert seen["agreement"].status_code == 403
    # The chair, the secretariat and bob (who scored) see the draft.
    for role in ("chair", "secretariat", "bob"):
        other = await reads(role)
        assert other["rating"].status_code == 200, role
        assert other["rating"].json()["levels"] == levels(G, G, R, G)
        assert [x["commitment_id"] for x in other["list"]] == [cid]
        assert other["summary"]["commitments"][0]["withheld_until_scored"] is False
        assert other["summary"]["commitments"][0]["rating"]["levels"] == levels(G, G, R, G)
        assert [h["rating"]["commitment_id"] for h in other["history"]] == [cid]

    # Nor can she learn it by writing: a write answers with the whole rating, and a PUT that
    # matches the draft answers 200 where one that does not needs If-Match.
    for r in (
        await client.put(
            rating_url(ev, cid), json={"levels": levels(G, G, R, G)}, headers=p.auth["alice"]
        ),
        await client.patch(
            rating_url(ev, cid),
            json={"rationales": {"impact": "x"}},
            headers={**p.auth["alice"], "If-Match": '"x"'},
        ),
    ):
        assert r.status_code == 403, r.text
        assert r.json()["type"].endswith("/problems/withheld-until-scored")
    chair_view = await client.get(rating_url(ev, cid), headers=p.auth["chair"])
    assert chair_view.json()["rationales"] == {}

    # Once alice has scored, every read shows her the draft.
    r = await client.put(
        f"{base}/panel-members/{alice}/scores/{cid}",
        json={"levels": levels(R, R, R, R)},
        headers=p.auth["alice"],
    )
    assert r.status_code == 201, r.text
    seen = await reads("alice")
    assert seen["rating"].status_code == 200
    assert seen["rating"].json()["levels"] == levels(G, G, R, G)
    assert seen["rating"].json()["spread"]["raters"] == 2
    assert [x["levels"] for x in seen["list"]] == [levels(G, G, R, G)]
    assert seen["summary"]["commitments"][0]["withheld_until_scored"] is False
    assert seen["summary"]["commitments"][0]["rating"]["levels"] == levels(G, G, R, G)
    assert [h["rating"]["levels"] for h in seen["history"]] == [levels(G, G, R, G)]
    assert {s["member_id"] for s in seen["scores"]} == {alice, bob}
    # Agreement stays the chair's until publication (scores are blind until everyone scored).
    assert seen["agreement"].status_code == 403
    r = await client.put(
        rating_url(ev, cid), json={"levels": levels(G, G, R, G)}, headers=p.auth["alice"]
    )
    assert r.status_code == 200, r.text
