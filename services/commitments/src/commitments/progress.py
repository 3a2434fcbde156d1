"""The target progress rule: met, missed, stale, on track or off track. Pure functions, no I/O.

The rule (also in the OpenAPI description, `schemas.TARGET_RULE`) is judged as of a date: the
stored verdict is the one at the latest reading, and `as_of` turns it into today's (or any
date's) with `judged_on`, so nothing stored goes stale as the calendar moves.

Arithmetic is exact (fractions), so a reading exactly on the trajectory is on
track whatever floating-point rounding the straight line would otherwise suffer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from fractions import Fraction

from commitments.schemas import Direction, ProgressStatus, Unit


@dataclass(frozen=True)
class TargetSpec:
    """What the rule needs to know about a target."""

    unit: Unit
    direction: Direction
    baseline_value: float | None
    baseline_on: date | None
    target_value: float
    due_on: date


@dataclass(frozen=True)
class Point:
    """A reading: its value and date (readings are passed oldest first)."""

    value: float
    as_of: date


@dataclass(frozen=True)
class Assessment:
    """The rule's verdict, and the figures it rests on."""

    status: ProgressStatus | None
    assessed_on: date | None
    latest_value: float | None
    expected_value: float | None
    reading_count: int


def reached(spec: TargetSpec, value: float) -> bool:
    """Whether a value achieves the target, in the target's direction."""
    if spec.unit is Unit.boolean:
        return value == spec.target_value
    if spec.direction is Direction.increase:
        return value >= spec.target_value
    return value <= spec.target_value


def expected_on(spec: TargetSpec, start: Point, day: date) -> Fraction:
    """The straight line from `start` to the target value on the due date, evaluated on `day`."""
    span = (spec.due_on - start.as_of).days
    if span <= 0:
        return Fraction(spec.target_value)
    elapsed = max(0, (day - start.as_of).days)
    base = Fraction(start.value)
    return base + (Fraction(spec.target_value) - base) * Fraction(elapsed, span)


def assess(spec: TargetSpec, readings: list[Point]) -> Assessment:
    """Judge a target by its readings (oldest first; the last one is the latest)."""
    if not readings:
        return Assessment(None, None, None, None, 0)
    latest = readings[-1]
    n = len(readings)
    if reached(spec, latest.value):
        return Assessment(ProgressStatus.met, latest.as_of, latest.value, None, n)
    if latest.as_of >= spec.due_on:
        return Assessment(ProgressStatus.missed, latest.as_of, latest.value, None, n)
    if spec.unit is Unit.boolean:
        return Assessment(ProgressStatus.on_track, latest.as_of, latest.value, None, n)
    if spec.baseline_value is not None and spec.baseline_on is not None:
        start = Point(spec.baseline_value, spec.baseline_on)
    else:
        start = readings[0]
    expected = expected_on(spec, start, latest.as_of)
    value = Fraction(latest.value)
    # The tolerance is a share of the whole climb, so it means the same for percentages, pounds
    # and counts; a reading short of the line by less than that still counts as on track.
    slack = abs(Fraction(spec.target_value) - Fraction(start.value)) * ON_TRACK_TOLERANCE
    if spec.direction is Direction.increase:
        ahead = value >= expected - slack
    else:
        ahead = value <= expected + slack
    status = ProgressStatus.on_track if ahead else ProgressStatus.off_track
    return Assessment(status, latest.as_of, latest.value, float(expected), n)


# How far short of the straight line a reading may fall and still be on track, as a share of the
# distance from the baseline to the target. Readings are rounded figures ("currently 88%") dated
# roughly, and a few weeks along the line move the expected value by about this much: 5% of a
# climb from 86% to 90% is 0.2 points, so 88% against an expected 88.12% is on track, while a
# reading a tenth of the climb behind is not. Set from COMMITMENTS_ON_TRACK_TOLERANCE.
ON_TRACK_TOLERANCE = Fraction(1, 20)

# How old the latest reading may be before "on track" is no longer a fair verdict. The service
# sets it from COMMITMENTS_STALE_READING_DAYS when its app is built.
STALE_AFTER_DAYS = 365


def configure(stale_after_days: int, on_track_tolerance: float = 0.05) -> None:
    """Set the staleness age and the on-track tolerance for this process (from the settings)."""
    global STALE_AFTER_DAYS, ON_TRACK_TOLERANCE
    STALE_AFTER_DAYS = stale_after_days
    ON_TRACK_TOLERANCE = Fraction(str(on_track_tolerance))


def judged_on(
    status: ProgressStatus | None, latest_on: date | None, due_on: date, day: date
) -> ProgressStatus | None:
    """A verdict reached at the latest reading (`status`, on `latest_on`) as it stands on `day`,
    when no reading after `latest_on` is dated up to `day`."""
    if status is None or latest_on is None or status == ProgressStatus.met:
        return status
    if day >= due_on:
        return ProgressStatus.missed
    if (day - latest_on).days > STALE_AFTER_DAYS:
        return ProgressStatus.stale
    return status


def unit_problem(unit: Unit, value: float) -> str | None:
    """Why a value cannot be in this unit, or None when it can."""
    if unit is Unit.boolean and value not in (0.0, 1.0):
        return "a boolean value is 0 (false) or 1 (true)"
    if unit is Unit.percent and not 0 <= value <= 100:
        return "a percentage is between 0 and 100"
    if unit is Unit.count and (value < 0 or not float(value).is_integer()):
        return "a count is a whole number, not negative"
    if unit in (Unit.gbp, Unit.fte) and value < 0:
        return f"an amount in {unit.value} is not negative"
    return None
