"""A/A simulations: how often do the verdict and the kill-switches fire when the arms do not
differ at all? Pure numpy (seeded), judging every look with the production functions
(``experiments.stats.compare`` and the ``experiments.guardrails`` judges), so what is
measured is the code that runs.

- ``aa_simulate``: arms with the same conversion rate, checked once a day. It counts the
  experiments declared significant (BETTER or WORSE) at ANY daily look by the verdict (the
  always-valid interval), by the fixed-horizon Holm z-test peeked at daily, and by that
  z-test looked at once, at the end. No verdict is given before the minimum sample, by
  ``compare`` itself.
- ``kill_switch_aa_simulate``: arms with the same error, hallucination and objection rates
  and the same (lognormal) response times, judged at regular looks with the default
  thresholds; it counts the experiments in which any switch tripped.

Both take ``progress``, a callable given the number of experiments done so far (a
``flexoraa.progress.ProgressBar``'s ``update``).
"""

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from experiments import guardrails, stats

MINUTES_PER_DAY = 24 * 60
DEFAULT_THRESHOLDS = {"error": 0.5, "response_time": 0.3, "hallucination": 1.0,
                      "objection": 0.8}
# Guard-rail rates of a plausible reply agent; the A/A result holds for others (the bench
# varies the traffic, the tests pin these).
DEFAULT_EVENT_RATES = {"error": 0.05, "hallucination": 0.02, "objection": 0.10}
RESPONSE_TIME_MEDIAN_MS = 1500.0
RESPONSE_TIME_SIGMA = 0.6  # of log(ms): a long right tail, as response times have
# Experiments generated at once by the kill-switch simulation: bounds the memory of
# 5-minute looks (a few MB per experiment) without a Python loop per experiment.
CHUNK = 50

Progress = Callable[[int], None]


@dataclass(frozen=True)
class AaReport:
    experiments: int
    days: int  # one look a day
    subjects_per_day: int  # per arm (Poisson around it)
    base_rate: float
    variant_rate: float  # = base_rate in an A/A test
    min_sample: int
    alpha: float
    sequential: int  # experiments declared significant at any look by the verdict
    fixed_daily: int  # … by the fixed-horizon z-test peeked at daily
    fixed_final: int  # … by the fixed-horizon z-test looked at once, on the last day

    @property
    def sequential_share(self) -> float:
        return self.sequential / self.experiments

    @property
    def fixed_daily_share(self) -> float:
        return self.fixed_daily / self.experiments

    @property
    def fixed_final_share(self) -> float:
        return self.fixed_final / self.experiments


@dataclass(frozen=True)
class KillSwitchReport:
    experiments: int
    days: int
    look_minutes: int
    subjects_per_day: int  # per arm (Poisson around it)
    min_exposure: int
    alpha: float
    trips: dict[str, int] = field(default_factory=dict)  # switch → experiments it tripped in
    any_trips: int = 0  # experiments in which at least one switch tripped
    judged: int = 0  # judge calls made (see kill_switch_aa_simulate on the looks skipped)

    @property
    def looks(self) -> int:
        return self.days * MINUTES_PER_DAY // self.look_minutes

    @property
    def any_share(self) -> float:
        return self.any_trips / self.experiments


def _declared(verdict: stats.Verdict | None) -> bool:
    return verdict in (stats.Verdict.BETTER, stats.Verdict.WORSE)


