"""The kill-switches' judges: is a variant worse than control by more than a threshold? Pure:
no ORM, and it never raises on the numbers it is given.

A switch watches a guard-rail metric (errors, hallucinations and objections as rates of the
exposed subjects; response time as a mean) and trips only when a ONE-SIDED test rejects "the
variant is at most (1 + threshold) times control", so a rise that noise at small n could
produce does not roll a variant back:

- rates: the score test of the ratio p_v / p_c against 1 + threshold (statsmodels'
  ``test_proportions_2indep(compare="ratio", method="score", alternative="larger")``). The
  score test works from the rates constrained to the null ratio, so a control without any
  event (0 of 100 against 30 of 100) is still judged rather than divided by;
- means: Welch's t-test (scipy's ``ttest_ind_from_stats``, ``alternative="greater"``) of the
  variant's mean against control's mean and standard deviation both scaled by 1 + threshold,
  which is the estimate (1 + threshold)·mean_c with its own standard error.

Nothing is tested before both arms have ``min_exposure`` subjects. The job looks every 5
minutes, thousands of times over an experiment, so ``KILL_ALPHA`` is far below the usual 5 %:
the A/A simulation (``experiments.simulation.kill_switch_aa_simulate``) shows that with it
fewer than 1 % of experiments with no real difference ever trip a switch.
"""

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.stats import ttest_ind_from_stats
from statsmodels.stats.proportion import test_proportions_2indep

# One-sided, per look and per switch. At 0.001 the A/A simulation of four switches judged
# every 5 minutes for 14 days trips falsely in well under 1 % of experiments (see
# tests/load/test_experiments_aa.py for the figures).
KILL_ALPHA = 0.001


@dataclass(frozen=True)
class RateSummary:
    n: int  # subjects exposed (assigned) in the arm
    events: int  # of them, subjects with the event (an error, a hallucination, an objection)


@dataclass(frozen=True)
class MeanSummary:
    n: int  # observations (e.g. replies timed)
    mean: float
    std: float  # sample standard deviation (ddof=1); 0.0 when n < 2


@dataclass(frozen=True)
class Judgement:
    tripped: bool
    control_value: float | None  # control's rate or mean
    variant_value: float | None
    rise: float | None  # variant / control - 1 (None when control's value is 0 or missing)
    p_value: float | None  # one-sided p that the variant is worse than control by more than
    # the threshold
    reason: str  # a sentence a manager understands: why it tripped or stayed quiet


def _finite(*values) -> bool:
    try:
        return all(math.isfinite(float(value)) for value in values)
    except (TypeError, ValueError):
        return False


def _rise(control_value: float | None, variant_value: float | None) -> float | None:
    if control_value is None or variant_value is None or control_value == 0:
        return None
    return variant_value / control_value - 1


def _percent(share: float) -> str:
    return f"{share * 100:.1f} %"


def _amount(value: float) -> str:
    return f"{value:,.4g}"


def _signed_percent(rise: float | None) -> str:
    return "" if rise is None else f" ({rise * 100:+.0f} %)"


def _p(p_value: float) -> str:
    return f"{p_value:.2g}"


def _settings_fault(threshold, min_exposure, alpha) -> str | None:
    """Why the judge's own settings cannot be used, or None. Settings come from the
    experiment; a bad one keeps the switch quiet with a reason instead of failing the job."""
    if not _finite(threshold) or threshold < 0:
        return f"The threshold {threshold!r} is not a rise of 0 or more, so nothing is judged."
    if not _finite(alpha) or not 0 < alpha < 1:
        return f"The test's alpha {alpha!r} is not between 0 and 1, so nothing is judged."
    if not _finite(min_exposure) or min_exposure < 0:
        return f"The minimum exposure {min_exposure!r} is not a count, so nothing is judged."
    return None


def _waiting(control_exposure: int, variant_exposure: int, min_exposure: int) -> str | None:
    if control_exposure >= min_exposure and variant_exposure >= min_exposure:
        return None
    return (f"Not judged yet: control has {control_exposure:,} subjects and the variant "
            f"{variant_exposure:,}; each needs {min_exposure:,} before the switch can trip.")


def _quiet(reason: str, control_value=None, variant_value=None, p_value=None) -> Judgement:
    return Judgement(tripped=False, control_value=control_value, variant_value=variant_value,
                     rise=_rise(control_value, variant_value), p_value=p_value, reason=reason)


def _verdict(*, what: str, control_value: float, variant_value: float,
             shown: Callable[[float], str], threshold: float, p_value: float,
             alpha: float) -> Judgement:
    rise = _rise(control_value, variant_value)
    limit = f"{threshold * 100:.0f} %"
    if p_value < alpha:
        reason = (f"Tripped: the variant's {what}, {shown(variant_value)}, is more than "
                  f"{limit} above control's, {shown(control_value)}"
                  f"{_signed_percent(rise)}; one-sided p = {_p(p_value)} < {alpha:g}.")
        tripped = True
    else:
        reason = (f"Quiet: the variant's {what}, {shown(variant_value)}, against "
                  f"control's {shown(control_value)}{_signed_percent(rise)} is not shown "
                  f"to be more than {limit} above it; one-sided p = {_p(p_value)}, "
                  f"the switch needs below {alpha:g}.")
        tripped = False
    return Judgement(tripped=tripped, control_value=control_value, variant_value=variant_value,
                     rise=rise, p_value=p_value, reason=reason)


