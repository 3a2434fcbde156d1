"""`scrutiny backup` and `scrutiny restore`: every database, the attachment blobs and the data
folder's own keys, taken while the suite serves and put back into an empty data folder.

Each database is copied as one consistent snapshot: SQLite through its online backup API (the
copy is a point in time even with writers active), PostgreSQL with `pg_dump` (one repeatable-read
snapshot per database, custom format, restored with `pg_restore`). The four snapshots cannot be
one instant, so they are taken in an order that keeps the restored suite whole:

- consumers before the feeds they read (gateway, then ratings, then evidence, then commitments):
  a consumer's stored position is then never past the head of the restored feed it reads, so
  after a restore it carries on from there and nothing is skipped; anything newer in a feed is
  simply read again, and consumers apply events idempotently;
- the evidence database before the blobs: blobs are content-addressed and a blob a committed
  attachment points at is never deleted, so every attachment in the snapshot finds its bytes.

A `manifest.json` records what was taken, from where, with each file's size and SHA-256;
`restore` checks them before it writes anything.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL

from scrutiny_cli.credentials import KEY_ENCRYPTION_KEY_FILE
from scrutiny_cli.suite import PARTS, Part, database_url

MANIFEST = "manifest.json"
FORMAT = 1
# Consumers before the feeds they read (see the module docstring).
ORDER = ("gateway", "ratings", "evidence", "commitments")
# Files of the data folder that belong with its databases: the key that decrypts the gateway's
# stored signing keys (when the operator keeps it there, as the embedded default does) and the
# demo clients' credentials.
KEPT_FILES = (KEY_ENCRYPTION_KEY_FILE, "credentials.json")


class BackupError(RuntimeError):
    """A backup or restore that cannot go on; the message says why."""


@dataclass(frozen=True)
class Database:
    """Where one part's database is, as its settings would find it."""

    part: Part
    url: URL

    @property
    def is_sqlite(self) -> bool:
        """Whether it is the embedded default's SQLite file."""
        return self.url.get_backend_name() == "sqlite"

    @property
    def libpq(self) -> str:
        """The URL as `pg_dump` and `pg_restore` take it (no SQLAlchemy driver suffix)."""
        return self.url.set(drivername="postgresql").render_as_string(hide_password=False)

    @property
    def file_name(self) -> str:
        """Its file in a backup."""
        return f"{self.part.name}.db" if self.is_sqlite else f"{self.part.name}.dump"


def databases(data_dir: Path, env: dict[str, str]) -> list[Database]:
    """Each part's database in backup order: `<PART>_DATABASE_URL`, else its SQLite file."""
    by_name = {p.name: p for p in PARTS}
    return [Database(by_name[name], database_url(by_name[name], data_dir, env)) for name in ORDER]


def blob_dir(data_dir: Path, env: dict[str, str]) -> Path:
    """The evidence service's local blob store, as its settings would find it."""
    configured = env.get("EVIDENCE_BLOB_DIR")
    return Path(configured) if configured else data_dir / "blobs"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _copy_sqlite(source: Path, target: Path) -> None:
    """A point-in-time copy through SQLite's online backup API (writers may go on meanwhile)."""
    if not source.exists():
        raise BackupError(f"no database at {source}")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(target)
        try:
            # All pages in one step: a step-wise copy restarts whenever a writer changes the
            # source, which under steady writes might never finish.
            src.backup(dst, pages=-1)
        finally:
            dst.close()
    finally:
        src.close()


