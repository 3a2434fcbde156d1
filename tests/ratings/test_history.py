"""A commitment's ratings across evaluations, and re-evaluations shown beside the earlier one."""

from __future__ import annotations

import uuid

from tests.ratings.helpers import (
    G,
    I,
    Json,
    O,
    R,
    agree,
    create_evaluation,
    evaluation,
    levels,
    pointers,
    rate,
    rating_url,
    transition,
)


async def publish(client, writer, publisher, ev, ids, rows) -> Json:
    for cid, codes in zip(ids, rows, strict=True):
        # Some tests draft a rating first: PUT then replaces it (200) instead of creating (201).
        drafted = (await client.get(rating_url(ev, cid), headers=writer)).status_code == 200
        r = await rate(client, writer, ev, cid, *codes)
        assert r.status_code == (200 if drafted else 201), r.text
        assert (await agree(client, writer, ev, cid)).status_code == 200
    await transition(client, writer, ev, "submit-for-review")
    r = await transition(client, publisher, ev, "publish", {})
    assert r.status_code == 200, r.text
    published: Json = r.json()
    return published


async def test_a_re_evaluation_shows_the_previous_ratings_and_the_history_the_change(
    client, writer, publisher, commitments, cwriter
):
    first, ids = await evaluation(
        client, writer, commitments, cwriter, n=2, title="2023", published_on="2023-02-17"
    )
    first = await publish(client, writer, publisher, first, ids, [(G, R, R, R), (I, I, I, G)])

    # A re-evaluation takes the earlier scope, scale, dimensions and rule by default.
    r = await create_evaluation(
        client, writer, None, title="2024", previous_evaluation_id=first["id"]
    )
    assert r.status_code == 201, r.text
    second = r.json()
    assert second["previous_evaluation_id"] == first["id"]
    assert second["commitment_ids"] == ids
    assert second["scale"] == first["scale"]
    assert second["dimensions"] == first["dimensions"]

    r = await rate(client, writer, second, ids[0], G, G, R, G)
    assert r.status_code == 201
    beside = r.json()["previous"]
    assert beside["evaluation_id"] == first["id"]
    assert beside["levels"] == levels(G, R, R, R)
    assert beside["overall"]["level"] == R
    listed = (await client.get(f"/v1/evaluations/{second['id']}/ratings", headers=writer)).json()[
        "items"
    ]
    assert listed[0]["previous"] == beside
    summary = (await client.get(f"/v1/evaluations/{second['id']}/summary", headers=writer)).json()
    assert summary["commitments"][0]["rating"]["previous"] == beside

    history_url = f"/v1/commitments/{ids[0]}/ratings"
    # The draft re-evaluation is the panel's: anonymous readers see the published one only.
    public = (await client.get(history_url)).json()
    assert [i["evaluation"]["id"] for i in public["items"]] == [first["id"]]
    assert public["items"][0]["change"] is None
    panel = (await client.get(history_url, headers=writer)).json()["items"]
    assert [i["evaluation"]["id"] for i in panel] == [first["id"], second["id"]]
    change = panel[1]["change"]
    assert change["since_evaluation_id"] == first["id"]
    assert change["since_rating_id"] == panel[0]["rating"]["id"]
    # Three dimensions up by one still floor to the same overall: (3+3+2+3)/4 = 2.75 → 2.
    assert change["overall"] == {
        "direction": "same",
        "delta": 0,
        "previous_level": R,
        "level": R,
    }
    assert change["dimensions"] == {
        "commitment_met": {"direction": "same", "delta": 0, "previous_level": G, "level": G},
        "funding_and_resource": {"direction": "up", "delta": 1, "previous_level": R, "level": G},
        "impact": {"direction": "same", "delta": 0, "previous_level": R, "level": R},
        "appropriateness": {"direction": "up", "delta": 1, "previous_level": R, "level": G},
    }

    await rate(client, writer, second, ids[1], I, I, I, I)
    second = await publish(client, writer, publisher, second, ids, [(G, G, R, G), (I, I, I, I)])
    public = (await client.get(f"/v1/commitments/{ids[1]}/ratings")).json()["items"]
    assert [i["evaluation"]["title"] for i in public] == ["2023", "2024"]
    assert public[1]["evaluation"]["status"] == "published"
    assert public[1]["change"]["overall"] == {
        "direction": "same",
        "delta": 0,
        "previous_level": I,
        "level": I,
    }
    assert public[1]["change"]["dimensions"]["appropriateness"] == {
        "direction": "down",
        "delta": -2,
        "previous_level": G,
        "level": I,
    }

    # A third evaluation, paged one at a time: the change still compares with the page before.
    third = (
        await create_evaluation(
            client, writer, [ids[1]], title="2025", previous_evaluation_id=second["id"]
        )
    ).json()
    assert third["commitment_ids"] == [ids[1]]
    await publish(client, writer, publisher, third, [ids[1]], [(O, G, G, G)])
    seen, token = [], None
    while True:
        params = {"page_size": 1, **({"page_token": token} if token else {})}
        page = (await client.get(f"/v1/commitments/{ids[1]}/ratings", params=params)).json()
        seen += page["items"]
        token = page["next_page_token"]
        if token is None:
            break
    assert [i["evaluation"]["title"] for i in seen] == ["2023", "2024", "2025"]
    assert seen[2]["change"]["since_evaluation_id"] == second["id"]
    assert seen[2]["change"]["overall"]["direction"] == "up"
    assert seen[2]["change"]["overall"]["delta"] == 2

    # Withdrawn evaluations drop out of the history, for everyone.
    await transition(client, publisher, third, "withdraw", {"reason": "Error in the table."})
    titles = [
        i["evaluation"]["title"]
        for i in (await client.get(f"/v1/commitments/{ids[1]}/ratings", headers=writer)).json()[
            "items"
        ]
    ]
    assert titles == ["2023", "2024"]


