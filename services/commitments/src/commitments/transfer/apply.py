"""Importing a checked file: every row written through the rule modules, all or nothing."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from commitments import commitments, lineage, policy_areas, sources, targets
from commitments.models import Commitment, PolicyArea, Source
from commitments.schemas import (
    CommitmentCreate,
    CommitmentStatus,
    CommitmentUpdate,
    ImportReport,
    LineageLinkCreate,
    PolicyAreaUpdate,
    RecordCounts,
    SourceUpdate,
    TargetCreate,
    TargetDefinition,
    TargetUpdate,
)
from commitments.transfer.check import Stored, check, load
from commitments.transfer.format import TARGET_VALUES, TargetRow
from commitments.transfer.parse import Plan, Row, bad_file, parse
from servicekit.auth import Principal
from servicekit.problems import FieldError, ProblemError

# The `RecordCounts` field each record is counted in.
_PLURAL = {
    "source": "sources",
    "policy_area": "policy_areas",
    "commitment": "commitments",
    "target": "targets",
}


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
    parse(content, plan)
    db = await load(session, plan) if not plan.errors or plan.row_count() else None
    if db is not None:
        await check(plan, db, reason)
    if plan.errors:
        raise bad_file(plan.errors)
    assert db is not None
    if not dry_run:
        return await _apply(session, plan, db, principal, reason, dry_run=False)
    savepoint = await session.begin_nested()
    try:
        return await _apply(session, plan, db, principal, reason, dry_run=True)
    finally:
        # A dry run does everything a real one does, so its report is exact; then undoes it.
        await savepoint.rollback()


@dataclass
class _Run:
    """One application of a file: what it counted, and the line being written."""

    session: AsyncSession
    plan: Plan
    db: Stored
    principal: Principal
    reason: str | None
    line: int = 0
    created: RecordCounts = field(default_factory=RecordCounts)
    updated: RecordCounts = field(default_factory=RecordCounts)
    unchanged: RecordCounts = field(default_factory=RecordCounts)

    def count(self, bucket: RecordCounts, record: str, n: int = 1) -> None:
        """Count `n` records of a kind as created, updated or unchanged."""
        name = _PLURAL.get(record, record)
        setattr(bucket, name, getattr(bucket, name) + n)

    def outcome(self, changed: bool, record: str) -> None:
        """Count a stored record as updated or unchanged."""
        self.count(self.updated if changed else self.unchanged, record)


async def _apply(
    session: AsyncSession,
    plan: Plan,
    db: Stored,
    principal: Principal,
    reason: str | None,
    *,
    dry_run: bool,
) -> ImportReport:
    run = _Run(session, plan, db, principal, reason)
    try:
        await _apply_sources(run)
        await _apply_policy_areas(run)
        targets_by_commitment: dict[str, list[Row[TargetRow]]] = {}
        for target_row in plan.targets.values():
            targets_by_commitment.setdefault(target_row.data.commitment, []).append(target_row)
        # A new commitment is created with its new targets (one revision); the rest follow.
        await _apply_commitments(run, targets_by_commitment)
        for rows in targets_by_commitment.values():
            await _apply_targets(run, rows)
        await _apply_links(run)
    except ProblemError as exc:
        # A rule only the write itself could check: report it against the row being written.
        column = exc.errors[0].pointer.rsplit(".", 1)[-1] if exc.errors else "record"
        raise bad_file(
            [
                FieldError(
                    pointer=f"body.{run.line}.{column}",
                    detail=f"line {run.line}, column {column}: {exc.detail}",
                    code="rejected",
                )
            ]
        ) from None
    return ImportReport(
        dry_run=dry_run,
        rows=plan.row_count(),
        created=run.created,
        updated=run.updated,
        unchanged=run.unchanged,
    )


async def _apply_sources(run: _Run) -> None:
    session, db = run.session, run.db
    for ref, row in run.plan.sources.items():
        run.line = row.line
        s = row.data
        stored = db.sources.get(ref)
        if stored is None:
            read = await sources.create_source(session, s)
            db.sources[ref] = await session.get_one(Source, read.id)
            run.count(run.created, "source")
            continue
        values = s.model_dump(exclude={"reference"})
        values["url"] = str(s.url) if s.url else None
        diff = {k: v for k, v in values.items() if getattr(stored, k) != v}
        if diff:
            await sources.update_source(session, stored, SourceUpdate.model_validate(diff))
        run.outcome(bool(diff), "source")


async def _apply_policy_areas(run: _Run) -> None:
    session, db = run.session, run.db
    for slug, row in run.plan.policy_areas.items():
        run.line = row.line
        a = row.data
        stored = db.areas.get(slug)
        if stored is None:
            read = await policy_areas.create_policy_area(session, a)
            db.areas[slug] = await session.get_one(PolicyArea, read.id)
            run.count(run.created, "policy_area")
            continue
        diff = {k: v for k, v in a.model_dump(exclude={"slug"}).items() if getattr(stored, k) != v}
        if diff:
            await policy_areas.update_policy_area(
                session, stored, PolicyAreaUpdate.model_validate(diff)
            )
        run.outcome(bool(diff), "policy_area")


async def _apply_commitments(
    run: _Run, targets_by_commitment: dict[str, list[Row[TargetRow]]]
) -> None:
    session, db, reason = run.session, run.db, run.reason
    for ref, row in run.plan.commitments.items():
        run.line = row.line
        c = row.data
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
        stored = db.commitments.get(ref)
        if stored is None:
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
            detail = await commitments.create_commitment(session, body, run.principal)
            db.commitments[ref] = await session.get_one(Commitment, detail.id)
            run.count(run.created, "commitment")
            run.count(run.created, "target", len(new_targets))
            continue
        if values["status"] is None:
            values.pop("status")
        diff = {k: v for k, v in values.items() if getattr(stored, k) != v}
        if diff:
            await commitments.update_commitment(
                session,
                stored,
                CommitmentUpdate.model_validate({**diff, "reason": reason}),
                run.principal,
            )
        run.outcome(bool(diff), "commitment")


async def _apply_targets(run: _Run, rows: list[Row[TargetRow]]) -> None:
    session, db, reason = run.session, run.db, run.reason
    for row in rows:
        run.line = row.line
        t = row.data
        stored = db.targets.get(row.key)
        if stored is None:
            owner = db.commitments[t.commitment]
            await targets.add_target(
                session,
                owner,
                TargetCreate.model_validate(
                    {**t.model_dump(exclude={"commitment"}), "reason": reason}
                ),
                run.principal,
            )
            run.count(run.created, "target")
            continue
        diff = {f: getattr(t, f) for f in TARGET_VALUES if getattr(stored, f) != getattr(t, f)}
        if diff:
            await targets.update_target(
                session,
                stored,
                TargetUpdate.model_validate({**diff, "reason": reason}),
                run.principal,
            )
        run.outcome(bool(diff), "target")


async def _apply_links(run: _Run) -> None:
    db = run.db
    for ref, row in run.plan.commitments.items():
        run.line = row.line
        pred = db.commitments[ref]
        have = {link.successor_id for link in db.links.get(pred.id, [])}
        for kind, succ in row.links:
            successor = db.commitments[succ]
            if successor.id in have:
                run.count(run.unchanged, "lineage_links")
                continue
            await lineage.add_link(
                run.session,
                pred,
                LineageLinkCreate(
                    kind=kind,
                    successor_id=successor.id,
                    reason=run.reason or "Recorded by CSV import.",
                ),
                run.principal,
            )
            run.count(run.created, "lineage_links")
