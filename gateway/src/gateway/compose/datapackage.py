"""The open data's shape: every table's columns, keys and Table Schema, and the Frictionless
Data Package that describes the downloads (`gateway.compose.opendata` fills the tables).

Columns say what a reuser needs to join and check the files: types, required and unique values,
the enums the services enforce, primary keys, and foreign keys between the tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

LICENCE = {
    "name": "OGL-UK-3.0",
    "path": "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/",
    "title": "Open Government Licence v3.0",
}


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
