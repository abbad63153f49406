"""Pure results from counts: each fixed-horizon figure equals statsmodels (or scipy) called
directly on the same counts, the verdict rests on the always-valid interval (with the Holm
z-test's verdict beside it), the sample-ratio check, and no verdict below the minimum sample.
No database."""

import math

import pytest
from scipy.stats import chisquare
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_effectsize,
    proportions_ztest,
)

from experiments import stats
from experiments.sequential import difference_interval
from experiments.stats import ArmCounts, Verdict, experiment_results, sample_ratio

CONTROL = ArmCounts("control", n=4000, conversions=400, weight=50, is_control=True)
SCARCITY = ArmCounts("scarcity", n=2000, conversions=250, weight=25)
SOCIAL = ArmCounts("social-proof", n=2000, conversions=190, weight=25)


def test_results_equal_statsmodels_called_directly_on_the_same_counts():
    results = experiment_results([CONTROL, SCARCITY, SOCIAL], min_sample=1050)
    p_values = []
    for arm, result in zip([SCARCITY, SOCIAL], results.variants, strict=True):
        z, p = proportions_ztest([arm.conversions, CONTROL.conversions], [arm.n, CONTROL.n])
        low, high = confint_proportions_2indep(arm.conversions, arm.n, CONTROL.conversions,
                                               CONTROL.n, compare="diff", method="newcomb")
        h = NormalIndPower().solve_power(effect_size=None, nobs1=arm.n, alpha=0.05, power=0.8,
                                         ratio=CONTROL.n / arm.n)
        p_values.append(p)
        assert result.rate == arm.conversions / arm.n
        assert result.lift == pytest.approx(arm.conversions / arm.n - 0.1)
        assert result.relative_lift == pytest.approx(result.lift / 0.1)
        assert (result.z, result.p_value) == pytest.approx((z, p))
        assert (result.lift_ci_low, result.lift_ci_high) == pytest.approx((low, high))
        # The MDE is the lift whose Cohen's h is the one the power analysis asks for.
        assert proportion_effectsize(0.1 + result.mde, 0.1) == pytest.approx(h)
    _, holm, _, _ = multipletests(p_values, alpha=0.05, method="holm")
    assert [v.p_value_holm for v in results.variants] == pytest.approx(list(holm))
    assert results.control.rate == 0.1 and results.control.lift is None
    assert results.min_sample_reached
    # Holm's z-test alone would call scarcity better (z ≈ 2.8); the always-valid interval,
    # which must hold at every daily look, does not yet, so there is no winner.
    assert [v.fixed_horizon_verdict for v in results.variants] == [Verdict.BETTER,
                                                                   Verdict.NO_DIFFERENCE]
    assert [v.verdict for v in results.variants] == [Verdict.NO_DIFFERENCE,
                                                     Verdict.NO_DIFFERENCE]
    assert results.variants[0].always_valid_low < 0 < results.variants[0].lift_ci_low
    assert results.winner is None
    assert results.verdict_basis == stats.VERDICT_BASIS == "always_valid_mixture_sprt"


def test_a_worse_variant_is_called_worse():
    worse = ArmCounts("worse", n=4000, conversions=300, weight=50)
    (result,) = experiment_results([CONTROL, worse], min_sample=1050).variants
    assert result.verdict is Verdict.WORSE and result.lift < 0
    assert result.always_valid_high < 0 and result.fixed_horizon_verdict is Verdict.WORSE


def test_holm_can_take_away_a_win_that_a_single_test_would_give():
    # p ≈ 0.03 alone wins; beside a second arm with a larger p, Holm doubles it.
    arm = ArmCounts("a", n=4000, conversions=461, weight=25)
    other = ArmCounts("b", n=4000, conversions=402, weight=25)
    alone = experiment_results([CONTROL, arm], min_sample=1050).variants[0]
    assert 0.025 < alone.p_value < 0.05 and alone.fixed_horizon_verdict is Verdict.BETTER
    both = experiment_results([CONTROL, arm, other], min_sample=1050).variants[0]
    assert both.p_value_holm == pytest.approx(2 * alone.p_value)
    assert both.fixed_horizon_verdict is Verdict.NO_DIFFERENCE


