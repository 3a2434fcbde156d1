"""Server-rendered SVG charts of a target's readings against its straight-line trajectory.

Pure functions: data in, markup out. Colours are set with presentation attributes, not `style`,
so the pages' Content-Security-Policy can forbid inline styles. Every chart has a text equivalent
(the table the template renders beside it); the SVG itself is `role="img"` with a title and desc.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from html import escape

WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 64, 24, 24, 48


@dataclass(frozen=True)
class Point:
    """A value on a date."""

    on: date
    value: float


@dataclass(frozen=True)
class Series:
    """What one chart shows: the trajectory from baseline to target, and the readings."""

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

    title = escape(series.title)
    desc = escape(_description(series))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="chart-title chart-desc" class="scrutiny-chart" focusable="false">',
        f'<title id="chart-title">{title}</title><desc id="chart-desc">{desc}</desc>',
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
    ]
    # Axes and gridlines: four horizontal bands, labelled.
    for i in range(5):
        v = lo + (hi - lo) * i / 4
        yy = y(v)
        parts.append(
            f'<line x1="{LEFT}" y1="{yy:.1f}" x2="{WIDTH - RIGHT}" y2="{yy:.1f}" '
            f'stroke="#b1b4b6" stroke-width="1"/>'
            f'<text x="{LEFT - 8}" y="{yy + 4:.1f}" text-anchor="end" font-size="12" '
            f'fill="#0b0c0c">{escape(_fmt(v, series.unit))}</text>'
        )
    for on in sorted({date.fromordinal(d0), date.fromordinal(d1)}):
        parts.append(
            f'<text x="{x(on):.1f}" y="{HEIGHT - BOTTOM + 20}" text-anchor="middle" font-size="12" '
            f'fill="#0b0c0c">{on.isoformat()}</text>'
        )
    if series.baseline and series.target:
        parts.append(
            f'<line x1="{x(series.baseline.on):.1f}" y1="{y(series.baseline.value):.1f}" '
            f'x2="{x(series.target.on):.1f}" y2="{y(series.target.value):.1f}" stroke="#505a5f" '
            f'stroke-width="2" stroke-dasharray="6 4"/>'
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
    parts.append(
        f'<g font-size="12" fill="#0b0c0c">'
        f'<line x1="{LEFT}" y1="{HEIGHT - 12}" x2="{LEFT + 24}" y2="{HEIGHT - 12}" '
        f'stroke="#505a5f" stroke-width="2" stroke-dasharray="6 4"/>'
        f'<text x="{LEFT + 30}" y="{HEIGHT - 8}">'
        f"Trajectory to target</text>"
        f'<circle cx="{LEFT + 190}" cy="{HEIGHT - 12}" r="5" fill="#1d70b8"/>'
        f'<text x="{LEFT + 200}" y="{HEIGHT - 8}">Readings</text>'
        f'<rect x="{LEFT + 290}" y="{HEIGHT - 18}" width="12" height="12" fill="#0b0c0c"/>'
        f'<text x="{LEFT + 308}" y="{HEIGHT - 8}">Target</text></g>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _description(series: Series) -> str:
    bits = []
    if series.baseline:
        value = _fmt(series.baseline.value, series.unit)
        bits.append(f"Baseline {value} on {series.baseline.on.isoformat()}")
    if series.target:
        bits.append(
            f"target {_fmt(series.target.value, series.unit)} by {series.target.on.isoformat()}"
        )
    if series.readings:
        last = max(series.readings, key=lambda p: p.on)
        bits.append(
            f"{len(series.readings)} reading(s), latest {_fmt(last.value, series.unit)} "
            f"on {last.on.isoformat()}"
        )
    return "; ".join(bits) + ". The table below gives every value."