def aa_simulate(
    *, experiments: int, days: int, subjects_per_day: int, base_rate: float, min_sample: int,
    seed: int, alpha: float = stats.ALPHA, variant_rate: float | None = None,
    progress: Progress | None = None,
) -> AaReport:
    """Simulate ``experiments`` two-arm experiments, ``subjects_per_day`` new subjects per arm
    each day (Poisson), converting at ``base_rate`` in control and ``variant_rate`` (default:
    the same, an A/A test) in the variant; look at the cumulative counts at the end of each
    of ``days`` days."""
    variant_rate = base_rate if variant_rate is None else variant_rate
    rng = np.random.default_rng(seed)
    arrivals = rng.poisson(subjects_per_day, size=(experiments, days, 2))
    conversions = rng.binomial(arrivals, np.array([base_rate, variant_rate]))
    subjects = np.cumsum(arrivals, axis=1)
    converted = np.cumsum(conversions, axis=1)
    sequential = fixed_daily = fixed_final = 0
    for index in range(experiments):
        seen_sequential = seen_fixed = False
        for day in range(days):
            last = day == days - 1
            if seen_sequential and seen_fixed and not last:
                continue  # already counted; only the final look is still needed
            (n_c, n_v), (x_c, x_v) = subjects[index, day], converted[index, day]
            comparison = stats.compare(
                [stats.ArmCounts("control", int(n_c), int(x_c), 50, is_control=True),
                 stats.ArmCounts("variant", int(n_v), int(x_v), 50)],
                min_sample=min_sample, alpha=alpha,
            ).get("variant")
            if comparison is None:
                continue
            seen_sequential |= _declared(comparison.verdict)
            seen_fixed |= _declared(comparison.fixed_horizon_verdict)
            if last:
                fixed_final += _declared(comparison.fixed_horizon_verdict)
        sequential += seen_sequential
        fixed_daily += seen_fixed
        if progress is not None:
            progress(index + 1)
    return AaReport(experiments=experiments, days=days, subjects_per_day=subjects_per_day,
                    base_rate=base_rate, variant_rate=variant_rate, min_sample=min_sample,
                    alpha=alpha, sequential=sequential, fixed_daily=fixed_daily,
                    fixed_final=fixed_final)


