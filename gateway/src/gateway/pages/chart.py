"""Server-rendered charts of a target's readings against its straight-line trajectory.

Pure functions: data in, markup out. The plot is an SVG with no text in it; its axis labels and
legend are HTML beside it. So the words keep their size when the plot scales down to a 320 px
screen, and axe can check their contrast (it cannot see the background behind text inside an
SVG, and asks for a review of every such label). Colours are presentation attributes and layout
is classes in scrutiny.css, so the pages' Content-Security-Policy can forbid inline styles.

Every chart has a text equivalent (the table the template renders beside it); the SVG itself is
`role="img"`, named by its own title and description, whose ids carry the chart's own key, so
several charts on one page never share one. The HTML labels are `aria-hidden`: the name, the
description and the table already say everything they show.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from html import escape

from gateway.pages.words import figure, long_date

# The plot's own units; it scales to its column's width. PAD keeps markers at the edges whole.
WIDTH, HEIGHT, PAD = 320, 180, 8
BANDS = 4  # horizontal gridlines divide the value range into this many bands
LINE = "#505a5f"
READING = "#1d70b8"
TARGET = "#0b0c0c"
GRID = "#b1b4b6"


@dataclass(frozen=True)
class Point:
    """A value on a date."""

    on: date
    value: float


@dataclass(frozen=True)
class Series:
    """What one chart shows: the trajectory from baseline to target, and the readings."""

    key: str
    title: str
    unit: str
    baseline: Point | None
    target: Point | None
    readings: list[Point]


def _bounds(unit: str, points: list[Point]) -> tuple[int, int, float, float]:
    """The plot's date span (ordinals) and value span: from zero, to 100 for percentages, and
    never empty, so a single point still has somewhere to sit."""
    d0 = min(p.on for p in points).toordinal()
    d1 = max(max(p.on for p in points).toordinal(), d0 + 1)
    lo = min(0.0, min(p.value for p in points))
    hi = max(p.value for p in points)
    if unit == "percent":
        hi = max(hi, 100.0)
    if hi == lo:
        hi = lo + 1
    return d0, d1, lo, hi


def trajectory_start(series: Series) -> Point | None:
    """Where the straight line to the target starts: the baseline, else the earliest reading
    (as the progress rule does)."""
    if series.baseline:
        return series.baseline
    return min(series.readings, key=lambda p: p.on) if series.readings else None


def chart_ids(series: Series) -> tuple[str, str]:
    """The ids of this chart's title and description: unique per chart on a page."""
    key = re.sub(r"[^A-Za-z0-9_-]", "-", series.key)
    return f"chart-{key}-title", f"chart-{key}-desc"


def _plot(series: Series, points: list[Point]) -> tuple[str, bool]:
    """The SVG (shapes only) and whether the trajectory line is drawn."""
    d0, d1, lo, hi = _bounds(series.unit, points)
    span_w, span_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD

    def x(on: date) -> float:
        return PAD + (on.toordinal() - d0) / (d1 - d0) * span_w

    def y(value: float) -> float:
        return PAD + (1 - (value - lo) / (hi - lo)) * span_h

    title_id, desc_id = chart_ids(series)
    keep = 'vector-effect="non-scaling-stroke"'
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{title_id} {desc_id}" class="scrutiny-chart" focusable="false">',
        f'<title id="{title_id}">{escape(series.title)}</title>'
        f'<desc id="{desc_id}">{escape(description(series))}</desc>',
    ]
    for i in range(BANDS + 1):
        yy = PAD + span_h * i / BANDS
        parts.append(
            f'<line x1="{PAD}" y1="{yy:.1f}" x2="{WIDTH - PAD}" y2="{yy:.1f}" '
            f'stroke="{GRID}" stroke-width="1" {keep}/>'
        )
    start = trajectory_start(series)
    drawn = bool(start and series.target and start.on < series.target.on)
    if drawn and start and series.target:
        parts.append(
            f'<line x1="{x(start.on):.1f}" y1="{y(start.value):.1f}" '
            f'x2="{x(series.target.on):.1f}" y2="{y(series.target.value):.1f}" stroke="{LINE}" '
            f'stroke-width="2" stroke-dasharray="6 4" {keep} data-trajectory="true"/>'
        )
    if series.target:
        tx, ty = x(series.target.on), y(series.target.value)
        parts.append(
            f'<rect x="{tx - 5:.1f}" y="{ty - 5:.1f}" width="10" height="10" fill="{TARGET}"/>'
        )
    readings = sorted(series.readings, key=lambda p: p.on)
    if len(readings) > 1:
        path = " ".join(f"{x(p.on):.1f},{y(p.value):.1f}" for p in readings)
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="{READING}" stroke-width="3" {keep}/>'
        )
    for p in readings:
        parts.append(f'<circle cx="{x(p.on):.1f}" cy="{y(p.value):.1f}" r="5" fill="{READING}"/>')
    parts.append("</svg>")
    return "".join(parts), drawn


