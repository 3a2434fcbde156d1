"""The CSV format of import and export: its columns, its records, and how a cell is written."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from commitments.revisions import TARGET_FIELDS
from commitments.schemas import (
    Body,
    CommitmentKind,
    CommitmentStatus,
    LongText,
    PolicyAreaCreate,
    Reference,
    Slug,
    SourceCreate,
    TargetDefinition,
    Title,
)
from servicekit import csvsafe

COLUMNS = (
    "record",
    "reference",
    "slug",
    "title",
    "name",
    "publisher",
    "kind",
    "published_on",
    "url",
    "description",
    "text",
    "policy_area",
    "source",
    "lead_bodies",
    "made_on",
    "due_on",
    "status",
    "lineage",
    "commitment",
    "metric",
    "unit",
    "direction",
    "baseline_value",
    "baseline_on",
    "target_value",
    "data_source",
)

IMPORT_DOC = """
Import a CSV file (`text/csv`, UTF-8, a header row, RFC 4180 quoting), the same format
`export_commitments` produces. One record per row; the `record` column says which:

| record | columns (* required) |
|---|---|
| `source` | reference*, title*, publisher*, kind*, published_on, url |
| `policy_area` | slug*, name*, description |
| `commitment` | reference*, title*, text*, kind, policy_area* (slug), source* \
(reference), lead_bodies (`; `-separated), made_on, due_on, status, lineage |
| `target` | reference*, commitment* (reference), metric*, unit*, direction, \
baseline_value, baseline_on, target_value*, due_on*, data_source |

Other columns must be empty for that record. A text cell that would begin with `=`, `+`, `-`,
`@`, a tab or a carriage return is exported with a leading apostrophe (so a spreadsheet does not
run it as a formula) and read back without it; numbers are written as numbers, negative ones
included. Dates are `YYYY-MM-DD`; an empty cell is no value
(or the default: kind `pledge`, status `not_started`, direction `increase`). `lineage` is
`superseded_by:REF`, `merged_into:REF` or `split_into:REF1; REF2`, and goes with status
`superseded`. Rows may come in any order; references may point at rows of the file or at
records already stored.

Each row describes a record whole: a record that does not exist is created, one that exists
and matches is left alone, one that differs is updated through the same rules as the API
(status transitions, revisions). So importing the same file twice changes nothing, and an
export imported elsewhere reproduces the same data. Changing wording, due dates or targets of
stored commitments needs `reason`.

All or nothing: if any row is bad, nothing is stored and the 422 problem lists every bad row,
each error's `pointer` being `body.<line>.<column>` (line 1 is the header). `dry_run=true`
checks and reports without storing anything.
""".strip()


class CommitmentRow(BaseModel):
    """A commitment row: references by natural key instead of id."""

    model_config = {"extra": "forbid", "str_strip_whitespace": True}

    reference: Reference
    title: Title
    text: LongText
    kind: CommitmentKind = CommitmentKind.pledge
    policy_area: Slug
    source: Reference
    lead_bodies: list[Body] = Field(default_factory=list, max_length=20)
    made_on: date | None = None
    due_on: date | None = None
    status: CommitmentStatus = CommitmentStatus.not_started
    lineage: str | None = None


class TargetRow(TargetDefinition):
    """A target row: its commitment by reference."""

    commitment: Reference


# What each record's row is read as, by the `record` column's value.
MODELS: dict[str, type[BaseModel]] = {
    "source": SourceCreate,
    "policy_area": PolicyAreaCreate,
    "commitment": CommitmentRow,
    "target": TargetRow,
}
# Each record's natural key column.
KEY = {
    "source": "reference",
    "policy_area": "slug",
    "commitment": "reference",
    "target": "reference",
}
# A target row's values besides its key (and its commitment).
TARGET_VALUES = tuple(f for f in TARGET_FIELDS if f != "reference")
SOURCE_VALUES = ("reference", "title", "publisher", "kind", "published_on", "url")
COMMITMENT_VALUES = (
    "reference",
    "title",
    "text",
    "kind",
    "lead_bodies",
    "made_on",
    "due_on",
    "status",
)


def read_cells(raw: dict[str, str]) -> dict[str, Any]:
    """A row's non-empty cells by column, `lead_bodies` split into a list."""
    values: dict[str, Any] = {}
    for column, cell in raw.items():
        if column == "record" or cell is None or cell.strip() == "":
            continue
        text = csvsafe.restore(cell)
        if column == "lead_bodies":
            values[column] = [b.strip() for b in text.split(";") if b.strip()]
        else:
            values[column] = text
    return values


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        # Whole numbers without ".0", so a file round-trips unchanged.
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return csvsafe.cell("; ".join(value))
    # Text only: numbers were written above as numbers (a negative target stays numeric).
    return csvsafe.cell(str(value))


def write_line(values: dict[str, Any]) -> bytes:
    """One CSV line with a cell for every column (missing ones empty)."""
    buf = io.StringIO()
    csv.writer(buf).writerow([_cell(values.get(c)) for c in COLUMNS])
    return buf.getvalue().encode()