def test_no_verdict_below_the_minimum_sample_however_large_the_difference():
    control = ArmCounts("control", n=1049, conversions=10, weight=50, is_control=True)
    arm = ArmCounts("a", n=1049, conversions=500, weight=50)
    results = experiment_results([control, arm], min_sample=1050)
    (result,) = results.variants
    assert result.p_value < 1e-100 and result.always_valid_p_value < 1e-100
    assert result.verdict is None and result.fixed_horizon_verdict is None
    assert not result.min_sample_reached
    assert not results.min_sample_reached and results.winner is None
    # One more subject in each arm and the verdict is given.
    grown = experiment_results([ArmCounts("control", 1050, 10, 50, True),
                                ArmCounts("a", 1050, 500, 50)], min_sample=1050)
    assert grown.variants[0].verdict is Verdict.BETTER
    assert grown.variants[0].fixed_horizon_verdict is Verdict.BETTER


def test_control_below_the_minimum_keeps_every_variant_without_a_verdict():
    control = ArmCounts("control", n=500, conversions=50, weight=50, is_control=True)
    arm = ArmCounts("a", n=5000, conversions=900, weight=50)
    assert experiment_results([control, arm], min_sample=1050).variants[0].verdict is None


def test_an_arm_without_subjects_has_no_comparison():
    empty = ArmCounts("empty", n=0, conversions=0, weight=25)
    results = experiment_results([CONTROL, SCARCITY, empty], min_sample=1050)
    assert results.variants[1] == results.variants[1].__class__(
        key="empty", is_control=False, n=0, conversions=0, rate=None, min_sample_reached=False)


def test_arms_that_never_convert_show_no_difference_instead_of_dividing_by_zero():
    control = ArmCounts("control", n=2000, conversions=0, weight=50, is_control=True)
    arm = ArmCounts("a", n=2000, conversions=0, weight=50)
    (result,) = experiment_results([control, arm], min_sample=1050).variants
    assert (result.z, result.p_value, result.verdict) == (0.0, 1.0, Verdict.NO_DIFFERENCE)
    assert result.fixed_horizon_verdict is Verdict.NO_DIFFERENCE
    # No evidence at all: the always-valid interval is the whole range of a difference.
    assert (result.always_valid_low, result.always_valid_high) == (-1.0, 1.0)
    assert result.always_valid_p_value == 1.0
    assert result.relative_lift is None
    assert 0 < result.mde < 0.01


def test_the_mde_shrinks_as_the_sample_grows():
    small = experiment_results([ArmCounts("c", 500, 50, 50, True), ArmCounts("a", 500, 50, 50)],
                               min_sample=1050).variants[0].mde
    large = experiment_results([ArmCounts("c", 5000, 500, 50, True),
                                ArmCounts("a", 5000, 500, 50)], min_sample=1050).variants[0].mde
    assert large < small
    # Cohen's h scales with 1/sqrt(n): ten times the subjects, about a third of the effect.
    assert large / small == pytest.approx(1 / math.sqrt(10), rel=0.1)


def test_exactly_one_control_is_required():
    with pytest.raises(ValueError, match="control"):
        experiment_results([SCARCITY, SOCIAL], min_sample=1)


def test_a_5200_to_4800_split_of_50_50_is_a_sample_ratio_mismatch():
    # chi2 = 2 * 200² / 5000 = 16, p ≈ 6.3e-5 < 0.001.
    expected_chi2, expected_p = chisquare([5200, 4800], [5000, 5000])
    srm = sample_ratio([ArmCounts("c", 5200, 0, 50, True), ArmCounts("a", 4800, 0, 50)])
    assert (srm.chi2, srm.p_value) == pytest.approx((expected_chi2, expected_p))
    assert srm.chi2 == pytest.approx(16.0) and srm.p_value == pytest.approx(6.334e-5, rel=1e-3)
    assert srm.mismatch
    assert srm.observed == (5200, 4800) and srm.expected == (5000.0, 5000.0)


