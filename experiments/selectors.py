"""Tenant-scoped reads shared by pages, the API and jobs."""

from django.db.models import Count, Exists, OuterRef, QuerySet

from experiments import stats
from experiments.models import Assignment, Experiment, Observation, Variant
from flexoraa.errors import NotFound
from flexoraa.models import Organization


def experiments_for_org(org: Organization) -> QuerySet[Experiment]:
    """The tenant's experiments, newest first, with their variants."""
    return (Experiment.objects.for_org(org).prefetch_related("variants")
            .order_by("-created_at", "-id"))


def experiment_counts(org: Organization, experiment: Experiment) -> dict[int, tuple[int, int]]:
    """``{variant id: (subjects assigned, of them converted)}`` in one aggregate query. A
    subject converted when it has an observation of the target metric above 0 recorded in
    the variant it is assigned to."""
    converted = Observation.objects.filter(
        experiment_id=experiment.pk, subject_id=OuterRef("subject_id"),
        variant_id=OuterRef("variant_id"), metric=experiment.target_metric, value__gt=0,
    )
    rows = (Assignment.objects.for_org(org).filter(experiment_id=experiment.pk)
            .values("variant_id")
            .annotate(n=Count("id"), conversions=Count("id", filter=Exists(converted)))
            .order_by())
    return {row["variant_id"]: (row["n"], row["conversions"]) for row in rows}


def experiment_results(org: Organization, experiment: Experiment) -> stats.ExperimentResults:
    """Each variant against control (``experiments.stats``). The sample-ratio check is left
    out once a variant is rolled back: its subjects move to control, so the split no longer
    follows the weights. Raises ``NotFound`` for another tenant's experiment."""
    if org is None or experiment is None or experiment.organization_id != org.pk:
        raise NotFound("No such experiment.")
    variants = list(Variant.objects.for_org(org).filter(experiment_id=experiment.pk)
                    .order_by("id"))
    counts = experiment_counts(org, experiment)
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