def _swatch(shape: str) -> str:
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 12" class="scrutiny-swatch" '
        f'focusable="false">{shape}</svg>'
    )


def _legend(line: bool, readings: bool, target: bool) -> str:
    """The key to what is drawn, and only to that."""
    items = []
    if line:
        items.append(
            _swatch(
                f'<line x1="0" y1="6" x2="24" y2="6" stroke="{LINE}" stroke-width="2" '
                'stroke-dasharray="6 4"/>'
            )
            + "<span>Trajectory to target</span>"
        )
    if readings:
        items.append(
            _swatch(f'<circle cx="12" cy="6" r="5" fill="{READING}"/>') + "<span>Readings</span>"
        )
    if target:
        items.append(
            _swatch(f'<rect x="7" y="1" width="10" height="10" fill="{TARGET}"/>')
            + "<span>Target</span>"
        )
    return "".join(f'<li class="scrutiny-chart-legend__item">{i}</li>' for i in items)


def render(series: Series) -> str:
    """An accessible chart (SVG plot, HTML labels and legend); empty when nothing to plot."""
    points = [p for p in (series.baseline, series.target) if p] + series.readings
    if not points:
        return ""
    svg, drawn = _plot(series, points)
    _, _, lo, hi = _bounds(series.unit, points)
    values = [hi - (hi - lo) * i / BANDS for i in range(BANDS + 1)]
    first, last = min(p.on for p in points), max(p.on for p in points)
    dates = [first] if last == first else [first, last]
    return (
        '<div class="scrutiny-chart-box govuk-body-s">'
        '<div class="scrutiny-chart-y" aria-hidden="true">'
        + "".join(f"<span>{escape(figure(v, series.unit))}</span>" for v in values)
        + "</div>"
        + svg
        + '<div class="scrutiny-chart-x" aria-hidden="true">'
        + "".join(f"<span>{long_date(d)}</span>" for d in dates)
        + "</div>"
        + '<ul class="scrutiny-chart-legend" aria-hidden="true">'
        + _legend(drawn, bool(series.readings), bool(series.target))
        + "</ul></div>"
    )


def description(series: Series) -> str:
    """The chart's own figures in a sentence: baseline, target and latest reading."""
    bits = []
    if series.baseline:
        value = figure(series.baseline.value, series.unit)
        bits.append(f"Baseline {value} on {long_date(series.baseline.on)}")
    if series.target:
        value = figure(series.target.value, series.unit)
        bits.append(f"target {value} by {long_date(series.target.on)}")
    if series.readings:
        last = max(series.readings, key=lambda p: p.on)
        count = len(series.readings)
        bits.append(
            f"{count} reading{'' if count == 1 else 's'}, latest "
            f"{figure(last.value, series.unit)} on {long_date(last.on)}"
        )
    else:
        bits.append("no readings yet")
    said = "; ".join(bits)
    return said[:1].upper() + said[1:] + ". The table below gives every value."
