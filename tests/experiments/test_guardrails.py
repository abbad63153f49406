"""The kill-switches' judges (experiments/guardrails.py): each of the four default switches
trips on data built to trip it, stays quiet just below its threshold however much data there
is, and says nothing before both arms have the minimum exposure; their p-values are
statsmodels' and scipy's own; nonsense never raises and never trips. No database."""

import itertools
import math

import numpy as np
import pytest
from scipy.stats import ttest_ind_from_stats
from statsmodels.stats import proportion

from experiments.guardrails import (
    KILL_ALPHA,
    Judgement,
    MeanSummary,
    RateSummary,
    mean_rise_judge,
    rate_rise_judge,
)

# The defaults: error +50 %, hallucination +100 %, objection +80 % (rates of the
# exposed subjects) and response time +30 % (a mean).
RATE_SWITCHES = {"error": (0.5, 0.05), "hallucination": (1.0, 0.02), "objection": (0.8, 0.10)}
RESPONSE_TIME_UP = 0.3


def rate_judge(control: tuple[int, int], variant: tuple[int, int], threshold: float,
               min_exposure: int = 100) -> Judgement:
    return rate_rise_judge(control=RateSummary(*control), variant=RateSummary(*variant),
                           threshold=threshold, min_exposure=min_exposure)


def time_judge(control: MeanSummary, variant: MeanSummary, *, exposure: int | None = None,
               threshold: float = RESPONSE_TIME_UP, min_exposure: int = 100) -> Judgement:
    return mean_rise_judge(control=control, variant=variant,
                           control_exposure=control.n if exposure is None else exposure,
                           variant_exposure=variant.n if exposure is None else exposure,
                           threshold=threshold, min_exposure=min_exposure)


def statsmodels_p(control, variant, threshold) -> float:
    with np.errstate(divide="ignore"):  # it also reports the ratio, over a rate of 0
        return float(proportion.test_proportions_2indep(
            variant[1], variant[0], control[1], control[0], value=1 + threshold,
            compare="ratio", alternative="larger", method="score").pvalue)


def test_the_kill_alpha_is_far_below_the_usual_five_percent():
    # Judged every 5 minutes for weeks: the A/A simulation shows why (test_aa_simulation).
    assert 0 < KILL_ALPHA <= 0.001


@pytest.mark.parametrize("switch", list(RATE_SWITCHES))
def test_each_rate_switch_trips_on_a_rise_far_above_its_threshold(switch):
    threshold, base = RATE_SWITCHES[switch]
    control = (2000, round(2000 * base))
    variant = (2000, round(2000 * base * (1 + threshold) * 2))
    judgement = rate_judge(control, variant, threshold)
    assert judgement.tripped, judgement.reason
    assert judgement.p_value == pytest.approx(statsmodels_p(control, variant, threshold))
    assert judgement.p_value < KILL_ALPHA
    assert judgement.control_value == pytest.approx(base)
    assert judgement.rise == pytest.approx(2 * (1 + threshold) - 1)
    assert judgement.reason.startswith("Tripped:")


@pytest.mark.parametrize("switch", list(RATE_SWITCHES))
def test_each_rate_switch_stays_quiet_just_below_its_threshold_with_lots_of_data(switch):
    threshold, base = RATE_SWITCHES[switch]
    n = 200_000
    control = (n, round(n * base))
    below = (n, round(n * base * (1 + threshold - 0.02)))
    judgement = rate_judge(control, below, threshold)
    assert not judgement.tripped and judgement.p_value > 0.5, judgement.reason
    assert judgement.p_value == pytest.approx(statsmodels_p(control, below, threshold))
    assert judgement.reason.startswith("Quiet:")
    # The same data a little above the threshold trips: the switch is sharp, not timid.
    above = (n, round(n * base * (1 + threshold + 0.25)))
    assert rate_judge(control, above, threshold).tripped


