"""The benchmark's driver: data at scale, the suite as real processes, wrk, ratios, results.

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

Where things are:

- `cli`: the command line (`parser`, `main`) and `--report-only`;
- `phases`: the three phases and `run`, the whole run in order, writing results.json;
- `scenarios`: what each scenario requests, through which process, in which order;
- `ingest`: the submission scenario and its exactly-once check;
- `checks`: the data set read back through the API, the floor's bytes against the service's;
- `measure`: `Bench`, one run's state, and how a scenario is measured and profiled;
- `machine`: what the figures were measured on.
"""

from bench.run.cli import main, parser

__all__ = ["main", "parser"]
