"""Plain English for the pages: dates as GOV.UK writes them, the rating scale, dimensions and
aggregation rules in words, references explained, and a commitment's changes as sentences.

Registered as Jinja filters and globals in `render.py`; every page says these things through
here, so a rule's wording is written once.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from fractions import Fraction
from typing import Any

# Spelt out, not `calendar.month_name`, which follows the process's locale.
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def long_date(value: date | datetime | str | None) -> str:
    """A date as GOV.UK writes it: "17 February 2023" (no leading zero, month in full)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            day = date.fromisoformat(value[:10])
        except ValueError:
            return value
    else:
        day = value
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def figure(value: float | None, unit: str) -> str:
    """A figure in its unit, the way people write it: 68%, £200,000,000, 10,500, yes."""
    if value is None:
        return ""
    if unit == "percent":
        return f"{value:g}%"
    if unit == "gbp":
        return f"£{value:,.0f}"
    if unit == "boolean":
        return "yes" if value else "no"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


# What each level of the default CQC-style scale means, in the panel's terms.
LEVEL_MEANINGS = {
    "outstanding": "the commitment has been delivered, or is being delivered, to a high standard",
    "good": "the commitment is largely being delivered as promised",
    "requires_improvement": "progress falls short of what was promised and needs to improve",
    "inadequate": "little or no progress has been made, or the approach is not working",
}

# What the panel asks under each of the default dimensions.
DIMENSION_MEANINGS = {
    "commitment_met": "whether the promise has been kept, or is on course to be kept",
    "funding_and_resource": "whether the money, staff and other resources needed are in place",
    "impact": "whether the commitment is making a difference to patients, people and services",
    "appropriateness": "whether the commitment was the right thing to promise for the problem",
}

RULE_WORDS = {
    "floor_mean": (
        "Each level has a score (for the usual scale: outstanding 4, good 3, requires "
        "improvement 2, inadequate 1). The overall is the lowest whole level at or below the "
        "average of the scores combined, so it never rounds up."
    ),
    "lowest": "The overall is the lowest of the levels combined: one weak level sets it.",
    "cqc_principles": (
        "The overall follows the Care Quality Commission's rating principles: two or more "
        "inadequate make it inadequate; one inadequate, or two or more requires improvement, "
        "make it requires improvement; two or more outstanding with the rest good make it "
        "outstanding; otherwise it is good."
    ),
}


def level_meaning(code: str) -> str:
    """What a level means, or an empty string for a level of a custom scale."""
    return LEVEL_MEANINGS.get(code, "")


def dimension_meaning(code: str) -> str:
    """What the panel asks under a dimension, or an empty string for a custom dimension."""
    return DIMENSION_MEANINGS.get(code, "")


def rule_words(rule: str | None) -> str:
    """An aggregation rule in words (never its code)."""
    return RULE_WORDS.get(rule or "", "The overall combines the levels by the evaluation's rule.")


# The CQC-style scale, for a rating read without its evaluation's scale (a commitment's history).
DEFAULT_SCALE = [
    {"code": "outstanding", "label": "Outstanding", "score": 4},
    {"code": "good", "label": "Good", "score": 3},
    {"code": "requires_improvement", "label": "Requires improvement", "score": 2},
    {"code": "inadequate", "label": "Inadequate", "score": 1},
]


def _score(code: str, scale: list[dict[str, Any]]) -> int | None:
    for s in scale:
        if s.get("code") == code:
            return int(s["score"])
    return None


def _label(code: str, scale: list[dict[str, Any]]) -> str:
    for s in scale:
        if s.get("code") == code:
            return str(s.get("label") or code).lower()
    return code.replace("_", " ")


