"""One run's state, and how a scenario is measured.

`Bench` holds the settings, the work directory, the running processes and the results; its
`scenario` is the measurement every row of RESULTS.md comes from (a discarded warm-up, then the
measured wrk run with the CPU each process spent and the ERROR lines the servers logged), and
`profiled` runs a scenario again under py-spy.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from bench import data, load, memory, profile, suite

# bench/: the work directory, the kept profiles and the committed results live here.
BENCH_DIR = Path(__file__).resolve().parents[1]


class Bench:
    """One run."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.quick: bool = args.quick
        self.sizes = data.QUICK if self.quick else data.FULL
        self.server: str = args.server
        self.prefix: str = args.prefix
        self.work = BENCH_DIR / ".work"
        shutil.rmtree(self.work, ignore_errors=True)
        self.work.mkdir(parents=True)
        self.endpoints = suite.Endpoints(args.port_base)
        self.env = suite.environment(self.server, self.prefix, args.port_base, self.work / "data")
        self.load = load.Load(
            connections=args.connections,
            warmup_s=args.warmup if args.warmup is not None else (2 if self.quick else 10),
            measure_s=args.measure if args.measure is not None else (5 if self.quick else 15),
            cpus=args.load_cpus,
        )
        self.results: dict[str, Any] = {"scenarios": {}, "phases": {}, "profiles": {}}
        self.procs: suite.Processes | None = None
        self.sampler: memory.Sampler | None = None

    def paths(self, name: str, lines: list[str]) -> str:
        """A wrk paths file (one request path a line) in the work directory; returns its path."""
        path = self.work / f"{name}.paths"
        path.write_text("\n".join(lines) + "\n")
        return str(path)

    # --- processes -------------------------------------------------------------------------------

    def start(self, *, floor: bool = False) -> suite.Processes:
        """The suite's processes (and the floor's), started and ready."""
        procs = suite.Processes(self.env, self.endpoints, self.work / "logs", self.args.server_cpus)
        procs.start_suite()
        if floor:
            procs.start_floor()
        procs.wait_ready()
        self.procs = procs
        return procs

    def stop(self) -> None:
        """Stop whatever `start` started."""
        if self.procs is not None:
            self.procs.stop()
            self.procs = None

    # --- scenarios -------------------------------------------------------------------------------

    def cpu_meter(self) -> memory.CpuMeter | None:
        """A started CPU meter over the running processes (None when none run)."""
        if self.procs is None:
            return None
        meter = memory.CpuMeter(self.procs.pids())
        meter.start()
        return meter

    def selected(self, name: str) -> bool:
        """Whether `--only` (if given) names this scenario."""
        only = {n.strip() for n in self.args.only.split(",") if n.strip()}
        return not only or name in only

    def scenario(
        self,
        name: str,
        what: str,
        target: str,
        script: str,
        args: list[str],
        *,
        phase: str = "full",
        connections: int | None = None,
    ) -> dict[str, Any]:
        """Warm up (discarded), then measure; record and print the figures."""
        if not self.selected(name):
            return {}
        url = self.endpoints.url(target)
        c = connections or self.load.connections
        if self.sampler:
            self.sampler.mark(name)
        load.run_wrk(url, script, args, c, self.load.warmup_s, self.load.cpus)
        errors_before = self.procs.error_lines() if self.procs else 0
        cpu = self.cpu_meter()
        figures = load.run_wrk(url, script, args, c, self.load.measure_s, self.load.cpus)
        # Composed reads degrade instead of failing (200 with `missing`), so wrk cannot see a
        # failing service; the servers' own ERROR log lines during the measured run can.
        errors = (self.procs.error_lines() if self.procs else 0) - errors_before
        figures.update({"what": what, "target": target, "phase": phase, "server_errors": errors})
        if cpu is not None:
            figures["cpu_ms_per_request"] = cpu.per_request(figures["requests"])
        self.results["scenarios"][name] = figures
        print(
            f"  {name:<32} {figures['rps']:>8.1f} rps  p50 {figures['p50_ms']:>7.2f} ms  "
            f"p99 {figures['p99_ms']:>7.2f} ms  non-2xx {figures['non_2xx']}"
            f"  errors {figures['socket_errors']}  server errors {errors}",
            flush=True,
        )
        return figures

    def profiled(
        self, name: str, target: str, script: str, args: list[str], processes: list[str]
    ) -> None:
        """Run the scenario again while py-spy samples `processes`; keep the summaries."""
        if self.args.no_profile or self.procs is None or not self.selected(name):
            return
        seconds = 5 if self.quick else 10
        pids = self.procs.pids()
        spies: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}
        for p in processes:
            out = self.work / f"profile-{name}-{p}.txt"
            spy = profile.start(pids[p], seconds, out)
            if spy is not None:
                spies[p] = (spy, out)
        if not spies:
            self.results["profiles"][name] = {"error": "py-spy not installed (pip install py-spy)"}
            return
        time.sleep(0.5)
        load.run_wrk(
            self.endpoints.url(target), script, args, self.load.connections, seconds, self.load.cpus
        )
        for p, (spy, out) in spies.items():
            try:
                spy.wait(timeout=30)
            except subprocess.TimeoutExpired:
                spy.kill()
            summary = profile.summarise(out)
            if "error" in summary and spy.stderr is not None:
                summary["error"] += ": " + spy.stderr.read().decode(errors="replace")[-500:]
            self.results["profiles"][f"{name}@{p}"] = summary
            kept = BENCH_DIR / "profiles" / f"{name}-{p}.txt"
            kept.parent.mkdir(exist_ok=True)
            if out.exists():
                shutil.copyfile(out, kept)
