"""Targets and progress: the trajectory rule at its boundaries, readings, and their bad input."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from commitments.progress import Point, TargetSpec, assess, judged_on
from commitments.schemas import Direction, ProgressStatus, Unit
from servicekit.mediatypes import PROBLEM
from tests.commitments.helpers import commitment, reading, ref, target

UP = TargetSpec(Unit.percent, Direction.increase, 0, date(2020, 1, 1), 100, date(2020, 4, 10))
DOWN = TargetSpec(Unit.count, Direction.decrease, 100, date(2020, 1, 1), 0, date(2020, 4, 10))
FLAG = TargetSpec(Unit.boolean, Direction.increase, None, None, 1, date(2020, 4, 10))
DAY50 = date(2020, 2, 20)  # 50 of the 100 days: the line is at 50
DUE = date(2020, 4, 10)


def status(spec: TargetSpec, *points: tuple[float, date]) -> ProgressStatus | None:
    return assess(spec, [Point(v, d) for v, d in points]).status


@pytest.mark.parametrize(
    ("spec", "value", "day", "expected"),
    [
        (UP, 50, DAY50, "on_track"),  # exactly on the line
        (UP, 45, DAY50, "on_track"),  # short by the tolerance: 5% of the 0 → 100 climb
        (UP, 44.999, DAY50, "off_track"),  # just past the tolerance
        (UP, 0, date(2020, 1, 1), "on_track"),  # on the baseline date, at the baseline
        (UP, 99.99, DUE - timedelta(days=1), "on_track"),  # the line is at 99 the day before
        (UP, 94, DUE - timedelta(days=1), "on_track"),
        (UP, 93.99, DUE - timedelta(days=1), "off_track"),
        (UP, 100, DAY50, "met"),  # reached early
        (UP, 100, DUE, "met"),  # reached on the due date
        (UP, 99.99, DUE, "missed"),  # short on the due date
        (UP, 100, DUE + timedelta(days=30), "met"),  # reached late: the latest reading decides
        (UP, 80, DUE + timedelta(days=1), "missed"),
        (DOWN, 50, DAY50, "on_track"),
        (DOWN, 55, DAY50, "on_track"),
        (DOWN, 55.001, DAY50, "off_track"),
        (DOWN, 0, DUE, "met"),
        (DOWN, 1, DUE, "missed"),
        (FLAG, 0, DAY50, "on_track"),  # no line for booleans: not yet true is on track
        (FLAG, 1, DAY50, "met"),
        (FLAG, 0, DUE, "missed"),
        (FLAG, 1, DUE, "met"),
    ],
)
def test_trajectory_rule_at_its_boundaries(spec, value, day, expected):
    assert status(spec, (value, day)) == expected


def test_the_latest_reading_decides_and_no_reading_is_unknown():
    assert status(UP) is None
    assert status(UP, (100, DAY50), (40, DAY50 + timedelta(days=1))) == "off_track"
    # Without a baseline the earliest reading starts the line: 20 → 100 over 80 days, so the
    # line is at 70 fifty days in, and the tolerance is 5% of the 80-point climb.
    spec = TargetSpec(Unit.percent, Direction.increase, None, None, 100, DUE)
    assert status(spec, (20, date(2020, 1, 21)), (66, date(2020, 3, 11))) == "on_track"
    assert status(spec, (20, date(2020, 1, 21)), (65.9, date(2020, 3, 11))) == "off_track"


def test_a_reading_just_short_of_the_line_is_on_track_within_the_tolerance():
    # The demo's EPR target: 86% (June 2022) to 90% by December 2023; 88% on 17 April 2023 is
    # 0.12 points short of the line (88.12%), 3% of the climb, inside the 5% tolerance.
    epr = TargetSpec(
        Unit.percent, Direction.increase, 86, date(2022, 6, 29), 90, date(2023, 12, 31)
    )
    a = assess(epr, [Point(88, date(2023, 4, 17))])
    assert a.status == "on_track"
    assert a.expected_value is not None
    assert 88 < a.expected_value < 88 + 0.05 * 4
    assert status(epr, (87.5, date(2023, 4, 17))) == "off_track"


def test_the_tolerance_is_a_setting(monkeypatch):
    from commitments import progress

    monkeypatch.setattr(progress, "ON_TRACK_TOLERANCE", progress.ON_TRACK_TOLERANCE)
    progress.configure(progress.STALE_AFTER_DAYS, 0.0)
    assert status(UP, (49.999, DAY50)) == "off_track"
    progress.configure(progress.STALE_AFTER_DAYS, 0.10)
    assert status(UP, (40, DAY50)) == "on_track"
    assert status(UP, (39.9, DAY50)) == "off_track"


def test_expected_value_is_exact_on_awkward_fractions():
    spec = TargetSpec(Unit.percent, Direction.increase, 0, date(2020, 1, 1), 90, date(2020, 1, 4))
    a = assess(spec, [Point(30, date(2020, 1, 2))])  # a third of the way: exactly 30
    assert a.status == "on_track"
    assert a.expected_value == 30


def _days(n: int) -> str:
    return (date.today() + timedelta(days=n)).isoformat()


async def test_progress_through_the_api(client, writer):
    c = await commitment(client, writer)
    # 0 → 100 over the 100 days from 60 days ago to 40 days ahead: the line is at 50 ten days ago.
    t = await target(client, writer, c["id"], baseline_on=_days(-60), due_on=_days(40))
    assert t["progress"] == {
        "status": None,
        "judged_on": date.today().isoformat(),
        "assessed_on": None,
        "latest_value": None,
        "expected_value": None,
        "reading_count": 0,
    }
    r = await reading(client, writer, t["id"], 50, _days(-10))
    assert r.status_code == 201
    assert r.headers["location"].startswith("/v1/readings/")
    got = (await client.get(f"/v1/targets/{t['id']}")).json()["progress"]
    assert got == {
        "status": "on_track",
        "judged_on": date.today().isoformat(),
        "assessed_on": _days(-10),
        "latest_value": 50.0,
        "expected_value": 50.0,
        "reading_count": 1,
    }
    await reading(client, writer, t["id"], 40, _days(-9))
    listed = (await client.get(f"/v1/commitments/{c['id']}/targets")).json()["items"]
    assert listed[0]["progress"]["status"] == "off_track"
    off = (await client.get("/v1/commitments", params={"off_track": "true", "id": c["id"]})).json()
    assert [x["id"] for x in off["items"]] == [c["id"]]
    await reading(client, writer, t["id"], 100, _days(0))
    detail = (await client.get(f"/v1/commitments/{c['id']}")).json()
    assert detail["targets"][0]["progress"]["status"] == "met"
    off = (await client.get("/v1/commitments", params={"off_track": "true", "id": c["id"]})).json()
    assert off["items"] == []
    readings = (await client.get(f"/v1/targets/{t['id']}/readings")).json()["items"]
    assert [x["value"] for x in readings] == [50, 40, 100]
    assert readings[0]["client_id"]
    assert readings[0]["organisation"] == "Test Org"


async def test_a_target_is_judged_as_of_today_or_the_date_asked(client, writer):
    c = await commitment(client, writer, made_on="2019-12-01")
    # 0 → 100 from 2020-01-01, due 2020-04-10; in force from before the readings.
    t = await target(client, writer, c["id"], effective_on="2019-12-15")
    await reading(client, writer, t["id"], 50, "2020-02-20")  # on the line, when it was taken
    now = (await client.get(f"/v1/targets/{t['id']}")).json()["progress"]
    # Judged today, long past the due date, on a reading that never reached 100: missed.
    assert (now["status"], now["assessed_on"], now["judged_on"]) == (
        "missed",
        "2020-02-20",
        date.today().isoformat(),
    )
    url = f"/v1/commitments/{c['id']}"
    judged = {}
    for day in ("2020-02-19", "2020-02-20", "2020-04-09", "2020-04-10"):
        r = await client.get(url, params={"as_of": day})
        assert r.status_code == 200, r.text
        got = r.json()["targets"][0]["progress"]
        judged[day] = (got["status"], got["judged_on"])
    assert judged == {
        "2020-02-19": (None, "2020-02-19"),  # no reading dated up to then
        "2020-02-20": ("on_track", "2020-02-20"),
        "2020-04-09": ("on_track", "2020-04-09"),
        "2020-04-10": ("missed", "2020-04-10"),  # on its due date a target is met or missed
    }


def test_a_reading_older_than_the_staleness_age_is_stale_not_on_track():
    spec = TargetSpec(Unit.percent, Direction.increase, 0, date(2020, 1, 1), 100, date(2024, 1, 1))
    reading_on = date(2020, 7, 1)
    fresh = assess(spec, [Point(40, reading_on)])
    assert fresh.status == "on_track"
    assert judged_on(fresh.status, reading_on, spec.due_on, date(2021, 7, 1)) == "on_track"
    assert judged_on(fresh.status, reading_on, spec.due_on, date(2021, 7, 2)) == "stale"
    assert judged_on(fresh.status, reading_on, spec.due_on, date(2024, 1, 1)) == "missed"
    assert judged_on(ProgressStatus.met, reading_on, spec.due_on, date(2030, 1, 1)) == "met"
    assert judged_on(None, None, spec.due_on, date(2030, 1, 1)) is None


async def test_a_stale_reading_through_the_api(client, writer):
    c = await commitment(client, writer)
    t = await target(client, writer, c["id"], baseline_on=_days(-800), due_on=_days(200))
    await reading(client, writer, t["id"], 60, _days(-400))  # ahead of the line, but old
    got = (await client.get(f"/v1/targets/{t['id']}")).json()["progress"]
    assert got["status"] == "stale"
    await reading(client, writer, t["id"], 80, _days(-1))
    got = (await client.get(f"/v1/targets/{t['id']}")).json()["progress"]
    assert got["status"] == "on_track"


async def test_boolean_target_accepts_true_and_false(client, writer):
    c = await commitment(client, writer)
    t = await target(
        client,
        writer,
        c["id"],
        unit="boolean",
        baseline_value=None,
        baseline_on=None,
        target_value=True,
        due_on=_days(30),
    )
    assert (await reading(client, writer, t["id"], False, _days(-2))).status_code == 201
    assert (await client.get(f"/v1/targets/{t['id']}")).json()["progress"]["status"] == "on_track"
    assert (await reading(client, writer, t["id"], True, _days(-1))).status_code == 201
    assert (await client.get(f"/v1/targets/{t['id']}")).json()["progress"]["status"] == "met"


async def test_readings_are_idempotent(client, writer):
    c = await commitment(client, writer)
    t = await target(client, writer, c["id"])
    body = {"value": 10, "as_of": "2020-01-10", "source": "Return"}
    headers = {**writer, "Idempotency-Key": ref("key")}
    first = await client.post(f"/v1/targets/{t['id']}/readings", json=body, headers=headers)
    again = await client.post(f"/v1/targets/{t['id']}/readings", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    other = await client.post(
        f"/v1/targets/{t['id']}/readings", json={**body, "value": 11}, headers=headers
    )
    assert other.status_code == 422
    assert (await client.get(f"/v1/targets/{t['id']}")).json()["progress"]["reading_count"] == 1


@pytest.mark.parametrize(
    ("over", "pointer", "code"),
    [
        ({"value": 101}, "body.value", "unit_mismatch"),
        ({"value": -1}, "body.value", "unit_mismatch"),
        ({"unit": "count"}, "body.unit", "unit_mismatch"),
        ({"as_of": "2019-12-31"}, "body.as_of", "reading_before_baseline"),
        ({"as_of": (date.today() + timedelta(days=2)).isoformat()}, "body.as_of", "future_date"),
        ({"value": "lots"}, "body.value", "float_parsing"),
        ({"colour": "red"}, "body.colour", "extra_forbidden"),
    ],
)
async def test_bad_readings_are_refused_and_nothing_stored(client, writer, over, pointer, code):
    c = await commitment(client, writer)
    t = await target(client, writer, c["id"])
    body = {"value": 10, "as_of": "2020-02-01", "source": "Return", **over}
    r = await client.post(
        f"/v1/targets/{t['id']}/readings", json=body, headers={**writer, "Idempotency-Key": ref()}
    )
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM
    assert [(e["pointer"], e["code"]) for e in r.json()["errors"]] == [(pointer, code)]
    assert (await client.get(f"/v1/targets/{t['id']}/readings")).json()["items"] == []


async def test_a_boolean_reading_must_be_true_or_false(client, writer):
    c = await commitment(client, writer)
    t = await target(
        client,
        writer,
        c["id"],
        unit="boolean",
        baseline_value=None,
        baseline_on=None,
        target_value=1,
    )
    r = await reading(client, writer, t["id"], 0.5, "2020-02-01")
    assert r.status_code == 422
    assert r.json()["errors"][0]["code"] == "unit_mismatch"


@pytest.mark.parametrize(
    ("over", "pointer", "code"),
    [
        ({"target_value": 120}, "body.target_value", "unit_mismatch"),
        (
            {"unit": "boolean", "baseline_value": None, "baseline_on": None, "target_value": 75},
            "body.target_value",
            "unit_mismatch",
        ),
        ({"unit": "count", "target_value": 10.5}, "body.target_value", "unit_mismatch"),
        ({"baseline_on": None}, "body.baseline_on", "baseline_incomplete"),
        ({"due_on": "2019-06-01"}, "body.due_on", "due_before_baseline"),
        ({"baseline_value": 50, "target_value": 20}, "body.target_value", "direction_mismatch"),
        ({"reason": None}, "body.reason", "string_type"),
        ({"unit": "furlongs"}, "body.unit", "enum"),
    ],
)
async def test_bad_targets_are_refused_and_nothing_stored(client, writer, over, pointer, code):
    c = await commitment(client, writer)
    body = {**over}
    from tests.commitments.helpers import target_body

    r = await client.post(
        f"/v1/commitments/{c['id']}/targets", json=target_body(**body), headers=writer
    )
    assert r.status_code == 422, r.text
    assert (pointer, code) in [(e["pointer"], e["code"]) for e in r.json()["errors"]]
    assert (await client.get(f"/v1/commitments/{c['id']}/targets")).json()["items"] == []
    assert (await client.get(f"/v1/commitments/{c['id']}")).json()["revision"] == 1


async def test_target_unit_cannot_change_once_there_are_readings(client, writer):
    c = await commitment(client, writer)
    t = await target(client, writer, c["id"])
    await reading(client, writer, t["id"], 10, "2020-01-20")
    url = f"/v1/targets/{t['id']}"
    et = (await client.get(url)).headers["etag"]
    r = await client.patch(
        url, json={"unit": "count", "reason": "x"}, headers={**writer, "If-Match": et}
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["code"] == "unit_mismatch"
    r = await client.patch(
        url, json={"baseline_on": "2020-02-01", "reason": "x"}, headers={**writer, "If-Match": et}
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["code"] == "reading_before_baseline"
    r = await client.patch(url, json={"target_value": 80}, headers={**writer, "If-Match": et})
    assert r.status_code == 422
    assert r.json()["errors"][0]["pointer"] == "body.reason"
