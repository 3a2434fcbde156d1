"""Open data: the rows of the bulk downloads, from public reads only (their shape and the Data
Package: `gateway.compose.datapackage`).

Every table is built from what an anonymous caller of the public API may read (published
evaluations and their ratings, commitments with their targets and readings, published
evidence with the service's redactions and anonymity applied), through the backend clients,
so a download can never show more than the API would. Tables are tidy: one row per thing
observed, one column per variable, references by id (foreign keys in the package).

Bounded, not streamed: each list is followed to its end up to `LIMIT` items (the benchmark's
scale is 10,000 commitments and 200,000 submissions), and the per-item reads (targets,
readings, ratings) run at most `FAN_OUT` at a time so one download cannot crowd a service.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Awaitable, Callable, Iterable
from datetime import date, datetime
from typing import Any, TypeVar

from gateway.backends import Backends
from gateway.backends.models import Commitment, Evaluation, Target
from gateway.compose.datapackage import Table
from servicekit import csvsafe

LIMIT = 250_000
FAN_OUT = 8
T = TypeVar("T")
R = TypeVar("R")
Row = dict[str, Any]


async def _each(items: Iterable[T], work: Callable[[T], Awaitable[R]]) -> list[R]:
    """`work` on every item, at most `FAN_OUT` at once, results in the items' order."""
    gate = asyncio.Semaphore(FAN_OUT)

    async def one(item: T) -> R:
        async with gate:
            return await work(item)

    return list(await asyncio.gather(*(one(i) for i in items)))


def _score(evaluation: Evaluation, level: str | None) -> int | None:
    return next((s.score for s in evaluation.scale if s.code == level), None)


def _label(evaluation: Evaluation, level: str | None) -> str | None:
    return next((s.label for s in evaluation.scale if s.code == level), None)


async def _evaluations(backends: Backends) -> list[Row]:
    found = await backends.ratings.published_evaluations(limit=LIMIT)
    summaries = await _each(found, lambda e: backends.ratings.summary(str(e.id)))
    rows = []
    for e, s in zip(found, summaries, strict=True):
        level = s.overall.level if s.overall else None
        rows.append(
            {
                "id": str(e.id),
                "title": e.title,
                "body": e.body,
                "chair": e.chair,
                "aggregation_rule": e.aggregation_rule,
                "published_on": e.published_on,
                "version": e.version,
                "overall_level": level,
                "overall_score": _score(e, level),
            }
        )
    return rows


async def _rated(backends: Backends) -> list[tuple[Evaluation, list[Any]]]:
    found = await backends.ratings.published_evaluations(limit=LIMIT)
    ratings = await _each(found, lambda e: backends.ratings.ratings_of(str(e.id), limit=LIMIT))
    return [
        (e, [r for r in rs if r.status == "published"])
        for e, rs in zip(found, ratings, strict=True)
    ]


async def _ratings(backends: Backends) -> list[Row]:
    rated = await _rated(backends)
    ids = list({str(r.commitment_id) for _, rs in rated for r in rs})
    refs = await backends.commitments.commitments_by_id(ids)
    rows = []
    for e, rs in rated:
        labels = {d.code: d.label for d in e.dimensions}
        for r in rs:
            known = refs.get(str(r.commitment_id))
            for dim in [d.code for d in e.dimensions if d.code in r.levels]:
                level = r.levels[dim]
                rows.append(
                    {
                        "evaluation_id": str(e.id),
                        "commitment_id": str(r.commitment_id),
                        "commitment_reference": known.reference if known else None,
                        "dimension": dim,
                        "dimension_label": labels.get(dim),
                        "level": level,
                        "level_label": _label(e, level),
                        "score": _score(e, level),
                        "rationale": r.rationales.get(dim),
                    }
                )
    return rows


async def _overall_ratings(backends: Backends) -> list[Row]:
    return [
        {
            "evaluation_id": str(e.id),
            "commitment_id": str(r.commitment_id),
            "level": r.overall.level,
            "level_label": _label(e, r.overall.level),
            "score": r.overall.score,
            "rule": r.overall.rule,
            "explanation": r.overall.explanation,
            "overridden": r.overall.overridden,
            "override_reason": r.overall.override_reason,
        }
        for e, rs in await _rated(backends)
        for r in rs
        if r.overall is not None
    ]


