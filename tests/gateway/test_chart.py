"""The scorecard's charts as markup: each names itself by its own data, draws what its legend
names, and keeps its words out of the SVG (HTML labels keep their size on a narrow screen and
cannot be clipped; the browser test measures them: tests/cross/test_page_content_browser.py)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date

from gateway.pages.chart import Point, Series, render

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
    """The chart's SVG plot (the markup is well-formed XML, labels and legend around it)."""
    box = ET.fromstring(markup)
    svg = box.find(f"{SVG}svg")
    assert svg is not None
    return svg


def _words(markup: str) -> list[str]:
    """The HTML labels and legend: every text outside the plot."""
    box = ET.fromstring(markup)
    return [
        (e.text or "").strip()
        for e in box.iter()
        if not e.tag.startswith(SVG) and (e.text or "").strip()
    ]


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
        markup = render(_series("t", 75, date(2024, 12, 31), baseline=baseline))
        assert "Trajectory to target" in _words(markup)
        [line] = [e for e in _parse(markup).iter(f"{SVG}line") if e.get("data-trajectory")]
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
    markup = render(series)
    assert not [e for e in _parse(markup).iter(f"{SVG}line") if e.get("data-trajectory")]
    assert "Trajectory to target" not in _words(markup)
    assert "Readings" in _words(markup)


def test_words_are_html_beside_the_plot_with_dates_in_words():
    markup = render(_series("t", 75, date(2024, 12, 31)))
    svg = _parse(markup)
    # No text inside the SVG to shrink with it, be clipped, or defeat axe's contrast check.
    assert not list(svg.iter(f"{SVG}text"))
    words = _words(markup)
    assert words[:5] == ["100%", "75%", "50%", "25%", "0%"]
    assert words[5:7] == ["29 June 2022", "31 December 2024"]
    assert words[7:] == ["Trajectory to target", "Readings", "Target"]
    box = ET.fromstring(markup)
    hidden = [e for e in box if e.get("aria-hidden") == "true"]
    # Labels and legend are hidden from screen readers: the name, description and table say it.
    assert len(hidden) == 3


def test_nothing_to_plot_is_no_chart():
    assert render(Series("k", "t", "percent", None, None, [])) == ""
