"""CSV import and export of sources, policy areas, commitments and targets."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commitments import repository, service
from commitments.lifecycle import check_transition
from commitments.models import Commitment, LineageLink, PolicyArea, Source, Target
from commitments.schemas import (
    Body,
    CommitmentCreate,
    CommitmentKind,
    CommitmentStatus,
    CommitmentUpdate,
    ImportReport,
    LineageKind,
    LineageLinkCreate,
    LongText,
    PolicyAreaCreate,
    PolicyAreaUpdate,
    RecordCounts,
    Reference,
    Slug,
    SourceCreate,
    SourceUpdate,
    TargetCreate,
    TargetDefinition,
    TargetUpdate,
    Title,
)
from servicekit.auth import Principal
from servicekit.problems import FieldError, ProblemError

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

Other columns must be empty for that record. Dates are `YYYY-MM-DD`; an empty cell is no value
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


_MODELS: dict[str, type[BaseModel]] = {
    "source": SourceCreate,
    "policy_area": PolicyAreaCreate,
    "commitment": CommitmentRow,
    "target": TargetRow,
}
_KEY = {
    "source": "reference",
    "policy_area": "slug",
    "commitment": "reference",
    "target": "reference",
}
_PLURAL = {
    "source": "sources",
    "policy_area": "policy_areas",
    "commitment": "commitments",
    "target": "targets",
}
_TARGET_FIELDS = tuple(f for f in service.TARGET_FIELDS if f != "reference")
_COMMITMENT_FIELDS = (
    "title",
    "text",
    "kind",
    "policy_area_id",
    "source_id",
    "lead_bodies",
    "made_on",
    "due_on",
    "status",
)


@dataclass
class Row:
    """One valid row of the file."""

    line: int
    record: str
    data: BaseModel
    links: list[tuple[LineageKind, str]] = field(default_factory=list)

    @property
    def key(self) -> str:
        """The record's natural key."""
        return str(getattr(self.data, _KEY[self.record]))


@dataclass
class Plan:
    """The file checked against the database: rows by kind, and every error found."""

    rows: dict[str, dict[str, Row]] = field(default_factory=lambda: {k: {} for k in _MODELS})
    errors: list[FieldError] = field(default_factory=list)
    # Keys of rows that failed on their own: references to them are not reported again.
    invalid: dict[str, set[str]] = field(default_factory=lambda: {k: set() for k in _MODELS})

    def known(self, record: str, key: str, stored: dict[str, Any]) -> bool:
        """Whether a reference resolves to a row of the file, a bad row, or a stored record."""
        return key in self.rows[record] or key in self.invalid[record] or key in stored

    def error(self, line: int, column: str, detail: str, code: str = "invalid") -> None:
        """Note a bad cell."""
        self.errors.append(
            FieldError(
                pointer=f"body.{line}.{column}",
                detail=f"line {line}, column {column}: {detail}",
                code=code,
            )
        )


