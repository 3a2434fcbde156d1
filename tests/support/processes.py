"""Run the suite as real processes (`scrutiny up` in a subprocess) for end-to-end tests."""

from __future__ import annotations

import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path


def free_port_base() -> int:
    """A base port with four free ports above it.

    Below the kernel's ephemeral range (32768 up, by Linux's default): a port there may be taken
    by any outgoing connection between this check and the server binding it. The search starts
    at a random base: two test sessions on one machine both probing from the bottom would pick
    the same free base seconds before either binds it, and one's client would talk to the
    other's suite.
    """
    bases = list(range(21000, 32760, 10))
    start = random.randrange(len(bases))
    for base in bases[start:] + bases[:start]:
        ok = True
        for port in range(base, base + 4):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no free ports")


class Suite:
    """`scrutiny up` running in a subprocess."""

    def __init__(self, data_dir: Path, port_base: int, env: dict[str, str]) -> None:
        self.data_dir, self.port_base, self.env = data_dir, port_base, env
        self.proc: subprocess.Popen[str] | None = None
        self.output: list[str] = []

    def start(self, *options: str, timeout: float = 120) -> str:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "scrutiny_cli.main",
                "up",
                "--data-dir",
                str(self.data_dir),
                "--port-base",
                str(self.port_base),
                *options,
            ],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        for line in self.proc.stdout:
            self.output.append(line)
            if "Ctrl-C stops all four processes" in line:
                return "".join(self.output)
            if time.monotonic() > deadline:
                break
        self.stop()
        raise AssertionError("suite did not come up:\n" + "".join(self.output))

    def stop(self) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rest, _ = self.proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rest, _ = self.proc.communicate()
        self.output.append(rest or "")
        return self.proc.returncode

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{self.port_base}"
