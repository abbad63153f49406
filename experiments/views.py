"""The managers' experiment pages: the tenant's experiments with their leader or verdict, and
one experiment's results (each variant against control with both intervals, the sample-ratio
check, the daily chart and the kill-switch history).

Managers and owners only: an SDR gets 403, as on the other manager pages. Another tenant's
experiment is a 404, like one that does not exist. Reads go through ``experiments.selectors``;
the statistics are ``experiments.stats``'. Numbers are put into words here, so the templates
only place them.
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.views import View

from experiments import charts, selectors, stats
from experiments.models import Experiment, ExperimentStatus, KillSwitchMetric, Variant
from flexoraa.views import TenantPageMixin

DASH = "—"
MINUS = "\u2212"  # a real minus sign: a hyphen reads as a dash beside a number
VERDICT_WORDS = {
    stats.Verdict.BETTER: ("Better than control", "ok"),
    stats.Verdict.WORSE: ("Worse than control", "bad"),
    stats.Verdict.NO_DIFFERENCE: ("No difference shown", "muted"),
}
BASIS_WORDS = {
    "always_valid": "the always-valid (sequential) interval, which stays right however often "
                    "the results are looked at",
    "fixed_horizon": "the fixed-horizon interval, valid for one look at the planned sample",
}


# --- numbers in words ----------------------------------------------------------------------

def percent(fraction: float | None, digits: int = 1) -> str:
    return DASH if fraction is None else f"{fraction * 100:.{digits}f} %"


def points(difference: float | None) -> str:
    """A difference of rates in percentage points, signed."""
    if difference is None:
        return DASH
    value = difference * 100
    return f"{'+' if value > 0 else MINUS if value < 0 else '±'}{abs(value):.1f} pts"


def interval(low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return DASH
    return f"{points(low).removesuffix(' pts')} to {points(high)}"


def p_value(value: float | None) -> str:
    if value is None:
        return DASH
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def rise(value: float | None) -> str:
    return DASH if value is None else f"{'+' if value >= 0 else MINUS}{abs(value) * 100:.0f} %"


def verdict_words(verdict: stats.Verdict | None) -> tuple[str, str]:
    if verdict is None:
        return "No verdict yet: below the minimum sample", "muted"
    return VERDICT_WORDS.get(verdict, (str(verdict), "muted"))


def basis_words(basis: str) -> str:
    for prefix, words in BASIS_WORDS.items():
        if basis.startswith(prefix):
            return words
    return basis.replace("_", " ")


def schedule_words(experiment: Experiment, now: datetime) -> str:
    """Where the experiment stands in its run: days left, or when it ended."""
    if experiment.status == ExperimentStatus.DRAFT or experiment.started_at is None:
        return f"Not started; runs {experiment.duration_days} days once started"
    if experiment.status != ExperimentStatus.RUNNING:
        ended = experiment.ended_at or experiment.started_at
        return f"Ended {format_date(timezone.localtime(ended), 'j M Y')}"
    left = experiment.started_at + timedelta(days=experiment.duration_days) - now
    if left.total_seconds() <= 0:
        return "Past its duration: it completes at the next check"
    days = math.ceil(left.total_seconds() / 86400)
    return f"{days} day{'s' if days != 1 else ''} left"


# --- the rows the templates place ----------------------------------------------------------

@dataclass(frozen=True)
class ArmRow:
    variant: Variant
    result: stats.VariantResult
    rate: str
    lift: str
    relative_lift: str
    fixed_interval: str
    always_valid_interval: str
    p: str
    p_holm: str
    always_valid_p: str
    mde: str
    progress: int  # percent of the minimum sample, at most 100
    verdict: str
    tone: str
    fixed_verdict: str


def arm_row(variant: Variant, result: stats.VariantResult, min_sample: int) -> ArmRow:
    verdict, tone = verdict_words(result.verdict)
    fixed = result.fixed_horizon_verdict
    relative = result.relative_lift
    return ArmRow(
        variant=variant, result=result, rate=percent(result.rate), lift=points(result.lift),
        relative_lift=DASH if relative is None else rise(relative),
        fixed_interval=interval(result.lift_ci_low, result.lift_ci_high),
        always_valid_interval=interval(result.always_valid_low, result.always_valid_high),
        p=p_value(result.p_value), p_holm=p_value(result.p_value_holm),
        always_valid_p=p_value(result.always_valid_p_value),
        mde=DASH if result.mde is None else f"± {result.mde * 100:.1f} pts",
        progress=min(100, result.n * 100 // min_sample) if min_sample else 100,
        verdict=verdict, tone=tone,
        fixed_verdict=verdict_words(fixed)[0] if result.lift is not None else DASH,
    )


@dataclass(frozen=True)
class SplitRow:
    variant: Variant
    observed: int
    expected: float
    observed_share: str


def split_rows(variants: list[Variant], srm: stats.SampleRatio | None) -> list[SplitRow]:
    """The sample-ratio check's counts by variant (it leaves arms of weight 0 out)."""
    if srm is None:
        return []
    weighted = [v for v in variants if v.weight > 0]
    total = sum(srm.observed)
    return [SplitRow(variant=v, observed=observed, expected=expected,
                     observed_share=percent(observed / total if total else None, 1))
            for v, observed, expected in zip(weighted, srm.observed, srm.expected, strict=True)]


