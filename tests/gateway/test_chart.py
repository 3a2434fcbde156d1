"""The scorecard's SVG charts as markup: each names itself by its own data, draws what its legend
names, keeps its dates inside, and stays legible on a narrow screen."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date

from gateway.pages.chart import FONT, WIDTH, Point, Series, render

SVG = "{http://www.w3.org/2000/svg}"


def _series(key: str, target: float, due: date, *, baseline: bool = True) -> Series:
    return Series(
        key=key,
        title=f"Share registered: readings against the trajectory to {target:g}%",
        unit="percent",
        baseline=Point(date(2022, 6, 29), 40) if baseline else None,
        target=Point(due, target),
        readings=[Point(date(2023, 2, 17), 55), Point(date(2023, 4, 17), 68)],
    )


def _parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)


def _name_and_description(svg: ET.Element) -> tuple[str, str]:
    """What a screen reader announces: the elements aria-labelledby points at, in this SVG."""
    by_id = {e.get("id"): (e.text or "") for e in svg.iter() if e.get("id")}
    title_id, desc_id = (svg.get("aria-labelledby") or "").split()
    return by_id[title_id], by_id[desc_id]


def test_each_chart_is_named_by_its_own_data():
    first = _parse(render(_series("t1", 68, date(2023, 3, 31))))
    second = _parse(render(_series("t2", 75, date(2024, 12, 31))))
    ids = [e.get("id") for svg in (first, second) for e in svg.iter() if e.get("id")]
    assert len(ids) == len(set(ids)) == 4
    name, desc = _name_and_description(first)
    assert "68%" in name
    assert "target 68% by 31 March 2023" in desc
    name, desc = _name_and_description(second)
    assert "75%" in name
    assert "68%" not in name
    assert "target 75% by 31 December 2024" in desc
    assert "2 readings, latest 68% on 17 April 2023" in desc


def test_the_trajectory_the_legend_names_is_drawn_with_or_without_a_baseline():
    for baseline in (True, False):
        svg = _parse(render(_series("t", 75, date(2024, 12, 31), baseline=baseline)))
        texts = [t.text for t in svg.iter(f"{SVG}text")]
        assert "Trajectory to target" in texts
        [line] = [e for e in svg.iter(f"{SVG}line") if e.get("data-trajectory")]
        # Without a baseline it starts from the earliest reading, as the progress rule does.
        assert float(line.get("x1", 0)) < float(line.get("x2", 0))


def test_no_trajectory_no_legend_entry_for_it():
    # The only reading comes after the due date: there is no line to the target to draw.
    series = Series(
        key="late",
        title="Late",
        unit="count",
        baseline=None,
        target=Point(date(2023, 3, 31), 30),
        readings=[Point(date(2023, 4, 17), 31)],
    )
    svg = _parse(render(series))
    assert not [e for e in svg.iter(f"{SVG}line") if e.get("data-trajectory")]
    assert "Trajectory to target" not in [t.text for t in svg.iter(f"{SVG}text")]


def test_dates_are_in_words_and_inside_the_picture():
    svg = _parse(render(_series("t", 75, date(2024, 12, 31))))
    texts = {t.text: t for t in svg.iter(f"{SVG}text")}
    left, right = texts["29 June 2022"], texts["31 December 2024"]
    assert left.get("text-anchor") == "start"
    assert float(left.get("x", -1)) >= 0
    # Anchored at its end, the right-hand date ends inside the viewBox: it cannot be clipped.
    assert right.get("text-anchor") == "end"
    assert float(right.get("x", WIDTH + 1)) <= WIDTH


def test_text_stays_legible_at_320_px():
    svg = _parse(render(_series("t", 75, date(2024, 12, 31))))
    assert svg.get("viewBox") == f"0 0 {WIDTH} 270"
    [group] = [g for g in svg.iter(f"{SVG}g") if g.get("font-size")]
    size = float(group.get("font-size", 0))
    assert size == FONT
    # Scaled to 320 px wide, text is at least 12 px tall; no text sets a smaller size of its own.
    assert size * 320 / WIDTH >= 12
    assert not [t for t in svg.iter(f"{SVG}text") if t.get("font-size")]


def test_nothing_to_plot_is_no_chart():
    assert render(Series("k", "t", "percent", None, None, [])) == ""
