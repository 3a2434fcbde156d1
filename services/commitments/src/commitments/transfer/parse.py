"""Reading an import file into rows, noting every cell that is bad on its own."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from commitments.schemas import LineageKind, PolicyAreaCreate, SourceCreate
from commitments.transfer.format import (
    COLUMNS,
    KEY,
    MODELS,
    CommitmentRow,
    TargetRow,
    read_cells,
)
from servicekit.problems import FieldError, ProblemError

D = TypeVar("D", bound=BaseModel)


@dataclass
class Row(Generic[D]):
    """One valid row of the file."""

    line: int
    record: str
    data: D
    links: list[tuple[LineageKind, str]] = field(default_factory=list)

    @property
    def key(self) -> str:
        """The record's natural key."""
        return str(getattr(self.data, KEY[self.record]))


@dataclass
class Plan:
    """The file checked against the database: rows by kind, and every error found."""

    sources: dict[str, Row[SourceCreate]] = field(default_factory=dict)
    policy_areas: dict[str, Row[PolicyAreaCreate]] = field(default_factory=dict)
    commitments: dict[str, Row[CommitmentRow]] = field(default_factory=dict)
    targets: dict[str, Row[TargetRow]] = field(default_factory=dict)
    errors: list[FieldError] = field(default_factory=list)
    # Keys of rows that failed on their own: references to them are not reported again.
    invalid: dict[str, set[str]] = field(default_factory=lambda: {k: set() for k in MODELS})

    def rows(self, record: str) -> dict[str, Row[Any]]:
        """The valid rows of one kind of record, by key."""
        by_record: dict[str, dict[str, Row[Any]]] = {
            "source": self.sources,
            "policy_area": self.policy_areas,
            "commitment": self.commitments,
            "target": self.targets,
        }
        return by_record[record]

    def row_count(self) -> int:
        """How many valid rows the file has."""
        return sum(len(self.rows(record)) for record in MODELS)

    def known(self, record: str, key: str, stored: dict[str, Any]) -> bool:
        """Whether a reference resolves to a row of the file, a bad row, or a stored record."""
        return key in self.rows(record) or key in self.invalid[record] or key in stored

    def error(self, line: int, column: str, detail: str, code: str = "invalid") -> None:
        """Note a bad cell."""
        self.errors.append(
            FieldError(
                pointer=f"body.{line}.{column}",
                detail=f"line {line}, column {column}: {detail}",
                code=code,
            )
        )


def bad_file(errors: list[FieldError]) -> ProblemError:
    """The 422 listing every bad cell of a file, in line order; nothing was imported."""
    errors = sorted(errors, key=lambda e: (int(e.pointer.split(".")[1]), e.pointer))
    lines = len({e.pointer.split(".")[1] for e in errors})
    return ProblemError(
        422,
        "The file has bad rows",
        f"{len(errors)} error{'s' if len(errors) != 1 else ''} on {lines} "
        f"line{'s' if lines != 1 else ''}; nothing was imported.",
        type_="/problems/bad-csv",
        errors=errors,
    )


def parse(content: bytes, plan: Plan) -> None:
    """Read the file's rows into `plan`, noting each row that is bad on its own."""
    try:
        textual = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # 422 like a bad row: the request is well-formed (a file was sent as text/csv), what it
        # holds cannot be read.
        raise ProblemError(
            422, "The file is not UTF-8", f"{exc}; nothing was imported.", type_="/problems/bad-csv"
        ) from None
    reader = csv.DictReader(io.StringIO(textual, newline=""))
    header = reader.fieldnames or []
    unknown = [c for c in header if c not in COLUMNS]
    if "record" not in header or unknown or len(set(header)) != len(header):
        detail = (
            f"unknown columns {unknown}"
            if unknown
            else "the header must name each column once, including `record`"
        )
        plan.error(
            1,
            unknown[0] if unknown else "record",
            f"{detail}; the columns are {', '.join(COLUMNS)}.",
            "bad_header",
        )
        return
    try:
        for raw in reader:
            _parse_row(plan, reader.line_num, raw)
    except csv.Error as exc:
        plan.error(reader.line_num, "record", f"malformed CSV: {exc}.", "bad_csv")


def _parse_row(plan: Plan, line: int, raw: dict[str, str]) -> None:
    if None in raw:
        plan.error(line, "record", "the row has more cells than the header.", "bad_row")
        return
    record = (raw.get("record") or "").strip()
    model = MODELS.get(record)
    if model is None:
        plan.error(line, "record", f"{record!r} is not one of {', '.join(MODELS)}.", "bad_record")
        return
    values = read_cells(raw)
    for column in values:
        if column not in model.model_fields:
            plan.error(
                line, column, f"does not apply to a {record} row; leave it empty.", "not_applicable"
            )
    values = {k: v for k, v in values.items() if k in model.model_fields}
    try:
        data = model.model_validate(values)
    except ValidationError as exc:
        plan.invalid[record].add(str(values.get(KEY[record], "")))
        for e in exc.errors():
            column = str(e["loc"][0]) if e["loc"] else "record"
            plan.error(line, column, str(e["msg"]), str(e["type"]))
        return
    row: Row[BaseModel] = Row(line, record, data)
    if isinstance(data, CommitmentRow) and data.lineage:
        row.links = _links(plan, line, data.lineage)
    seen = plan.rows(record).get(row.key)
    if seen is not None:
        plan.error(line, KEY[record], f"{row.key!r} is already on line {seen.line}.", "duplicate")
        return
    plan.rows(record)[row.key] = row


def _links(plan: Plan, line: int, cell: str) -> list[tuple[LineageKind, str]]:
    kind_text, sep, refs = cell.partition(":")
    try:
        kind = LineageKind(kind_text.strip())
    except ValueError:
        kind = None
    targets = [r.strip() for r in refs.split(";") if r.strip()]
    if not sep or kind is None or not targets:
        plan.error(
            line,
            "lineage",
            "write superseded_by:REF, merged_into:REF or split_into:REF1; REF2.",
            "bad_lineage",
        )
        return []
    if kind is not LineageKind.split_into and len(targets) != 1:
        plan.error(line, "lineage", f"{kind.value} names exactly one successor.", "bad_lineage")
        return []
    return [(kind, t) for t in targets]