def _number(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    return f"{float(value):.2f}".rstrip("0")


def overall_in_words(
    levels: dict[str, str],
    overall: dict[str, Any] | None,
    scale: list[dict[str, Any]],
    dimensions: list[dict[str, Any]],
    rule: str | None,
) -> str:
    """How a commitment's overall came from its dimensions, as a sentence a reader can check."""
    if not overall:
        return ""
    scale = scale or DEFAULT_SCALE
    named = [
        f"{d['label'].lower()} {_label(levels[d['code']], scale)}"
        for d in dimensions
        if d.get("code") in levels
    ]
    scores = [_score(levels[d["code"]], scale) for d in dimensions if d.get("code") in levels]
    said = f"The panel rated {', '.join(named)}." if named else ""
    computed = _label(str(overall.get("computed_level") or overall.get("level")), scale)
    if rule == "floor_mean" and scores and None not in scores:
        mean = Fraction(sum(s for s in scores if s is not None), len(scores))
        said += (
            f" The average of the scores is {_number(mean)}, and the lowest whole level at or "
            f"below it is {computed}."
        )
    else:
        said += f" By the evaluation's rule that makes {computed}."
    if overall.get("overridden"):
        said += (
            f" The panel then set the overall to {_label(str(overall.get('level')), scale)}: "
            f"{overall.get('override_reason') or 'no reason recorded'}."
        )
    return said.strip()


def rollup_in_words(
    levels: list[str], overall: dict[str, Any] | None, scale: list[dict[str, Any]], rule: str | None
) -> str:
    """How a roll-up (a policy area's, or the evaluation's) came from its commitments' overall
    ratings, as a sentence a reader can check."""
    if not overall:
        return ""
    scale = scale or DEFAULT_SCALE
    counts = [(code, levels.count(code)) for code in [str(s["code"]) for s in scale]]
    named = ", ".join(f"{n} {_label(code, scale)}" for code, n in counts if n)
    said = (
        f"Worked out from the overall ratings of the {len(levels)} commitments it covers ({named})."
    )
    scores = [_score(code, scale) for code in levels]
    level = _label(str(overall.get("computed_level") or overall.get("level")), scale)
    if rule == "floor_mean" and scores and None not in scores:
        mean = Fraction(sum(s for s in scores if s is not None), len(scores))
        said += (
            f" Their scores average {_number(mean)}, and the lowest whole level at or below it "
            f"is {level}."
        )
    else:
        said += f" {rule_words(rule)}"
    return said


REFERENCE = re.compile(r"^(?P<source>[A-Z]+)-(?P<number>\d+)(?P<letter>[a-z])?$")


def reference_words(reference: str, source: dict[str, Any] | None = None) -> str:
    """What a commitment's reference (like PDHSC-1a) stands for."""
    where = f"“{source['title']}”" if source and source.get("title") else "its source document"
    m = REFERENCE.match(reference)
    if not m:
        return f"{reference} is Scrutiny's short label for this commitment from {where}."
    number = m["number"] + (f"({m['letter']})" if m["letter"] else "")
    return (
        f"{reference} is Scrutiny's short label for this commitment: {m['source']} stands for "
        f"{where}, and {number} is the commitment's number in the panel's evaluation of it."
    )


FIELD_NAMES = {
    "title": "title",
    "text": "wording",
    "due_on": "due date",
    "made_on": "date it was made",
    "status": "status",
    "lead_bodies": "lead bodies",
    "policy_area_id": "policy area",
    "source_id": "source",
    "kind": "kind",
    "reference": "reference",
    "metric": "measure",
    "target_value": "target value",
    "baseline_value": "baseline value",
    "baseline_on": "baseline date",
    "unit": "unit",
    "direction": "direction",
    "data_source": "data source",
}

# Free text, quoted when it changes so its own punctuation does not run into the sentence's.
QUOTED = {"title", "wording", "measure", "data source"}

UUID_LIKE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _field(path: str) -> tuple[str, bool]:
    """The field a JSON path names, in words, and whether it is inside a target."""
    parts = [p for p in path.strip("/").split("/") if p]
    in_target = bool(parts) and parts[0] == "targets"
    last = parts[-1] if parts else ""
    if in_target and (len(parts) <= 2 or last.isdigit()):
        return "target", True
    return FIELD_NAMES.get(last, last.replace("_", " ")), in_target


def value_words(value: Any, fmt: Any) -> str:
    """A changed value as people read it: dates in words, a target as its promise, no ids."""
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        if "metric" in value:
            unit = str(value.get("unit", ""))
            return (
                f"{value['metric']}: {fmt(value.get('target_value'), unit)} "
                f"by {long_date(value.get('due_on'))}"
            )
        return "; ".join(f"{k.replace('_', ' ')} {value_words(v, fmt)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(value_words(v, fmt) for v in value)
    text = str(value)
    if UUID_LIKE.match(text):
        return "another record"
    if re.match(r"^\d{4}-\d{2}-\d{2}", text):
        return long_date(text)
    return text.replace("_", " ") if text.islower() and "_" in text else text


def _is_id(value: Any) -> bool:
    return isinstance(value, str) and bool(UUID_LIKE.match(value))


def change_sentence(change: dict[str, Any], reason: str | None, fmt: Any) -> str:
    """One change of a revision as a sentence, e.g. "The due date changed from 31 March 2023 to
    31 December 2023 — reason: …"."""
    field, in_target = _field(str(change.get("path", "")))
    before, after = change.get("before"), change.get("after")
    owner = "The target's " if in_target and field != "target" else "The "
    if _is_id(before) or _is_id(after):
        # A link to another record (policy area, source): its id means nothing to a reader.
        said = f"{owner}{field} changed"
    elif field == "target" and before is None:
        said = f"A target was added: {value_words(after, fmt)}"
    elif field == "target" and after is None:
        said = f"A target was removed: {value_words(before, fmt)}"
    elif before is None:
        said = f"{owner}{field} was set to {value_words(after, fmt)}"
    elif after is None:
        said = f"{owner}{field} was removed (it was {value_words(before, fmt)})"
    else:
        was, now = value_words(before, fmt), value_words(after, fmt)
        if field in QUOTED:
            was, now = f"“{was}”", f"“{now}”"
        said = f"{owner}{field} changed from {was} to {now}"
    said = said.rstrip(".")
    if reason:
        return f"{said} — reason: {reason}"
    return said if said.endswith(".”") else f"{said}."


# What a reader loses when a part of a page cannot be read (for the "unavailable" banner).
MISSING_PARTS = {
    "commitments": "the commitments' titles, policy areas and the government's positions",
    "commitment": "the commitment's wording",
    "targets": "its targets",
    "readings": "the readings of its targets",
    "ratings": "its ratings",
    "evidence": "the published evidence about it",
    "self_assessments": "the responsible body's own assessments",
    "responses": "the government's positions",
}


def missing_words(parts: list[str]) -> list[str]:
    """Parts of a composed read that could not be fetched, as what the reader is missing."""
    return [MISSING_PARTS.get(p, p.replace("_", " ")) for p in parts]


ACTIONS = {
    "created": "Recorded",
    "updated": "Changed",
    "target_added": "Target added",
    "target_updated": "Target changed",
    "target_removed": "Target removed",
    "superseded": "Replaced by another commitment",
    "withdrawn": "Withdrawn",
}


def action_words(action: str) -> str:
    """What a revision did, in words."""
    return ACTIONS.get(action, action.replace("_", " ").capitalize())


def dims_of(levels: dict[str, str]) -> list[dict[str, str]]:
    """Dimensions named only by their codes (a rating outside its evaluation), with labels."""
    return [{"code": k, "label": k.replace("_", " ").capitalize()} for k in levels]