def _cells(record: str, raw: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for column, cell in raw.items():
        if column == "record" or cell is None or cell.strip() == "":
            continue
        if column == "lead_bodies":
            values[column] = [b.strip() for b in cell.split(";") if b.strip()]
        else:
            values[column] = cell
    return values


def _parse(content: bytes, plan: Plan) -> None:
    try:
        textual = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ProblemError(
            400, "Bad Request", f"The file is not UTF-8: {exc}.", type_="/problems/bad-csv"
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
            line = reader.line_num
            if None in raw:
                plan.error(line, "record", "the row has more cells than the header.", "bad_row")
                continue
            record = (raw.get("record") or "").strip()
            model = _MODELS.get(record)
            if model is None:
                plan.error(
                    line, "record", f"{record!r} is not one of {', '.join(_MODELS)}.", "bad_record"
                )
                continue
            values = _cells(record, raw)
            for column in values:
                if column not in model.model_fields:
                    plan.error(
                        line,
                        column,
                        f"does not apply to a {record} row; leave it empty.",
                        "not_applicable",
                    )
            values = {k: v for k, v in values.items() if k in model.model_fields}
            try:
                data = model.model_validate(values)
            except ValidationError as exc:
                plan.invalid[record].add(str(values.get(_KEY[record], "")))
                for e in exc.errors():
                    column = str(e["loc"][0]) if e["loc"] else "record"
                    plan.error(line, column, str(e["msg"]), str(e["type"]))
                continue
            row = Row(line, record, data)
            if isinstance(data, CommitmentRow) and data.lineage:
                row.links = _links(plan, line, data.lineage)
            seen = plan.rows[record].get(row.key)
            if seen is not None:
                plan.error(
                    line, _KEY[record], f"{row.key!r} is already on line {seen.line}.", "duplicate"
                )
                continue
            plan.rows[record][row.key] = row
    except csv.Error as exc:
        plan.error(reader.line_num, "record", f"malformed CSV: {exc}.", "bad_csv")


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


@dataclass
class Stored:
    """What the database already holds for the file's keys."""

    sources: dict[str, Source]
    areas: dict[str, PolicyArea]
    commitments: dict[str, Commitment]
    targets: dict[str, Target]
    links: dict[uuid.UUID, list[LineageLink]]
    target_commitments: dict[uuid.UUID, Commitment]


async def _load(session: AsyncSession, plan: Plan) -> Stored:
    r = plan.rows
    sources = await repository.by_references(
        session,
        Source,
        Source.reference,
        [*r["source"], *(x.data.source for x in r["commitment"].values())],  # type: ignore[attr-defined]
    )
    areas = await repository.by_references(
        session,
        PolicyArea,
        PolicyArea.slug,
        [*r["policy_area"], *(x.data.policy_area for x in r["commitment"].values())],  # type: ignore[attr-defined]
    )
    wanted = [*r["commitment"], *(x.data.commitment for x in r["target"].values())]  # type: ignore[attr-defined]
    wanted += [ref for x in r["commitment"].values() for _, ref in x.links]
    commitments = await repository.by_references(session, Commitment, Commitment.reference, wanted)
    targets = await repository.by_references(session, Target, Target.reference, list(r["target"]))
    owners = await repository.by_ids(
        session, Commitment, [t.commitment_id for t in targets.values()]
    )
    links: dict[uuid.UUID, list[LineageLink]] = {}
    for link in await repository.all_links(session):
        links.setdefault(link.predecessor_id, []).append(link)
    return Stored(sources, areas, commitments, targets, links, owners)


def _check(plan: Plan, db: Stored, reason: str | None) -> None:
    """Cross-row rules: references resolve, transitions are allowed, reasons are given."""
    r = plan.rows
    refs = {c.id: ref for ref, c in db.commitments.items()}
    for row in r["commitment"].values():
        d: CommitmentRow = row.data  # type: ignore[assignment]
        if not plan.known("policy_area", d.policy_area, db.areas):
            plan.error(
                row.line,
                "policy_area",
                f"no policy area {d.policy_area!r} in the file or stored.",
                "unknown_reference",
            )
        if not plan.known("source", d.source, db.sources):
            plan.error(
                row.line,
                "source",
                f"no source {d.source!r} in the file or stored.",
                "unknown_reference",
            )
        for _, succ in row.links:
            if not plan.known("commitment", succ, db.commitments):
                plan.error(
                    row.line,
                    "lineage",
                    f"no commitment {succ!r} in the file or stored.",
                    "unknown_reference",
                )
        if (d.status is CommitmentStatus.superseded) != bool(row.links):
            plan.error(
                row.line,
                "lineage" if row.links else "status",
                "status superseded and a lineage go together.",
                "successor_required",
            )
        stored = db.commitments.get(row.key)
        current = CommitmentStatus(stored.status) if stored else CommitmentStatus.not_started
        try:
            check_transition(
                current,
                d.status,
                due_on=d.due_on,
                today=service.today(),
                reason=reason,
                lineage=bool(row.links),
            )
        except ProblemError as exc:
            plan.error(
                row.line,
                "status",
                f"{exc.detail} (give the import a reason)"
                if exc.errors and exc.errors[0].code == "reason_required"
                else str(exc.detail),
                "transition",
            )
        if stored is not None:
            had = {
                refs.get(link.successor_id, str(link.successor_id))
                for link in db.links.get(stored.id, [])
            }
            missing = had - {succ for _, succ in row.links}
            if missing:
                plan.error(
                    row.line,
                    "lineage",
                    f"stored links to {', '.join(sorted(missing))} cannot be removed.",
                    "lineage_removed",
                )
            changed = [
                f for f in ("title", "text", "due_on") if getattr(stored, f) != getattr(d, f)
            ]
            if changed and not reason:
                plan.error(
                    row.line,
                    changed[0],
                    f"changes the stored commitment's {', '.join(changed)}; give the import a "
                    "reason.",
                    "reason_required",
                )
    _check_cycles(plan, db)
    for row in r["target"].values():
        t: TargetRow = row.data  # type: ignore[assignment]
        if not plan.known("commitment", t.commitment, db.commitments):
            plan.error(
                row.line,
                "commitment",
                f"no commitment {t.commitment!r} in the file or stored.",
                "unknown_reference",
            )
        for column, detail, code in service.check_target(t.model_dump()):
            plan.error(row.line, column, detail, code)
        stored_t = db.targets.get(row.key)
        owner = db.commitments.get(t.commitment)
        if stored_t is None:
            if owner is not None and not reason:
                plan.error(
                    row.line,
                    "reference",
                    "adds a target to a stored commitment; give the import a reason.",
                    "reason_required",
                )
            continue
        if owner is None or stored_t.commitment_id != owner.id:
            now = db.target_commitments[stored_t.commitment_id].reference
            plan.error(
                row.line,
                "commitment",
                f"target {row.key} belongs to {now}; it cannot move.",
                "target_moved",
            )
            continue
        changed = [f for f in _TARGET_FIELDS if getattr(stored_t, f) != getattr(t, f)]
        if changed and not reason:
            plan.error(
                row.line,
                changed[0],
                f"changes the stored target's {', '.join(changed)}; give the import a reason.",
                "reason_required",
            )
        if "unit" in changed and stored_t.reading_count:
            plan.error(
                row.line,
                "unit",
                "the target has readings; its unit cannot change.",
                "unit_mismatch",
            )


def _check_cycles(plan: Plan, db: Stored) -> None:
    refs = {c.id: ref for ref, c in db.commitments.items()}
    graph: dict[str, set[str]] = {}
    for pred_id, links in db.links.items():
        if pred_id in refs:
            graph.setdefault(refs[pred_id], set()).update(
                refs[x.successor_id] for x in links if x.successor_id in refs
            )
    for row in plan.rows["commitment"].values():
        graph.setdefault(row.key, set()).update(succ for _, succ in row.links)
    for row in plan.rows["commitment"].values():
        for _, succ in row.links:
            stack, seen = [succ], set()
            while stack:
                node = stack.pop()
                if node == row.key:
                    plan.error(
                        row.line, "lineage", f"linking to {succ} makes a cycle.", "lineage_cycle"
                    )
                    stack = []
                    break
                if node not in seen:
                    seen.add(node)
                    stack.extend(graph.get(node, ()))


async def import_csv(
    session: AsyncSession,
    content: bytes,
    principal: Principal,
    *,
    reason: str | None,
    dry_run: bool,
) -> ImportReport:
    """Check a whole file, then apply it through the service rules (or, dry, roll it back)."""
    plan = Plan()
    _parse(content, plan)
    db = await _load(session, plan) if not plan.errors or any(plan.rows.values()) else None
    if db is not None:
        _check(plan, db, reason)
    if plan.errors:
        raise _bad_file(plan.errors)
    assert db is not None
    if not dry_run:
        return await _apply(session, plan, db, principal, reason, dry_run=False)
    savepoint = await session.begin_nested()
    try:
        return await _apply(session, plan, db, principal, reason, dry_run=True)
    finally:
        # A dry run does everything a real one does, so its report is exact; then undoes it.
        await savepoint.rollback()


def _bad_file(errors: list[FieldError]) -> ProblemError:
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


async def _apply(
    session: AsyncSession,
    plan: Plan,
    db: Stored,
    principal: Principal,
    reason: str | None,
    *,
    dry_run: bool,
) -> ImportReport:
    created, updated, unchanged = RecordCounts(), RecordCounts(), RecordCounts()

    def count(bucket: RecordCounts, record: str, n: int = 1) -> None:
        setattr(
            bucket, _PLURAL.get(record, record), getattr(bucket, _PLURAL.get(record, record)) + n
        )

    r = plan.rows
    current_line = 0
    try:
        for ref, row in r["source"].items():
            current_line = row.line
            s: SourceCreate = row.data  # type: ignore[assignment]
            stored_s = db.sources.get(ref)
            if stored_s is None:
                read = await service.create_source(session, s)
                db.sources[ref] = await session.get(Source, read.id)  # type: ignore[assignment]
                count(created, "source")
                continue
            values = s.model_dump(exclude={"reference"})
            values["url"] = str(s.url) if s.url else None
            diff = {k: v for k, v in values.items() if getattr(stored_s, k) != v}
            if diff:
                await service.update_source(session, stored_s, SourceUpdate.model_validate(diff))
            count(updated if diff else unchanged, "source")
        for slug, row in r["policy_area"].items():
            current_line = row.line
            a: PolicyAreaCreate = row.data  # type: ignore[assignment]
            stored_a = db.areas.get(slug)
            if stored_a is None:
                read_a = await service.create_policy_area(session, a)
                db.areas[slug] = await session.get(PolicyArea, read_a.id)  # type: ignore[assignment]
                count(created, "policy_area")
                continue
            diff = {
                k: v for k, v in a.model_dump(exclude={"slug"}).items() if getattr(stored_a, k) != v
            }
            if diff:
                await service.update_policy_area(
                    session, stored_a, PolicyAreaUpdate.model_validate(diff)
                )
            count(updated if diff else unchanged, "policy_area")
        targets_by_commitment: dict[str, list[Row]] = {}
        for row in r["target"].values():
            targets_by_commitment.setdefault(row.data.commitment, []).append(row)  # type: ignore[attr-defined]
        for ref, row in r["commitment"].items():
            current_line = row.line
            c: CommitmentRow = row.data  # type: ignore[assignment]
            values = {
                "title": c.title,
                "text": c.text,
                "kind": c.kind,
                "policy_area_id": db.areas[c.policy_area].id,
                "source_id": db.sources[c.source].id,
                "lead_bodies": c.lead_bodies,
                "made_on": c.made_on,
                "due_on": c.due_on,
                # A superseded commitment becomes so when its lineage is recorded below.
                "status": c.status if c.status is not CommitmentStatus.superseded else None,
            }
            stored_c = db.commitments.get(ref)
            if stored_c is None:
                new_targets = [
                    TargetDefinition.model_validate(t.data.model_dump(exclude={"commitment"}))
                    for t in targets_by_commitment.pop(ref, [])
                ]
                body = CommitmentCreate.model_validate(
                    {
                        **{k: v for k, v in values.items() if v is not None},
                        "reference": ref,
                        "targets": new_targets,
                        "reason": reason,
                    }
                )
                detail = await service.create_commitment(session, body, principal)
                db.commitments[ref] = await session.get(Commitment, detail.id)  # type: ignore[assignment]
                count(created, "commitment")
                count(created, "target", len(new_targets))
                continue
            if values["status"] is None:
                values.pop("status")
            diff = {k: v for k, v in values.items() if getattr(stored_c, k) != v}
            if diff:
                await service.update_commitment(
                    session,
                    stored_c,
                    CommitmentUpdate.model_validate({**diff, "reason": reason}),
                    principal,
                )
            count(updated if diff else unchanged, "commitment")
        for rows in targets_by_commitment.values():
            for row in rows:
                current_line = row.line
                t: TargetRow = row.data  # type: ignore[assignment]
                stored_t = db.targets.get(row.key)
                if stored_t is None:
                    owner = db.commitments[t.commitment]
                    await service.add_target(
                        session,
                        owner,
                        TargetCreate.model_validate(
                            {**t.model_dump(exclude={"commitment"}), "reason": reason}
                        ),
                        principal,
                    )
                    count(created, "target")
                    continue
                diff = {
                    f: getattr(t, f)
                    for f in _TARGET_FIELDS
                    if getattr(stored_t, f) != getattr(t, f)
                }
                if diff:
                    await service.update_target(
                        session,
                        stored_t,
                        TargetUpdate.model_validate({**diff, "reason": reason}),
                        principal,
                    )
                count(updated if diff else unchanged, "target")
        for ref, row in r["commitment"].items():
            current_line = row.line
            pred = db.commitments[ref]
            have = {link.successor_id for link in db.links.get(pred.id, [])}
            for kind, succ in row.links:
                successor = db.commitments[succ]
                if successor.id in have:
                    count(unchanged, "lineage_links")
                    continue
                await service.add_link(
                    session,
                    pred,
                    LineageLinkCreate(
                        kind=kind,
                        successor_id=successor.id,
                        reason=reason or "Recorded by CSV import.",
                    ),
                    principal,
                )
                count(created, "lineage_links")
    except ProblemError as exc:
        # A rule only the write itself could check: report it against the row being written.
        column = exc.errors[0].pointer.rsplit(".", 1)[-1] if exc.errors else "record"
        raise _bad_file(
            [
                FieldError(
                    pointer=f"body.{current_line}.{column}",
                    detail=f"line {current_line}, column {column}: {exc.detail}",
                    code="rejected",
                )
            ]
        ) from None
    n = sum(len(v) for v in r.values())
    return ImportReport(
        dry_run=dry_run, rows=n, created=created, updated=updated, unchanged=unchanged
    )


# --- export ------------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return "; ".join(value)
    return str(value)


def _line(values: dict[str, Any]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerow([_cell(values.get(c)) for c in COLUMNS])
    return buf.getvalue().encode()


async def export_csv(maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[bytes]:
    """Every source, policy area, commitment and target as CSV rows, in a stable order."""
    async with maker() as session:
        if repository.dialect(session) == "postgresql":
            # One snapshot for the whole file, so targets never name a commitment it lacks
            # (SQLite's transaction is one already). Closing the session ends it.
            await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        yield _line({c: c for c in COLUMNS})
        sources: dict[uuid.UUID, str] = {}
        async for s in repository.stream_ordered(session, select(Source), Source.reference):
            sources[s.id] = s.reference
            yield _line(
                {
                    "record": "source",
                    **{
                        k: getattr(s, k)
                        for k in (
                            "reference",
                            "title",
                            "publisher",
                            "kind",
                            "published_on",
                            "url",
                        )
                    },
                }
            )
        areas: dict[uuid.UUID, str] = {}
        async for a in repository.stream_ordered(session, select(PolicyArea), PolicyArea.slug):
            areas[a.id] = a.slug
            yield _line(
                {
                    "record": "policy_area",
                    "slug": a.slug,
                    "name": a.name,
                    "description": a.description,
                }
            )
        refs = dict((await session.execute(select(Commitment.id, Commitment.reference))).all())
        lineage: dict[uuid.UUID, list[LineageLink]] = {}
        for link in await repository.all_links(session):
            lineage.setdefault(link.predecessor_id, []).append(link)
        async for c in repository.stream_ordered(session, select(Commitment), Commitment.reference):
            links = lineage.get(c.id, [])
            yield _line(
                {
                    "record": "commitment",
                    **{
                        k: getattr(c, k)
                        for k in (
                            "reference",
                            "title",
                            "text",
                            "kind",
                            "lead_bodies",
                            "made_on",
                            "due_on",
                            "status",
                        )
                    },
                    "policy_area": areas[c.policy_area_id],
                    "source": sources[c.source_id],
                    "lineage": f"{links[0].kind}:{'; '.join(refs[x.successor_id] for x in links)}"
                    if links
                    else None,
                }
            )
        async for t in repository.stream_ordered(session, select(Target), Target.reference):
            yield _line(
                {
                    "record": "target",
                    "reference": t.reference,
                    "commitment": refs[t.commitment_id],
                    **{f: getattr(t, f) for f in _TARGET_FIELDS},
                }
            )


def header() -> str:
    """The CSV header line."""
    return ",".join(COLUMNS)
