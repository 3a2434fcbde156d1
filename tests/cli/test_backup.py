"""`scrutiny backup` while the suite serves writes, then `scrutiny restore` into an empty data
folder (and empty PostgreSQL databases): every write acknowledged before the backup began is
there, every blob with its bytes, every feed gap-free, and the restored suite's consumers carry on
from their stored positions to the end of the feeds they read.

Runs on SQLite, and on fresh PostgreSQL databases when SCRUTINY_TEST_POSTGRES_URL is set.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sqlite3
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from scrutiny_cli import credentials
from scrutiny_cli.suite import ROOT
from tests.support.databases import ON_POSTGRES, fresh_database_url
from tests.support.processes import Suite, free_port_base

pytestmark = pytest.mark.processes

PARTS = ("commitments", "evidence", "ratings", "gateway")
# Consumers and the feed each reads (the name in their `consumer_positions`).
CONSUMERS = {
    ("evidence", "commitments"),
    ("ratings", "commitments"),
    ("ratings", "evidence"),
    ("gateway", "commitments"),
    ("gateway", "evidence"),
    ("gateway", "ratings"),
}
WRITERS = 3


def _env(tmp_path: Path, label: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")}
    if ON_POSTGRES:
        for part in PARTS:
            env[f"{part.upper()}_DATABASE_URL"] = fresh_database_url(f"{label}_{part}", tmp_path)
    return env


def _query(env: dict[str, str], data_dir: Path, part: str, sql: str) -> list[tuple[Any, ...]]:
    url = env.get(f"{part.upper()}_DATABASE_URL")
    if url is None:
        with sqlite3.connect(data_dir / f"{part}.db") as conn:
            return list(conn.execute(sql))

    async def fetch() -> list[tuple[Any, ...]]:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        try:
            return [tuple(r) for r in await conn.fetch(sql)]
        finally:
            await conn.close()

    return asyncio.run(fetch())


def _scrutiny(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The README's command itself (`./scrutiny backup …`)."""
    return subprocess.run(
        [str(ROOT / "scrutiny"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


class Load:
    """Writers posting submissions (every third with an attachment) until told to stop."""

    def __init__(self, gateway: str, token: str, commitment_ids: list[str]) -> None:
        self.gateway, self.token, self.commitment_ids = gateway, token, commitment_ids
        self.stop = threading.Event()
        self.acked: list[tuple[float, str]] = []  # (time acknowledged, submission id)
        # (time acknowledged, attachment's URL, sha256 of what was sent)
        self.blobs: list[tuple[float, str, str]] = []
        self.errors: list[str] = []
        self.threads = [threading.Thread(target=self._write, args=(n,)) for n in range(WRITERS)]

    def _write(self, n: int) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=self.gateway, timeout=30, headers=headers) as client:
            i = 0
            while not self.stop.is_set():
                i += 1
                body = {
                    "commitment_ids": [self.commitment_ids[i % len(self.commitment_ids)]],
                    "kind": "written",
                    "title": f"Backup test submission {n}-{i} (fictional)",
                    "body": "Illustrative evidence written by the backup test.",
                    "stance": "mixed",
                    "consent": "publish",
                }
                r = client.post(
                    "/v1/submissions", json=body, headers={"Idempotency-Key": uuid.uuid4().hex}
                )
                if r.status_code == 429:  # the client's quota: wait as told, as a client would
                    time.sleep(float(r.headers.get("retry-after", "1")))
                    continue
                if r.status_code != 201:
                    self.errors.append(f"{r.status_code} {r.text}")
                    continue
                sid = r.json()["id"]
                self.acked.append((time.monotonic(), sid))
                if i % 3 == 0:
                    content = f"attachment {n}-{i} {uuid.uuid4().hex}\n".encode()
                    a = client.post(
                        f"/v1/submissions/{sid}/attachments",
                        files={"file": (f"note-{n}-{i}.txt", content, "text/plain")},
                    )
                    if a.status_code == 201:
                        url = f"/v1/submissions/{sid}/attachments/{a.json()['id']}"
                        self.blobs.append(
                            (time.monotonic(), url, hashlib.sha256(content).hexdigest())
                        )
                    elif a.status_code != 429:
                        self.errors.append(f"{a.status_code} {a.text}")
                # A bounded load: a few dozen writes a second, not a flood.
                time.sleep(0.05)

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(60)


def _feeds(env: dict[str, str], data_dir: Path) -> tuple[dict[str, int], int]:
    """Each feed's head, checked gap-free, and how many events wait for a position.

    Positions are assigned just after commit, so a snapshot may hold committed events that have
    none yet; the restored service positions them when it starts.
    """
    heads, unpositioned = {}, 0
    for part in PARTS:
        rows = _query(env, data_dir, part, "SELECT position FROM events")
        positions = sorted(r[0] for r in rows if r[0] is not None)
        assert positions == list(range(1, len(positions) + 1)), f"{part}: a gap in the feed"
        heads[part] = len(positions)
        unpositioned += len(rows) - len(positions)
    return heads, unpositioned


def _consumer_positions(env: dict[str, str], data_dir: Path) -> dict[tuple[str, str], int]:
    found = {}
    for part in ("evidence", "ratings", "gateway"):
        for name, position in _query(
            env, data_dir, part, "SELECT name, position FROM consumer_positions"
        ):
            found[(part, name)] = position
    return found


def test_backup_under_writes_restores_every_acknowledged_write(tmp_path: Path) -> None:
    source_dir, restored_dir = tmp_path / "data", tmp_path / "restored"
    source_env, restored_env = _env(tmp_path, "bk_src"), _env(tmp_path, "bk_dst")
    backup_dir = tmp_path / "backup"
    port_base = free_port_base()
    suite = Suite(source_dir, port_base, source_env)
    suite.start()
    try:
        creds = json.loads((source_dir / "credentials.json").read_text())
        token = credentials.token(suite.gateway, creds["stakeholder"])
        assert token is not None
        ids = [
            c["id"]
            for c in httpx.get(f"{suite.gateway}/v1/commitments", params={"page_size": 5})
            .raise_for_status()
            .json()["items"]
        ]
        with Load(suite.gateway, token, ids) as load:
            while len(load.blobs) < 3:
                assert load.threads[0].is_alive(), load.errors
                time.sleep(0.1)
            began = time.monotonic()
            done = _scrutiny(source_env, "backup", str(backup_dir), "--data-dir", str(source_dir))
            ended = time.monotonic()
            time.sleep(0.5)  # writes go on after the backup too; they need not be in it
        assert done.returncode == 0, done.stderr
        assert not load.errors, load.errors[:3]
        before = {sid for t, sid in load.acked if t < began}
        blobs_before = [(url, sha) for t, url, sha in load.blobs if t < began]
        after = {sid for t, sid in load.acked if t > ended}
        assert before, "no write was acknowledged before the backup"
        assert blobs_before, "no attachment was stored before the backup"
        assert after, "the writes did not go on after the backup"
    finally:
        assert suite.stop() == 0, "".join(suite.output)

    manifest = json.loads((backup_dir / "manifest.json").read_text())
    assert [e["part"] for e in manifest["entries"] if e["kind"] == "database"] == [
        "gateway",
        "ratings",
        "evidence",
        "commitments",
    ]
    refused = _scrutiny(restored_env, "restore", str(backup_dir), "--data-dir", str(source_dir))
    assert refused.returncode == 1, "restore overwrote a data folder in use"
    assert "restore into" in refused.stderr, refused.stderr
    done = _scrutiny(restored_env, "restore", str(backup_dir), "--data-dir", str(restored_dir))
    assert done.returncode == 0, done.stderr

    # Consistent for consumers: none is past the head of the feed it reads.
    heads, _ = _feeds(restored_env, restored_dir)
    positions = _consumer_positions(restored_env, restored_dir)
    for consumer, feed in CONSUMERS:
        assert positions.get((consumer, feed), 0) <= heads[feed], (consumer, feed, positions)

    again = Suite(restored_dir, free_port_base(), restored_env)
    again.start("--no-seed")
    try:
        token = credentials.token(again.gateway, creds["stakeholder"])
        assert token is not None, "the restored gateway does not know its clients"
        auth = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=again.gateway, timeout=30, headers=auth) as client:
            lost = [s for s in before if client.get(f"/v1/submissions/{s}").status_code != 200]
            assert not lost, f"{len(lost)} of {len(before)} acknowledged submissions lost"
            for url, sha in blobs_before:
                content = client.get(url)
                assert content.status_code == 200, content.text
                assert hashlib.sha256(content.content).hexdigest() == sha
        # The restored consumers carry on to the end of the restored feeds.
        deadline = time.monotonic() + 60
        while True:
            heads, unpositioned = _feeds(restored_env, restored_dir)
            positions = _consumer_positions(restored_env, restored_dir)
            if not unpositioned and all(positions.get((c, f)) == heads[f] for c, f in CONSUMERS):
                break
            assert time.monotonic() < deadline, (heads, positions)
            time.sleep(0.3)
    finally:
        assert again.stop() == 0, "".join(again.output)
