"""The aggregation rules as pure functions: the 2023 table, boundaries, custom scales."""

from __future__ import annotations

import itertools

import pytest

from ratings.aggregation import (
    DEFAULT_SCALE,
    AggregationRule,
    Level,
    Scale,
    aggregate,
    cqc_principles,
    floor_mean,
    lowest,
    rule_fits_scale,
)

O, G, R, I = "outstanding", "good", "requires_improvement", "inadequate"  # noqa: E741

# The Health and Social Care Committee Expert Panel's 2023 table (government response, April
# 2023): commitment met, funding and resource, impact, appropriateness → overall.
TABLE_2023 = [
    ("care", "NHS App 75% of adults", (G, R, R, R), R),
    ("care", "monitor long-term conditions at home", (R, R, R, R), R),
    ("care", "integrated health and care records", (I, I, I, G), I),
    ("population", "Data for R&D £200 million", (I, G, I, G), R),
    ("population", "de-identify GP data by September 2019", (I, I, I, G), I),
    ("cost", "streamline contracting", (R, R, R, R), R),
    ("cost", "consolidate routes to market", (R, R, R, R), R),
    ("workforce", "national digital workforce strategy", (I, R, I, G), I),
    ("workforce", "10,500 additional digital staff", (I, I, I, I), I),
]


@pytest.mark.parametrize(
    ("dims", "overall"),
    [(dims, overall) for _, _, dims, overall in TABLE_2023],
    ids=[title for _, title, _, _ in TABLE_2023],
)
def test_floor_mean_reproduces_every_2023_overall(dims, overall):
    assert floor_mean(dims, DEFAULT_SCALE).level == overall


def test_floor_mean_explains_itself():
    out = floor_mean((G, R, R, R), DEFAULT_SCALE)
    assert out == (2, R, "floor of the mean of 3, 2, 2, 2 = 2.25 → 2 (requires_improvement)")
    assert floor_mean((R, R, R, R), DEFAULT_SCALE).explanation == (
        "floor of the mean of 2, 2, 2, 2 = 2 → 2 (requires_improvement)"
    )


def test_floor_mean_reproduces_the_2023_evaluation_overall_and_policy_areas():
    overalls = [row[3] for row in TABLE_2023]
    out = floor_mean(overalls, DEFAULT_SCALE)
    assert out.level == I
    assert out.score == 1
    assert out.explanation == (
        "floor of the mean of 2, 2, 1, 2, 1, 2, 2, 1, 1 ≈ 1.56 → 1 (inadequate)"
    )
    by_area: dict[str, list[str]] = {}
    for area, _, _, overall in TABLE_2023:
        by_area.setdefault(area, []).append(overall)
    assert {a: floor_mean(v, DEFAULT_SCALE).level for a, v in by_area.items()} == {
        "care": I,  # 2, 2, 1 → 1.67 → 1
        "population": I,  # 2, 1 → 1.5 → 1
        "cost": R,
        "workforce": I,
    }


def test_floor_mean_never_rounds_up():
    assert floor_mean((O, I), DEFAULT_SCALE).level == R  # 2.5 → 2
    assert floor_mean((O, O, O, G), DEFAULT_SCALE).level == G  # 3.75 → 3
    assert floor_mean((O,), DEFAULT_SCALE).level == O


GAPPY = Scale((Level("high", "High", 10), Level("mid", "Middling", 5), Level("low", "Low", 0)))


def test_floor_mean_on_a_scale_with_gaps_rounds_down_onto_the_scale():
    assert floor_mean(("high", "low"), GAPPY) == (
        5,
        "mid",
        "floor of the mean of 10, 0 = 5 → 5 (mid)",
    )
    out = floor_mean(("high", "mid"), GAPPY)
    assert (out.score, out.level) == (5, "mid")
    assert out.explanation == (
        "floor of the mean of 10, 5 = 7.5 → 7, not on the scale; the next level down is 5 (mid)"
    )
    assert floor_mean(("mid", "low", "low"), GAPPY).level == "low"  # 5/3 → 1 → low


def test_floor_mean_with_negative_scores_floors_towards_minus_infinity():
    scale = Scale((Level("up", "Up", 1), Level("flat", "Flat", 0), Level("down", "Down", -1)))
    assert floor_mean(("flat", "down"), scale).level == "down"  # -0.5 → -1
    assert floor_mean(("up", "down"), scale).level == "flat"


