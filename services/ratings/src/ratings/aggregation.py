"""Aggregation rules: how several levels (dimensions, or commitment overalls) become one.

Pure functions, no I/O. Every rule takes the levels to combine (as codes of the evaluation's own
scale) and the scale, and returns an `Outcome(score, level, explanation)` whose explanation is a
sentence a reader of the published evaluation can check by hand. The same rule is used at every
step: dimensions → a commitment's overall, commitment overalls (the override where the panel gave
one) → a policy area's overall, and commitment overalls → the evaluation's overall.
A commitment's overall is computed in `ratings.py` (`write_rating`), the roll-ups in `summary.py`.

A scale is ordered best first and its integer scores strictly decrease down the list (the default
is the CQC-style `outstanding` 4, `good` 3, `requires_improvement` 2, `inadequate` 1).

`floor_mean` (the default)
    The floor of the arithmetic mean of the scores, computed exactly (fractions, no float error).
    On a scale whose scores have gaps, the result is the highest level whose score is at or below
    that floor, so the rule never rounds up. It reproduces every overall of the Health and Social
    Care Committee Expert Panel's 2023 table (e.g. good, RI, RI, RI = 3, 2, 2, 2 → 2.25 → 2,
    requires improvement) and the evaluation's "inadequate" from the nine commitment overalls
    (2, 2, 1, 2, 1, 2, 2, 1, 1 → 14/9 ≈ 1.56 → 1).

`lowest`
    The lowest score given: one weak dimension sets the overall.

`cqc_principles`
    The CQC's rating principles (written for five key questions) adapted to any number of inputs.
    It needs a scale of exactly four levels, read by position, not by code: best = "outstanding",
    second = "good", third = "requires improvement", last = "inadequate". With O, G, R, I the
    counts of inputs at each level, the first rule that applies wins:

    0. a single input: its level stands (there is nothing to combine);
    1. I ≥ 2 → inadequate;
    2. I = 1 → requires improvement (whatever the others are, even all outstanding);
    3. R ≥ 2 → requires improvement;
    4. R = 0 and O ≥ 2 (so every other input is good) → outstanding;
    5. otherwise → good.

    The four statements of the issue are rules 1, 3, 4 and 5. What the CQC text leaves open, and
    how it resolves here:

    - *Overlaps are settled by order, worst first*: two inadequate and two requires improvement
      → inadequate (rule 1 before 3); two outstanding and two requires improvement → requires
      improvement (3 before 4).
    - *Exactly one inadequate* (the CQC says "may" limit the overall) → requires improvement,
      never better: one failing dimension must show, but it alone is not "inadequate overall".
    - *One outstanding and the rest good* → good (outstanding needs at least two).
    - *Outstanding with exactly one requires improvement* (e.g. O, O, O, R) → good: outstanding
      needs the rest good, and one requires improvement is still "at most one" (rule 5).
    - *Two inputs* (the rule is written for more): O, O → outstanding; O, G → good; O, R and
      G, R → good; R, R → requires improvement; any pair with one I → requires improvement;
      I, I → inadequate. The rules apply unchanged; only their thresholds are fixed counts.
    - *All good* → good.

    Every multiset of four default levels (35 of them) is pinned in the tests.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from typing import NamedTuple


class AggregationRule(StrEnum):
    """The rules an evaluation may choose."""

    floor_mean = "floor_mean"
    cqc_principles = "cqc_principles"
    lowest = "lowest"


class Outcome(NamedTuple):
    """What a rule produced: the score, the level's code, and why."""

    score: int
    level: str
    explanation: str


@dataclass(frozen=True)
class Level:
    """One step of a scale."""

    code: str
    label: str
    score: int


@dataclass(frozen=True)
class Scale:
    """An ordered rating scale, best first, with strictly decreasing scores."""

    levels: tuple[Level, ...]

    def __post_init__(self) -> None:
        if len(self.levels) < 2:
            raise ValueError("a scale needs at least two levels")
        codes = [lv.code for lv in self.levels]
        if len(set(codes)) != len(codes):
            raise ValueError("level codes must be unique")
        scores = [lv.score for lv in self.levels]
        if any(a <= b for a, b in itertools.pairwise(scores)):
            raise ValueError("scores must strictly decrease from the best level to the worst")

    @classmethod
    def of(cls, levels: Iterable[Mapping[str, object] | Level]) -> Scale:
        """A scale from `{code, label, score}` mappings (as stored) or `Level`s."""
        return cls(
            tuple(
                lv
                if isinstance(lv, Level)
                else Level(str(lv["code"]), str(lv["label"]), int(lv["score"]))  # type: ignore[call-overload]
                for lv in levels
            )
        )

    @property
    def codes(self) -> tuple[str, ...]:
        """Level codes, best first."""
        return tuple(lv.code for lv in self.levels)

    def level(self, code: str) -> Level:
        """The level with this code; KeyError if the scale has none."""
        for lv in self.levels:
            if lv.code == code:
                return lv
        raise KeyError(code)

    def score(self, code: str) -> int:
        """The score of a level code."""
        return self.level(code).score

    def at_or_below(self, score: int) -> Level:
        """The highest level whose score is at or below `score` (the worst level if none)."""
        for lv in self.levels:
            if lv.score <= score:
                return lv
        return self.levels[-1]


