"""Server-rendered SVG charts of a target's readings against its straight-line trajectory.

Pure functions: data in, markup out. Colours are set with presentation attributes, not `style`,
so the pages' Content-Security-Policy can forbid inline styles. Every chart has a text equivalent
(the table the template renders beside it); the SVG itself is `role="img"` named by its own title
and description, whose ids carry the chart's own key, so several charts on a page never share
one. The viewBox is narrow (360 units) and the text 14 units, so text stays at least 12 px tall
when the chart scales down to a 320 px wide screen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from html import escape

from gateway.pages.words import long_date

WIDTH, HEIGHT = 360, 270
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 14, 84
FONT = 14


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


def _fmt(value: float, unit: str) -> str:
    if unit == "percent":
        return f"{value:g}%"
    if unit == "gbp":
        return f"£{value:,.0f}"
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"


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


def render(series: Series) -> str:
    """An accessible SVG line chart; empty string when there is nothing to plot."""
    points = [p for p in (series.baseline, series.target) if p] + series.readings
    if len(points) < 1:
        return ""
    d0, d1, lo, hi = _bounds(series.unit, points)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(on: date) -> float:
        return LEFT + (on.toordinal() - d0) / (d1 - d0) * plot_w

    def y(value: float) -> float:
        return TOP + (1 - (value - lo) / (hi - lo)) * plot_h

    title_id, desc_id = chart_ids(series)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{title_id} {desc_id}" class="scrutiny-chart" focusable="false">',
        f'<title id="{title_id}">{escape(series.title)}</title>'
        f'<desc id="{desc_id}">{escape(description(series))}</desc>',
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        f'<g font-size="{FONT}" fill="#0b0c0c">',
    ]
    # Gridlines: four horizontal bands, labelled.
    for i in range(5):
        v = lo + (hi - lo) * i / 4
        yy = y(v)
        parts.append(
            f'<line x1="{LEFT}" y1="{yy:.1f}" x2="{WIDTH - RIGHT}" y2="{yy:.1f}" '
            f'stroke="#b1b4b6" stroke-width="1"/>'
            f'<text x="{LEFT - 6}" y="{yy + 5:.1f}" text-anchor="end">'
            f"{escape(_fmt(v, series.unit))}</text>"
        )
    # The first and last dates, anchored inwards so neither runs off the edge.
    axis_y = HEIGHT - BOTTOM + 20
    first, last = date.fromordinal(d0), max(p.on for p in points)
    parts.append(f'<text x="{LEFT}" y="{axis_y}" text-anchor="start">{long_date(first)}</text>')
    if last != first:
        parts.append(
            f'<text x="{WIDTH - RIGHT}" y="{axis_y}" text-anchor="end">{long_date(last)}</text>'
        )
    start = trajectory_start(series)
    drawn_line = bool(start and series.target and start.on < series.target.on)
    if drawn_line and start and series.target:
        parts.append(
            f'<line x1="{x(start.on):.1f}" y1="{y(start.value):.1f}" '
            f'x2="{x(series.target.on):.1f}" y2="{y(series.target.value):.1f}" stroke="#505a5f" '
            f'stroke-width="2" stroke-dasharray="6 4" data-trajectory="true"/>'
        )
    if series.target:
        tx, ty = x(series.target.on), y(series.target.value)
        parts.append(
            f'<rect x="{tx - 6:.1f}" y="{ty - 6:.1f}" width="12" height="12" fill="#0b0c0c"/>'
        )
    readings = sorted(series.readings, key=lambda p: p.on)
    if len(readings) > 1:
        path = " ".join(f"{x(p.on):.1f},{y(p.value):.1f}" for p in readings)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#1d70b8" stroke-width="3"/>')
    for p in readings:
        parts.append(f'<circle cx="{x(p.on):.1f}" cy="{y(p.value):.1f}" r="5" fill="#1d70b8"/>')
    parts.append(_legend(drawn_line, bool(readings), bool(series.target)) + "</g>")
    parts.append("</svg>")
    return "".join(parts)


def _legend(line: bool, readings: bool, target: bool) -> str:
    """The key to what is drawn, and only to that: two rows, so it fits the narrow width."""
    row1, row2 = HEIGHT - 34, HEIGHT - 12
    parts = []
    if line:
        parts.append(
            f'<line x1="{LEFT}" y1="{row1 - 5}" x2="{LEFT + 24}" y2="{row1 - 5}" '
            f'stroke="#505a5f" stroke-width="2" stroke-dasharray="6 4"/>'
            f'<text x="{LEFT + 30}" y="{row1}">Trajectory to target</text>'
        )
    if readings:
        parts.append(
            f'<circle cx="{LEFT + 12}" cy="{row2 - 5}" r="5" fill="#1d70b8"/>'
            f'<text x="{LEFT + 30}" y="{row2}">Readings</text>'
        )
    if target:
        parts.append(
            f'<rect x="{LEFT + 130}" y="{row2 - 11}" width="12" height="12" fill="#0b0c0c"/>'
            f'<text x="{LEFT + 148}" y="{row2}">Target</text>'
        )
    return "".join(parts)


def description(series: Series) -> str:
    """The chart's own figures in a sentence: baseline, target and latest reading."""
    bits = []
    if series.baseline:
        value = _fmt(series.baseline.value, series.unit)
        bits.append(f"Baseline {value} on {long_date(series.baseline.on)}")
    if series.target:
        value = _fmt(series.target.value, series.unit)
        bits.append(f"target {value} by {long_date(series.target.on)}")
    if series.readings:
        last = max(series.readings, key=lambda p: p.on)
        count = len(series.readings)
        bits.append(
            f"{count} reading{'' if count == 1 else 's'}, latest {_fmt(last.value, series.unit)} "
            f"on {long_date(last.on)}"
        )
    else:
        bits.append("no readings yet")
    said = "; ".join(bits)
    return said[:1].upper() + said[1:] + ". The table below gives every value."
