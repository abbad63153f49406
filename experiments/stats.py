"""Results of an experiment from its counts. Pure: no ORM. Every fixed-horizon statistic is
statsmodels' or scipy's; the always-valid interval, which statsmodels lacks, is
``experiments.sequential``.

Each variant is compared with control on its conversion rate:

- lift: the difference of rates (variant - control) with its confidence interval from
  ``confint_proportions_2indep(compare="diff")`` (Newcombe's score interval);
- the two-sided two-proportion z-test (``proportions_ztest``), and Holm's correction over
  all variants (``multipletests(method="holm")``), so more arms do not buy more false wins;
- the minimum detectable effect at the current n, from ``NormalIndPower``;
- whether each arm has its minimum sample. Below it there is no verdict at all;
- the always-valid interval on the lift and its p-value (a normal-mixture SPRT, see
  ``experiments.sequential``), at alpha / (number of variants) each (Bonferroni), so the
  family of variants keeps alpha at every look.

The verdict rests on the always-valid interval (``VERDICT_BASIS``): managers look every day,
and a fixed-horizon test peeked at daily declares far more than alpha of A/A experiments
significant (``experiments.simulation`` measures both). The Holm z-test's verdict is kept
beside it as ``fixed_horizon_verdict``.

The sample-ratio check compares the observed split with the weights by chi-square
(``scipy.stats.chisquare``) at alpha = 0.001: a mismatch means assignment or logging is broken,
so no winner is declared while it stands.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from scipy.stats import chisquare
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from experiments.sequential import SequentialInterval, difference_interval

ALPHA = 0.05
POWER = 0.8
SRM_ALPHA = 0.001
CONFINT_METHOD = "newcomb"
VERDICT_BASIS = "always_valid_mixture_sprt"


class Verdict(StrEnum):
    BETTER = "better"
    WORSE = "worse"
    NO_DIFFERENCE = "no_difference"


@dataclass(frozen=True)
class ArmCounts:
    key: str
    n: int  # subjects assigned
    conversions: int  # of them, subjects who converted
    weight: int = 0  # percent of the buckets, for the sample-ratio check
    is_control: bool = False


@dataclass(frozen=True)
class VariantResult:
    key: str
    is_control: bool
    n: int
    conversions: int
    rate: float | None  # None while the arm has no subjects
    min_sample_reached: bool
    # The rest compare with control and stay None for control itself, and while either arm
    # has no subjects.
    lift: float | None = None  # variant rate - control rate
    lift_ci_low: float | None = None
    lift_ci_high: float | None = None
    relative_lift: float | None = None  # lift / control rate; None when control's rate is 0
    z: float | None = None
    p_value: float | None = None
    p_value_holm: float | None = None
    mde: float | None = None  # the smallest |lift| this n detects with POWER at ALPHA
    # The always-valid interval on the lift and its p (Bonferroni-adjusted over the variants,
    # so p < alpha exactly when the interval excludes 0).
    always_valid_low: float | None = None
    always_valid_high: float | None = None
    always_valid_p_value: float | None = None
    # Both verdicts are None below the minimum sample. ``verdict`` rests on the always-valid
    # interval; ``fixed_horizon_verdict`` is what the Holm z-test says, shown beside it.
    verdict: Verdict | None = None
    fixed_horizon_verdict: Verdict | None = None


@dataclass(frozen=True)
class SampleRatio:
    observed: tuple[int, ...]
    expected: tuple[float, ...]
    chi2: float
    p_value: float
    mismatch: bool


@dataclass(frozen=True)
class ExperimentResults:
    control: VariantResult
    variants: tuple[VariantResult, ...]  # the non-control arms, in their order
    min_sample: int
    alpha: float
    srm: SampleRatio | None  # None when the split cannot be checked (see sample_ratio)
    verdict_basis: str = VERDICT_BASIS

    @property
    def min_sample_reached(self) -> bool:
        return self.control.min_sample_reached and all(v.min_sample_reached
                                                      for v in self.variants)

    @property
    def winner(self) -> VariantResult | None:
        """The better variant with the largest lift, unless the split is suspect."""
        if self.srm is not None and self.srm.mismatch:
            return None
        better = [v for v in self.variants if v.verdict is Verdict.BETTER]
        return max(better, key=lambda v: v.lift, default=None)


def rate(n: int, conversions: int) -> float | None:
    return conversions / n if n else None


def sample_ratio(arms: Sequence[ArmCounts], *, alpha: float = SRM_ALPHA) -> SampleRatio | None:
    """Chi-square of the observed subjects per arm against the weights. Arms of weight 0 get
    no subjects by design and are left out; None with fewer than two weighted arms or no
    subjects at all."""
    weighted = [arm for arm in arms if arm.weight > 0]
    total = sum(arm.n for arm in weighted)
    if len(weighted) < 2 or total == 0:
        return None
    weight_sum = sum(arm.weight for arm in weighted)
    observed = tuple(arm.n for arm in weighted)
    expected = tuple(total * arm.weight / weight_sum for arm in weighted)
    chi2, p_value = chisquare(f_obs=observed, f_exp=expected)
    return SampleRatio(observed=observed, expected=expected, chi2=float(chi2),
                       p_value=float(p_value), mismatch=bool(p_value < alpha))


def z_test(control: ArmCounts, arm: ArmCounts) -> tuple[float, float]:
    """``(z, two-sided p)`` of arm against control. When neither arm varies (no conversions
    at all, or all converted) the pooled variance is 0 and statsmodels divides by it: there is
    no evidence of a difference, so z = 0 and p = 1."""
    pooled = (arm.conversions + control.conversions) / (arm.n + control.n)
    if pooled in (0.0, 1.0):
        return 0.0, 1.0
    z, p_value = proportions_ztest(count=[arm.conversions, control.conversions],
                                   nobs=[arm.n, control.n], alternative="two-sided")
    return float(z), float(p_value)


def lift_interval(control: ArmCounts, arm: ArmCounts, *, alpha: float = ALPHA):
    low, high = confint_proportions_2indep(
        arm.conversions, arm.n, control.conversions, control.n,
        method=CONFINT_METHOD, compare="diff", alpha=alpha,
    )
    return float(low), float(high)


def minimum_detectable_effect(control: ArmCounts, arm: ArmCounts, *, alpha: float = ALPHA,
                              power: float = POWER) -> float | None:
    """The smallest absolute lift over control's rate that these n detect with ``power``.

    ``NormalIndPower`` works on Cohen's h = 2·asin(√p₁) - 2·asin(√p₀) (statsmodels'
    ``proportion_effectsize``). Solving for h at nobs1 = the arm's n and ratio = control's n /
    the arm's n, then inverting at the control rate p₀ gives p₁ = sin²(asin(√p₀) + h/2), and
    the MDE is p₁ - p₀. The upward lift is reported (with the angle capped at π/2, a rate of
    1); None without subjects in both arms.
    """
    if not arm.n or not control.n:
        return None
    h = NormalIndPower().solve_power(effect_size=None, nobs1=arm.n, alpha=alpha, power=power,
                                     ratio=control.n / arm.n, alternative="two-sided")
    p0 = control.conversions / control.n
    angle = min(math.asin(math.sqrt(p0)) + float(h) / 2, math.pi / 2)
    return math.sin(angle) ** 2 - p0


@dataclass(frozen=True)
class Comparison:
    """What one variant's verdicts rest on: the Holm z-test and the always-valid interval.
    ``experiment_results`` reports it; the A/A simulation counts its verdicts."""

    key: str
    z: float
    p_value: float
    p_value_holm: float
    sequential: SequentialInterval
    always_valid_p_value: float  # Bonferroni-adjusted over the variants
    verdict: Verdict | None  # on the always-valid interval; None below the minimum sample
    fixed_horizon_verdict: Verdict | None  # on Holm's p; None below the minimum sample


def holm(p_values: Sequence[float], *, alpha: float = ALPHA) -> list[float]:
    """Holm-adjusted p-values. One test needs no correction, and statsmodels' Holm runs a full
    ``gc.collect()`` on every call (tens of milliseconds in a loaded process), so a single p
    is returned as it is."""
    if len(p_values) == 1:
        return [float(p_values[0])]
    _, adjusted, _, _ = multipletests(list(p_values), alpha=alpha, method="holm")
    return [float(p) for p in adjusted]


def split_control(arms: Sequence[ArmCounts]) -> tuple[ArmCounts, list[ArmCounts]]:
    """``(control, the other arms in their order)``; raises ``ValueError`` unless exactly one
    arm is the control."""
    controls = [arm for arm in arms if arm.is_control]
    if len(controls) != 1:
        raise ValueError("exactly one arm must be the control")
    return controls[0], [arm for arm in arms if not arm.is_control]


def compare(
    arms: Sequence[ArmCounts], *, min_sample: int, alpha: float = ALPHA,
    plan_n: int | None = None,
) -> dict[str, Comparison]:
    """``{key: Comparison}`` for each variant that, like control, has subjects. The lean part
    of ``experiment_results`` (no interval of the fixed-horizon lift, no MDE), cheap enough to
    run at every look of a simulation.

    The always-valid interval of each variant is at alpha / (number of variants), all of the
    experiment's variants whether or not they have subjects yet, so the correction does not
    change as arms fill. Its mixing variance is tuned to ``plan_n`` subjects per arm (default
    ``min_sample``). Raises ``ValueError`` unless exactly one arm is the control.
    """
    control, others = split_control(arms)
    family_alpha = alpha / max(len(others), 1)
    plan_n = min_sample if plan_n is None else plan_n
    tested = {arm.key: (arm, *z_test(control, arm)) for arm in others
              if arm.n and control.n}
    adjusted = dict(zip(tested, holm([p for _, _, p in tested.values()], alpha=alpha),
                        strict=True)) if tested else {}
    control_ready = control.n >= min_sample
    comparisons = {}
    for key, (arm, z, p_value) in tested.items():
        interval = difference_interval(
            control_n=control.n, control_conversions=control.conversions, variant_n=arm.n,
            variant_conversions=arm.conversions, plan_n=plan_n, alpha=family_alpha,
        )
        verdict = fixed_verdict = None
        if control_ready and arm.n >= min_sample:
            verdict = (Verdict.BETTER if interval.low > 0 else
                       Verdict.WORSE if interval.high < 0 else Verdict.NO_DIFFERENCE)
            lift = arm.conversions / arm.n - control.conversions / control.n
            fixed_verdict = (Verdict.NO_DIFFERENCE if adjusted[key] >= alpha else
                             Verdict.BETTER if lift > 0 else Verdict.WORSE)
        comparisons[key] = Comparison(
            key=key, z=z, p_value=p_value, p_value_holm=adjusted[key], sequential=interval,
            always_valid_p_value=min(1.0, interval.p_value * max(len(others), 1)),
            verdict=verdict, fixed_horizon_verdict=fixed_verdict,
        )
    return comparisons


def experiment_results(
    arms: Sequence[ArmCounts], *, min_sample: int, alpha: float = ALPHA,
    check_sample_ratio: bool = True, plan_n: int | None = None,
) -> ExperimentResults:
    """Results of every arm against the one control among ``arms``.

    A variant gets a verdict only when it and control both have ``min_sample`` subjects:
    BETTER when its always-valid interval lies above 0, WORSE below, else NO_DIFFERENCE (see
    ``compare``; ``plan_n`` tunes that interval, default ``min_sample``). Raises
    ``ValueError`` unless exactly one arm is the control.
    """
    control, others = split_control(arms)
    comparisons = compare(arms, min_sample=min_sample, alpha=alpha, plan_n=plan_n)
    control_rate = rate(control.n, control.conversions)
    control_ready = control.n >= min_sample
    results = []
    for arm in others:
        arm_rate = rate(arm.n, arm.conversions)
        ready = arm.n >= min_sample
        found = comparisons.get(arm.key)
        if found is None:
            results.append(VariantResult(key=arm.key, is_control=False, n=arm.n,
                                         conversions=arm.conversions, rate=arm_rate,
                                         min_sample_reached=ready))
            continue
        low, high = lift_interval(control, arm, alpha=alpha)
        lift = arm_rate - control_rate
        results.append(VariantResult(
            key=arm.key, is_control=False, n=arm.n, conversions=arm.conversions, rate=arm_rate,
            min_sample_reached=ready, lift=lift, lift_ci_low=low, lift_ci_high=high,
            relative_lift=lift / control_rate if control_rate else None,
            z=found.z, p_value=found.p_value, p_value_holm=found.p_value_holm,
            mde=minimum_detectable_effect(control, arm, alpha=alpha),
            always_valid_low=found.sequential.low, always_valid_high=found.sequential.high,
            always_valid_p_value=found.always_valid_p_value, verdict=found.verdict,
            fixed_horizon_verdict=found.fixed_horizon_verdict,
        ))
    return ExperimentResults(
        control=VariantResult(key=control.key, is_control=True, n=control.n,
                              conversions=control.conversions, rate=control_rate,
                              min_sample_reached=control_ready),
        variants=tuple(results), min_sample=min_sample, alpha=alpha,
        srm=sample_ratio(arms) if check_sample_ratio else None,
    )
