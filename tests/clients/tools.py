"""The pinned Node tools under tools/openapi, installed from its lock file when absent."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.clients.conftest import TOOLS, tool_env

NODE_MISSING = "needs Node.js and npm (the TypeScript client and the Redocly linter run on them)"


def node_tools() -> None:
    """Skip (saying why) without Node; otherwise make sure `npm ci` has installed the lock."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip(NODE_MISSING)
    if not (TOOLS / "node_modules" / ".package-lock.json").exists():
        run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], timeout=600)


def run(cmd: list[str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run a command in tools/openapi; fail the test with its output if it fails."""
    done = subprocess.run(
        cmd, cwd=TOOLS, capture_output=True, text=True, env=tool_env(), timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{' '.join(cmd)}\n{done.stdout}\n{done.stderr}"
    return done


def npx(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """A pinned tool from tools/openapi/node_modules (never downloaded on the fly)."""
    return run(["npx", "--no-install", *args], timeout=timeout)
