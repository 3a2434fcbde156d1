"""The benchmark: data at scale, the suite as real processes, wrk, ratios, RESULTS.md/results.json.

One run, three phases on fresh `bench_*` databases (dropped and recreated):

1. **small** — 1,000 commitments and 1,000 ratings: the deep list page and the 9-commitment
   report are measured (the "1,000 rows" end of the growth ratios).
2. **full** — the issue's data set (10,000 commitments, 50,000 targets and readings, 200,000
   submissions, 100 evaluations with 50,000 ratings): every scenario, the floor, memory,
   profiles, and the ingest check.
3. **grown** — the full data set's `commitments` and `ratings` tables bulk-grown to 1,000,000
   rows each: the same deep list page and report again (the "1,000,000 rows" end).

Pinning (2 cores): every server process (the gateway, the three services, the floor) runs under
`taskset -c 0`, wrk under `taskset -c 1`; PostgreSQL is left to the scheduler (it mostly shares
core 1 with wrk, which needs little CPU). So a scenario's throughput is what one core of Python
serves, and the floor and the service are measured on the same core.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench import data, load, memory, pg, profile, report, suite

HERE = Path(__file__).resolve().parent
GROWTH_CONNECTIONS = 2


def _paths(work: Path, name: str, lines: list[str]) -> str:
    path = work / f"{name}.paths"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


async def deep_tokens(server: str, prefix: str, n_tokens: int = 50) -> list[str]:
    """Page tokens of `GET /v1/commitments` between 80 % and 95 % of the table (keyset order)."""
    import asyncpg

    from servicekit.pagination import encode_token

    conn = await asyncpg.connect(pg.dsn(server, pg.db_name(prefix, "commitments")))
    try:
        total = int(await conn.fetchval("SELECT count(*) FROM commitments"))
        start, stop = int(total * 0.80), int(total * 0.95)
        step = max(1, (stop - start) // n_tokens)
        rows = await conn.fetch(
            "SELECT created_at, id FROM (SELECT created_at, id, row_number() OVER"
            " (ORDER BY created_at, id) AS n FROM commitments) x"
            " WHERE n > $1 AND n <= $2 AND (n - $1) % $3 = 0 ORDER BY n",
            start,
            stop,
            step,
        )
    finally:
        await conn.close()
    return [encode_token([r["created_at"].isoformat(), str(r["id"])]) for r in rows[:n_tokens]]


# Composed reads are measured composing: the gateway keeps published reports for 30 s, and a
# request's `Cache-Control: no-cache` makes it compose afresh (the cached path has its own row).
NO_CACHE = "Cache-Control: no-cache"


class Bench:
    """One run."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.quick: bool = args.quick
        self.sizes = data.QUICK if self.quick else data.FULL
        self.server: str = args.server
        self.prefix: str = args.prefix
        self.work = HERE / ".work"
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

    # --- processes -------------------------------------------------------------------------------

    def start(self, *, floor: bool = False) -> suite.Processes:
        procs = suite.Processes(self.env, self.endpoints, self.work / "logs", self.args.server_cpus)
        procs.start_suite()
        if floor:
            procs.start_floor()
        procs.wait_ready()
        self.procs = procs
        return procs

    def stop(self) -> None:
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
        spies = {}
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
            kept = HERE / "profiles" / f"{name}-{p}.txt"
            kept.parent.mkdir(exist_ok=True)
            if out.exists():
                shutil.copyfile(out, kept)

    # --- phases ----------------------------------------------------------------------------------

    async def prepare(self, sizes: data.Sizes) -> data.Plan:
        t0 = time.monotonic()
        await pg.recreate_databases(self.server, self.prefix)
        migrate_s = pg.migrate(self.env)
        plan = await data.load_all(self.server, self.prefix, sizes)
        plan.timings["migrate_s"] = migrate_s
        plan.timings["total_s"] = time.monotonic() - t0
        return plan

    async def growth_point(self, label: str, plan: data.Plan) -> None:
        """The deep list page (service direct) and the 9-commitment report (gateway).

        Two connections: the p50 is then the time to serve a request, not the time it queued
        behind 31 others (which would only restate throughput).
        """
        tokens = await deep_tokens(self.server, self.prefix)
        deep = _paths(
            self.work, f"deep-{label}", [f"/v1/commitments?page_token={t}" for t in tokens]
        )
        report9 = _paths(
            self.work, f"report9-{label}", [f"/v1/evaluations/{plan.evaluation_ids[0]}/report"]
        )
        self.start()
        try:
            self.scenario(
                f"growth_list_deep_{label}",
                "deep page of GET /v1/commitments (service)",
                "commitments",
                "paths.lua",
                [deep],
                phase=label,
                connections=GROWTH_CONNECTIONS,
            )
            self.scenario(
                f"growth_report_9_{label}",
                "9-commitment report (gateway)",
                "gateway",
                "paths.lua",
                [report9, NO_CACHE],
                phase=label,
                connections=GROWTH_CONNECTIONS,
            )
        finally:
            self.stop()

    async def phase_small(self) -> None:
        print("phase small: 1,000 commitments, 1,000 ratings", flush=True)
        plan = await self.prepare(data.SMALL)
        self.results["phases"]["small"] = {"timings": plan.timings, "rows": self._rows(plan)}
        await self.growth_point("small", plan)

    async def phase_full(self) -> data.Plan:
        s = self.sizes
        print(
            f"phase full: {s.commitments:,} commitments, "
            f"{s.commitments * s.targets_per_commitment:,} targets and readings, "
            f"{s.submissions:,} submissions, {s.evaluations} evaluations "
            f"with {s.ratings:,} ratings",
            flush=True,
        )
        plan = await self.prepare(s)
        print(f"  loaded in {plan.timings['total_s']:.0f} s ({plan.timings})", flush=True)
        self.results["phases"]["full"] = {"timings": plan.timings, "rows": self._rows(plan)}
        procs = self.start(floor=True)
        try:
            gw = self.endpoints.url("gateway")
            loader = suite.create_client(
                self.env, "bench-loader", ["commitments:write", "evidence:submit"]
            )
            ingest = suite.create_client(self.env, "bench-ingest", ["evidence:submit"])
            loader_token = suite.token(gw, loader)
            ingest_token = suite.token(gw, ingest)
            self.results["sanity"] = await self.sanity(plan, loader_token)
            self.results["floor_check"] = self.floor_check(plan)
            self.results["idle_cpu_pct"] = memory.idle_cpu(procs.pids(), 5.0)
            print(
                f"  idle CPU % per process (5 s, no load): {self.results['idle_cpu_pct']}",
                flush=True,
            )
            self.sampler = memory.Sampler(procs.pids()).start()
            await self.run_full(plan, ingest_token, ingest["client_id"])
            self.sampler.stop()
            self.results["memory"] = self.sampler.report()
            self.sampler = None
        finally:
            if self.sampler:
                self.sampler.stop()
                self.sampler = None
            self.stop()
        return plan

    async def run_full(self, plan: data.Plan, ingest_token: str, ingest_client: str) -> None:
        ids = [str(i) for i in plan.commitment_ids]
        get = _paths(self.work, "get", [f"/v1/commitments/{i}" for i in ids])
        first = _paths(self.work, "list-first", ["/v1/commitments"])
        tokens = await deep_tokens(self.server, self.prefix)
        deep = _paths(self.work, "list-deep", [f"/v1/commitments?page_token={t}" for t in tokens])
        r9 = _paths(self.work, "report9", [f"/v1/evaluations/{plan.evaluation_ids[0]}/report"])
        r1000 = _paths(
            self.work, "report1000", [f"/v1/evaluations/{plan.evaluation_ids[1]}/report"]
        )
        card = _paths(self.work, "scorecard", [f"/v1/commitments/{i}/scorecard" for i in ids])
        rng = random.Random(7)
        heads = plan.feed_heads
        ev_c = _paths(
            self.work,
            "events-commitments",
            [
                f"/v1/events?after={rng.randint(0, heads['commitments'] - 100)}&limit=100"
                for _ in range(1000)
            ],
        )
        ev_g = _paths(
            self.work,
            "events-gateway",
            [
                f"/v1/events?after={rng.randint(0, heads['gateway'] - 100)}&limit=100"
                for _ in range(1000)
            ],
        )
        sc = self.scenario
        sc(
            "floor_get_commitment",
            "floor: bare ASGI + asyncpg, same queries and JSON",
            "floor",
            "paths.lua",
            [get],
        )
        assert self.procs is not None
        self.procs.stop_one(suite.FLOOR)
        sc(
            "get_commitment_direct",
            "GET /v1/commitments/{id} (service)",
            "commitments",
            "paths.lua",
            [get],
        )
        # The framework alone: the same app, middleware and server, a route with no database
        # work. The floor ratio cannot beat floor / (this + the query and JSON the floor does).
        sc(
            "healthz_direct",
            "GET /healthz (service): framework and middleware, no database work",
            "commitments",
            "paths.lua",
            [_paths(self.work, "healthz", ["/healthz"])],
        )
        sc(
            "get_commitment_gateway",
            "GET /v1/commitments/{id} (gateway)",
            "gateway",
            "paths.lua",
            [get],
        )
        sc(
            "list_commitments_first_gateway",
            "GET /v1/commitments first page (gateway)",
            "gateway",
            "paths.lua",
            [first],
        )
        sc(
            "list_commitments_deep_gateway",
            "GET /v1/commitments deep page, keyset token (gateway)",
            "gateway",
            "paths.lua",
            [deep],
        )
        sc(
            "report_9_gateway",
            "evaluation report, 9 commitments, composed on every request (gateway)",
            "gateway",
            "paths.lua",
            [r9, NO_CACHE],
        )
        sc(
            "report_9_gateway_cached",
            "the same published report as a dashboard polls it (gateway's 30 s report cache)",
            "gateway",
            "paths.lua",
            [r9],
        )
        # Composed reads fan out to many service calls each; fewer connections keep their latency
        # within wrk's timeout on one core (throughput is the same at any concurrency past 8).
        sc(
            "report_1000_gateway",
            "evaluation report, 1,000 commitments (gateway)",
            "gateway",
            "paths.lua",
            [r1000, NO_CACHE],
            connections=8,
        )
        sc(
            "scorecard_gateway",
            "GET /v1/commitments/{id}/scorecard (gateway)",
            "gateway",
            "paths.lua",
            [card],
            connections=8,
        )
        sc(
            "events_feed_direct",
            "GET /v1/events?after=&limit=100 (commitments service)",
            "commitments",
            "paths.lua",
            [ev_c],
        )
        sc(
            "events_feed_gateway",
            "GET /v1/events?after=&limit=100 (gateway log)",
            "gateway",
            "paths.lua",
            [ev_g],
        )
        await self.ingest(plan, ingest_token, ingest_client)
        # Profiles of the paths behind the ratios (kept whether or not a target is missed).
        self.profiled("get_commitment_direct", "commitments", "paths.lua", [get], ["commitments"])
        self.profiled("get_commitment_gateway", "gateway", "paths.lua", [get], ["gateway"])
        self.profiled(
            "report_9_gateway", "gateway", "paths.lua", [r9, NO_CACHE], ["gateway", "ratings"]
        )
        run_id = f"p{uuid.uuid4().hex[:8]}"
        commitments_file = _paths(
            self.work, "submit-commitments", [str(i) for i in plan.commitment_ids]
        )
        self.profiled(
            "submit_evidence_gateway",
            "gateway",
            "submit.lua",
            [ingest_token, commitments_file, str(self.work / f"acks-{run_id}"), run_id],
            ["gateway", "evidence"],
        )

    async def ingest(self, plan: data.Plan, token: str, client_id: str) -> None:
        """Submissions through the gateway, each with its own Idempotency-Key; then the check."""
        if not self.selected("submit_evidence_gateway"):
            return
        ids = _paths(self.work, "submit-commitments", [str(i) for i in plan.commitment_ids])
        run_id = f"r{uuid.uuid4().hex[:8]}"
        warm_prefix, measured_prefix = (
            self.work / f"acks-warm-{run_id}",
            self.work / f"acks-{run_id}",
        )
        url = self.endpoints.url("gateway")
        c = self.load.connections
        if self.sampler:
            self.sampler.mark("submit_evidence_gateway")
        load.run_wrk(
            url,
            "submit.lua",
            [token, ids, str(warm_prefix), f"{run_id}w"],
            c,
            self.load.warmup_s,
            self.load.cpus,
        )
        errors_before = self.procs.error_lines() if self.procs else 0
        cpu = self.cpu_meter()
        figures = load.run_wrk(
            url,
            "submit.lua",
            [token, ids, str(measured_prefix), f"{run_id}m"],
            c,
            self.load.measure_s,
            self.load.cpus,
        )
        errors = (self.procs.error_lines() if self.procs else 0) - errors_before
        if cpu is not None:
            figures["cpu_ms_per_request"] = cpu.per_request(figures["requests"])
        await asyncio.sleep(1)
        check = await self.verify_ingest(client_id, [warm_prefix, measured_prefix], measured_prefix)
        acked = check["acknowledged_measured"]
        figures.update(
            {
                "what": "POST /v1/submissions with Idempotency-Key (gateway)",
                "target": "gateway",
                "phase": "full",
                "acknowledged_per_s": round(acked / figures["seconds"], 1),
                "server_errors": errors,
                "check": check,
            }
        )
        self.results["scenarios"]["submit_evidence_gateway"] = figures
        print(
            f"  {'submit_evidence_gateway':<32} {figures['acknowledged_per_s']:>8.1f} acked/s  p50 "
            f"{figures['p50_ms']:>7.2f} ms  p99 {figures['p99_ms']:>7.2f} ms  non-2xx "
            f"{figures['non_2xx']}  exactly once: {check['exactly_once']}",
            flush=True,
        )

    async def verify_ingest(
        self, client_id: str, prefixes: list[Path], measured: Path
    ) -> dict[str, Any]:
        """Every acknowledged submission is stored, once; nothing stored twice for one key."""
        import asyncpg

        acks: list[tuple[str, str]] = []
        measured_count = 0
        for prefix in prefixes:
            for f in prefix.parent.glob(prefix.name + "-*.acks"):
                lines = [ln.split(" ", 1) for ln in f.read_text().splitlines() if ln.strip()]
                acks += [(a, b) for a, b in lines]
                if prefix == measured:
                    measured_count += len(lines)
        conn = await asyncpg.connect(pg.dsn(self.server, pg.db_name(self.prefix, "evidence")))
        try:
            rows = await conn.fetch(
                "SELECT id::text AS id, title FROM submissions WHERE submitter_client_id = $1",
                client_id,
            )
            keys_done = await conn.fetchval(
                "SELECT count(*) FROM idempotency_keys WHERE client_id = $1 AND state = 'done'",
                client_id,
            )
            keys_in_flight = await conn.fetchval(
                "SELECT count(*) FROM idempotency_keys WHERE client_id = $1 AND state <> 'done'",
                client_id,
            )
        finally:
            await conn.close()
        stored = {r["id"]: r["title"] for r in rows}
        per_key: dict[str, int] = {}
        for title in stored.values():
            key = title.removeprefix("Bench evidence ")
            per_key[key] = per_key.get(key, 0) + 1
        ack_ids = [a for a, _ in acks]
        missing = [a for a in ack_ids if a not in stored]
        mismatched = [a for a, k in acks if a in stored and stored[a] != f"Bench evidence {k}"]
        duplicates = {k: n for k, n in per_key.items() if n > 1}
        return {
            "acknowledged": len(acks),
            "acknowledged_measured": measured_count,
            "distinct_acknowledged_ids": len(set(ack_ids)),
            "stored": len(stored),
            "acknowledged_not_stored": len(missing),
            "acknowledged_with_wrong_content": len(mismatched),
            "keys_stored_more_than_once": len(duplicates),
            "stored_not_acknowledged": len(stored) - len(set(ack_ids) & set(stored)),
            "idempotency_keys_done": keys_done,
            "idempotency_keys_not_done": keys_in_flight,
            "exactly_once": not missing
            and not mismatched
            and not duplicates
            and len(set(ack_ids)) == len(acks)
            and keys_done == len(stored),
        }

    async def phase_grown(self, plan: data.Plan) -> None:
        n = self.sizes.grown
        print(f"phase grown: commitments and ratings grown to {n:,} rows", flush=True)
        t0 = time.monotonic()
        timings = await data.grow(self.server, self.prefix, self.sizes, plan)
        timings["total_s"] = time.monotonic() - t0
        counts = {
            "commitments": await pg.scalar(
                self.server,
                pg.db_name(self.prefix, "commitments"),
                "SELECT count(*) FROM commitments",
            ),
            "ratings": await pg.scalar(
                self.server, pg.db_name(self.prefix, "ratings"), "SELECT count(*) FROM ratings"
            ),
        }
        print(f"  grown in {timings['total_s']:.0f} s: {counts}", flush=True)
        self.results["phases"]["grown"] = {"timings": timings, "rows": counts}
        await self.growth_point("grown", plan)

    # --- checks ----------------------------------------------------------------------------------

    async def sanity(self, plan: data.Plan, token: str) -> dict[str, Any]:
        """Generated rows read back through the real API; a few writes go through it too."""
        gw = self.endpoints.url("gateway")
        auth = {"Authorization": f"Bearer {token}"}
        checks: dict[str, Any] = {}
        cid = str(plan.commitment_ids[len(plan.commitment_ids) // 2])
        async with httpx.AsyncClient(base_url=gw, timeout=30) as client:
            r = await client.get(f"/v1/commitments/{cid}")
            body = r.json()
            checks["get_generated_commitment"] = (
                r.status_code == 200
                and len(body.get("targets", [])) == self.sizes.targets_per_commitment
            )
            r = await client.get("/v1/commitments", params={"page_size": 5})
            checks["list_first_page"] = r.status_code == 200 and len(r.json()["items"]) == 5
            r = await client.get(f"/v1/evaluations/{plan.evaluation_ids[0]}/report")
            rep = r.json()
            n = sum(len(a["commitments"]) for a in rep.get("policy_areas", []))
            checks["report_9"] = (
                r.status_code == 200 and n == len(plan.scopes[0]) and not rep.get("missing")
            )
            r = await client.get(f"/v1/commitments/{cid}/scorecard")
            card = r.json()
            checks["scorecard"] = (
                r.status_code == 200
                and not card.get("missing")
                and bool(card.get("ratings") is not None)
            )
            r = await client.get(
                "/v1/submissions", params={"commitment_id": cid, "status": "published"}
            )
            checks["published_evidence_listed"] = (
                r.status_code == 200 and len(r.json()["items"]) > 0
            )
            # A write through the API reaches the read models through the feed (positions were
            # set to the generated heads, so nothing is replayed and nothing new is skipped).
            area = str(plan.policy_areas[0])
            src = (await client.get("/v1/sources", params={"page_size": 1})).json()["items"][0][
                "id"
            ]
            r = await client.post(
                "/v1/commitments",
                headers=auth,
                json={
                    "reference": f"BENCH-API-{uuid.uuid4().hex[:8]}",
                    "title": "Bench API commitment",
                    "text": "Created through the API by the bench.",
                    "kind": "pledge",
                    "policy_area_id": area,
                    "source_id": src,
                    "status": "not_started",
                },
            )
            checks["create_commitment"] = r.status_code == 201
            if r.status_code != 201:
                checks["create_commitment_error"] = r.text[:500]
            new_id = r.json().get("id") if r.status_code == 201 else None
            seen = False
            for _ in range(60):
                if new_id is None:
                    break
                got = await pg.scalar(
                    self.server,
                    pg.db_name(self.prefix, "evidence"),
                    "SELECT count(*) FROM known_commitments WHERE id = $1",
                    uuid.UUID(new_id),
                )
                if got:
                    seen = True
                    break
                await asyncio.sleep(0.25)
            checks["feed_reaches_evidence_read_model"] = seen
            key = uuid.uuid4().hex
            sub = {
                "commitment_ids": [new_id or cid],
                "title": "Bench API evidence",
                "body": "Read back.",
                "stance": "neutral",
                "consent": "publish",
            }
            h = {**auth, "Idempotency-Key": key}
            r1 = await client.post("/v1/submissions", headers=h, json=sub)
            r2 = await client.post("/v1/submissions", headers=h, json=sub)
            checks["submit_and_replay"] = (
                r1.status_code == 201
                and r2.status_code == 201
                and r1.json()["id"] == r2.json()["id"]
                and r2.headers.get("idempotent-replayed") == "true"
            )
            if r1.status_code != 201:
                checks["submit_error"] = r1.text[:500]
        checks["ok"] = all(v for k, v in checks.items() if not k.endswith("_error"))
        print(f"  sanity: {checks}", flush=True)
        return checks

    def floor_check(self, plan: data.Plan, other: str = "floor") -> dict[str, Any]:
        """The floor answers the same bytes as the service for the same commitment."""
        same = 0
        sample = plan.commitment_ids[:: max(1, len(plan.commitment_ids) // 20)][:20]
        diff = None
        with httpx.Client(timeout=10) as client:
            for cid in sample:
                a = client.get(f"{self.endpoints.url('commitments')}/v1/commitments/{cid}")
                b = client.get(f"{self.endpoints.url(other)}/v1/commitments/{cid}")
                if a.content == b.content and a.headers.get("etag") == b.headers.get("etag"):
                    same += 1
                elif diff is None:
                    diff = {"service": a.text[:400], other: b.text[:400]}
        out: dict[str, Any] = {"compared": len(sample), "identical": same}
        if diff:
            out["first_difference"] = diff
        print(f"  {other} bytes identical to the service: {same}/{len(sample)}", flush=True)
        return out

    def _rows(self, plan: data.Plan) -> dict[str, int]:
        return {
            "commitments": len(plan.commitment_ids),
            "targets": len(plan.target_ids),
            "submissions": plan.submissions,
            "evaluations": len(plan.evaluation_ids),
            "ratings": plan.ratings,
            **{f"events_{k}": v for k, v in plan.feed_heads.items()},
        }

    # --- the run ---------------------------------------------------------------------------------

    async def run(self) -> None:
        started = time.monotonic()
        self.results["date"] = datetime.now(UTC).isoformat(timespec="seconds")
        self.results["load_average_before"] = [round(x, 2) for x in os.getloadavg()]
        self.results["machine"] = await machine(self.server)
        max_conn = int(await pg.scalar(self.server, "postgres", "SHOW max_connections"))
        in_use = int(
            await pg.scalar(self.server, "postgres", "SELECT count(*) FROM pg_stat_activity")
        )
        self.results["postgres_connections"] = {"max": max_conn, "in_use_at_start": in_use}
        # Four pools of up to 20 (opened on demand), six consumer lock connections, the floor's
        # 20 (stopped once measured): ~90 at the very most, ~50 in practice.
        if max_conn - in_use < 90:
            print(
                f"warning: PostgreSQL allows {max_conn} connections and {in_use} are in use; the "
                "suite may need ~90 under load (errors are counted per scenario)",
                flush=True,
            )
        self.results["git"] = git_state()
        self.results["settings"] = {
            "mode": "quick" if self.quick else "full",
            "sizes": self.sizes.__dict__,
            "connections": self.load.connections,
            "warmup_s": self.load.warmup_s,
            "measure_s": self.load.measure_s,
            "server_cpus": self.args.server_cpus,
            "load_cpus": self.load.cpus,
            "uvicorn": " ".join(suite.UVICORN_FLAGS),
        }
        try:
            if not self.args.skip_growth:
                await self.phase_small()
            plan = await self.phase_full()
            if not self.args.skip_growth:
                await self.phase_grown(plan)
        finally:
            self.stop()
        self.results["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
        self.results["duration_s"] = round(time.monotonic() - started, 1)
        self.results.update(report.ratios(self.results))
        out_dir = Path(self.args.out)
        self.results["out"] = str(out_dir)
        (out_dir / "results.json").write_text(
            json.dumps(self.results, indent=2, default=str) + "\n"
        )
        (out_dir / "RESULTS.md").write_text(report.markdown(self.results))
        print(report.summary_lines(self.results), flush=True)
        if not self.args.keep:
            await pg.drop_databases(self.server, self.prefix)


async def machine(server: str) -> dict[str, Any]:
    """What the figures were measured on."""
    import psutil

    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():  # noqa: ASYNC240
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for mod in (
        "uvicorn",
        "fastapi",
        "starlette",
        "sqlalchemy",
        "asyncpg",
        "pydantic",
        "httpx",
        "uvloop",
        "httptools",
        "orjson",
    ):
        try:
            from importlib.metadata import version

            versions[mod] = version(mod)
        except Exception:
            versions[mod] = "?"
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)  # noqa: ASYNC221
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "postgres": await pg.server_version(server),
        "wrk": (wrk.stdout or wrk.stderr).splitlines()[0] if (wrk.stdout or wrk.stderr) else "?",
        "packages": versions,
    }


def git_state() -> dict[str, Any]:
    """The commit measured, and whether the tree had uncommitted changes (read-only git calls)."""

    def git(*a: str) -> str:
        out = subprocess.run(["git", *a], cwd=pg.ROOT, capture_output=True, text=True, check=False)
        return out.stdout.strip()

    return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain"))}


def rewrite_report(out: Path) -> None:
    """RESULTS.md again from results.json, with the kept profiles summarised afresh."""
    results = json.loads((out / "results.json").read_text())
    for key in list(results.get("profiles", {})):
        name, _, proc = key.partition("@")
        raw = HERE / "profiles" / f"{name}-{proc}.txt"
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


def main(argv: list[str] | None = None) -> None:
    """Entry point of `python -m bench`."""
    args = parser().parse_args(argv)
    if args.only:
        # A partial run must not overwrite the committed results of a whole one.
        args.skip_growth = True
        args.out = args.out or str(HERE / ".work")
    args.out = args.out or str(HERE)
    if args.report_only:
        rewrite_report(Path(args.out))
        return
    load.check_wrk()
    suite.check_uvicorn_extras()
    if (os.cpu_count() or 1) < 2:
        args.server_cpus = args.load_cpus = ""
    asyncio.run(Bench(args).run())
