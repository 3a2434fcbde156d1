"""The benchmark: data at scale, the suite as real processes, wrk, ratios, RESULTS.md/results.json.

The command line of `python -m bench` (the first paragraph above is its `--help` description);
`--report-only` rewrites RESULTS.md without a run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from pathlib import Path

from bench import load, profile, report, suite
from bench.run import phases
from bench.run.measure import BENCH_DIR, Bench


def rewrite_report(out: Path) -> None:
    """RESULTS.md again from results.json, with the kept profiles summarised afresh."""
    results = json.loads((out / "results.json").read_text())
    for key in list(results.get("profiles", {})):
        name, _, proc = key.partition("@")
        raw = BENCH_DIR / "profiles" / f"{name}-{proc}.txt"
        if raw.exists():
            results["profiles"][key] = profile.summarise(raw)
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    (out / "RESULTS.md").write_text(report.markdown(results))


def parser() -> argparse.ArgumentParser:
    """The command line."""
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--quick", action="store_true", help="2,000 commitments, 100,000-row growth, 2 s + 5 s runs"
    )
    p.add_argument(
        "--server",
        default=os.environ.get("BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432"),
        help="PostgreSQL server (a superuser; bench_* databases are dropped and recreated)",
    )
    p.add_argument("--prefix", default="bench", help="database name prefix (default bench)")
    p.add_argument(
        "--port-base", type=int, default=18100, help="gateway port; services +1..+3, floor +9"
    )
    p.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    p.add_argument(
        "--warmup", type=int, default=None, help="seconds of warm-up per scenario (discarded)"
    )
    p.add_argument("--measure", type=int, default=None, help="seconds measured per scenario")
    p.add_argument(
        "--server-cpus", default="0", help="taskset CPU list for the servers ('' = unpinned)"
    )
    p.add_argument("--load-cpus", default="1", help="taskset CPU list for wrk ('' = unpinned)")
    p.add_argument("--skip-growth", action="store_true", help="no 1,000 / 1,000,000-row phases")
    p.add_argument("--no-profile", action="store_true", help="skip the py-spy profiles")
    p.add_argument("--keep", action="store_true", help="keep the bench_* databases afterwards")
    p.add_argument(
        "--only",
        default="",
        help="comma-separated scenario names to run (the rest are skipped, and so are the "
        "growth phases); results go to bench/.work/ unless --out is given",
    )
    p.add_argument("--out", default=None, help="where RESULTS.md and results.json go")
    p.add_argument(
        "--report-only",
        action="store_true",
        help="re-summarise bench/profiles/ and rewrite RESULTS.md from results.json (no run)",
    )
    return p


def output_dir(args: argparse.Namespace) -> Path:
    """Where this run's RESULTS.md and results.json go, created now: a run that could not write
    them at its end would lose every figure it measured."""
    if args.only:
        # A partial run must not overwrite the committed results of a whole one.
        args.skip_growth = True
    out = Path(args.out or (BENCH_DIR / ".work" if args.only else BENCH_DIR))
    out.mkdir(parents=True, exist_ok=True)
    return out


def main(argv: list[str] | None = None) -> None:
    """Entry point of `python -m bench`."""
    args = parser().parse_args(argv)
    args.out = str(output_dir(args))
    if args.report_only:
        rewrite_report(Path(args.out))
        return
    load.check_wrk()
    suite.check_uvicorn_extras()
    if (os.cpu_count() or 1) < 2:
        args.server_cpus = args.load_cpus = ""
    asyncio.run(phases.run(Bench(args)))
