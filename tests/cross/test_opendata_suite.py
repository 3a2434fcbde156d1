"""Open data against the running suite with its demo data: the Data Package as served is valid
by `frictionless validate` (and a tampered copy is not), and the /data page passes axe in a
real browser at 320, 375 and 1280 px with no violations and nothing left for review."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.cross.test_pages_browser import ARTIFACTS, AXE_TAGS, CHROMIUM

# The package's shape and the page's markup do not depend on the database backend (what the
# downloads may show is checked on both by tests/gateway/test_opendata.py): SQLite only in CI.
pytestmark = [pytest.mark.processes, pytest.mark.backend_independent]

WIDTHS = (320, 375, 1280)


def _frictionless(folder: Path) -> dict:
    """`frictionless validate --json` on the package in `folder` (the CLI, as a reuser runs it)."""
    exe = Path(sys.executable).with_name("frictionless")
    done = subprocess.run(
        [str(exe), "validate", "--json", "datapackage.json"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    report: dict = json.loads(done.stdout)
    return report


def test_the_served_data_package_is_valid(running_suite, tmp_path):
    base = running_suite.gateway
    with httpx.Client(base_url=base, timeout=60) as client:
        r = client.get("/data/datapackage.json")
        assert r.status_code == 200
        package = r.json()
        (tmp_path / "datapackage.json").write_bytes(r.content)
        for resource in package["resources"]:
            got = client.get(f"/data/{resource['path']}")
            assert got.status_code == 200, resource["path"]
            (tmp_path / resource["path"]).write_bytes(got.content)
    assert package["licenses"][0]["name"] == "OGL-UK-3.0"
    assert {r["format"] for r in package["resources"]} == {"csv", "json"}
    report = _frictionless(tmp_path)
    problems = [(t["name"], t["errors"][:3]) for t in report["tasks"] if not t["valid"]]
    assert report["valid"], problems
    assert len(report["tasks"]) == len(package["resources"])
    # The demo data is in it: the 2023 evaluation's nine commitments by four dimensions.
    ratings = (tmp_path / "ratings.csv").read_text().splitlines()
    assert sum(running_suite.evaluation_id in line for line in ratings) == 9 * 4

    # The validation can fail: a reading of a target that does not exist breaks a foreign key.
    readings = tmp_path / "readings.csv"
    lines = readings.read_text().splitlines()
    first = lines[1].split(",")
    lines[1] = ",".join([first[0], "no-such-target", *first[2:]])
    readings.write_text("\n".join(lines) + "\n")
    broken = _frictionless(tmp_path)
    assert not broken["valid"]
    errors = [e["type"] for t in broken["tasks"] if t["name"] == "readings" for e in t["errors"]]
    assert errors == ["foreign-key"]


@pytest.mark.skipif(
    not (shutil.which(CHROMIUM) or Path(CHROMIUM).exists()),
    reason=f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium)",
)
async def test_data_page_passes_axe_at_every_width(running_suite):
    playwright = pytest.importorskip("playwright.async_api", reason="needs the playwright package")
    axe_module = pytest.importorskip("axe_playwright_python.async_playwright")
    url = f"{running_suite.gateway}/data"
    async with playwright.async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--no-first-run"]
        )
        try:
            for width in WIDTHS:
                page = await browser.new_page(viewport={"width": width, "height": 900})
                resp = await page.goto(url)
                assert resp is not None
                assert resp.status == 200
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                await page.screenshot(path=str(ARTIFACTS / f"data-{width}.png"), full_page=True)
                results = await axe_module.Axe().run(
                    page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}}
                )
                assert results.response["violations"] == [], results.generate_report()
                incomplete = [i["id"] for i in results.response["incomplete"]]
                assert incomplete == [], (width, incomplete)
                # No horizontal scroll at this width.
                wide = await page.evaluate(
                    "document.documentElement.scrollWidth > document.documentElement.clientWidth"
                )
                assert not wide, width
                assert await page.locator("h1").count() == 1
                feeds = page.locator('link[rel="alternate"][type="application/atom+xml"]')
                assert await feeds.count() == 2
                await page.close()
        finally:
            await browser.close()
