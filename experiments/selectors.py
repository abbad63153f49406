"""Tenant-scoped reads shared by pages, the API and jobs."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import accumulate
from zoneinfo import ZoneInfo

from django.db.models import Count, Exists, OuterRef, QuerySet, Subquery
from django.db.models.functions import TruncDate
from django.utils import timezone

from experiments import stats
from experiments.models import Assignment, Experiment, KillSwitchTrip, Observation, Variant
from flexoraa.errors import NotFound
from flexoraa.models import Organization


def experiments_for_org(org: Organization) -> QuerySet[Experiment]:
    """The tenant's experiments, newest first, with their variants."""
    return (Experiment.objects.for_org(org).prefetch_related("variants")
            .order_by("-created_at", "-id"))


def variant_counts(org: Organization, experiment_ids: list[int]) -> dict[int, tuple[int, int]]:
    """``{variant id: (subjects assigned, of them converted)}`` for every variant of these
    experiments, in one grouped query. A subject converted when it has an observation of its
    experiment's target metric above 0 recorded in the variant it is assigned to."""
    if not experiment_ids:
        return {}
    converted = Observation.objects.filter(
        experiment_id=OuterRef("experiment_id"), subject_id=OuterRef("subject_id"),
        variant_id=OuterRef("variant_id"), metric=OuterRef("experiment__target_metric"),
        value__gt=0,
    )
    rows = (Assignment.objects.for_org(org).filter(experiment_id__in=experiment_ids)
            .values("variant_id")
            .annotate(n=Count("id"), conversions=Count("id", filter=Exists(converted)))
            .order_by())
    return {row["variant_id"]: (row["n"], row["conversions"]) for row in rows}


def experiment_counts(org: Organization, experiment: Experiment) -> dict[int, tuple[int, int]]:
    """``variant_counts`` of one experiment."""
    return variant_counts(org, [experiment.pk])


def results_from_counts(experiment: Experiment, variants: list[Variant],
                        counts: dict[int, tuple[int, int]]) -> stats.ExperimentResults:
    """Each variant against control (``experiments.stats``) from ``variant_counts``. The
    sample-ratio check is left out once a variant is rolled back: its subjects move to
    control, so the split no longer follows the weights."""
    variants = sorted(variants, key=lambda v: v.pk)
    arms = [
        stats.ArmCounts(key=v.key, n=counts.get(v.pk, (0, 0))[0],
                        conversions=counts.get(v.pk, (0, 0))[1], weight=v.weight,
                        is_control=v.is_control)
        for v in variants
    ]
    return stats.experiment_results(
        arms, min_sample=experiment.min_sample_per_variant,
        check_sample_ratio=not any(v.is_rolled_back for v in variants),
    )


def experiment_results(org: Organization, experiment: Experiment) -> stats.ExperimentResults:
    """Each variant against control, read fresh. Raises ``NotFound`` for another tenant's
    experiment."""
    if org is None or experiment is None or experiment.organization_id != org.pk:
        raise NotFound("No such experiment.")
    variants = list(Variant.objects.for_org(org).filter(experiment_id=experiment.pk))
    return results_from_counts(experiment, variants, experiment_counts(org, experiment))


# --- the console: the list's overview, the results page's series and kill-switch history ---

@dataclass(frozen=True)
class ExperimentOverview:
    experiment: Experiment  # with its variants prefetched, in their fixed order
    results: stats.ExperimentResults


def experiments_overview(org: Organization) -> list[ExperimentOverview]:
    """Every experiment of the tenant, newest first, with its results: three queries whatever
    the number of experiments (the experiments, their variants, and the subjects and
    conversions of every variant counted in one grouped query)."""
    experiments = list(experiments_for_org(org))
    counts = variant_counts(org, [e.pk for e in experiments])
    overview = [
        ExperimentOverview(experiment=experiment, results=results_from_counts(
            experiment, list(experiment.variants.all()), counts))
        for experiment in experiments
    ]
    return overview


