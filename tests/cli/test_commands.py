"""The `scrutiny` command as an operator meets it: the options say what they do (every `--help`
is walked by test_help.py)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scrutiny_cli import transfer

# What it checks does not depend on the database backend: CI runs it on SQLite only.
pytestmark = pytest.mark.backend_independent


@pytest.mark.parametrize("command", ["import", "export"])
def test_transfers_find_the_suite_by_its_port_base(command: str) -> None:
    parser = argparse.ArgumentParser()
    transfer.add_parsers(parser.add_subparsers(dest="command"), Path(".data"))
    file = ["x.csv"] if command == "import" else []
    args = parser.parse_args([command, *file, "--port-base", "9100"])
    assert transfer.gateway_url(args) == "http://127.0.0.1:9100"
    explicit = parser.parse_args([command, *file, "--gateway-url", "http://gw:1"])
    assert transfer.gateway_url(explicit) == "http://gw:1"


def test_migrate_shows_its_progress(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")}
    done = subprocess.run(
        [sys.executable, "-m", "scrutiny_cli.main", "migrate", "--data-dir", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    lines = done.stdout.splitlines()
    assert [line.split("…")[0].strip() for line in lines[:4]] == [
        "[1/4] gateway",
        "[2/4] commitments",
        "[3/4] evidence",
        "[4/4] ratings",
    ]
    assert all(" at head (" in line for line in lines[:4])
    assert lines[-1] == "all four databases are at head"
