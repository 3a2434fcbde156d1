"""The ingest scenario: submissions through the gateway, then the exactly-once check.

Each request carries a fresh `Idempotency-Key` (bench/lua/submit.lua) and wrk writes every
acknowledged id with its key to `acks-*` files; `verify` then reads the evidence database and
counts what was stored, once, with its own key's content. `ingest_per_s` only counts when the
check passes.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import asyncpg

from bench import data, load, pg
from bench.run.measure import Bench


async def measure(b: Bench, plan: data.Plan, token: str, client_id: str) -> None:
    """Submissions through the gateway, each with its own Idempotency-Key; then the check."""
    if not b.selected("submit_evidence_gateway"):
        return
    ids = b.paths("submit-commitments", [str(i) for i in plan.commitment_ids])
    run_id = f"r{uuid.uuid4().hex[:8]}"
    warm_prefix, measured_prefix = (
        b.work / f"acks-warm-{run_id}",
        b.work / f"acks-{run_id}",
    )
    url = b.endpoints.url("gateway")
    c = b.load.connections
    if b.sampler:
        b.sampler.mark("submit_evidence_gateway")
    load.run_wrk(
        url,
        "submit.lua",
        [token, ids, str(warm_prefix), f"{run_id}w"],
        c,
        b.load.warmup_s,
        b.load.cpus,
    )
    errors_before = b.procs.error_lines() if b.procs else 0
    cpu = b.cpu_meter()
    figures = load.run_wrk(
        url,
        "submit.lua",
        [token, ids, str(measured_prefix), f"{run_id}m"],
        c,
        b.load.measure_s,
        b.load.cpus,
    )
    errors = (b.procs.error_lines() if b.procs else 0) - errors_before
    if cpu is not None:
        figures["cpu_ms_per_request"] = cpu.per_request(figures["requests"])
    await asyncio.sleep(1)
    check = await verify(b, client_id, [warm_prefix, measured_prefix], measured_prefix)
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
    b.results["scenarios"]["submit_evidence_gateway"] = figures
    print(
        f"  {'submit_evidence_gateway':<32} {figures['acknowledged_per_s']:>8.1f} acked/s  p50 "
        f"{figures['p50_ms']:>7.2f} ms  p99 {figures['p99_ms']:>7.2f} ms  non-2xx "
        f"{figures['non_2xx']}  exactly once: {check['exactly_once']}",
        flush=True,
    )


async def verify(b: Bench, client_id: str, prefixes: list[Path], measured: Path) -> dict[str, Any]:
    """Every acknowledged submission is stored, once; nothing stored twice for one key."""
    acks: list[tuple[str, str]] = []
    measured_count = 0
    for prefix in prefixes:
        for f in prefix.parent.glob(prefix.name + "-*.acks"):
            lines = [ln.split(" ", 1) for ln in f.read_text().splitlines() if ln.strip()]
            acks += [(ack_id, key) for ack_id, key in lines]
            if prefix == measured:
                measured_count += len(lines)
    conn = await asyncpg.connect(pg.dsn(b.server, pg.db_name(b.prefix, "evidence")))
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