THRESHOLD_FIELDS = (("errors", "kill_error_rate_up"), ("response time", "kill_response_time_up"),
                    ("hallucinations", "kill_hallucination_rate_up"),
                    ("objections", "kill_objection_rate_up"))
RATE_METRICS = {KillSwitchMetric.ERROR_RATE, KillSwitchMetric.HALLUCINATION_RATE,
                KillSwitchMetric.OBJECTION_RATE}


@dataclass(frozen=True)
class TripRow:
    trip: object
    control_value: str
    variant_value: str
    rise: str
    threshold: str
    p: str


def trip_row(trip) -> TripRow:
    if trip.metric in RATE_METRICS:
        control, variant = percent(trip.control_value), percent(trip.variant_value)
    else:
        control, variant = f"{trip.control_value:,.0f} ms", f"{trip.variant_value:,.0f} ms"
    went_up = (trip.variant_value / trip.control_value - 1) if trip.control_value else None
    return TripRow(trip=trip, control_value=control, variant_value=variant,
                   rise=rise(went_up) if went_up is not None else "from 0",
                   threshold=rise(trip.threshold), p=p_value(trip.p_value))


@dataclass(frozen=True)
class Standing:
    words: str
    tone: str


def standing(overview: selectors.ExperimentOverview) -> Standing:
    """The list's one line on an experiment: its winner, or why there is none yet."""
    experiment, results = overview.experiment, overview.results
    names = {v.key: v.name for v in experiment.variants.all()}
    if results.srm is not None and results.srm.mismatch:
        return Standing("The split is off: no winner is declared while it is", "bad")
    compared = [v for v in results.variants if v.rate is not None]
    if results.control.n == 0 and not any(v.n for v in results.variants):
        return Standing("No subjects yet", "muted")
    if not results.min_sample_reached:
        ahead = max(compared, key=lambda v: v.rate, default=None)
        lead = ""
        if ahead is not None and results.control.rate is not None:
            leader = (names.get(ahead.key, ahead.key) if ahead.rate > results.control.rate
                      else names.get(results.control.key, "Control"))
            lead = f"; {leader} is ahead so far"
        return Standing(f"Collecting: no verdict before {results.min_sample:,} subjects per "
                        f"variant{lead}", "muted")
    winner = results.winner
    if winner is not None:
        return Standing(f"Winner: {names.get(winner.key, winner.key)} "
                        f"({points(winner.lift)})", "ok")
    worse = [names.get(v.key, v.key) for v in results.variants
             if v.verdict is stats.Verdict.WORSE]
    if worse:
        return Standing(f"No winner; worse than control: {', '.join(worse)}", "bad")
    return Standing("No difference from control shown", "muted")


# --- the pages -----------------------------------------------------------------------------

class ExperimentListView(TenantPageMixin, View):
    """The tenant's experiments: status, target metric, days left, leader or verdict."""

    manager_only = True

    def get(self, request):
        now = timezone.now()
        rows = [(overview, schedule_words(overview.experiment, now), standing(overview))
                for overview in selectors.experiments_overview(self.organization)]
        return render(request, "experiments/list.html", {"rows": rows})


class ExperimentDetailView(TenantPageMixin, View):
    """One experiment's results: each variant against control, the sample-ratio line, the
    daily chart and the kill-switch history."""

    manager_only = True

    def get(self, request, pk):
        org = self.organization
        experiment = get_object_or_404(selectors.experiments_for_org(org), pk=pk)
        variants = sorted(experiment.variants.all(), key=lambda v: v.pk)
        by_key = {v.key: v for v in variants}
        results = selectors.experiment_results(org, experiment)
        over_time = selectors.experiment_results_over_time(org, experiment)
        chart = charts.rate_chart(
            over_time.days,
            [(s.variant.key, s.variant.name, s.variant.is_control, s) for s in over_time.variants],
            markers=[(timezone.localdate(v.rolled_back_at), f"{v.name} rolled back")
                     for v in variants if v.rolled_back_at is not None],
        )
        min_sample = results.min_sample
        rolled_back = [v for v in variants if v.is_rolled_back]
        return render(request, "experiments/detail.html", {
            "experiment": experiment,
            "variants": variants,
            "results": results,
            "arms_and_control": [arm_row(by_key[r.key], r, min_sample)
                                 for r in (results.control, *results.variants)],
            "winner": by_key[results.winner.key] if results.winner is not None else None,
            "basis": basis_words(results.verdict_basis),
            "split": split_rows(variants, results.srm),
            "srm_p": p_value(results.srm.p_value) if results.srm is not None else DASH,
            "srm_alpha": stats.SRM_ALPHA,
            "rolled_back": rolled_back,
            "over_time": over_time,
            "chart": chart,
            "trips": [trip_row(trip) for trip in selectors.kill_switch_trips_for(org, experiment)],
            "schedule": schedule_words(experiment, timezone.now()),
            "thresholds": [(label, rise(getattr(experiment, field)))
                           for label, field in THRESHOLD_FIELDS],
            "subjects": results.control.n + sum(r.n for r in results.variants),
        })