def test_lowest_takes_the_weakest_input():
    assert lowest((O, O, O, R), DEFAULT_SCALE) == (
        2,
        R,
        "lowest of 4, 4, 4, 2 = 2 (requires_improvement)",
    )
    assert lowest((G,), DEFAULT_SCALE).level == G
    assert lowest((I, O), DEFAULT_SCALE).level == I
    assert lowest(("high", "mid"), GAPPY).level == "mid"
    assert [lowest(row[2], DEFAULT_SCALE).level for row in TABLE_2023] == [
        R,
        R,
        I,
        I,
        I,
        R,
        R,
        I,
        I,
    ]


@pytest.mark.parametrize(
    ("levels", "expected", "why"),
    [
        ((O,), O, "a single rating stands as it is"),
        ((I,), I, "a single rating stands as it is"),
        ((I, I), I, "two or more inadequate"),
        ((I, I, O, O, O), I, "two or more inadequate"),
        ((I, O, O, O), R, "exactly one inadequate"),
        ((I, R, R, R), R, "exactly one inadequate"),
        ((R, R), R, "two or more requires_improvement"),
        ((R, R, O, O), R, "two or more requires_improvement"),
        ((O, O), O, "at least two outstanding and the rest good"),
        ((O, O, G, G), O, "at least two outstanding and the rest good"),
        ((O, O, O, O), O, "at least two outstanding and the rest good"),
        ((O, G, G, G), G, "no inadequate and at most one requires_improvement"),
        ((O, O, R), G, "no inadequate and at most one requires_improvement"),
        ((O, R), G, "no inadequate and at most one requires_improvement"),
        ((G, G, G, R), G, "no inadequate and at most one requires_improvement"),
        ((G, G), G, "no inadequate and at most one requires_improvement"),
    ],
)
def test_cqc_principles_boundaries(levels, expected, why):
    out = cqc_principles(levels, DEFAULT_SCALE)
    assert out.level == expected
    assert out.score == DEFAULT_SCALE.score(expected)
    assert why in out.explanation


def test_cqc_principles_explanation_counts_the_inputs():
    out = cqc_principles((G, R, R, R), DEFAULT_SCALE)
    assert out.explanation == (
        "CQC principles over 1 good, 3 requires_improvement: "
        "two or more requires_improvement → requires_improvement"
    )


def test_cqc_principles_reads_a_custom_four_level_scale_by_position():
    scale = Scale(
        (
            Level("a", "Excellent", 40),
            Level("b", "Fine", 30),
            Level("c", "Poor", 20),
            Level("d", "Failing", 10),
        )
    )
    assert cqc_principles(("a", "a", "b"), scale).level == "a"
    assert cqc_principles(("d", "a", "a"), scale) == (
        20,
        "c",
        "CQC principles over 2 a, 1 d: exactly one d → c",
    )


def test_cqc_principles_needs_four_levels():
    three = Scale((Level("a", "A", 3), Level("b", "B", 2), Level("c", "C", 1)))
    with pytest.raises(ValueError, match="four"):
        cqc_principles(("a", "b"), three)
    assert "exactly four levels" in (rule_fits_scale("cqc_principles", three) or "")
    assert rule_fits_scale("cqc_principles", DEFAULT_SCALE) is None
    assert rule_fits_scale("floor_mean", three) is None
    assert rule_fits_scale("lowest", three) is None


@pytest.mark.parametrize("rule", list(AggregationRule))
def test_every_rule_is_monotone_and_stays_between_the_inputs(rule):
    # Over every combination of four dimensions: improving one input never lowers the result,
    # and the result never leaves the range of the inputs.
    codes = DEFAULT_SCALE.codes
    for combo in itertools.product(codes, repeat=4):
        out = aggregate(rule, combo, DEFAULT_SCALE)
        scores = [DEFAULT_SCALE.score(c) for c in combo]
        assert min(scores) <= out.score <= max(scores), combo
        for i, code in enumerate(combo):
            better = codes.index(code) - 1
            if better >= 0:
                up = (*combo[:i], codes[better], *combo[i + 1 :])
                assert aggregate(rule, up, DEFAULT_SCALE).score >= out.score, (combo, up)


def test_scales_are_validated():
    with pytest.raises(ValueError, match="unique"):
        Scale((Level("a", "A", 2), Level("a", "B", 1)))
    with pytest.raises(ValueError, match="strictly decrease"):
        Scale((Level("a", "A", 1), Level("b", "B", 2)))
    with pytest.raises(ValueError, match="strictly decrease"):
        Scale((Level("a", "A", 1), Level("b", "B", 1)))
    with pytest.raises(ValueError, match="two levels"):
        Scale((Level("a", "A", 1),))
    assert Scale.of(
        [{"code": "x", "label": "X", "score": 2}, {"code": "y", "label": "Y", "score": 1}]
    ).codes == ("x", "y")


