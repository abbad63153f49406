"""An always-valid interval on the difference of two conversion rates, safe to look at daily.

A fixed-horizon test promises its error rate at one look planned in advance. Managers look
every day and stop when the result pleases them, so its real false-positive rate grows with
every look. The construction here holds at every look at once.

The mixture sequential probability ratio test (Robbins 1970, "Statistical methods related to
the law of the iterated logarithm"; Johari, Koomen, Pekelis & Walsh 2017/2022, "Always valid
inference: continuous monitoring of A/B tests", the "mSPRT"), in its normal approximation:
the estimated lift θ̂ = p̂_v - p̂_c is taken as normal around the true lift θ with variance

    v = p̂_v(1 - p̂_v)/n_v + p̂_c(1 - p̂_c)/n_c.

Mixing the likelihood ratio of θ against θ̂ over a normal prior N(θ, τ²) gives

    Λ(θ) = sqrt(v / (v + τ²)) · exp((θ̂ - θ)² τ² / (2 v (v + τ²))),

a non-negative martingale under θ, so by Ville's inequality P(Λ(θ) ≥ 1/alpha at ANY look) ≤ alpha.
The set {θ : Λ(θ) < 1/alpha} is therefore a confidence sequence:

    θ̂ ± sqrt(v (v + τ²) / τ² · (log((v + τ²) / v) - 2 log alpha)),

and min(1, 1/Λ(0)) is the always-valid p-value. The interval excludes 0 exactly when that p is
below alpha. Each look is judged on its own counts (this module keeps no state); the guarantee
covers "significant at any look", so a caller need not remember earlier looks.

Choice of τ² (``mixing_variance``). With r = τ²/v and L = -2 log alpha the half-width is

    h² = v · (1 + 1/r) · (log(1 + r) + L),

and dh²/dr = 0 gives r = L + log(1 + r). Its root r* (about 8.2 at alpha = 0.05, 9.8 at 0.025) is
found by the fixed-point iteration r ← L + log(1 + r), which contracts (its slope 1/(1 + r) is
below 1). τ² = r* · v_plan makes the interval tightest when v equals v_plan, the variance at
the planning size: ``plan_n`` subjects in each arm at the pooled rate p̄ of both arms,
v_plan = 2 p̄(1 - p̄)/plan_n. The width grows only logarithmically away from it, so the
interval stays close to its best for a wide range of n around the minimum sample. τ² depends
on the data only through p̄, which carries no information about the difference; the A/A
simulation (``experiments.simulation``) checks that the false-positive share stays under alpha.

Degenerate counts: without subjects in an arm there is no interval (None). When neither arm
varies (each converted none or all), v is 0 although the arms may differ (none of 1,050
against all of them); the pooled variance p̄(1 - p̄)(1/n_v + 1/n_c), the variance under "no
difference", stands in. It is 0 only when both arms are the same constant: no evidence at
all, so the interval is the whole range [-1, 1] and p = 1.
"""

import math
from dataclasses import dataclass
from functools import cache

# The fixed point converges to 1e-12 within a few dozen steps for any alpha of interest.
_FIXED_POINT_STEPS = 100
_FIXED_POINT_TOLERANCE = 1e-12


@dataclass(frozen=True)
class SequentialInterval:
    estimate: float  # θ̂ = variant rate - control rate
    low: float  # clipped to [-1, 1], the range of a difference of rates
    high: float
    p_value: float  # always-valid, min(1, 1/Λ(0))
    variance: float  # v as used (the pooled stand-in when neither arm varies)
    tau2: float | None  # the mixing variance; None when there was no evidence to weigh


@cache  # a handful of alphas, asked at every look
def optimal_ratio(alpha: float) -> float:
    """r* = τ²/v that minimises the half-width: the root of r = -2 log alpha + log(1 + r)."""
    if not 0 < alpha < 1:
        raise ValueError("alpha must be between 0 and 1")
    target = -2 * math.log(alpha)
    ratio = target
    for _ in range(_FIXED_POINT_STEPS):
        following = target + math.log1p(ratio)
        if abs(following - ratio) < _FIXED_POINT_TOLERANCE:
            return following
        ratio = following
    return ratio


def mixing_variance(*, pooled_rate: float, plan_n: int, alpha: float) -> float:
    """τ² for which the interval is tightest with ``plan_n`` subjects in each arm at
    ``pooled_rate`` (see the module's docstring). 0 when the rate is 0 or 1."""
    plan_variance = 2 * pooled_rate * (1 - pooled_rate) / max(int(plan_n), 1)
    return optimal_ratio(alpha) * plan_variance


def mixture_likelihood_ratio(*, estimate: float, variance: float, tau2: float,
                             null: float = 0.0) -> float:
    """Λ(null): the normal-mixture likelihood ratio of the observed estimate against the
    null value. Computed through its logarithm; overflows to infinity."""
    log_ratio = (0.5 * math.log(variance / (variance + tau2))
                 + (estimate - null) ** 2 * tau2 / (2 * variance * (variance + tau2)))
    return math.exp(log_ratio) if log_ratio < 700 else math.inf


def difference_interval(
    *, control_n: int, control_conversions: int, variant_n: int, variant_conversions: int,
    plan_n: int, alpha: float,
) -> SequentialInterval | None:
    """The always-valid (1 - alpha) interval on variant rate - control rate and its p-value.
    None when either arm has no subjects."""
    if control_n <= 0 or variant_n <= 0:
        return None
    p_c = control_conversions / control_n
    p_v = variant_conversions / variant_n
    estimate = p_v - p_c
    variance = p_v * (1 - p_v) / variant_n + p_c * (1 - p_c) / control_n
    pooled = (control_conversions + variant_conversions) / (control_n + variant_n)
    if variance <= 0:
        variance = pooled * (1 - pooled) * (1 / variant_n + 1 / control_n)
    tau2 = mixing_variance(pooled_rate=pooled, plan_n=plan_n, alpha=alpha)
    if variance <= 0 or tau2 <= 0:
        return SequentialInterval(estimate=estimate, low=-1.0, high=1.0, p_value=1.0,
                                  variance=0.0, tau2=None)
    half_width = math.sqrt(variance * (variance + tau2) / tau2
                           * (math.log((variance + tau2) / variance) - 2 * math.log(alpha)))
    ratio = mixture_likelihood_ratio(estimate=estimate, variance=variance, tau2=tau2)
    return SequentialInterval(
        estimate=estimate, low=max(-1.0, estimate - half_width),
        high=min(1.0, estimate + half_width), p_value=min(1.0, 1 / ratio),
        variance=variance, tau2=tau2,
    )