async def test_history_edge_cases(client, writer, publisher, commitments, cwriter):
    ev, ids = await evaluation(client, writer, commitments, cwriter)
    assert (await client.get(f"/v1/commitments/{ids[0]}/ratings")).json()["items"] == []
    r = await client.get(f"/v1/commitments/{uuid.uuid4()}/ratings")
    assert r.status_code == 404
    r = await client.get(f"/v1/commitments/{ids[0]}/ratings", params={"page_token": "x"})
    assert pointers(r) == ["query.page_token"]

    # Only a published evaluation can be re-evaluated; an unknown one is refused as such.
    r = await create_evaluation(client, writer, None, previous_evaluation_id=ev["id"])
    assert pointers(r) == ["body.previous_evaluation_id"]
    assert r.json()["errors"][0]["code"] == "not_published"
    r = await create_evaluation(client, writer, None, previous_evaluation_id=str(uuid.uuid4()))
    assert pointers(r) == ["body.previous_evaluation_id"]

    # A partial draft has no overall, so its change has none either; different scales do not
    # compare at all.
    await rate(client, writer, ev, ids[0], G, G, G, G)
    await publish(client, writer, publisher, ev, ids, [(G, G, G, G)])
    partial = (await create_evaluation(client, writer, ids, previous_evaluation_id=ev["id"])).json()
    r = await client.put(
        rating_url(partial, ids[0]), json={"levels": {"impact": R}}, headers=writer
    )
    assert r.status_code == 201
    assert r.json()["overall"] is None
    assert r.json()["previous"]["overall"]["level"] == G
    items = (await client.get(f"/v1/commitments/{ids[0]}/ratings", headers=writer)).json()["items"]
    assert items[-1]["change"]["overall"] is None
    assert items[-1]["change"]["dimensions"] == {
        "impact": {"direction": "down", "delta": -1, "previous_level": G, "level": R}
    }
    scale = [
        {"code": "on_track", "label": "On track", "score": 3},
        {"code": "off_track", "label": "Off track", "score": 1},
    ]
    other = (
        await create_evaluation(
            client, writer, ids, scale=scale, aggregation_rule="lowest", title="Other"
        )
    ).json()
    await client.put(
        rating_url(other, ids[0]),
        json={"levels": dict.fromkeys(levels(G, G, G, G), "on_track")},
        headers=writer,
    )
    items = (await client.get(f"/v1/commitments/{ids[0]}/ratings", headers=writer)).json()["items"]
    assert items[-1]["evaluation"]["title"] == "Other"
    assert items[-1]["change"] is None