@dataclass(frozen=True)
class VariantDays:
    """One variant's running totals at the end of each day of ``ResultsOverTime.days``."""

    variant: Variant
    n: tuple[int, ...]  # subjects assigned so far
    conversions: tuple[int, ...]  # of them, subjects converted so far


@dataclass(frozen=True)
class ResultsOverTime:
    days: tuple[date, ...]  # in the tenant's time zone; empty before the experiment starts
    variants: tuple[VariantDays, ...]  # in the variants' fixed order

    @property
    def subjects(self) -> int:
        return sum(series.n[-1] for series in self.variants if series.n)


def experiment_results_over_time(
    org: Organization, experiment: Experiment, *, now: datetime | None = None
) -> ResultsOverTime:
    """Each variant's subjects and conversions accumulated day by day, in the tenant's time
    zone, from the day the experiment started to the day it ended (today while it runs),
    never past its duration. Three queries whatever the days and variants: the variants,
    assignments per variant per day, and conversions per variant per day, where a subject
    converts on its first observation of the target metric above 0 in the variant it holds
    (as ``experiment_counts`` counts them). Rows dated before the start count on the first
    day; rows after the end are left out. Raises ``NotFound`` for another tenant's
    experiment."""
    if org is None or experiment is None or experiment.organization_id != org.pk:
        raise NotFound("No such experiment.")
    variants = list(Variant.objects.for_org(org).filter(experiment_id=experiment.pk)
                    .order_by("id"))
    started = experiment.started_at
    if started is None:
        return ResultsOverTime(days=(), variants=tuple(
            VariantDays(variant=v, n=(), conversions=()) for v in variants))
    zone = ZoneInfo(org.timezone)
    end = min(experiment.ended_at or now or timezone.now(),
              started + timedelta(days=experiment.duration_days))
    first_day = timezone.localdate(started, zone)
    last_day = max(first_day, timezone.localdate(end, zone))
    days = tuple(first_day + timedelta(days=offset)
                 for offset in range((last_day - first_day).days + 1))

    first_conversion = (
        Observation.objects.for_org(org)
        .filter(experiment_id=experiment.pk, subject_id=OuterRef("subject_id"),
                variant_id=OuterRef("variant_id"), metric=experiment.target_metric,
                value__gt=0)
        .order_by("observed_at").values("observed_at")[:1]
    )
    assignments = Assignment.objects.for_org(org).filter(experiment_id=experiment.pk)
    assigned = (assignments.filter(created_at__lte=end)
                .annotate(day=TruncDate("created_at", tzinfo=zone))
                .values("variant_id", "day").annotate(count=Count("id")).order_by())
    converted = (assignments.annotate(converted_at=Subquery(first_conversion))
                 .filter(converted_at__lte=end)
                 .annotate(day=TruncDate("converted_at", tzinfo=zone))
                 .values("variant_id", "day").annotate(count=Count("id")).order_by())

    def per_day(rows) -> dict[int, list[int]]:
        daily = {v.pk: [0] * len(days) for v in variants}
        for row in rows:
            if row["variant_id"] in daily:
                index = max(0, (row["day"] - first_day).days)
                daily[row["variant_id"]][index] += row["count"]
        return daily

    new_subjects, new_conversions = per_day(assigned), per_day(converted)
    return ResultsOverTime(days=days, variants=tuple(
        VariantDays(variant=v, n=tuple(accumulate(new_subjects[v.pk])),
                    conversions=tuple(accumulate(new_conversions[v.pk])))
        for v in variants
    ))


def kill_switch_trips_for(org: Organization, experiment: Experiment) -> QuerySet[KillSwitchTrip]:
    """The experiment's kill-switch trips, newest first, with their variants."""
    return (KillSwitchTrip.objects.for_org(org).filter(experiment_id=experiment.pk)
            .select_related("variant").order_by("-tripped_at", "-id"))
