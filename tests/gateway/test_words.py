"""The pages' plain English (gateway/pages/words.py): dates, changes, references and rules."""

from __future__ import annotations

from datetime import date, datetime

from gateway.pages.render import fmt
from gateway.pages.words import (
    change_sentence,
    long_date,
    overall_in_words,
    reference_words,
    rule_words,
)

SCALE = [
    {"code": "outstanding", "label": "Outstanding", "score": 4},
    {"code": "good", "label": "Good", "score": 3},
    {"code": "requires_improvement", "label": "Requires improvement", "score": 2},
    {"code": "inadequate", "label": "Inadequate", "score": 1},
]
DIMS = [
    {"code": "commitment_met", "label": "Commitment met"},
    {"code": "impact", "label": "Impact"},
]


def test_dates_are_written_as_gov_uk_writes_them():
    assert long_date(date(2023, 2, 7)) == "7 February 2023"
    assert long_date("2023-12-31") == "31 December 2023"
    assert long_date(datetime(2023, 4, 17, 9, 30)) == "17 April 2023"
    assert long_date("2023-04-17T09:30:00Z") == "17 April 2023"
    assert long_date(None) == ""
    assert long_date("not a date") == "not a date"


def test_changes_read_as_sentences_without_paths_or_ids():
    due = {"path": "/due_on", "before": "2023-03-31", "after": "2023-12-31"}
    assert change_sentence(due, "Re-baselined.", fmt) == (
        "The due date changed from 31 March 2023 to 31 December 2023 — reason: Re-baselined."
    )
    area = {
        "path": "/policy_area_id",
        "before": "01a24190-9a35-7298-9e70-83a46ed07916",
        "after": "01a24190-9a35-7298-9e70-83a46ed07917",
    }
    assert change_sentence(area, None, fmt) == "The policy area changed."
    target = {
        "path": "/targets/01a24190-9a35-7298-9e70-83a46ed07916/target_value",
        "before": 100,
        "after": 60,
    }
    assert change_sentence(target, None, fmt) == "The target's target value changed from 100 to 60."
    added = {
        "path": "/targets/01a24190-9a35-7298-9e70-83a46ed07916",
        "before": None,
        "after": {
            "metric": "Trusts with a record",
            "unit": "percent",
            "target_value": 90,
            "due_on": "2023-12-31",
        },
    }
    assert change_sentence(added, None, fmt) == (
        "A target was added: Trusts with a record: 90% by 31 December 2023."
    )
    # Free text is quoted, so its own full stops do not run into the sentence.
    text = {"path": "/text", "before": "We will.", "after": "We shall."}
    assert change_sentence(text, None, fmt) == "The wording changed from “We will.” to “We shall.”"


def test_references_and_rules_are_explained():
    said = reference_words("PDHSC-1a", {"title": "A plan for digital health and social care"})
    assert "PDHSC stands for “A plan for digital health and social care”" in said
    assert "1(a)" in said
    assert "PAC-2020-1 is Scrutiny's short label" in reference_words("PAC-2020-1", None)
    assert "lowest whole level at or below the average" in rule_words("floor_mean")
    assert "floor" not in rule_words("floor_mean")


def test_an_overall_is_worked_in_words():
    levels = {"commitment_met": "good", "impact": "inadequate"}
    overall = {"level": "requires_improvement", "computed_level": "requires_improvement"}
    said = overall_in_words(levels, overall, SCALE, DIMS, "floor_mean")
    assert said == (
        "The panel rated commitment met good, impact inadequate. The average of the scores is 2, "
        "and the lowest whole level at or below it is requires improvement."
    )
    # Read without its evaluation's scale (a commitment's history), the usual scale stands in.
    assert overall_in_words(levels, overall, [], DIMS, "floor_mean") == said
