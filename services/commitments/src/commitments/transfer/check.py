"""Checking a parsed file against what is stored, by the same rules the API applies.

Every rule the rows can be judged by before anything is written is checked here, so one 422
reports every bad row; the rules themselves live in the rule modules (the lifecycle, target
definitions, reasons, the lineage cycle check). A rule only the write itself can check is
reported by `apply` against the row being written.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from commitments import lineage, repository, revisions, targets
from commitments.clock import today
from commitments.lifecycle import check_transition
from commitments.models import Commitment, LineageLink, PolicyArea, Source, Target
from commitments.schemas import CommitmentStatus
from commitments.transfer.format import TARGET_VALUES
from commitments.transfer.parse import Plan
from servicekit.problems import ProblemError

# A commitment row's values that compare as they are with the stored commitment's columns.
_COMPARED = ("title", "text", "kind", "lead_bodies", "made_on", "due_on")


@dataclass
class Stored:
    """What the database already holds for the file's keys."""

    sources: dict[str, Source]
    areas: dict[str, PolicyArea]
    commitments: dict[str, Commitment]
    targets: dict[str, Target]
    links: dict[uuid.UUID, list[LineageLink]]
    target_commitments: dict[uuid.UUID, Commitment]


async def load(session: AsyncSession, plan: Plan) -> Stored:
    """The stored records the file's rows name or refer to, and every lineage link."""
    commitment_rows = plan.commitments.values()
    sources = await repository.by_references(
        session,
        Source,
        Source.reference,
        [*plan.sources, *(x.data.source for x in commitment_rows)],
    )
    areas = await repository.by_references(
        session,
        PolicyArea,
        PolicyArea.slug,
        [*plan.policy_areas, *(x.data.policy_area for x in commitment_rows)],
    )
    wanted = [*plan.commitments, *(x.data.commitment for x in plan.targets.values())]
    wanted += [ref for x in commitment_rows for _, ref in x.links]
    commitments = await repository.by_references(session, Commitment, Commitment.reference, wanted)
    stored_targets = await repository.by_references(
        session, Target, Target.reference, list(plan.targets)
    )
    owners = await repository.by_ids(
        session, Commitment, [t.commitment_id for t in stored_targets.values()]
    )
    links: dict[uuid.UUID, list[LineageLink]] = {}
    for link in await repository.all_links(session):
        links.setdefault(link.predecessor_id, []).append(link)
    return Stored(sources, areas, commitments, stored_targets, links, owners)


async def check(plan: Plan, db: Stored, reason: str | None) -> None:
    """Cross-row rules: references resolve, transitions are allowed, reasons are given."""
    _check_commitments(plan, db, reason)
    await _check_cycles(plan, db)
    _check_targets(plan, db, reason)


def _check_commitments(plan: Plan, db: Stored, reason: str | None) -> None:
    refs = {c.id: ref for ref, c in db.commitments.items()}
    for row in plan.commitments.values():
        d = row.data
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
                today=today(),
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
        if stored is None:
            continue
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
        changed = [f for f in _COMPARED if getattr(stored, f) != getattr(d, f)]
        needs_reason = revisions.commitment_changes_needing_reason(changed)
        if needs_reason and not reason:
            plan.error(
                row.line,
                needs_reason[0],
                f"changes the stored commitment's {', '.join(needs_reason)}; give the import a "
                "reason.",
                "reason_required",
            )


async def _check_cycles(plan: Plan, db: Stored) -> None:
    # The lineage graph by reference: the stored links among the commitments loaded, and the
    # file's links on top.
    refs = {c.id: ref for ref, c in db.commitments.items()}
    graph: dict[str, set[str]] = {}
    for pred_id, links in db.links.items():
        if pred_id in refs:
            graph.setdefault(refs[pred_id], set()).update(
                refs[x.successor_id] for x in links if x.successor_id in refs
            )
    for row in plan.commitments.values():
        graph.setdefault(row.key, set()).update(succ for _, succ in row.links)

    async def successors_of(keys: set[str]) -> set[str]:
        return {succ for key in keys for succ in graph.get(key, ())}

    for row in plan.commitments.values():
        for _, succ in row.links:
            if await lineage.makes_cycle(row.key, succ, successors_of):
                plan.error(
                    row.line, "lineage", f"linking to {succ} makes a cycle.", "lineage_cycle"
                )


def _check_targets(plan: Plan, db: Stored, reason: str | None) -> None:
    for row in plan.targets.values():
        t = row.data
        if not plan.known("commitment", t.commitment, db.commitments):
            plan.error(
                row.line,
                "commitment",
                f"no commitment {t.commitment!r} in the file or stored.",
                "unknown_reference",
            )
        for column, detail, code in targets.check_target(t.model_dump()):
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
        changed = [f for f in TARGET_VALUES if getattr(stored_t, f) != getattr(t, f)]
        needs_reason = revisions.target_changes_needing_reason(changed)
        if needs_reason and not reason:
            plan.error(
                row.line,
                needs_reason[0],
                f"changes the stored target's {', '.join(needs_reason)}; give the import a reason.",
                "reason_required",
            )
        if targets.unit_locked(stored_t, changed):
            plan.error(
                row.line,
                "unit",
                "the target has readings; its unit cannot change.",
                "unit_mismatch",
            )
