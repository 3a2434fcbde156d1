"""Keeps the suite's processes running: a part that exits is restarted with backoff while the
others keep serving, and a part that keeps crashing waits longer each time (up to a minute)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from scrutiny_cli import suite

FIRST_DELAY_S = 1.0
MAX_DELAY_S = 60.0
# A part that ran this long before exiting counts as having recovered: its next crash waits
# the first delay again.
STABLE_AFTER_S = 60.0


@dataclass
class _Restarts:
    started: float
    failures: int = 0
    due: float | None = None


@dataclass
class Supervisor:
    """Watches the processes `suite.start` started and restarts those that exit."""

    procs: dict[str, subprocess.Popen[bytes]]
    env: dict[str, str]
    port_base: int
    log_dir: Path
    out: TextIO = sys.stderr
    clock: Callable[[], float] = time.monotonic
    _state: dict[str, _Restarts] = field(default_factory=dict)

    def __post_init__(self) -> None:
        now = self.clock()
        self.env = suite.with_service_clients(self.env)
        self._state = {name: _Restarts(started=now) for name in self.procs}

    def check(self) -> None:
        """Schedule a restart for each part that exited; start those whose delay is over."""
        now = self.clock()
        for part in suite.PARTS:
            proc, state = self.procs[part.name], self._state[part.name]
            if proc.poll() is None:
                continue
            if state.due is None:
                ran = now - state.started
                state.failures = 1 if ran >= STABLE_AFTER_S else state.failures + 1
                delay = min(MAX_DELAY_S, FIRST_DELAY_S * 2 ** (state.failures - 1))
                state.due = now + delay
                print(
                    f"{part.name} exited with {proc.returncode} after {ran:.0f} s; "
                    f"restarting it in {delay:.0f} s (the others keep serving)",
                    file=self.out,
                    flush=True,
                )
            elif now >= state.due:
                restarted = suite.start_part(part, self.env, self.port_base, self.log_dir)
                self.procs[part.name] = restarted
                state.started, state.due = now, None
                print(f"{part.name} restarted", file=self.out, flush=True)
