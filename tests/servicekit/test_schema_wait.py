"""The initContainer's wait (`python -m servicekit.schema_wait`): it waits while the database
is unmigrated and returns once the migration has run, on the database the env variable names."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INI = ROOT / "services/commitments/alembic.ini"


def _wait(url: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "servicekit.schema_wait",
            "--alembic-ini",
            str(INI),
            "--database-url-env",
            "COMMITMENTS_DATABASE_URL",
            "--timeout",
            str(timeout),
            "--interval",
            "0.2",
        ],
        env={**os.environ, "COMMITMENTS_DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_it_times_out_on_an_unmigrated_database(tmp_path: Path) -> None:
    done = _wait(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}", timeout=1)
    assert done.returncode == 1
    assert "not at the migration head" in done.stderr


def test_it_returns_once_the_migration_has_run(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'commitments.db'}"
    migrated = threading.Event()

    def migrate() -> None:
        subprocess.run(
            [sys.executable, "-m", "alembic", "-c", str(INI), "upgrade", "head"],
            env={**os.environ, "COMMITMENTS_DATABASE_URL": url},
            capture_output=True,
            check=True,
            timeout=300,
        )
        migrated.set()

    job = threading.Thread(target=migrate)
    job.start()
    done = _wait(url, timeout=240)
    job.join()
    assert migrated.is_set()
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "database at the migration head"