@pytest.mark.parametrize("switch", list(RATE_SWITCHES))
def test_each_rate_switch_is_quiet_below_the_minimum_exposure_however_large_the_rise(switch):
    threshold, _ = RATE_SWITCHES[switch]
    for control, variant in [((99, 0), (500, 500)), ((500, 0), (99, 99)), ((99, 1), (99, 99))]:
        judgement = rate_judge(control, variant, threshold)
        assert not judgement.tripped and judgement.p_value is None
        assert "each needs 100" in judgement.reason
    assert rate_judge((100, 1), (100, 99), threshold).tripped


def test_the_response_time_switch_trips_on_a_rise_far_above_its_threshold():
    control = MeanSummary(n=1000, mean=1500.0, std=800.0)
    variant = MeanSummary(n=1000, mean=2400.0, std=1200.0)  # +60 %
    judgement = time_judge(control, variant)
    assert judgement.tripped, judgement.reason
    _, expected = ttest_ind_from_stats(2400.0, 1200.0, 1000, 1.3 * 1500.0, 1.3 * 800.0, 1000,
                                       equal_var=False, alternative="greater")
    assert judgement.p_value == pytest.approx(expected)
    assert (judgement.control_value, judgement.variant_value) == (1500.0, 2400.0)
    assert judgement.rise == pytest.approx(0.6)


def test_the_response_time_switch_stays_quiet_just_below_its_threshold_with_lots_of_data():
    control = MeanSummary(n=200_000, mean=1500.0, std=800.0)
    below = MeanSummary(n=200_000, mean=1500.0 * 1.28, std=1.28 * 800.0)
    judgement = time_judge(control, below)
    assert not judgement.tripped and judgement.p_value > 0.5, judgement.reason
    _, expected = ttest_ind_from_stats(below.mean, below.std, below.n, 1.3 * 1500.0,
                                       1.3 * 800.0, control.n, equal_var=False,
                                       alternative="greater")
    assert judgement.p_value == pytest.approx(expected)
    above = MeanSummary(n=200_000, mean=1500.0 * 1.33, std=1.33 * 800.0)
    assert time_judge(control, above).tripped


def test_the_response_time_switch_is_quiet_below_the_minimum_exposure():
    control = MeanSummary(n=500, mean=1500.0, std=800.0)
    variant = MeanSummary(n=500, mean=9000.0, std=800.0)
    # Many replies timed, but the exposure (subjects) is what the minimum counts.
    judgement = mean_rise_judge(control=control, variant=variant, control_exposure=99,
                                variant_exposure=400, threshold=0.3, min_exposure=100)
    assert not judgement.tripped and judgement.p_value is None
    assert time_judge(control, variant, exposure=100).tripped


def test_a_control_without_errors_can_still_trip_and_two_arms_without_any_never_do():
    judgement = rate_judge((100, 0), (100, 30), 0.5)
    assert judgement.tripped and judgement.rise is None and judgement.control_value == 0.0
    assert judgement.p_value == pytest.approx(statsmodels_p((100, 0), (100, 30), 0.5))
    quiet = rate_judge((100_000, 0), (100_000, 0), 0.5)
    assert not quiet.tripped and quiet.p_value == 1.0
    assert "neither arm has any event" in quiet.reason


def test_one_stray_error_against_none_at_the_minimum_does_not_trip():
    assert not rate_judge((100, 0), (100, 1), 0.5).tripped
    assert not rate_judge((100, 0), (100, 3), 0.5).tripped


@pytest.mark.parametrize("control, variant", [
    ((100, -1), (100, 5)), ((100, 5), (100, 101)), ((-5, 0), (100, 5)),
    ((100, 2.5), (100, 50)), ((math.nan, 1), (100, 50)), ((100, 1), (math.inf, 50)),
])
def test_nonsense_counts_never_raise_and_never_trip(control, variant):
    judgement = rate_judge(control, variant, 0.5)
    assert not judgement.tripped and judgement.p_value is None
    assert "make no sense" in judgement.reason


