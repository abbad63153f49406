"""Fixed-horizon results of an experiment from its counts. Pure: no ORM; every statistic is
statsmodels' or scipy's, none is written here.

Each variant is compared with control on its conversion rate:

- lift: the difference of rates (variant - control) with its confidence interval from
  ``confint_proportions_2indep(compare="diff")`` (Newcombe's score interval);
- the two-sided two-proportion z-test (``proportions_ztest``), and Holm's correction over
  all variants (``multipletests(method="holm")``), so more arms do not buy more false wins;
- the minimum detectable effect at the current n, from ``NormalIndPower``;
- whether each arm has its minimum sample. Below it there is no verdict at all.

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

ALPHA = 0.05
POWER = 0.8
SRM_ALPHA = 0.001
CONFINT_METHOD = "newcomb"


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
    verdict: Verdict | None = None  # None below the minimum sample


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


def experiment_results(
    arms: Sequence[ArmCounts], *, min_sample: int, alpha: float = ALPHA,
    check_sample_ratio: bool = True,
) -> ExperimentResults:
    """Results of every arm against the one control among ``arms``.

    A variant gets a verdict only when it and control both have ``min_sample`` subjects:
    BETTER / WORSE when Holm's adjusted p is below ``alpha``, else NO_DIFFERENCE. Raises
    ``ValueError`` unless exactly one arm is the control.
    """
    controls = [arm for arm in arms if arm.is_control]
    if len(controls) != 1:
        raise ValueError("exactly one arm must be the control")
    control = controls[0]
    others = [arm for arm in arms if not arm.is_control]

    compared = {}  # key → (z, p, low, high); only arms with subjects on both sides
    for arm in others:
        if arm.n and control.n:
            z, p_value = z_test(control, arm)
            compared[arm.key] = (z, p_value, *lift_interval(control, arm, alpha=alpha))
    holm = {}
    if compared:
        keys = list(compared)
        _, adjusted, _, _ = multipletests([compared[k][1] for k in keys], alpha=alpha,
                                          method="holm")
        holm = {key: float(p) for key, p in zip(keys, adjusted, strict=True)}

    control_rate = rate(control.n, control.conversions)
    control_ready = control.n >= min_sample
    results = []
    for arm in others:
        arm_rate = rate(arm.n, arm.conversions)
        ready = arm.n >= min_sample
        if arm.key not in compared:
            results.append(VariantResult(key=arm.key, is_control=False, n=arm.n,
                                         conversions=arm.conversions, rate=arm_rate,
                                         min_sample_reached=ready))
            continue
        z, p_value, low, high = compared[arm.key]
        lift = arm_rate - control_rate
        verdict = None
        if ready and control_ready:
            if holm[arm.key] >= alpha:
                verdict = Verdict.NO_DIFFERENCE
            else:
                verdict = Verdict.BETTER if lift > 0 else Verdict.WORSE
        results.append(VariantResult(
            key=arm.key, is_control=False, n=arm.n, conversions=arm.conversions, rate=arm_rate,
            min_sample_reached=ready, lift=lift, lift_ci_low=low, lift_ci_high=high,
            relative_lift=lift / control_rate if control_rate else None,
            z=z, p_value=p_value, p_value_holm=holm[arm.key],
            mde=minimum_detectable_effect(control, arm, alpha=alpha), verdict=verdict,
        ))
    return ExperimentResults(
        control=VariantResult(key=control.key, is_control=True, n=control.n,
                              conversions=control.conversions, rate=control_rate,
                              min_sample_reached=control_ready),
        variants=tuple(results), min_sample=min_sample, alpha=alpha,
        srm=sample_ratio(arms) if check_sample_ratio else None,
    )
