"""The run: three phases, each on fresh `bench_*` databases (see `bench.run`), then the results.

A phase loads its data set (`prepare`, `bench.data`), starts the suite and measures its
scenarios (`bench.run.scenarios`); what it loaded and how long that took go to results.json
under `phases.<name>`. `run` is the whole of it, in order, and writes results.json and
RESULTS.md.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import data, memory, pg, report, suite
from bench.run import checks, machine, scenarios
from bench.run.measure import Bench


async def prepare(b: Bench, sizes: data.Sizes) -> data.Plan:
    """Fresh databases, migrated, with the data set of `sizes` loaded."""
    t0 = time.monotonic()
    await pg.recreate_databases(b.server, b.prefix)
    migrate_s = pg.migrate(b.env)
    plan = await data.load_all(b.server, b.prefix, sizes)
    plan.timings["migrate_s"] = migrate_s
    plan.timings["total_s"] = time.monotonic() - t0
    return plan


def rows(plan: data.Plan) -> dict[str, int]:
    """Row counts of a loaded data set, for results.json."""
    return {
        "commitments": len(plan.commitment_ids),
        "targets": len(plan.target_ids),
        "submissions": plan.submissions,
        "evaluations": len(plan.evaluation_ids),
        "ratings": plan.ratings,
        **{f"events_{k}": v for k, v in plan.feed_heads.items()},
    }


async def small(b: Bench) -> None:
    """1,000 commitments and 1,000 ratings: the "1,000 rows" end of the growth ratios."""
    print("phase small: 1,000 commitments, 1,000 ratings", flush=True)
    plan = await prepare(b, data.SMALL)
    b.results["phases"]["small"] = {"timings": plan.timings, "rows": rows(plan)}
    await scenarios.growth(b, "small", plan)


async def full(b: Bench) -> data.Plan:
    """The issue's data set: checks, idle CPU, then every scenario with memory sampled."""
    s = b.sizes
    print(
        f"phase full: {s.commitments:,} commitments, "
        f"{s.commitments * s.targets_per_commitment:,} targets and readings, "
        f"{s.submissions:,} submissions, {s.evaluations} evaluations "
        f"with {s.ratings:,} ratings",
        flush=True,
    )
    plan = await prepare(b, s)
    print(f"  loaded in {plan.timings['total_s']:.0f} s ({plan.timings})", flush=True)
    b.results["phases"]["full"] = {"timings": plan.timings, "rows": rows(plan)}
    procs = b.start(floor=True)
    try:
        gw = b.endpoints.url("gateway")
        loader = suite.create_client(
            b.env, "bench-loader", ["commitments:write", "evidence:submit"]
        )
        ingester = suite.create_client(b.env, "bench-ingest", ["evidence:submit"])
        loader_token = suite.token(gw, loader)
        ingest_token = suite.token(gw, ingester)
        b.results["sanity"] = await checks.sanity(b, plan, loader_token)
        b.results["floor_check"] = checks.floor_check(b, plan)
        b.results["idle_cpu_pct"] = memory.idle_cpu(procs.pids(), 5.0)
        print(
            f"  idle CPU % per process (5 s, no load): {b.results['idle_cpu_pct']}",
            flush=True,
        )
        b.sampler = memory.Sampler(procs.pids()).start()
        await scenarios.full(b, plan, ingest_token, ingester["client_id"])
        b.sampler.stop()
        b.results["memory"] = b.sampler.report()
        b.sampler = None
    finally:
        if b.sampler:
            b.sampler.stop()
            b.sampler = None
        b.stop()
    return plan


async def grown(b: Bench, plan: data.Plan) -> None:
    """The full data set's `commitments` and `ratings` grown: the "1,000,000 rows" end."""
    n = b.sizes.grown
    print(f"phase grown: commitments and ratings grown to {n:,} rows", flush=True)
    t0 = time.monotonic()
    timings = await data.grow(b.server, b.prefix, b.sizes, plan)
    timings["total_s"] = time.monotonic() - t0
    counts = {
        "commitments": await pg.scalar(
            b.server,
            pg.db_name(b.prefix, "commitments"),
            "SELECT count(*) FROM commitments",
        ),
        "ratings": await pg.scalar(
            b.server, pg.db_name(b.prefix, "ratings"), "SELECT count(*) FROM ratings"
        ),
    }
    print(f"  grown in {timings['total_s']:.0f} s: {counts}", flush=True)
    b.results["phases"]["grown"] = {"timings": timings, "rows": counts}
    await scenarios.growth(b, "grown", plan)


async def run(b: Bench) -> None:
    """The whole run: the phases in order, then the ratios, results.json and RESULTS.md."""
    started = time.monotonic()
    b.results["date"] = datetime.now(UTC).isoformat(timespec="seconds")
    b.results["load_average_before"] = [round(x, 2) for x in os.getloadavg()]
    b.results["machine"] = await machine.describe(b.server)
    max_conn = int(await pg.scalar(b.server, "postgres", "SHOW max_connections"))
    in_use = int(await pg.scalar(b.server, "postgres", "SELECT count(*) FROM pg_stat_activity"))
    b.results["postgres_connections"] = {"max": max_conn, "in_use_at_start": in_use}
    # Four pools of up to 20 (opened on demand), six consumer lock connections, the floor's
    # 20 (stopped once measured): ~90 at the very most, ~50 in practice.
    if max_conn - in_use < 90:
        print(
            f"warning: PostgreSQL allows {max_conn} connections and {in_use} are in use; the "
            "suite may need ~90 under load (errors are counted per scenario)",
            flush=True,
        )
    b.results["git"] = machine.git_state()
    b.results["settings"] = {
        "mode": "quick" if b.quick else "full",
        "sizes": b.sizes.__dict__,
        "connections": b.load.connections,
        "warmup_s": b.load.warmup_s,
        "measure_s": b.load.measure_s,
        "server_cpus": b.args.server_cpus,
        "load_cpus": b.load.cpus,
        "uvicorn": " ".join(suite.UVICORN_FLAGS),
    }
    try:
        if not b.args.skip_growth:
            await small(b)
        plan = await full(b)
        if not b.args.skip_growth:
            await grown(b, plan)
    finally:
        b.stop()
    b.results["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    b.results["duration_s"] = round(time.monotonic() - started, 1)
    b.results.update(report.ratios(b.results))
    out_dir = Path(b.args.out)
    b.results["out"] = str(out_dir)
    (out_dir / "results.json").write_text(json.dumps(b.results, indent=2, default=str) + "\n")
    (out_dir / "RESULTS.md").write_text(report.markdown(b.results))
    print(report.summary_lines(b.results), flush=True)
    if not b.args.keep:
        await pg.drop_databases(b.server, b.prefix)
