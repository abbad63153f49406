"""The always-valid interval on a difference of rates (experiments/sequential.py) against its
definition: the normal-mixture likelihood ratio is exactly 1/alpha at the interval's ends,
the p-value is below alpha exactly when 0 is outside, the mixing variance makes the interval
narrowest at the planning size, and degenerate counts give no evidence instead of an error.
No database."""

import math

import pytest
from scipy.optimize import minimize_scalar

from experiments.sequential import (
    difference_interval,
    mixing_variance,
    mixture_likelihood_ratio,
    optimal_ratio,
)


def half_width(variance: float, tau2: float, alpha: float) -> float:
    return math.sqrt(variance * (variance + tau2) / tau2
                     * (math.log((variance + tau2) / variance) - 2 * math.log(alpha)))


@pytest.mark.parametrize("alpha", [0.1, 0.05, 0.025, 0.01, 0.001])
def test_the_optimal_ratio_minimises_the_half_width(alpha):
    ratio = optimal_ratio(alpha)
    assert ratio == pytest.approx(-2 * math.log(alpha) + math.log1p(ratio), abs=1e-9)
    # A numeric minimum of the half-width over tau²/v agrees.
    found = minimize_scalar(lambda r: half_width(1.0, r, alpha), bounds=(0.01, 1000),
                            method="bounded", options={"xatol": 1e-8})
    assert ratio == pytest.approx(found.x, rel=1e-3)


def test_the_optimal_ratio_at_five_percent_is_about_eight():
    assert optimal_ratio(0.05) == pytest.approx(8.212, abs=1e-3)
    with pytest.raises(ValueError):
        optimal_ratio(0)


def test_the_likelihood_ratio_is_one_over_alpha_at_both_ends_of_the_interval():
    interval = difference_interval(control_n=3000, control_conversions=300, variant_n=2900,
                                   variant_conversions=340, plan_n=1050, alpha=0.05)
    for end in (interval.low, interval.high):
        ratio = mixture_likelihood_ratio(estimate=interval.estimate,
                                         variance=interval.variance, tau2=interval.tau2,
                                         null=end)
        assert ratio == pytest.approx(1 / 0.05)
    assert interval.estimate == pytest.approx(340 / 2900 - 0.1)
    assert interval.variance == pytest.approx(
        (340 / 2900) * (1 - 340 / 2900) / 2900 + 0.1 * 0.9 / 3000)
    assert interval.p_value == pytest.approx(1 / mixture_likelihood_ratio(
        estimate=interval.estimate, variance=interval.variance, tau2=interval.tau2))


@pytest.mark.parametrize("variant_conversions", [100, 120, 130, 140, 150, 160, 200, 60])
def test_the_p_value_is_below_alpha_exactly_when_the_interval_leaves_out_zero(
        variant_conversions):
    interval = difference_interval(control_n=1200, control_conversions=120, variant_n=1200,
                                   variant_conversions=variant_conversions, plan_n=1050,
                                   alpha=0.05)
    assert (interval.p_value < 0.05) == (interval.low > 0 or interval.high < 0)
    assert interval.low < interval.estimate < interval.high


def test_the_interval_is_narrowest_with_the_planning_size_it_was_tuned_for():
    pooled, plan_n = 0.1, 2000
    tau2 = mixing_variance(pooled_rate=pooled, plan_n=plan_n, alpha=0.05)
    at_plan = 2 * pooled * (1 - pooled) / plan_n
    assert tau2 == pytest.approx(optimal_ratio(0.05) * at_plan)
    best = half_width(at_plan, tau2, 0.05)
    for other_n in (200, 1000, 4000, 20000):
        other_tau2 = mixing_variance(pooled_rate=pooled, plan_n=other_n, alpha=0.05)
        assert best < half_width(at_plan, other_tau2, 0.05)
    # Far from the planned size it is only a little wider (the width grows with a logarithm).
    assert half_width(at_plan, mixing_variance(pooled_rate=pooled, plan_n=8000, alpha=0.05),
                      0.05) < 1.15 * best


def test_the_interval_narrows_as_subjects_arrive():
    widths = []
    for n in (1050, 2100, 4200, 8400):
        interval = difference_interval(control_n=n, control_conversions=n // 10, variant_n=n,
                                       variant_conversions=n // 10, plan_n=1050, alpha=0.05)
        widths.append(interval.high - interval.low)
    assert widths == sorted(widths, reverse=True)


def test_the_interval_is_wider_than_a_fixed_horizon_wald_interval():
    interval = difference_interval(control_n=1050, control_conversions=105, variant_n=1050,
                                   variant_conversions=105, plan_n=1050, alpha=0.05)
    wald = 1.959964 * math.sqrt(interval.variance)
    assert (interval.high - interval.low) / 2 > 1.5 * wald


def test_no_subjects_in_an_arm_gives_no_interval():
    assert difference_interval(control_n=0, control_conversions=0, variant_n=10,
                               variant_conversions=1, plan_n=100, alpha=0.05) is None
    assert difference_interval(control_n=10, control_conversions=1, variant_n=0,
                               variant_conversions=0, plan_n=100, alpha=0.05) is None


@pytest.mark.parametrize("converted", [0, 1])
def test_arms_that_are_the_same_constant_give_the_whole_range_and_p_one(converted):
    interval = difference_interval(control_n=500, control_conversions=500 * converted,
                                   variant_n=700, variant_conversions=700 * converted,
                                   plan_n=1050, alpha=0.05)
    assert (interval.low, interval.high, interval.p_value) == (-1.0, 1.0, 1.0)
    assert interval.tau2 is None


def test_none_against_all_uses_the_pooled_variance_and_stays_in_range():
    interval = difference_interval(control_n=1050, control_conversions=0, variant_n=1050,
                                   variant_conversions=1050, plan_n=1050, alpha=0.05)
    assert interval.variance == pytest.approx(0.25 * 2 / 1050)
    assert interval.low > 0 and interval.high == 1.0 and interval.p_value < 1e-100


def test_an_overwhelming_difference_does_not_overflow():
    interval = difference_interval(control_n=10**7, control_conversions=10**6,
                                   variant_n=10**7, variant_conversions=5 * 10**6,
                                   plan_n=1050, alpha=0.05)
    assert interval.p_value == 0.0 and interval.low > 0.39