def _run(command: list[str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{what} failed: {result.stderr.strip() or result.returncode}")


def _blob_files(root: Path) -> Iterator[Path]:
    store = root / "sha256"
    if store.is_dir():
        yield from sorted(p for p in store.rglob("*") if p.is_file())


def backup(
    data_dir: Path, target: Path, env: dict[str, str], say: Callable[[str], None] = print
) -> dict[str, Any]:
    """Back the suite's state up into `target` (a new or empty folder); return the manifest."""
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty: back up into a new folder")
    target.mkdir(parents=True, exist_ok=True)
    entries: list[dict[str, Any]] = []

    def record(kind: str, path: Path, **extra: Any) -> None:
        rel = path.relative_to(target).as_posix()
        entries.append(
            {"kind": kind, "path": rel, "bytes": path.stat().st_size, "sha256": _sha256(path)}
            | extra
        )

    for db in databases(data_dir, env):
        out = target / db.file_name
        say(f"  {db.part.name}: {'SQLite' if db.is_sqlite else 'PostgreSQL'}…")
        if db.is_sqlite:
            _copy_sqlite(Path(db.url.database or ""), out)
        else:
            _run(
                ["pg_dump", "--format=custom", "--no-owner", "--no-acl", "-f", str(out), db.libpq],
                f"pg_dump of {db.part.name}",
            )
        record("database", out, part=db.part.name, backend="sqlite" if db.is_sqlite else "pg")
    blobs = blob_dir(data_dir, env)
    count = 0
    for blob in _blob_files(blobs):
        out = target / "blobs" / blob.relative_to(blobs)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(blob, out)
        record("blob", out)
        count += 1
    say(f"  blobs: {count}")
    for name in KEPT_FILES:
        if (data_dir / name).exists():
            out = target / name
            shutil.copyfile(data_dir / name, out)
            os.chmod(out, 0o600)
            record("file", out)
    manifest = {
        "format": FORMAT,
        "taken_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "order": list(ORDER),
        "entries": entries,
    }
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def _check(source: Path) -> dict[str, Any]:
    path = source / MANIFEST
    if not path.exists():
        raise BackupError(f"{source} holds no {MANIFEST}: not a Scrutiny backup")
    manifest: dict[str, Any] = json.loads(path.read_text())
    if manifest.get("format") != FORMAT:
        raise BackupError(f"backup format {manifest.get('format')} is not {FORMAT}")
    for entry in manifest["entries"]:
        file = source / entry["path"]
        if not file.exists() or _sha256(file) != entry["sha256"]:
            raise BackupError(f"{entry['path']} is missing or damaged (its SHA-256 differs)")
    return manifest


def _pg_is_empty(db: Database) -> bool:
    result = subprocess.run(
        [
            "psql",
            "-XAtq",
            "-c",
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
            db.libpq,
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise BackupError(f"cannot reach {db.part.name}'s database: {result.stderr.strip()}")
    return result.stdout.strip() == "0"


def restore(
    source: Path, data_dir: Path, env: dict[str, str], say: Callable[[str], None] = print
) -> dict[str, Any]:
    """Put a backup back into an empty data folder (and empty PostgreSQL databases, if the
    environment names them); nothing is overwritten."""
    manifest = _check(source)
    by_part = {e["part"]: e for e in manifest["entries"] if e["kind"] == "database"}
    targets = databases(data_dir, env)
    for db in targets:
        entry = by_part.get(db.part.name)
        if entry is None:
            raise BackupError(f"the backup holds no {db.part.name} database")
        if (entry["backend"] == "sqlite") != db.is_sqlite:
            raise BackupError(
                f"{db.part.name} was backed up from "
                f"{'SQLite' if entry['backend'] == 'sqlite' else 'PostgreSQL'}; restore it to the "
                "same backend (set or unset its DATABASE_URL)"
            )
        if db.is_sqlite and Path(db.url.database or "").exists():
            raise BackupError(f"{db.url.database} exists: restore into an empty data folder")
        if not db.is_sqlite and not _pg_is_empty(db):
            raise BackupError(f"{db.part.name}'s database is not empty: restore into a new one")
    blobs = blob_dir(data_dir, env)
    if any(_blob_files(blobs)):
        raise BackupError(f"{blobs} already holds blobs: restore into an empty data folder")
    data_dir.mkdir(parents=True, exist_ok=True)
    for db in targets:
        say(f"  {db.part.name}…")
        file = source / by_part[db.part.name]["path"]
        if db.is_sqlite:
            _copy_sqlite(file, Path(db.url.database or ""))
        else:
            _run(
                [
                    "pg_restore",
                    "--no-owner",
                    "--no-acl",
                    "--exit-on-error",
                    "--single-transaction",
                    "-d",
                    db.libpq,
                    str(file),
                ],
                f"pg_restore of {db.part.name}",
            )
    count = 0
    for entry in manifest["entries"]:
        if entry["kind"] == "blob":
            out = blobs / Path(entry["path"]).relative_to("blobs")
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / entry["path"], out)
            count += 1
        elif entry["kind"] == "file":
            out = data_dir / entry["path"]
            shutil.copyfile(source / entry["path"], out)
            os.chmod(out, 0o600)
    say(f"  blobs: {count}")
    return manifest


def cmd_backup(args: argparse.Namespace) -> int:
    """`scrutiny backup DIR`."""
    try:
        manifest = backup(args.data_dir.resolve(), args.target, dict(os.environ))
    except BackupError as exc:
        print(f"backup failed: {exc}", file=sys.stderr)
        return 1
    print(f"backed up {len(manifest['entries'])} files into {args.target}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    """`scrutiny restore DIR`."""
    try:
        restore(args.source, args.data_dir.resolve(), dict(os.environ))
    except BackupError as exc:
        print(f"restore failed: {exc}", file=sys.stderr)
        return 1
    print(f"restored {args.source} into {args.data_dir}; `scrutiny up --no-seed` serves it")
    return 0


def add_parsers(sub: Any, default_data_dir: Path) -> None:
    """Register `backup` and `restore` on the `scrutiny` command."""
    where = (
        "SQLite files and blobs under --data-dir, or the databases named by "
        "<PART>_DATABASE_URL (e.g. EVIDENCE_DATABASE_URL=postgresql+asyncpg://…)"
    )
    b = sub.add_parser(
        "backup", help="back up every database and the attachment blobs while the suite serves"
    )
    b.add_argument("target", type=Path, help="a new or empty folder to write the backup into")
    b.add_argument("--data-dir", type=Path, default=default_data_dir, help=where)
    r = sub.add_parser("restore", help="restore a backup into an empty data folder or databases")
    r.add_argument("source", type=Path, help="a folder `scrutiny backup` wrote")
    r.add_argument("--data-dir", type=Path, default=default_data_dir, help=where)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "backup": cmd_backup,
    "restore": cmd_restore,
}
