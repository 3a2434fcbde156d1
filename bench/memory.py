"""Resident memory of every server process, sampled in the background while load runs."""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

import psutil

MIB = 1024 * 1024
# "Flat": the last measured window ends within this of where the first one ended.
FLAT_TOLERANCE = 0.10
FLAT_SLACK_MIB = 16


class Sampler:
    """Samples RSS of `pids` every `interval` seconds; marks split the run into scenarios."""

    def __init__(self, pids: dict[str, int], interval: float = 0.5) -> None:
        self.procs = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.interval = interval
        self.samples: dict[str, list[tuple[float, int]]] = {n: [] for n in self.procs}
        self.marks: list[tuple[str, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            for name, proc in self.procs.items():
                with contextlib.suppress(psutil.Error):
                    self.samples[name].append((now, proc.memory_info().rss))
            self._stop.wait(self.interval)

    def start(self) -> Sampler:
        """Begin sampling."""
        self._thread.start()
        return self

    def mark(self, label: str) -> None:
        """Note the start of a scenario."""
        self.marks.append((label, time.monotonic()))

    def stop(self) -> None:
        """End sampling."""
        self._stop.set()
        self._thread.join()

    def report(self) -> dict[str, Any]:
        """Per process: RSS at the start, the peak, at the end (MiB), and whether it stayed flat.

        "Start" is the RSS at the first sample after the first scenario's warm-up began (pools
        filled, code paths imported), "end" the last sample. Flat means the end is within 10 %
        (or 16 MiB) of the start.
        """
        out: dict[str, Any] = {}
        for name, samples in self.samples.items():
            if not samples:
                continue
            # A stopped process (the floor and the prototype, once measured) reads as 0.
            samples = [(t, r) for t, r in samples if r > 0]
            if not samples:
                continue
            rss = [r for _, r in samples]
            first_mark = self.marks[0][1] if self.marks else samples[0][0]
            after = [r for t, r in samples if t >= first_mark + 2] or rss
            start, end, peak = after[0], rss[-1], max(rss)
            growth = end - start
            flat = growth <= max(start * FLAT_TOLERANCE, FLAT_SLACK_MIB * MIB)
            per_scenario = {}
            for i, (label, t0) in enumerate(self.marks):
                t1 = self.marks[i + 1][1] if i + 1 < len(self.marks) else float("inf")
                window = [r for t, r in samples if t0 <= t < t1]
                if window:
                    per_scenario[label] = round(max(window) / MIB, 1)
            out[name] = {
                "before_load_mib": round(rss[0] / MIB, 1),
                "start_mib": round(start / MIB, 1),
                "peak_mib": round(peak / MIB, 1),
                "end_mib": round(end / MIB, 1),
                "growth_mib": round(growth / MIB, 1),
                "flat": flat,
                "peak_by_scenario_mib": per_scenario,
            }
        return out


def idle_cpu(pids: dict[str, int], seconds: float) -> dict[str, float]:
    """CPU % each process uses with no requests at all (background pollers, sequencers)."""
    procs = {n: psutil.Process(p) for n, p in pids.items()}
    before = {n: sum(p.cpu_times()[:2]) for n, p in procs.items()}
    time.sleep(seconds)
    return {
        n: round(100 * (sum(p.cpu_times()[:2]) - before[n]) / seconds, 1) for n, p in procs.items()
    }


class CpuMeter:
    """CPU seconds each server process (and PostgreSQL, all its backends) spends over a span.

    Divided by the requests served in it, this says where a request's cost goes: the gateway,
    the service behind it, the background work each one does, or the database.
    """

    def __init__(self, pids: dict[str, int]) -> None:
        self.procs = {name: psutil.Process(pid) for name, pid in pids.items()}
        self._start: dict[str, float] = {}

    def _read(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for name, proc in self.procs.items():
            with contextlib.suppress(psutil.Error):
                t = proc.cpu_times()
                out[name] = t.user + t.system
        pg = 0.0
        for proc in psutil.process_iter(["name", "cpu_times"]):
            times = proc.info.get("cpu_times")
            if proc.info.get("name") == "postgres" and times is not None:
                pg += times.user + times.system
        out["postgres"] = pg
        return out

    def start(self) -> None:
        """Begin a span."""
        self._start = self._read()

    def per_request(self, requests: int) -> dict[str, float]:
        """Milliseconds of CPU per request by process since `start` (0 where idle)."""
        end = self._read()
        n = max(requests, 1)
        return {
            name: round(1000 * (end[name] - self._start.get(name, end[name])) / n, 3)
            for name in end
            if name in self._start
        }