async def _commitments(backends: Backends) -> list[Row]:
    found, areas = await asyncio.gather(
        backends.commitments.all_commitments(limit=LIMIT),
        backends.commitments.all_policy_areas(limit=LIMIT),
    )
    names = {str(a.id): a.name for a in areas}
    return [
        {
            "id": str(c.id),
            "reference": c.reference,
            "title": c.title,
            "text": c.text,
            "kind": (c.model_extra or {}).get("kind"),
            "status": c.status,
            "overdue": c.overdue,
            "policy_area_id": str(c.policy_area_id),
            "policy_area": names.get(str(c.policy_area_id)),
            "source_id": (c.model_extra or {}).get("source_id"),
            "lead_bodies": "; ".join(c.lead_bodies),
            "made_on": c.made_on,
            "due_on": c.due_on,
        }
        for c in found
    ]


async def _targets_of_all(backends: Backends) -> list[tuple[Commitment, list[Target]]]:
    found = await backends.commitments.all_commitments(limit=LIMIT)
    targets = await _each(found, lambda c: backends.commitments.targets(str(c.id)))
    return list(zip(found, targets, strict=True))


async def _targets(backends: Backends) -> list[Row]:
    rows = []
    for c, ts in await _targets_of_all(backends):
        for t in ts:
            extra, progress = t.model_extra or {}, t.progress.model_extra or {}
            rows.append(
                {
                    "id": str(t.id),
                    "commitment_id": str(c.id),
                    "reference": extra.get("reference"),
                    "metric": t.metric,
                    "unit": t.unit,
                    "direction": extra.get("direction"),
                    "baseline_value": t.baseline_value,
                    "baseline_on": t.baseline_on,
                    "target_value": t.target_value,
                    "due_on": t.due_on,
                    "data_source": t.data_source,
                    "progress_status": t.progress.status,
                    "latest_value": progress.get("latest_value"),
                    "expected_value": progress.get("expected_value"),
                }
            )
    return rows


async def _readings(backends: Backends) -> list[Row]:
    targets = [t for _, ts in await _targets_of_all(backends) for t in ts]
    readings = await _each(targets, lambda t: backends.commitments.readings(str(t.id), limit=LIMIT))
    return [
        {
            "id": str(r.id),
            "target_id": str(t.id),
            "value": r.value,
            "as_of": r.as_of,
            "source": r.source,
        }
        for t, rs in zip(targets, readings, strict=True)
        for r in rs
    ]


async def _evidence(backends: Backends) -> list[Row]:
    return [
        {
            "id": str(s.id),
            "publication_reference": s.publication_reference,
            "title": s.title,
            "summary": s.summary,
            "kind": s.kind,
            "stance": s.stance,
            # The service leaves the submitter out of anonymous evidence; never look elsewhere.
            "organisation": s.submitter.organisation if s.submitter else None,
            "anonymous": s.submitter is None,
            "published_at": s.published_at,
        }
        for s in await backends.evidence.all_published(limit=LIMIT)
    ]


async def _evidence_commitments(backends: Backends) -> list[Row]:
    return [
        {"submission_id": str(s.id), "commitment_id": str(c)}
        for s in await backends.evidence.all_published(limit=LIMIT)
        for c in dict.fromkeys(s.commitment_ids)
    ]


BUILDERS: dict[str, Callable[[Backends], Awaitable[list[Row]]]] = {
    "evaluations": _evaluations,
    "ratings": _ratings,
    "overall-ratings": _overall_ratings,
    "commitments": _commitments,
    "targets": _targets,
    "readings": _readings,
    "evidence": _evidence,
    "evidence-commitments": _evidence_commitments,
}


async def rows(backends: Backends, name: str) -> list[Row]:
    """The rows of one table, from the public reads (`ServiceError` / `ServiceUnavailableError`
    as the backends raise them: a table is whole or not served)."""
    return await BUILDERS[name](backends)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _csv_value(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return _json_value(value)
    # Text through the one neutraliser; numbers stay numbers (a negative reading is -3.5).
    return csvsafe.value(value)


def to_csv(table: Table, items: list[Row]) -> str:
    """The table as CSV: a header of column names, then one line per row, formulas neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    names = [c.name for c in table.columns]
    writer.writerow(names)
    for item in items:
        writer.writerow([_csv_value(item.get(n)) for n in names])
    return out.getvalue()


def to_json(table: Table, items: list[Row]) -> list[Row]:
    """The table as a JSON array of objects keyed by column name (values typed, not neutralised:
    JSON is never read as a formula)."""
    names = [c.name for c in table.columns]
    return [{n: _json_value(item.get(n)) for n in names} for item in items]
