"""Content-addressed blob storage for attachments: bytes are stored under their SHA-256.

`BlobStore` is the interface the service uses; `LocalBlobStore` keeps blobs in a folder (the
embedded default, `$SCRUTINY_DATA_DIR/blobs`). An object store (S3, GCS, Azure) implements the
same three operations: `put` uploads a staged local file under its hash key, `open` streams a
blob back, `delete` is what it says. Uploads are staged on local disk first in
every case, because the hash (the key) is only known once the last byte has arrived.

Layout of the local store::

    blobs/
      staging/<random>.part          uploads being received (removed on success or failure)
      sha256/ab/cd/abcd...ef         one file per distinct content, never rewritten
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

import anyio

CHUNK = 64 * 1024
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class BlobStore(Protocol):
    """Where attachment bytes live, addressed by their SHA-256 (lower-case hex)."""

    @property
    def staging_dir(self) -> Path:
        """A local folder for uploads in progress (for a local store, on the same filesystem)."""
        ...

    async def put(self, staged: Path, sha256: str) -> bool:
        """Store the staged file under `sha256`, consuming it; False if the blob already existed."""
        ...

    def open(self, sha256: str, chunk_size: int = CHUNK) -> AsyncIterator[bytes]:
        """The blob's bytes, a chunk at a time (never the whole blob in memory)."""
        ...

    async def delete(self, sha256: str) -> None:
        """Remove a blob (no error if it is already gone)."""
        ...


class LocalBlobStore:
    """Blobs as files in a folder; puts are atomic renames from the staging folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._staging = root / "staging"
        self._blobs = root / "sha256"

    @property
    def staging_dir(self) -> Path:
        """Uploads in progress; on the store's filesystem so that `put` is a rename."""
        self._staging.mkdir(parents=True, exist_ok=True)
        return self._staging

    def path(self, sha256: str) -> Path:
        """Where a blob lives (two levels of fan-out keep folders small)."""
        if not _HEX64.match(sha256):
            raise ValueError("not a sha256 hex digest")
        return self._blobs / sha256[:2] / sha256[2:4] / sha256

    async def put(self, staged: Path, sha256: str) -> bool:
        """Move the staged file into place; identical content already stored is kept as is."""
        target = self.path(sha256)

        def move() -> bool:
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                staged.unlink(missing_ok=True)
                return False
            # Same filesystem, so the blob appears whole or not at all.
            os.replace(staged, target)
            return True

        return await anyio.to_thread.run_sync(move)

    async def open(self, sha256: str, chunk_size: int = CHUNK) -> AsyncIterator[bytes]:
        """Stream a blob from disk."""
        async with await anyio.open_file(self.path(sha256), "rb") as f:
            while chunk := await f.read(chunk_size):
                yield chunk

    async def delete(self, sha256: str) -> None:
        """Remove a blob."""
        with contextlib.suppress(FileNotFoundError):
            await anyio.Path(self.path(sha256)).unlink()

    def files(self) -> list[Path]:
        """Every stored blob and staged upload (for tests and operators checking for orphans)."""
        if not self.root.exists():
            return []
        return sorted(p for p in self.root.rglob("*") if p.is_file())
