"""The benchmark's command line, without running a benchmark."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.run.cli import output_dir, parser

# What it checks does not depend on the database backend: CI runs it on SQLite only.
pytestmark = pytest.mark.backend_independent


def test_out_is_created_before_the_run_so_its_figures_can_be_written(tmp_path: Path) -> None:
    target = tmp_path / "not" / "there" / "yet"
    assert output_dir(parser().parse_args(["--out", str(target)])) == target
    assert target.is_dir()


def test_a_partial_run_writes_beside_not_over_the_committed_results() -> None:
    args = parser().parse_args(["--only", "get_by_id"])
    out = output_dir(args)
    assert out.name == ".work"
    assert args.skip_growth