def test_a_5100_to_4900_split_of_50_50_is_within_chance_at_alpha_0_001():
    # chi2 = 4, p ≈ 0.0455: unusual, but not the 0.001 that signals broken assignment.
    srm = sample_ratio([ArmCounts("c", 5100, 0, 50, True), ArmCounts("a", 4900, 0, 50)])
    assert srm.chi2 == pytest.approx(4.0) and srm.p_value == pytest.approx(0.0455, rel=1e-3)
    assert not srm.mismatch


def test_the_sample_ratio_check_uses_the_weights_and_skips_zero_weight_arms():
    arms = [ArmCounts("c", 5000, 0, 50, True), ArmCounts("a", 2500, 0, 25),
            ArmCounts("b", 2500, 0, 25), ArmCounts("off", 0, 0, 0)]
    srm = sample_ratio(arms)
    assert srm.expected == (5000.0, 2500.0, 2500.0) and srm.chi2 == 0 and not srm.mismatch
    assert sample_ratio([ArmCounts("c", 0, 0, 50, True), ArmCounts("a", 0, 0, 50)]) is None


def test_a_sample_ratio_mismatch_blocks_the_winner_but_keeps_the_figures():
    control = ArmCounts("control", n=5600, conversions=560, weight=50, is_control=True)
    arm = ArmCounts("a", n=4400, conversions=660, weight=50)
    results = experiment_results([control, arm], min_sample=1050)
    assert results.srm.mismatch
    assert results.variants[0].verdict is Verdict.BETTER
    assert results.winner is None


# The verdict on the always-valid interval.

TYPICAL_COUNTS = [  # (control n, conversions, variant n, conversions)
    (1050, 105, 1050, 120), (4000, 400, 2000, 250), (4000, 400, 4000, 300),
    (20000, 1000, 20000, 1100), (1200, 600, 1300, 610), (1500, 30, 1500, 45),
]


@pytest.mark.parametrize("counts", TYPICAL_COUNTS)
def test_the_always_valid_interval_contains_the_fixed_horizon_interval(counts):
    n_c, x_c, n_v, x_v = counts
    results = experiment_results([ArmCounts("c", n_c, x_c, 50, True),
                                  ArmCounts("v", n_v, x_v, 50)], min_sample=1050)
    (result,) = results.variants
    low, high = confint_proportions_2indep(x_v, n_v, x_c, n_c, compare="diff",
                                           method="newcomb")
    # The fixed-horizon fields are still statsmodels' own.
    assert (result.lift_ci_low, result.lift_ci_high) == pytest.approx((low, high))
    assert result.always_valid_low < low and high < result.always_valid_high
    assert result.always_valid_p_value >= result.p_value


@pytest.mark.parametrize("counts", [*TYPICAL_COUNTS, (1050, 100, 1050, 170),
                                    (1050, 170, 1050, 100), (5000, 500, 5000, 590)])
def test_the_verdict_follows_the_always_valid_interval_and_its_p(counts):
    n_c, x_c, n_v, x_v = counts
    (result,) = experiment_results([ArmCounts("c", n_c, x_c, 50, True),
                                    ArmCounts("v", n_v, x_v, 50)], min_sample=1050).variants
    expected = (Verdict.BETTER if result.always_valid_low > 0 else
                Verdict.WORSE if result.always_valid_high < 0 else Verdict.NO_DIFFERENCE)
    assert result.verdict is expected
    # The interval leaves out 0 exactly when the always-valid p is below alpha.
    assert (result.always_valid_p_value < 0.05) == (expected is not Verdict.NO_DIFFERENCE)
    interval = difference_interval(control_n=n_c, control_conversions=x_c, variant_n=n_v,
                                   variant_conversions=x_v, plan_n=1050, alpha=0.05)
    assert (result.always_valid_low, result.always_valid_high) == (interval.low, interval.high)


def test_a_large_true_effect_is_declared_better():
    control = ArmCounts("control", n=2000, conversions=200, weight=50, is_control=True)
    arm = ArmCounts("a", n=2000, conversions=300, weight=50)
    results = experiment_results([control, arm], min_sample=1050)
    (result,) = results.variants
    assert result.verdict is Verdict.BETTER and result.always_valid_low > 0
    assert result.always_valid_p_value < 0.001
    assert results.winner is result


