"""Open data: the bulk downloads and their Frictionless Data Package, from public reads only.

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
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

from gateway.backends import Backends
from gateway.backends.models import Commitment, Evaluation, Target
from servicekit import csvsafe

LIMIT = 250_000
FAN_OUT = 8
LICENCE = {
    "name": "OGL-UK-3.0",
    "path": "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/",
    "title": "Open Government Licence v3.0",
}

T = TypeVar("T")
R = TypeVar("R")
Row = dict[str, Any]


@dataclass(frozen=True)
class Column:
    """A column of a table and its Table Schema field."""

    name: str
    type: str
    description: str
    required: bool = False
    unique: bool = False
    enum: tuple[str, ...] = ()
    minimum: float | None = None

    def schema(self) -> dict[str, Any]:
        """The column as a Table Schema field descriptor."""
        out: dict[str, Any] = {"name": self.name, "type": self.type}
        if self.type == "date":
            out["format"] = "%Y-%m-%d"
        out["description"] = self.description
        constraints: dict[str, Any] = {}
        if self.required:
            constraints["required"] = True
        if self.unique:
            constraints["unique"] = True
        if self.enum:
            constraints["enum"] = list(self.enum)
        if self.minimum is not None:
            constraints["minimum"] = self.minimum
        if constraints:
            out["constraints"] = constraints
        return out


@dataclass(frozen=True)
class Table:
    """One downloadable table: what it holds, its columns, its keys."""

    name: str
    title: str
    description: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    # (columns here, table, columns there)
    foreign_keys: tuple[tuple[tuple[str, ...], str, tuple[str, ...]], ...] = field(default=())

    def schema(self, suffix: str = "") -> dict[str, Any]:
        """The Table Schema; foreign keys point at the tables of the same format (`suffix`)."""
        out: dict[str, Any] = {
            "fields": [c.schema() for c in self.columns],
            "missingValues": [""],
            "primaryKey": list(self.primary_key),
        }
        if self.foreign_keys:
            out["foreignKeys"] = [
                {
                    "fields": list(here),
                    "reference": {"resource": table + suffix, "fields": list(there)},
                }
                for here, table, there in self.foreign_keys
            ]
        return out


def _id(name: str, what: str, **kw: Any) -> Column:
    return Column(name, "string", what, required=True, **kw)


STANCES = ("supports", "challenges", "mixed", "neutral")
EVIDENCE_KINDS = (
    "written",
    "oral_transcript",
    "roundtable_note",
    "data_return",
    "government_memorandum",
    "independent_evaluation",
)
COMMITMENT_STATUSES = (
    "not_started",
    "in_progress",
    "met",
    "partially_met",
    "missed",
    "superseded",
    "withdrawn",
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "evaluations",
            "Published evaluations",
            "One row per published evaluation, with its overall rating.",
            (
                _id("id", "The evaluation's id.", unique=True),
                Column("title", "string", "Its title.", required=True),
                Column("body", "string", "Who evaluated (for example the Expert Panel)."),
                Column("chair", "string", "The panel's chair."),
                Column("aggregation_rule", "string", "How dimension levels make the overall."),
                Column("published_on", "date", "When it was published."),
                Column(
                    "version",
                    "integer",
                    "Published version (1, then one per correction).",
                    minimum=1,
                ),
                Column("overall_level", "string", "The evaluation's overall level (code)."),
                Column(
                    "overall_score", "integer", "That level's score (4 best, 1 worst).", minimum=1
                ),
            ),
            ("id",),
        ),
        Table(
            "ratings",
            "Ratings by dimension",
            "One row per published evaluation, commitment and dimension: the level the panel "
            "gave and its rationale.",
            (
                _id("evaluation_id", "The evaluation."),
                _id("commitment_id", "The commitment rated."),
                Column("commitment_reference", "string", "The commitment's reference."),
                _id("dimension", "The dimension's code."),
                Column("dimension_label", "string", "The dimension in words."),
                Column("level", "string", "The level's code.", required=True),
                Column("level_label", "string", "The level in words."),
                Column("score", "integer", "The level's score (4 best, 1 worst).", minimum=1),
                Column("rationale", "string", "The panel's reasoning for this level."),
            ),
            ("evaluation_id", "commitment_id", "dimension"),
            (
                (("evaluation_id",), "evaluations", ("id",)),
                (("commitment_id",), "commitments", ("id",)),
            ),
        ),
        Table(
            "overall-ratings",
            "Overall ratings",
            "One row per published evaluation and commitment: the overall level, the rule that "
            "produced it and why.",
            (
                _id("evaluation_id", "The evaluation."),
                _id("commitment_id", "The commitment rated."),
                Column("level", "string", "The effective overall level's code.", required=True),
                Column("level_label", "string", "That level in words."),
                Column("score", "integer", "The level's score (4 best, 1 worst).", minimum=1),
                Column("rule", "string", "The aggregation rule."),
                Column("explanation", "string", "How the rule reached the level."),
                Column("overridden", "boolean", "Whether the panel overrode the computed level."),
                Column("override_reason", "string", "The panel's reason for an override."),
            ),
            ("evaluation_id", "commitment_id"),
            (
                (("evaluation_id",), "evaluations", ("id",)),
                (("commitment_id",), "commitments", ("id",)),
            ),
        ),
        Table(
            "commitments",
            "Commitments",
            "One row per commitment, with its wording as it stands.",
            (
                _id("id", "The commitment's id.", unique=True),
                Column("reference", "string", "Its reference.", required=True, unique=True),
                Column("title", "string", "Its title.", required=True),
                Column("text", "string", "The wording as published."),
                Column("kind", "string", "pledge, target or recommendation."),
                Column("status", "string", "Delivery status.", enum=COMMITMENT_STATUSES),
                Column("overdue", "boolean", "Past its due date and not met."),
                Column("policy_area_id", "string", "Its policy area's id."),
                Column("policy_area", "string", "Its policy area's name."),
                Column("source_id", "string", "The document it comes from (id)."),
                Column("lead_bodies", "string", "Who leads delivery, separated by '; '."),
                Column("made_on", "date", "When it was made."),
                Column("due_on", "date", "When it falls due."),
            ),
            ("id",),
        ),
        Table(
            "targets",
            "Targets",
            "One row per measurable target of a commitment, with how it is going.",
            (
                _id("id", "The target's id.", unique=True),
                _id("commitment_id", "Its commitment."),
                Column("reference", "string", "Its reference."),
                Column("metric", "string", "What is measured.", required=True),
                Column(
                    "unit",
                    "string",
                    "Unit of the values.",
                    enum=("percent", "count", "gbp", "fte", "boolean"),
                ),
                Column("direction", "string", "Whether the value should rise or fall."),
                Column("baseline_value", "number", "Value at the baseline."),
                Column("baseline_on", "date", "Date of the baseline."),
                Column("target_value", "number", "The value promised.", required=True),
                Column("due_on", "date", "When it is promised by.", required=True),
                Column("data_source", "string", "Where the figures come from."),
                Column("progress_status", "string", "met, missed, on_track or off_track."),
                Column("latest_value", "number", "The latest reading."),
                Column("expected_value", "number", "Where the trajectory says it should be now."),
            ),
            ("id",),
            ((("commitment_id",), "commitments", ("id",)),),
        ),
        Table(
            "readings",
            "Progress readings",
            "One row per progress reading of a target.",
            (
                _id("id", "The reading's id.", unique=True),
                _id("target_id", "Its target."),
                Column("value", "number", "The value read (a number, never text).", required=True),
                Column("as_of", "date", "The date it describes.", required=True),
                Column("source", "string", "Where it comes from."),
            ),
            ("id",),
            ((("target_id",), "targets", ("id",)),),
        ),
        Table(
            "evidence",
            "Published evidence",
            "One row per published submission: its metadata as the public API shows it "
            "(redactions applied; no submitter for evidence published anonymously).",
            (
                _id("id", "The submission's id.", unique=True),
                Column("publication_reference", "string", "Its public reference (e.g. DIG0001)."),
                Column("title", "string", "Its title.", required=True),
                Column("summary", "string", "Its summary."),
                Column("kind", "string", "What kind of evidence.", enum=EVIDENCE_KINDS),
                Column("stance", "string", "Its stance on progress.", enum=STANCES),
                Column("organisation", "string", "Who sent it; empty when published anonymously."),
                Column("anonymous", "boolean", "Whether it was published anonymously."),
                Column("published_at", "datetime", "When it was published (UTC)."),
            ),
            ("id",),
        ),
        Table(
            "evidence-commitments",
            "Evidence by commitment",
            "One row per published submission and commitment it is about.",
            (_id("submission_id", "The submission."), _id("commitment_id", "The commitment.")),
            ("submission_id", "commitment_id"),
            (
                (("submission_id",), "evidence", ("id",)),
                (("commitment_id",), "commitments", ("id",)),
            ),
        ),
    )
}


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


def datapackage(base_url: str) -> dict[str, Any]:
    """The Frictionless Data Package describing every table, in CSV and in JSON."""
    resources: list[dict[str, Any]] = []
    for fmt, media, suffix in (("csv", "text/csv", ""), ("json", "application/json", "-json")):
        for t in TABLES.values():
            resource: dict[str, Any] = {
                "profile": "tabular-data-resource",
                "name": t.name + suffix,
                "path": f"{t.name}.{fmt}",
                "title": t.title + (" (JSON)" if suffix else ""),
                "description": t.description,
                "format": fmt,
                "mediatype": media,
                "encoding": "utf-8",
                "schema": t.schema(suffix),
            }
            if fmt == "csv":
                resource["dialect"] = {"delimiter": ",", "header": True, "doubleQuote": True}
            resources.append(resource)
    return {
        "profile": "tabular-data-package",
        "name": "scrutiny-open-data",
        "title": "Scrutiny open data: commitments, evidence and ratings",
        "description": (
            "Government commitments with their targets and progress readings, the evidence "
            "published about them, and every published evaluation's ratings, as the public "
            "API serves them. CSV text cells that would begin with =, +, -, @, a tab or a "
            "carriage return carry a leading apostrophe so that spreadsheets do not run them; "
            "number columns are plain numbers. The JSON files hold the same rows unaltered."
        ),
        "homepage": f"{base_url}/data",
        "licenses": [LICENCE],
        "sources": [
            {"title": "Scrutiny public API", "path": f"{base_url}/docs"},
            {
                "title": "The demo data: the Health and Social Care Committee Expert Panel's "
                "evaluation of Government commitments made on the digitisation of the NHS "
                "(2023) and the Government response to it (April 2023)",
            },
        ],
        "resources": resources,
    }