@pytest.mark.parametrize("control, variant", [
    (MeanSummary(1, 1500.0, 0.0), MeanSummary(500, 9000.0, 10.0)),  # one reply timed
    (MeanSummary(0, 0.0, 0.0), MeanSummary(500, 9000.0, 10.0)),  # none timed
    (MeanSummary(500, 1500.0, 0.0), MeanSummary(500, 9000.0, 0.0)),  # no spread at all
    (MeanSummary(500, math.nan, 10.0), MeanSummary(500, 9000.0, 10.0)),
    (MeanSummary(500, 1500.0, math.inf), MeanSummary(500, 9000.0, 10.0)),
    (MeanSummary(500, 1500.0, -1.0), MeanSummary(500, 9000.0, 10.0)),
])
def test_degenerate_response_times_never_raise_and_never_trip(control, variant):
    judgement = time_judge(control, variant, exposure=500)
    assert not judgement.tripped and judgement.p_value is None
    assert judgement.reason


def test_one_arm_without_spread_is_still_judged():
    judgement = time_judge(MeanSummary(500, 1500.0, 0.0), MeanSummary(500, 2500.0, 300.0))
    assert judgement.tripped and judgement.p_value is not None


def test_a_control_mean_of_zero_leaves_the_rise_unknown():
    judgement = time_judge(MeanSummary(500, 0.0, 0.0), MeanSummary(500, 50.0, 30.0))
    assert judgement.rise is None and judgement.tripped


@pytest.mark.parametrize("threshold, min_exposure, alpha", [
    (-0.5, 100, KILL_ALPHA), (math.nan, 100, KILL_ALPHA), (0.5, -1, KILL_ALPHA),
    (0.5, 100, 0.0), (0.5, 100, 1.5),
])
def test_bad_settings_keep_the_switch_quiet_with_a_reason(threshold, min_exposure, alpha):
    for judgement in (
        rate_rise_judge(control=RateSummary(1000, 0), variant=RateSummary(1000, 900),
                        threshold=threshold, min_exposure=min_exposure, alpha=alpha),
        mean_rise_judge(control=MeanSummary(1000, 1.0, 1.0),
                        variant=MeanSummary(1000, 90.0, 1.0), control_exposure=1000,
                        variant_exposure=1000, threshold=threshold,
                        min_exposure=min_exposure, alpha=alpha),
    ):
        assert not judgement.tripped and "nothing is judged" in judgement.reason


def test_the_reason_gives_the_numbers_a_manager_needs():
    judgement = rate_judge((1000, 50), (1000, 150), 0.5)
    assert judgement.reason == ("Tripped: the variant's rate, 15.0 %, is more than 50 % above "
                                "control's, 5.0 % (+200 %); one-sided p = 2.8e-06 < 0.001.")
    quiet = time_judge(MeanSummary(1000, 1500.0, 800.0), MeanSummary(1000, 1600.0, 800.0))
    assert quiet.reason.startswith("Quiet: the variant's mean, 1,600, against control's "
                                   "1,500 (+7 %) is not shown to be more than 30 % above it")


def test_no_rate_judge_trips_where_the_variant_is_not_observed_above_the_threshold():
    # The A/A simulation skips such looks: the one-sided p is at least 1/2 there.
    for n_c, n_v, threshold in itertools.product((100, 137, 1000), (100, 251, 1000),
                                                 (0.5, 0.8, 1.0)):
        for x_c in range(0, min(n_c, 60) + 1, 6):
            for x_v in range(0, min(n_v, 130) + 1, 9):
                if x_v * n_c > (1 + threshold) * x_c * n_v:
                    continue
                judgement = rate_judge((n_c, x_c), (n_v, x_v), threshold)
                assert judgement.p_value is None or judgement.p_value >= 0.5 - 1e-9, (
                    n_c, x_c, n_v, x_v, threshold, judgement.p_value)


def test_no_mean_judge_trips_where_the_variant_is_not_observed_above_the_threshold():
    rng = np.random.default_rng(5)
    for _ in range(500):
        n_c, n_v = (int(n) for n in rng.integers(2, 5000, size=2))
        control_mean = float(rng.lognormal(7, 1))
        variant_mean = control_mean * 1.3 * float(rng.uniform(0, 1))
        judgement = time_judge(
            MeanSummary(n_c, control_mean, float(rng.uniform(0, 3)) * control_mean),
            MeanSummary(n_v, variant_mean, float(rng.uniform(0, 3)) * control_mean),
            exposure=5000)
        assert judgement.p_value is None or judgement.p_value >= 0.5