def test_rules_refuse_empty_input_and_unknown_codes():
    for rule in AggregationRule:
        with pytest.raises(ValueError, match="nothing to aggregate"):
            aggregate(rule, (), DEFAULT_SCALE)
        with pytest.raises(KeyError):
            aggregate(rule, ("excellent",), DEFAULT_SCALE)


# Every multiset of four levels on the default scale, as (outstanding, good, requires
# improvement, inadequate) counts → the cqc_principles overall. Written out rather than derived,
# so a change of any rule (or of its precedence) shows here as a changed row.
CQC_ALL_FOUR = [
    ((0, 0, 0, 4), I),
    ((0, 0, 1, 3), I),
    ((0, 0, 2, 2), I),  # two inadequate outranks two requires improvement
    ((0, 0, 3, 1), R),
    ((0, 0, 4, 0), R),
    ((0, 1, 0, 3), I),
    ((0, 1, 1, 2), I),
    ((0, 1, 2, 1), R),
    ((0, 1, 3, 0), R),
    ((0, 2, 0, 2), I),
    ((0, 2, 1, 1), R),
    ((0, 2, 2, 0), R),
    ((0, 3, 0, 1), R),  # exactly one inadequate caps at requires improvement
    ((0, 3, 1, 0), G),  # at most one requires improvement
    ((0, 4, 0, 0), G),
    ((1, 0, 0, 3), I),
    ((1, 0, 1, 2), I),
    ((1, 0, 2, 1), R),
    ((1, 0, 3, 0), R),
    ((1, 1, 0, 2), I),
    ((1, 1, 1, 1), R),
    ((1, 1, 2, 0), R),
    ((1, 2, 0, 1), R),
    ((1, 2, 1, 0), G),
    ((1, 3, 0, 0), G),  # one outstanding is not enough
    ((2, 0, 0, 2), I),
    ((2, 0, 1, 1), R),
    ((2, 0, 2, 0), R),  # two requires improvement outranks two outstanding
    ((2, 1, 0, 1), R),
    ((2, 1, 1, 0), G),  # outstanding needs the rest good
    ((2, 2, 0, 0), O),
    ((3, 0, 0, 1), R),
    ((3, 0, 1, 0), G),
    ((3, 1, 0, 0), O),
    ((4, 0, 0, 0), O),
]


def test_cqc_principles_resolves_every_combination_of_four():
    assert len(CQC_ALL_FOUR) == len(
        list(itertools.combinations_with_replacement(DEFAULT_SCALE.codes, 4))
    )
    for (o, g, r, i), expected in CQC_ALL_FOUR:
        combo = (O,) * o + (G,) * g + (R,) * r + (I,) * i
        for order in {combo, tuple(reversed(combo))}:  # order of dimensions never matters
            assert cqc_principles(order, DEFAULT_SCALE).level == expected, (o, g, r, i)


@pytest.mark.parametrize(
    ("rule", "overalls", "areas", "evaluation"),
    [
        # floor_mean: the published table, area by area, and the evaluation's "inadequate".
        ("floor_mean", [R, R, I, R, I, R, R, I, I], [I, I, R, I], I),
        # lowest: any inadequate dimension makes the commitment inadequate.
        ("lowest", [R, R, I, I, I, R, R, I, I], [I, I, R, I], I),
        # cqc_principles: (I, G, I, G) has two inadequate → inadequate, unlike the panel's RI.
        # Care (R, R, I) has exactly one inadequate → requires improvement.
        ("cqc_principles", [R, R, I, I, I, R, R, I, I], [R, I, R, I], I),
    ],
)
def test_each_rule_on_the_2023_table(rule, overalls, areas, evaluation):
    got = [aggregate(rule, dims, DEFAULT_SCALE).level for _, _, dims, _ in TABLE_2023]
    assert got == overalls
    by_area: dict[str, list[str]] = {}
    for (area, _, _, _), overall in zip(TABLE_2023, got, strict=True):
        by_area.setdefault(area, []).append(overall)
    assert [aggregate(rule, v, DEFAULT_SCALE).level for v in by_area.values()] == areas
    assert aggregate(rule, got, DEFAULT_SCALE).level == evaluation


def test_cqc_principles_with_two_inputs():
    pairs = {
        (O, O): O,
        (O, G): G,
        (O, R): G,
        (G, R): G,
        (R, R): R,
        (O, I): R,
        (G, I): R,
        (I, I): I,
    }
    for pair, expected in pairs.items():
        assert cqc_principles(pair, DEFAULT_SCALE).level == expected, pair