def test_several_variants_share_alpha_by_bonferroni():
    results = experiment_results([CONTROL, SCARCITY, SOCIAL], min_sample=1050)
    for arm, result in zip([SCARCITY, SOCIAL], results.variants, strict=True):
        interval = difference_interval(
            control_n=CONTROL.n, control_conversions=CONTROL.conversions, variant_n=arm.n,
            variant_conversions=arm.conversions, plan_n=1050, alpha=0.05 / 2)
        assert (result.always_valid_low, result.always_valid_high) == (interval.low,
                                                                       interval.high)
        assert result.always_valid_p_value == pytest.approx(min(1.0, 2 * interval.p_value))
    alone = experiment_results([CONTROL, SCARCITY], min_sample=1050).variants[0]
    paired = results.variants[0]
    assert paired.always_valid_low < alone.always_valid_low
    assert alone.always_valid_high < paired.always_valid_high


def test_the_planning_size_of_the_interval_defaults_to_the_minimum_sample():
    arms = [ArmCounts("c", 3000, 300, 50, True), ArmCounts("v", 3000, 345, 50)]
    default = experiment_results(arms, min_sample=1050).variants[0]
    planned = experiment_results(arms, min_sample=1050, plan_n=1050).variants[0]
    at_n = experiment_results(arms, min_sample=1050, plan_n=3000).variants[0]
    assert default == planned
    # Tuned to the n it is looked at, the interval is at its narrowest there.
    assert (at_n.always_valid_high - at_n.always_valid_low
            < default.always_valid_high - default.always_valid_low)


@pytest.mark.parametrize("counts", [
    (1050, 0, 1050, 1050),  # none against all: the pooled variance stands in
    (1050, 1050, 1050, 1050),  # everyone converted in both
    (1, 0, 1, 1),
    (1050, 0, 1050, 1),
])
def test_degenerate_counts_do_not_crash(counts):
    n_c, x_c, n_v, x_v = counts
    (result,) = experiment_results([ArmCounts("c", n_c, x_c, 50, True),
                                    ArmCounts("v", n_v, x_v, 50)], min_sample=1).variants
    assert -1.0 <= result.always_valid_low <= result.always_valid_high <= 1.0
    assert 0.0 <= result.always_valid_p_value <= 1.0
    assert result.verdict in tuple(Verdict)


def test_none_against_all_is_better_and_all_against_all_shows_no_difference():
    none_all = experiment_results([ArmCounts("c", 1050, 0, 50, True),
                                   ArmCounts("v", 1050, 1050, 50)], min_sample=1050)
    assert none_all.variants[0].verdict is Verdict.BETTER
    all_all = experiment_results([ArmCounts("c", 1050, 1050, 50, True),
                                  ArmCounts("v", 1050, 1050, 50)], min_sample=1050)
    assert all_all.variants[0].verdict is Verdict.NO_DIFFERENCE
    assert all_all.variants[0].always_valid_p_value == 1.0


def test_arms_without_subjects_and_a_minimum_sample_of_zero_do_not_crash():
    results = experiment_results([ArmCounts("c", 0, 0, 50, True), ArmCounts("v", 0, 0, 50)],
                                 min_sample=0)
    assert results.variants[0].verdict is None and results.variants[0].always_valid_low is None
    results = experiment_results([ArmCounts("c", 10, 1, 50, True), ArmCounts("v", 10, 2, 50)],
                                 min_sample=0)
    assert results.variants[0].verdict is Verdict.NO_DIFFERENCE


def test_compare_gives_the_same_verdicts_as_the_full_results():
    arms = [CONTROL, SCARCITY, SOCIAL]
    results = experiment_results(arms, min_sample=1050)
    comparisons = stats.compare(arms, min_sample=1050)
    for result in results.variants:
        found = comparisons[result.key]
        assert (found.verdict, found.fixed_horizon_verdict) == (result.verdict,
                                                                result.fixed_horizon_verdict)
        assert (found.p_value_holm, found.always_valid_p_value) == (
            result.p_value_holm, result.always_valid_p_value)
