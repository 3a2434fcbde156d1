"""The ratios and their targets, and RESULTS.md."""

from __future__ import annotations

from typing import Any

from bench import profile

TARGETS = {
    "floor_ratio": (">=", 0.5),
    "gateway_ratio": (">=", 0.6),
    "growth_list_ratio": ("<=", 1.2),
    "growth_report_ratio": ("<=", 1.2),
    "ingest_per_s": (">=", 1000.0),
}
DEFINITIONS = {
    "floor_ratio": "rps of GET /v1/commitments/{id} on the commitments service / rps of the floor",
    "gateway_ratio": "rps of GET /v1/commitments/{id} through the gateway / direct to the service",
    "growth_list_ratio": "p50 of a deep list page (service) at 1,000,000 commitments / at 1,000",
    "growth_report_ratio": "p50 of the 9-commitment report (gateway) at 1,000,000 ratings and "
    "commitments / at 1,000",
    "ingest_per_s": "submissions acknowledged (201) per second through the gateway, each with "
    "its own Idempotency-Key, all verified stored exactly once",
}


def _rps(s: dict[str, Any], name: str) -> float | None:
    v = s.get(name, {}).get("rps")
    return float(v) if v else None


def _p50(s: dict[str, Any], name: str) -> float | None:
    v = s.get(name, {}).get("p50_ms")
    return float(v) if v else None


def _div(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def ratios(results: dict[str, Any]) -> dict[str, Any]:
    """The five figures of the issue, each with its target and whether it is met."""
    s = results["scenarios"]
    ingest = s.get("submit_evidence_gateway", {})
    values = {
        "floor_ratio": _div(_rps(s, "get_commitment_direct"), _rps(s, "floor_get_commitment")),
        "gateway_ratio": _div(_rps(s, "get_commitment_gateway"), _rps(s, "get_commitment_direct")),
        "growth_list_ratio": _div(
            _p50(s, "growth_list_deep_grown"), _p50(s, "growth_list_deep_small")
        ),
        "growth_report_ratio": _div(
            _p50(s, "growth_report_9_grown"), _p50(s, "growth_report_9_small")
        ),
        "ingest_per_s": ingest.get("acknowledged_per_s")
        if ingest.get("check", {}).get("exactly_once")
        else (0.0 if ingest else None),
    }
    out: dict[str, Any] = dict(values)
    # Not a target: what the prototype of the proposed fix reaches against the same floor.
    out["targets"] = {}
    for name, value in values.items():
        op, target = TARGETS[name]
        met = None if value is None else (value >= target if op == ">=" else value <= target)
        out["targets"][name] = {"value": value, "target": f"{op} {target:g}", "met": met}
    return out


def _fmt(v: Any) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:,.3f}" if v < 10 else f"{v:,.1f}"
    return str(v)