def rate_rise_p_value(*, control: RateSummary, variant: RateSummary,
                      threshold: float) -> float | None:
    """One-sided p of the score test that p_v / p_c > 1 + threshold; None where the test is
    undefined (no event in either arm, or every subject with the event in both)."""
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        # statsmodels also reports the raw ratio, which divides by a control rate of 0.
        warnings.simplefilter("ignore", RuntimeWarning)
        result = test_proportions_2indep(
            variant.events, variant.n, control.events, control.n, value=1 + threshold,
            compare="ratio", alternative="larger", method="score",
        )
    p_value = float(result.pvalue)
    return p_value if math.isfinite(p_value) else None


def rate_rise_judge(*, control: RateSummary, variant: RateSummary, threshold: float,
                    min_exposure: int, alpha: float = KILL_ALPHA) -> Judgement:
    """Trip when the variant's event rate is shown, one-sided at ``alpha``, to be more than
    (1 + ``threshold``) times control's. Quiet until both arms have ``min_exposure``
    subjects, and on counts that make no sense (negative, or more events than subjects)."""
    fault = _settings_fault(threshold, min_exposure, alpha)
    if fault:
        return _quiet(fault)
    counts = (control.n, control.events, variant.n, variant.events)
    if not _finite(*counts) or any(int(c) != c or c < 0 for c in counts) or (
            control.events > control.n or variant.events > variant.n):
        return _quiet(f"The counts make no sense (control {control.events!r} events of "
                      f"{control.n!r} subjects, variant {variant.events!r} of {variant.n!r}), "
                      "so nothing is judged.")
    control_value = control.events / control.n if control.n else None
    variant_value = variant.events / variant.n if variant.n else None
    waiting = _waiting(control.n, variant.n, min_exposure)
    if waiting:
        return _quiet(waiting, control_value, variant_value)
    if control.events == 0 and variant.events == 0:
        return _quiet(f"Quiet: neither arm has any event among {control.n:,} and "
                      f"{variant.n:,} subjects.", control_value, variant_value, 1.0)
    p_value = rate_rise_p_value(control=control, variant=variant, threshold=threshold)
    if p_value is None:
        return _quiet("Quiet: the test is undefined for these counts (every subject of both "
                      "arms has the event).", control_value, variant_value)
    return _verdict(what="rate", control_value=control_value, variant_value=variant_value,
                    shown=_percent, threshold=threshold, p_value=p_value, alpha=alpha)


def mean_rise_p_value(*, control: MeanSummary, variant: MeanSummary,
                      threshold: float) -> float | None:
    """One-sided p of Welch's t-test that mean_v > (1 + threshold)·mean_c; None where it is
    undefined (fewer than two observations in an arm, or no spread in either)."""
    if control.n < 2 or variant.n < 2 or (control.std == 0 and variant.std == 0):
        return None
    scale = 1 + threshold
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        _, p_value = ttest_ind_from_stats(
            mean1=variant.mean, std1=variant.std, nobs1=variant.n,
            mean2=scale * control.mean, std2=scale * control.std, nobs2=control.n,
            equal_var=False, alternative="greater",
        )
    p_value = float(p_value)
    return p_value if math.isfinite(p_value) else None


def mean_rise_judge(*, control: MeanSummary, variant: MeanSummary, control_exposure: int,
                    variant_exposure: int, threshold: float, min_exposure: int,
                    alpha: float = KILL_ALPHA) -> Judgement:
    """Trip when the variant's mean is shown, one-sided at ``alpha``, to be more than
    (1 + ``threshold``) times control's. Quiet until both arms have ``min_exposure``
    subjects exposed, and without two observations and some spread to test with."""
    fault = _settings_fault(threshold, min_exposure, alpha)
    if fault:
        return _quiet(fault)
    figures = (control.n, control.mean, control.std, variant.n, variant.mean, variant.std,
               control_exposure, variant_exposure)
    if not _finite(*figures) or min(control.n, variant.n, control.std, variant.std,
                                     control_exposure, variant_exposure) < 0:
        return _quiet("The summaries make no sense (a missing, infinite or negative figure), "
                      "so nothing is judged.")
    control_value = float(control.mean) if control.n else None
    variant_value = float(variant.mean) if variant.n else None
    waiting = _waiting(control_exposure, variant_exposure, min_exposure)
    if waiting:
        return _quiet(waiting, control_value, variant_value)
    p_value = mean_rise_p_value(control=control, variant=variant, threshold=threshold)
    if p_value is None:
        return _quiet(f"Quiet: too little to test ({control.n:,} measured in control and "
                      f"{variant.n:,} in the variant; each needs at least two, and some spread).",
                      control_value, variant_value)
    return _verdict(what="mean", control_value=control_value, variant_value=variant_value,
                    shown=_amount, threshold=threshold, p_value=p_value, alpha=alpha)
