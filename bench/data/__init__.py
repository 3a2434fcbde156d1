"""The data set: valid rows for every service's tables, generated in Python and COPYed in bulk.

How to adjust it when a schema changes: each table has one `*_row` function in its service's
module returning a dict keyed by column name. `bench.pg.copy_rows` compares those keys with the
live table after `alembic upgrade head`, and stops with the table and column to fix if the
generator writes a column that is gone or leaves out a required one (new nullable columns or ones
with a default need nothing). Derived values come from the services' own pure rule code (target
progress from `commitments.progress`, rating overalls from `ratings.aggregation`), so they match
what the API would have stored.

What is generated, per service (sizes in `sizes.Sizes`), module by module:

- `commitments`: sources, policy areas, commitments with lead bodies, targets with progress
  consistent with their readings, one creation revision each, and the outbox (`events`) with
  one positioned event per created resource (`commitment.created`, `target.created`,
  `reading.created`).
- `evidence`: the `known_commitments` read model (every commitment), submissions about one to
  three commitments in every status (published ones with their accept/publish decisions,
  publication references and counter), and one positioned event per submission in its current
  state; `consumer_positions` at the commitments feed's head, so the consumer does not replay.
- `ratings`: `known_commitments` and `known_submissions` read models, published evaluations with
  their scope (the first has 9 commitments, the second 1,000, the rest share what is left),
  published ratings with overalls, events, and `consumer_positions` at both feeds' heads.
- `gateway`: its event log as a copy of the three feeds (source ids and positions), consumer
  positions at every head and the webhook fan-out cursor at the log's head.

`dataset.load_all` generates all of it and COPYs each service's rows into its database;
`growth.grow` is the 1,000,000-row phase. `feed.Feed` is an outbox, `ids.uuid7_at` the services'
ids, `vocabulary` the filler text.

Feeds are "compacted": one event per resource in its current state rather than its whole
history. Growth rows (`growth.grow`, the 1,000,000-row phase) are commitments and ratings only,
written without events: they exist to make the tables large, not to be consumed.
"""

from bench.data.dataset import Plan, load_all
from bench.data.growth import grow
from bench.data.sizes import FULL, QUICK, SMALL, Sizes

__all__ = ["FULL", "QUICK", "SMALL", "Plan", "Sizes", "grow", "load_all"]