def markdown(r: dict[str, Any]) -> str:
    """RESULTS.md."""
    m = r["machine"]
    st = r["settings"]
    git = r["git"]
    lines = [
        "# Benchmark results",
        "",
        f"Measured {r['date']} on commit `{git['commit'][:12]}`"
        + (" (with uncommitted changes)" if git["dirty"] else "")
        + f", mode **{st['mode']}**, in {r['duration_s']:.0f} s.",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; Python {m['python']}; "
        f"{m['postgres'].split(' on ')[0]}; {m['wrk']}.",
        f"Load average (1/5/15 min) before: {r['load_average_before']}, after: "
        f"{r['load_average_after']} — anything above ~0.5 before means other work shared the "
        "machine and the absolute figures are noisy (the ratios, taken in one run, less so).",
        "",
        f"Servers pinned to CPU {st['server_cpus'] or '(any)'} (`taskset`), wrk to CPU "
        f"{st['load_cpus'] or '(any)'}; uvicorn `{st['uvicorn']}`, one worker per process; wrk "
        f"`-t1 -c{st['connections']}`, {st['warmup_s']} s warm-up (discarded) then "
        f"{st['measure_s']} s measured per scenario. Reproduce: `.venv/bin/python -m bench`"
        + (" --quick" if st["mode"] == "quick" else "")
        + " (see bench/README.md).",
        "",
        "## Ratios",
        "",
        "| ratio | value | target | met | definition |",
        "|---|---:|---|---|---|",
    ]
    for name, t in r["targets"].items():
        met = {True: "yes", False: "**MISSED**", None: "not measured"}[t["met"]]
        lines.append(
            f"| `{name}` | {_fmt(t['value'])} | {t['target']} | {met} | {DEFINITIONS[name]} |"
        )
    if r.get("idle_cpu_pct"):
        lines += [
            "",
            f"CPU % used by each process with no requests at all (background pollers): "
            f"`{r['idle_cpu_pct']}`.",
        ]
    lines += [
        "",
        "## Scenarios",
        "",
        "| scenario | what | phase | rps | p50 ms | p99 ms | non-2xx | socket errors "
        "| server errors |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, s in r["scenarios"].items():
        rps = s.get("acknowledged_per_s", s["rps"])
        lines.append(
            f"| `{name}` | {s['what']} | {s['phase']} | {rps:,.1f} | {s['p50_ms']:.2f} | "
            f"{s['p99_ms']:.2f} | {s['non_2xx']} | {s['socket_errors']} | "
            f"{s.get('server_errors', 'n/a')} |"
        )
    lines += [
        "",
        "Server errors are ERROR lines the processes logged during the measured run (a composed "
        "read degrades to a 200 with `missing` when a service fails, which wrk cannot see). "
        "Socket errors include requests still waiting when a run ended.",
    ]
    lines += cpu_table(r["scenarios"])
    ingest = r["scenarios"].get("submit_evidence_gateway", {}).get("check")
    if ingest:
        lines += [
            "",
            "## Ingest: stored exactly once",
            "",
            "Each wrk request carries a fresh `Idempotency-Key`; every 201 is logged with the "
            "returned id and the key (echoed in the title), then compared with the evidence "
            "database (warm-up and measured runs together):",
            "",
            "| check | value |",
            "|---|---:|",
        ]
        lines += [f"| {k.replace('_', ' ')} | {v} |" for k, v in ingest.items()]
        lines += [
            "",
            '"Stored not acknowledged" are requests still in flight when wrk stopped: stored, '
            "but wrk closed the connection before reading the 201 (a real client would retry "
            "with the same key and get the stored response).",
        ]
    mem = r.get("memory")
    if mem:
        lines += [
            "",
            "## Memory (RSS under load, full phase)",
            "",
            "| process | before load MiB | start MiB | peak MiB | end MiB | growth MiB | flat "
            "| plateau (last 3 scenarios) |",
            "|---|---:|---:|---:|---:|---:|---|---|",
        ]
        for name, v in mem.items():
            lines.append(
                f"| {name} | {v['before_load_mib']} | {v['start_mib']} | {v['peak_mib']} | "
                f"{v['end_mib']} | {v['growth_mib']} | {'yes' if v['flat'] else '**no**'} | "
                f"{plateau(v.get('peak_by_scenario_mib', {}))} |"
            )
        lines += [
            "",
            "Start = first sample two seconds into the first scenario's warm-up; flat = end within "
            "10 % (or 16 MiB) of start; plateau = the peaks of the last three scenarios the "
            "process served lie within 5 % (or 8 MiB) of each other, i.e. it stopped growing. "
            "The floor and the prototype are stopped once measured. Per-scenario peaks are in "
            "results.json.",
        ]
    lines += ["", "## Data", ""]
    for phase, p in r["phases"].items():
        rows = ", ".join(f"{k} {v:,}" for k, v in p["rows"].items())
        t = ", ".join(f"{k} {v:.1f}" for k, v in p["timings"].items())
        lines.append(f"- **{phase}**: {rows} (seconds: {t})")
    if r.get("sanity"):
        lines += ["", f"API sanity checks on the generated data: `{r['sanity']}`"]
    if r.get("floor_check"):
        fc = r["floor_check"]
        lines += [f"Floor vs service, identical body and ETag: {fc['identical']}/{fc['compared']}."]
    if r.get("profiles"):
        lines += ["", "## Profiles", ""]
        for name, summary in r["profiles"].items():
            lines += [f"### {name}", "", "```", profile.render(summary), "```", ""]
    return "\n".join(lines) + "\n"


CPU_COLUMNS = ("floor", "gateway", "commitments", "evidence", "ratings", "postgres")


def cpu_table(scenarios: dict[str, Any]) -> list[str]:
    """Where each scenario's requests spent CPU: ms per request by process."""
    rows = {n: s["cpu_ms_per_request"] for n, s in scenarios.items() if s.get("cpu_ms_per_request")}
    if not rows:
        return []
    head = " | ".join(CPU_COLUMNS)
    lines = [
        "",
        "## CPU per request",
        "",
        "Milliseconds of CPU each process spent per request served during the measured run "
        "(user + system, from /proc; PostgreSQL is all its backends together). Background work "
        "a request causes (feed consumers, sequencers, the webhook fan-out) is included, "
        "spread over the requests of the run. Servers share one core, so the sum of the server "
        "columns bounds the throughput: 1,000 / sum requests per second.",
        "",
        f"| scenario | {head} | servers' sum |",
        "|---|" + "---:|" * (len(CPU_COLUMNS) + 1),
    ]
    for name, cpu in rows.items():
        cells = " | ".join(f"{cpu[c]:.2f}" if c in cpu else "" for c in CPU_COLUMNS)
        servers = sum(v for k, v in cpu.items() if k != "postgres")
        lines.append(f"| `{name}` | {cells} | {servers:.2f} |")
    return lines


def plateau(peaks: dict[str, float]) -> str:
    """Whether RSS stopped growing: the last three scenarios' peaks within 5 % (or 8 MiB)."""
    values = list(peaks.values())
    if len(values) < 3:
        return "n/a"
    last = values[-3:]
    spread = max(last) - min(last)
    ok = spread <= max(0.05 * max(last), 8)
    return f"{'yes' if ok else '**no**'} ({spread:.1f} MiB)"


def summary_lines(r: dict[str, Any]) -> str:
    """What the terminal shows at the end."""
    out = ["", "ratios:"]
    for name, t in r["targets"].items():
        met = {True: "met", False: "MISSED", None: "not measured"}[t["met"]]
        out.append(f"  {name:<22} {_fmt(t['value']):>10}  target {t['target']:<8} {met}")
    out.append(f"load average before {r['load_average_before']} after {r['load_average_after']}")
    out.append(f"written: {r.get('out', 'bench')}/RESULTS.md and results.json")
    return "\n".join(out)