DEFAULT_SCALE = Scale(
    (
        Level("outstanding", "Outstanding", 4),
        Level("good", "Good", 3),
        Level("requires_improvement", "Requires improvement", 2),
        Level("inadequate", "Inadequate", 1),
    )
)

DEFAULT_DIMENSIONS: tuple[tuple[str, str], ...] = (
    ("commitment_met", "Commitment met"),
    ("funding_and_resource", "Funding and resource"),
    ("impact", "Impact"),
    ("appropriateness", "Appropriateness"),
)


def _scores(levels: Sequence[str], scale: Scale) -> list[int]:
    if not levels:
        raise ValueError("nothing to aggregate")
    return [scale.score(code) for code in levels]


def _number(value: Fraction) -> str:
    """A mean as people write it: `2.25`, `2`, or `≈ 1.56` when it does not terminate early."""
    text = f"{float(value):.2f}".rstrip("0").rstrip(".")
    return f"= {text}" if Fraction(text) == value else f"≈ {text}"


def floor_mean(levels: Sequence[str], scale: Scale) -> Outcome:
    """The floor of the mean of the scores, rounded down onto the scale."""
    scores = _scores(levels, scale)
    mean = Fraction(sum(scores), len(scores))
    floor = math.floor(mean)
    level = scale.at_or_below(floor)
    listed = ", ".join(str(s) for s in scores)
    if level.score == floor:
        result = f"{floor} ({level.code})"
    else:
        result = f"{floor}, not on the scale; the next level down is {level.score} ({level.code})"
    return Outcome(
        level.score, level.code, f"floor of the mean of {listed} {_number(mean)} → {result}"
    )


def lowest(levels: Sequence[str], scale: Scale) -> Outcome:
    """The lowest score given."""
    scores = _scores(levels, scale)
    level = scale.at_or_below(min(scores))
    listed = ", ".join(str(s) for s in scores)
    return Outcome(level.score, level.code, f"lowest of {listed} = {level.score} ({level.code})")


def cqc_principles(levels: Sequence[str], scale: Scale) -> Outcome:
    """CQC rating principles adapted to n inputs (see the module docstring for every case)."""
    if len(scale.levels) != 4:
        raise ValueError("cqc_principles needs a scale of exactly four levels")
    _scores(levels, scale)  # rejects empty input and unknown codes
    top, good, ri, bad = scale.codes
    count = {code: sum(1 for c in levels if c == code) for code in scale.codes}
    if len(levels) == 1:
        result, why = levels[0], "a single rating stands as it is"
    elif count[bad] >= 2:
        result, why = bad, f"two or more {bad}"
    elif count[bad] == 1:
        result, why = ri, f"exactly one {bad}"
    elif count[ri] >= 2:
        result, why = ri, f"two or more {ri}"
    elif count[ri] == 0 and count[top] >= 2:
        result, why = top, f"at least two {top} and the rest {good}"
    else:
        result, why = good, f"no {bad} and at most one {ri}"
    counts = ", ".join(f"{n} {code}" for code, n in count.items() if n)
    level = scale.level(result)
    return Outcome(level.score, level.code, f"CQC principles over {counts}: {why} → {level.code}")


RULES: dict[AggregationRule, Callable[[Sequence[str], Scale], Outcome]] = {
    AggregationRule.floor_mean: floor_mean,
    AggregationRule.lowest: lowest,
    AggregationRule.cqc_principles: cqc_principles,
}


def aggregate(rule: AggregationRule | str, levels: Sequence[str], scale: Scale) -> Outcome:
    """Apply a rule by name."""
    return RULES[AggregationRule(rule)](levels, scale)


def rule_fits_scale(rule: AggregationRule | str, scale: Scale) -> str | None:
    """Why a rule cannot work on a scale, or None when it can."""
    if AggregationRule(rule) is AggregationRule.cqc_principles and len(scale.levels) != 4:
        return (
            "cqc_principles reads the scale as outstanding / good / requires improvement / "
            f"inadequate and needs exactly four levels; this scale has {len(scale.levels)}."
        )
    return None