class _Chunk:
    """Cumulative guard-rail numbers of a chunk of simulated experiments, indexed
    [experiment, look, arm] (arm 0 is control), and the production judge at one look."""

    def __init__(self, rng: np.random.Generator, *, size: int, looks: int, per_look: float,
                 event_rates: Mapping[str, float], variant_event_rates: Mapping[str, float],
                 variant_time_scale: float, min_exposure: int, alpha: float):
        self.min_exposure, self.alpha = min_exposure, alpha
        arrivals = rng.poisson(per_look, size=(size, looks, 2))
        self.subjects = np.cumsum(arrivals, axis=1)
        # A look changes nothing when no subject arrived since the one before.
        self.judged = (self.subjects >= min_exposure).all(axis=2) & (arrivals.sum(axis=2) > 0)
        self.events = {
            metric: np.cumsum(rng.binomial(arrivals, [rate, variant_event_rates[metric]]),
                              axis=1)
            for metric, rate in event_rates.items()
        }
        # One timed reply per subject: the sum and sum of squares per cell give mean and std.
        times = rng.lognormal(math.log(RESPONSE_TIME_MEDIAN_MS), RESPONSE_TIME_SIGMA,
                              size=int(arrivals.sum()))
        cells = np.repeat(np.arange(arrivals.size), arrivals.ravel())
        times[cells % 2 == 1] *= variant_time_scale  # odd cells are the variant's
        total = np.bincount(cells, weights=times, minlength=arrivals.size)
        squares = np.bincount(cells, weights=times * times, minlength=arrivals.size)
        time_sum = np.cumsum(total.reshape(arrivals.shape), axis=1)
        time_squares = np.cumsum(squares.reshape(arrivals.shape), axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            self.mean = time_sum / self.subjects
            self.std = np.sqrt(np.maximum(0.0, (time_squares - self.subjects * self.mean ** 2)
                                          / (self.subjects - 1)))

    def candidates(self, metric: str, threshold: float, e: int) -> np.ndarray:
        """The looks at which the switch could trip, in order (see kill_switch_aa_simulate)."""
        n = self.subjects[e]
        scale = 1 + threshold
        if metric == "response_time":
            above = self.mean[e, :, 1] > scale * self.mean[e, :, 0]
        else:
            x = self.events[metric][e]
            above = x[:, 1] * n[:, 0] > scale * x[:, 0] * n[:, 1]  # p_v > scale·p_c
        return np.flatnonzero(self.judged[e] & above)

    def judge(self, metric: str, threshold: float, e: int, look: int) -> guardrails.Judgement:
        n_c, n_v = (int(n) for n in self.subjects[e, look])
        if metric == "response_time":
            mean, std = self.mean[e, look], self.std[e, look]
            return guardrails.mean_rise_judge(
                control=guardrails.MeanSummary(n_c, float(mean[0]), float(std[0])),
                variant=guardrails.MeanSummary(n_v, float(mean[1]), float(std[1])),
                control_exposure=n_c, variant_exposure=n_v, threshold=threshold,
                min_exposure=self.min_exposure, alpha=self.alpha)
        x_c, x_v = (int(x) for x in self.events[metric][e, look])
        return guardrails.rate_rise_judge(
            control=guardrails.RateSummary(n_c, x_c), variant=guardrails.RateSummary(n_v, x_v),
            threshold=threshold, min_exposure=self.min_exposure, alpha=self.alpha)


def kill_switch_aa_simulate(
    *, experiments: int, days: int = 14, look_minutes: int = 60, subjects_per_day: int,
    seed: int, event_rates: Mapping[str, float] = DEFAULT_EVENT_RATES,
    thresholds: Mapping[str, float] = DEFAULT_THRESHOLDS, min_exposure: int = 100,
    alpha: float = guardrails.KILL_ALPHA, variant_event_rates: Mapping[str, float] | None = None,
    variant_time_scale: float = 1.0, progress: Progress | None = None,
) -> KillSwitchReport:
    """Simulate ``experiments`` A/A experiments with ``subjects_per_day`` new subjects per arm
    each day (Poisson over each look's minutes), each with the events of ``event_rates`` and
    one timed reply (lognormal), judged every ``look_minutes`` for ``days`` days. A variant
    that really differs (``variant_event_rates``, its reply times multiplied by
    ``variant_time_scale``) shows that the switches do trip.

    Two kinds of look are skipped, neither of which can change the count: a look at which no
    subject arrived in either arm (the same numbers as the look before), and a look at which
    the variant's observed value is not above (1 + threshold) times control's. At such a
    look the one-sided test's statistic is at most 0, its p at least 1/2, so it cannot trip
    at an alpha below 1/2 (tests/experiments/test_guardrails.py pins this). Each switch is
    followed until its first trip (the real job rolls the variant back there); an experiment
    counts once however many switches trip.
    """
    if not 0 < alpha < 0.5:
        raise ValueError("the skipped looks cannot trip only for an alpha below 1/2")
    looks = days * MINUTES_PER_DAY // look_minutes
    rng = np.random.default_rng(seed)
    trips = dict.fromkeys(thresholds, 0)
    any_trips = judged = done = 0
    while done < experiments:
        size = min(CHUNK, experiments - done)
        chunk = _Chunk(rng, size=size, looks=looks,
                       per_look=subjects_per_day * look_minutes / MINUTES_PER_DAY,
                       event_rates=event_rates,
                       variant_event_rates={**event_rates, **(variant_event_rates or {})},
                       variant_time_scale=variant_time_scale, min_exposure=min_exposure,
                       alpha=alpha)
        for e in range(size):
            tripped_any = False
            for metric, threshold in thresholds.items():
                for look in chunk.candidates(metric, threshold, e):
                    judged += 1
                    if chunk.judge(metric, threshold, e, int(look)).tripped:
                        trips[metric] += 1
                        tripped_any = True
                        break
            any_trips += tripped_any
            if progress is not None:
                progress(done + e + 1)
        done += size
    return KillSwitchReport(
        experiments=experiments, days=days, look_minutes=look_minutes,
        subjects_per_day=subjects_per_day, min_exposure=min_exposure, alpha=alpha,
        trips=trips, any_trips=any_trips, judged=judged,
    )


def format_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """A Markdown table: the first column left-aligned, the others right-aligned."""
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells):
        padded = [cell.ljust(width) if i == 0 else cell.rjust(width)
                  for i, (cell, width) in enumerate(zip(cells, widths, strict=True))]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join("-" * (width + 2) for width in widths) + "|"
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


AA_TABLE_HEADER = (
    "base rate", "subjects/day/arm", "experiments", "looks", "sequential share",
    "fixed-horizon daily-peek share", "fixed-horizon single look share",
    "kill-switch looks", "kill-switch false trips",
)


def aa_table_row(verdicts: AaReport, switches: KillSwitchReport) -> tuple[str, ...]:
    """One line of the A/A table: the verdicts' shares beside the kill-switches' false trips
    (of the same number of experiments)."""
    return (
        f"{verdicts.base_rate:.1%}", f"{verdicts.subjects_per_day:,}",
        f"{verdicts.experiments:,}", f"{verdicts.days} daily",
        f"{verdicts.sequential_share:.1%}", f"{verdicts.fixed_daily_share:.1%}",
        f"{verdicts.fixed_final_share:.1%}",
        f"{switches.looks:,} every {switches.look_minutes} min",
        f"{switches.any_share:.1%} ({switches.any_trips:,} of {switches.experiments:,})",
    )
